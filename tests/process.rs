//! The binary as the container runs it: configuration from the environment, signals, exit
//! codes, JSON log lines, the `healthcheck` subcommand, and data that survives a restart.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use support::fault_proxy::{Fault, FaultProxy};
use support::process::{
    Server, backfill_command, command, dynamo_env, free_port, send_signal, wait_for_exit,
};

fn failed_start(env: &[(&str, &str)]) -> String {
    let output = command(env).output().expect("binary runs");
    assert!(!output.status.success(), "{env:?} should not start");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The settings of a DynamoDB store at `endpoint`.
fn dynamodb_at(endpoint: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("STORE", "dynamodb"),
        ("DYNAMODB_TABLE", "leave"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
    ]
}

#[test]
fn bad_or_missing_settings_name_the_setting() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    for (env, needle) in [
        (vec![("STORE", "dynamodb")], "DYNAMODB_TABLE"),
        (
            vec![("STORE", "dynamodb"), ("DYNAMODB_TABLE", "leave")],
            "AWS_REGION",
        ),
        (vec![("STORE", "postgres")], "STORE"),
        (vec![("PORT", "eighty")], "PORT"),
        (vec![("PORT", "70000")], "PORT"),
        (vec![("LOG_FORMAT", "xml")], "LOG_FORMAT"),
        (vec![("LOG_LEVEL", "info,=[")], "LOG_LEVEL"),
        (vec![("BIND_ADDRESS", "localhost:80")], "BIND_ADDRESS"),
        (
            vec![("SHUTDOWN_TIMEOUT_SECS", "-1")],
            "SHUTDOWN_TIMEOUT_SECS",
        ),
        (vec![("STORE_TIMEOUT_MS", "5")], "STORE_TIMEOUT_MS"),
        (vec![("REQUEST_TIMEOUT_SECS", "0")], "REQUEST_TIMEOUT_SECS"),
        (
            vec![("REQUEST_TIMEOUT_SECS", "ten")],
            "REQUEST_TIMEOUT_SECS",
        ),
        (
            vec![("MAX_CONCURRENT_REQUESTS", "0")],
            "MAX_CONCURRENT_REQUESTS",
        ),
        (
            vec![("MAX_CONCURRENT_REQUESTS", "1e6")],
            "MAX_CONCURRENT_REQUESTS",
        ),
        (vec![("DATA_DIR", "/proc/version/sub")], "DATA_DIR"),
        (vec![("STORE_TIMEOUT_MS", "60001")], "STORE_TIMEOUT_MS"),
        (
            vec![("REQUEST_TIMEOUT_SECS", "301")],
            "REQUEST_TIMEOUT_SECS",
        ),
        (
            vec![("SHUTDOWN_TIMEOUT_SECS", "301")],
            "SHUTDOWN_TIMEOUT_SECS",
        ),
        (
            vec![("MAX_CONCURRENT_REQUESTS", "100001")],
            "MAX_CONCURRENT_REQUESTS",
        ),
        (
            vec![("STORE", "dynamodb"), ("DYNAMODB_TABLE", "  ")],
            "DYNAMODB_TABLE",
        ),
        (
            vec![("STORE", "dynamodb"), ("DYNAMODB_TABLE", "leave ")],
            "DYNAMODB_TABLE must be a DynamoDB table name",
        ),
        (
            vec![("STORE", "dynamodb"), ("DYNAMODB_TABLE", "lc")],
            "DYNAMODB_TABLE must be a DynamoDB table name",
        ),
        (
            vec![("STORE", "dynamodb"), ("DYNAMODB_TABLE", "leave/calendar")],
            "DYNAMODB_TABLE must be a DynamoDB table name",
        ),
        (
            dynamodb_at("ftp://127.0.0.1:1"),
            "AWS_ENDPOINT_URL_DYNAMODB",
        ),
        (dynamodb_at("not a url"), "AWS_ENDPOINT_URL_DYNAMODB"),
    ] {
        let mut env = env;
        if !env.iter().any(|(k, _)| *k == "DATA_DIR") {
            env.push(("DATA_DIR", data_dir));
        }
        let stderr = failed_start(&env);
        assert!(
            stderr.contains(needle),
            "{env:?}: stderr does not name {needle}: {stderr}"
        );
    }
}

