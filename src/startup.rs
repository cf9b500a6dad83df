//! Builds the application from settings and serves it until SIGTERM or Ctrl-C.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::config::{Settings, StoreKind};
use crate::dynamodb;
use crate::http::{self, AppState};
use crate::store::LeaveStore;
use crate::store::dynamo::{Backfilled, DynamoStore};
use crate::store::embedded::EmbeddedStore;
use crate::telemetry;

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    shutdown_timeout: Duration,
    /// Closed once the server has drained: the embedded database must be closed before the
    /// process exits, or its next start repairs the whole file.
    store: Arc<dyn LeaveStore>,
}

impl Application {
    /// Opens the store and binds the port. Every error names the setting at fault.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let store = open_store(settings).await?;
        Self::with_store(settings, store).await
    }

    /// Like [`Application::build`] with a store chosen by the caller (tests). The application
    /// closes the store when it stops.
    pub async fn with_store(
        settings: &Settings,
        store: Arc<dyn LeaveStore>,
    ) -> anyhow::Result<Self> {
        let address = SocketAddr::new(settings.bind_address, settings.port);
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address} (BIND_ADDRESS, PORT)"))?;
        let router = http::router(AppState::new(Arc::clone(&store)), settings);
        Ok(Self {
            listener,
            router,
            shutdown_timeout: settings.shutdown_timeout(),
            store,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until SIGTERM or Ctrl-C (at once if one came while it started), then stops
    /// accepting, lets in-flight requests finish, closes the store, and returns; all within the
    /// shutdown timeout.
    pub async fn run_until_stopped(self, signals: StopSignals) -> anyhow::Result<()> {
        self.run_until(shutdown_signal(signals)).await
    }

    /// Serves until `stop` completes; then drains and closes as
    /// [`Application::run_until_stopped`] does.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            shutdown_timeout,
            store,
        } = self;
        let (deadline_tx, mut deadline_rx) = tokio::sync::oneshot::channel::<Instant>();
        let stop = async move {
            stop.await;
            tracing::info!("shutting down: no new connections, draining in-flight requests");
            // Draining and closing the store share this one bound.
            let _ = deadline_tx.send(Instant::now() + shutdown_timeout);
        };
        let server = axum::serve(listener, router).with_graceful_shutdown(stop);
        let mut server = std::pin::pin!(server.into_future());
        let served = tokio::select! {
            biased;
            Ok(deadline) = &mut deadline_rx => {
                // A request that never ends (a client that sends half of it) must not leave
                // the store no time to close: the drain ends that much earlier.
                let reserve = STORE_CLOSE_RESERVE.min(shutdown_timeout / 4);
                let served = drain(server, deadline - reserve, shutdown_timeout).await;
                close_store(store.as_ref(), deadline).await;
                served
            }
            // Drained as soon as stopped, or failed: the store is closed all the same.
            served = &mut server => {
                let deadline = deadline_rx
                    .try_recv()
                    .unwrap_or_else(|_| Instant::now() + shutdown_timeout);
                close_store(store.as_ref(), deadline).await;
                served.context("server failed")
            }
        };
        tracing::info!("stopped");
        served
    }
}

/// Of the shutdown's time, what closing the store keeps for itself at most (a quarter of it
/// when shorter): the embedded store commits the writes queued and closes its file in
/// milliseconds.
const STORE_CLOSE_RESERVE: Duration = Duration::from_secs(1);

/// Lets the stopping `server` finish its in-flight requests until `deadline`, when it is cut.
async fn drain(
    server: impl std::future::Future<Output = std::io::Result<()>>,
    deadline: Instant,
    bound: Duration,
) -> anyhow::Result<()> {
    match tokio::time::timeout_at(deadline, server).await {
        Ok(served) => served.context("server failed"),
        Err(_) => {
            tracing::warn!(
                timeout_secs = bound.as_secs(),
                "in-flight requests, or connections holding part of one, did not finish in time; exiting anyway"
            );
            Ok(())
        }
    }
}

/// Closes `store` with what is left of the shutdown's time. One that does not close in time is
/// logged and left: exiting within the bound comes first, and an unclosed embedded database
/// loses nothing committed (its next start repairs it).
async fn close_store(store: &dyn LeaveStore, deadline: Instant) {
    let within = deadline.saturating_duration_since(Instant::now());
    if let Err(e) = store.close(within).await {
        tracing::warn!(error = %e, "the store did not close in time; exiting anyway");
    }
}

async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn LeaveStore>> {
    match settings.store {
        StoreKind::Embedded => {
            tracing::info!(data_dir = %settings.data_dir.display(), "using the embedded store");
            Ok(Arc::new(open_embedded(settings)?))
        }
        StoreKind::Dynamodb => Ok(Arc::new(open_dynamodb(settings).await?)),
    }
}

