//! The one thread that writes to the database, with group commit.
//!
//! redb runs one write transaction at a time and a durable commit waits for the disk, so under
//! concurrent creates most of a create's cost was the commit and the thread switches around it.
//! Here every write is queued to one thread, which takes all the writes waiting (up to
//! [`MAX_BATCH`]), applies them one after another in one transaction and commits once. Each
//! write still sees the writes before it (two overlapping bookings in one batch: the second is
//! refused), and each answer is sent only after the commit that holds it is on disk.
//!
//! The queue is bounded: a write that finds it full is refused at once (the store answers
//! `Unavailable`) rather than queued without limit while the disk stalls. The thread ends, and
//! releases the database, once every sender is dropped and the writes queued are done.
//!
//! When the file cannot be written (a full disk, a failing one), redb refuses every later write
//! transaction until the database is opened again: the writes answer `Unavailable`, nothing of
//! them is kept, and from then on readiness fails too, saying that the instance must be
//! restarted.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use redb::Database;
use tokio::sync::{mpsc, oneshot};

use super::storage;
use super::transaction::{self, WriteTables};
use crate::domain::{Booking, BookingId, IdempotencyKey};
use crate::store::{Created, Error, Result};

/// At most this many writes share a commit, so that one transaction stays small. A write whose
/// request timed out stays queued and is still committed, so the queue's own bound (see
/// [`spawn`]) is what keeps a stalled disk from growing it.
pub(super) const MAX_BATCH: usize = 64;

/// What the writer thread is sent.
pub(super) enum Job {
    /// Boxed: a write is over 200 bytes, a ping 8, and every slot of the queue is as large as
    /// its largest job.
    Write(Box<Write>),
    /// Answered once every write queued before it has been answered: the writer is running
    /// and keeping up, and `Unavailable` once the file could not be written. Readiness sends
    /// one.
    Ping(oneshot::Sender<Result<()>>),
}

/// A write waiting for the writer thread.
pub(super) enum Write {
    Create {
        booking: Booking,
        key: Option<IdempotencyKey>,
        answer: Answer<Created>,
    },
    Delete {
        id: BookingId,
        answer: Answer<()>,
    },
}

/// Where a write's result goes, and the result kept until its transaction is committed.
pub(super) struct Answer<T> {
    reply: oneshot::Sender<Result<T>>,
    outcome: Option<Result<T>>,
}

impl<T> Answer<T> {
    /// Keeps `outcome` to send after the commit. A refusal (overlap, not found, key reused) is
    /// this write's own answer; a failure (a bug, or the file failing) may have left the
    /// transaction half-written, so it is returned for the whole transaction to be abandoned.
    fn keep(&mut self, outcome: Result<T>) -> Result<(), Failure> {
        match outcome {
            Err(Error::Internal(detail)) => Err(Failure::Bug(detail)),
            Err(Error::Unavailable(detail)) => Err(Failure::File(detail)),
            outcome => {
                self.outcome = Some(outcome);
                Ok(())
            }
        }
    }

    /// Sends the kept outcome, or `failure` when the transaction was not committed.
    fn finish(mut self, failure: Option<&Failure>) {
        let result = match failure {
            None => self.outcome.take().unwrap_or_else(|| {
                Err(Error::Internal(
                    "write committed without an outcome".to_owned(),
                ))
            }),
            Some(Failure::Bug(detail)) => Err(Error::Internal(detail.clone())),
            Some(Failure::File(detail)) => Err(Error::Unavailable(detail.clone())),
        };
        // The caller may have gone (its client hung up); the write stands all the same.
        let _ = self.reply.send(result);
    }
}

impl Write {
    pub(super) fn create(
        booking: Booking,
        key: Option<IdempotencyKey>,
    ) -> (Self, oneshot::Receiver<Result<Created>>) {
        let (answer, receiver) = answer();
        (
            Self::Create {
                booking,
                key,
                answer,
            },
            receiver,
        )
    }

    pub(super) fn delete(id: BookingId) -> (Self, oneshot::Receiver<Result<()>>) {
        let (answer, receiver) = answer();
        (Self::Delete { id, answer }, receiver)
    }

