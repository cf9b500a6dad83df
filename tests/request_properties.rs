//! Property tests on request parsing and validation, through the real router in process:
//! whatever arrives, the answer is a 4xx with a message (a problem for the API, a page for a
//! browser) or a success, never a 5xx, and a create, through the API or the page's form,
//! succeeds exactly when the domain rules accept its fields.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use leave_calendar::config::Settings;
use leave_calendar::domain::Booking;
use leave_calendar::http::{AppState, router};
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    _store: support::TestStore,
}

impl Harness {
    fn new() -> Self {
        let store = support::embedded_store();
        let app = router(AppState::new(store.store.clone()), &Settings::defaults());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Self {
            runtime,
            app,
            _store: store,
        }
    }

    /// Sends one request; returns the status and, for problems, the detail.
    fn send(&self, request: Request<Body>) -> (StatusCode, Option<String>) {
        self.runtime.block_on(async {
            let response = self.app.clone().oneshot(with_host(request)).await.unwrap();
            let status = response.status();
            let is_problem = response
                .headers()
                .get("content-type")
                .is_some_and(|v| v == "application/problem+json");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let detail = is_problem
                .then(|| serde_json::from_slice::<Value>(&body).ok())
                .flatten()
                .and_then(|p| p["detail"].as_str().map(str::to_owned));
            (status, detail)
        })
    }
}

thread_local! {
    /// One app per test thread: building one per case (a database file, a runtime) would
    /// dominate the run. Cases therefore share bookings, so a valid create may meet a 409.
    static HARNESS: Harness = Harness::new();
}

/// Makes every valid create's person new, so that none can overlap another case's booking.
static NEXT_PERSON: AtomicUsize = AtomicUsize::new(0);

fn send(request: Request<Body>) -> (StatusCode, Option<String>) {
    HARNESS.with(|h| h.send(request))
}

/// `request` with the `Host` header every HTTP/1.1 client sends.
fn with_host(mut request: Request<Body>) -> Request<Body> {
    let localhost = axum::http::HeaderValue::from_static("localhost");
    request.headers_mut().insert("host", localhost);
    request
}

