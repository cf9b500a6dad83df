//! What a create and a delete do inside a write transaction. Each checks everything before it
//! writes anything, so a refused write leaves the transaction as it found it.

use redb::{ReadableTable, ReadableTableMetadata, Table, WriteTransaction};

use super::writer::MAX_BATCH;
use super::{
    BOOKINGS, BY_MONTH, BY_PERSON, IDEMPOTENCY, IDEMPOTENCY_EXPIRY, decode, packed, storage,
};
use crate::domain::{Booking, BookingId, IdempotencyKey};
use crate::store::{Created, Error, Result, idempotency_expiry, replay};
use crate::store::{plan, record};

/// The tables of one write transaction, opened once for all the writes it holds.
pub(super) struct WriteTables<'txn> {
    bookings: Table<'txn, &'static str, &'static [u8]>,
    by_month: Table<'txn, (&'static str, &'static str), &'static [u8]>,
    by_person: Table<'txn, (&'static str, &'static str), &'static [u8]>,
    idempotency: Table<'txn, &'static str, (&'static str, i64)>,
    idempotency_expiry: Table<'txn, (i64, &'static str), ()>,
}

/// At most this many expired idempotency keys are removed per commit: more than a commit can
/// add (one per write, [`MAX_BATCH`] writes), so they cannot pile up, and few enough that a
/// backlog (a file from before the keys were removed) delays no commit much.
const EXPIRED_KEYS_PER_COMMIT: usize = 2 * MAX_BATCH;

impl<'txn> WriteTables<'txn> {
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Self> {
        Ok(Self {
            bookings: txn.open_table(BOOKINGS).map_err(storage)?,
            by_month: txn.open_table(BY_MONTH).map_err(storage)?,
            by_person: txn.open_table(BY_PERSON).map_err(storage)?,
            idempotency: txn.open_table(IDEMPOTENCY).map_err(storage)?,
            idempotency_expiry: txn.open_table(IDEMPOTENCY_EXPIRY).map_err(storage)?,
        })
    }

    /// Indexes the keys of a file written before their expiries were: all of them, once, when
    /// none is indexed.
    pub(super) fn index_key_expiries(&mut self) -> Result<()> {
        let indexed = !self.idempotency_expiry.is_empty().map_err(storage)?;
        if indexed || self.idempotency.is_empty().map_err(storage)? {
            return Ok(());
        }
        for entry in self.idempotency.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let (_, expires) = value.value();
            self.idempotency_expiry
                .insert((expires, key.value()), ())
                .map_err(storage)?;
        }
        Ok(())
    }

    /// Removes up to [`EXPIRED_KEYS_PER_COMMIT`] idempotency keys expired by `now` (Unix
    /// seconds): a create ignores them, so they would only take room.
    pub(super) fn remove_expired_keys(&mut self, now: i64) -> Result<()> {
        let mut expired = Vec::new();
        let up_to_now = ..(now.saturating_add(1), "");
        for entry in self
            .idempotency_expiry
            .range(up_to_now)
            .map_err(storage)?
            .take(EXPIRED_KEYS_PER_COMMIT)
        {
            let (indexed, _) = entry.map_err(storage)?;
            let (expires, key) = indexed.value();
            expired.push((expires, key.to_owned()));
        }
        for (expires, key) in expired {
            self.idempotency_expiry
                .remove((expires, key.as_str()))
                .map_err(storage)?;
            // A key used again after it expired has a later expiry now, and stays.
            let current = self.idempotency.get(key.as_str()).map_err(storage)?;
            if current.is_some_and(|v| v.value().1 == expires) {
                self.idempotency.remove(key.as_str()).map_err(storage)?;
            }
        }
        Ok(())
    }
}

pub(super) fn create(
    tables: &mut WriteTables<'_>,
    booking: &Booking,
    idempotency_key: Option<&IdempotencyKey>,
) -> Result<Created> {
    let id = booking.id.to_string();
    // Writing the same booking twice stores it once, as on DynamoDB.
    if tables.bookings.get(id.as_str()).map_err(storage)?.is_some() {
        return Ok(Created::New);
    }
    if let Some(idempotency_key) = idempotency_key {
        let earlier = tables
            .idempotency
            .get(idempotency_key.as_str())
            .map_err(storage)?
            .map(|v| {
                let (id, expires) = v.value();
                (id.to_owned(), expires)
            });
        if let Some((earlier_id, expires)) = earlier
            && expires > jiff::Timestamp::now().as_second()
        {
            let found = tables.bookings.get(earlier_id.as_str()).map_err(storage)?;
            let earlier = found.ok_or(Error::NotFound).and_then(|v| {
                let earlier_id = earlier_id.parse().map_err(|_| {
                    Error::Internal(format!("idempotency key {idempotency_key}: bad booking id"))
                })?;
                record::under_key(earlier_id, decode(v.value())?)
            });
            return replay(booking, earlier);
        }
    }
    let key = booking.user_name.key();
    let lo = booking.days.earliest_overlapping_start().to_string();
    let hi = format!("{}#~", booking.days.last());
    for entry in tables
        .by_person
        .range((key.as_str(), lo.as_str())..=(key.as_str(), hi.as_str()))
        .map_err(storage)?
    {
        let other = decode(entry.map_err(storage)?.1.value())?;
        if other.days.overlaps(booking.days) {
            let first_day = other.days.first().max(booking.days.first());
            return Err(Error::Conflict { first_day });
        }
    }

    let bytes = packed::encode(booking);
    let sort_key = plan::sort_key(booking);
    if let Some(idempotency_key) = idempotency_key {
        let expires = idempotency_expiry();
        tables
            .idempotency
            .insert(idempotency_key.as_str(), (id.as_str(), expires))
            .map_err(storage)?;
        tables
            .idempotency_expiry
            .insert((expires, idempotency_key.as_str()), ())
            .map_err(storage)?;
    }
    tables
        .by_person
        .insert((key.as_str(), sort_key.as_str()), bytes.as_slice())
        .map_err(storage)?;
    for month in booking.days.months() {
        let month = month.to_string();
        tables
            .by_month
            .insert((month.as_str(), sort_key.as_str()), bytes.as_slice())
            .map_err(storage)?;
    }
    tables
        .bookings
        .insert(id.as_str(), bytes.as_slice())
        .map_err(storage)?;
    Ok(Created::New)
}

