//! A small client for DynamoDB's JSON protocol: a signed `POST` of the operation's JSON to the
//! regional endpoint over kept-alive HTTP/1.1 connections, retried with backoff within a
//! deadline.
//!
//! The store sends three operations, all of them small JSON documents. Through the AWS SDK,
//! each call cost more CPU than all the rest of the request (its orchestrator, interceptors,
//! endpoint rules and attribute maps; see `bench/README.md`). This client does what those
//! calls need and no more, and keeps the SDK's parts that are worth keeping: credentials come
//! from its provider chain (see [`credentials`]), signatures are checked against its signer.
//!
//! What the SDK's standard retry mode does, this does too: at most three attempts, exponential
//! backoff with full jitter on throttling, 5xx answers, timeouts and network errors, and a
//! retry quota that stops retrying when most recent calls failed (an outage), so that
//! retries do not multiply the load on a struggling service. As the SDKs do, it signs with
//! DynamoDB's time once DynamoDB has refused a signature for a clock that is minutes off.

mod credentials;
pub mod items;
mod sigv4;

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::{Instant, sleep_until, timeout_at};

use anyhow::Context;
use aws_credential_types::provider::SharedCredentialsProvider;
use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use credentials::CredentialsCache;

/// The protocol's version, the prefix of every `X-Amz-Target`.
const TARGET_PREFIX: &str = "DynamoDB_20120810.";
const MAX_ATTEMPTS: u32 = 3;
/// An answer's largest size: a `Query` returns at most 1 MB of items, plus its JSON's quoting.
const MAX_ANSWER_BYTES: usize = 8 << 20;
const INITIAL_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_millis(400);
/// The retry quota, in the SDK's units: a retry takes 5, a retry after a timeout 10, a call
/// that succeeds at once gives 1 back, one that succeeds after retries gives back what they took.
const RETRY_QUOTA: u32 = 500;
const RETRY_COST: u32 = 5;
const TIMEOUT_RETRY_COST: u32 = 10;
/// Error codes of throttling: the request was fine, DynamoDB asks to send it later.
/// `ThrottlingError` (on-demand tables) and `ProvisionedThroughputExceeded` (provisioned ones)
/// are the codes of a throttled item in a cancelled transaction's reasons.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
    "Throttling",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

/// Error codes with which AWS refuses a signature made at a time too far from its own clock
/// (the AWS SDKs' list). DynamoDB's is `InvalidSignatureException` ("Signature expired", or
/// "not yet current"), which also means a wrong secret key: only the `Date` of the answer, minutes
/// away from the signing time, tells a skewed clock.
const CLOCK_SKEW_CODES: &[&str] = &[
    "InvalidSignatureException",
    "RequestExpired",
    "RequestInTheFuture",
    "RequestTimeTooSkewed",
    "SignatureDoesNotMatch",
];
/// How far DynamoDB's clock must be from the signing time for a refused signature to count as
/// skew: AWS takes signatures made within 5 minutes of its time.
const CLOCK_SKEW_MIN_SECONDS: i64 = 4 * 60;

/// Whether `code` says DynamoDB is throttling: the same request may succeed later.
pub fn is_throttling(code: &str) -> bool {
    THROTTLING_CODES.contains(&code)
}

/// Why a call did not succeed.
#[derive(Debug)]
pub enum Error {
    /// DynamoDB answered with an error, retries included.
    Service(ServiceError),
    /// No answer: the connection failed, or the deadline passed.
    Unreachable(String),
    /// Nothing was sent: no credentials to sign with, or a request that could not be built.
    NotSent(String),
}

/// An error answer: its status, its code (`ConditionalCheckFailedException`; empty when the
/// answer had none, as from a failing proxy) and message, and the whole body for the details
/// some errors carry.
#[derive(Debug)]
pub struct ServiceError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub body: Bytes,
}

impl ServiceError {
    fn parse(status: StatusCode, body: Bytes) -> Self {
        #[derive(serde::Deserialize)]
        struct Shape {
            #[serde(rename = "__type", default)]
            kind: String,
            #[serde(alias = "Message", default)]
            message: String,
        }
        match serde_json::from_slice::<Shape>(&body) {
            Ok(shape) => {
                // "com.amazonaws.dynamodb.v20120810#ThrottlingException": the code is the last part.
                let code = shape.kind.rsplit('#').next().unwrap_or_default();
                Self {
                    status,
                    code: code.to_owned(),
                    message: shape.message,
                    body,
                }
            }
            Err(_) => Self {
                status,
                code: String::new(),
                message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
                body,
            },
        }
    }

    /// Whether the same request may succeed later: DynamoDB failed or throttled it, or it is a
    /// transaction cancelled only because some of its items were throttled (which the AWS SDK
    /// does not retry; sent again with its client token, it is still applied at most once).
    pub fn is_transient(&self) -> bool {
        self.status.is_server_error()
            || is_throttling(&self.code)
            || self.is_throttled_transaction()
    }