fn post_json(body: Vec<u8>) -> Request<Body> {
    Request::post("/api/v1/bookings")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

fn post_form(body: Vec<u8>) -> Request<Body> {
    Request::post("/")
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

/// Sends one request from a browser (it accepts HTML); asserts that anything but a success or a
/// redirect is a 4xx HTML page, and returns the status.
fn send_page(request: Request<Body>) -> StatusCode {
    let uri = request.uri().to_string();
    HARNESS.with(|h| {
        h.runtime.block_on(async {
            let response = h.app.clone().oneshot(with_host(request)).await.unwrap();
            let status = response.status();
            if !status.is_success() && !status.is_redirection() {
                assert!(status.is_client_error(), "{uri}: {status}");
                let html = response
                    .headers()
                    .get("content-type")
                    .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
                assert!(html, "{uri}: {status} is not a page");
            }
            status
        })
    })
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// Asserts a client error that says what is wrong.
fn assert_explained_4xx(status: StatusCode, detail: &Option<String>) {
    assert!(status.is_client_error(), "{status}");
    assert!(
        detail.as_deref().is_some_and(|d| !d.is_empty()),
        "{status} without a detail"
    );
}

/// Strings that are sometimes dates, sometimes nearly, sometimes anything.
fn date_like() -> impl Strategy<Value = String> {
    prop_oneof![
        (2020u16..2030, 1u8..=13, 0u8..=32).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        "[0-9]{4}-[0-9]{1,2}-[0-9]{1,3}",
        "\\PC{0,12}",
    ]
}

/// A body for the booking form: its fields (sometimes repeated, missing or unknown) with
/// values that may break the encoding, mixed with arbitrary bytes.
fn form_body() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        Just("user_name".to_owned()),
        Just("from_date".to_owned()),
        Just("to_date".to_owned()),
        Just("idempotency_key".to_owned()),
        "[a-z_%]{1,8}",
    ];
    let value = prop_oneof!["[A-Za-z ]{1,12}", date_like(), "[%+=&;0-9A-Fa-f]{0,6}",];
    let pair = prop_oneof![
        6 => (name, value).prop_map(|(k, v)| format!("{k}={v}").into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..16),
    ];
    let whole_form = (
        "[A-Za-z]{1,8}",
        (2026u16..2028, 1u8..=12, 1u8..=28),
        0u8..100,
    )
        .prop_map(|(name, (y, m, d), days)| {
            let from = jiff::civil::date(y as i16, m as i8, d as i8);
            let to = from + jiff::Span::new().days(days);
            format!("from_date={from}&user_name={name}+{days}&to_date={to}").into_bytes()
        });
    prop_oneof![
        proptest::collection::vec(pair, 0..6).prop_map(|pairs| pairs.join(&b'&')),
        whole_form,
    ]
}

fn field_value(text: impl Strategy<Value = String> + 'static) -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => text.prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => Just(json!(["a"])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The arbitrary cases below are seldom all valid at once; these always are,
    /// and each person is new, so nothing can overlap: every one must be stored.
    #[test]
    fn valid_creates_are_stored(
        name in "[A-Za-z][A-Za-z ]{0,10}[A-Za-z]",
        offset in 0i64..3650,
        extra_days in 0i64..90,
    ) {
        let person = format!("{name} {}", NEXT_PERSON.fetch_add(1, Ordering::Relaxed));
        let from = jiff::civil::date(2024, 1, 1) + jiff::Span::new().days(offset);
        let to = from + jiff::Span::new().days(extra_days);
        let body = json!({"user_name": person, "from_date": from.to_string(), "to_date": to.to_string()});
        let (status, detail) = send(post_json(serde_json::to_vec(&body).unwrap()));
        prop_assert_eq!(status, StatusCode::CREATED, "{:?}", detail);
    }

    #[test]
    fn creates_succeed_exactly_when_the_rules_allow(
        name in field_value(prop_oneof!["[A-Za-z ]{0,12}", "\\PC{0,120}", "[\\x00-\\x1f]{1,3}"]),
        from in field_value(date_like()),
        to in field_value(date_like()),
        extra in proptest::option::of("[a-z_]{1,8}"),
        drop_field in 0usize..6,
    ) {
        let mut body = serde_json::Map::new();
        for (i, (key, value)) in [("user_name", &name), ("from_date", &from), ("to_date", &to)].into_iter().enumerate() {
            if i != drop_field {
                body.insert(key.to_owned(), value.clone());
            }
        }
        if let Some(extra) = &extra {
            body.entry(extra.clone()).or_insert(json!(1));
        }
        let (status, detail) = send(post_json(serde_json::to_vec(&body).unwrap()));
        let known = ["user_name", "from_date", "to_date"];
        let text = |k: &str| body.get(k).and_then(Value::as_str);
        let accepted = body.keys().all(|k| known.contains(&k.as_str()))
            && match (text("user_name"), text("from_date"), text("to_date")) {
                (Some(n), Some(f), Some(t)) => Booking::parse(n, f, t).is_ok(),
                _ => false,
            };
        if accepted {
            prop_assert!(status == StatusCode::CREATED || status == StatusCode::CONFLICT, "{}", status);
        } else {
            prop_assert!(status != StatusCode::CONFLICT);
            assert_explained_4xx(status, &detail);
        }
    }

    #[test]
    fn arbitrary_bodies_never_fail_the_server(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let (status, detail) = send(post_json(body));
        if !status.is_success() {
            assert_explained_4xx(status, &detail);
        }
    }

    /// The page's booking form, as the original's clients post it: a booking is stored (303)
    /// only when each field comes once and the rules accept them, and a form without a key
    /// that the rules accept is stored or refused as an overlap.
    #[test]
    fn booking_forms_are_stored_exactly_when_the_rules_allow(body in form_body()) {
        let status = send_page(post_form(body.clone()));
        // The app refuses text that is not UTF-8 once percent-decoded, which serde_urlencoded
        // would decode leniently (to U+FFFD): such a form holds no field here.
        let utf8 = body
            .split(|b| *b == b'&')
            .all(|pair| percent_encoding::percent_decode(pair).decode_utf8().is_ok());
        let fields = utf8
            .then(|| serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).ok())
            .flatten();
        let single = |name: &str| {
            let values: Vec<&str> = fields.iter().flatten()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect();
            match values[..] {
                [] => Some(""),
                [value] => Some(value),
                _ => None,
            }
        };
        let valid = match (single("user_name"), single("from_date"), single("to_date")) {
            (Some(n), Some(f), Some(t)) => Booking::parse(n, f, t).is_ok(),
            _ => false,
        };
        if status == StatusCode::SEE_OTHER {
            prop_assert!(valid, "stored a form the rules refuse");
        }
        if valid && single("idempotency_key") == Some("") {
            prop_assert!(status == StatusCode::SEE_OTHER || status == StatusCode::CONFLICT, "{}", status);
        }
    }

    /// The delete confirmation and the delete itself, with any id and any month to return to.
    #[test]
    fn delete_links_and_forms_get_answers_not_errors(
        id in "[!-~]{0,30}",
        month in "\\PC{0,10}",
    ) {
        let encode = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
        let uri = format!("/delete/{}?month={}", encode(&id), encode(&month));
        for method in ["GET", "POST", "DELETE"] {
            let request = Request::builder().method(method).uri(&uri).header("accept", "text/html");
            let status = send_page(request.body(Body::empty()).unwrap());
            prop_assert!(status != StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        }
    }

    #[test]
    fn arbitrary_queries_and_paths_get_answers_not_errors(
        query in "[a-z=&%0-9A-F_-]{0,60}",
        month in "\\PC{0,10}",
        id in "[!-~]{0,40}",
    ) {
        let encode = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
        for uri in [
            format!("/api/v1/bookings?{query}"),
            format!("/api/v1/bookings?month={}", encode(&month)),
            format!("/api/v1/bookings/{}", encode(&id)),
        ] {
            let (status, detail) = send(get(&uri));
            if !status.is_success() {
                prop_assert!(status != StatusCode::NOT_FOUND || uri.starts_with("/api/v1/bookings/"), "{uri}: {status}");
                assert_explained_4xx(status, &detail);
            }
        }
        let page = send(get(&format!("/?month={}", encode(&month)))).0;
        prop_assert!(page == StatusCode::OK || page == StatusCode::BAD_REQUEST, "{page}");
    }
}
