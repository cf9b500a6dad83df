//! The embedded backend: a redb database file in a data directory (ACID, one writer at a time).

mod packed;
mod transaction;
mod writer;

use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock, TryLockError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redb::{Database, TableDefinition};
use tokio::sync::{mpsc, oneshot};

use super::plan::{self, Partition};
use super::record;
use super::{Created, Error, LeaveStore, ListQuery, Page, Result, into_page};
use crate::domain::{Booking, BookingId, IdempotencyKey};
use writer::{Job, Write};

/// Booking id → record.
const BOOKINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("bookings");
/// (month `YYYY-MM`, sort key) → record, for every month a booking touches.
const BY_MONTH: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("by_month");
/// (person key, sort key) → record.
const BY_PERSON: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("by_person");
/// Idempotency key → (booking id, expiry in Unix seconds).
const IDEMPOTENCY: TableDefinition<&str, (&str, i64)> = TableDefinition::new("idempotency");
/// (expiry in Unix seconds, idempotency key) → nothing: the keys in the order they expire, so
/// that the expired ones are found without reading the others (DynamoDB's TTL does this there).
const IDEMPOTENCY_EXPIRY: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("idempotency_expiry");

const FILE_NAME: &str = "leave-calendar.redb";

/// Page cache size. redb's default (1 GiB) lets memory grow with the database; a team's
/// calendar works well within a few MiB, and the process stays small under load.
const CACHE_BYTES: usize = 8 * 1024 * 1024;

/// The writer's queue bound with [`EmbeddedStore::open`]: the default of
/// `MAX_CONCURRENT_REQUESTS`. The application passes the configured limit instead (see
/// [`EmbeddedStore::open_with_queue`]).
pub const DEFAULT_WRITE_QUEUE: usize = 512;

/// How often [`EmbeddedStore::close`] tries again to shut out reads while one is running: a read
/// takes microseconds, unless the disk stalls, when waiting for it must not outlast the bound.
const CLOSE_POLL: Duration = Duration::from_millis(1);

pub struct EmbeddedStore {
    /// The database and its writer while the store is open; `None` once closed. Every use of
    /// the database holds the read lock for as long as it runs, so that when [`LeaveStore::close`]
    /// has taken these out no read is left using the file, and the writer thread, which the
    /// close waits for, releases the last reference to the database and so closes it.
    open: RwLock<Option<Open>>,
}

/// What an open store holds.
struct Open {
    db: Arc<Database>,
    /// Creates and deletes go to the writer thread, see [`writer`].
    writer: mpsc::Sender<Job>,
    writer_thread: writer::Thread,
}

impl EmbeddedStore {
    /// Opens (or creates) the database in `data_dir`, creating the directory if needed, with
    /// a write queue of [`DEFAULT_WRITE_QUEUE`].
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        Self::open_with_queue(data_dir, DEFAULT_WRITE_QUEUE)
    }

    /// Like [`EmbeddedStore::open`], with at most `write_queue` writes waiting for the writer
    /// thread; beyond it a write answers `Unavailable` at once. The service's concurrency limit
    /// fits: every request it admits has at most one write queued, so only writes left behind
    /// by requests past their deadline (a stalled disk) fill the queue.
    pub fn open_with_queue(data_dir: &Path, write_queue: usize) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create DATA_DIR {}: {e}", data_dir.display()))?;
        let path = data_dir.join(FILE_NAME);
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| anyhow::anyhow!("cannot open database {}: {e}", path.display()))?;
        Self::with_database(db, write_queue)
    }

    /// The store over the opened `db`.
    fn with_database(db: Database, write_queue: usize) -> anyhow::Result<Self> {
        // Create the tables once so that readers never meet a missing table.
        let txn = db.begin_write()?;
        transaction::WriteTables::open(&txn)?.index_key_expiries()?;
        txn.commit()?;
        let db = Arc::new(db);
        let (writer, writer_thread) = writer::spawn(Arc::clone(&db), write_queue)
            .map_err(|e| anyhow::anyhow!("cannot start the storage writer: {e}"))?;
        Ok(Self {
            open: RwLock::new(Some(Open {
                db,
                writer,
                writer_thread,
            })),
        })
    }

    /// Runs `f` on the open store, holding the read lock: `f` must not wait on anything but the
    /// database, as closing waits for it. Once closed, the store is `Unavailable`.
    fn with_open<T>(&self, f: impl FnOnce(&Open) -> Result<T>) -> Result<T> {
        let open = self.open.read().unwrap_or_else(PoisonError::into_inner);
        f(open.as_ref().ok_or_else(closed)?)
    }

    /// Queues `job` for the writer thread, or refuses it at once when the queue is full: the
    /// caller is on the async runtime and must not block.
    fn enqueue(&self, job: Job) -> Result<()> {
        self.with_open(|open| {
            open.writer.try_send(job).map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => queue_full(),
                mpsc::error::TrySendError::Closed(_) => writer_stopped(),
            })
        })
    }

    /// Queues `write` for the writer thread and waits for its answer, which comes once the
    /// transaction holding it is committed.
    async fn write<T>(&self, write: Write, answer: oneshot::Receiver<Result<T>>) -> Result<T> {
        self.enqueue(Job::Write(Box::new(write)))?;
        answer.await.map_err(|_| writer_stopped())?
    }

    /// Takes the open store out once no read is running, trying until `deadline`. `Ok(None)`:
    /// it was closed before.
    async fn take_open(&self, deadline: Instant) -> Result<Option<Open>> {
        loop {
            // `try_write`, not `write`: a read stuck on a stalled disk would block this thread,
            // and the shutdown with it, past the deadline.
            match self.open.try_write() {
                Ok(mut open) => return Ok(open.take()),
                Err(TryLockError::Poisoned(poisoned)) => return Ok(poisoned.into_inner().take()),
                Err(TryLockError::WouldBlock) => {}
            }
            if Instant::now() >= deadline {
                return Err(Error::Unavailable(
                    "a read of the database did not finish in time to close it".to_owned(),
                ));
            }
            tokio::time::sleep(CLOSE_POLL).await;
        }
    }
}

