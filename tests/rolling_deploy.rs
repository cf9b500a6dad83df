//! Zero-downtime rolling deploy behind a load balancer, and what a crashed instance costs.
//!
//! haproxy stands in for the ALB (health check on `/health`, no retries) in front of three
//! instances of the real binary sharing one DynamoDB table (moto), the production shape. Under
//! continuous load, every instance is replaced one by one the way ECS does it: drain it in the
//! load balancer, wait for its in-flight requests, SIGTERM it, start the new one, wait until it
//! is healthy, put it in rotation. Not one request may fail or answer other than 2xx. Then one
//! instance is SIGKILLed: failures must stay within the time the health check needs to mark it
//! down, only requests sent to it may fail, and every request after that must succeed. Every
//! booking answered with 201 must be stored.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::json;
use support::haproxy::{CHECK_INTERVAL, Haproxy, REQUEST_ID_HEADER};
use support::moto;
use support::process::{Server, dynamo_env};

const INSTANCES: usize = 3;
const CLIENTS: usize = 8;
/// The month the load lists, seeded before the load starts.
const MONTH: &str = "2031-04";
/// The month the load books in (another partition than the one it lists: see [`Load`]).
const BOOKING_MONTH: &str = "2031-05";

/// One request of the load and how it ended.
struct Outcome {
    started: Instant,
    ended: Instant,
    /// None when it succeeded; otherwise the status or the transport error.
    failure: Option<String>,
    /// Names the request in haproxy's log (see [`Haproxy::servers`]).
    id: String,
    /// The person booked, when this was a successful create.
    booked: Option<String>,
}

/// Concurrent clients through the load balancer until stopped: `GET /health` and the month's
/// bookings; the first client also books, every other request, a new person each time.
///
/// Only one client books, and in another month than the one listed: the emulator serves one
/// request at a time (see `tests/support/moto_serialized.py`), so writes are kept few to keep
/// its queue short; this test is about the load balancer, not about the store.
struct Load {
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    clients: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(base: &str, run: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let clients = (0..CLIENTS)
            .map(|client_no| {
                let (stop, outcomes) = (Arc::clone(&stop), Arc::clone(&outcomes));
                let (base, run) = (base.to_owned(), run.to_owned());
                std::thread::spawn(move || {
                    let client = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .expect("client");
                    let mut n = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let started = Instant::now();
                        let books = client_no == 0 && n.is_multiple_of(2);
                        let person = format!("rolling {run} {client_no} {n}");
                        let id = format!("{client_no}-{n}");
                        let (request, expected) = match (books, n % 3) {
                            (true, _) => (
                                client.post(format!("{base}/api/v1/bookings")).json(&json!({
                                    "user_name": person,
                                    "from_date": format!("{BOOKING_MONTH}-10"),
                                    "to_date": format!("{BOOKING_MONTH}-11"),
                                })),
                                201,
                            ),
                            (false, 0) => (client.get(format!("{base}/health")), 200),
                            _ => (
                                client
                                    .get(format!("{base}/api/v1/bookings?month={MONTH}&limit=20")),
                                200,
                            ),
                        };
                        let sent = request.header(REQUEST_ID_HEADER, &id).send();
                        let failure = match sent {
                            Ok(response) if response.status().as_u16() == expected => {
                                // Read the body: a response cut short is a failure too.
                                response.bytes().err().map(|e| format!("body: {e}"))
                            }
                            Ok(response) => Some(format!("status {}", response.status())),
                            Err(e) => Some(format!("error: {e}")),
                        };
                        let booked = (books && failure.is_none()).then_some(person);
                        outcomes.lock().unwrap().push(Outcome {
                            started,
                            ended: Instant::now(),
                            failure,
                            id,
                            booked,
                        });
                    }
                })
            })
            .collect();
        Self {
            stop,
            outcomes,
            clients,
        }
    }

    /// Requests that ended so far.
    fn count(&self) -> usize {
        self.outcomes.lock().unwrap().len()
    }

    fn finish(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients {
            client.join().expect("client thread");
        }
        Arc::try_unwrap(self.outcomes)
            .ok()
            .expect("clients finished")
            .into_inner()
            .unwrap()
    }
}

