//! A TCP proxy on 127.0.0.1 that holds every connection's first bytes for a while before
//! passing traffic on: a store that is reachable but slow.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Proxies to `upstream` (an `http://host:port` URL); returns the proxy's URL.
pub async fn start(upstream: &str, delay: Duration) -> String {
    let target = upstream.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let address = listener.local_addr().expect("proxy address");
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                let mut first = vec![0u8; 64 * 1024];
                let Ok(n) = client.read(&mut first).await else {
                    return;
                };
                tokio::time::sleep(delay).await;
                let Ok(mut server) = TcpStream::connect(&target).await else {
                    return;
                };
                if server.write_all(&first[..n]).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    format!("http://{address}")
}
