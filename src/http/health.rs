//! Liveness (`/health`, never touches the store) and readiness (`/ready`, one store round trip).

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Router};

use super::AppState;
use super::error::{Error, Problem};
use crate::store;

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
    match state.store.ping().await {
        Ok(()) => Ok("ready"),
        // Whatever failed, the instance cannot serve bookings now: 503 tells the load balancer
        // and a deploy to wait for it, where a 500 would say the check itself is broken.
        Err(store::Error::Internal(detail)) => Err(store::Error::Unavailable(detail).into()),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    use super::*;
    use crate::domain::{Booking, BookingId, IdempotencyKey};
    use crate::store::{Created, LeaveStore, ListQuery, Page};

    /// A store whose every call fails, with the error its function makes.
    struct Failing(fn() -> store::Error);

    #[async_trait]
    impl LeaveStore for Failing {
        async fn create(&self, _: &Booking, _: Option<&IdempotencyKey>) -> store::Result<Created> {
            Err((self.0)())
        }
        async fn get(&self, _: BookingId) -> store::Result<Booking> {
            Err((self.0)())
        }
        async fn delete(&self, _: BookingId) -> store::Result<()> {
            Err((self.0)())
        }
        async fn list(&self, _: &ListQuery) -> store::Result<Page> {
            Err((self.0)())
        }
        async fn ping(&self) -> store::Result<()> {
            Err((self.0)())
        }
    }

    /// Readiness is 503 however the store fails, a broken database file included.
    #[tokio::test]
    async fn every_store_failure_makes_the_instance_unready() {
        let failures: [fn() -> store::Error; 2] = [
            || store::Error::Unavailable("timed out".to_owned()),
            || store::Error::Internal("corrupted".to_owned()),
        ];
        for failure in failures {
            let state = AppState::new(Arc::new(Failing(failure)));
            let answer = ready_get(State(state)).await.into_response();
            assert_eq!(
                answer.status(),
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                failure()
            );
        }
    }
}
