//! Cross-cutting request handling: reading the body, load shedding, the request deadline, the
//! fallbacks for unknown routes and methods, and error pages for browsers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::Semaphore;

use super::BODY_LIMIT_BYTES;
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

/// The whole body is read before the request takes a concurrency slot or starts its deadline:
/// a client that declares a body it never sends, or sends it a byte at a time, would otherwise
/// hold a slot until the deadline and get a 503 as if the server had failed. Such a body gets
/// 408 when `deadline` passes, and one declared or sent larger than [`BODY_LIMIT_BYTES`] gets
/// 413 at once, before a byte of it is read. Bodies here are at most 16 KiB, so holding one in
/// memory costs nothing a handler would not spend anyway.
pub async fn read_body(State(deadline): State<Duration>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT_BYTES as u64) {
        return Error::body_too_large().into_response();
    }
    let read = tokio::time::timeout(deadline, Limited::new(body, BODY_LIMIT_BYTES).collect());
    match read.await {
        Ok(Ok(collected)) => {
            let body = Body::from(collected.to_bytes());
            next.run(Request::from_parts(parts, body)).await
        }
        Ok(Err(e)) if e.is::<LengthLimitError>() => Error::body_too_large().into_response(),
        Ok(Err(e)) => {
            Error::BadRequest(format!("the request body could not be read: {e}")).into_response()
        }
        Err(_) => Error::RequestTimeout(format!(
            "the request body did not arrive within {} s",
            deadline.as_secs()
        ))
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
///
/// Outside the API such an error answer depends on `Accept`, and says so (`Vary: Accept`): a
/// cache must not give the problem+json a program got to a browser, or the other way round.
pub async fn html_errors(request: Request, next: Next) -> Response {
    let negotiated = !request.uri().path().starts_with("/api/");
    let browser_page = negotiated && accepts_html(request.headers());
    let response = next.run(request).await;
    let Some(ProblemDetail(detail)) = response.extensions().get::<ProblemDetail>() else {
        return response;
    };
    let mut answer = if browser_page {
        error_page(&response, detail.clone())
    } else {
        response
    };
    if negotiated {
        answer
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept"));
    }
    answer
}

/// The headers of an error answer that its page keeps, because they are about the resource or
/// the error rather than the body: `Allow`, which RFC 9110 requires with 405, and `Retry-After`,
/// when a 503 may be over. The others describe the problem+json body the page replaces
/// (`Content-Type`, `Content-Length`) or are added to the page by the layers outside this one.
const KEPT_HEADERS: [HeaderName; 2] = [header::ALLOW, header::RETRY_AFTER];

/// The page for a problem+json answer: the same status and detail, and its [`KEPT_HEADERS`].
/// In this app axum adds `Allow` after this middleware has run (the method router sets it
/// outside the layers of `Router::layer`); keeping it here does not rely on that order.
fn error_page(problem: &Response, detail: String) -> Response {
    let mut page = PageError::new(problem.status(), detail).into_response();
    for name in KEPT_HEADERS {
        if let Some(value) = problem.headers().get(&name) {
            page.headers_mut().insert(name, value.clone());
        }
    }
    page
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Method, StatusCode};
    use axum::routing::get;
    use tower::{Layer, ServiceExt};

    use super::*;

    /// Around the whole router, where it sees the `Allow` that axum adds, the middleware
    /// keeps it on the page; and the 503's `Retry-After` as the problem+json answer gave it.
    #[tokio::test]
    async fn error_pages_keep_allow_and_retry_after() {
        let busy = || async {
            let mut response =
                Error::Unavailable("the server is at capacity".to_owned()).into_response();
            response.headers_mut().insert(header::RETRY_AFTER, 7.into());
            response
        };
        let router = Router::new()
            .route("/", get(|| async {}))
            .route("/busy", get(busy))
            .method_not_allowed_fallback(method_not_allowed);
        let app = axum::middleware::from_fn(html_errors).layer(router);
        let send = async |method: Method, path: &str| {
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap();
            app.clone().oneshot(request).await.unwrap()
        };
        let is_page = |response: &Response| {
            let kind = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
            kind.starts_with("text/html")
        };

        let put = send(Method::PUT, "/").await;
        assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(is_page(&put));
        assert_eq!(put.headers()[header::ALLOW], "GET,HEAD");

        let busy = send(Method::GET, "/busy").await;
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(is_page(&busy));
        assert_eq!(busy.headers()[header::RETRY_AFTER], "7");
    }
}
