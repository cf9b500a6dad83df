//! Log lines written to standard output in batches by the runtime's workers.
//!
//! Each line used to be its own `write` to standard output, which in a container is a pipe to
//! the container runtime: a system call, and a wake-up of the reader, per request. A worker
//! now keeps the lines it logs and writes them in one `write` before it goes to sleep, when it
//! has run out of work (tokio's `on_thread_park`), so a busy worker writes many requests' lines
//! at once and an idle one writes each line as soon as its request is done. A worker that never
//! runs out of work writes once it holds [`FLUSH_AT`] bytes.
//!
//! What that gives up: a line waits until its worker runs out of work (microseconds to a few
//! milliseconds under load), lines of different workers reach the output in batches rather than
//! one by one (each carries its timestamp), and a process killed outright loses the lines its
//! workers held. Every other thread (the main thread, the blocking pool's) writes each line at
//! once, as do the workers until they first sleep.

use std::cell::RefCell;
use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// A worker writes what it holds once it holds this much, whether or not it runs out of work.
pub(super) const FLUSH_AT: usize = 16 * 1024;

thread_local! {
    static HELD: RefCell<Held> = const { RefCell::new(Held { batching: false, lines: Vec::new() }) };
}

/// The lines a thread has logged and not yet written.
struct Held {
    /// Set once the thread has gone to sleep as a runtime worker: from then on it holds its
    /// lines until it sleeps again.
    batching: bool,
    lines: Vec<u8>,
}

impl Held {
    /// Writes `line` to `out` at once, or keeps it with the lines before it and writes them all
    /// once they reach [`FLUSH_AT`] bytes.
    fn take(&mut self, line: &[u8], out: &mut impl Write) -> io::Result<()> {
        if !self.batching {
            return out.write_all(line);
        }
        self.lines.extend_from_slice(line);
        if self.lines.len() >= FLUSH_AT {
            self.write_out(out);
        }
        Ok(())
    }

    fn write_out(&mut self, out: &mut impl Write) {
        if !self.lines.is_empty() {
            // As tracing-subscriber does with a line it cannot write: there is nowhere to report
            // the failure. The lines are dropped either way, so that a closed output cannot grow
            // them without bound.
            let _ = out.write_all(&self.lines);
            self.lines.clear();
        }
    }
}

/// Standard output for tracing-subscriber, through the batches above.
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
        HELD.with_borrow_mut(|held| held.take(line, &mut io::stdout()))?;
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// For the runtime's `on_thread_park`: writes what this worker holds, and makes it hold its
/// lines from now on.
pub fn before_worker_sleeps() {
    HELD.with_borrow_mut(|held| {
        held.batching = true;
        held.write_out(&mut io::stdout());
    });
}

/// For the runtime's `on_thread_stop`, and for whoever exits the process from a worker: writes
/// what this thread holds.
pub fn write_held_lines() {
    HELD.with_borrow_mut(|held| held.write_out(&mut io::stdout()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(batching: bool) -> Held {
        Held {
            batching,
            lines: Vec::new(),
        }
    }

    #[test]
    fn a_thread_that_does_not_batch_writes_each_line_at_once() {
        let (mut held, mut out) = (held(false), Vec::new());
        held.take(b"one\n", &mut out).unwrap();
        assert_eq!(out, b"one\n");
        held.take(b"two\n", &mut out).unwrap();
        assert_eq!(out, b"one\ntwo\n");
        assert!(held.lines.is_empty());
    }

    #[test]
    fn a_batching_thread_writes_its_lines_together_when_told_or_when_they_fill_a_batch() {
        let (mut held, mut out) = (held(true), Vec::new());
        held.take(b"one\n", &mut out).unwrap();
        held.take(b"two\n", &mut out).unwrap();
        assert!(out.is_empty(), "held until the worker sleeps");
        held.write_out(&mut out);
        assert_eq!(out, b"one\ntwo\n");

        out.clear();
        let line = [b'x'; 1000];
        let lines_in_a_batch = FLUSH_AT.div_ceil(line.len());
        for _ in 1..lines_in_a_batch {
            held.take(&line, &mut out).unwrap();
        }
        assert!(out.is_empty(), "below {FLUSH_AT} bytes");
        held.take(&line, &mut out).unwrap();
        assert_eq!(out.len(), lines_in_a_batch * line.len(), "written whole");
        assert!(held.lines.is_empty());
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
        let mut held = held(true);
        held.take(b"one\n", &mut Closed).unwrap();
        held.write_out(&mut Closed);
        assert!(held.lines.is_empty());
    }
}
