//! DynamoDB faults, injected by a proxy between the app and the emulator: transient faults are
//! retried within the deadline, persistent ones answer 503 problem+json with `Retry-After` in
//! bounded time, readiness follows the store, and no booking is lost or stored twice.

mod support;

use std::time::Duration;

use leave_calendar::config::Settings;
use leave_calendar::store::dynamo::DynamoStore;
use serde_json::{Value, json};
use support::fault_proxy::{Fault, FaultProxy};
use support::{TestApp, TestStore, assert_unavailable_page, moto, spawn_app_with};

/// Total time one store operation may take where a test waits for it to pass.
const SHORT_DEADLINE: Duration = Duration::from_millis(1500);

/// Total time one store operation may take where a test counts the attempts: long enough that
/// an attempt of the shared emulator, slow on a busy machine, never times out and is tried
/// again (each attempt gets half of it).
const COUNTING_DEADLINE: Duration = Duration::from_secs(20);

async fn app_behind_proxy() -> (TestApp, FaultProxy) {
    app_behind_proxy_within(COUNTING_DEADLINE).await
}

async fn app_behind_proxy_within(deadline: Duration) -> (TestApp, FaultProxy) {
    let mut settings = Settings::defaults();
    settings.store_timeout_ms = deadline.as_millis() as u64;
    app_behind_proxy_with(settings).await
}

/// An app on a fresh table behind a fault proxy, its DynamoDB client with `settings`' deadline.
async fn app_behind_proxy_with(settings: Settings) -> (TestApp, FaultProxy) {
    let proxy = FaultProxy::start(moto::endpoint()).await;
    let table = moto::fresh_table().await;
    let store = DynamoStore::new(
        moto::client_for(&proxy.url, settings.store_timeout()),
        table,
    );
    (spawn_app_with(TestStore::new(store), settings).await, proxy)
}

const LIST: &str = "/api/v1/bookings?month=2026-03";

#[tokio::test]
async fn transient_faults_are_retried_within_the_deadline() {
    let (app, proxy) = app_behind_proxy().await;
    for fault in [
        Fault::ServerError,
        Fault::Crash,
        Fault::THROTTLE,
        Fault::Reset,
    ] {
        for times in [1, 2] {
            proxy.reset_counts();
            proxy.set_for(Some("Query"), fault, Some(times));
            let response = app.get(LIST).await;
            assert_eq!(response.status(), 200, "{fault:?} x{times} is retried");
            assert_eq!(
                proxy.count("Query"),
                times + 1,
                "{fault:?} x{times}: one retry per fault"
            );
        }
    }
    // Credentials refused as expired: renewed, and the request tried again with them.
    proxy.reset_counts();
    proxy.set_for(
        Some("Query"),
        Fault::Refuse("ExpiredTokenException"),
        Some(1),
    );
    assert_eq!(app.get(LIST).await.status(), 200, "expired credentials");
    assert_eq!(proxy.count("Query"), 2, "expired credentials: one retry");
}

#[tokio::test]
async fn persistent_faults_answer_503_with_retry_after_in_bounded_time() {
    let (app, proxy) = app_behind_proxy_within(SHORT_DEADLINE).await;
    proxy.set(Fault::Latency(Duration::from_millis(200)));
    assert_eq!(
        app.get(LIST).await.status(),
        200,
        "latency within the deadline is fine"
    );
    for fault in [
        Fault::ServerError,
        Fault::Crash,
        Fault::THROTTLE,
        Fault::Reset,
        Fault::Latency(Duration::from_secs(5)),
        Fault::Outage,
        // Credentials refused as expired however often they are renewed.
        Fault::Refuse("ExpiredTokenException"),
    ] {
        proxy.reset_counts();
        proxy.set(fault);
        // A 503 at all shows the deadline ended the wait (the latency fault outlasts it); the
        // request counts below bound the retries.
        let response = app.get(LIST).await;
        assert_eq!(response.status(), 503, "{fault:?}");
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains("retry"),
            "{problem}"
        );
        assert!(
            proxy.count("Query") <= 3,
            "{fault:?}: retries are bounded ({} attempts)",
            proxy.count("Query")
        );
        proxy.clear();
    }
    // A create gets the same answer, its attempts bounded the same way.
    proxy.set(Fault::ServerError);
    let refused = app
        .post_json(
            "/api/v1/bookings",
            &json!({"user_name": "Ann", "from_date": "2026-03-02", "to_date": "2026-03-03"}),
        )
        .await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert!(proxy.count("TransactWriteItems") <= 3);
}

