//! Cross-cutting request handling: load shedding, the request deadline, the fallbacks for
//! unknown routes and methods, and error pages for browsers.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::error::{Error, ProblemDetail};
use super::pages::PageError;
use crate::config::Settings;

#[derive(Clone)]
pub struct Limits {
    in_flight: Arc<Semaphore>,
    deadline: Duration,
}

impl Limits {
    pub fn new(settings: &Settings) -> Self {
        let permits = usize::try_from(settings.max_concurrent_requests)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Self {
            in_flight: Arc::new(Semaphore::new(permits)),
            deadline: settings.request_timeout(),
        }
    }
}

/// Past the concurrency limit a request is refused at once with 503 rather than queued without
/// bound; every admitted request answers 503 when its deadline passes. `/health` is exempt
/// from shedding: a busy instance is still alive and must not be replaced for being busy.
pub async fn limit(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let _permit = if request.uri().path() == "/health" {
        None
    } else {
        match limits.in_flight.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                return Error::Unavailable("the server is at capacity; retry shortly".to_owned())
                    .into_response();
            }
        }
    };
    match tokio::time::timeout(limits.deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::Unavailable("the request took too long; retry shortly".to_owned())
            .into_response(),
    }
}

pub async fn not_found(uri: Uri) -> Error {
    Error::NotFound(format!(
        "no such resource: {}",
        uri.path().chars().take(100).collect::<String>()
    ))
}

pub async fn method_not_allowed(request: Request) -> Error {
    Error::MethodNotAllowed(format!(
        "{} is not allowed on this resource",
        request.method()
    ))
}

/// A browser gets errors as a page, wherever they come from: the shedding and deadline above,
/// the fallbacks, or a request the pages' extractors refuse (a repeated query parameter).
/// Problem+json stays the answer of the API, and of any client that does not ask for HTML.
pub async fn html_errors(request: Request, next: Next) -> Response {
    let browser_page =
        !request.uri().path().starts_with("/api/") && accepts_html(request.headers());
    let response = next.run(request).await;
    if !browser_page {
        return response;
    }
    match response.extensions().get::<ProblemDetail>() {
        Some(ProblemDetail(detail)) => {
            PageError::new(response.status(), detail.clone()).into_response()
        }
        None => response,
    }
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("text/html"))
}
