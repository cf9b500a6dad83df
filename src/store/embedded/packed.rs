//! How the embedded store keeps a booking: a packed record of fixed-width fields and the name.
//!
//! Bookings were kept as the JSON document of [`record`](crate::store::record), which a month
//! page of 50 bookings spent 213k of its 564k instructions reading back (callgrind): JSON
//! itself, and parsing the dates, the creation time and the id from text. The packed record
//! is read with a few copies and checks. Records written before, in JSON, are still read (a
//! JSON record starts with `{`, a packed one with [`VERSION`]); a version before this one
//! cannot read a packed record.
//!
//! | bytes | field |
//! |---|---|
//! | 0 | [`VERSION`] |
//! | 1–16 | id: the ULID's 128 bits, most significant byte first |
//! | 17–20 | first day: year (i16, big-endian), month, day |
//! | 21–24 | last day, the same way |
//! | 25–32 | created at: seconds since the Unix epoch (i64, big-endian) |
//! | 33–36 | created at: nanoseconds within the second (i32, big-endian; before 1970 negative, as the seconds are) |
//! | 37– | the person's name, UTF-8 |

use jiff::Timestamp;
use jiff::civil::Date;

use crate::domain::{Booking, BookingId, is_supported_year};
use crate::store::{Error, record};

/// The first byte of a packed record. Not `{`, with which a JSON record starts.
pub(super) const VERSION: u8 = 1;

const NAME_AT: usize = 37;

pub(super) fn encode(booking: &Booking) -> Vec<u8> {
    let name = booking.user_name.as_stored().as_bytes();
    let mut bytes = Vec::with_capacity(NAME_AT + name.len());
    bytes.push(VERSION);
    bytes.extend_from_slice(&booking.id.to_bytes());
    for day in [booking.days.first(), booking.days.last()] {
        bytes.extend_from_slice(&day.year().to_be_bytes());
        // Month and day are 1 to 12 and 1 to 31, so these casts keep them whole.
        bytes.extend_from_slice(&[day.month() as u8, day.day() as u8]);
    }
    bytes.extend_from_slice(&booking.created_at.as_second().to_be_bytes());
    bytes.extend_from_slice(&booking.created_at.subsec_nanosecond().to_be_bytes());
    bytes.extend_from_slice(name);
    debug_assert_eq!(bytes.len(), NAME_AT + name.len());
    bytes
}

/// The booking of a packed record; one that fails a check is corrupt (see `record::checked`).
pub(super) fn decode(bytes: &[u8]) -> Result<Booking, Error> {
    if bytes.len() < NAME_AT || bytes[0] != VERSION {
        return Err(Error::Internal(format!(
            "stored booking is not a packed record of version {VERSION} ({} bytes)",
            bytes.len()
        )));
    }
    let id = BookingId::from_bytes(array(bytes, 1));
    let bad = |field: &str| record::corrupt(&id, field);
    let first = date(array(bytes, 17)).ok_or_else(|| bad("from_date"))?;
    let last = date(array(bytes, 21)).ok_or_else(|| bad("to_date"))?;
    let seconds = i64::from_be_bytes(array(bytes, 25));
    let nanoseconds = i32::from_be_bytes(array(bytes, 33));
    let created_at = Timestamp::new(seconds, nanoseconds).map_err(|_| bad("created_at"))?;
    let name = std::str::from_utf8(&bytes[NAME_AT..]).map_err(|_| bad("user_name"))?;
    record::checked(id, name, (first, last), created_at)
}

/// The `N` bytes at `at`; the caller has checked that the record is long enough.
fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes[at..at + N]
        .try_into()
        .expect("within the fixed fields")
}