#[cfg(test)]
impl EmbeddedStore {
    /// The open database, for tests to look at it or hold a write transaction; holding the
    /// reference keeps the file open past a close.
    fn database(&self) -> Arc<Database> {
        self.with_open(|open| Ok(Arc::clone(&open.db)))
            .expect("the store is open")
    }

    /// How many more writes the writer's queue takes now; `None` once closed.
    pub(crate) fn write_queue_room(&self) -> Option<usize> {
        let open = self.open.read().unwrap_or_else(PoisonError::into_inner);
        open.as_ref().map(|o| o.writer.capacity())
    }
}

/// The writer thread is gone: this instance can no longer write, but another one could.
fn writer_stopped() -> Error {
    Error::Unavailable("the storage writer has stopped".to_owned())
}

/// The writer is this far behind (the disk is slow or stalled): a retry later may find room.
fn queue_full() -> Error {
    Error::Unavailable("the storage writer's queue is full".to_owned())
}

/// The store was closed: the instance is shutting down.
fn closed() -> Error {
    Error::Unavailable("the store is closed".to_owned())
}

/// A database error as a store error. The file failing to be read or written (a full disk, a
/// failing one) is `Unavailable`: it is no bug of the request, and another instance may serve
/// it. redb then refuses every write until the database is opened again, which the writer
/// reports (see [`writer`]). Anything else is a bug or corrupted data.
fn storage(e: impl Into<redb::Error>) -> Error {
    match e.into() {
        e @ (redb::Error::Io(_) | redb::Error::PreviousIo) => {
            Error::Unavailable(format!("the database file failed: {e}"))
        }
        e => Error::Internal(e.to_string()),
    }
}

/// A packed record, or a JSON one as versions before the packed record wrote.
fn decode(bytes: &[u8]) -> Result<Booking> {
    if bytes.first() != Some(&b'{') {
        return packed::decode(bytes);
    }
    let json = std::str::from_utf8(bytes)
        .map_err(|e| Error::Internal(format!("stored booking is not UTF-8: {e}")))?;
    record::from_json(json)
}