    fn apply(&mut self, tables: &mut WriteTables<'_>) -> Result<(), Failure> {
        match self {
            Self::Create {
                booking,
                key,
                answer,
            } => answer.keep(transaction::create(tables, booking, key.as_ref())),
            Self::Delete { id, answer } => answer.keep(transaction::delete(tables, *id)),
        }
    }

    fn finish(self, failure: Option<&Failure>) {
        match self {
            Self::Create { answer, .. } => answer.finish(failure),
            Self::Delete { answer, .. } => answer.finish(failure),
        }
    }
}

/// Why a transaction was not committed.
#[derive(Debug)]
enum Failure {
    /// A write's bug, or its corrupted data: the others may succeed without it.
    Bug(String),
    /// The database file could not be read or written: no write can succeed any more.
    File(String),
}

impl From<Error> for Failure {
    /// A failure of the database itself (beginning or committing a transaction): the file
    /// failing is `Unavailable` (see `embedded::storage`), anything else a bug.
    fn from(error: Error) -> Self {
        match error {
            Error::Unavailable(detail) => Self::File(detail),
            Error::Internal(detail) => Self::Bug(detail),
            other => Self::Bug(other.to_string()),
        }
    }
}

fn answer<T>() -> (Answer<T>, oneshot::Receiver<Result<T>>) {
    let (reply, receiver) = oneshot::channel();
    (
        Answer {
            reply,
            outcome: None,
        },
        receiver,
    )
}

/// Starts the writer thread with a queue of at most `capacity` jobs (at least one). It ends when
/// every sender is dropped, after the jobs queued.
pub(super) fn spawn(
    db: Arc<Database>,
    capacity: usize,
) -> std::io::Result<(mpsc::Sender<Job>, Thread)> {
    // tokio's bounded channel rather than std's: it allocates as the queue grows, where std's
    // allocates every slot up front, and its `try_send` never blocks the caller.
    let (sender, queue) = mpsc::channel::<Job>(capacity.max(1));
    let (closed, on_closed) = oneshot::channel();
    let owned = Owned {
        db,
        _closed: closed,
    };
    let handle = std::thread::Builder::new()
        .name("store-writer".to_owned())
        .spawn(move || run(queue, owned))?;
    Ok((sender, Thread { handle, on_closed }))
}

/// What the writer thread owns. Fields are dropped in declaration order, so `_closed` goes, and
/// tells [`Thread::join`] that the thread is done, only after the database is released (closed,
/// when the thread held the last reference), on a normal end and on a panic alike.
struct Owned {
    db: Arc<Database>,
    _closed: oneshot::Sender<()>,
}

/// Takes the jobs waiting, up to [`MAX_BATCH`], writes them in one transaction, answers them,
/// and again, until every sender is dropped.
fn run(mut queue: mpsc::Receiver<Job>, owned: Owned) {
    // Set once the file could not be written: redb refuses every write from then on.
    let mut file_failed: Option<String> = None;
    while let Some(first) = queue.blocking_recv() {
        let mut batch = Vec::new();
        let mut pings = Vec::new();
        let waiting = std::iter::from_fn(|| queue.try_recv().ok()).take(MAX_BATCH - 1);
        for job in std::iter::once(first).chain(waiting) {
            match job {
                Job::Write(write) => batch.push(*write),
                Job::Ping(reply) => pings.push(reply),
            }
        }
        if !batch.is_empty()
            && let Err(detail) = write_batch(&owned.db, batch)
            && file_failed.is_none()
        {
            tracing::error!(
                error = %detail,
                "the database file could not be written: writes fail until the instance is restarted"
            );
            file_failed = Some(detail);
        }
        for reply in pings {
            let answer = match &file_failed {
                None => Ok(()),
                Some(detail) => Err(Error::Unavailable(format!(
                    "{detail}; writes fail until the instance is restarted"
                ))),
            };
            // The caller may have given up waiting.
            let _ = reply.send(answer);
        }
    }
}