/// SIGTERM exits 0 after closing the embedded database: the next open finds the file shut down
/// cleanly, so it runs no repair (which reads the whole file, slow for a large one), and the
/// booking is there after a restart. Ctrl-C (SIGINT) stops it the same way.
#[test]
fn bookings_survive_a_restart_and_sigterm_exits_zero() {
    let data = tempfile::tempdir().unwrap();
    let env = [("DATA_DIR", data.path().to_str().unwrap())];
    let stop = |mut server: Server, signal: &str| {
        server.signal(signal);
        assert_eq!(
            server.wait(Duration::from_secs(10)).code(),
            Some(0),
            "{signal}"
        );
        drop(server);
        let repaired = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&repaired);
        let db = redb::Builder::new()
            .set_repair_callback(move |_| flag.store(true, Ordering::SeqCst))
            .open(data.path().join("leave-calendar.redb"))
            .unwrap();
        assert!(
            !repaired.load(Ordering::SeqCst),
            "SIG{signal}: the database needed repair: the process exited without closing it"
        );
        drop(db);
    };
    let first = Server::start(&env);
    let client = reqwest::blocking::Client::new();
    let created: Value = client
        .post(first.url("/api/v1/bookings"))
        .json(&json!({"user_name": "Ada", "from_date": "2026-03-02", "to_date": "2026-03-03"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    stop(first, "TERM");

    let second = Server::start(&env);
    let fetched: Value = client
        .get(second.url(&format!(
            "/api/v1/bookings/{}",
            created["id"].as_str().unwrap()
        )))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(fetched, created);
    stop(second, "INT");
}

/// The app on the embedded store in `data`, logging JSON lines as in the container.
fn logging_json(data: &tempfile::TempDir) -> Server {
    Server::start(&[
        ("DATA_DIR", data.path().to_str().unwrap()),
        ("LOG_FORMAT", "json"),
    ])
}

#[test]
fn json_logs_are_one_object_per_line_with_request_ids() {
    let data = tempfile::tempdir().unwrap();
    let mut server = logging_json(&data);
    let response = reqwest::blocking::get(server.url("/api/v1/bookings?month=2026-13")).unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    server.terminate();
    server.wait(Duration::from_secs(10));
    let lines = server.lines();
    assert!(lines.len() >= 3, "{lines:?}");
    let objects: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(objects.iter().all(Value::is_object));
    let logged = objects
        .iter()
        .find(|o| o["span"]["request_id"] == request_id.as_str())
        .expect("request logged with its id");
    assert_eq!(logged["status"], 400);
}

/// Text lines, for people, have no colour codes when they go to a pipe or a file.
#[test]
fn text_logs_are_plain_outside_a_terminal() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start(&[("DATA_DIR", data.path().to_str().unwrap())]);
    server.terminate();
    server.wait(Duration::from_secs(10));
    let lines = server.lines();
    assert!(lines.iter().any(|l| l.contains("listening")), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains('\x1b')), "{lines:?}");
}