pub(super) fn delete(tables: &mut WriteTables<'_>, id: BookingId) -> Result<()> {
    let removed = tables
        .bookings
        .remove(id.to_string().as_str())
        .map_err(storage)?;
    let booking = record::under_key(id, decode(removed.ok_or(Error::NotFound)?.value())?)?;
    let sort_key = plan::sort_key(&booking);
    // A booking stored by an earlier release may be under the key of then: the sort key names
    // this booking alone, so removing under every key removes its entry and nothing else.
    let name = &booking.user_name;
    for key in std::iter::once(name.key()).chain(name.earlier_keys()) {
        tables
            .by_person
            .remove((key.as_str(), sort_key.as_str()))
            .map_err(storage)?;
    }
    for month in booking.days.months() {
        tables
            .by_month
            .remove((month.to_string().as_str(), sort_key.as_str()))
            .map_err(storage)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use redb::Database;

    use super::*;

    const DAY: i64 = 24 * 60 * 60;

    fn now() -> i64 {
        jiff::Timestamp::now().as_second()
    }

    /// Creates a booking with idempotency key `key`, for a person of its own.
    fn create_keyed(tables: &mut WriteTables<'_>, key: &str) {
        let booking = Booking::parse(key, "2026-03-02", "2026-03-03").unwrap();
        let key = IdempotencyKey::parse(key).unwrap();
        assert_eq!(create(tables, &booking, Some(&key)).unwrap(), Created::New);
    }

    /// The number of keys, and of indexed expiries.
    fn counts(tables: &WriteTables<'_>) -> (u64, u64) {
        let keys = tables.idempotency.len().unwrap();
        (keys, tables.idempotency_expiry.len().unwrap())
    }

    fn with_tables(f: impl FnOnce(&mut WriteTables<'_>)) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("test.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        f(&mut WriteTables::open(&txn).unwrap());
    }

    #[test]
    fn expired_keys_are_removed_a_bounded_number_at_a_time() {
        with_tables(|tables| {
            for i in 0..200 {
                create_keyed(tables, &format!("key-{i}"));
            }
            tables.remove_expired_keys(now() + DAY - 60).unwrap();
            assert_eq!(counts(tables), (200, 200), "kept for a day");
            let tomorrow = now() + DAY + 60;
            tables.remove_expired_keys(tomorrow).unwrap();
            let left = 200 - EXPIRED_KEYS_PER_COMMIT as u64;
            assert_eq!(counts(tables), (left, left));
            tables.remove_expired_keys(tomorrow).unwrap();
            assert_eq!(counts(tables), (0, 0));
        });
    }

    /// A key that expired and was used again keeps its new use until that expires.
    #[test]
    fn a_key_used_again_stays_until_its_new_expiry() {
        with_tables(|tables| {
            let yesterday = now() - DAY;
            tables
                .idempotency
                .insert("again", ("01J0", yesterday))
                .unwrap();
            tables
                .idempotency_expiry
                .insert((yesterday, "again"), ())
                .unwrap();
            create_keyed(tables, "again");
            assert_eq!(counts(tables), (1, 2));
            tables.remove_expired_keys(now()).unwrap();
            assert_eq!(counts(tables), (1, 1), "only the old expiry went");
            let expires = tables.idempotency.get("again").unwrap().unwrap().value().1;
            assert!(expires > now(), "the new use stays");
        });
    }

    /// A file from before the index: its keys are indexed once, and then removed in time.
    #[test]
    fn keys_from_before_the_index_are_indexed() {
        with_tables(|tables| {
            let (earlier, later) = (now() - 60, now() + DAY);
            tables.idempotency.insert("old", ("01J0", earlier)).unwrap();
            tables
                .idempotency
                .insert("recent", ("01J1", later))
                .unwrap();
            tables.index_key_expiries().unwrap();
            assert_eq!(counts(tables), (2, 2));
            tables.index_key_expiries().unwrap();
            assert_eq!(counts(tables), (2, 2), "indexed once");
            tables.remove_expired_keys(now()).unwrap();
            assert!(tables.idempotency.get("old").unwrap().is_none());
            assert!(tables.idempotency.get("recent").unwrap().is_some());
        });
    }
}