// Reads run on the calling thread: they come from redb's cache or the OS page cache in
// microseconds, and handing them to the blocking pool cost two thread switches per request,
// more than the read itself.
#[async_trait]
impl LeaveStore for EmbeddedStore {
    async fn create(
        &self,
        booking: &Booking,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<Created> {
        let (write, answer) = Write::create(booking.clone(), idempotency_key.cloned());
        self.write(write, answer).await
    }

    async fn get(&self, id: BookingId) -> Result<Booking> {
        self.with_open(|open| {
            let txn = open.db.begin_read().map_err(storage)?;
            let bookings = txn.open_table(BOOKINGS).map_err(storage)?;
            let found = bookings.get(id.to_string().as_str()).map_err(storage)?;
            record::under_key(id, decode(found.ok_or(Error::NotFound)?.value())?)
        })
    }

    async fn delete(&self, id: BookingId) -> Result<()> {
        let (write, answer) = Write::delete(id);
        self.write(write, answer).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Page> {
        self.with_open(|open| list(&open.db, query))
    }

    /// The database opens a read, and the writer answers once the writes queued before are
    /// done: a stopped or stuck writer, or one that can no longer write to the file, makes the
    /// instance unready, as its creates would fail.
    async fn ping(&self) -> Result<()> {
        self.with_open(|open| open.db.begin_read().map(drop).map_err(storage))?;
        let (reply, answer) = oneshot::channel();
        self.enqueue(Job::Ping(reply))?;
        answer.await.map_err(|_| writer_stopped())?
    }

    /// Shuts out reads and writes, lets the writer commit the writes queued, and returns once
    /// its thread has closed the database file, so that the next start needs no repair.
    async fn close(&self, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        let Some(open) = self.take_open(deadline).await? else {
            return Ok(());
        };
        let Open {
            db,
            writer,
            writer_thread,
        } = open;
        // Without its last sender the writer ends after the jobs queued; with these the last
        // reference to the database left is the writer thread's.
        drop((db, writer));
        writer_thread
            .join(deadline.saturating_duration_since(Instant::now()))
            .await
            .map_err(Error::Unavailable)
    }
}

/// The bookings of `query`, read in one transaction.
fn list(db: &Database, query: &ListQuery) -> Result<Page> {
    let txn = db.begin_read().map_err(storage)?;
    let by_month = txn.open_table(BY_MONTH).map_err(storage)?;
    let by_person = txn.open_table(BY_PERSON).map_err(storage)?;
    let mut found = Vec::new();
    for segment in plan::segments(query) {
        let (table, partition) = match &segment.partition {
            Partition::Month(month) => (&by_month, month.to_string()),
            Partition::Person(key) => (&by_person, key.clone()),
        };
        let bounds =
            (partition.as_str(), segment.lo.as_str())..=(partition.as_str(), segment.hi.as_str());
        for entry in table.range(bounds).map_err(storage)? {
            let booking = decode(entry.map_err(storage)?.1.value())?;
            if plan::keeps(&segment, query, &booking) {
                found.push(booking);
                if found.len() > query.limit {
                    return Ok(into_page(found, query.limit));
                }
            }
        }
    }
    Ok(into_page(found, query.limit))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use clap::CommandFactory;

    use super::*;

    fn booking(name: &str) -> Booking {
        Booking::parse(name, "2026-04-02", "2026-04-03").unwrap()
    }

    /// A store in a new directory (kept while the store is used) holding `bookings`.
    async fn store_with(bookings: [&Booking; 2]) -> (tempfile::TempDir, EmbeddedStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        for b in bookings {
            store.create(b, None).await.unwrap();
        }
        (dir, store)
    }

    /// The listing of the month `b` starts in.
    fn month_of(b: &Booking) -> ListQuery {
        ListQuery {
            range: crate::domain::Month::containing(b.days.first()).days(),
            person: None,
            limit: 10,
            after: None,
        }
    }

    /// Opens the database file in `dir` again, and says whether redb had to repair it, which
    /// it does when the file was not closed.
    fn reopen(dir: &Path) -> (Database, bool) {
        let repaired = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&repaired);
        let db = redb::Builder::new()
            .set_repair_callback(move |_| flag.store(true, Ordering::SeqCst))
            .open(dir.join(FILE_NAME))
            .unwrap();
        (db, repaired.load(Ordering::SeqCst))
    }

    /// An idempotency key is remembered for a day: past its expiry, the key books anew.
    #[tokio::test]
    async fn an_expired_idempotency_key_books_anew() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let key = IdempotencyKey::parse("used-yesterday").unwrap();
        let earlier = booking("Lea");
        assert_eq!(
            store.create(&earlier, Some(&key)).await.unwrap(),
            Created::New
        );
        // A day later.
        let db = store.database();
        let txn = db.begin_write().unwrap();
        {
            let mut keys = txn.open_table(IDEMPOTENCY).unwrap();
            let id = earlier.id.to_string();
            let past = jiff::Timestamp::now().as_second() - 1;
            keys.insert(key.as_str(), (id.as_str(), past)).unwrap();
        }
        txn.commit().unwrap();

        let later = Booking::parse("Lea", "2026-04-20", "2026-04-21").unwrap();
        assert_eq!(
            store.create(&later, Some(&key)).await.unwrap(),
            Created::New
        );
        assert!(store.get(later.id).await.is_ok() && store.get(earlier.id).await.is_ok());
    }

