//! The OpenAPI document, generated from the handlers and types so it cannot drift from them.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;

use super::AppState;
use super::{bookings, error, health};

#[derive(OpenApi)]
#[openapi(
    info(title = "Leave Calendar API", description = "Book and list a team's leave."),
    paths(
        bookings::bookings_create,
        bookings::bookings_get,
        bookings::bookings_list,
        bookings::bookings_delete,
        health::health_get,
        health::ready_get,
    ),
    components(schemas(bookings::CreateBooking, bookings::BookingBody, bookings::BookingPage, error::Problem)),
    tags((name = "bookings", description = "Leave bookings"), (name = "operations", description = "Health and readiness"))
)]
pub struct ApiDoc;

pub const PATH: &str = "/api/v1/openapi.json";

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(openapi_get))
}

/// The document is rendered once at start-up (see `AppState`).
async fn openapi_get(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json.clone(),
    )
}

/// The document as JSON text.
pub fn render() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}