/// A path of raw UTF-8 (which hyper takes) cannot write what looks like fields or lines of its
/// own into the text log: it is logged percent-encoded.
#[test]
fn paths_cannot_forge_text_log_fields() {
    use std::io::{Read, Write};
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start(&[("DATA_DIR", data.path().to_str().unwrap())]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let forged = "/x\u{A0}request_id=FORGED}:\u{A0}finished\u{2028}\u{85}";
    write!(
        stream,
        "GET {forged} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    server.terminate();
    server.wait(Duration::from_secs(10));
    let lines = server.lines();
    let logged = "path=/x%C2%A0request_id=FORGED}:%C2%A0finished%E2%80%A8%C2%85";
    assert!(lines.iter().any(|l| l.contains(logged)), "{lines:?}");
    let raw = ['\u{A0}', '\u{2028}', '\u{85}'];
    assert!(!lines.iter().any(|l| l.contains(raw)), "{lines:?}");
}

/// The workers hold their log lines until one of them runs out of work (see
/// `telemetry::batched`): while the app idles a request's line still reaches the output soon
/// after its answer, and however many requests run at once each line reaches it whole and once.
#[test]
fn every_request_line_reaches_the_output_whole_and_once() {
    let data = tempfile::tempdir().unwrap();
    let mut server = logging_json(&data);
    let client = reqwest::blocking::Client::new();
    let request_id = |path: &str| {
        let response = client.get(server.url(path)).send().unwrap();
        assert!(response.status().is_success(), "{path}");
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let logged_once = |lines: &[String], id: &str| {
        lines
            .iter()
            .filter(|l| l.contains(id) && l.contains("finished processing request"))
            .count()
            == 1
    };

    let alone = request_id("/ready");
    let by = Instant::now() + Duration::from_secs(10);
    while !logged_once(&server.lines(), &alone) {
        assert!(Instant::now() < by, "the line of a request alone was held");
        std::thread::sleep(Duration::from_millis(10));
    }

    let ids: Vec<String> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    (0..50)
                        .map(|_| request_id("/?month=2026-03"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect()
    });
    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(10)).code(), Some(0));
    let lines = server.lines();
    for line in &lines {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    let missing: Vec<&String> = ids.iter().filter(|id| !logged_once(&lines, id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} not on one line each",
        missing.len(),
        ids.len()
    );
}

/// A request that changes a booking is logged on one line, its access line, which names the
/// booking and what happened to it; nothing else is logged about it.
#[test]
fn a_booking_change_is_on_its_request_line_and_nowhere_else() {
    let data = tempfile::tempdir().unwrap();
    let mut server = logging_json(&data);
    // Redirects not followed: the form's answer (a 303) carries the request id to look for.
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let create = || {
        client
            .post(server.url("/api/v1/bookings"))
            .header("idempotency-key", "log-line-test")
            .json(&json!({"user_name": "Ada", "from_date": "2026-03-02", "to_date": "2026-03-03"}))
            .send()
            .unwrap()
    };
    let request_id = |response: &reqwest::blocking::Response| {
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let first = create();
    let again = create();
    let (first_id, again_id) = (request_id(&first), request_id(&again));
    let booking: Value = first.json().unwrap();
    let booking = booking["id"].as_str().unwrap().to_owned();
    let deleted = client
        .delete(server.url(&format!("/api/v1/bookings/{booking}")))
        .send()
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let deleted_id = request_id(&deleted);
    // The month page's form, sent twice with its idempotency key, as a browser may resend it.
    let post_form = || {
        let form = [
            ("user_name", "Bea"),
            ("from_date", "2026-03-02"),
            ("to_date", "2026-03-03"),
            ("idempotency_key", "form-log-line-test"),
        ];
        let response = client.post(server.url("/")).form(&form).send().unwrap();
        assert_eq!(response.status(), 303);
        request_id(&response)
    };
    let (form_id, form_again_id) = (post_form(), post_form());
    let form_booking = {
        let page = client.get(server.url("/?month=2026-03")).send().unwrap();
        let page = page.text().unwrap();
        let at = page
            .find("/delete/")
            .expect("the month page links to Bea's deletion")
            + 8;
        page[at..at + 26].to_owned()
    };
    // The confirmation page's button, pressed twice: only the first deletes.
    let delete_page = || {
        let url = server.url(&format!("/delete/{form_booking}"));
        let response = client.post(url).send().unwrap();
        assert_eq!(response.status(), 303);
        request_id(&response)
    };
    let (page_delete_id, page_delete_again_id) = (delete_page(), delete_page());
    server.terminate();
    server.wait(Duration::from_secs(10));

    let objects: Vec<Value> = server
        .lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let line = |request_id: &str| {
        let lines: Vec<&Value> = objects
            .iter()
            .filter(|o| o["span"]["request_id"] == request_id)
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "one line for request {request_id}: {lines:?}"
        );
        lines[0].clone()
    };
    for (request_id, outcome, status) in [
        (first_id, "created", 201),
        (again_id, "replayed", 201),
        (deleted_id, "deleted", 204),
    ] {
        let line = line(&request_id);
        assert_eq!(line["status"], status);
        assert_eq!(line["booking"], booking.as_str(), "{line:?}");
        assert_eq!(line["outcome"], outcome, "{line:?}");
    }
    let (form, form_again) = (line(&form_id), line(&form_again_id));
    assert_eq!(form["outcome"], "created", "{form:?}");
    assert_eq!(form_again["outcome"], "replayed", "{form_again:?}");
    assert_eq!(form["booking"], form_booking.as_str(), "{form:?}");
    assert_eq!(form_again["booking"], form_booking.as_str());
    let page_delete = line(&page_delete_id);
    assert_eq!(page_delete["outcome"], "deleted", "{page_delete:?}");
    assert_eq!(page_delete["booking"], form_booking.as_str());
    // Nothing was deleted the second time: the line names no booking.
    let page_delete_again = line(&page_delete_again_id);
    assert!(
        page_delete_again.get("outcome").is_none() && page_delete_again.get("booking").is_none(),
        "{page_delete_again:?}"
    );
}

/// The load balancer's health checks would be most of the log at INFO: a successful `/health`
/// is logged at DEBUG, everything else (`/ready` included) at INFO.
#[test]
fn health_checks_are_logged_only_at_debug() {
    let logged_paths = |level: &str| {
        let data = tempfile::tempdir().unwrap();
        let mut server = Server::start(&[
            ("DATA_DIR", data.path().to_str().unwrap()),
            ("LOG_FORMAT", "json"),
            ("LOG_LEVEL", level),
        ]);
        for path in ["/health", "/ready", "/no-such-page"] {
            reqwest::blocking::get(server.url(path)).unwrap();
        }
        server.terminate();
        server.wait(Duration::from_secs(10));
        let mut paths: Vec<String> = server
            .lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|o| o["message"] == "finished processing request")
            .map(|o| o["span"]["path"].as_str().unwrap_or_default().to_owned())
            .collect();
        paths.sort();
        paths.dedup();
        paths
    };
    assert_eq!(logged_paths("info"), ["/no-such-page", "/ready"]);
    assert!(logged_paths("debug").contains(&"/health".to_owned()));
}

/// ERROR lines are for the app's own failures (the `app-errors` alarm counts them): a store
/// that cannot be reached answers 503 and is logged as a warning, and the request's line has
/// its status.
#[test]
fn a_store_outage_logs_warnings_not_errors() {
    let closed = format!("http://127.0.0.1:{}", support::process::free_port());
    let mut env = dynamo_env("leave", &closed);
    env.extend([("LOG_FORMAT", "json"), ("STORE_TIMEOUT_MS", "200")]);
    let mut server = Server::start(&env);
    let client = reqwest::blocking::Client::new();
    assert_eq!(
        client.get(server.url("/ready")).send().unwrap().status(),
        503
    );
    let listed = client
        .get(server.url("/api/v1/bookings?month=2026-03"))
        .send()
        .unwrap();
    assert_eq!(listed.status(), 503);
    // The pages log the cause as the API does.
    let page = client.get(server.url("/?month=2026-03")).send().unwrap();
    assert_eq!(page.status(), 503);
    let booked = client
        .post(server.url("/"))
        .form(&[
            ("user_name", "Ada"),
            ("from_date", "2026-03-02"),
            ("to_date", "2026-03-03"),
        ])
        .send()
        .unwrap();
    assert_eq!(booked.status(), 503);
    server.terminate();
    server.wait(Duration::from_secs(10));
    let objects: Vec<Value> = server
        .lines()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let at = |level: &str| objects.iter().filter(|o| o["level"] == level).count();
    assert_eq!(at("ERROR"), 0, "{objects:#?}");
    // One WARN with the cause for each of the four answers.
    let causes = objects
        .iter()
        .filter(|o| o["level"] == "WARN" && o["message"] == "store unavailable")
        .filter(|o| o["detail"].as_str().is_some_and(|d| !d.is_empty()))
        .count();
    assert_eq!(causes, 4, "{objects:#?}");
    let statuses: Vec<&Value> = objects
        .iter()
        .filter(|o| o["message"] == "finished processing request")
        .map(|o| &o["status"])
        .collect();
    assert_eq!(statuses, [503, 503, 503, 503]);
}

/// A request shed at the concurrency limit and one past its deadline are one line each, at
/// INFO, whose `detail` says which: no WARN line of their own, which would double the lines
/// written when the app is overloaded.
#[tokio::test(flavor = "multi_thread")]
async fn shed_and_timed_out_requests_are_one_line_each_saying_why() {
    let slow_store = FaultProxy::start(support::moto::endpoint()).await;
    slow_store.set(Fault::Latency(Duration::from_secs(20)));
    let table = support::moto::fresh_table().await;
    let mut env = dynamo_env(&table, &slow_store.url);
    // The held request's deadline must outlast the sending of the second one, a few
    // milliseconds, even on a busy machine: 5 s.
    env.extend([
        ("LOG_FORMAT", "json"),
        ("MAX_CONCURRENT_REQUESTS", "1"),
        ("REQUEST_TIMEOUT_SECS", "5"),
        ("STORE_TIMEOUT_MS", "60000"),
    ]);
    let mut server = Server::start(&env);
    let url = server.url("/api/v1/bookings?month=2026-03");
    let client = reqwest::Client::new();
    let in_flight = request_held_by(&slow_store, url.clone()).await;

    let shed = client.get(&url).send().await.unwrap();
    assert_eq!(shed.status(), 503);
    assert_eq!(
        in_flight.await.unwrap().unwrap(),
        503,
        "past its 5 s deadline"
    );
    server.terminate();
    let lines = tokio::task::spawn_blocking(move || {
        server.wait(Duration::from_secs(10));
        server.lines()
    })
    .await
    .unwrap();

    let objects: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let warnings: Vec<&Value> = objects.iter().filter(|o| o["level"] == "WARN").collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
    let mut said: Vec<(&str, &Value, &Value)> = objects
        .iter()
        .filter(|o| o["span"]["path"] == "/api/v1/bookings")
        .map(|o| (o["level"].as_str().unwrap(), &o["status"], &o["detail"]))
        .collect();
    said.sort_by_key(|(_, _, detail)| detail.to_string());
    assert_eq!(
        said,
        [
            (
                "INFO",
                &json!(503),
                &json!("the request took too long; retry shortly")
            ),
            (
                "INFO",
                &json!(503),
                &json!("the server is at capacity; retry shortly")
            ),
        ],
        "{objects:#?}"
    );
}

#[test]
fn healthcheck_subcommand_reports_the_server_state() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(&[("DATA_DIR", data.path().to_str().unwrap())]);
    let port = server.port.to_string();
    let ok = command(&[("PORT", &port)])
        .arg("healthcheck")
        .status()
        .unwrap();
    assert!(ok.success());
    let closed = free_port().to_string();
    let down = command(&[("PORT", &closed)])
        .arg("healthcheck")
        .output()
        .unwrap();
    assert!(!down.status.success());
    assert!(String::from_utf8_lossy(&down.stderr).contains("unhealthy"));
}

