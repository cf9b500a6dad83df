//! moto's AWS emulator for the DynamoDB tests.
//!
//! When `MOTO_ENDPOINT` is set (the test script starts one server for the whole run) it is
//! used; otherwise each test process starts its own server on a free loopback port, through
//! `moto_serialized.py` (see there why).
//! Every store gets a table of its own, created from `schema/dynamodb-table.json`, the schema
//! Terraform creates, so the tests exercise the production key design.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use leave_calendar::dynamodb;
use leave_calendar::store::dynamo::{DynamoStore, SCHEMA_JSON};

pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| start_server()))
}

/// Starts a server of its own on a free port and returns its endpoint; for a test whose load
/// must not slow down the shared one.
///
/// The server dies with the test process: it is started under a shell that kills it as soon as
/// its standard input (a pipe held by this process) closes.
pub fn start_server() -> String {
    let port = super::process::free_port();
    let script = format!(
        "'{}' '{}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; echo started; read _; kill $pid",
        python().display(),
        SERIALIZED_SERVER
    );
    let mut child: Child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start moto's server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("moto starts");
    // Keep the pipe open for the life of the process.
    std::mem::forget(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto's server did not start on port {port}: is moto installed (scripts/test installs it into .venv)?"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    format!("http://127.0.0.1:{port}")
}

/// moto's server wrapped so that it applies transactions atomically, as DynamoDB does.
const SERIALIZED_SERVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/support/moto_serialized.py"
);

/// The Python that has moto: `MOTO_PYTHON`, else the project's `.venv`, else `python3`.
fn python() -> PathBuf {
    if let Ok(path) = std::env::var("MOTO_PYTHON") {
        return path.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    "python3".into()
}

/// The app's client for `endpoint`, with production's retry settings and `deadline`.
pub fn client_for(endpoint: &str, deadline: Duration) -> dynamodb::Client {
    dynamodb::Client::new(endpoint, "eu-west-1", credentials(), deadline)
        .expect("a client for the emulator")
}

fn credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new("test", "test", None, None, "tests"))
}

/// The AWS SDK's client for `endpoint`, to create tables.
pub fn sdk_client_for(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials())
        .build();
    Client::from_conf(config)
}

pub fn sdk_client() -> Client {
    sdk_client_for(endpoint())
}

/// A new, empty table with the production schema, on the shared emulator.
pub async fn fresh_table() -> String {
    fresh_table_on(&sdk_client()).await
}

/// A new, empty table with the production schema, on the emulator `client` talks to.
pub async fn fresh_table_on(client: &Client) -> String {
    let name = format!("leave-{}", ulid::Ulid::new().to_string().to_lowercase());
    create_table(client, &name).await;
    name
}

pub async fn fresh_store() -> DynamoStore {
    DynamoStore::new(
        client_for(endpoint(), Duration::from_secs(10)),
        fresh_table().await,
    )
}

/// Creates `name` from the schema file: keys and global secondary indexes.
pub async fn create_table(client: &Client, name: &str) {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA_JSON).expect("schema JSON");
    let attribute = |key: &serde_json::Value| {
        let kind = match key["type"].as_str() {
            Some("S") => ScalarAttributeType::S,
            Some("N") => ScalarAttributeType::N,
            Some("B") => ScalarAttributeType::B,
            other => panic!("unknown key type {other:?}"),
        };
        AttributeDefinition::builder()
            .attribute_name(key["name"].as_str().expect("key name"))
            .attribute_type(kind)
            .build()
            .expect("attribute")
    };
    let element = |key: &serde_json::Value, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(key["name"].as_str().expect("key name"))
            .key_type(kind)
            .build()
            .expect("key")
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(&schema["hash_key"]))
        .key_schema(element(&schema["hash_key"], KeyType::Hash));
    if !schema["range_key"].is_null() {
        request = request
            .attribute_definitions(attribute(&schema["range_key"]))
            .key_schema(element(&schema["range_key"], KeyType::Range));
    }
    assert_eq!(
        schema["global_secondary_indexes"].as_array().map(Vec::len),
        Some(0),
        "the test harness creates no indexes yet: teach it before adding one to the schema"
    );
    request.send().await.expect("create table");
}
