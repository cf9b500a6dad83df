//! The embedded backend: a redb database file in a data directory (ACID, one writer at a time).

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition};

use super::plan::{self, Partition};
use super::record::Record;
use super::{
    Created, Error, LeaveStore, ListQuery, Page, Result, idempotency_expiry, into_page, replay,
};
use crate::domain::{Booking, BookingId, IdempotencyKey};

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
        txn.open_table(BOOKINGS)?;
        txn.open_table(BY_MONTH)?;
        txn.open_table(BY_PERSON)?;
        txn.open_table(IDEMPOTENCY)?;
        txn.commit()?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Runs a read on the calling thread. Reads come from redb's cache or the OS page cache in
    /// microseconds; handing them to the blocking pool cost two thread switches per request,
    /// more than the read itself.
    fn read<T>(&self, work: impl FnOnce(&Database) -> Result<T>) -> Result<T> {
        work(&self.db)
    }

    /// Runs blocking database work off the async threads: commits wait for the disk.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(|e| Error::Internal(format!("storage task failed: {e}")))?
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

fn encode(booking: &Booking) -> Result<Vec<u8>> {
    serde_json::to_vec(&Record::from(booking)).map_err(internal)
}

fn decode(bytes: &[u8]) -> Result<Booking> {
    serde_json::from_slice::<Record>(bytes)
        .map_err(internal)?
        .try_into()
}

#[async_trait]
impl LeaveStore for EmbeddedStore {
    async fn create(
        &self,
        booking: &Booking,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<Created> {
        let booking = booking.clone();
        let idempotency_key = idempotency_key.cloned();
        self.blocking(move |db| {
            let bytes = encode(&booking)?;
            let key = booking.user_name.key();
            let sort_key = plan::sort_key(&booking);
            // redb admits one write transaction at a time, so the checks and the inserts below
            // cannot interleave with another booking's.
            let txn = db.begin_write().map_err(internal)?;
            {
                // Writing the same booking twice stores it once, as on DynamoDB.
                let id = booking.id.to_string();
                if txn
                    .open_table(BOOKINGS)
                    .map_err(internal)?
                    .get(id.as_str())
                    .map_err(internal)?
                    .is_some()
                {
                    return Ok(Created::New);
                }
                if let Some(idempotency_key) = &idempotency_key {
                    let mut keys = txn.open_table(IDEMPOTENCY).map_err(internal)?;
                    let earlier = keys
                        .get(idempotency_key.as_str())
                        .map_err(internal)?
                        .map(|v| {
                            let (id, expires) = v.value();
                            (id.to_owned(), expires)
                        });
                    if let Some((id, expires)) = earlier {
                        if expires > jiff::Timestamp::now().as_second() {
                            let bookings = txn.open_table(BOOKINGS).map_err(internal)?;
                            let found = bookings.get(id.as_str()).map_err(internal)?;
                            let earlier =
                                found.ok_or(Error::NotFound).and_then(|v| decode(v.value()));
                            return replay(&booking, earlier);
                        }
                    }
                    keys.insert(
                        idempotency_key.as_str(),
                        (id.as_str(), idempotency_expiry()),
                    )
                    .map_err(internal)?;
                }
                let mut by_person = txn.open_table(BY_PERSON).map_err(internal)?;
                let lo = booking.days.earliest_overlapping_start().to_string();
                let hi = format!("{}#~", booking.days.last());
                for entry in by_person
                    .range((key.as_str(), lo.as_str())..=(key.as_str(), hi.as_str()))
                    .map_err(internal)?
                {
                    let other = decode(entry.map_err(internal)?.1.value())?;
                    if other.days.overlaps(booking.days) {
                        let first_day = other.days.first().max(booking.days.first());
                        return Err(Error::Conflict { first_day });
                    }
                }
                by_person
                    .insert((key.as_str(), sort_key.as_str()), bytes.as_slice())
                    .map_err(internal)?;
                let mut by_month = txn.open_table(BY_MONTH).map_err(internal)?;
                for month in booking.days.months() {
                    let month = month.to_string();
                    by_month
                        .insert((month.as_str(), sort_key.as_str()), bytes.as_slice())
                        .map_err(internal)?;
                }
                let mut bookings = txn.open_table(BOOKINGS).map_err(internal)?;
                bookings
                    .insert(booking.id.to_string().as_str(), bytes.as_slice())
                    .map_err(internal)?;
            }
            txn.commit().map_err(internal)?;
            Ok(Created::New)
        })
        .await
    }

    async fn get(&self, id: BookingId) -> Result<Booking> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(internal)?;
            let bookings = txn.open_table(BOOKINGS).map_err(internal)?;
            let found = bookings.get(id.to_string().as_str()).map_err(internal)?;
            decode(found.ok_or(Error::NotFound)?.value())
        })
    }

    async fn delete(&self, id: BookingId) -> Result<()> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(internal)?;
            {
                let mut bookings = txn.open_table(BOOKINGS).map_err(internal)?;
                let removed = bookings.remove(id.to_string().as_str()).map_err(internal)?;
                let booking = decode(removed.ok_or(Error::NotFound)?.value())?;
                let sort_key = plan::sort_key(&booking);
                let mut by_person = txn.open_table(BY_PERSON).map_err(internal)?;
                by_person
                    .remove((booking.user_name.key().as_str(), sort_key.as_str()))
                    .map_err(internal)?;
                let mut by_month = txn.open_table(BY_MONTH).map_err(internal)?;
                for month in booking.days.months() {
                    by_month
                        .remove((month.to_string().as_str(), sort_key.as_str()))
                        .map_err(internal)?;
                }
            }
            txn.commit().map_err(internal)
        })
        .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Page> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(internal)?;
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
        })
    }

    async fn ping(&self) -> Result<()> {
        self.read(|db| db.begin_read().map(drop).map_err(internal))
    }
}
