//! The embedded backend: a redb database file in a data directory (ACID, one writer at a time).

mod transaction;
mod writer;

use std::path::Path;
use std::sync::{Arc, mpsc};

use async_trait::async_trait;
use redb::{Database, TableDefinition};
use tokio::sync::oneshot;

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

const FILE_NAME: &str = "leave-calendar.redb";

/// Page cache size. redb's default (1 GiB) lets memory grow with the database; a team's
/// calendar works well within a few MiB, and the process stays small under load.
const CACHE_BYTES: usize = 8 * 1024 * 1024;

pub struct EmbeddedStore {
    db: Arc<Database>,
    /// Creates and deletes go to the writer thread, see [`writer`].
    writer: mpsc::Sender<Job>,
}

impl EmbeddedStore {
    /// Opens (or creates) the database in `data_dir`, creating the directory if needed.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create DATA_DIR {}: {e}", data_dir.display()))?;
        let path = data_dir.join(FILE_NAME);
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| anyhow::anyhow!("cannot open database {}: {e}", path.display()))?;
        // Create the tables once so that readers never meet a missing table.
        let txn = db.begin_write()?;
        drop(transaction::WriteTables::open(&txn)?);
        txn.commit()?;
        let db = Arc::new(db);
        let writer = writer::spawn(Arc::clone(&db))
            .map_err(|e| anyhow::anyhow!("cannot start the storage writer: {e}"))?;
        Ok(Self { db, writer })
    }

    /// Queues `write` for the writer thread and waits for its answer, which comes once the
    /// transaction holding it is committed.
    async fn write<T>(&self, write: Write, answer: oneshot::Receiver<Result<T>>) -> Result<T> {
        self.writer
            .send(Job::Write(write))
            .map_err(|_| writer_stopped())?;
        answer.await.map_err(|_| writer_stopped())?
    }
}

/// The writer thread is gone: this instance can no longer write, but another one could.
fn writer_stopped() -> Error {
    Error::Unavailable("the storage writer has stopped".to_owned())
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

fn encode(booking: &Booking) -> Result<Vec<u8>> {
    record::to_json(booking).map(String::into_bytes)
}

fn decode(bytes: &[u8]) -> Result<Booking> {
    record::from_json(bytes)
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
        let txn = self.db.begin_read().map_err(internal)?;
        let bookings = txn.open_table(BOOKINGS).map_err(internal)?;
        let found = bookings.get(id.to_string().as_str()).map_err(internal)?;
        decode(found.ok_or(Error::NotFound)?.value())
    }

    async fn delete(&self, id: BookingId) -> Result<()> {
        let (write, answer) = Write::delete(id);
        self.write(write, answer).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Page> {
        let txn = self.db.begin_read().map_err(internal)?;
        let by_month = txn.open_table(BY_MONTH).map_err(internal)?;
        let by_person = txn.open_table(BY_PERSON).map_err(internal)?;
        let mut found = Vec::new();
        for segment in plan::segments(query) {
            let (table, partition) = match &segment.partition {
                Partition::Month(month) => (&by_month, month.to_string()),
                Partition::Person(key) => (&by_person, key.clone()),
            };
            let bounds = (partition.as_str(), segment.lo.as_str())
                ..=(partition.as_str(), segment.hi.as_str());
            for entry in table.range(bounds).map_err(internal)? {
                let booking = decode(entry.map_err(internal)?.1.value())?;
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

    /// The database opens a read, and the writer answers once the writes queued before are
    /// done: a stopped or stuck writer makes the instance unready, as its creates would fail.
    async fn ping(&self) -> Result<()> {
        self.db.begin_read().map(drop).map_err(internal)?;
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(Job::Ping(reply))
            .map_err(|_| writer_stopped())?;
        answer.await.map_err(|_| writer_stopped())
    }
}
