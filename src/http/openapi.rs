//! The OpenAPI document, generated from the handlers and types so it cannot drift from them.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};

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
    let mut doc = ApiDoc::openapi();
    add_shared_answers(&mut doc);
    doc.to_pretty_json().unwrap_or_default()
}

/// Adds to every operation the answers the middleware may give any request, where the
/// operation does not document its own: 400 for a request that names no host, two, or
/// another than its target (or a body that cannot be read), 421 for one naming another host
/// than localhost when the server listens on loopback, 503 when it sheds load (never
/// `/health`) or the request outlives its deadline; and to those whose body is read (all but
/// GET), 408 and 413.
fn add_shared_answers(doc: &mut utoipa::openapi::OpenApi) {
    let problem = |description: &str| {
        let schema = Ref::from_schema_name("Problem");
        let answer = ResponseBuilder::new()
            .description(description)
            .content("application/problem+json", Content::new(Some(schema)))
            .build();
        RefOr::T(answer)
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.patch, true),
            (&mut item.delete, true),
        ];
        for (operation, reads_body) in operations {
            let Some(operation) = operation else { continue };
            let mut shared = vec![
                (
                    "400",
                    "A malformed request: no host, two, one not valid or not the target's; or \
                     (but for GET) a body that cannot be read, or in a transfer coding other \
                     than chunked",
                ),
                (
                    "421",
                    "Listening on loopback, the server answers requests for localhost only",
                ),
                (
                    "503",
                    "The server is at capacity (never for /health), or the request took too \
                     long; retry",
                ),
            ];
            if reads_body {
                shared.push(("408", "The body did not arrive within the request deadline"));
                shared.push(("413", "Body over the size limit"));
                shared.push(("415", "A body in a content coding other than identity"));
            }
            for (status, description) in shared {
                let answers = &mut operation.responses.responses;
                answers
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(description));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation documents the answers any request may get; an operation's own
    /// description of a status is kept.
    #[test]
    fn every_operation_documents_the_middleware_s_answers() {
        let doc: serde_json::Value = serde_json::from_str(&render()).unwrap();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let answers = operation["responses"].as_object().unwrap();
                let has = |status: &str| answers.contains_key(status);
                for status in ["400", "421", "503"] {
                    assert!(has(status), "{method} {path} {status}");
                }
                for status in ["408", "413"] {
                    assert_eq!(has(status), method != "get", "{method} {path} {status}");
                }
                operations += 1;
            }
        }
        assert_eq!(operations, 6);
        let delete = &doc["paths"]["/api/v1/bookings/{id}"]["delete"]["responses"];
        assert_eq!(delete["400"]["description"], "Malformed id");
        assert_eq!(
            delete["413"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
    }
}
