//! A fault-injecting HTTP proxy between the app and the DynamoDB emulator, on 127.0.0.1.
//!
//! It forwards each request to the emulator unless a fault is set: added latency, a hold until
//! released, HTTP 500,
//! throttling, a cancelled transaction or another DynamoDB error of a given code, a reset
//! connection, a lost response (forwarded, then the connection is cut), or a full outage
//! (connections closed as soon as they open). It also counts requests per
//! DynamoDB operation (`X-Amz-Target`), and can make the emulator answer a `Query` in small
//! pages, as DynamoDB does once an answer reaches 1 MB.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    Latency(Duration),
    /// Holds each request until the fault is cleared, then forwards it: what the app does
    /// while its store calls are outstanding, without depending on how long they take.
    Hold,
    ServerError,
    /// A 500 without a DynamoDB error code, as from a crashing server or a proxy.
    Crash,
    Reset,
    LoseResponse,
    Outage,
    /// A cancelled transaction whose first item failed for this reason (`TransactionConflict`,
    /// `ThrottlingError`, ...), without forwarding it.
    Cancel(&'static str),
    /// DynamoDB's 400 answer with this error code (`TransactionConflictException`, ...),
    /// without forwarding the request.
    Refuse(&'static str),
    /// Forwards the request, then answers DynamoDB's 400 with this error code in place of the
    /// answer: a request that took effect, reported as refused.
    ForwardThenRefuse(&'static str),
}

impl Fault {
    /// DynamoDB's answer to a request over the account's or the table's request rate.
    pub const THROTTLE: Self = Self::Refuse("ThrottlingException");
}

#[derive(Default)]
struct State {
    fault: Option<Fault>,
    /// Only requests for this operation are hit (all when `None`).
    operation: Option<String>,
    /// How many more requests the fault hits (until cleared when `None`).
    remaining: Option<u32>,
    counts: HashMap<String, u32>,
    /// The body of every request, by operation, while [`FaultProxy::keep_bodies`] is on.
    bodies: Option<HashMap<String, Vec<Bytes>>>,
    /// Every `Query` is forwarded with this `Limit`, whatever the app asked for.
    query_page_size: Option<u64>,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
}

/// An error ends the connection without an answer, as a reset does.
type Reply = Result<Response<Full<Bytes>>, std::io::Error>;

fn cut(why: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(why.to_string())
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let proxy = Self {
            url: format!("http://{}", listener.local_addr().expect("address")),
            state: Arc::default(),
        };
        let upstream = upstream.to_owned();
        let serving = proxy.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            while let Ok((socket, _)) = listener.accept().await {
                if serving.state.lock().unwrap().fault == Some(Fault::Outage) {
                    drop(socket);
                    continue;
                }
                let (proxy, client, upstream) = (serving.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let (proxy, client, upstream) =
                            (proxy.clone(), client.clone(), upstream.clone());
                        async move { proxy.handle(request, &client, &upstream).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        proxy
    }

    /// Hits every request with `fault` until [`FaultProxy::clear`].
    pub fn set(&self, fault: Fault) {
        self.set_for(None, fault, None);
    }

    /// Hits the next `times` requests for `operation` (any operation when `None`) with `fault`.
    pub fn set_for(&self, operation: Option<&str>, fault: Fault, times: Option<u32>) {
        let mut state = self.state.lock().unwrap();
        state.fault = Some(fault);
        state.operation = operation.map(str::to_owned);
        state.remaining = times;
    }

    pub fn clear(&self) {
        let mut state = self.state.lock().unwrap();
        state.fault = None;
        state.remaining = None;
    }

    /// Requests seen for `operation` (e.g. "Query", "TransactWriteItems").
    pub fn count(&self, operation: &str) -> u32 {
        self.state
            .lock()
            .unwrap()
            .counts
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Requests seen, of every operation.
    pub fn total(&self) -> u32 {
        self.state.lock().unwrap().counts.values().sum()
    }

    pub fn reset_counts(&self) {
        self.state.lock().unwrap().counts.clear();
    }

    /// Keeps the body of every request from now on, for [`FaultProxy::bodies`].
    pub fn keep_bodies(&self) {
        self.state.lock().unwrap().bodies = Some(HashMap::new());
    }

    /// The bodies kept of the requests for `operation`, parsed.
    pub fn bodies(&self, operation: &str) -> Vec<serde_json::Value> {
        let state = self.state.lock().unwrap();
        let kept = state.bodies.as_ref().expect("keep_bodies was called");
        let bodies = kept.get(operation).map(Vec::as_slice).unwrap_or_default();
        bodies
            .iter()
            .map(|body| serde_json::from_slice(body).expect("a JSON body"))
            .collect()
    }

    /// Forwards every `Query` with `Limit` set to `items`, so that the emulator answers in pages
    /// of that many items, each with the `LastEvaluatedKey` to ask for the next (moto does not
    /// split answers at 1 MB as DynamoDB does). The signature no longer matches the body; moto
    /// does not check it.
    pub fn page_queries(&self, items: u64) {
        self.state.lock().unwrap().query_page_size = Some(items);
    }

    /// The body to forward: the request's, with the `Limit` of [`FaultProxy::page_queries`].
    fn rewritten(&self, operation: &str, body: Bytes) -> Bytes {
        let Some(items) = self.state.lock().unwrap().query_page_size else {
            return body;
        };
        if operation != "Query" {
            return body;
        }
        let mut request: serde_json::Value =
            serde_json::from_slice(&body).expect("a Query's JSON body");
        request["Limit"] = items.into();
        Bytes::from(serde_json::to_vec(&request).expect("JSON"))
    }

    /// Counts (and perhaps keeps) the request and takes the fault that applies to it, if any.
    fn fault_for(&self, operation: &str, body: &Bytes) -> Option<Fault> {
        let mut state = self.state.lock().unwrap();
        *state.counts.entry(operation.to_owned()).or_default() += 1;
        if let Some(bodies) = state.bodies.as_mut() {
            bodies
                .entry(operation.to_owned())
                .or_default()
                .push(body.clone());
        }
        let applies =
            state.fault.is_some() && state.operation.as_deref().is_none_or(|o| o == operation);
        if !applies {
            return None;
        }
        let fault = state.fault;
        if let Some(remaining) = state.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                state.fault = None;
            }
        }
        fault
    }

    async fn handle(
        &self,
        request: Request<Incoming>,
        client: &reqwest::Client,
        upstream: &str,
    ) -> Reply {
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("unknown")
            .to_owned();
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map_err(cut)?.to_bytes();
        let fault = self.fault_for(&operation, &body);
        let body = self.rewritten(&operation, body);
        match fault {
            None => forward(client, upstream, parts, body).await,
            Some(Fault::Latency(delay)) => {
                tokio::time::sleep(delay).await;
                forward(client, upstream, parts, body).await
            }
            Some(Fault::Hold) => {
                while self.state.lock().unwrap().fault == Some(Fault::Hold) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                forward(client, upstream, parts, body).await
            }
            Some(Fault::ServerError) => Ok(error_reply(
                500,
                "InternalServerError",
                "injected server error",
            )),
            Some(Fault::Crash) => Ok(Response::builder()
                .status(500)
                .header("content-type", "text/html")
                .body(Full::new(Bytes::from_static(
                    b"<h1>Internal Server Error</h1>",
                )))
                .expect("valid reply")),
            Some(Fault::Cancel(reason)) => Ok(cancellation_reply(reason)),
            Some(Fault::Refuse(code)) => Ok(error_reply(400, code, "injected refusal")),
            Some(Fault::Reset | Fault::Outage) => Err(cut("injected connection reset")),
            Some(Fault::LoseResponse) => {
                forward(client, upstream, parts, body).await?;
                Err(cut("injected lost response"))
            }
            Some(Fault::ForwardThenRefuse(code)) => {
                forward(client, upstream, parts, body).await?;
                Ok(error_reply(400, code, "injected refusal after forwarding"))
            }
        }
    }
}

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Reply {
    let mut request = client.request(parts.method.clone(), format!("{upstream}{}", parts.uri));
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = request.body(body).send().await.map_err(cut)?;
    let mut reply = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            reply = reply.header(name, value);
        }
    }
    reply
        .body(Full::new(answer.bytes().await.map_err(cut)?))
        .map_err(cut)
}

fn error_reply(status: u16, kind: &str, message: &str) -> Response<Full<Bytes>> {
    let body =
        format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"{message}"}}"#);
    json_reply(status, body)
}

/// DynamoDB's answer to a transaction cancelled because its first item failed for `reason`.
fn cancellation_reply(reason: &str) -> Response<Full<Bytes>> {
    let body = format!(
        r#"{{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [{reason}, None]","CancellationReasons":[{{"Code":"{reason}"}},{{"Code":"None"}}]}}"#
    );
    json_reply(400, body)
}

fn json_reply(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Full::new(Bytes::from(body)))
        .expect("valid reply")
}
