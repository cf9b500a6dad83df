//! haproxy in front of several instances, standing in for the ALB and its target group: an
//! active health check on `/health`, and the runtime API (a unix socket, admin level) to take a
//! server out of rotation and put it back the way ECS deregisters and registers targets.
//!
//! Like the ALB, haproxy here does not retry a request on another server (`retries 0`, no
//! `option redispatch`): a request sent to an instance that has died fails, as it would on AWS.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::process::free_port;

/// Health check period; a server is marked down after `FALL` failed checks and up after
/// `RISE` good ones (the target group's interval and thresholds, scaled down).
pub const CHECK_INTERVAL: Duration = Duration::from_millis(200);
const FALL: u32 = 2;
const RISE: u32 = 2;
const BACKEND: &str = "app";
/// A request header naming the request, logged with the server haproxy sent it to: see
/// [`Haproxy::servers`].
pub const REQUEST_ID_HEADER: &str = "x-test-request";
/// Starts haproxy's request lines, which share the log with its other messages.
const LOG_PREFIX: &str = "request:";

pub struct Haproxy {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Haproxy {
    /// Starts haproxy with one server per port, named `s1`, `s2`, …, and waits until every
    /// server passes its health check. Panics with a clear message when haproxy is missing:
    /// the test must fail, not be skipped, on a machine without it.
    pub fn start(ports: &[u16]) -> Self {
        let installed = Command::new("haproxy")
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed,
            "haproxy is not installed: `apt-get install haproxy` (.ci/run installs it)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let socket = dir.path().join("admin.sock");
        let servers: String = ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("    server s{} 127.0.0.1:{p} check\n", i + 1))
            .collect();
        let config = format!(
            "global
    stats socket {socket} mode 600 level admin
    maxconn 2048
    log stdout format raw local0

defaults
    mode http
    log global
    retries 0
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    # A check answer may be slow on a busy test machine; a dead server still fails at once.
    timeout check 2s

frontend web
    bind 127.0.0.1:{port}
    # A line per request when it ends: its id and the server it was sent to.
    http-request capture req.hdr({REQUEST_ID_HEADER}) len 40
    log-format \"{LOG_PREFIX} %[capture.req.hdr(0)] %s\"
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    default-server inter {inter}ms fall {FALL} rise {RISE}
{servers}",
            socket = socket.display(),
            inter = CHECK_INTERVAL.as_millis(),
        );
        let config_path = dir.path().join("haproxy.cfg");
        std::fs::write(&config_path, config).expect("write haproxy.cfg");
        let log = std::fs::File::create(dir.path().join("haproxy.log")).expect("log file");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&config_path)
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start haproxy");
        let haproxy = Self { port, child, dir };
        haproxy.wait_for("the admin socket", Duration::from_secs(10), || {
            haproxy.socket_path().exists() && haproxy.try_command("show info").is_ok()
        });
        for slot in 1..=ports.len() {
            haproxy.wait_status(slot, "UP", Duration::from_secs(10));
        }
        haproxy
    }

    /// The server (`s1`, `s2`, …, or `<NOSRV>`) each request that carried
    /// [`REQUEST_ID_HEADER`] was sent to, by id, from haproxy's log.
    pub fn servers(&self) -> HashMap<String, String> {
        let log = std::fs::read_to_string(self.dir.path().join("haproxy.log")).expect("log");
        log.lines()
            .filter_map(|line| {
                let mut words = line.strip_prefix(LOG_PREFIX)?.split_whitespace();
                Some((words.next()?.to_owned(), words.next()?.to_owned()))
            })
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn socket_path(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    fn try_command(&self, command: &str) -> std::io::Result<String> {
        let mut stream = UnixStream::connect(self.socket_path())?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(format!("{command}\n").as_bytes())?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    }

    /// Sends one command to the runtime API and returns its answer.
    pub fn command(&self, command: &str) -> String {
        self.try_command(command)
            .unwrap_or_else(|e| panic!("haproxy runtime API, `{command}`: {e}\n{}", self.log()))
    }

    /// `ready`, `drain` or `maint` for server `s<slot>`.
    pub fn set_state(&self, slot: usize, state: &str) {
        let answer = self.command(&format!("set server {BACKEND}/s{slot} state {state}"));
        assert!(answer.trim().is_empty(), "set state {state}: {answer}");
    }

    /// Points server `s<slot>` at another port (a new task registered in the slot of the old).
    pub fn set_port(&self, slot: usize, port: u16) {
        let answer = self.command(&format!(
            "set server {BACKEND}/s{slot} addr 127.0.0.1 port {port}"
        ));
        assert!(answer.contains("changed"), "set addr: {answer}");
    }

    /// The server's status column of `show stat` (`UP`, `DOWN`, `MAINT`, `DRAIN`, `UP 1/2`, …)
    /// and its current sessions (requests it is serving).
    pub fn server(&self, slot: usize) -> (String, u64) {
        let stat = self.command("show stat");
        let header: Vec<&str> = stat
            .lines()
            .next()
            .expect("show stat header")
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let column = |name: &str| header.iter().position(|h| *h == name).expect(name);
        let (status, scur) = (column("status"), column("scur"));
        let name = format!("s{slot}");
        stat.lines()
            .map(|line| line.split(',').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&BACKEND) && f.get(1) == Some(&name.as_str()))
            .map(|f| (f[status].to_owned(), f[scur].parse().unwrap_or(0)))
            .unwrap_or_else(|| panic!("no server {name} in show stat:\n{stat}"))
    }

    /// Waits until server `s<slot>` has `status`; returns when it was seen.
    pub fn wait_status(&self, slot: usize, status: &str, limit: Duration) -> Instant {
        self.wait_for(&format!("server s{slot} {status}"), limit, || {
            self.server(slot).0 == status
        })
    }

    /// Waits until server `s<slot>` serves no request.
    pub fn wait_idle(&self, slot: usize, limit: Duration) {
        self.wait_for(&format!("server s{slot} idle"), limit, || {
            self.server(slot).1 == 0
        });
    }

    fn wait_for(&self, what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Instant {
        let deadline = Instant::now() + limit;
        loop {
            if done() {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "haproxy: no {what} within {limit:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