async fn open_dynamodb(settings: &Settings) -> anyhow::Result<DynamoStore> {
    let table = settings
        .dynamodb_table
        .clone()
        .filter(|t| !t.trim().is_empty())
        .context("DYNAMODB_TABLE must be set when STORE=dynamodb")?;
    // Checked here, as nothing reaches DynamoDB at start: a name with a stray space would
    // start, then answer every request 503 as if the table were away for a while.
    let valid = (3..=255).contains(&table.len())
        && table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    anyhow::ensure!(
        valid,
        "DYNAMODB_TABLE must be a DynamoDB table name, 3 to 255 letters, digits, '_', '-' or '.', not {table:?}"
    );
    let client = dynamodb::Client::from_env(settings.store_timeout()).await?;
    tracing::info!(%table, "using DynamoDB");
    Ok(DynamoStore::new(client, table))
}

/// What both binaries start with: logging as `settings` ask, and the async runtime. A failure is
/// printed, and its exit status returned: 2 for bad logging settings, 1 for no runtime.
pub fn logs_and_runtime(settings: &Settings) -> Result<tokio::runtime::Runtime, ExitCode> {
    if let Err(e) = telemetry::init(settings.log_format, &settings.log_level) {
        eprintln!("error: {e:#}");
        return Err(ExitCode::from(2));
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(telemetry::before_worker_sleeps)
        .on_thread_stop(telemetry::write_held_lines)
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

/// The `leave-calendar-backfill` tool: see [`DynamoStore::backfill_fields`]. Each item whose
/// JSON cannot be read is named on standard error, on a line of its own, as it is found.
pub async fn backfill(settings: &Settings) -> anyhow::Result<Backfilled> {
    anyhow::ensure!(
        settings.store == StoreKind::Dynamodb,
        "backfill rewrites DynamoDB items: set STORE=dynamodb"
    );
    let store = open_dynamodb(settings).await?;
    let report = |pk: &str, sk: &str, why: &str| {
        eprintln!("error: left as it is, its JSON cannot be read: {pk} / {sk}: {why}");
    };
    Ok(store.backfill_fields(report).await?)
}

/// The embedded store, its write queue as long as the concurrency limit: each admitted request
/// has at most one write queued (see [`EmbeddedStore::open_with_queue`]).
fn open_embedded(settings: &Settings) -> anyhow::Result<EmbeddedStore> {
    let write_queue = usize::try_from(settings.max_concurrent_requests).unwrap_or(usize::MAX);
    EmbeddedStore::open_with_queue(&settings.data_dir, write_queue).context("DATA_DIR")
}

/// Resolves on the first Ctrl-C or SIGTERM. A second one, while in-flight requests drain, exits
/// at once with status 128 + its number (130 for Ctrl-C, 143 for SIGTERM), as if it had killed
/// the process: whoever presses Ctrl-C twice does not want to wait up to
/// `SHUTDOWN_TIMEOUT_SECS`. Nothing committed is lost (see `close_store`).
#[cfg(unix)]
async fn shutdown_signal(mut signals: StopSignals) {
    signals.next().await;
    tokio::spawn(async move {
        let number = signals.next().await;
        tracing::warn!("stopped again while draining: exiting now");
        // The workers' log lines are held until one of them sleeps (see `telemetry::batched`).
        telemetry::write_held_lines();
        std::process::exit(128 + number);
    });
}

#[cfg(unix)]
pub use unix_signals::{HeldStopSignals, StopSignals};

#[cfg(unix)]
mod unix_signals {
    use std::marker::PhantomData;

    use tokio::signal::unix::{Signal, SignalKind, signal};

    /// Ctrl-C and SIGTERM blocked, from `main` reading its settings until
    /// [`HeldStopSignals::listen`] as the runtime starts, so that one sent meanwhile waits for
    /// its handler instead of being lost. In the container the app is PID 1, and the kernel
    /// drops a signal sent to PID 1 that has no handler and is not blocked: a SIGTERM from ECS
    /// during the start-up was lost, and ECS killed the task after its stop timeout. The
    /// threads started meanwhile (the runtime's) keep them blocked, so they reach the main
    /// thread. One that comes while the app opens its store and binds its port stops it once
    /// it serves: a few milliseconds, longer only while the embedded store repairs its file
    /// after a crash.
    #[must_use = "dropped, the signals are let through at once"]
    pub struct HeldStopSignals {
        /// The mask is the calling thread's: it must be let through on that thread.
        _this_thread_only: PhantomData<*const ()>,
    }

    impl HeldStopSignals {
        pub fn hold() -> Self {
            set_stop_signals_blocked(libc::SIG_BLOCK);
            Self {
                _this_thread_only: PhantomData,
            }
        }

        /// Listens for them, then lets them through: one held meanwhile is taken at once. On
        /// the thread that held them, inside the runtime.
        pub fn listen(self) -> StopSignals {
            let signals = StopSignals::listen();
            drop(self);
            signals
        }
    }

    impl Drop for HeldStopSignals {
        fn drop(&mut self) {
            set_stop_signals_blocked(libc::SIG_UNBLOCK);
        }
    }

    /// Blocks (`SIG_BLOCK`) or unblocks (`SIG_UNBLOCK`) SIGINT and SIGTERM on this thread.
    #[allow(unsafe_code)]
    fn set_stop_signals_blocked(how: libc::c_int) {
        // SAFETY: sigemptyset initialises the set on this stack before sigaddset and
        // pthread_sigmask read it; pthread_sigmask changes only this thread's mask and is given
        // no old-mask pointer to write.
        let failed = unsafe {
            let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigemptyset(set.as_mut_ptr());
            libc::sigaddset(set.as_mut_ptr(), libc::SIGINT);
            libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
            libc::pthread_sigmask(how, set.as_ptr(), std::ptr::null_mut())
        };
        // It fails only for an invalid `how`.
        assert_eq!(failed, 0, "pthread_sigmask");
    }

    /// Ctrl-C (SIGINT) and SIGTERM, listened for from the moment this is made, so that none
    /// sent after is missed, however long before the next wait it arrives.
    pub struct StopSignals {
        interrupt: Option<Signal>,
        terminate: Option<Signal>,
    }

    impl StopSignals {
        fn listen() -> Self {
            Self {
                interrupt: listen(SignalKind::interrupt()),
                terminate: listen(SignalKind::terminate()),
            }
        }

        /// Waits for the next one; its number.
        pub async fn next(&mut self) -> i32 {
            tokio::select! {
                () = received(&mut self.interrupt) => SignalKind::interrupt().as_raw_value(),
                () = received(&mut self.terminate) => SignalKind::terminate().as_raw_value(),
            }
        }
    }

    /// One that cannot be listened for is logged, and the other still works.
    fn listen(kind: SignalKind) -> Option<Signal> {
        signal(kind)
            .inspect_err(|e| {
                tracing::warn!(error = %e, signal = kind.as_raw_value(), "cannot listen for signal");
            })
            .ok()
    }

    async fn received(signal: &mut Option<Signal>) {
        match signal {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    }
}

#[cfg(not(unix))]
pub use ctrl_c::{HeldStopSignals, StopSignals};

/// Elsewhere Ctrl-C alone, and nothing to hold.
#[cfg(not(unix))]
mod ctrl_c {
    pub struct HeldStopSignals;
    pub struct StopSignals;

    impl HeldStopSignals {
        pub fn hold() -> Self {
            Self
        }

        pub fn listen(self) -> StopSignals {
            StopSignals
        }
    }
}

#[cfg(not(unix))]
async fn shutdown_signal(_: StopSignals) {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signals blocked on the calling thread, from the kernel's account of it.
    #[cfg(target_os = "linux")]
    fn blocked_signals() -> Vec<u32> {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let mask = status
            .lines()
            .find_map(|line| line.strip_prefix("SigBlk:"))
            .map(|hex| u64::from_str_radix(hex.trim(), 16).unwrap())
            .unwrap();
        (1..=64).filter(|n| mask & (1 << (n - 1)) != 0).collect()
    }

    /// Held, Ctrl-C (2) and SIGTERM (15) are blocked on the thread that holds them and on the
    /// threads it starts (the runtime's); one sent to the thread meanwhile is taken once
    /// listened for. Unheld, that SIGTERM would kill the test process. (Listening installs
    /// handlers for the whole process: this test's, which nextest runs alone.)
    #[cfg(target_os = "linux")]
    #[test]
    fn a_stop_signal_held_meanwhile_is_taken_once_listened_for() {
        let stop_signals_in =
            |blocked: Vec<u32>| blocked.into_iter().filter(|n| [2, 15].contains(n));
        std::thread::spawn(move || {
            assert_eq!(stop_signals_in(blocked_signals()).count(), 0);
            let held = HeldStopSignals::hold();
            assert!(stop_signals_in(blocked_signals()).eq([2, 15]));
            let started_meanwhile = std::thread::spawn(blocked_signals).join().unwrap();
            assert!(stop_signals_in(started_meanwhile).eq([2, 15]));
            send_sigterm_to_this_thread();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let taken = runtime.block_on(async {
                let mut signals = held.listen();
                tokio::time::timeout(Duration::from_secs(5), signals.next()).await
            });
            assert_eq!(taken, Ok(15));
            assert_eq!(stop_signals_in(blocked_signals()).count(), 0);
        })
        .join()
        .unwrap();
    }

    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    fn send_sigterm_to_this_thread() {
        // SAFETY: raise takes a signal number and sends it to the calling thread.
        let failed = unsafe { libc::raise(libc::SIGTERM) };
        assert_eq!(failed, 0, "raise");
    }

    #[tokio::test]
    async fn the_embedded_write_queue_is_the_configured_concurrency_limit() {
        let dir = tempfile::tempdir().unwrap();
        for limit in [1, 7, 512] {
            let settings = Settings {
                data_dir: dir.path().join(limit.to_string()),
                max_concurrent_requests: limit,
                ..Settings::defaults()
            };
            let store = open_embedded(&settings).unwrap();
            assert_eq!(
                store.write_queue_room(),
                Some(usize::try_from(limit).unwrap())
            );
            store.close(Duration::from_secs(5)).await.unwrap();
        }
    }
}
