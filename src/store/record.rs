//! The JSON shape of a booking and its checked conversion back. DynamoDB keeps a booking as one
//! attribute per field and, for the versions before, as this JSON document (see `dynamo`); the
//! embedded store kept it so before its packed record, and still reads it (see
//! `embedded::packed`).

use std::borrow::Cow;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::Offset;
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
            user_name: Cow::Borrowed(b.user_name.as_stored()),
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
        let created_at = parse_created_at(&r.created_at).ok_or_else(|| bad("created_at"))?;
        checked(id, &r.user_name, (first, last), created_at)
    }
}

/// A creation time as the store writes it (`Timestamp`'s display: `2026-03-02T10:00:00.5Z`,
/// with up to nine digits of fraction), read by hand; any other text through jiff's parser.
/// That general parser (RFC 3339, ISO 8601, offsets) cost 16k more of the 648k instructions
/// of a DynamoDB month page of 50 bookings, some 320 a time (callgrind).
fn parse_created_at(text: &str) -> Option<Timestamp> {
    as_displayed(text).or_else(|| text.parse().ok())
}

fn as_displayed(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() < "YYYY-MM-DDTHH:MM:SSZ".len() {
        return None;
    }
    let (Some(b'T'), Some(b':'), Some(b':'), Some(b'Z')) =
        (bytes.get(10), bytes.get(13), bytes.get(16), bytes.last())
    else {
        return None;
    };
    let date = parse_date("created_at", &text[..10]).ok()?;
    let two_digits = |at: usize| -> Option<i8> {
        let (tens, ones) = (bytes[at], bytes[at + 1]);
        (tens.is_ascii_digit() && ones.is_ascii_digit())
            .then(|| i8::try_from((tens - b'0') * 10 + (ones - b'0')).ok())?
    };
    let (hour, minute, second) = (two_digits(11)?, two_digits(14)?, two_digits(17)?);
    let nanosecond = match &bytes[19..bytes.len() - 1] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            digits.iter().try_fold(0, |n: i32, digit| {
                digit
                    .is_ascii_digit()
                    .then(|| n * 10 + i32::from(digit - b'0'))
            })? * 10_i32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let time = Time::new(hour, minute, second, nanosecond).ok()?;
    Offset::UTC.to_timestamp(date.to_datetime(time)).ok()
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

/// `read`, the booking stored under `id`'s key, if it is that booking. Another booking there is
/// corruption, not that booking: shown under `id`, or deleted, it would be the wrong one, and
/// deleting it would remove the other booking's entries.
pub(crate) fn under_key(id: BookingId, read: Booking) -> Result<Booking, Error> {
    if read.id == id {
        Ok(read)
    } else {
        Err(corrupt(&id, "id: its key holds another booking"))
    }
}

/// A stored booking whose `field` fails its check. Stored data went through the same checks
/// when it was written, so this is corruption, never bad user input.
pub(crate) fn corrupt(id: &dyn std::fmt::Display, field: &str) -> Error {
    Error::Internal(format!("stored booking {id}: bad {field}"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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

    proptest! {
        #[test]
        fn creation_times_read_back_as_jiff_writes_them(
            seconds in -2_208_988_800_i64..32_503_680_000,
            nanos in prop_oneof![Just(0), 0..1_000_000_000_i32, (1..1000_i32).prop_map(|n| n * 1_000_000)],
        ) {
            let time = Timestamp::new(seconds, nanos).unwrap();
            prop_assert_eq!(as_displayed(&time.to_string()), Some(time));
        }

        /// Text of the shape, some of it no time (a 31 February, a 24th hour, a 61st second,
        /// a letter in the fraction): what the hand-written path reads, jiff's parser reads
        /// the same.
        #[test]
        fn the_hand_written_path_agrees_with_jiff(text in "(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-[0-3][0-9]T([01][0-9]|2[0-4]):[0-5][0-9]:[0-6][0-9](\\.[0-9x]{0,10})?Z") {
            if let Some(read) = as_displayed(&text) {
                prop_assert_eq!(Some(read), text.parse::<Timestamp>().ok(), "{}", text);
            }
        }
    }

    #[test]
    fn creation_times_in_other_forms_go_through_jiff() {
        for (text, expected) in [
            ("2026-03-02T10:00:00+01:00", Some("2026-03-02T09:00:00Z")),
            ("2026-03-02T23:59:60Z", Some("2026-03-02T23:59:59Z")),
            ("2026-03-02 10:00:00Z", Some("2026-03-02T10:00:00Z")),
            ("-000001-01-01T00:00:00Z", Some("-000001-01-01T00:00:00Z")),
            ("2026-03-02T10:00:00.Z", None),
            ("2026-03-02T10:00:00.1234567890Z", None),
            ("2026-03-02T24:00:00Z", None),
            ("2026-02-30T10:00:00Z", None),
            ("2026-03-02T10:00:Z", None),
            ("2026-03-02T1:00:00Z", None),
            ("yesterday", None),
        ] {
            let expected = expected.map(|e| e.parse::<Timestamp>().unwrap());
            assert_eq!(parse_created_at(text), expected, "{text}");
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
