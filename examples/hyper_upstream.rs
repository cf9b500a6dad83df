//! The floor for a request that makes one DynamoDB call, in the benchmark (`scripts/bench`): a
//! minimal hyper 1.x server on the same tokio runtime the app uses that, for every request,
//! sends one `POST /` with a `TransactWriteItems` target to `UPSTREAM` over a kept-alive
//! hyper-util connection (as the app's DynamoDB client does), waits for the answer, and answers
//! 201 with nothing else (no parsing, no signing, no routing, no middleware, no logging).
//!
//! `PORT` (default 8082) on 127.0.0.1, `UPSTREAM` (an `http://` URL); runs until killed.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

type Upstream = Client<HttpConnector, Full<Bytes>>;

async fn forward(
    upstream: Upstream,
    uri: Uri,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let status = match call(&upstream, uri, request).await {
        Ok(()) => StatusCode::CREATED,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    Ok(response)
}

async fn call(
    upstream: &Upstream,
    uri: Uri,
    request: Request<Incoming>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let body = request.into_body().collect().await?.to_bytes();
    let call = Request::post(uri)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "DynamoDB_20120810.TransactWriteItems")
        .body(Full::new(body))?;
    let answer = upstream.request(call).await?;
    answer.into_body().collect().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8082);
    let uri: Uri = std::env::var("UPSTREAM")
        .ok()
        .and_then(|u| u.parse().ok())
        .ok_or_else(|| std::io::Error::other("UPSTREAM must be an http:// URL"))?;
    let upstream: Upstream = Client::builder(TokioExecutor::new()).build_http();
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let (upstream, uri) = (upstream.clone(), uri.clone());
        tokio::spawn(async move {
            let service =
                service_fn(move |request| forward(upstream.clone(), uri.clone(), request));
            // A client closing its connection mid-request is not an error worth reporting here.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
