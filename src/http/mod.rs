//! The HTTP surface: one router per resource, merged here, and the middleware every request
//! goes through (request ids, logging, security headers, load shedding, timeouts, body limit).

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
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, Response, header};
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{OnResponse, TraceLayer};
use tracing::Span;

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

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids are ULIDs: unique and sortable by time, like booking ids.
#[derive(Clone, Copy)]
struct MakeUlid;

impl MakeRequestId for MakeUlid {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&ulid::Ulid::new().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// One line per answered request, at INFO, but at DEBUG for a successful routine answer
/// ([`health::Routine`]). What a handler did to a booking goes on the same line (a
/// [`BookingLog`] in the response's extensions), not on a line of its own: one write per
/// request, and one line to find.
#[derive(Debug, Clone, Copy)]
struct AccessLog;

impl<B> OnResponse<B> for AccessLog {
    fn on_response(self, response: &Response<B>, latency: Duration, _: &Span) {
        let status = response.status().as_u16();
        let latency = tracing::field::display(Millis(latency));
        let done = response.extensions().get::<BookingLog>();
        let booking = done.map(|done| tracing::field::display(done.id));
        let outcome = done.map(|done| done.outcome.as_str());
        // An event's level is a constant in tracing's macros, hence one call per level.
        if response.extensions().get::<health::Routine>().is_some()
            && response.status().is_success()
        {
            tracing::debug!(
                latency,
                status,
                booking,
                outcome,
                "finished processing request"
            );
        } else {
            tracing::info!(
                latency,
                status,
                booking,
                outcome,
                "finished processing request"
            );
        }
    }
}

/// A duration as the log shows it: whole milliseconds, "12 ms".
struct Millis(Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ms", self.0.as_millis())
    }
}

/// What a request did to a booking, for its log line: a handler returns it as a response
/// extension, and [`AccessLog`] writes it. Not recorded on the request's span: the JSON
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
    let security_headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null`
        // with the page's own form posts, which the cross-site check must refuse when it has no
        // `Sec-Fetch-Site` to go by (browsers from before fetch metadata). Other sites still get
        // no referrer at all.
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")));

    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = %request_id,
            )
        })
        .on_request(())
        .on_response(AccessLog)
        // Not tower-http's ERROR line for every 5xx: the access line has the status and the
        // cause is logged where it is known (a store outage as WARN). ERROR stays for the
        // app's own failures, which the `app-errors` alarm counts.
        .on_failure(());

    Router::new()
        .merge(pages::router())
        .merge(bookings::router())
        .merge(health::router())
        .merge(openapi::router())
        .merge(assets::router())
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeUlid))
                .layer(trace)
                .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
                .layer(security_headers)
                .layer(axum::middleware::from_fn(middleware::html_errors))
                .layer(axum::middleware::from_fn_with_state(
                    settings.request_timeout(),
                    middleware::read_body,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    middleware::Limits::new(settings),
                    middleware::limit,
                )),
        )
        .with_state(state)
}
