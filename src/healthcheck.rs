//! The `healthcheck` subcommand: the container image has no shell and no curl, so the binary
//! itself asks the local server for `/health`.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(2);

/// Asks `GET /health` on this machine's `port`; `Ok` when the answer is 200.
pub fn check(bind_address: IpAddr, port: u16) -> anyhow::Result<()> {
    // A server bound to every address is reached on loopback.
    let host = if bind_address.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        bind_address
    };
    let address = SocketAddr::new(host, port);
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    match &head {
        b"HTTP/1.1 200" => Ok(()),
        other => anyhow::bail!(
            "unexpected answer from {address}: {}",
            String::from_utf8_lossy(other)
        ),
    }
}