/// A request in flight when SIGTERM arrives still gets its answer; new connections are refused;
/// a request that outlives the bound does not keep the process alive.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_in_flight_requests_within_the_bound() {
    let slow_store = FaultProxy::start(support::moto::endpoint()).await;
    slow_store.set(Fault::Latency(Duration::from_secs(3)));
    let table = support::moto::fresh_table().await;
    for (bound, request_done) in [("10", true), ("1", false)] {
        let mut env = dynamo_env(&table, &slow_store.url);
        env.extend([
            ("STORE_TIMEOUT_MS", "20000"),
            ("SHUTDOWN_TIMEOUT_SECS", bound),
        ]);
        let mut server = Server::start(&env);
        let url = server.url("/api/v1/bookings?month=2026-03");
        // In flight: the request has reached the store, which holds it for 3 s.
        let in_flight = request_held_by(&slow_store, url).await;
        server.terminate();
        // The listener closes once the signal is handled, while the request is still held: not
        // only when the drain ends.
        while reqwest::get(server.url("/health")).await.is_ok() {
            assert!(
                !in_flight.is_finished(),
                "new connections were still taken after SIGTERM once the in-flight request ended"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let status = tokio::task::spawn_blocking(move || server.wait(Duration::from_secs(15)))
            .await
            .unwrap();
        assert_eq!(status.code(), Some(0));
        let answered = in_flight.await.unwrap();
        if request_done {
            assert_eq!(answered.unwrap(), 200, "the in-flight request finished");
        } else {
            let error = answered.expect_err("the request outlived the 1 s bound and was cut");
            assert!(!error.is_connect(), "it was sent before SIGTERM: {error}");
        }
    }
}

/// A request that never ends (its client sent half of its headers) is cut when the drain's time
/// is up, and still leaves the store the time to close its file: the next start needs no
/// repair. Before, the drain took the whole bound and the store was left open.
#[test]
fn a_request_that_never_ends_leaves_the_store_time_to_close() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start(&[
        ("DATA_DIR", data.path().to_str().unwrap()),
        // The store keeps a second of it, as with the default bound: a busy machine's disk
        // may take hundreds of milliseconds to flush.
        ("SHUTDOWN_TIMEOUT_SECS", "4"),
    ]);
    let created = reqwest::blocking::Client::new()
        .post(server.url("/api/v1/bookings"))
        .json(&json!({"user_name": "Ada", "from_date": "2026-03-02", "to_date": "2026-03-03"}))
        .send()
        .unwrap();
    assert_eq!(created.status(), 201);
    let mut half = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    std::io::Write::write_all(&mut half, b"GET /health HTTP/1.1\r\nHost: localhost\r\n").unwrap();
    // The server has read them: the connection is in the middle of a request.
    std::thread::sleep(Duration::from_millis(200));

    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(10)).code(), Some(0));
    let lines = server.lines();
    assert!(
        lines.iter().any(|l| l.contains("did not finish in time")),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("did not close in time")),
        "{lines:?}"
    );
    drop(server);
    let repaired = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&repaired);
    redb::Builder::new()
        .set_repair_callback(move |_| flag.store(true, Ordering::SeqCst))
        .open(data.path().join("leave-calendar.redb"))
        .unwrap();
    assert!(
        !repaired.load(Ordering::SeqCst),
        "the database needed repair"
    );
    drop(half);
}

