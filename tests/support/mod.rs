//! Test harness shared by the integration tests: the DynamoDB emulator (moto's server on
//! 127.0.0.1), stores with a fresh table or data directory each, a real app on port 0, and
//! haproxy standing in for the load balancer.
#![allow(dead_code)]

pub mod browser;
pub mod fault_proxy;
pub mod haproxy;
pub mod moto;
pub mod process;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use leave_calendar::config::Settings;
use leave_calendar::domain::{Booking, BookingId, IdempotencyKey};
use leave_calendar::startup::Application;
use leave_calendar::store::embedded::EmbeddedStore;
use leave_calendar::store::{self, Created, LeaveStore, ListQuery, Page};

/// A store together with whatever must outlive it (its data directory).
pub struct TestStore {
    pub store: Arc<dyn LeaveStore>,
    _data_dir: Option<tempfile::TempDir>,
}

impl TestStore {
    pub fn new(store: impl LeaveStore) -> Self {
        Self {
            store: Arc::new(store),
            _data_dir: None,
        }
    }
}

pub fn embedded_store() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open embedded store");
    TestStore {
        store: Arc::new(store),
        _data_dir: Some(dir),
    }
}

/// An embedded store that, while its switch is on, saves each booking created and then fails
/// as a store whose answer was lost does (`Unavailable`): what the pages do about a create the
/// store did not confirm, in a browser, without an emulator.
pub fn losing_creates() -> (TestStore, Arc<AtomicBool>) {
    let embedded = embedded_store();
    let lose = Arc::new(AtomicBool::new(false));
    let store = LosingCreates {
        inner: embedded.store,
        lose: Arc::clone(&lose),
    };
    let test_store = TestStore {
        store: Arc::new(store),
        _data_dir: embedded._data_dir,
    };
    (test_store, lose)
}

struct LosingCreates {
    inner: Arc<dyn LeaveStore>,
    lose: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl LeaveStore for LosingCreates {
    async fn create(
        &self,
        booking: &Booking,
        key: Option<&IdempotencyKey>,
    ) -> store::Result<Created> {
        let created = self.inner.create(booking, key).await?;
        if self.lose.load(Ordering::SeqCst) {
            return Err(store::Error::Unavailable("the answer was lost".to_owned()));
        }
        Ok(created)
    }

    async fn get(&self, id: BookingId) -> store::Result<Booking> {
        self.inner.get(id).await
    }

    async fn delete(&self, id: BookingId) -> store::Result<()> {
        self.inner.delete(id).await
    }

    async fn list(&self, query: &ListQuery) -> store::Result<Page> {
        self.inner.list(query).await
    }

    async fn ping(&self) -> store::Result<()> {
        self.inner.ping().await
    }

    async fn close(&self, within: std::time::Duration) -> store::Result<()> {
        self.inner.close(within).await
    }
}

pub async fn dynamo_store() -> TestStore {
    TestStore::new(moto::fresh_store().await)
}

/// A running app on 127.0.0.1 and a client for it.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    _store: TestStore,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// GET `path` as a browser asks for a page (`Accept: text/html`).
    pub async fn get_page(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// A create with an `Idempotency-Key` header.
    pub async fn post_json_with_key(
        &self,
        path: &str,
        key: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let request = self
            .client
            .post(self.url(path))
            .header("idempotency-key", key)
            .json(body);
        request.send().await.expect("request sent")
    }

    pub async fn post_form<F: serde::Serialize + ?Sized>(
        &self,
        path: &str,
        fields: &F,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("request sent")
    }

    /// Books through the API and returns the new booking's id.
    pub async fn book_id(&self, name: &str, from: &str, to: &str) -> String {
        self.book(name, from, to).await["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// Posts the booking form of the month page, as a browser without JavaScript does.
    pub async fn post_booking_form(&self, name: &str, from: &str, to: &str) -> reqwest::Response {
        self.post_form(
            "/",
            &[("user_name", name), ("from_date", from), ("to_date", to)],
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// The bookings the API lists for `query` (`month=2026-03`), on one page.
    pub async fn listed(&self, query: &str) -> Vec<serde_json::Value> {
        let response = self.get(&format!("/api/v1/bookings?{query}")).await;
        assert_eq!(response.status(), 200, "listing {query}");
        let mut page: serde_json::Value = response.json().await.expect("listing JSON");
        match page["items"].take() {
            serde_json::Value::Array(items) => items,
            other => panic!("listing {query}: items are {other}"),
        }
    }

    /// Books through the API and returns the created booking's JSON.
    pub async fn book(&self, name: &str, from: &str, to: &str) -> serde_json::Value {
        let response = self
            .post_json(
                "/api/v1/bookings",
                &serde_json::json!({"user_name": name, "from_date": from, "to_date": to}),
            )
            .await;
        assert_eq!(response.status(), 201, "booking {name} {from}..{to}");
        response.json().await.expect("booking JSON")
    }
}

/// An app on the embedded store.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(embedded_store(), Settings::defaults()).await
}

/// An app on moto's DynamoDB.
pub async fn spawn_dynamo_app() -> TestApp {
    spawn_app_with(dynamo_store().await, Settings::defaults()).await
}

pub async fn spawn_app_with(store: TestStore, mut settings: Settings) -> TestApp {
    settings.port = 0;
    let app = Application::with_store(&settings, Arc::clone(&store.store))
        .await
        .expect("app builds");
    let address = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        address,
        client,
        _store: store,
    }
}

/// The value of the form field `name` in `page`, unescaped as a browser reads it.
pub fn field_value(page: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name}: {page}"))
        + marker.len();
    let end = page[start..].find('"').unwrap();
    // The five characters askama escapes, which it writes as decimal references (`&#34;`);
    // `&#38;` last, so that no other reference comes of it.
    let mut value = page[start..start + end].to_owned();
    for c in ['<', '>', '"', '\'', '&'] {
        value = value.replace(&format!("&#{};", u32::from(c)), &c.to_string());
    }
    value
}

/// Asserts that `response` is the error page a browser gets when the service is unavailable:
/// 503 with `Retry-After`, HTML, saying `why`.
pub async fn assert_unavailable_page(response: reqwest::Response, why: &str) {
    assert!(response.headers().get("retry-after").is_some());
    assert_error_page(response, 503, why).await;
}

/// Asserts an HTML page with `status` that says `needle`.
pub async fn assert_error_page(response: reqwest::Response, status: u16, needle: &str) {
    let what = format!("{} {}", response.status(), response.url());
    assert_eq!(response.status(), status, "{what}");
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/html"), "{what}: {kind}");
    let page = response.text().await.unwrap();
    assert!(
        page.contains(needle),
        "{what}: the page lacks '{needle}': {page}"
    );
}