    fn is_throttled_transaction(&self) -> bool {
        #[derive(serde::Deserialize)]
        struct Cancellation {
            #[serde(rename = "CancellationReasons", default)]
            reasons: Vec<Reason>,
        }
        #[derive(serde::Deserialize)]
        struct Reason {
            #[serde(rename = "Code")]
            code: Option<String>,
        }
        if self.code != "TransactionCanceledException" {
            return false;
        }
        let Ok(cancellation) = serde_json::from_slice::<Cancellation>(&self.body) else {
            return false;
        };
        let codes = || {
            cancellation
                .reasons
                .iter()
                .filter_map(|r| r.code.as_deref())
                .filter(|code| *code != "None")
        };
        codes().next().is_some() && codes().all(is_throttling)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Service(e) => write!(f, "{} ({}): {}", e.code, e.status.as_u16(), e.message),
            Self::Unreachable(why) => f.write_str(why),
            Self::NotSent(why) => write!(f, "DynamoDB request not sent: {why}"),
        }
    }
}

/// A failed attempt: the error, and what a retry of it costs from the quota (`None`: not worth
/// retrying).
struct Failure {
    error: Error,
    retry_cost: Option<u32>,
}

pub struct Client {
    http: HttpClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    endpoint: Uri,
    /// The `Host` header, which the signature covers.
    host: HeaderValue,
    region: String,
    credentials: CredentialsCache,
    signing_keys: sigv4::KeyCache,
    deadline: Duration,
    retry_quota: AtomicU32,
    /// Seconds to add to the local clock for DynamoDB's: 0 until DynamoDB refuses a signature
    /// for a clock that is minutes off (see [`Client::corrects_clock`]).
    clock_skew: AtomicI64,
    /// Waits until the next attempt may start: [`sleep_until`], which tests replace to see the
    /// waits without waiting.
    pause: Pause,
}

/// Waits until the given instant.
type Pause = fn(Instant) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

impl Client {
    /// A client whose every call, retries included, ends within `deadline`.
    pub fn new(
        endpoint: &str,
        region: impl Into<String>,
        credentials: SharedCredentialsProvider,
        deadline: Duration,
    ) -> anyhow::Result<Self> {
        Self::trusting(endpoint, region, credentials, deadline, None)
    }