/// A second Ctrl-C (or SIGTERM) while requests drain exits at once, with status 130 (143): it
/// waits neither for the request in flight nor for the shutdown's bound.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_stop_signal_exits_without_waiting_for_the_drain() {
    let slow_store = FaultProxy::start(support::moto::endpoint()).await;
    slow_store.set(Fault::Latency(Duration::from_secs(30)));
    let table = support::moto::fresh_table().await;
    let mut env = dynamo_env(&table, &slow_store.url);
    env.extend([
        ("STORE_TIMEOUT_MS", "60000"),
        ("REQUEST_TIMEOUT_SECS", "60"),
        ("SHUTDOWN_TIMEOUT_SECS", "60"),
    ]);
    for (signal, status) in [("INT", 130), ("TERM", 143)] {
        let mut server = Server::start(&env);
        let url = server.url("/api/v1/bookings?month=2026-03");
        let in_flight = request_held_by(&slow_store, url).await;

        server.signal(signal);
        // Logged once the first signal is taken, and the second listened for.
        let draining_by = Instant::now() + Duration::from_secs(10);
        while !server.lines().iter().any(|l| l.contains("shutting down")) {
            assert!(Instant::now() < draining_by, "{signal}: no drain");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!in_flight.is_finished(), "{signal}: the request is held");
        server.signal(signal);
        let (exit, lines) = tokio::task::spawn_blocking(move || {
            let exit = server.wait(Duration::from_secs(10));
            (exit, server.lines())
        })
        .await
        .unwrap();

        assert_eq!(exit.code(), Some(status), "{signal}");
        let warned = lines
            .iter()
            .any(|l| l.contains("stopped again while draining"));
        assert!(warned, "{lines:?}");
        let error = in_flight.await.unwrap().expect_err("the request was cut");
        assert!(!error.is_connect(), "{signal}: it was sent before: {error}");
    }
}

