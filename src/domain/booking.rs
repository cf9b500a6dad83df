//! A leave booking and its identifier.

use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use jiff::Timestamp;
use ulid::Ulid;

use super::{DateRange, InvalidDate, InvalidName, InvalidRange, PersonName, parse_date};

/// Why a booking request was refused; the message names the field and says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBooking {
    #[error("user_name {0}")]
    Name(#[from] InvalidName),
    #[error(transparent)]
    Date(#[from] InvalidDate),
    #[error("{0}")]
    Range(#[from] InvalidRange),
}

/// A booking's identifier: a ULID, unique and ordered by creation time (its first 48 bits are
/// the creation millisecond, the other 80 random), never derived from the clock alone. Within
/// one process ids are made in increasing order, within a millisecond too (see
/// [`BookingId::generate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BookingId(Ulid);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a booking id (expected 26 characters of Crockford base 32, in upper case)")]
pub struct InvalidId(String);

impl BookingId {
    /// The length of its text.
    pub const LEN: usize = ulid::ULID_LEN;

    pub fn generate() -> Self {
        Self::generate_timed().0
    }

    /// A new id, greater than every id made before in this process, even in the same
    /// millisecond (the random part of the one before, plus a random step) or after the clock
    /// stepped back; and the time it was made, read under the same lock, so that the creation
    /// times of a process's bookings are in the order of their ids.
    fn generate_timed() -> (Self, Timestamp) {
        static IDS: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());
        let mut ids = IDS.lock().unwrap_or_else(PoisonError::into_inner);
        let now = SystemTime::now();
        // An error only when the random part would overflow, about never.
        let id = ids
            .generate_from_datetime(now)
            .unwrap_or_else(|_| Ulid::from_datetime(now));
        let made = Timestamp::try_from(now).unwrap_or_else(|_| Timestamp::now());
        (Self(id), made)
    }

    /// Its 128 bits, most significant byte first (every value is a ULID).
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_bytes()
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Ulid::from_bytes(bytes))
    }

    /// Its text, written into `buffer`: without the `String` of `to_string`.
    pub fn encode<'b>(&self, buffer: &'b mut [u8; Self::LEN]) -> &'b str {
        self.0.array_to_str(buffer)
    }
}

impl FromStr for BookingId {
    type Err = InvalidId;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        // Only the canonical upper-case form is accepted, so one booking has exactly one URL
        // and one storage key.
        Ulid::from_string(value)
            .ok()
            .map(Self)
            .filter(|id| id.encode(&mut [0; Self::LEN]) == value)
            .ok_or_else(|| InvalidId(super::echoed(value)))
    }
}

impl fmt::Display for BookingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Ulid's own `Display` goes through `write!` a second time.
        f.write_str(self.encode(&mut [0; Self::LEN]))
    }
}

/// One person's leave over an inclusive range of days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: BookingId,
    pub user_name: PersonName,
    pub days: DateRange,
    pub created_at: Timestamp,
}

impl Booking {
    /// A new booking with a fresh id, created now.
    pub fn new(user_name: PersonName, days: DateRange) -> Self {
        let (id, created_at) = BookingId::generate_timed();
        Self {
            id,
            user_name,
            days,
            created_at,
        }
    }

    /// Parses a booking request as people type it: a name and two `YYYY-MM-DD` dates. Refused
    /// with the first of [`Booking::parse_all`]'s problems.
    pub fn parse(user_name: &str, from_date: &str, to_date: &str) -> Result<Self, InvalidBooking> {
        // `parse_all` refuses with one problem at least.
        Self::parse_all(user_name, from_date, to_date).map_err(|mut problems| problems.remove(0))
    }

    /// Parses a booking request, or tells every problem with it, field by field: the name, each
    /// date, and the days' range once both are dates.
    pub fn parse_all(
        user_name: &str,
        from_date: &str,
        to_date: &str,
    ) -> Result<Self, Vec<InvalidBooking>> {
        let mut problems: Vec<InvalidBooking> = Vec::new();
        let mut refused = |problem: InvalidBooking| problems.push(problem);
        let name = PersonName::parse(user_name)
            .map_err(|e| refused(e.into()))
            .ok();
        let first = parse_date("from_date", from_date)
            .map_err(|e| refused(e.into()))
            .ok();
        let last = parse_date("to_date", to_date)
            .map_err(|e| refused(e.into()))
            .ok();
        let days = match (first, last) {
            (Some(first), Some(last)) => DateRange::booking(first, last)
                .map_err(|e| refused(e.into()))
                .ok(),
            _ => None,
        };
        match (name, days) {
            (Some(name), Some(days)) => Ok(Self::new(name, days)),
            _ => Err(problems),
        }
    }