/// A transaction that lost a race with another on the same items is tried again, a few times;
/// one cancelled because an item was throttled is retried with backoff like any throttled call
/// (the AWS SDK does not). Past the attempts the client is told to come back later. Neither is
/// an error of the app.
#[tokio::test]
async fn cancelled_transactions_are_retried_or_answered_503() {
    let (app, proxy) = app_behind_proxy().await;
    let create = |name: &str, first: &str| {
        let body = json!({"user_name": name, "from_date": first, "to_date": first});
        let app = &app;
        async move { app.post_json("/api/v1/bookings", &body).await }
    };
    let cancel =
        |reason, times| proxy.set_for(Some("TransactWriteItems"), Fault::Cancel(reason), times);

    cancel("TransactionConflict", Some(2));
    assert_eq!(
        create("Ann", "2026-03-02").await.status(),
        201,
        "won on the third try"
    );
    assert_eq!(proxy.count("TransactWriteItems"), 3);

    proxy.reset_counts();
    cancel("ThrottlingError", Some(1));
    assert_eq!(
        create("Cyd", "2026-03-02").await.status(),
        201,
        "throttled once, then booked"
    );
    assert_eq!(proxy.count("TransactWriteItems"), 2);

    for (reason, attempts) in [
        ("TransactionConflict", 4),
        ("ThrottlingError", 3),
        ("ProvisionedThroughputExceeded", 3),
    ] {
        proxy.reset_counts();
        cancel(reason, None);
        let refused = create("Bob", "2026-03-03").await;
        assert_eq!(refused.status(), 503, "{reason}");
        assert_eq!(refused.headers()["retry-after"], "1", "{reason}");
        assert_eq!(proxy.count("TransactWriteItems"), attempts, "{reason}");
        proxy.clear();
    }
    let page: Value = app.get(LIST).await.json().await.unwrap();
    let names: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["user_name"])
        .collect();
    assert_eq!(
        names,
        ["Ann", "Cyd"],
        "the cancelled creates stored nothing"
    );
}

#[tokio::test]
async fn readiness_follows_the_store_without_a_restart() {
    let (app, proxy) = app_behind_proxy().await;
    assert_eq!(app.get("/ready").await.status(), 200);
    proxy.set(Fault::Outage);
    assert_eq!(app.get("/ready").await.status(), 503);
    assert_eq!(
        app.get("/health").await.status(),
        200,
        "liveness does not depend on the store"
    );
    proxy.clear();
    assert_eq!(
        app.get("/ready").await.status(),
        200,
        "ready again once the store is back"
    );
    assert_eq!(app.get(LIST).await.status(), 200);
}

/// The store commits a create but its answer is lost: the client's retry stores nothing more.
#[tokio::test]
async fn a_lost_create_response_stores_one_booking() {
    let (app, proxy) = app_behind_proxy().await;
    let body = json!({"user_name": "Ann", "from_date": "2026-03-02", "to_date": "2026-03-03"});

    // Lost once: the client's own retry finds the booking already written.
    proxy.set_for(Some("TransactWriteItems"), Fault::LoseResponse, Some(1));
    let created = app.post_json("/api/v1/bookings", &body).await;
    assert_eq!(created.status(), 201);
    assert_eq!(
        proxy.count("TransactWriteItems"),
        2,
        "written, answer lost, retried"
    );

    // Lost on every attempt: the client gets 503, although the booking was stored; it retries
    // with the same Idempotency-Key and gets that booking back.
    let key = "3d6f1c2a-8b7e-4f00-a1b2-c3d4e5f60718";
    let other = json!({"user_name": "Bea", "from_date": "2026-03-09", "to_date": "2026-03-10"});
    proxy.set_for(Some("TransactWriteItems"), Fault::LoseResponse, None);
    let first = app
        .post_json_with_key("/api/v1/bookings", key, &other)
        .await;
    assert_eq!(first.status(), 503);
    proxy.clear();
    let retry = app
        .post_json_with_key("/api/v1/bookings", key, &other)
        .await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");

    let page: Value = app.get(LIST).await.json().await.unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["user_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ann", "Bea"], "each booking stored exactly once");
}

