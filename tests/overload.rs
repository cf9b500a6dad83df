//! Overload: past the concurrency limit the app refuses at once with 503 instead of queueing
//! without bound, keeps answering its health check, stays within bounded memory, and serves
//! normally again when the load drops.

mod support;

use std::time::Duration;

use leave_calendar::config::Settings;
use leave_calendar::store::dynamo::DynamoStore;
use support::fault_proxy::{Fault, FaultProxy};
use support::process::{Server, dynamo_env};
use support::{TestStore, assert_unavailable_page, moto, spawn_app_with};

const LIST: &str = "/api/v1/bookings?month=2026-03";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn excess_requests_are_shed_at_once_and_service_recovers() {
    let proxy = FaultProxy::start(moto::endpoint()).await;
    let store = DynamoStore::new(
        moto::client_for(&proxy.url, Duration::from_secs(10)),
        moto::fresh_table().await,
    );
    let mut settings = Settings::defaults();
    settings.max_concurrent_requests = 4;
    let app = spawn_app_with(TestStore::new(store), settings).await;

    // Every store read is held until released, so admitted requests keep their slot.
    proxy.set(Fault::Hold);
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..40 {
        let (client, url, done) = (app.client.clone(), app.url(LIST), done_tx.clone());
        tokio::spawn(async move {
            let response = client.get(url).send().await.unwrap();
            let retry_after = response.headers().get("retry-after").is_some();
            done.send((response.status().as_u16(), retry_after))
                .unwrap();
        });
    }
    drop(done_tx);

    // Past the limit, requests are refused while the admitted ones wait: none waits for a slot.
    // The admitted requests end only when released: one queued for a slot would hit the bound.
    let mut shed = Vec::new();
    for _ in 0..36 {
        let answer = tokio::time::timeout(Duration::from_secs(30), done_rx.recv()).await;
        shed.push(answer.expect("refused at once, not queued").unwrap());
    }
    assert!(
        shed.iter().all(|&answer| answer == (503, true)),
        "only 503s with Retry-After while the limit's worth are held: {shed:?}"
    );
    assert_eq!(
        app.get("/health").await.status(),
        200,
        "liveness is exempt from shedding"
    );
    // Pages are shed too, as a page.
    let page = app.get_page("/?month=2026-03").await;
    assert_unavailable_page(page, "The server is at capacity").await;

    proxy.clear();
    let mut admitted = Vec::new();
    while let Some(answer) = done_rx.recv().await {
        admitted.push(answer.0);
    }
    assert_eq!(admitted, [200; 4], "the limit's worth were served");
    assert_eq!(proxy.count("Query"), 4, "and only they reached the store");

    proxy.clear();
    for _ in 0..20 {
        assert_eq!(
            app.get(LIST).await.status(),
            200,
            "serves normally once the load drops"
        );
    }
}

/// Sends `per_connection` requests one after another on each of 200 connections at once, and
/// returns the statuses (0 for a failed request).
async fn burst(server: &Server, per_connection: usize) -> Vec<u16> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let workers: Vec<_> = (0..200)
        .map(|_| {
            let (client, url) = (client.clone(), server.url(LIST));
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..per_connection {
                    let answer = client.get(&url).send().await;
                    statuses.push(answer.map(|r| r.status().as_u16()).unwrap_or(0));
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for worker in workers {
        statuses.extend(worker.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "only 200 and 503"
    );
    assert!(
        statuses.contains(&503) && statuses.contains(&200),
        "some served, some shed"
    );
    statuses
}

/// Peak memory of the real binary under 200 concurrent connections stays bounded, and does not
/// grow with the number of requests shed: three times as many leave the same peak.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stays_bounded_under_overload() {
    let proxy = FaultProxy::start(moto::endpoint()).await;
    let table = moto::fresh_table().await;
    let mut env = dynamo_env(&table, &proxy.url);
    env.extend([("MAX_CONCURRENT_REQUESTS", "8"), ("LOG_LEVEL", "warn")]);
    let server = Server::start(&env);
    proxy.set(Fault::Latency(Duration::from_millis(300)));

    burst(&server, 10).await;
    let first_peak_kib = server.peak_rss_kib();
    assert!(
        first_peak_kib < 96 * 1024,
        "peak RSS {first_peak_kib} KiB under 2000 requests from 200 connections"
    );
    burst(&server, 30).await;
    let peak_kib = server.peak_rss_kib();
    assert!(
        peak_kib <= first_peak_kib + first_peak_kib / 4,
        "peak RSS grew from {first_peak_kib} to {peak_kib} KiB with 6000 more requests"
    );

    proxy.clear();
    assert_eq!(
        reqwest::get(server.url("/ready")).await.unwrap().status(),
        200
    );
    assert_eq!(reqwest::get(server.url(LIST)).await.unwrap().status(), 200);
}
