//! What every request goes through, in one middleware ([`frame`]): its id, its log line, reading
//! the body, load shedding, the deadline, error pages for browsers and the security headers; and
//! the fallbacks for unknown routes and methods.
//!
//! One middleware rather than a layer each (tower-http's request id, trace and set-header layers,
//! and one `from_fn` per step): every layer is a future of its own wrapped around the next. A
//! create that comes after the process idled fetches all the code it runs again from memory,
//! which made most of its cost on the DynamoDB benchmark; the layers and the log line were about a
//! sixth of that code, and one middleware runs 4% less of it (see `bench/README.md`, "The code a
//! create runs"). Here the steps also run in the order they are written.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::error::{Error, ProblemDetail};
use super::health::Routine;
use super::pages::PageError;
use super::{BODY_LIMIT_BYTES, BookingLog};
use crate::config::Settings;
use crate::domain::echoed;

#[derive(Clone)]
pub struct Limits {
    in_flight: Arc<Semaphore>,
    deadline: Duration,
    /// Listening on a loopback address: only requests for a loopback host are answered.
    loopback_only: bool,
}

impl Limits {
    pub fn new(settings: &Settings) -> Self {
        let permits = usize::try_from(settings.max_concurrent_requests)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Self {
            in_flight: Arc::new(Semaphore::new(permits)),
            deadline: settings.request_timeout(),
            loopback_only: settings.bind_address.is_loopback(),
        }
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Set on every answer that does not set its own.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null` with
    // the page's own form posts, which the cross-site check must refuse when it has no
    // `Sec-Fetch-Site` to go by (browsers from before fetch metadata). Other sites still get no
    // referrer at all.
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
];

/// Set on every answer to a request that reached the load balancer over HTTPS: browsers then
/// go straight to HTTPS for a year, so that no later visit starts with a plain HTTP request an
/// attacker on the network could answer in the app's place. Not over plain HTTP, where browsers
/// ignore it and a local run must stay reachable. No `includeSubDomains`: the app does not know
/// which other hosts share its domain.
static STRICT_TRANSPORT: (HeaderName, HeaderValue) = (
    header::STRICT_TRANSPORT_SECURITY,
    HeaderValue::from_static("max-age=31536000"),
);

/// Whether the browser reached the app over HTTPS: the load balancer ends TLS and says so in
/// `X-Forwarded-Proto`, which it sets on every request, whatever the client sent.
pub(super) fn reached_over_https(request: &HeaderMap) -> bool {
    request
        .get("x-forwarded-proto")
        .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// Every request, in this order: it gets an id (the client's `x-request-id`, or a new one) and a
/// span that every line logged for it carries; its host is checked; its body is read; it takes
/// a concurrency slot or is shed; it is answered within the deadline; an error becomes a page
/// for a browser; the answer gets the security headers (with HSTS over HTTPS) and the request
/// id; one line logs it.
pub async fn frame(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request_id(request.headers());
    let span = tracing::info_span!(
        "request",
        method = %Clipped(request.method().as_str()),
        path = %Clipped(request.uri().path()),
        request_id = %request_id.to_str().unwrap_or("-"),
    );
    let negotiated = !request.uri().path().starts_with("/api/");
    let bookings_api = request.uri().path().starts_with("/api/v1/bookings");
    let browser_page = negotiated && accepts_html(request.headers());
    let over_https = reached_over_https(request.headers());
    // Reading the body and handling the request share one deadline, so that no request is
    // in flight for longer than the request timeout (the load balancer's deregistration delay
    // counts on it).
    let deadline = started + limits.deadline;
    let mut request = request;
    request.extensions_mut().insert(RequestDeadline(deadline));
    let answer = async {
        let host = match requested_host(&request) {
            Ok(host) => host,
            Err(refused) => return refused.into_response(),
        };
        if limits.loopback_only
            && let Some(host) = host
            && !is_loopback_host(host.as_bytes())
        {
            return Error::MisdirectedRequest(format!(
                "this server answers for localhost only, not for {}",
                Clipped(host)
            ))
            .into_response();
        }
        // The asterisk form names the server itself, and only OPTIONS may use it (RFC 9112,
        // section 3.2.4); hyper takes it with any method, and routing found no resource `*`.
        if request.uri().path() == "*" {
            return if request.method() == Method::OPTIONS {
                (StatusCode::OK, [(header::ALLOW, SERVER_METHODS)]).into_response()
            } else {
                Error::BadRequest(format!(
                    "the target * is for OPTIONS, not {}",
                    Clipped(request.method().as_str())
                ))
                .into_response()
            };
        }
        match read_body(request, deadline, limits.deadline).await {
            Ok(request) => limit(&limits, request, next, deadline).await,
            Err(refused) => refused,
        }
    };
    let answer = answer.instrument(span.clone()).await;
    let unavailable = unavailable_detail(&answer);
    let mut answer = html_errors(answer, negotiated, browser_page);
    let status = answer.status();
    let headers = answer.headers_mut();
    let strict_transport = over_https.then_some(&STRICT_TRANSPORT);
    for (name, value) in SECURITY_HEADERS.iter().chain(strict_transport) {
        headers.entry(name).or_insert_with(|| value.clone());
    }
    headers.entry(&REQUEST_ID).or_insert(request_id);
    if bookings_api || status.is_client_error() || status.is_server_error() {
        // Names and dates of leave: no cache is to keep them, as for the pages. Nor an error,
        // which is an answer of the moment: a 404 or 405 is otherwise cacheable by default.
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    span.in_scope(|| log_answer(&answer, started.elapsed(), unavailable.as_deref()));
    answer
}

/// The methods some resource of the server takes: the answer to `OPTIONS *`.
const SERVER_METHODS: HeaderValue = HeaderValue::from_static("GET, HEAD, POST, DELETE");

/// When the request's answer is due (its deadline): a handler that must answer something of
/// its own when the store is slow (the booking form) ends its store calls before it.
#[derive(Debug, Clone, Copy)]
pub struct RequestDeadline(pub Instant);

/// The host `request` is for, checked as HTTP asks of a server (RFC 9112, section 3.2; RFC
/// 9113, section 8.3.1): at most one `Host` header, a valid one, and one in every HTTP/1.1
/// request; a target that names a host (the absolute form, or HTTP/2's `:authority`) names a
/// valid one, over HTTP. Where both name a host they must name the same one, its case, a
/// trailing dot and the scheme's port aside. That is stricter than RFC 9112, which has a server
/// ignore `Host` when the target is absolute; but every check that reads the host (the
/// loopback check here, the cross-site check of the forms) then reads the same one. `None`: an
/// HTTP/1.0 request without `Host`, which programs still send.
pub(super) fn requested_host(request: &Request) -> Result<Option<&str>, Error> {
    let mut headers = request.headers().get_all(header::HOST).iter();
    let header = match (headers.next(), headers.next()) {
        (None, _) => None,
        (Some(host), None) => Some(valid_host(host.to_str().ok(), "the Host header")?),
        (Some(_), Some(_)) => {
            return Err(Error::BadRequest(
                "a request names its host in one Host header, not several".to_owned(),
            ));
        }
    };
    let uri = request.uri();
    let target = match (uri.scheme_str(), uri.authority()) {
        (_, None) => None,
        (Some(scheme), Some(authority))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            Some(valid_host(
                Some(authority.as_str()),
                "the request target's host",
            )?)
        }
        (Some(scheme), Some(_)) => {
            return Err(Error::BadRequest(format!(
                "this server answers http and https URLs, not {}",
                Clipped(scheme)
            )));
        }
        (None, Some(_)) => {
            return Err(Error::BadRequest(
                "the request target must be a path or a URL, not a host alone".to_owned(),
            ));
        }
    };
    match (header, target) {
        (Some(header), Some(target)) if !same_host(header, target, uri.scheme_str()) => {
            Err(Error::BadRequest(
                "the Host header names another host than the request target".to_owned(),
            ))
        }
        (None, _) if request.version() == Version::HTTP_11 => Err(Error::BadRequest(
            "an HTTP/1.1 request must name its host in a Host header".to_owned(),
        )),
        (Some(host), _) | (None, Some(host)) => Ok(Some(host)),
        (None, None) if request.version() <= Version::HTTP_10 => Ok(None),
        (None, None) => Err(Error::BadRequest(
            "the request must name its host".to_owned(),
        )),
    }
}

/// Whether `a` and `b`, valid hosts with optional ports, name the same host: in any case,
/// with or without a trailing dot, with or without the port that `scheme` implies.
fn same_host(a: &str, b: &str, scheme: Option<&str>) -> bool {
    let implied = match scheme {
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => 443,
        _ => 80,
    };
    let parts = |text: &str| {
        let authority = text.parse::<Authority>().ok()?;
        let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
        Some((host, authority.port_u16().unwrap_or(implied)))
    };
    parts(a).is_some_and(|a| parts(b) == Some(a))
}

/// `host`, `what` names, when it is a host name or address with an optional port.
fn valid_host<'a>(host: Option<&'a str>, what: &str) -> Result<&'a str, Error> {
    let valid = host.filter(|text| {
        let Ok(authority) = text.parse::<Authority>() else {
            return false;
        };
        // `Authority` also takes user info, and a port that is not a number (it then has no
        // port): neither is a host, so the host and port must be all of the text. A port is
        // digits alone (RFC 3986), which Rust's number parser is not: it takes "+80".
        let port = authority.port();
        let port = port.as_ref().map(|port| port.as_str());
        if port.is_some_and(|port| !port.bytes().all(|b| b.is_ascii_digit())) {
            return false;
        }
        let port = port.map_or(0, |port| port.len() + 1);
        let host = authority.host();
        !host.is_empty() && host.len() + port == text.len()
    });
    valid.ok_or_else(|| {
        Error::BadRequest(format!(
            "{what} is not a host name or address with an optional port: {}",
            Clipped(host.unwrap_or("(not text)"))
        ))
    })
}

/// Whether `host` (a `Host` header) names this machine: `localhost`, a name under `.localhost`
/// (which browsers resolve to it themselves), or a loopback address, with any port.
///
/// A server on a loopback address answers only such requests. A web page cannot otherwise
/// reach it with its own site's name pointed at 127.0.0.1 (DNS rebinding): the browser then
/// treats the server as that site, whose requests pass the cross-site check, and the page could
/// read every booking and book or delete leave. HTTP/1.0 programs that send no `Host` are
/// answered.
fn is_loopback_host(host: &[u8]) -> bool {
    let Ok(host) = std::str::from_utf8(host) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((v6, rest)) if rest.is_empty() || rest.starts_with(':') => v6,
            _ => return false,
        },
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let lower = name.to_ascii_lowercase();
    lower == "localhost" || lower.ends_with(".localhost")
}

/// Why a 503 was answered (shed, past its deadline, the store), for its log line: the line is
/// all that is logged of a shed request or one past its deadline. A line of their own would
/// double what the app writes when it is overloaded, the time it can least afford it.
fn unavailable_detail(answer: &Response) -> Option<String> {
    if answer.status() != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let ProblemDetail(detail) = answer.extensions().get::<ProblemDetail>()?;
    Some(detail.clone())
}

/// The client's request id when it is [`a plain id`](is_plain_id), or a new ULID: unique, and
/// sortable by time like booking ids.
fn request_id(headers: &HeaderMap) -> HeaderValue {
    match headers.get(&REQUEST_ID) {
        Some(given) if is_plain_id(given.as_bytes()) => given.clone(),
        _ => {
            let mut text = [0; ulid::ULID_LEN];
            let text = ulid::Ulid::new().array_to_str(&mut text);
            HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("-"))
        }
    }
}

/// At most 128 letters, digits and `-_.:`, enough for UUIDs, ULIDs and trace ids. The id goes
/// into every log line of the request: a longer one would bloat each, and spaces or `=` could
/// pass for fields of their own in the text format.
fn is_plain_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// One line per answered request, at INFO, but at DEBUG for a successful routine answer
/// ([`Routine`]). What a handler did to a booking goes on the same line (a [`BookingLog`] in the
/// answer's extensions), not on a line of its own: one write per request, and one line to find.
fn log_answer(answer: &Response, latency: Duration, unavailable: Option<&str>) {
    let status = answer.status().as_u16();
    let latency = tracing::field::display(Millis(latency));
    let done = answer.extensions().get::<BookingLog>();
    let booking = done.map(|done| tracing::field::display(done.id));
    let outcome = done.map(|done| done.outcome.as_str());
    // An event's level is a constant in tracing's macros, hence one call per level.
    if answer.extensions().get::<Routine>().is_some() && answer.status().is_success() {
        tracing::debug!(
            latency,
            status,
            booking,
            outcome,
            "finished processing request"
        );
    } else {
        tracing::info!(
            latency,
            status,
            booking,
            outcome,
            detail = unavailable,
            "finished processing request"
        );
    }
}

/// A method, path or host as the log and error details show it: its first [`Clipped::MAX`]
/// bytes (up to three times as many once percent-encoded), and "…" when there were more, so
/// that no request can bloat its log lines (hyper takes paths of up to 64 KiB, and methods
/// longer still); and every byte that is not visible ASCII percent-encoded, as in a URL. hyper
/// takes raw UTF-8 in a path, and the text log would otherwise show a no-break space as a
/// space, a line separator as a new line, or an override turning the line around: a request
/// could write what looks like fields of its own.
struct Clipped<'a>(&'a str);

impl Clipped<'_> {
    const MAX: usize = 200;
}

impl std::fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0;
        let end = (0..=Self::MAX.min(text.len()))
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        let shown = &text[..end];
        if shown.bytes().all(|b| b.is_ascii_graphic()) {
            f.write_str(shown)?;
        } else {
            for c in shown.chars() {
                if c.is_ascii_graphic() {
                    std::fmt::Write::write_char(f, c)?;
                } else {
                    for byte in c.encode_utf8(&mut [0; 4]).bytes() {
                        write!(f, "%{byte:02X}")?;
                    }
                }
            }
        }
        if end < text.len() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

/// A duration as the log shows it: whole milliseconds, "12 ms".
struct Millis(Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ms", self.0.as_millis())
    }
}

/// Past the concurrency limit a request is refused at once with 503 rather than queued without
/// bound; every admitted request answers 503 when its deadline passes. `/health` is exempt
/// from shedding: a busy instance is still alive and must not be replaced for being busy.
async fn limit(limits: &Limits, request: Request, next: Next, deadline: Instant) -> Response {
    let _permit = if request.uri().path() == "/health" {
        None
    } else {
        match limits.in_flight.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                return Error::Unavailable("the server is at capacity; retry shortly".to_owned())
                    .into_response();
            }
        }
    };
    match tokio::time::timeout_at(deadline.into(), next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::Unavailable("the request took too long; retry shortly".to_owned())
            .into_response(),
    }
}

/// The whole body is read before the request takes a concurrency slot: a client that declares a
/// body it never sends, or sends it a byte at a time, would otherwise hold a slot until the
/// deadline and get a 503 as if the server had failed. Such a body gets 408 when `deadline`
/// passes (`timeout` after the request came), and one declared or sent larger than
/// [`BODY_LIMIT_BYTES`] gets 413 at once, before a byte of it is read; a body in a coding the
/// server does not undo is refused before it is read too (400 or 415, [`coding_refusal`]).
/// Being before routing, these come before a 404 or 405. Bodies here are at most 16 KiB, so holding one in memory costs nothing
/// a handler would not spend anyway.
async fn read_body(
    request: Request,
    deadline: Instant,
    timeout: Duration,
) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return Ok(Request::from_parts(parts, body));
    }
    // A body means nothing to GET or HEAD (RFC 9110): it is not read, nor refused, so that a
    // probe of `/health` answers whatever it sends. hyper closes the connection after the
    // answer rather than read what is left of it.
    if parts.method.is_safe() {
        return Ok(Request::from_parts(parts, Body::empty()));
    }
    if let Some(refused) = coding_refusal(&parts.headers) {
        return Err(refused);
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT_BYTES as u64) {
        return Err(Error::body_too_large().into_response());
    }
    let read = tokio::time::timeout_at(
        deadline.into(),
        Limited::new(body, BODY_LIMIT_BYTES).collect(),
    );
    let refusal = match read.await {
        Ok(Ok(collected)) => {
            let body = Body::from(collected.to_bytes());
            return Ok(Request::from_parts(parts, body));
        }
        Ok(Err(e)) if e.is::<LengthLimitError>() => Error::body_too_large(),
        Ok(Err(e)) => Error::BadRequest(format!("the request body could not be read: {e}")),
        Err(_) => Error::RequestTimeout(format!(
            "the request body did not arrive within {} s",
            timeout.as_secs()
        )),
    };
    Err(refusal.into_response())
}

/// The refusal of a body coded in a way the server does not undo, before it is read. hyper
/// takes off one layer of `chunked` (and answers 400 itself when the last transfer coding is
/// another), but the handlers would parse what is left of a body in another transfer coding,
/// or in a content coding, as the JSON or form they expect. So: 400 for a transfer coding
/// other than `chunked`, or `chunked` twice; 415 with `Accept-Encoding: identity` for a
/// content coding other than `identity` (RFC 9110, sections 8.4 and 12.5.3). RFC 9112
/// (section 6.1) suggests 501 for an unknown transfer coding, but a client could then raise the
/// service's 5xx count, which the deployment's rollback alarm reads, at will.
fn coding_refusal(headers: &HeaderMap) -> Option<Response> {
    let mut chunked = 0;
    for coding in codings(headers, &header::TRANSFER_ENCODING) {
        match coding {
            Some(coding) if coding.eq_ignore_ascii_case("chunked") => chunked += 1,
            other => {
                let why = unsupported("transfer", other, "as it is, or chunked");
                return Some(Error::BadRequest(why).into_response());
            }
        }
    }
    // hyper takes `chunked, chunked` for one layer: the body would reach the parser still
    // framed, and a proxy before the server may have framed it either way.
    if chunked > 1 {
        return Some(
            Error::BadRequest(
                "a body is chunked once (RFC 9112, section 6.1), not several times".to_owned(),
            )
            .into_response(),
        );
    }
    let content = codings(headers, &header::CONTENT_ENCODING)
        .find(|coding| !coding.is_some_and(|c| c.eq_ignore_ascii_case("identity")))?;
    let why = unsupported("content", content, "uncoded");
    let mut refused = Error::UnsupportedMediaType(why).into_response();
    refused.headers_mut().insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    Some(refused)
}

/// The codings a list header names, over all its lines, empty items skipped; `None` for a line
/// that is not text.
fn codings<'a>(headers: &'a HeaderMap, name: &HeaderName) -> impl Iterator<Item = Option<&'a str>> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(list) => list
                .split(',')
                .map(str::trim)
                .filter(|coding| !coding.is_empty())
                .map(Some)
                .collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
}

/// Why a body in `coding` (`None`: not text) of `kind` ("transfer", "content") is refused, and
/// how to `send` it instead.
fn unsupported(kind: &str, coding: Option<&str>, send: &str) -> String {
    match coding {
        Some(coding) => format!(
            "the {kind} coding '{}' is not supported: send the body {send}",
            echoed(coding)
        ),
        None => format!("the {kind} codings are not text: send the body {send}"),
    }
}

pub async fn not_found(uri: Uri) -> Error {
    Error::NotFound(format!("no such resource: {}", Clipped(uri.path())))
}

pub async fn method_not_allowed(request: Request) -> Error {
    Error::MethodNotAllowed(format!(
        "{} is not allowed on this resource",
        Clipped(request.method().as_str())
    ))
}

/// A browser gets errors as a page, wherever they come from: the shedding and deadline above,
/// the fallbacks, or a request the pages' extractors refuse (a repeated query parameter).
/// Problem+json stays the answer of the API, and of any client that does not ask for HTML.
///
/// Outside the API such an error answer depends on `Accept`, and says so (`Vary: Accept`): a
/// cache must not give the problem+json a program got to a browser, or the other way round.
fn html_errors(response: Response, negotiated: bool, browser_page: bool) -> Response {
    let Some(ProblemDetail(detail)) = response.extensions().get::<ProblemDetail>() else {
        return response;
    };
    let mut answer = if browser_page {
        error_page(&response, detail.clone())
    } else {
        response
    };
    if negotiated {
        answer
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept"));
    }
    answer
}

/// The headers of an error answer that its page keeps, because they are about the resource or
/// the error rather than the body: `Allow`, which RFC 9110 requires with 405, `Retry-After`,
/// when a 503 may be over, and `Accept-Encoding`, the content codings a 415 takes. The others
/// describe the problem+json body the page replaces (`Content-Type`, `Content-Length`) or are
/// added to the page by the layers outside this one.
const KEPT_HEADERS: [HeaderName; 3] = [header::ALLOW, header::RETRY_AFTER, header::ACCEPT_ENCODING];

/// The page for a problem+json answer: the same status and detail, and its [`KEPT_HEADERS`].
/// In this app axum adds `Allow` after this middleware has run (the method router sets it
/// outside the layers of `Router::layer`); keeping it here does not rely on that order.
fn error_page(problem: &Response, detail: String) -> Response {
    let mut page = PageError::new(problem.status(), detail).into_response();
    for name in KEPT_HEADERS {
        if let Some(value) = problem.headers().get(&name) {
            page.headers_mut().insert(name, value.clone());
        }
    }
    page
}

/// Whether `Accept` asks for HTML: it names `text/html` (media types are not case-sensitive)
/// and does not refuse it with `q=0`. `*/*`, which programs send, is not asking for HTML.
fn accepts_html(headers: &HeaderMap) -> bool {
    let refused = |parameter: &str| {
        parameter.split_once('=').is_some_and(|(name, q)| {
            name.trim().eq_ignore_ascii_case("q") && q.trim().parse::<f32>() == Ok(0.0)
        })
    };
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|range| {
            let mut parts = range.split(';');
            let media_type = parts.next().unwrap_or_default().trim();
            media_type.eq_ignore_ascii_case("text/html") && !parts.any(refused)
        })
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Method;
    use axum::routing::get;
    use tower::{Layer, ServiceExt};

    use super::*;

    /// Codings are read over all lines of the header, in any case, empty items skipped; the
    /// first the server does not undo is named.
    #[test]
    fn bodies_are_refused_for_the_codings_the_server_does_not_undo() {
        // The header lines sent, and the refusal expected: its status and part of its detail.
        type Lines<'a> = &'a [(&'a str, &'a [u8])];
        let cases: [(Lines, Option<(u16, &str)>); 12] = [
            (&[], None),
            (&[("transfer-encoding", b"chunked")], None),
            (&[("transfer-encoding", b"CHUNKED")], None),
            (&[("content-encoding", b"Identity")], None),
            (&[("content-encoding", b", identity,")], None),
            (
                &[("transfer-encoding", b"gzip, chunked")],
                Some((400, "transfer coding 'gzip'")),
            ),
            // hyper reads the last line only: `chunked`.
            (
                &[
                    ("transfer-encoding", b"gzip"),
                    ("transfer-encoding", b"chunked"),
                ],
                Some((400, "transfer coding 'gzip'")),
            ),
            (
                &[
                    ("transfer-encoding", b"chunked"),
                    ("transfer-encoding", b"chunked"),
                ],
                Some((400, "chunked once")),
            ),
            (
                &[("transfer-encoding", b"\xffchunked")],
                Some((400, "transfer codings are not text")),
            ),
            (
                &[("content-encoding", b"identity, br")],
                Some((415, "content coding 'br'")),
            ),
            (
                &[("content-encoding", b"gzip;q=1")],
                Some((415, "content coding 'gzip;q=1'")),
            ),
            (
                &[("content-encoding", b"\xe9")],
                Some((415, "content codings are not text")),
            ),
        ];
        for (lines, refused) in cases {
            let mut headers = HeaderMap::new();
            for (name, value) in lines {
                headers.append(
                    HeaderName::from_static(name),
                    HeaderValue::from_bytes(value).unwrap(),
                );
            }
            let answer = coding_refusal(&headers);
            let got = answer.as_ref().map(|a| {
                let detail = &a.extensions().get::<ProblemDetail>().unwrap().0;
                (a.status().as_u16(), detail.clone())
            });
            match (refused, &got) {
                (None, None) => {}
                (Some((status, detail)), Some((got_status, got_detail))) => {
                    assert_eq!(status, *got_status, "{lines:?}");
                    assert!(got_detail.contains(detail), "{lines:?}: {got_detail}");
                }
                _ => panic!("{lines:?}: expected {refused:?}, got {got:?}"),
            }
            if refused.is_some_and(|(status, _)| status == 415) {
                let answer = answer.unwrap();
                assert_eq!(answer.headers()[header::ACCEPT_ENCODING], "identity");
            }
        }
    }

    /// Around the whole router, where it sees the `Allow` that axum adds, the middleware
    /// keeps it on the page; and the 503's `Retry-After` as the problem+json answer gave it.
    #[tokio::test]
    async fn error_pages_keep_allow_and_retry_after() {
        let busy = || async {
            let mut response =
                Error::Unavailable("the server is at capacity".to_owned()).into_response();
            response.headers_mut().insert(header::RETRY_AFTER, 7.into());
            response
        };
        let router = Router::new()
            .route("/", get(|| async {}))
            .route("/busy", get(busy))
            .method_not_allowed_fallback(method_not_allowed);
        let limits = Limits::new(&Settings::defaults());
        let app = axum::middleware::from_fn_with_state(limits, frame).layer(router);
        let send = async |method: Method, path: &str| {
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header(header::HOST, "localhost")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap();
            app.clone().oneshot(request).await.unwrap()
        };
        let is_page = |response: &Response| {
            let kind = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
            kind.starts_with("text/html")
        };

        let put = send(Method::PUT, "/").await;
        assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(is_page(&put));
        assert_eq!(put.headers()[header::ALLOW], "GET,HEAD");

        let busy = send(Method::GET, "/busy").await;
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(is_page(&busy));
        assert_eq!(busy.headers()[header::RETRY_AFTER], "7");
    }

    /// The body and the handler share the request's deadline: a body that takes 0.6 s of a 1 s
    /// deadline leaves a handler that takes 0.7 s too little, though each alone fits.
    #[tokio::test]
    async fn reading_the_body_and_handling_share_one_deadline() {
        let slow = || async {
            tokio::time::sleep(Duration::from_millis(700)).await;
            "done"
        };
        let router = Router::new().route("/slow", axum::routing::post(slow));
        let settings = Settings {
            request_timeout_secs: 1,
            ..Settings::defaults()
        };
        let app = axum::middleware::from_fn_with_state(Limits::new(&settings), frame).layer(router);
        let send = async |body_pause: Duration| {
            let chunks = futures::stream::once(async move {
                tokio::time::sleep(body_pause).await;
                Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"body"))
            });
            let request = Request::post("/slow")
                .header(header::HOST, "localhost")
                .body(Body::from_stream(chunks))
                .unwrap();
            app.clone().oneshot(request).await.unwrap().status()
        };

        assert_eq!(send(Duration::ZERO).await, StatusCode::OK);
        assert_eq!(
            send(Duration::from_millis(600)).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn loopback_hosts_are_localhost_and_loopback_addresses_with_any_port() {
        for host in [
            "localhost",
            "LocalHost:8080",
            "app.localhost:3000",
            "localhost.",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_loopback_host(host.as_bytes()), "{host}");
        }
        for host in [
            "rebind.attacker.example",
            "rebind.attacker.example:8080",
            "localhost.attacker.example",
            "notlocalhost",
            "10.0.0.1:8080",
            "0.0.0.0",
            "[::1",
            "[::1]x",
            "[2001:db8::1]:80",
            "",
        ] {
            assert!(!is_loopback_host(host.as_bytes()), "{host}");
        }
        assert!(!is_loopback_host(b"\xff"));
    }

    /// Listening on loopback, a request for another host is refused with 421 before anything
    /// else, a form post included; one without `Host` (a program speaking HTTP/1.0) is
    /// answered. Listening on every address, as in the container behind the load balancer, any
    /// host is answered.
    #[tokio::test]
    async fn only_loopback_hosts_are_answered_on_loopback() {
        let rebound = "rebind.attacker.example:8080";
        for method in [Method::GET, Method::POST] {
            let request = || Request::builder().method(method.clone()).uri("/");
            let refused = served("127.0.0.1", request().header(header::HOST, rebound)).await;
            assert_eq!(refused, StatusCode::MISDIRECTED_REQUEST, "{method}");
            let local = request().header(header::HOST, "localhost:8080");
            assert_eq!(served("127.0.0.1", local).await, StatusCode::OK);
            let without_host = request().version(Version::HTTP_10);
            assert_eq!(served("127.0.0.1", without_host).await, StatusCode::OK);
            let any = request().header(header::HOST, rebound);
            assert_eq!(served("0.0.0.0", any).await, StatusCode::OK);
        }
        // HTTP/2's `:authority` (or a target in absolute form) names the host.
        let h2 = |target| Request::get(target).version(Version::HTTP_2);
        let refused = served("127.0.0.1", h2("http://rebind.attacker.example/")).await;
        assert_eq!(refused, StatusCode::MISDIRECTED_REQUEST);
        let local = served("127.0.0.1", h2("http://localhost:8080/")).await;
        assert_eq!(local, StatusCode::OK);
    }

    /// An HTTP/1.1 request without `Host` (whatever its target), with two, or with one that
    /// names no host gets 400 on any address, as RFC 9112 asks. A target must name a valid host
    /// over HTTP, the same as `Host`.
    #[tokio::test]
    async fn requests_name_their_host_once_and_validly() {
        for bind in ["127.0.0.1", "0.0.0.0"] {
            let without = Request::get("/");
            assert_eq!(
                served(bind, without).await,
                StatusCode::BAD_REQUEST,
                "{bind}"
            );
            let twice = Request::get("/")
                .header(header::HOST, "localhost")
                .header(header::HOST, "rebind.attacker.example");
            assert_eq!(served(bind, twice).await, StatusCode::BAD_REQUEST, "{bind}");
            for host in [
                "",
                ":8080",
                "local host",
                "ann@localhost",
                "localhost:port",
                "localhost:+80",
                "localhost:99999",
                "[::1",
            ] {
                let invalid = Request::get("/").header(header::HOST, host);
                let status = served(bind, invalid).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{bind} {host:?}");
            }
            for host in [
                "localhost",
                "127.0.0.1:80",
                "[::1]:8080",
                "app.localhost:3000",
            ] {
                let valid = Request::get("/").header(header::HOST, host);
                assert_eq!(served(bind, valid).await, StatusCode::OK, "{bind} {host}");
            }
            // HTTP/1.1 asks for `Host` with a target in absolute form too.
            let absolute = Request::get("http://localhost:8080/");
            let status = served(bind, absolute).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bind}");
            // The same host in another case, with a trailing dot or the scheme's port.
            for (target, host) in [
                ("http://LocalHost:8080/", "localhost:8080"),
                ("http://localhost/", "localhost:80"),
                ("https://localhost./", "localhost:443"),
                ("http://[::1]:80/", "[::1]"),
            ] {
                let same = Request::get(target).header(header::HOST, host);
                assert_eq!(served(bind, same).await, StatusCode::OK, "{bind} {target}");
            }
            let other_port =
                Request::get("http://localhost/").header(header::HOST, "localhost:8080");
            let status = served(bind, other_port).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bind}");
            let h2 = || Request::get("https://localhost/").version(Version::HTTP_2);
            assert_eq!(served(bind, h2()).await, StatusCode::OK, "{bind}");
            // The target and `Host` must name one host, which every check then reads.
            let two = Request::get("http://localhost/").header(header::HOST, "calendar.example");
            assert_eq!(served(bind, two).await, StatusCode::BAD_REQUEST, "{bind}");
            let two = h2().header(header::HOST, "calendar.example");
            assert_eq!(served(bind, two).await, StatusCode::BAD_REQUEST, "{bind}");
            for target in [
                "http://a.localhost:x@evil.example/",
                "http://localhost:abc/",
                "ftp://localhost/",
                "localhost:80",
            ] {
                // With a `Host`, so that the target alone is at fault.
                let request = Request::get(target).header(header::HOST, "localhost");
                let status = served(bind, request).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{bind} {target}");
            }
            let h2_without_host = Request::get("/").version(Version::HTTP_2);
            let status = served(bind, h2_without_host).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bind}");
        }
    }

    /// The status of `request` to an app listening on `bind`.
    async fn served(bind: &str, request: axum::http::request::Builder) -> StatusCode {
        let router = Router::new().route(
            "/",
            get(|| async { "calendar" }).post(|| async { "booked" }),
        );
        let settings = Settings {
            bind_address: bind.parse().unwrap(),
            ..Settings::defaults()
        };
        let app = axum::middleware::from_fn_with_state(Limits::new(&settings), frame).layer(router);
        let answer = app
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        answer.status()
    }

    /// A method or path of any length is logged, and told back, as its first 200 bytes (which
    /// percent-encoding may make up to three times as long).
    #[test]
    fn long_methods_and_paths_are_clipped() {
        let long = "M".repeat(400_000);
        let shown = Clipped(&long).to_string();
        assert_eq!(shown, format!("{}…", &long[..200]));
        assert_eq!(Clipped("/api/v1/bookings").to_string(), "/api/v1/bookings");
        let wide = "é".repeat(150);
        assert_eq!(
            Clipped(&wide).to_string(),
            format!("{}…", "%C3%A9".repeat(100))
        );
    }

    /// A browser's `Accept` asks for HTML; `*/*`, another type, or `text/html` refused with
    /// `q=0` does not.
    #[test]
    fn html_is_asked_for_by_name_and_not_refused() {
        let asks = |values: &[&'static str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(header::ACCEPT, HeaderValue::from_static(value));
            }
            accepts_html(&headers)
        };
        for browser in [
            &["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"][..],
            &["TEXT/HTML"],
            &["application/json", "text/html; q=0.5"],
            &["text/html;level=1;q=1"],
        ] {
            assert!(asks(browser), "{browser:?}");
        }
        for program in [
            &[][..],
            &["*/*"],
            &["application/problem+json, text/*"],
            &["text/html;q=0, */*"],
            &["text/html; Q=0.000"],
            &["text/htmlx"],
        ] {
            assert!(!asks(program), "{program:?}");
        }
    }

    /// What is not visible ASCII is shown percent-encoded, so that a path cannot write what
    /// looks like another field, or another line, into the text log.
    #[test]
    fn invisible_and_non_ascii_characters_are_percent_encoded() {
        let forged = "/x\u{A0}request_id=F}:\u{2028}\u{85}\u{202E} z\u{7F}é";
        assert_eq!(
            Clipped(forged).to_string(),
            "/x%C2%A0request_id=F}:%E2%80%A8%C2%85%E2%80%AE%20z%7F%C3%A9"
        );
        assert_eq!(Clipped("\u{A0}\u{A0}").to_string(), "%C2%A0%C2%A0");
        assert_eq!(Clipped("").to_string(), "");
    }
}