fn date([year_high, year_low, month, day]: [u8; 4]) -> Option<Date> {
    let year = i16::from_be_bytes([year_high, year_low]);
    if !is_supported_year(year) {
        return None;
    }
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking(name: &str) -> Booking {
        Booking::parse(name, "2031-03-02", "2031-05-30").unwrap()
    }

    #[test]
    fn a_booking_reads_back_as_written_whatever_its_name_holds() {
        for name in [
            "Ada",
            "Zoë \"Zed\" O'Neil",
            r"back\slash",
            "名前 テスト",
            "\u{1F469}\u{200D}\u{1F4BB} a",
            "😀 1",
            // The longest name, of characters of four bytes each.
            &"𝐀".repeat(crate::domain::MAX_NAME_CHARS),
        ] {
            let written = booking(name);
            let bytes = encode(&written);
            assert_eq!(bytes[0], VERSION);
            assert_eq!(bytes.len(), NAME_AT + name.len(), "{name}");
            assert_eq!(decode(&bytes).unwrap(), written, "{name}");
        }
    }

    /// The first and last supported days, and creation times before 1970 (negative seconds
    /// and nanoseconds) and at the ends of what a timestamp holds.
    #[test]
    fn a_booking_reads_back_as_written_at_the_limits_of_its_fields() {
        let created = [
            Timestamp::new(-1, -1).unwrap(),
            Timestamp::new(-86_400 * 365, -999_999_999).unwrap(),
            Timestamp::MIN,
            Timestamp::MAX,
        ];
        let days = [("1900-01-01", "1900-01-01"), ("2999-12-31", "2999-12-31")];
        for (created_at, (first, last)) in created.into_iter().zip(days.into_iter().cycle()) {
            let written = Booking {
                created_at,
                ..Booking::parse("Ada", first, last).unwrap()
            };
            assert_eq!(
                decode(&encode(&written)).unwrap(),
                written,
                "{created_at} {first}"
            );
        }
    }

    /// The fields sit where the table above says, so a record written by this version reads
    /// the same in the next.
    #[test]
    fn the_layout_is_as_documented() {
        let written = Booking {
            created_at: Timestamp::new(1_900_000_000, 123_456_789).unwrap(),
            ..booking("Ada")
        };
        let bytes = encode(&written);
        assert_eq!(bytes[1..17], written.id.to_bytes());
        assert_eq!(bytes[17..25], [0x07, 0xef, 3, 2, 0x07, 0xef, 5, 30]);
        assert_eq!(bytes[25..33], 1_900_000_000_i64.to_be_bytes());
        assert_eq!(bytes[33..37], 123_456_789_i32.to_be_bytes());
        assert_eq!(&bytes[37..], b"Ada");
    }

    #[test]
    fn anything_but_a_whole_packed_record_is_corruption() {
        let good = encode(&booking("Ada"));
        let with = |at: usize, replacement: &[u8]| {
            let mut bytes = good.clone();
            bytes.splice(at..at + replacement.len(), replacement.iter().copied());
            bytes
        };
        let mut reversed = good.clone();
        reversed[17..25].copy_from_slice(&[0x07, 0xef, 5, 30, 0x07, 0xef, 3, 2]);
        for (what, bad) in [
            ("empty", Vec::new()),
            ("JSON", b"{\"id\":\"x\"}".to_vec()),
            ("cut in its fields", good[..NAME_AT - 1].to_vec()),
            ("no name", good[..NAME_AT].to_vec()),
            ("another version", with(0, &[2])),
            ("February 30", with(17, &[0x07, 0xef, 2, 30])),
            ("month 13", with(21, &[0x07, 0xef, 13, 1])),
            ("year 3000", with(17, &[0x0b, 0xb8, 1, 1, 0x0b, 0xb8, 1, 2])),
            (
                "year 1899",
                with(17, &[0x07, 0x6b, 12, 30, 0x07, 0x6b, 12, 31]),
            ),
            ("last day before the first", reversed),
            ("too long a range", with(21, &[0x07, 0xf0, 1, 1])),
            (
                "nanoseconds past a second",
                with(33, &1_000_000_000_i32.to_be_bytes()),
            ),
            ("not UTF-8", with(NAME_AT, &[0xff])),
            ("a control character", with(NAME_AT + 1, b"\x07")),
        ] {
            assert!(matches!(decode(&bad), Err(Error::Internal(_))), "{what}");
        }
    }
}