    /// [`Client::new`] trusting the certificate authorities `roots` for TLS, or the system's
    /// when `None`.
    fn trusting(
        endpoint: &str,
        region: impl Into<String>,
        credentials: SharedCredentialsProvider,
        deadline: Duration,
        roots: Option<rustls::RootCertStore>,
    ) -> anyhow::Result<Self> {
        let endpoint: Uri = endpoint
            .parse()
            .with_context(|| format!("DynamoDB endpoint {endpoint:?} is not a URL"))?;
        let https = match endpoint.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => anyhow::bail!("DynamoDB endpoint {endpoint} must start with https:// or http://"),
        };
        let authority = endpoint
            .authority()
            .with_context(|| format!("DynamoDB endpoint {endpoint} has no host"))?;
        // The Host header as the HTTP client sends it: without the scheme's default port.
        let host = match authority.port_u16() {
            Some(443) if https => authority.host().to_owned(),
            Some(80) if !https => authority.host().to_owned(),
            _ => authority.as_str().to_owned(),
        };
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(1).min(deadline)));
        let roots = match roots {
            Some(roots) => roots,
            None if https => system_roots()?,
            // A local emulator over plain HTTP needs none.
            None => rustls::RootCertStore::empty(),
        };
        let tls = tls_config(roots)?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            // DynamoDB closes connections idle for about a minute; closing them first avoids
            // sending a request on a connection that is being closed.
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Self {
            http,
            host: HeaderValue::from_str(&host).context("DynamoDB endpoint host")?,
            endpoint: Uri::builder()
                .scheme(endpoint.scheme_str().unwrap_or("https"))
                .authority(authority.clone())
                .path_and_query("/")
                .build()
                .context("DynamoDB endpoint")?,
            region: region.into(),
            credentials: CredentialsCache::new(credentials),
            signing_keys: sigv4::KeyCache::default(),
            deadline,
            retry_quota: AtomicU32::new(RETRY_QUOTA),
            clock_skew: AtomicI64::new(0),
            pause: |resume| Box::pin(sleep_until(resume)),
        })
    }

    /// A client configured as the AWS SDK is: region and credentials from the environment, the
    /// profile, the ECS task role or instance metadata; the endpoint from
    /// `AWS_ENDPOINT_URL_DYNAMODB` or `AWS_ENDPOINT_URL`, else the region's.
    pub async fn from_env(deadline: Duration) -> anyhow::Result<Self> {
        let config = aws_config::from_env().load().await;
        let region = config.region().context(
            "AWS_REGION must be set when STORE=dynamodb (or configure a region in the AWS profile)",
        )?;
        let credentials = config
            .credentials_provider()
            .context("no AWS credentials provider")?;
        let (endpoint, source) = match std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
            Ok(url) if !url.is_empty() => (url, "AWS_ENDPOINT_URL_DYNAMODB"),
            _ => match config.endpoint_url() {
                Some(url) => (
                    url.to_owned(),
                    "AWS_ENDPOINT_URL (or the profile's endpoint_url)",
                ),
                None => (regional_endpoint(region.as_ref()), "AWS_REGION"),
            },
        };
        Self::new(&endpoint, region.as_ref(), credentials, deadline)
            .with_context(|| format!("the DynamoDB endpoint comes from {source}"))
    }

    /// Sends `operation` (`Query`) with its JSON `body` and returns the JSON of the answer.
    ///
    /// Each attempt gets half the deadline, so that one that hangs leaves time for another, and
    /// never more than what is left of it. One timer per attempt keeps both bounds: setting a
    /// timer earlier than the runtime's next wake-up writes to its event fd, a system call, so a
    /// timer for the whole call besides cost every call one more.
    pub async fn call(&self, operation: &str, body: Bytes) -> Result<Bytes, Error> {
        let target = format!("{TARGET_PREFIX}{operation}");
        let deadline = Instant::now() + self.deadline;
        let out_of_time = || {
            Error::Unreachable(format!(
                "{operation}: no answer from DynamoDB within {} ms",
                self.deadline.as_millis()
            ))
        };
        let mut taken = 0;
        for attempt in 1.. {
            let attempt_deadline = deadline.min(Instant::now() + self.deadline / 2);
            let failure = match timeout_at(attempt_deadline, self.attempt(&target, &body)).await {
                Ok(Ok(answer)) => {
                    self.give_back(if taken == 0 { 1 } else { taken });
                    return Ok(answer);
                }
                Ok(Err(failure)) => failure,
                Err(_) if attempt_deadline == deadline => return Err(out_of_time()),
                Err(_) => Failure {
                    error: Error::Unreachable(format!(
                        "no answer from DynamoDB within {} ms",
                        (self.deadline / 2).as_millis()
                    )),
                    retry_cost: Some(TIMEOUT_RETRY_COST),
                },
            };
            match failure.retry_cost {
                Some(cost) if attempt < MAX_ATTEMPTS && self.take(cost) => {
                    taken += cost;
                    let resume = Instant::now() + backoff(attempt);
                    if resume >= deadline {
                        return Err(out_of_time());
                    }
                    (self.pause)(resume).await;
                }
                _ => return Err(failure.error),
            }
        }
        unreachable!("the loop returns by the last attempt")
    }

    async fn attempt(&self, target: &str, body: &Bytes) -> Result<Bytes, Failure> {
        let credentials = self.credentials.get().await.map_err(|why| Failure {
            error: Error::NotSent(why),
            retry_cost: None,
        })?;
        let signed_at = self.now();
        let amz_date = sigv4::amz_date(signed_at);
        let host = self.host.to_str().unwrap_or_default();
        let authorization = sigv4::authorization(
            &self.signing_keys,
            credentials.access_key_id(),
            credentials.secret_access_key(),
            &self.region,
            &sigv4::Request {
                host,
                amz_date: &amz_date,
                session_token: credentials.session_token(),
                target,
                body,
            },
        );
        let mut request = Request::post(self.endpoint.clone())
            .header(header::HOST, self.host.clone())
            .header(header::CONTENT_TYPE, sigv4::CONTENT_TYPE)
            .header("x-amz-date", amz_date)
            .header("x-amz-target", target)
            .header(header::AUTHORIZATION, authorization)
            .header(header::USER_AGENT, USER_AGENT);
        if let Some(token) = credentials.session_token() {
            request = request.header("x-amz-security-token", token);
        }
        let request = request.body(Full::new(body.clone())).map_err(|e| Failure {
            error: Error::NotSent(format!("cannot build the request: {e}")),
            retry_cost: None,
        })?;
        let network = |e: &dyn std::fmt::Display| Failure {
            error: Error::Unreachable(format!("DynamoDB request failed: {e}")),
            retry_cost: Some(RETRY_COST),
        };
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| network(&DisplayChain(&e)))?;
        let status = response.status();
        // DynamoDB's clock, read only from a refusal (see `corrects_clock`).
        let server_date = (!status.is_success())
            .then(|| response.headers().get(header::DATE).cloned())
            .flatten();
        let answer = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| network(&e))?
            .to_bytes();
        if status.is_success() {
            return Ok(answer);
        }
        let error = ServiceError::parse(status, answer);
        // Credentials DynamoDB no longer takes (revoked or rotated before their expiry): the
        // next attempt signs with renewed ones.
        let expired = error.code == "ExpiredTokenException";
        if expired {
            self.credentials.forget();
        }
        let skewed = CLOCK_SKEW_CODES.contains(&error.code.as_str())
            && self.corrects_clock(server_date.as_ref(), signed_at);
        let retry_cost = if expired || error.is_transient() {
            Some(RETRY_COST)
        } else {
            // A skewed clock is no sign of an outage, which the quota guards against: the
            // requests refused together with this one retry without draining it.
            skewed.then_some(0)
        };
        Err(Failure {
            retry_cost,
            error: Error::Service(error),
        })
    }

    /// The time to sign with: the local clock, corrected by DynamoDB's when they differ.
    fn now(&self) -> jiff::Timestamp {
        let skew = self.clock_skew.load(Ordering::Relaxed);
        let now = jiff::Timestamp::now();
        now.checked_add(jiff::SignedDuration::from_secs(skew))
            .unwrap_or(now)
    }

    /// After a refused signature: whether DynamoDB's clock (the `Date` of its answer) is minutes
    /// away from `signed_at`, in which case the next signatures use DynamoDB's time. A refusal
    /// whose `Date` is near `signed_at` (a wrong key) or missing changes nothing.
    fn corrects_clock(
        &self,
        server_date: Option<&HeaderValue>,
        signed_at: jiff::Timestamp,
    ) -> bool {
        static HTTP_DATE: jiff::fmt::rfc2822::DateTimeParser =
            jiff::fmt::rfc2822::DateTimeParser::new();
        let Some(server_time) =
            server_date.and_then(|date| HTTP_DATE.parse_timestamp(date.as_bytes()).ok())
        else {
            return false;
        };
        let off = server_time.as_second() - signed_at.as_second();
        if off.abs() < CLOCK_SKEW_MIN_SECONDS {
            return false;
        }
        let skew = server_time.as_second() - jiff::Timestamp::now().as_second();
        let before = self.clock_skew.swap(skew, Ordering::Relaxed);
        // Requests refused together find the same skew: one line says so.
        if (skew - before).abs() >= CLOCK_SKEW_MIN_SECONDS {
            tracing::warn!(
                skew_seconds = skew,
                "DynamoDB refused a signature made {} s {} its clock: signing with its time from now on",
                off.abs(),
                if off > 0 { "behind" } else { "ahead of" },
            );
        }
        true
    }

    fn take(&self, cost: u32) -> bool {
        self.retry_quota
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(cost)
            })
            .is_ok()
    }

    fn give_back(&self, amount: u32) {
        let _ = self
            .retry_quota
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                (left < RETRY_QUOTA).then(|| (left + amount).min(RETRY_QUOTA))
            });
    }
}