    /// Every commit removes the keys that have expired.
    #[tokio::test]
    async fn commits_remove_expired_idempotency_keys() {
        use redb::{ReadableTable, ReadableTableMetadata};
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let key = IdempotencyKey::parse("expires-soon").unwrap();
        store.create(&booking("Lea"), Some(&key)).await.unwrap();
        // A day later: its expiry, in both tables, has passed.
        let db = store.database();
        let txn = db.begin_write().unwrap();
        {
            let past = jiff::Timestamp::now().as_second() - 1;
            let mut keys = txn.open_table(IDEMPOTENCY).unwrap();
            let (id, expires) = {
                let stored = keys.get(key.as_str()).unwrap().unwrap();
                let (id, expires) = stored.value();
                (id.to_owned(), expires)
            };
            keys.insert(key.as_str(), (id.as_str(), past)).unwrap();
            let mut expiries = txn.open_table(IDEMPOTENCY_EXPIRY).unwrap();
            let indexed = expiries.remove((expires, key.as_str())).unwrap().is_some();
            assert!(indexed, "indexed when created");
            expiries.insert((past, key.as_str()), ()).unwrap();
        }
        txn.commit().unwrap();

        store.create(&booking("Max"), None).await.unwrap();
        let txn = db.begin_read().unwrap();
        assert!(txn.open_table(IDEMPOTENCY).unwrap().is_empty().unwrap());
        assert!(
            txn.open_table(IDEMPOTENCY_EXPIRY)
                .unwrap()
                .is_empty()
                .unwrap()
        );
    }

    /// Bookings stored by the versions before the packed record, as JSON, are read, listed,
    /// checked for overlaps and deleted as packed ones are.
    #[tokio::test]
    async fn bookings_stored_as_json_are_still_read() {
        let (as_json, kept_packed) = (booking("Ada"), booking("Grace"));
        let (_dir, store) = store_with([&as_json, &kept_packed]).await;
        let db = store.database();
        let txn = db.begin_write().unwrap();
        {
            let json = record::to_json(&record::Record::from(&as_json)).unwrap();
            let (id, sort_key) = (as_json.id.to_string(), plan::sort_key(&as_json));
            let person = as_json.user_name.key();
            let mut bookings = txn.open_table(BOOKINGS).unwrap();
            let mut by_month = txn.open_table(BY_MONTH).unwrap();
            let mut by_person = txn.open_table(BY_PERSON).unwrap();
            let month = "2026-04";
            let old = bookings.insert(id.as_str(), json.as_bytes()).unwrap();
            assert_eq!(old.unwrap().value()[0], packed::VERSION);
            let month_entry = (month, sort_key.as_str());
            assert!(
                by_month
                    .insert(month_entry, json.as_bytes())
                    .unwrap()
                    .is_some()
            );
            let person_entry = (person.as_str(), sort_key.as_str());
            assert!(
                by_person
                    .insert(person_entry, json.as_bytes())
                    .unwrap()
                    .is_some()
            );
        }
        txn.commit().unwrap();

        assert_eq!(store.get(as_json.id).await.unwrap(), as_json);
        let listed = store.list(&month_of(&as_json)).await.unwrap().items;
        let mut expected = vec![as_json.clone(), kept_packed];
        expected.sort_by_key(|b| (b.days.first(), b.id));
        assert_eq!(listed, expected);
        let overlapping = booking("ada");
        assert!(matches!(
            store.create(&overlapping, None).await,
            Err(Error::Conflict { .. })
        ));
        store.delete(as_json.id).await.unwrap();
        assert!(matches!(store.get(as_json.id).await, Err(Error::NotFound)));
    }

    /// A record under a booking's key that holds another booking is corruption: reading or
    /// deleting the booking fails, and the other booking and its entries stay as they were.
    #[tokio::test]
    async fn a_key_holding_another_booking_is_corruption() {
        let (ada, grace) = (booking("Ada"), booking("Grace"));
        let (_dir, store) = store_with([&ada, &grace]).await;
        let db = store.database();
        let txn = db.begin_write().unwrap();
        {
            let mut bookings = txn.open_table(BOOKINGS).unwrap();
            let grace_record = packed::encode(&grace);
            bookings
                .insert(ada.id.to_string().as_str(), grace_record.as_slice())
                .unwrap();
        }
        txn.commit().unwrap();

        assert!(matches!(store.get(ada.id).await, Err(Error::Internal(_))));
        assert!(matches!(
            store.delete(ada.id).await,
            Err(Error::Internal(_))
        ));
        assert_eq!(store.get(grace.id).await.unwrap(), grace);
        let listed = store.list(&month_of(&grace)).await.unwrap().items;
        assert_eq!(listed.len(), 2, "both month entries are still there");
    }

