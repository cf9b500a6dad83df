//! Log lines written to standard output in batches by the runtime's workers.
//!
//! Each line used to be its own `write` to standard output, which in a container is a pipe to
//! the container runtime: a system call, and a wake-up of the reader, per request. The runtime's
//! workers now add their lines to one shared batch, which a worker writes in one `write` when it
//! runs out of work and is about to sleep (tokio's `on_thread_park`): a busy service writes many
//! requests' lines at once, and an idle one writes each line as soon as its request is done. A
//! batch is also written as a line is added once it holds [`FLUSH_AT`] bytes or its oldest line
//! is [`FLUSH_AFTER`] old, and when a worker stops or the process exits on a second stop signal.
//!
//! Lines reach the output whole and in the order they were added. Every other thread (the main
//! thread, the blocking pool's, the embedded store's writer) writes its lines at once, as do the
//! workers until they first sleep, so their lines can come before workers' lines logged
//! earlier (each line has its timestamp). What it gives up: a process killed with SIGKILL loses
//! the lines of the batch, and while every worker stays busy without logging, the batch waits
//! for one of them to run out of work.

use std::cell::Cell;
use std::io::{self, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// A batch this large is written as the line that fills it is added.
const FLUSH_AT: usize = 16 * 1024;

/// A batch whose oldest line is this old is written as a line is added.
const FLUSH_AFTER: Duration = Duration::from_millis(100);

/// The workers' batch.
static BATCH: Batch = Batch::new();

thread_local! {
    /// Set once this thread has gone to sleep as a runtime worker: from then on its lines go
    /// to the batch.
    static BATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Lines held to be written together.
struct Batch {
    lines: Mutex<Lines>,
}

struct Lines {
    bytes: Vec<u8>,
    /// When the oldest line held was added.
    since: Option<Instant>,
}

impl Batch {
    const fn new() -> Self {
        Self {
            lines: Mutex::new(Lines {
                bytes: Vec::new(),
                since: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Lines> {
        // A panic while a line was added leaves at worst part of it: still worth writing.
        self.lines.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `line`, added at `now`, and writes the batch to `out` if that makes it due.
    fn add(&self, line: &[u8], now: Instant, out: &mut impl Write) {
        let due = {
            let mut lines = self.lock();
            lines.bytes.extend_from_slice(line);
            let since = *lines.since.get_or_insert(now);
            lines.bytes.len() >= FLUSH_AT || now.duration_since(since) >= FLUSH_AFTER
        };
        if due {
            self.write_out(out);
        }
    }

    /// Writes the lines held to `out`, holding the batch meanwhile so that batches reach the
    /// output in order. Lines that cannot be written are dropped, as tracing-subscriber drops a
    /// line it cannot write, so that a closed output cannot grow the batch without bound.
    fn write_out(&self, out: &mut impl Write) {
        let mut lines = self.lock();
        if !lines.bytes.is_empty() {
            let _ = out.write_all(&lines.bytes);
            lines.bytes.clear();
        }
        lines.since = None;
    }
}

/// Standard output for tracing-subscriber, through the batch above.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct BatchedStdout;

impl MakeWriter<'_> for BatchedStdout {
    type Writer = Self;

    fn make_writer(&self) -> Self {
        Self
    }
}

impl Write for BatchedStdout {
    /// Takes one whole formatted line (tracing-subscriber writes each with one `write_all`).
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        if BATCHING.get() {
            BATCH.add(line, Instant::now(), &mut io::stdout());
        } else {
            io::stdout().write_all(line)?;
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// For the runtime's `on_thread_park`: writes the batch, and puts this worker's lines in it
/// from now on.
pub fn before_worker_sleeps() {
    BATCHING.set(true);
    BATCH.write_out(&mut io::stdout());
}

/// For the runtime's `on_thread_stop`, and for whoever exits the process: writes the batch.
pub fn write_held_lines() {
    BATCH.write_out(&mut io::stdout());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_held_until_written_out_then_written_together_in_order() {
        let (batch, start) = (Batch::new(), Instant::now());
        let mut unused = Vec::new();
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let (batch, mut unused) = (&batch, Vec::new());
                scope.spawn(move || {
                    for n in 0..100 {
                        let line = format!("{thread} {n}\n");
                        batch.add(line.as_bytes(), start, &mut unused);
                    }
                    assert!(unused.is_empty(), "not due");
                });
            }
        });
        batch.add(b"last\n", start, &mut unused);
        assert!(unused.is_empty(), "held");

        let mut out = Vec::new();
        batch.write_out(&mut out);
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 401);
        assert_eq!(lines.last(), Some(&"last"));
        for thread in 0..4 {
            let mine: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("{thread} ")))
                .collect();
            let expected: Vec<String> = (0..100).map(|n| format!("{thread} {n}")).collect();
            assert_eq!(mine, expected, "each thread's lines whole and in order");
        }
        let mut again = Vec::new();
        batch.write_out(&mut again);
        assert!(again.is_empty(), "written once");
    }

    #[test]
    fn a_batch_is_written_once_it_is_full() {
        let (batch, now, mut out) = (Batch::new(), Instant::now(), Vec::new());
        let line = [b'x'; 1000];
        let lines_in_a_batch = FLUSH_AT.div_ceil(line.len());
        for _ in 1..lines_in_a_batch {
            batch.add(&line, now, &mut out);
        }
        assert!(out.is_empty(), "below {FLUSH_AT} bytes");
        batch.add(&line, now, &mut out);
        assert_eq!(out.len(), lines_in_a_batch * line.len());
    }

    #[test]
    fn a_batch_is_written_once_its_oldest_line_is_old() {
        let (batch, start, mut out) = (Batch::new(), Instant::now(), Vec::new());
        batch.add(b"first\n", start, &mut out);
        batch.add(
            b"second\n",
            start + FLUSH_AFTER - Duration::from_millis(1),
            &mut out,
        );
        assert!(out.is_empty(), "younger than {FLUSH_AFTER:?}");
        batch.add(b"third\n", start + FLUSH_AFTER, &mut out);
        assert_eq!(out, b"first\nsecond\nthird\n");

        // The age counts from the oldest line of the next batch.
        out.clear();
        let later = start + 3 * FLUSH_AFTER;
        batch.add(b"fourth\n", later, &mut out);
        batch.add(b"fifth\n", later + FLUSH_AFTER / 2, &mut out);
        assert!(out.is_empty());
    }

    /// Lines that cannot be written are dropped, not kept growing.
    #[test]
    fn lines_that_cannot_be_written_are_not_kept() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let batch = Batch::new();
        batch.add(b"one\n", Instant::now(), &mut Closed);
        batch.write_out(&mut Closed);
        let mut out = Vec::new();
        batch.write_out(&mut out);
        assert!(out.is_empty());
    }
}
