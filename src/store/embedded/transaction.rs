//! What a create and a delete do inside a write transaction. Each checks everything before it
//! writes anything, so a refused write leaves the transaction as it found it.

use redb::{ReadableTable, Table, WriteTransaction};

use super::{BOOKINGS, BY_MONTH, BY_PERSON, IDEMPOTENCY, decode, encode, internal};
use crate::domain::{Booking, BookingId, IdempotencyKey};
use crate::store::plan;
use crate::store::{Created, Error, Result, idempotency_expiry, replay};

/// The tables of one write transaction, opened once for all the writes it holds.
pub(super) struct WriteTables<'txn> {
    bookings: Table<'txn, &'static str, &'static [u8]>,
    by_month: Table<'txn, (&'static str, &'static str), &'static [u8]>,
    by_person: Table<'txn, (&'static str, &'static str), &'static [u8]>,
    idempotency: Table<'txn, &'static str, (&'static str, i64)>,
}

impl<'txn> WriteTables<'txn> {
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Self> {
        Ok(Self {
            bookings: txn.open_table(BOOKINGS).map_err(internal)?,
            by_month: txn.open_table(BY_MONTH).map_err(internal)?,
            by_person: txn.open_table(BY_PERSON).map_err(internal)?,
            idempotency: txn.open_table(IDEMPOTENCY).map_err(internal)?,
        })
    }
}

pub(super) fn create(
    tables: &mut WriteTables<'_>,
    booking: &Booking,
    idempotency_key: Option<&IdempotencyKey>,
) -> Result<Created> {
    let id = booking.id.to_string();
    // Writing the same booking twice stores it once, as on DynamoDB.
    if tables
        .bookings
        .get(id.as_str())
        .map_err(internal)?
        .is_some()
    {
        return Ok(Created::New);
    }
    if let Some(idempotency_key) = idempotency_key {
        let earlier = tables
            .idempotency
            .get(idempotency_key.as_str())
            .map_err(internal)?
            .map(|v| {
                let (id, expires) = v.value();
                (id.to_owned(), expires)
            });
        if let Some((earlier_id, expires)) = earlier {
            if expires > jiff::Timestamp::now().as_second() {
                let found = tables.bookings.get(earlier_id.as_str()).map_err(internal)?;
                let earlier = found.ok_or(Error::NotFound).and_then(|v| decode(v.value()));
                return replay(booking, earlier);
            }
        }
    }
    let key = booking.user_name.key();
    let lo = booking.days.earliest_overlapping_start().to_string();
    let hi = format!("{}#~", booking.days.last());
    for entry in tables
        .by_person
        .range((key.as_str(), lo.as_str())..=(key.as_str(), hi.as_str()))
        .map_err(internal)?
    {
        let other = decode(entry.map_err(internal)?.1.value())?;
        if other.days.overlaps(booking.days) {
            let first_day = other.days.first().max(booking.days.first());
            return Err(Error::Conflict { first_day });
        }
    }

    let bytes = encode(booking)?;
    let sort_key = plan::sort_key(booking);
    if let Some(idempotency_key) = idempotency_key {
        tables
            .idempotency
            .insert(
                idempotency_key.as_str(),
                (id.as_str(), idempotency_expiry()),
            )
            .map_err(internal)?;
    }
    tables
        .by_person
        .insert((key.as_str(), sort_key.as_str()), bytes.as_slice())
        .map_err(internal)?;
    for month in booking.days.months() {
        let month = month.to_string();
        tables
            .by_month
            .insert((month.as_str(), sort_key.as_str()), bytes.as_slice())
            .map_err(internal)?;
    }
    tables
        .bookings
        .insert(id.as_str(), bytes.as_slice())
        .map_err(internal)?;
    Ok(Created::New)
}

pub(super) fn delete(tables: &mut WriteTables<'_>, id: BookingId) -> Result<()> {
    let removed = tables
        .bookings
        .remove(id.to_string().as_str())
        .map_err(internal)?;
    let booking = decode(removed.ok_or(Error::NotFound)?.value())?;
    let sort_key = plan::sort_key(&booking);
    // A booking stored before keys folded case is under the key of then: the sort key names
    // this booking alone, so removing under both keys removes its entry and nothing else.
    let (person_key, legacy_key) = (booking.user_name.key(), booking.user_name.legacy_key());
    for key in [person_key.as_str(), legacy_key.as_str()] {
        tables
            .by_person
            .remove((key, sort_key.as_str()))
            .map_err(internal)?;
    }
    for month in booking.days.months() {
        tables
            .by_month
            .remove((month.to_string().as_str(), sort_key.as_str()))
            .map_err(internal)?;
    }
    Ok(())
}