/// Waits until the load has completed `more` requests beyond now. The bound only keeps a stuck
/// load from hanging the test: it is far above the time the requests take.
fn wait_requests(load: &Load, more: usize) {
    let limit = Duration::from_secs(60);
    let target = load.count() + more;
    let deadline = Instant::now() + limit;
    while load.count() < target {
        assert!(
            Instant::now() < deadline,
            "the load made fewer than {more} requests in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The server haproxy sent `outcome` to.
fn server<'a>(servers: &'a HashMap<String, String>, outcome: &Outcome) -> &'a str {
    servers
        .get(&outcome.id)
        .map_or("not in the log", String::as_str)
}

/// The first failures, when they started and ended after `origin`, and where they were sent.
fn describe(failures: &[&Outcome], origin: Instant, servers: &HashMap<String, String>) -> String {
    failures
        .iter()
        .take(10)
        .map(|o| {
            format!(
                "  {} {:?}..{:?} on {}: {}",
                o.id,
                o.started - origin,
                o.ended - origin,
                server(servers, o),
                o.failure.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn rolling_replacement_drops_nothing_and_a_killed_instance_costs_only_until_marked_down() {
    let began = Instant::now();
    // Arrange: one shared table, three instances, the load balancer.
    // A moto server of its own: this load on the shared one makes it interleave the other
    // tests' transactions (moto does not isolate them).
    let endpoint = moto::start_server();
    let table = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(moto::fresh_table_on(&moto::sdk_client_for(&endpoint)));
    let mut env = dynamo_env(&table, &endpoint);
    env.extend([("LOG_LEVEL", "warn"), ("SHUTDOWN_TIMEOUT_SECS", "10")]);
    let mut instances: Vec<Server> = (0..INSTANCES).map(|_| Server::start(&env)).collect();
    let mut retired: Vec<Server> = Vec::new();
    let ports: Vec<u16> = instances.iter().map(|s| s.port).collect();
    let lb = Haproxy::start(&ports);
    let seeding = reqwest::blocking::Client::new();
    for n in 1..=10 {
        let response = seeding
            .post(lb.url("/api/v1/bookings"))
            .json(&json!({
                "user_name": format!("Person {n}"),
                "from_date": format!("{MONTH}-{n:02}"),
                "to_date": format!("{MONTH}-{:02}", n + 2),
            }))
            .send()
            .expect("seed booking");
        assert_eq!(response.status(), 201, "seed booking {n}");
    }
    let run = ulid::Ulid::new().to_string();
    let load = Load::start(&lb.url(""), &run);
    wait_requests(&load, 50);

    // Act 1: replace every instance, one by one, as an ECS deployment does.
    let rolling = Instant::now();
    for slot in 1..=INSTANCES {
        let old = &mut instances[slot - 1];
        lb.set_state(slot, "drain");
        lb.wait_idle(slot, Duration::from_secs(10));
        lb.set_state(slot, "maint");
        old.terminate();
        let status = old.wait(Duration::from_secs(15));
        assert_eq!(status.code(), Some(0), "instance {slot} exits 0 on SIGTERM");
        let new = Server::start(&env);
        lb.set_port(slot, new.port);
        lb.set_state(slot, "ready");
        lb.wait_status(slot, "UP", Duration::from_secs(10));
        retired.push(std::mem::replace(&mut instances[slot - 1], new));
        wait_requests(&load, 30);
    }
    let rolled = Instant::now();
    wait_requests(&load, 50);

    // Act 2: an instance crashes.
    let killed_at = Instant::now();
    instances[0].kill();
    let down_at = lb.wait_status(1, "DOWN", Duration::from_secs(10));
    // Requests that haproxy had already sent to the dead server may still end after the
    // status flips: allow one check interval for them.
    let settled = down_at + CHECK_INTERVAL;
    while Instant::now() < settled {
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_requests(&load, 250);
    let outcomes = load.finish();
    let servers = lb.servers();

    // Assert
    let deploy: Vec<&Outcome> = outcomes.iter().filter(|o| o.ended <= killed_at).collect();
    let deploy_failures: Vec<&Outcome> = deploy
        .iter()
        .copied()
        .filter(|o| o.failure.is_some())
        .collect();
    let crash: Vec<&Outcome> = outcomes.iter().filter(|o| o.ended > killed_at).collect();
    let crash_failures: Vec<&Outcome> = crash
        .iter()
        .copied()
        .filter(|o| o.failure.is_some())
        .collect();
    let after_down: Vec<&Outcome> = crash
        .iter()
        .copied()
        .filter(|o| o.started >= settled)
        .collect();
    eprintln!(
        "rolling deploy: {} requests, {} failed, replacement took {:?}; crash: {} failed of {} \
         between the kill and the health check marking the instance down ({:?}), then {} requests",
        deploy.len(),
        deploy_failures.len(),
        rolled - rolling,
        crash_failures.len(),
        crash.len() - after_down.len(),
        down_at - killed_at,
        after_down.len(),
    );
    let logs = || {
        retired
            .iter()
            .chain(&instances)
            .flat_map(Server::lines)
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        deploy_failures.is_empty(),
        "requests failed during the rolling deploy:\n{}\ninstances' warnings and errors:\n{}",
        describe(&deploy_failures, began, &servers),
        logs()
    );
    let late: Vec<&Outcome> = crash_failures
        .iter()
        .copied()
        .filter(|o| o.started >= settled)
        .collect();
    assert!(
        late.is_empty(),
        "requests failed after haproxy marked the killed instance down:\n{}",
        describe(&late, began, &servers)
    );
    let elsewhere: Vec<&Outcome> = crash_failures
        .iter()
        .copied()
        // Some requests cut short by the kill fail without a line in haproxy's log: only
        // those with a logged server can be checked.
        .filter(|o| servers.get(&o.id).is_some_and(|s| s != "s1"))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "requests sent to other instances than the killed one (s1) failed:\n{}",
        describe(&elsewhere, began, &servers)
    );

    // Every booking answered with 201, before, during and after both acts, is stored.
    let booked: HashSet<&str> = outcomes
        .iter()
        .filter_map(|o| o.booked.as_deref())
        .collect();
    let stored = people_booked_in(&lb.url(""), BOOKING_MONTH);
    let lost: Vec<&&str> = booked.iter().filter(|p| !stored.contains(**p)).collect();
    assert!(
        !booked.is_empty() && lost.is_empty(),
        "{} bookings answered 201, of which these are not stored: {lost:?}",
        booked.len()
    );
}

/// Everyone with a booking in `month`, read page by page through the load balancer.
fn people_booked_in(base: &str, month: &str) -> HashSet<String> {
    let client = reqwest::blocking::Client::new();
    let mut people = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/bookings?month={month}&limit=200");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: serde_json::Value = client
            .get(&url)
            .send()
            .expect("listing")
            .json()
            .expect("page");
        for booking in page["items"].as_array().expect("items") {
            people.insert(booking["user_name"].as_str().expect("name").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return people,
        }
    }
}
