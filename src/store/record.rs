//! The JSON shape of a booking and its checked conversion back. DynamoDB keeps a booking as one
//! attribute per field and, for the versions before, as this JSON document (see `dynamo`); the
//! embedded store kept it so before its packed record, and still reads it (see
//! `embedded::packed`).

use std::borrow::Cow;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::Error;
use crate::domain::{Booking, BookingId, DateRange, PersonName, parse_date};

/// Its fields borrow from the JSON they are read from wherever they hold no escape, which
/// spares a month page of 50 bookings 250 strings allocated, copied and freed.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Record<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub user_name: Cow<'a, str>,
    #[serde(borrow)]
    pub from_date: Cow<'a, str>,
    #[serde(borrow)]
    pub to_date: Cow<'a, str>,
    #[serde(borrow)]
    pub created_at: Cow<'a, str>,
}

/// The stored JSON of a booking.
pub(crate) fn to_json(record: &Record<'_>) -> Result<String, Error> {
    serde_json::to_string(record).map_err(|e| Error::Internal(e.to_string()))
}

/// The booking stored as `json`; anything else is corruption. A `str`, not bytes: parsed from
/// bytes, each of a record's ten strings was checked for UTF-8 on its own, 46k of the 797k
/// instructions of a month page with 50 bookings (callgrind); the embedded store checks a
/// record's bytes once.
pub(crate) fn from_json(json: &str) -> Result<Booking, Error> {
    serde_json::from_str::<Record>(json)
        .map_err(|e| Error::Internal(format!("stored booking is not a record: {e}")))?
        .try_into()
}

impl<'a> From<&'a Booking> for Record<'a> {
    fn from(b: &'a Booking) -> Self {
        Self {
            id: Cow::Owned(b.id.to_string()),
            user_name: Cow::Borrowed(b.user_name.as_str()),
            from_date: Cow::Owned(b.days.first().to_string()),
            to_date: Cow::Owned(b.days.last().to_string()),
            created_at: Cow::Owned(b.created_at.to_string()),
        }
    }
}

impl TryFrom<Record<'_>> for Booking {
    type Error = Error;

    fn try_from(r: Record<'_>) -> Result<Self, Error> {
        let bad = |field: &str| corrupt(&r.id, field);
        let id = r.id.parse().map_err(|_| bad("id"))?;
        let first = parse_date("from_date", &r.from_date).map_err(|_| bad("from_date"))?;
        let last = parse_date("to_date", &r.to_date).map_err(|_| bad("to_date"))?;
        let created_at = r.created_at.parse().map_err(|_| bad("created_at"))?;
        checked(id, &r.user_name, (first, last), created_at)
    }
}

/// The booking of fields read back from either stored form (this JSON, or the embedded store's
/// packed record), checked by the rules they were written under.
pub(crate) fn checked(
    id: BookingId,
    user_name: &str,
    (first, last): (Date, Date),
    created_at: Timestamp,
) -> Result<Booking, Error> {
    Ok(Booking {
        id,
        user_name: PersonName::stored(user_name).map_err(|_| corrupt(&id, "user_name"))?,
        days: DateRange::booking(first, last).map_err(|_| corrupt(&id, "dates"))?,
        created_at,
    })
}

/// A stored booking whose `field` fails its check. Stored data went through the same checks
/// when it was written, so this is corruption, never bad user input.
pub(crate) fn corrupt(id: &dyn std::fmt::Display, field: &str) -> Error {
    Error::Internal(format!("stored booking {id}: bad {field}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_booking_reads_back_as_written_whatever_its_name_holds() {
        // Names JSON writes as they are, and names it escapes (which cannot be borrowed).
        for name in [
            "Ada Lovelace",
            "Zoë \"Zed\" O'Neil",
            r"back\slash",
            "名前 テスト",
            "tab\u{a0}nbsp",
        ] {
            let booking = Booking::parse(name, "2031-03-02", "2031-03-04").unwrap();
            let read = from_json(&to_json(&Record::from(&booking)).unwrap()).unwrap();
            assert_eq!(read, booking, "{name}");
        }
    }

    #[test]
    fn anything_but_a_record_is_corruption() {
        let booking = Booking::parse("Ada", "2031-03-02", "2031-03-04").unwrap();
        let good = to_json(&Record::from(&booking)).unwrap();
        for bad in [
            String::new(),
            "{}".to_owned(),
            "[1,2]".to_owned(),
            good.replace("2031-03-04", "2031-02-30"),
            good.replace("2031-03-04", "2031-03-01"),
            good.replace("\"Ada\"", "\"\""),
            good.replace(&booking.id.to_string(), "not-an-id"),
            good[..good.len() - 1].to_owned(),
        ] {
            assert!(matches!(from_json(&bad), Err(Error::Internal(_))), "{bad}");
        }
    }
}