const USER_AGENT: &str = concat!("leave-calendar/", env!("CARGO_PKG_VERSION"));

/// The region's DynamoDB endpoint (China's regions have their own domain).
fn regional_endpoint(region: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://dynamodb.{region}.{domain}")
}

/// Full jitter: a random wait up to 25, 50, 100… ms (at most 400) before attempt `attempt + 1`.
fn backoff(attempt: u32) -> Duration {
    let ceiling = INITIAL_BACKOFF
        .saturating_mul(1 << (attempt - 1).min(16))
        .min(MAX_BACKOFF);
    ceiling.mul_f64(fastrand::f64())
}

/// The system's CA certificates (`SSL_CERT_FILE`, or the usual bundle paths).
fn system_roots() -> anyhow::Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        anyhow::bail!(
            "no CA certificates found for TLS to DynamoDB (set SSL_CERT_FILE): {:?}",
            found.errors
        );
    }
    Ok(roots)
}

/// TLS 1.2 and 1.3 with aws-lc's cryptography, trusting `roots`.
fn tls_config(roots: rustls::RootCertStore) -> anyhow::Result<rustls::ClientConfig> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// An error with its sources, for hyper's errors whose own message says little ("client error
/// (Connect)").
struct DisplayChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::mpsc;

    use super::*;

    /// What a test server answers (whole HTTP responses), in turn across its connections; the
    /// last one again and again.
    #[derive(Clone)]
    struct Answers(std::sync::Arc<(Vec<Vec<u8>>, AtomicU32)>);

    impl Answers {
        fn new(answers: Vec<Vec<u8>>) -> Self {
            assert!(!answers.is_empty());
            Self(std::sync::Arc::new((answers, AtomicU32::new(0))))
        }

        fn next(&self) -> &[u8] {
            let (answers, given) = &*self.0;
            let n = given.fetch_add(1, Ordering::Relaxed) as usize;
            &answers[n.min(answers.len() - 1)]
        }
    }

    /// A server on 127.0.0.1 that answers every request with `answer` (a whole HTTP response),
    /// and hands over the head of each request it read; over TLS with `tls`.
    async fn serve_with(
        answer: Vec<u8>,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> (String, mpsc::UnboundedReceiver<String>) {
        serve_answers(Answers::new(vec![answer]), tls).await
    }

    /// [`serve_with`] giving `answers` in turn.
    async fn serve_answers(
        answers: Answers,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> (String, mpsc::UnboundedReceiver<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let (heads, received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (answers, heads) = (answers.clone(), heads.clone());
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(tls) => match tls.accept(socket).await {
                            Ok(socket) => answer_requests(socket, &answers, &heads).await,
                            Err(e) => drop(heads.send(format!("handshake failed: {e}"))),
                        },
                        None => answer_requests(socket, &answers, &heads).await,
                    }
                });
            }
        });
        (url, received)
    }

    async fn serve(answer: Vec<u8>) -> (String, mpsc::UnboundedReceiver<String>) {
        serve_with(answer, None).await
    }

    /// Reads HTTP/1.1 requests from `socket` and writes the next of `answers` to each, until it
    /// closes.
    async fn answer_requests(
        mut socket: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
        answers: &Answers,
        heads: &mpsc::UnboundedSender<String>,
    ) {
        let mut buffer = Vec::new();
        let mut chunk = [0; 4096];
        loop {
            let Ok(n @ 1..) = socket.read(&mut chunk).await else {
                return;
            };
            buffer.extend_from_slice(&chunk[..n]);
            let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |n| n.trim().parse().unwrap());
            if buffer.len() < end + 4 + length {
                continue;
            }
            buffer.drain(..end + 4 + length);
            let _ = heads.send(head);
            if socket.write_all(answers.next()).await.is_err() {
                return;
            }
        }
    }

    fn response(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn client_for(url: &str) -> Client {
        client_within(url, Duration::from_secs(2))
    }

    fn client_within(url: &str, deadline: Duration) -> Client {
        let credentials =
            aws_credential_types::Credentials::new("AKID", "secret", None, None, "test");
        Client::new(
            url,
            "eu-west-1",
            SharedCredentialsProvider::new(credentials),
            deadline,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_call_is_a_signed_post_of_the_operation() {
        let (url, mut heads) = serve(response("200 OK", r#"{"Item":{}}"#)).await;
        let answer = client_for(&url)
            .call("GetItem", Bytes::from_static(b"{}"))
            .await
            .unwrap();
        assert_eq!(&answer[..], br#"{"Item":{}}"#);
        let head = heads.recv().await.unwrap();
        let host = url.trim_start_matches("http://");
        for line in [
            "post / http/1.1",
            "x-amz-target: dynamodb_20120810.getitem",
            "content-type: application/x-amz-json-1.0",
            "authorization: aws4-hmac-sha256 credential=akid/",
            "/eu-west-1/dynamodb/aws4_request, signedheaders=content-type;host;x-amz-date;x-amz-target, signature=",
            &format!("host: {host}"),
            "x-amz-date: 20",
        ] {
            assert!(head.contains(line), "{line:?} in {head}");
        }
    }

    /// The test certificate: self-signed, for 127.0.0.1 and localhost, valid until 2126.
    const TEST_CERT: &[u8] = include_bytes!("../../tests/fixtures/tls-cert.pem");
    const TEST_KEY: &[u8] = include_bytes!("../../tests/fixtures/tls-key.pem");

    #[tokio::test]
    async fn calls_go_over_tls_to_a_trusted_server_only() {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};

        let cert = CertificateDer::from_pem_slice(TEST_CERT).unwrap();
        let key = PrivateKeyDer::from_pem_slice(TEST_KEY).unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server));
        let (url, mut heads) = serve_with(response("200 OK", "{}"), Some(acceptor)).await;
        let credentials = || {
            SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
                "AKID", "secret", None, None, "test",
            ))
        };
        let second = Duration::from_secs(1);

        let mut trusted = rustls::RootCertStore::empty();
        trusted.add(cert).unwrap();
        let client =
            Client::trusting(&url, "eu-west-1", credentials(), second, Some(trusted)).unwrap();
        let answer = client
            .call("GetItem", Bytes::from_static(b"{}"))
            .await
            .unwrap();
        assert_eq!(&answer[..], b"{}");
        assert!(heads.recv().await.unwrap().starts_with("post / http/1.1"));

        let untrusting = Client::trusting(
            &url,
            "eu-west-1",
            credentials(),
            second,
            Some(rustls::RootCertStore::empty()),
        )
        .unwrap();
        match untrusting.call("GetItem", Bytes::from_static(b"{}")).await {
            Err(Error::Unreachable(why)) => assert!(why.contains("certificate"), "{why}"),
            other => panic!("an unknown certificate is refused: {other:?}"),
        }
        assert!(heads.recv().await.unwrap().starts_with("handshake failed"));
    }

    #[tokio::test]
    async fn refusals_are_not_retried_and_throttling_is() {
        for (code, attempts) in [
            ("ValidationException", 1),
            ("ThrottlingException", MAX_ATTEMPTS),
        ] {
            let body =
                format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"no"}}"#);
            let (url, mut heads) = serve(response("400 Bad Request", &body)).await;
            match client_for(&url).call("Query", Bytes::new()).await {
                Err(Error::Service(e)) => {
                    assert_eq!((e.status.as_u16(), e.code.as_str()), (400, code))
                }
                other => panic!("{code}: {other:?}"),
            }
            let mut sent = 0;
            while heads.try_recv().is_ok() {
                sent += 1;
            }
            assert_eq!(sent, attempts, "{code}");
        }
    }

    /// A server that reads requests and answers none of them on its first `silent`
    /// connections, then answers `answer` on every later one.
    async fn serve_after_silence(silent: usize, answer: Vec<u8>) -> String {
        let answer = Answers::new(vec![answer]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (unused, _) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut accepted = 0;
            while let Ok((mut socket, _)) = listener.accept().await {
                accepted += 1;
                let (answer, heads) = (answer.clone(), unused.clone());
                tokio::spawn(async move {
                    if accepted <= silent {
                        let mut sink = Vec::new();
                        let _ = socket.read_to_end(&mut sink).await;
                    } else {
                        answer_requests(socket, &answer, &heads).await;
                    }
                });
            }
        });
        url
    }

    /// An attempt without an answer is given up after half the deadline and tried again; a
    /// call that gets no answer at all fails once the deadline has passed, not later.
    #[tokio::test]
    async fn a_hanging_attempt_is_retried_within_the_deadline() {
        let client = |url: &str| client_within(url, Duration::from_millis(600));
        let url = serve_after_silence(1, response("200 OK", "{}")).await;
        let answer = client(&url).call("GetItem", Bytes::new()).await;
        assert_eq!(answer.unwrap(), Bytes::from_static(b"{}"));

        let url = serve_after_silence(usize::MAX, Vec::new()).await;
        match client(&url).call("GetItem", Bytes::new()).await {
            // The whole deadline's message: the second attempt had only what was left of it.
            Err(Error::Unreachable(why)) => assert!(why.contains("within 600 ms"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    /// Without credentials nothing is sent, and the call fails at once, without retrying.
    #[tokio::test]
    async fn a_call_without_credentials_is_not_sent() {
        let (url, mut heads) = serve(response("200 OK", "{}")).await;
        let no_credentials = SharedCredentialsProvider::new(
            aws_credential_types::credential_fn::provide_credentials_fn(|| async {
                Err(
                    aws_credential_types::provider::error::CredentialsError::not_loaded(
                        "none here",
                    ),
                )
            }),
        );
        let client =
            Client::new(&url, "eu-west-1", no_credentials, Duration::from_secs(2)).unwrap();
        match client.call("Query", Bytes::new()).await {
            Err(Error::NotSent(why)) => assert!(why.contains("no AWS credentials"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(heads.try_recv().is_err(), "a request reached the server");
    }

    #[tokio::test]
    async fn an_oversized_answer_is_refused() {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            MAX_ANSWER_BYTES + 1
        );
        let mut answer = head.into_bytes();
        answer.resize(answer.len() + MAX_ANSWER_BYTES + 1, b' ');
        let (url, _heads) = serve(answer).await;
        match client_for(&url).call("Query", Bytes::new()).await {
            Err(Error::Unreachable(why)) => assert!(why.contains("length limit"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    /// A cancelled transaction is worth sending again when its items were only throttled; a
    /// failed condition, with or without throttling, stays failed.
    #[test]
    fn a_transaction_cancelled_by_throttling_alone_is_transient() {
        let cancelled = |reasons: &str| {
            ServiceError::parse(
                StatusCode::BAD_REQUEST,
                Bytes::from(format!(
                    r#"{{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"cancelled","CancellationReasons":[{reasons}]}}"#
                )),
            )
            .is_transient()
        };
        assert!(cancelled(r#"{"Code":"ThrottlingError"},{"Code":"None"}"#));
        assert!(cancelled(
            r#"{"Code":"None"},{"Code":"ProvisionedThroughputExceeded"}"#
        ));
        assert!(!cancelled(
            r#"{"Code":"ThrottlingError"},{"Code":"ConditionalCheckFailed"}"#
        ));
        assert!(!cancelled(r#"{"Code":"TransactionConflict"}"#));
        assert!(!cancelled(r#"{"Code":"None"}"#));
        assert!(!cancelled(""));
    }

    #[test]
    fn error_codes_come_from_the_type_after_the_namespace() {
        let e = ServiceError::parse(
            StatusCode::BAD_REQUEST,
            Bytes::from_static(br#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}"#),
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ThrottlingException", "slow down")
        );
        assert!(e.is_transient());

        let e = ServiceError::parse(
            StatusCode::BAD_REQUEST,
            Bytes::from_static(
                br#"{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}"#,
            ),
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ValidationException", "bad")
        );
        assert!(!e.is_transient(), "a refused request stays refused");
    }

    #[test]
    fn an_answer_that_is_not_json_is_an_error_without_a_code() {
        let e = ServiceError::parse(
            StatusCode::BAD_GATEWAY,
            Bytes::from_static(b"<html>bad gateway</html>"),
        );
        assert_eq!(e.code, "");
        assert_eq!(e.message, "<html>bad gateway</html>");
        assert!(e.is_transient(), "any 5xx may pass");
    }

    #[test]
    fn backoff_grows_to_its_ceiling_with_jitter() {
        for attempt in 1..=10 {
            let ceiling = (INITIAL_BACKOFF * 2u32.pow(attempt - 1)).min(MAX_BACKOFF);
            let waits: Vec<Duration> = (0..200).map(|_| backoff(attempt)).collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "attempt {attempt}");
            assert!(
                waits.iter().any(|w| *w < ceiling / 2),
                "jittered, attempt {attempt}"
            );
            // Up to the ceiling: all 200 below three quarters of it has odds of 0.75^200.
            assert!(
                waits.iter().any(|w| *w > ceiling * 3 / 4),
                "grows to its ceiling, attempt {attempt}"
            );
        }
    }

    fn client() -> Client {
        let credentials = aws_credential_types::Credentials::new("a", "b", None, None, "test");
        Client::new(
            "http://127.0.0.1:9",
            "eu-west-1",
            SharedCredentialsProvider::new(credentials),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    #[test]
    fn the_retry_quota_runs_out_and_fills_again() {
        let client = client();
        let retries = RETRY_QUOTA / RETRY_COST;
        for _ in 0..retries {
            assert!(client.take(RETRY_COST));
        }
        assert!(!client.take(RETRY_COST), "no retries left after {retries}");
        for _ in 0..RETRY_COST {
            client.give_back(1);
        }
        assert!(client.take(RETRY_COST), "successes give retries back");
        client.give_back(RETRY_QUOTA);
        assert_eq!(
            client.retry_quota.load(Ordering::Relaxed),
            RETRY_QUOTA,
            "never above the quota"
        );
    }

    /// Between attempts the client waits a jittered backoff that grows with the attempt: a call
    /// failing every attempt waits before each retry, within that attempt's ceiling.
    #[tokio::test]
    async fn failed_attempts_are_retried_after_a_backoff() {
        static WAITS: std::sync::Mutex<Vec<Duration>> = std::sync::Mutex::new(Vec::new());
        let (url, mut heads) = serve(response("500 Internal Server Error", "{}")).await;
        let mut client = client_for(&url);
        client.pause = |resume| {
            let wait = resume.saturating_duration_since(Instant::now());
            WAITS.lock().unwrap().push(wait);
            Box::pin(std::future::ready(()))
        };

        let failed = client.call("GetItem", Bytes::from_static(b"{}")).await;

        assert!(matches!(failed, Err(Error::Service(_))), "{failed:?}");
        let mut attempts = 0;
        while heads.try_recv().is_ok() {
            attempts += 1;
        }
        assert_eq!(attempts, MAX_ATTEMPTS);
        let waits = WAITS.lock().unwrap().clone();
        assert_eq!(
            waits.len(),
            MAX_ATTEMPTS as usize - 1,
            "a wait before each retry"
        );
        for (attempt, wait) in (1..).zip(&waits) {
            let ceiling = INITIAL_BACKOFF * 2u32.pow(attempt - 1);
            assert!(*wait <= ceiling, "attempt {attempt}: {waits:?}");
        }
        assert!(
            waits.iter().sum::<Duration>() > Duration::ZERO,
            "it waits: {waits:?}"
        );
    }

    /// Once the quota is spent, a call that fails is not tried again; an answer gives some back.
    #[tokio::test]
    async fn a_call_without_retries_left_makes_one_attempt() {
        let (url, mut heads) = serve(response("500 Internal Server Error", "{}")).await;
        let client = client_for(&url);
        while client.take(RETRY_COST) {}

        let failed = client.call("GetItem", Bytes::from_static(b"{}")).await;

        assert!(matches!(failed, Err(Error::Service(_))), "{failed:?}");
        heads.recv().await.unwrap();
        assert!(heads.try_recv().is_err(), "one attempt only");
        let (url, _) = serve(response("200 OK", "{}")).await;
        let answered = client_within(&url, Duration::from_secs(2));
        answered.retry_quota.store(0, Ordering::Relaxed);
        answered
            .call("GetItem", Bytes::from_static(b"{}"))
            .await
            .unwrap();
        assert_eq!(answered.retry_quota.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn endpoints_are_checked_and_their_host_kept_for_signing() {
        let credentials = || {
            SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
                "a", "b", None, None, "test",
            ))
        };
        let second = Duration::from_secs(1);
        // The https endpoints load the system's CA certificates (the ca-certificates package).
        for (endpoint, host) in [
            ("http://127.0.0.1:8000", "127.0.0.1:8000"),
            ("http://localhost:80/", "localhost"),
            (
                "https://dynamodb.eu-west-1.amazonaws.com",
                "dynamodb.eu-west-1.amazonaws.com",
            ),
            ("https://localhost:443", "localhost"),
            ("https://localhost:4566", "localhost:4566"),
        ] {
            let client = Client::new(endpoint, "eu-west-1", credentials(), second).unwrap();
            assert_eq!(client.host, host);
            assert_eq!(client.endpoint.path(), "/");
        }
        for bad in ["dynamodb.eu-west-1.amazonaws.com", "ftp://x", "not a url"] {
            assert!(
                Client::new(bad, "eu-west-1", credentials(), second).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            regional_endpoint("eu-west-1"),
            "https://dynamodb.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            regional_endpoint("cn-north-1"),
            "https://dynamodb.cn-north-1.amazonaws.com.cn"
        );
    }

    /// The signing time of a request, from the head [`answer_requests`] hands over (lowercase).
    fn signed_at(head: &str) -> jiff::Timestamp {
        let amz_date = head
            .lines()
            .find_map(|l| l.strip_prefix("x-amz-date: "))
            .expect("a signed request has x-amz-date");
        jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", amz_date.to_uppercase())
            .and_then(|t| t.to_datetime())
            .and_then(|t| t.to_zoned(jiff::tz::TimeZone::UTC))
            .expect("x-amz-date is YYYYMMDDTHHMMSSZ")
            .timestamp()
    }

    /// A 400 answer with the error `body`, and `date` as its `Date` header if given.
    fn refusal(body: &str, date: Option<jiff::Timestamp>) -> Vec<u8> {
        let date = date.map_or(String::new(), |at| {
            let printer = jiff::fmt::rfc2822::DateTimePrinter::new();
            format!(
                "date: {}\r\n",
                printer.timestamp_to_rfc9110_string(&at).unwrap()
            )
        });
        format!(
            "HTTP/1.1 400 Bad Request\r\n{date}content-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// DynamoDB's refusal of an expired signature, with `date` as its `Date` header if given.
    fn signature_expired(date: Option<jiff::Timestamp>) -> Vec<u8> {
        refusal(
            r#"{"__type":"com.amazon.coral.service#InvalidSignatureException","message":"Signature expired: 20261128T100000Z is now earlier than 20261128T105500Z (20261128T110000Z - 5 min.)"}"#,
            date,
        )
    }

    #[tokio::test]
    async fn a_signature_refused_for_a_clock_minutes_off_is_made_again_with_dynamodbs_time() {
        for hours in [1, -1] {
            let dynamodb_time = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(hours);
            let answers = Answers::new(vec![
                signature_expired(Some(dynamodb_time)),
                response("200 OK", "{}"),
            ]);
            let (url, mut heads) = serve_answers(answers, None).await;
            let client = client_for(&url);
            // A skew retry takes nothing from the retry quota: it is made with the quota spent.
            client.retry_quota.store(0, Ordering::Relaxed);
            let answer = client.call("GetItem", Bytes::new()).await;
            assert_eq!(answer.unwrap(), "{}", "{hours} h");
            client.call("GetItem", Bytes::new()).await.unwrap();
            let refused = signed_at(&heads.recv().await.unwrap());
            assert!((refused.as_second() - jiff::Timestamp::now().as_second()).abs() < 60);
            // The attempt after the refusal, and the next call, are signed with DynamoDB's time.
            for head in [heads.recv().await.unwrap(), heads.recv().await.unwrap()] {
                let off = (signed_at(&head).as_second() - dynamodb_time.as_second()).abs();
                assert!(
                    off < 60,
                    "{hours} h: signed {off} s away from DynamoDB's time"
                );
            }
            assert!(heads.try_recv().is_err(), "{hours} h: one retry only");
        }
    }

    #[tokio::test]
    async fn another_refusal_is_not_taken_for_skew_whatever_dynamodbs_time() {
        let an_hour_ahead = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
        let answer = refusal(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"no"}"#,
            Some(an_hour_ahead),
        );
        let (url, mut heads) = serve(answer).await;
        let client = client_for(&url);
        assert!(client.call("GetItem", Bytes::new()).await.is_err());
        heads.recv().await.unwrap();
        assert!(
            heads.try_recv().is_err(),
            "a ValidationException is not retried"
        );
        assert_eq!(client.clock_skew.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_refused_signature_is_not_retried_when_the_clocks_agree_or_dynamodb_gives_no_time() {
        let near = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(3);
        for date in [Some(near), None] {
            let (url, mut heads) = serve(signature_expired(date)).await;
            let client = client_for(&url);
            match client.call("GetItem", Bytes::new()).await {
                Err(Error::Service(e)) => assert_eq!(e.code, "InvalidSignatureException"),
                other => panic!("{date:?}: {other:?}"),
            }
            heads.recv().await.unwrap();
            assert!(
                heads.try_recv().is_err(),
                "{date:?}: a wrong key is not retried"
            );
            assert_eq!(client.clock_skew.load(Ordering::Relaxed), 0, "{date:?}");
        }
    }
}