/// Ctrl-C or SIGTERM sent while the app starts, before it listens for them, is not lost: the
/// app stops as for one sent later, with status 0, its store closed. Before, such a signal
/// killed the process outside a container, and inside (where the app is PID 1) the kernel
/// dropped it and the app went on serving.
#[test]
fn a_stop_signal_sent_during_start_up_stops_the_app() {
    for signal in ["INT", "TERM"] {
        let data = tempfile::tempdir().unwrap();
        let mut child = command(&[
            ("DATA_DIR", data.path().to_str().unwrap()),
            ("PORT", "0"),
            ("LOG_FORMAT", "json"),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("binary starts");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
            child.stdout.take().expect("stdout"),
        ));
        // The first line ("using the embedded store") is logged as the store opens, before the
        // port is bound: the code before listened for signals only once it served. (The signals
        // held before the runtime runs are `startup`'s unit test.)
        let first = lines.next().expect("a first line").expect("text");
        assert!(first.contains("using the embedded store"), "{first}");
        send_signal(&child, signal);

        let status = wait_for_exit(&mut child, Duration::from_secs(10));
        assert_eq!(status.code(), Some(0), "{signal}: {status}");
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        assert!(rest.iter().any(|l| l.contains("\"stopped\"")), "{rest:?}");
    }
}

