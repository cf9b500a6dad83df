//! The HTTP error type: every failure becomes one status and an `application/problem+json`
//! body (RFC 9457), mapped here and nowhere else. Internal details are logged, never sent.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{InvalidBooking, InvalidId};
use crate::store;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed: syntax, types, unknown fields or parameters.
    #[error("{0}")]
    BadRequest(String),
    /// The request is well-formed but its values break a rule.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    /// The client did not send the body it announced in time.
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The request names a host this server does not answer for.
    #[error("{0}")]
    MisdirectedRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The server is overloaded, or the request took too long; retry later.
    #[error("{0}")]
    Unavailable(String),
    /// The store failed for a reason worth retrying later: the cause is logged, the client is
    /// told to retry.
    #[error("the booking store is unavailable; retry shortly")]
    StoreUnavailable(String),
    /// A bug: the detail is logged and the client sees a generic message.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MisdirectedRequest(_) => StatusCode::MISDIRECTED_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) | Self::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A body over [`super::BODY_LIMIT_BYTES`], declared or sent.
    pub fn body_too_large() -> Self {
        Self::PayloadTooLarge(format!(
            "the body is larger than the limit of {} bytes",
            super::BODY_LIMIT_BYTES
        ))
    }

    /// Logs what the client is not told: the cause of an internal error (ERROR) and of an
    /// unavailable store (WARN). Called once for each error answered, as JSON or as a page.
    /// A server at capacity or past a request's deadline has no cause to add: its request's
    /// line says so ([`super::middleware::frame`]).
    pub fn log(&self) {
        match self {
            Self::Internal(detail) => tracing::error!(%detail, "internal error"),
            Self::StoreUnavailable(detail) => tracing::warn!(%detail, "store unavailable"),
            _ => {}
        }
    }

    /// The message shown to the client.
    pub fn detail(&self) -> String {
        match self {
            Self::Internal(_) => {
                "the server failed to handle this request; it has been logged".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status code says what kind of problem this is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    /// What is wrong, in words meant for the client's developer or user.
    pub detail: String,
}

/// The `detail` of a problem+json answer, kept with the response so that an answer to a browser
/// outside the API can become an HTML page saying the same ([`super::middleware::html_errors`]).
#[derive(Debug, Clone)]
pub struct ProblemDetail(pub String);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        self.log();
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .extensions_mut()
            .insert(ProblemDetail(problem.detail));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response
    }
}

impl From<store::Error> for Error {
    fn from(err: store::Error) -> Self {
        match err {
            store::Error::Conflict { first_day } => Self::Conflict(format!(
                "this person already has leave booked on {first_day}; bookings of one person may not overlap"
            )),
            store::Error::NotFound => Self::NotFound("no booking with that id".to_owned()),
            store::Error::KeyReused(why) => {
                Self::Invalid(format!("this Idempotency-Key cannot be used again: {why}"))
            }
            store::Error::Unavailable(detail) => Self::StoreUnavailable(detail),
            store::Error::Internal(detail) => Self::Internal(detail),
        }
    }
}

impl From<InvalidBooking> for Error {
    fn from(err: InvalidBooking) -> Self {
        Self::Invalid(err.to_string())
    }
}

impl From<InvalidId> for Error {
    fn from(err: InvalidId) -> Self {
        Self::BadRequest(err.to_string())
    }
}

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Self {
        // axum's text starts "Failed to deserialize query string: "; what follows says what
        // is wrong.
        let text = rejection.body_text();
        let problem = text
            .split_once(": ")
            .map_or(text.as_str(), |(_, problem)| problem);
        Self::BadRequest(refused("the query string", problem))
    }
}

/// "`what` is refused: `problem`", with serde's words for what is wrong ("duplicate field
/// `month`", "unknown field `foo`, expected one of …"), echoed bounded.
pub fn refused(what: &str, problem: &str) -> String {
    let problem = crate::domain::echoed_within(problem, 300);
    format!("{what} is refused: {problem}")
}

impl From<PathRejection> for Error {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

/// Rejections of a body: too large, wrong media type, or malformed.
pub fn body_error(status: StatusCode, detail: String) -> Error {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Error::body_too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType(detail),
        _ => Error::BadRequest(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::tests::Captured;

    /// Logged once, with its cause, which the client does not see.
    #[test]
    fn a_store_outage_is_logged_once_with_its_cause() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_ansi(false)
            .finish();
        let cause = store::Error::Unavailable("connection refused".to_owned());
        let response =
            tracing::subscriber::with_default(subscriber, || Error::from(cause).into_response());
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let detail = &response.extensions().get::<ProblemDetail>().unwrap().0;
        assert!(!detail.contains("refused"), "{detail}");
        let logged = captured.text();
        assert_eq!(logged.lines().count(), 1, "{logged}");
        assert!(
            logged.contains("WARN") && logged.contains("connection refused"),
            "{logged}"
        );
    }
}