/// The running writer thread, to wait for when the store closes.
pub(super) struct Thread {
    handle: JoinHandle<()>,
    /// Resolves once the thread has released the database.
    on_closed: oneshot::Receiver<()>,
}

impl Thread {
    /// Waits at most `within` for the thread to end, which it does once every sender is
    /// dropped and the jobs queued are done. An error says why it did not end cleanly.
    pub(super) async fn join(self, within: Duration) -> Result<(), String> {
        // A std thread cannot be joined with a timeout; `on_closed` resolves when its last act
        // is done, after which `join` returns at once.
        if tokio::time::timeout(within, self.on_closed).await.is_err() {
            return Err(format!(
                "the storage writer did not finish within {within:?}"
            ));
        }
        self.handle
            .join()
            .map_err(|_| "the storage writer panicked".to_owned())
    }
}

/// Commits `batch` in one transaction and answers every write in it. When the transaction
/// fails as a whole, each write is tried again in a transaction of its own, so that one bad
/// write (or a bug that panics) fails alone; when the file failed, every write fails, and the
/// error says why.
fn write_batch(db: &Database, mut batch: Vec<Write>) -> Result<(), String> {
    let committed = catch_unwind(AssertUnwindSafe(|| commit(db, &mut batch)))
        .unwrap_or_else(|_| Err(Failure::Bug("storage write panicked".to_owned())));
    match committed {
        Ok(()) => {
            batch.into_iter().for_each(|write| write.finish(None));
            Ok(())
        }
        Err(failure) if batch.len() == 1 || matches!(failure, Failure::File(_)) => {
            batch.into_iter().for_each(|w| w.finish(Some(&failure)));
            match failure {
                Failure::File(detail) => Err(detail),
                Failure::Bug(_) => Ok(()),
            }
        }
        // Every write is answered; the first file failure is reported.
        Err(_) => batch
            .into_iter()
            .map(|write| write_batch(db, vec![write]))
            .fold(Ok(()), Result::and),
    }
}