/// Sends GET `url` and waits, up to 30 s, until it has reached `store`, which holds it.
async fn request_held_by(
    store: &FaultProxy,
    url: String,
) -> tokio::task::JoinHandle<reqwest::Result<u16>> {
    store.reset_counts();
    let in_flight =
        tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status().as_u16()) });
    let reached_by = Instant::now() + Duration::from_secs(30);
    while store.count("Query") == 0 {
        assert!(
            Instant::now() < reached_by,
            "the request never reached the store"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    in_flight
}

/// `leave-calendar-backfill` runs on DynamoDB only, and says what it did (what it does is in
/// `tests/store_conformance.rs`).
#[test]
fn the_backfill_tool_reports_and_refuses_the_embedded_store() {
    let data = tempfile::tempdir().unwrap();
    let embedded = [("DATA_DIR", data.path().to_str().unwrap())];
    let refused = backfill_command(&embedded).output().unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("STORE=dynamodb"), "{stderr}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let table = runtime.block_on(support::moto::fresh_table());
    let mut env = dynamo_env(&table, support::moto::endpoint());
    env.push(("LOG_FORMAT", "json"));
    let report = |output: &std::process::Output| -> Value {
        let stdout = String::from_utf8_lossy(&output.stdout);
        stdout
            .lines()
            .find(|l| l.contains("backfill done"))
            .map(|l| serde_json::from_str(l).unwrap())
            .unwrap_or_else(|| panic!("no report: {stdout}"))
    };
    let done = backfill_command(&env).output().unwrap();
    assert!(done.status.success(), "{done:?}");
    let counts = report(&done);
    assert_eq!(
        (
            &counts["updated"],
            &counts["skipped"],
            &counts["unreadable"]
        ),
        (&json!(0), &json!(0), &json!(0))
    );

    // An item whose JSON cannot be read: named on standard error, and the exit says so.
    runtime.block_on(async {
        support::moto::sdk_client()
            .put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S("BOOKING#damaged".to_owned()))
            .item("sk", AttributeValue::S("BOOKING".to_owned()))
            .item("booking", AttributeValue::S("{".to_owned()))
            .send()
            .await
            .unwrap();
    });
    let damaged = backfill_command(&env).output().unwrap();
    assert!(!damaged.status.success());
    let stderr = String::from_utf8_lossy(&damaged.stderr);
    assert!(
        stderr.contains("its JSON cannot be read: BOOKING#damaged / BOOKING: "),
        "{stderr}"
    );
    assert_eq!(report(&damaged)["unreadable"], json!(1));
}

#[test]
fn the_binary_reads_dynamodb_settings_from_the_standard_environment() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let table = runtime.block_on(support::moto::fresh_table());
    let server = Server::start(&dynamo_env(&table, support::moto::endpoint()));
    let client = reqwest::blocking::Client::new();
    assert_eq!(
        client.get(server.url("/ready")).send().unwrap().status(),
        200
    );
    let created = client
        .post(server.url("/api/v1/bookings"))
        .json(&json!({"user_name": "Ada", "from_date": "2026-03-02", "to_date": "2026-03-03"}))
        .send()
        .unwrap();
    assert_eq!(created.status(), 201);
    let page: Value = client
        .get(server.url("/api/v1/bookings?month=2026-03"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}
