//! The real binary as a child process, for what only a process shows: configuration errors,
//! signals, exit codes, log lines and data that survives a restart.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_leave-calendar");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// The TCP port process `pid` listens on, from its sockets in `/proc`, once it listens.
fn listening_port(pid: u32) -> Option<u16> {
    let sockets: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_str()?;
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    // Columns: sl, local address (hex address:hex port), remote address, state, …, inode.
    const LISTEN: &str = "0A";
    ["tcp", "tcp6"].iter().find_map(|table| {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).ok()?;
        text.lines().skip(1).find_map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (columns.get(1)?, columns.get(3)?, columns.get(9)?);
            if *state != LISTEN || !sockets.iter().any(|s| s == inode) {
                return None;
            }
            u16::from_str_radix(local.rsplit(':').next()?, 16).ok()
        })
    })
}

/// The binary with a clean environment (no AWS settings from the machine running the tests).
pub fn command(env: &[(&str, &str)]) -> Command {
    command_of(BINARY, env)
}

/// The backfill tool (`src/bin/leave-calendar-backfill.rs`) with only `env` and `PATH`.
pub fn backfill_command(env: &[(&str, &str)]) -> Command {
    command_of(env!("CARGO_BIN_EXE_leave-calendar-backfill"), env)
}

fn command_of(binary: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// The settings of an instance on DynamoDB: `table` at `endpoint` (the emulator, or a proxy in
/// front of it), with the emulator's credentials. Callers add their own settings.
pub fn dynamo_env<'a>(table: &'a str, endpoint: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("STORE", "dynamodb"),
        ("DYNAMODB_TABLE", table),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

/// Sends the signal `name` (`TERM`, `INT`) to `child`.
pub fn send_signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Waits for `child` to exit, at most `limit`; one still running then is killed, and the test
/// fails.
pub fn wait_for_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub struct Server {
    pub port: u16,
    child: Child,
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// Collects stdout into `stdout` until the process closes it.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts the binary on a port the system picks and waits until `/health` answers.
    ///
    /// The port is read from the process's own listening socket rather than chosen before the
    /// start: a port found free and released again can be taken by another test's server
    /// meanwhile, whose answers would then pass for this one's.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let mut env = env.to_vec();
        env.push(("PORT", "0"));
        let mut child = command(&env)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("binary starts");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stdout);
        let pipe = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                panic!("the server exited before it listened: {status}");
            }
            if let Some(port) = listening_port(child.id()) {
                break port;
            }
            assert!(Instant::now() < deadline, "server did not listen");
            std::thread::sleep(Duration::from_millis(5));
        };
        let server = Self {
            port,
            child,
            reader: Some(reader),
            stdout,
        };
        while !server.healthy() {
            assert!(Instant::now() < deadline, "server did not become healthy");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn healthy(&self) -> bool {
        leave_calendar::healthcheck::check("127.0.0.1".parse().unwrap(), self.port).is_ok()
    }

    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends the signal `name` (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        send_signal(&self.child, name);
    }

    /// SIGKILL: the process dies at once, without draining.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let status = wait_for_exit(&mut self.child, limit);
        // Every line written before the exit is in `stdout` once the reader is done.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        status
    }

    /// The process's peak resident memory (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }

    pub fn lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