    /// Whether `other` books the same days for the same person: what a retried request with the
    /// same idempotency key must ask for.
    pub fn same_request_as(&self, other: &Booking) -> bool {
        self.user_name.key() == other.user_name.key() && self.days == other.days
    }

    /// Two bookings conflict when they are for the same person and share at least one day.
    pub fn conflicts_with(&self, other: &Booking) -> bool {
        self.user_name.key() == other.user_name.key() && self.days.overlaps(other.days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request wrong in several fields is refused by `parse` for the first of them, in the
    /// order of the fields (name, first day, last day, then their range), and by `parse_all`
    /// for all of them.
    #[test]
    fn parse_refuses_with_the_first_problem_and_parse_all_with_every_one() {
        let first = |name, from, to| Booking::parse(name, from, to).unwrap_err().to_string();
        assert!(first("", "x", "y").starts_with("user_name"));
        assert!(first("Ann", "x", "y").starts_with("from_date"));
        assert!(first("Ann", "2026-01-02", "y").starts_with("to_date"));
        assert!(first("Ann", "2026-01-02", "2026-01-01").starts_with("to_date (2026-01-01)"));
        let all = Booking::parse_all("", "x", "2026-01-01").unwrap_err();
        let fields: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert_eq!(fields.len(), 2, "{fields:?}");
        assert!(fields[0].starts_with("user_name") && fields[1].starts_with("from_date"));
        assert!(Booking::parse_all("Ann", "2026-01-01", "2026-01-02").is_ok());
    }
    use crate::domain::parse_date;

    fn booking(name: &str, first: &str, last: &str) -> Booking {
        let d = |s| parse_date("d", s).unwrap();
        Booking::new(
            PersonName::parse(name).unwrap(),
            DateRange::booking(d(first), d(last)).unwrap(),
        )
    }

    #[test]
    fn ids_round_trip_and_refuse_other_spellings() {
        let id = BookingId::generate();
        assert_eq!(id.to_string().parse::<BookingId>(), Ok(id));
        assert!(id.to_string().to_lowercase().parse::<BookingId>().is_err());
        for bad in [
            "",
            "1",
            "not-an-id",
            "01ARZ3NDEKTSV4RRFFQ69G5FAVX",
            "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        ] {
            assert!(bad.parse::<BookingId>().is_err(), "{bad}");
        }
    }

    /// Ids made one after another increase, within a millisecond too, on every thread; and the
    /// bookings' creation times follow their ids.
    #[test]
    fn ids_increase_in_the_order_they_are_made() {
        let made: Vec<Vec<Booking>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        (0..500)
                            .map(|_| booking("Ann", "2026-03-02", "2026-03-02"))
                            .collect()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for bookings in &made {
            assert!(bookings.windows(2).all(|w| w[0].id < w[1].id));
        }
        let mut all: Vec<&Booking> = made.iter().flatten().collect();
        all.sort_by_key(|b| b.id);
        all.dedup_by_key(|b| b.id);
        assert_eq!(all.len(), 2000, "ids are unique");
        assert!(all.windows(2).all(|w| w[0].created_at <= w[1].created_at));
        let same_millisecond = all
            .windows(2)
            .any(|w| w[0].created_at.as_millisecond() == w[1].created_at.as_millisecond());
        assert!(same_millisecond, "some ids share a millisecond");
    }

    #[test]
    fn parse_names_the_bad_field() {
        let err = |n, f, t| Booking::parse(n, f, t).unwrap_err().to_string();
        assert_eq!(
            err("", "2026-03-01", "2026-03-02"),
            "user_name must not be empty"
        );
        assert_eq!(
            err("---", "2026-03-01", "2026-03-02"),
            "user_name must contain a letter or a digit"
        );
        assert!(err("Ann", "2026-02-30", "2026-03-02").starts_with("from_date"));
        assert!(err("Ann", "2026-03-01", "tomorrow").starts_with("to_date"));
        assert!(err("Ann", "2026-03-02", "2026-03-01").contains("must not be before"));
        let ok = Booking::parse(" Ann ", "2026-03-01", "2026-03-01").unwrap();
        assert_eq!((ok.user_name.as_str(), ok.days.len_days()), ("Ann", 1));
    }

    #[test]
    fn conflicts_need_same_person_and_a_shared_day() {
        let a = booking("Alice", "2026-03-02", "2026-03-06");
        assert!(a.conflicts_with(&booking(" alice", "2026-03-06", "2026-03-09")));
        assert!(!a.conflicts_with(&booking("alice", "2026-03-07", "2026-03-09")));
        assert!(!a.conflicts_with(&booking("Bob", "2026-03-02", "2026-03-06")));
    }
}
