//! Bad input never hurts: every input path answers 4xx with a message saying what is wrong,
//! never 500, and a refused request stores nothing. Unreachable storage answers 503 in time.

mod support;

use std::time::Duration;

use leave_calendar::config::Settings;
use leave_calendar::store::dynamo::DynamoStore;
use serde_json::{Value, json};
use support::{TestApp, TestStore, assert_error_page, spawn_app, spawn_app_with};

/// Asserts a problem+json answer with `status` whose detail contains `needle`.
async fn assert_problem(response: reqwest::Response, status: u16, needle: &str) {
    let what = format!("{} {}", response.status(), response.url());
    assert_eq!(response.status(), status, "{what}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], status);
    let detail = problem["detail"].as_str().unwrap();
    assert!(!detail.trim().is_empty(), "{what}: an empty detail");
    assert!(
        detail.to_lowercase().contains(&needle.to_lowercase()),
        "{what}: '{detail}' lacks '{needle}'"
    );
}

async fn assert_nothing_stored(app: &TestApp) {
    let page: Value = app
        .get("/api/v1/bookings?from=2026-01-01&to=2026-12-31")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["items"],
        json!([]),
        "a refused request stored something"
    );
}

async fn post_raw(
    app: &TestApp,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/bookings"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_create_bodies_are_refused() {
    let app = spawn_app().await;
    let json_type = "application/json";
    assert_problem(
        post_raw(&app, json_type, r#"{"user_name": "#).await,
        400,
        "EOF",
    )
    .await;
    assert_problem(post_raw(&app, json_type, "").await, 400, "EOF").await;
    assert_problem(
        post_raw(&app, json_type, "\u{0}\u{1}").await,
        400,
        "not valid JSON",
    )
    .await;
    let twice = r#"{"user_name": "Ann", "user_name": "Bob", "from_date": "2026-03-01", "to_date": "2026-03-02"}"#;
    assert_problem(
        post_raw(&app, json_type, twice).await,
        422,
        "duplicate field `user_name`",
    )
    .await;
    assert_problem(
        post_raw(&app, json_type, r#"["Ann","2026-03-01","2026-03-02"]"#).await,
        422,
        "must be a JSON object, not an array",
    )
    .await;
    assert_problem(
        post_raw(&app, "text/plain", "user_name=Ann").await,
        415,
        "application/json",
    )
    .await;
    let valid = r#"{"user_name": "Ann", "from_date": "2026-03-01", "to_date": "2026-03-02"}"#;
    assert_problem(
        post_raw(&app, "application/json; charset=iso-8859-1", valid).await,
        415,
        "UTF-8, not as charset=iso-8859-1",
    )
    .await;
    let too_big = format!(
        r#"{{"user_name": "{}", "from_date": "2026-03-01", "to_date": "2026-03-02"}}"#,
        "a".repeat(20_000)
    );
    assert_problem(post_raw(&app, json_type, too_big).await, 413, "limit").await;
    assert_nothing_stored(&app).await;
}

/// A body sent with GET means nothing and is ignored, however large: a health probe or a
/// listing answers as without it.
#[tokio::test]
async fn bodies_of_gets_are_ignored() {
    let app = spawn_app().await;
    for path in [
        "/health",
        "/api/v1/bookings?month=2026-03",
        "/?month=2026-03",
    ] {
        let answer = app
            .client
            .get(app.url(path))
            .body(vec![b'x'; 20_000])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{path}");
    }
}

/// An HTTP/1.1 request must name its host once, in a valid `Host`; HTTP/1.0 need not.
#[tokio::test]
async fn requests_without_one_valid_host_are_refused() {
    let app = spawn_app().await;
    let get = |headers: &str, version: &str| {
        format!("GET /health HTTP/{version}\r\n{headers}Connection: close\r\n\r\n")
    };
    for (headers, detail) in [
        ("", "must name its host in a Host header"),
        (
            "Host: localhost\r\nHost: localhost\r\n",
            "one Host header, not several",
        ),
        ("Host: local host\r\n", "not a host name or address"),
        ("Host: ann@localhost\r\n", "not a host name or address"),
    ] {
        let (status, body) = send_partial(app.address, &get(headers, "1.1")).await;
        assert_eq!(status, 400, "{headers:?}");
        assert!(body.contains(detail), "{headers:?}: {body}");
    }
    let (status, _) = send_partial(app.address, &get("", "1.0")).await;
    assert_eq!(status, 200, "HTTP/1.0 without Host");
    let (status, _) = send_partial(app.address, &get("Host: localhost\r\n", "1.1")).await;
    assert_eq!(status, 200);
}

/// The target `*` names the server itself, for OPTIONS alone (RFC 9112, section 3.2.4).
#[tokio::test]
async fn the_asterisk_target_is_for_options_alone() {
    let app = spawn_app().await;
    let asterisk = |method: &str| {
        format!("{method} * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    };
    let (status, body) = send_partial(app.address, &asterisk("GET")).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("the target * is for OPTIONS, not GET"),
        "{body}"
    );
    let options = read_to_close(send(app.address, &asterisk("OPTIONS")).await).await;
    assert!(options.starts_with("HTTP/1.1 200 "), "{options}");
    assert!(
        options.contains("allow: GET, HEAD, POST, DELETE\r\n"),
        "{options}"
    );
}

/// A body in a coding the server does not undo is refused before it is parsed, and says which
/// coding: a transfer coding but chunked, or chunked twice, is a 400 (not RFC 9112's 501, a
/// 5xx any client could cause); a content coding is not a media type taken (415, naming the
/// one it takes, on the page too). The codings that change nothing are taken, and a GET's body
/// is not read at all. The header's parsing is unit-tested in `http::middleware`.
#[tokio::test]
async fn bodies_in_codings_the_server_does_not_undo_are_refused() {
    let app = spawn_app().await;
    let id = app.book_id("Kept", "2026-03-09", "2026-03-09").await;
    let body = r#"{"user_name":"Ada","from_date":"2026-03-02","to_date":"2026-03-02"}"#;
    let request = |method_and_path: &str, headers: &str| {
        format!(
            "{method_and_path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Connection: close\r\n{headers}\r\n"
        )
    };
    let chunked = |method_and_path: &str, codings: &str| {
        format!(
            "{}{:x}\r\n{body}\r\n0\r\n\r\n",
            request(
                method_and_path,
                &format!("Transfer-Encoding: {codings}\r\n")
            ),
            body.len()
        )
    };
    let plain = |method_and_path: &str, headers: &str| {
        let length = format!("{headers}Content-Length: {}\r\n", body.len());
        format!("{}{body}", request(method_and_path, &length))
    };
    let create = "POST /api/v1/bookings";
    let delete = format!("DELETE /api/v1/bookings/{id}");
    for (request, status, detail) in [
        (
            chunked(create, "gzip, chunked"),
            400,
            "the transfer coding 'gzip' is not supported",
        ),
        (
            chunked(create, "chunked, chunked"),
            400,
            "a body is chunked once",
        ),
        (
            plain(create, "Content-Encoding: gzip\r\n"),
            415,
            "the content coding 'gzip' is not supported",
        ),
        (
            plain(create, "Content-Encoding: identity, br\r\n"),
            415,
            "the content coding 'br' is not supported",
        ),
        (
            plain(&delete, "Content-Encoding: gzip\r\n"),
            415,
            "the content coding 'gzip' is not supported",
        ),
    ] {
        let (answered, text) = send_partial(app.address, &request).await;
        assert_eq!(answered, status, "{request}: {text}");
        assert!(text.contains(detail), "{request}: {text}");
    }
    let listed = app.listed("month=2026-03").await;
    let names: Vec<&str> = listed
        .iter()
        .map(|b| b["user_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Kept"], "nothing stored, nothing deleted");

    // The 415 names the coding it takes, as problem+json and as a page.
    for accept in ["application/json", "text/html"] {
        let coded = app
            .client
            .post(app.url("/"))
            .header("accept", accept)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-encoding", "gzip")
            .body("user_name=Ada")
            .send()
            .await
            .unwrap();
        assert_eq!(coded.status(), 415, "{accept}");
        assert_eq!(coded.headers()["accept-encoding"], "identity", "{accept}");
    }
    // A GET's body is not read, whatever its coding.
    let (answered, _) = send_partial(
        app.address,
        &plain("GET /health", "Content-Encoding: gzip\r\n"),
    )
    .await;
    assert_eq!(answered, 200);
    // The codings that change nothing: the first books, the second finds it booked.
    let mut answers = Vec::new();
    for accepted in [
        chunked(create, "Chunked"),
        plain(create, "Content-Encoding: Identity\r\n"),
    ] {
        answers.push(send_partial(app.address, &accepted).await.0);
    }
    assert_eq!(answers, [201, 409]);
}

/// Sends `request` (a head and perhaps part of a body) on a connection of its own and returns
/// the answer's status and body, without sending anything more.
async fn send_partial(address: std::net::SocketAddr, request: &str) -> (u16, String) {
    read_answer(send(address, request).await).await
}

/// Sends `request` on a connection of its own and returns the connection.
async fn send(address: std::net::SocketAddr, request: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Reads all `stream` brings until the server closes it: the whole answer, head and body.
async fn read_to_close(mut stream: tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("closed")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Reads one whole answer from `stream`: its status and body.
async fn read_answer(mut stream: tokio::net::TcpStream) -> (u16, String) {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    let mut buffer = [0; 4096];
    let read_all = async {
        loop {
            let text = String::from_utf8_lossy(&answer).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_owned)
                    })
                    .and_then(|l| l.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    let status = head[9..12].parse().unwrap();
                    return (status, body.to_owned());
                }
            }
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "closed without a whole answer: {text}");
            answer.extend_from_slice(&buffer[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read_all)
        .await
        .expect("an answer")
}

/// A body that is announced but never comes is the client's fault (408, once the deadline
/// passes), and it does not hold one of the concurrency slots meanwhile: with one slot and two
/// such requests waiting, the service still answers. A body announced larger than the limit
/// is refused at once, without waiting for it.
#[tokio::test]
async fn bodies_announced_but_not_sent_hold_no_slot() {
    let mut settings = Settings::defaults();
    settings.max_concurrent_requests = 1;
    settings.request_timeout_secs = 2;
    let app = spawn_app_with(support::embedded_store(), settings).await;
    let head = |length: usize| {
        format!(
            "POST /api/v1/bookings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {length}\r\n\r\n{{\"user_name\""
        )
    };
    // Both heads are sent before anything else, so that both requests wait while the others
    // are answered.
    let mut stalled = Vec::new();
    for request in [head(200), head(200)] {
        stalled.push(tokio::spawn(read_answer(send(app.address, &request).await)));
    }
    let (status, detail) = send_partial(app.address, &head(99_999_999)).await;
    assert_eq!(status, 413, "{detail}");
    assert!(detail.contains("larger than the limit"), "{detail}");
    let chunked = "POST /api/v1/bookings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                   Transfer-Encoding: chunked\r\n\r\n";
    let oversized = format!("{chunked}4e20\r\n{}\r\n0\r\n\r\n", " ".repeat(20_000));
    let (status, detail) = send_partial(app.address, &oversized).await;
    assert_eq!(status, 413, "sent, not declared, too large: {detail}");
    let garbled = format!("{chunked}zz\r\n{{}}\r\n0\r\n\r\n");
    let (status, detail) = send_partial(app.address, &garbled).await;
    assert_eq!(status, 400, "{detail}");
    assert!(detail.contains("could not be read"), "{detail}");
    assert_eq!(
        app.get("/api/v1/bookings?month=2026-03").await.status(),
        200
    );
    for stalled in stalled {
        let (status, detail) = stalled.await.unwrap();
        assert_eq!(status, 408, "{detail}");
        assert!(detail.contains("did not arrive within 2 s"), "{detail}");
    }
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn invalid_create_fields_name_what_is_wrong() {
    let app = spawn_app().await;
    let valid = json!({"user_name": "Ann", "from_date": "2026-03-01", "to_date": "2026-03-02"});
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (with("user_name", json!(5)), 422, "user_name"),
        (with("from_date", json!(null)), 422, "from_date"),
        (
            json!({"user_name": "Ann", "from_date": "2026-03-01"}),
            422,
            "missing field `to_date`",
        ),
        (with("admin", json!(true)), 422, "unknown field `admin`"),
        // An unknown key is echoed escaped: an override would turn the message around.
        (
            with("\u{202E}admin", json!(true)),
            422,
            "unknown field `\\u{202e}admin`",
        ),
        (
            with("from_date", json!("2026-02-30")),
            422,
            "'2026-02-30' is not a real date",
        ),
        (
            with("to_date", json!("02/03/2026")),
            422,
            "to_date must be a date written YYYY-MM-DD",
        ),
        (
            with("to_date", json!("2026-02-28")),
            422,
            "must not be before",
        ),
        (
            with("to_date", json!("2026-12-31")),
            422,
            "to_date makes the range 306 days long, both ends included; at most 90",
        ),
        (with("user_name", json!("   ")), 422, "must not be empty"),
        (
            with("user_name", json!("x".repeat(101))),
            422,
            "user_name must be at most 100 characters, got 101",
        ),
        (
            with("user_name", json!("x".repeat(10_000))),
            422,
            "user_name must be typed in at most 400 characters, got 10000",
        ),
        (
            with("user_name", json!("Ann\u{7}")),
            422,
            "control characters",
        ),
        (
            with("user_name", json!("Ann\nBob")),
            422,
            "control characters",
        ),
        (
            with("user_name", json!("Ann\u{200B}")),
            422,
            "invisible formatting characters, got U+200B",
        ),
        (
            with("user_name", json!("Ann\u{3164}")),
            422,
            "user_name must not contain invisible formatting characters, got U+3164",
        ),
        (
            with("user_name", json!("Ann\u{2800}")),
            422,
            "user_name must not contain invisible formatting characters, got U+2800",
        ),
        (
            with("user_name", json!("- . -")),
            422,
            "user_name must contain a letter or a digit",
        ),
        (
            with(
                "user_name",
                json!("Zalgo\u{301}\u{308}\u{311}\u{358}\u{35B}"),
            ),
            422,
            "user_name must not stack more than 4 combining marks, or one mark twice",
        ),
        (
            with("from_date", json!("0001-01-01")),
            422,
            "between 1900-01-01",
        ),
    ];
    for (body, status, needle) in cases {
        assert_problem(
            app.post_json("/api/v1/bookings", &body).await,
            status,
            needle,
        )
        .await;
    }
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn bad_idempotency_keys_are_refused() {
    let app = spawn_app().await;
    let body = json!({"user_name": "Ann", "from_date": "2026-03-01", "to_date": "2026-03-02"});
    for key in ["", "has space", &"k".repeat(256)] {
        let response = app
            .client
            .post(app.url("/api/v1/bookings"))
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "Idempotency-Key must be").await;
    }
    let non_ascii = reqwest::header::HeaderValue::from_bytes("clé".as_bytes()).unwrap();
    let response = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("idempotency-key", non_ascii)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "Idempotency-Key must be").await;
    let response = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("idempotency-key", "first")
        .header("idempotency-key", "second")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "send one Idempotency-Key header").await;
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn bad_list_parameters_are_refused() {
    let app = spawn_app().await;
    let long_person = format!("month=2026-03&person={}", "x".repeat(101));
    for (query, needle) in [
        ("", "give either month"),
        ("month=2026-13", "month must be written YYYY-MM"),
        ("month=2026-3", "month must be written YYYY-MM"),
        ("month=3000-01", "month must be between 1900-01 and 2999-12"),
        (
            "month=2026-03&from=2026-03-01&to=2026-03-02",
            "give either month",
        ),
        ("from=2026-03-01", "give either month"),
        ("from=2026-03-02&to=2026-03-01", "must not be before"),
        (
            "from=2026-01-01&to=2027-06-01",
            "to makes the range 517 days long",
        ),
        ("from=2026-02-30&to=2026-03-01", "not a real date"),
        (
            "month=2026-03&limit=0",
            "limit must be a whole number from 1 to 200, got '0'",
        ),
        ("month=2026-03&limit=201", "from 1 to 200, got '201'"),
        ("month=2026-03&limit=ten", "from 1 to 200, got 'ten'"),
        ("month=2026-03&limit=-1", "from 1 to 200, got '-1'"),
        ("month=2026-03&limit=1.5", "from 1 to 200, got '1.5'"),
        ("month=2026-03&limit=", "from 1 to 200, got ''"),
        (
            "month=2026-03&limit=99999999999999999999",
            "from 1 to 200, got '9999",
        ),
        ("month=2026-03&cursor=bm90IGEgY3Vyc29y", "cursor"),
        ("month=2026-03&cursor=%FF%FE", "cursor"),
        ("month=%E0%A4", "query parameter 'month' is not valid UTF-8"),
        ("month=2026-03&person=", "person"),
        ("month=2026-03&person=%07", "person"),
        (
            &long_person,
            "person must be at most 100 characters, got 101",
        ),
        (
            "month=2026-03&sort=desc",
            "the query string is refused: sort: unknown field `sort`",
        ),
        (
            "month=2026-03&month=2026-04",
            "the query string is refused: duplicate field `month`",
        ),
        ("month=2026-03&limit=5&limit=6", "duplicate field `limit`"),
    ] {
        assert_problem(
            app.get(&format!("/api/v1/bookings?{query}")).await,
            400,
            needle,
        )
        .await;
    }
}

#[tokio::test]
async fn malformed_and_unknown_ids() {
    let app = spawn_app().await;
    for id in [
        "42",
        "not-an-id",
        "01arz3ndektsv4rrffq69g5fav",
        "01ARZ3NDEKTSV4RRFFQ69G5FAVX",
        "%00",
    ] {
        assert_problem(
            app.get(&format!("/api/v1/bookings/{id}")).await,
            400,
            "not a booking id",
        )
        .await;
        assert_problem(
            app.delete(&format!("/api/v1/bookings/{id}")).await,
            400,
            "not a booking id",
        )
        .await;
    }
    assert_problem(
        app.get("/api/v1/bookings/01ARZ3NDEKTSV4RRFFQ69G5FAV").await,
        404,
        "no booking",
    )
    .await;
    assert_problem(
        app.delete("/api/v1/bookings/01ARZ3NDEKTSV4RRFFQ69G5FAV")
            .await,
        404,
        "no booking",
    )
    .await;
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let app = spawn_app().await;
    assert_problem(app.get("/nope").await, 404, "no such resource").await;
    assert_problem(app.get("/api/v2/bookings").await, 404, "no such resource").await;
    let put = app
        .client
        .put(app.url("/api/v1/bookings"))
        .send()
        .await
        .unwrap();
    assert_problem(put, 405, "PUT is not allowed").await;
    let patch = app.client.patch(app.url("/health")).send().await.unwrap();
    assert_problem(patch, 405, "PATCH is not allowed").await;
    let post = app
        .client
        .post(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_problem(post, 405, "POST is not allowed").await;
}

#[tokio::test]
async fn bad_page_input_gets_a_page_with_the_message() {
    let app = spawn_app().await;
    let bad_month = app.get("/?month=2026-13").await;
    assert_eq!(bad_month.status(), 400);
    assert!(
        bad_month
            .text()
            .await
            .unwrap()
            .contains("Month must be written YYYY-MM")
    );
    // A parameter the pages do not know is ignored: a link shared with one still opens.
    assert_eq!(
        app.get("/?month=2026-03&utm_source=chat").await.status(),
        200
    );
    // The ids a page is sent to confirm after a form (post/redirect/get).
    let id = "01JQ0000000000000000000000";
    for (query, message) in [
        (
            "booked=garbage",
            "Booked: &#39;garbage&#39; is not a booking id",
        ),
        ("booked=", "Booked: &#39;&#39; is not a booking id"),
        (
            &format!("deleted={}", id.to_lowercase()),
            "Deleted: &#39;01jq0000000000000000000000&#39; is not a booking id",
        ),
        (
            &format!("month=2026-03&booked={id}&deleted={id}"),
            "give booked or deleted, not both",
        ),
    ] {
        assert_error_page(app.get(&format!("/?{query}")).await, 400, message).await;
    }

    // As a browser posts the form: a page back, saying what is wrong.
    let post_form = |content_type: &str, body: String| {
        app.client
            .post(app.url("/"))
            .header("accept", "text/html")
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let form_type = "application/x-www-form-urlencoded";
    let too_big = post_form(form_type, format!("user_name={}", "a".repeat(20_000)));
    assert_error_page(too_big.await.unwrap(), 413, "larger than the limit").await;
    let not_a_form = post_form("application/json", "{}".to_owned());
    assert_error_page(not_a_form.await.unwrap(), 415, form_type).await;
    let latin1 = post_form(
        "application/x-www-form-urlencoded; charset=iso-8859-1",
        "user_name=Zo%EB".to_owned(),
    );
    assert_error_page(
        latin1.await.unwrap(),
        415,
        "A form is read as UTF-8, not as charset=iso-8859-1",
    )
    .await;
    // Media types are case-insensitive: this one books (a redirect).
    let capitals = post_form(
        "Application/X-WWW-Form-Urlencoded",
        "user_name=Caps&from_date=2027-04-05&to_date=2027-04-05".to_owned(),
    );
    assert_eq!(capitals.await.unwrap().status(), 303);
    let twice = post_form(
        form_type,
        "user_name=Ada&user_name=Eve&from_date=2026-03-02&to_date=2026-03-02".to_owned(),
    );
    assert_error_page(
        twice.await.unwrap(),
        400,
        "The form is refused: duplicate field `user_name`",
    )
    .await;
    // The month a delete link goes back to: checked before anything is deleted. (A booking
    // of 2027, outside the year in which this test finds nothing stored.)
    let kept = app.book_id("Kept", "2027-03-09", "2027-03-09").await;
    let confirm = app.get(&format!("/delete/{kept}?month=2026-13")).await;
    assert_error_page(confirm, 400, "Month must be written YYYY-MM").await;
    let delete = app
        .client
        .post(app.url(&format!("/delete/{kept}?month=2026-3")))
        .send()
        .await
        .unwrap();
    assert_error_page(delete, 400, "Month must be written YYYY-MM").await;
    assert_eq!(
        app.get(&format!("/api/v1/bookings/{kept}")).await.status(),
        200,
        "not deleted"
    );
    let bad_id = app
        .client
        .post(app.url("/delete/garbage"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_id.status(), 400);
    assert!(bad_id.text().await.unwrap().contains("is not a booking id"));
    let long_name = app
        .post_booking_form(&"é".repeat(101), "2026-03-01", "2026-03-01")
        .await;
    assert_eq!(long_name.status(), 422);
    for bad_key in ["k".repeat(256), "é".to_owned(), "two words".to_owned()] {
        let response = app
            .post_form(
                "/",
                &[
                    ("user_name", "Ada"),
                    ("from_date", "2026-03-01"),
                    ("to_date", "2026-03-01"),
                    ("idempotency_key", &bad_key),
                ],
            )
            .await;
        assert_eq!(response.status(), 400, "{bad_key}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("The form is damaged"),
            "{bad_key}"
        );
    }
    // Bytes that are not UTF-8 would otherwise become U+FFFD: a name nobody typed.
    for body in [
        &b"user_name=F%FFay&from_date=2026-03-01&to_date=2026-03-01"[..],
        &b"user_name=F\xFFay&from_date=2026-03-01&to_date=2026-03-01"[..],
    ] {
        let response = app
            .client
            .post(app.url("/"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let page = response.text().await.unwrap();
        assert!(
            page.contains("form field &#39;user_name&#39; is not valid UTF-8"),
            "{page}"
        );
    }
    assert_nothing_stored(&app).await;
}

/// A store that cannot be reached: connections are refused, or accepted and never answered.
#[tokio::test]
async fn unreachable_dynamodb_answers_503_in_bounded_time() {
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    for address in [refused, silent_addr] {
        let deadline = Duration::from_millis(800);
        let client = support::moto::client_for(&format!("http://{address}"), deadline);
        let store = TestStore::new(DynamoStore::new(client, "leave"));
        let mut settings = Settings::defaults();
        settings.store_timeout_ms = 800;
        let app = spawn_app_with(store, settings).await;

        let response = tokio::time::timeout(
            Duration::from_secs(60),
            app.get("/api/v1/bookings?month=2026-03"),
        )
        .await
        .expect("answered, not hung");
        assert_eq!(response.headers()["retry-after"], "1");
        assert_problem(response, 503, "unavailable").await;
        assert_problem(app.get("/ready").await, 503, "unavailable").await;
        assert_eq!(
            app.get("/health").await.status(),
            200,
            "liveness never touches the store"
        );
        let page = app.get("/?month=2026-03").await;
        support::assert_unavailable_page(page, "unavailable").await;
    }
}
