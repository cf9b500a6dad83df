//! The HTTP surface: one router per resource, merged here, and the middleware every request
//! goes through ([`middleware::frame`]: request ids, logging, security headers, load shedding,
//! timeouts, body limit).

mod assets;
mod bookings;
mod csrf;
mod error;
mod extract;
mod health;
mod middleware;
mod name_cookie;
pub mod openapi;
mod pages;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};

pub use error::{Error, Problem};

use crate::config::Settings;
use crate::domain::BookingId;
use crate::store::LeaveStore;

/// Largest request body accepted, in bytes; a booking needs a few hundred.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;

/// What every handler can reach. Everything in it is built once, at start-up.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn LeaveStore>,
    openapi_json: axum::body::Bytes,
}

impl AppState {
    pub fn new(store: Arc<dyn LeaveStore>) -> Self {
        Self {
            store,
            openapi_json: openapi::render().into(),
        }
    }
}

/// What a request did to a booking, for its log line: a handler returns it as a response
/// extension, and the access log ([`middleware::frame`]) writes it. Not recorded on the request's span: the JSON
/// logger parses and re-serializes a span's fields on every record, which cost a create about
/// as many instructions as writing its whole log line.
#[derive(Debug, Clone, Copy)]
struct BookingLog {
    id: BookingId,
    outcome: Outcome,
}

/// What became of the booking: the `outcome` field of the log line.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Created,
    /// A create answered with the booking an earlier request made (same idempotency key).
    Replayed,
    Deleted,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Replayed => "replayed",
            Self::Deleted => "deleted",
        }
    }
}

/// The response part that puts the booking and the outcome on the request's log line.
fn booking_log(id: BookingId, outcome: Outcome) -> Extension<BookingLog> {
    Extension(BookingLog { id, outcome })
}

/// The whole application as a router, ready to serve.
pub fn router(state: AppState, settings: &Settings) -> Router {
    Router::new()
        .merge(pages::router())
        .merge(bookings::router())
        .merge(health::router())
        .merge(openapi::router())
        .merge(assets::router())
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            middleware::Limits::new(settings),
            middleware::frame,
        ))
        .with_state(state)
}