/// A form post whose create the store did not confirm (here it saved the booking, and its
/// answer was lost) is a 503 page holding the same form, key and all: sent again once the store
/// answers, it books once.
#[tokio::test]
async fn a_form_the_store_did_not_confirm_is_offered_again_and_books_once() {
    let (app, proxy) = app_behind_proxy().await;
    let sent = [
        ("user_name", r#"Ann "Nan" O'Neil & <co>"#),
        ("from_date", "2026-03-02"),
        ("to_date", "2026-03-03"),
        ("idempotency_key", "01KB3Z5V0Q8N4W2XJ7R6T9YH1C"),
    ];
    proxy.set_for(Some("TransactWriteItems"), Fault::LoseResponse, None);

    let answer = app.post_form("/", &sent).await;

    assert_eq!(answer.headers()["retry-after"], "1");
    assert_eq!(answer.headers()["cache-control"], "no-store");
    assert_eq!(answer.status(), 503);
    let page = answer.text().await.unwrap();
    assert!(page.contains("may not have been saved"), "{page}");
    assert!(page.contains("Mon 2 Mar 2026"), "{page}");
    let resent: Vec<(&str, String)> = sent
        .iter()
        .map(|(name, _)| (*name, support::field_value(&page, name)))
        .collect();
    for ((name, value), (_, again)) in sent.iter().zip(&resent) {
        assert_eq!(value, again, "{name} is sent again as it was");
    }

    proxy.clear();
    let again = app.post_form("/", &resent).await;
    assert_eq!(again.status(), 303, "booked, or found booked");
    let listed: Value = app.get(LIST).await.json().await.unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "stored once: {listed}");
    assert_eq!(items[0]["user_name"], sent[0].1);
}

/// A store slower than the request's deadline still gets the form offered again, not a plain
/// 503 page: the page gives up on the store before the deadline, with time left to render.
#[tokio::test]
async fn a_form_the_store_is_too_slow_for_is_offered_again() {
    let mut settings = Settings::defaults();
    settings.store_timeout_ms = 20_000;
    settings.request_timeout_secs = 2;
    let (app, proxy) = app_behind_proxy_with(settings).await;
    let sent = [
        ("user_name", "Ann"),
        ("from_date", "2026-03-02"),
        ("to_date", "2026-03-03"),
        ("idempotency_key", "01KB3Z5V0Q8N4W2XJ7R6T9YH1D"),
    ];
    proxy.set_for(Some("TransactWriteItems"), Fault::Hold, None);

    let answer = app.post_form("/", &sent).await;

    assert_eq!(answer.status(), 503);
    let page = answer.text().await.unwrap();
    assert!(page.contains("may not have been saved"), "{page}");
    assert_eq!(
        support::field_value(&page, "idempotency_key"),
        sent[3].1,
        "the same key"
    );
    proxy.clear();
    let again = app.post_form("/", &sent).await;
    assert_eq!(again.status(), 303, "booked, or found booked");
    let listed: Value = app.get(LIST).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
}