    /// A booking stored by an earlier release has its person entry under the key of then:
    /// "straße" before keys folded case ("strasse" now), "zoe\u{308}" for a name stored with a
    /// combining diaeresis before names were composed ("zoë" now). Deleting it removes that
    /// entry too.
    #[tokio::test]
    async fn a_delete_removes_the_person_entry_under_the_key_of_before() {
        for (name_then, key_then) in [("Straße", "straße"), ("Zoe\u{308}", "zoe\u{308}")] {
            let earlier = booking(name_then);
            let (_dir, store) = store_with([&earlier, &booking("Ada")]).await;
            let (key, sort_key) = (earlier.user_name.key(), plan::sort_key(&earlier));
            assert_ne!(key, key_then);
            let entries = |db: &Database| {
                let txn = db.begin_read().unwrap();
                let by_person = txn.open_table(BY_PERSON).unwrap();
                [key.as_str(), key_then]
                    .map(|k| by_person.get((k, sort_key.as_str())).unwrap().is_some())
            };
            // As the release of then stored it: a JSON record holding the name as it was
            // typed, and the person entry under the key of then.
            let db = store.database();
            let txn = db.begin_write().unwrap();
            {
                let record = record::Record {
                    user_name: name_then.into(),
                    ..record::Record::from(&earlier)
                };
                let json = record::to_json(&record).unwrap();
                let mut bookings = txn.open_table(BOOKINGS).unwrap();
                bookings
                    .insert(earlier.id.to_string().as_str(), json.as_bytes())
                    .unwrap();
                let mut by_person = txn.open_table(BY_PERSON).unwrap();
                by_person
                    .remove((key.as_str(), sort_key.as_str()))
                    .unwrap()
                    .unwrap();
                by_person
                    .insert((key_then, sort_key.as_str()), json.as_bytes())
                    .unwrap();
            }
            txn.commit().unwrap();
            assert_eq!(entries(&db), [false, true], "{name_then}");

            store.delete(earlier.id).await.unwrap();

            assert_eq!(entries(&db), [false, false], "{name_then}");
        }
    }

    /// Closing lets the writer commit the writes still queued (here one whose request gave up
    /// while the writer was held), then closes the file: it opens again without repair, with
    /// the write in it. The closed store answers `Unavailable`.
    #[tokio::test]
    async fn close_commits_the_queued_writes_then_closes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let db = store.database();
        let held = db.begin_write().unwrap();
        let queued = booking("Ann");
        let gave_up = tokio::time::timeout(Duration::from_millis(50), store.create(&queued, None));
        assert!(gave_up.await.is_err(), "answered while the writer was held");
        held.abort().unwrap();
        drop(db);

        store.close(Duration::from_secs(5)).await.unwrap();

        assert!(matches!(
            store.get(queued.id).await,
            Err(Error::Unavailable(_))
        ));
        let after = store.create(&booking("Bob"), None).await;
        assert!(matches!(after, Err(Error::Unavailable(_))), "{after:?}");
        let (db, repaired) = reopen(dir.path());
        assert!(!repaired, "the file was not closed");
        let txn = db.begin_read().unwrap();
        let bookings = txn.open_table(BOOKINGS).unwrap();
        assert!(
            bookings
                .get(queued.id.to_string().as_str())
                .unwrap()
                .is_some()
        );
    }

    /// A writer that cannot finish (waiting on the disk; here for a transaction the test holds)
    /// does not keep the close past its bound: it gives up and says so.
    #[tokio::test]
    async fn close_gives_up_on_a_stuck_writer_after_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let held = store.database().begin_write().unwrap();
        let queued = booking("Ann");
        let gave_up = tokio::time::timeout(Duration::from_millis(50), store.create(&queued, None));
        assert!(gave_up.await.is_err(), "answered while the writer was held");

        // The outer bound only keeps a close that never gives up from hanging the test.
        let closed = tokio::time::timeout(
            Duration::from_secs(30),
            store.close(Duration::from_millis(200)),
        )
        .await
        .expect("close gave up on the writer");

        assert!(matches!(closed, Err(Error::Unavailable(_))), "{closed:?}");
        held.abort().unwrap();
    }

    /// The default queue is the default concurrency limit, as the application's is the
    /// configured one.
    #[test]
    fn the_default_write_queue_is_the_default_concurrency_limit() {
        let cli = crate::config::Cli::command();
        let limit = cli
            .get_arguments()
            .find(|arg| arg.get_id() == "max_concurrent_requests")
            .and_then(|arg| arg.get_default_values().first()?.to_str()?.parse().ok());
        assert_eq!(limit, Some(DEFAULT_WRITE_QUEUE));
    }
}