/// Applies `batch` in one write transaction and commits it durably. On an error the
/// transaction is dropped uncommitted, which rolls it back.
fn commit(db: &Database, batch: &mut [Write]) -> Result<(), Failure> {
    let txn = db.begin_write().map_err(storage)?;
    {
        let mut tables = WriteTables::open(&txn)?;
        for write in batch.iter_mut() {
            write.apply(&mut tables)?;
        }
        tables.remove_expired_keys(jiff::Timestamp::now().as_second())?;
    }
    Ok(txn.commit().map_err(storage)?)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::store::LeaveStore;
    use crate::store::embedded::{BOOKINGS, BY_PERSON, EmbeddedStore, FILE_NAME};

    fn booking(name: &str, first: &str, last: &str) -> Booking {
        Booking::parse(name, first, last).unwrap()
    }

    /// A write that fails inside a shared transaction, here on a corrupted record, fails alone:
    /// the others in its batch are committed without it.
    #[test]
    fn a_failing_write_does_not_fail_the_others_in_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let db = store.database();
        let txn = db.begin_write().unwrap();
        txn.open_table(BY_PERSON)
            .unwrap()
            .insert(("zoe", "2026-04-01#CORRUPT"), b"not a record".as_slice())
            .unwrap();
        txn.commit().unwrap();

        let before = booking("Ann", "2026-04-02", "2026-04-03");
        let corrupted = booking("Zoe", "2026-04-02", "2026-04-03");
        let after = booking("Bob", "2026-04-02", "2026-04-03");
        let (writes, answers): (Vec<_>, Vec<_>) = [&before, &corrupted, &after]
            .into_iter()
            .map(|b| Write::create(b.clone(), None))
            .unzip();
        write_batch(&db, writes).expect("the file did not fail");

        let answers: Vec<_> = answers.into_iter().map(|a| a.blocking_recv()).collect();
        assert!(
            matches!(answers[0], Ok(Ok(Created::New))),
            "{:?}",
            answers[0]
        );
        assert!(
            matches!(answers[1], Ok(Err(Error::Internal(_)))),
            "{:?}",
            answers[1]
        );
        assert!(
            matches!(answers[2], Ok(Ok(Created::New))),
            "{:?}",
            answers[2]
        );
        let txn = db.begin_read().unwrap();
        let bookings = txn.open_table(BOOKINGS).unwrap();
        let stored = |b: &Booking| bookings.get(b.id.to_string().as_str()).unwrap().is_some();
        assert_eq!(
            [&before, &corrupted, &after].map(stored),
            [true, false, true]
        );
    }

    /// Readiness goes through the writer's queue: while the writer is stuck (here waiting for
    /// a write transaction the test holds), it gets no answer; once the writer moves on, it does.
    #[tokio::test]
    async fn readiness_waits_for_a_stuck_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let held = store.database().begin_write().unwrap();
        let (write, created) = Write::create(booking("Ann", "2026-04-02", "2026-04-03"), None);
        store.enqueue(Job::Write(Box::new(write))).unwrap();

        let stuck = tokio::time::timeout(Duration::from_millis(300), store.ping()).await;
        assert!(
            stuck.is_err(),
            "answered while the writer was stuck: {stuck:?}"
        );

        held.abort().unwrap();
        store.ping().await.unwrap();
        assert!(matches!(created.await, Ok(Ok(Created::New))));
    }

    /// With the writer stuck (waiting for a write transaction the test holds, as on a stalled
    /// disk), writes whose requests gave up stay queued until the queue is full; the next write
    /// is refused at once with `Unavailable` instead of queued. Once the writer moves on, every
    /// queued write is committed, and a retry of the refused one succeeds.
    #[tokio::test]
    async fn a_full_queue_refuses_writes_at_once_until_the_writer_catches_up() {
        const QUEUE: usize = 3;
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open_with_queue(dir.path(), QUEUE).unwrap();
        let db = store.database();
        let held = db.begin_write().unwrap();
        let person = |i: usize| booking(&format!("Person {i}"), "2026-04-02", "2026-04-03");
        let room = || store.write_queue_room();
        // The writer takes the first write and waits in its transaction for the one held; the
        // next ones fill the queue.
        let queued: Vec<_> = (0..=QUEUE).map(person).collect();
        gives_up(&store, &queued[0]).await;
        eventually(|| room() == Some(QUEUE)).await;
        for b in &queued[1..] {
            gives_up(&store, b).await;
        }
        assert_eq!(room(), Some(0));

        let refused = person(QUEUE + 1);
        let answer = tokio::time::timeout(Duration::from_secs(1), store.create(&refused, None));
        let answer = answer.await;
        assert!(
            matches!(answer, Ok(Err(Error::Unavailable(_)))),
            "not refused at once: {answer:?}"
        );
        assert!(matches!(store.ping().await, Err(Error::Unavailable(_))));

        held.abort().unwrap();
        // Readiness, as a client retries it after a 503: answered once the queue has room and
        // the writes before it are committed.
        let ready = async {
            while store.ping().await.is_err() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), ready)
            .await
            .expect("the writer caught up");
        let stored = |b: &Booking| {
            let txn = db.begin_read().unwrap();
            let bookings = txn.open_table(BOOKINGS).unwrap();
            let by_person = txn.open_table(BY_PERSON).unwrap();
            let key = b.user_name.key();
            let indexed = by_person
                .range((key.as_str(), "")..=(key.as_str(), "~"))
                .unwrap()
                .count();
            let found = bookings.get(b.id.to_string().as_str()).unwrap().is_some();
            (found, indexed)
        };
        for b in &queued {
            assert_eq!(stored(b), (true, 1), "{b:?} was lost");
        }
        assert_eq!(
            stored(&refused),
            (false, 0),
            "the refused write was applied"
        );
        assert_eq!(store.create(&refused, None).await.unwrap(), Created::New);
        assert_eq!(stored(&refused), (true, 1));
    }

    /// A create whose request gives up after its deadline (here 50 ms), as the writer is
    /// stuck: the write stays queued.
    async fn gives_up(store: &EmbeddedStore, booking: &Booking) {
        let create = tokio::time::timeout(Duration::from_millis(50), store.create(booking, None));
        let answer = create.await;
        assert!(
            answer.is_err(),
            "answered while the writer was stuck: {answer:?}"
        );
    }

    /// Waits until `done` holds, at most 5 s.
    async fn eventually(done: impl Fn() -> bool) {
        let waiting = async {
            while !done() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("in time");
    }

    /// A disk that fails every write once told to, as a full or failing one does.
    #[derive(Debug)]
    struct FailingDisk {
        file: redb::backends::FileBackend,
        failing: Arc<AtomicBool>,
    }

    impl FailingDisk {
        fn check(&self) -> io::Result<()> {
            if self.failing.load(Ordering::SeqCst) {
                return Err(io::ErrorKind::StorageFull.into());
            }
            Ok(())
        }
    }

    impl redb::StorageBackend for FailingDisk {
        fn len(&self) -> io::Result<u64> {
            self.file.len()
        }

        fn read(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
            self.file.read(offset, len)
        }

        fn set_len(&self, len: u64) -> io::Result<()> {
            self.check()?;
            self.file.set_len(len)
        }

        fn sync_data(&self, eventual: bool) -> io::Result<()> {
            self.check()?;
            self.file.sync_data(eventual)
        }

        fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
            self.check()?;
            self.file.write(offset, data)
        }
    }

    /// Once the file cannot be written, a write answers `Unavailable` and keeps nothing, and
    /// readiness fails; redb refuses every write from then on, the disk recovered or not, so
    /// both stay so until the database is opened again, which finds what was committed.
    #[tokio::test]
    async fn a_file_that_cannot_be_written_fails_writes_and_readiness_until_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let failing = Arc::new(AtomicBool::new(false));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.path().join(FILE_NAME))
            .unwrap();
        let disk = FailingDisk {
            file: redb::backends::FileBackend::new(file).unwrap(),
            failing: Arc::clone(&failing),
        };
        let db = redb::Builder::new().create_with_backend(disk).unwrap();
        let store = EmbeddedStore::with_database(db, 8).unwrap();
        let saved = booking("Ann", "2026-04-02", "2026-04-03");
        store.create(&saved, None).await.unwrap();
        store.ping().await.unwrap();

        failing.store(true, Ordering::SeqCst);
        let lost = booking("Bob", "2026-04-02", "2026-04-03");
        let refused = store.create(&lost, None).await;
        assert!(matches!(refused, Err(Error::Unavailable(_))), "{refused:?}");

        failing.store(false, Ordering::SeqCst);
        let later = booking("Cyd", "2026-04-02", "2026-04-03");
        let refused = store.create(&later, None).await;
        assert!(matches!(refused, Err(Error::Unavailable(_))), "{refused:?}");
        let unready = store.ping().await;
        assert!(
            matches!(&unready, Err(Error::Unavailable(why)) if why.contains("restarted")),
            "{unready:?}"
        );
        let _ = store.close(Duration::from_secs(5)).await;

        let restarted = EmbeddedStore::open(dir.path()).unwrap();
        restarted.ping().await.unwrap();
        assert_eq!(restarted.get(saved.id).await.unwrap(), saved);
        for gone in [&lost, &later] {
            assert!(matches!(restarted.get(gone.id).await, Err(Error::NotFound)));
        }
        assert_eq!(restarted.create(&later, None).await.unwrap(), Created::New);
    }

    /// When the writer thread is gone, the instance is unavailable, for readiness and writes.
    #[tokio::test]
    async fn a_stopped_writer_makes_the_store_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        // Dropping the writer's only sender ends its thread; the new sender reaches nobody.
        if let Some(open) = store.open.write().unwrap().as_mut() {
            open.writer = mpsc::channel(1).0;
        }

        assert!(matches!(store.ping().await, Err(Error::Unavailable(_))));
        let created = store
            .create(&booking("Ann", "2026-04-02", "2026-04-03"), None)
            .await;
        assert!(matches!(created, Err(Error::Unavailable(_))), "{created:?}");
    }
}
