//! Liveness (`/health`, never touches the store) and readiness (`/ready`, one store round trip).

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Router};

use super::AppState;
use super::error::{Error, Problem};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health_get))
        .route("/ready", get(ready_get))
}

/// Marks an answer that the access log keeps at DEBUG when it is a success: the load balancer
/// and the container health check call `/health` every few seconds, and at INFO those lines
/// would be most of the log (and a third of the endpoint's CPU).
#[derive(Debug, Clone, Copy)]
pub struct Routine;

/// Liveness: 200 while the process serves requests.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, description = "Serving", body = String)))]
pub async fn health_get() -> (Extension<Routine>, &'static str) {
    (Extension(Routine), "ok")
}

/// Readiness: 200 when the store answers, 503 when it does not.
#[utoipa::path(
    get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "The store answers", body = String),
        (status = 503, description = "The store does not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ready_get(State(state): State<AppState>) -> Result<&'static str, Error> {
    state.store.ping().await?;
    Ok("ready")
}