/// Two deletes of one booking at once, the second with other items under the same client token
/// (a name whose key changed when keys began to fold case): DynamoDB refuses the second for
/// its reused token. The booking is gone, so that delete answers 404 like any delete of a
/// deleted booking; refused so while the booking is still there, it is a bug: 500.
#[tokio::test]
async fn a_delete_whose_token_another_delete_used_answers_404() {
    let (app, proxy) = app_behind_proxy().await;
    let location = |b: &Value| format!("/api/v1/bookings/{}", b["id"].as_str().unwrap());
    let gone = location(&app.book("Ann", "2026-03-02", "2026-03-03").await);
    let kept = location(&app.book("Bob", "2026-03-02", "2026-03-03").await);
    const REUSED: &str = "IdempotentParameterMismatchException";

    proxy.set_for(
        Some("TransactWriteItems"),
        Fault::ForwardThenRefuse(REUSED),
        Some(1),
    );
    assert_eq!(app.delete(&gone).await.status(), 404);
    assert_eq!(app.get(&gone).await.status(), 404);

    proxy.set_for(Some("TransactWriteItems"), Fault::Refuse(REUSED), Some(1));
    assert_eq!(app.delete(&kept).await.status(), 500);
    assert_eq!(app.get(&kept).await.status(), 200);
}

/// One DynamoDB request per create and one Query per month page, counted at the proxy.
#[tokio::test]
async fn requests_per_operation_are_minimal() {
    let (app, proxy) = app_behind_proxy().await;
    proxy.keep_bodies();
    let created = app.book("Ann", "2026-03-30", "2026-04-02").await;
    let location = format!("/api/v1/bookings/{}", created["id"].as_str().unwrap());
    assert_eq!(
        (proxy.count("TransactWriteItems"), proxy.total()),
        (1, 1),
        "a create is one request"
    );
    proxy.reset_counts();
    assert_eq!(app.get("/?month=2026-04").await.status(), 200);
    assert_eq!(
        (proxy.count("Query"), proxy.total()),
        (1, 1),
        "a month page is one Query"
    );
    // A listing reads one partition per month it touches, or the person's one.
    for (listing, queries) in [
        ("month=2026-04", 1),
        ("month=2026-04&person=ann", 1),
        ("from=2026-03-31&to=2026-04-01", 2),
    ] {
        proxy.reset_counts();
        let response = app.get(&format!("/api/v1/bookings?{listing}")).await;
        assert_eq!(response.status(), 200, "{listing}");
        assert_eq!(
            (proxy.count("Query"), proxy.total()),
            (queries, queries),
            "{listing}"
        );
    }
    // Reads are strongly consistent (read-your-writes); only the readiness probe need not be.
    assert_eq!(app.get(&location).await.status(), 200);
    assert_eq!(app.get("/ready").await.status(), 200);
    let reads = [proxy.bodies("Query"), proxy.bodies("GetItem")].concat();
    assert!(reads.len() >= 6, "{reads:?}");
    for read in reads {
        let probe = read["Key"]["pk"]["S"] == "PING";
        assert!(probe || read["ConsistentRead"] == true, "{read}");
    }
}

/// A range that starts within a month skips the month's bookings that ended before it with a
/// filter, which DynamoDB applies after `Limit`: the reads must not grow with those bookings.
#[tokio::test]
async fn bookings_that_ended_before_a_range_cost_no_extra_requests() {
    let (app, proxy) = app_behind_proxy().await;
    for name in ["Ann", "Bea", "Cem", "Dov", "Eli", "Fay"] {
        app.book(name, "2026-03-02", "2026-03-03").await;
    }
    app.book("Gus", "2026-03-31", "2026-04-01").await;
    proxy.reset_counts();

    let response = app
        .get("/api/v1/bookings?from=2026-03-31&to=2026-03-31&limit=1")
        .await;

    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["items"][0]["user_name"], "Gus");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        (proxy.count("Query"), proxy.total()),
        (1, 1),
        "one Query, however many ended before"
    );
}

/// A page that outlasts `REQUEST_TIMEOUT_SECS` (here before the store's own deadline) is the
/// HTML error page, with 503 and `Retry-After`, not problem+json.
#[tokio::test]
async fn a_page_past_the_request_deadline_is_an_html_503() {
    let mut settings = Settings::defaults();
    settings.store_timeout_ms = 10_000;
    settings.request_timeout_secs = 1;
    let (app, proxy) = app_behind_proxy_with(settings).await;
    proxy.set(Fault::Latency(Duration::from_secs(3)));

    let page = app.get_page("/?month=2026-03").await;
    assert_eq!(page.headers()["retry-after"], "1");
    assert_unavailable_page(page, "The request took too long").await;
}
