//! Civil dates as the calendar uses them: strict ISO parsing, months, and inclusive date ranges.

use std::fmt;
use std::str::FromStr;

use jiff::ToSpan;
use jiff::civil::Date;

use super::echoed;

/// Longest booking, in days (first and last day included). It keeps a booking's storage
/// footprint bounded: on DynamoDB one booking is written as a single transaction whose size
/// grows with the number of months it touches (at most four for 90 days).
pub const MAX_SPAN_DAYS: i32 = 90;

/// Longest date range one listing may ask for, in days.
pub const MAX_LIST_DAYS: i32 = 366;

/// Earliest and latest accepted years. Four-digit years keep `YYYY-MM-DD` strings sorting in date
/// order, which the storage keys rely on.
const MIN_YEAR: i16 = 1900;
const MAX_YEAR: i16 = 2999;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDate {
    #[error("{field} must be a date written YYYY-MM-DD, got '{value}'")]
    Format { field: &'static str, value: String },
    #[error("{field}: '{value}' is not a real date")]
    Impossible { field: &'static str, value: String },
    #[error("{field} must be between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31, got '{value}'")]
    OutOfRange { field: &'static str, value: String },
    #[error("month must be written YYYY-MM with a month from 01 to 12, got '{0}'")]
    Month(String),
    #[error("month must be between {MIN_YEAR}-01 and {MAX_YEAR}-12, got '{0}'")]
    MonthOutOfRange(String),
}

/// Parses a strict `YYYY-MM-DD` date; `field` names the input in error messages.
pub fn parse_date(field: &'static str, value: &str) -> Result<Date, InvalidDate> {
    let bytes = value.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(InvalidDate::Format {
            field,
            value: echoed(value),
        });
    }
    let number = |range: std::ops::Range<usize>| value[range].parse::<i16>().unwrap_or(-1);
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let month = i8::try_from(month).unwrap_or(-1);
    let day = i8::try_from(day).unwrap_or(-1);
    // A date that cannot be is told so before its year is found out of range: "0000-00-00"
    // has no month 00, whatever the years allowed.
    let date = Date::new(year, month, day).map_err(|_| InvalidDate::Impossible {
        field,
        value: value.to_owned(),
    })?;
    if !is_supported_year(year) {
        return Err(InvalidDate::OutOfRange {
            field,
            value: value.to_owned(),
        });
    }
    Ok(date)
}

/// Whether [`parse_date`] accepts dates of `year`.
pub fn is_supported_year(year: i16) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&year)
}

/// A calendar month such as 2026-03.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    first: Date,
}

impl Month {
    pub fn containing(date: Date) -> Self {
        Self {
            first: date.first_of_month(),
        }
    }

    /// The month of today's date in UTC.
    pub fn current() -> Self {
        Self::containing(today())
    }

    pub fn first_day(self) -> Date {
        self.first
    }

    pub fn last_day(self) -> Date {
        self.first.last_of_month()
    }

    pub fn days(self) -> DateRange {
        DateRange {
            first: self.first_day(),
            last: self.last_day(),
        }
    }

    /// The next month, or `None` past the last supported year.
    pub fn next(self) -> Option<Self> {
        let first = self.last_day().tomorrow().ok()?;
        (first.year() <= MAX_YEAR).then_some(Self { first })
    }

    /// The previous month, or `None` before the first supported year.
    pub fn previous(self) -> Option<Self> {
        let last = self.first.yesterday().ok()?;
        (last.year() >= MIN_YEAR).then(|| Self::containing(last))
    }

    /// All months from `self` through `last`, in order.
    pub fn through(self, last: Month) -> impl Iterator<Item = Month> {
        std::iter::successors(Some(self), move |m| m.next().filter(|n| *n <= last))
    }
}

impl FromStr for Month {
    type Err = InvalidDate;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidDate::Month(echoed(value));
        if value.len() != 7 {
            return Err(invalid());
        }
        let date = parse_date("month", &format!("{value}-01")).map_err(|e| match e {
            InvalidDate::OutOfRange { .. } => InvalidDate::MonthOutOfRange(value.to_owned()),
            _ => invalid(),
        })?;
        Ok(Self::containing(date))
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}

/// Today's date in UTC, the calendar's reference time zone.
pub fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRange {
    #[error("{last_field} ({last}) must not be before {first_field} ({first})")]
    Reversed {
        first_field: &'static str,
        last_field: &'static str,
        first: Date,
        last: Date,
    },
    #[error(
        "{last_field} makes the range {days} days long, both ends included; at most {max} are allowed"
    )]
    TooLong {
        last_field: &'static str,
        days: i32,
        max: i32,
    },
}

/// An inclusive range of days, `first <= last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    first: Date,
    last: Date,
}

impl DateRange {
    /// The days of one leave booking: `from_date` through `to_date`, at most [`MAX_SPAN_DAYS`].
    pub fn booking(first: Date, last: Date) -> Result<Self, InvalidRange> {
        Self::bounded(first, last, ("from_date", "to_date"), MAX_SPAN_DAYS)
    }

    /// The days a listing asks about: `from` through `to`, at most [`MAX_LIST_DAYS`].
    pub fn listing(first: Date, last: Date) -> Result<Self, InvalidRange> {
        Self::bounded(first, last, ("from", "to"), MAX_LIST_DAYS)
    }

    fn bounded(
        first: Date,
        last: Date,
        (first_field, last_field): (&'static str, &'static str),
        max: i32,
    ) -> Result<Self, InvalidRange> {
        if last < first {
            return Err(InvalidRange::Reversed {
                first_field,
                last_field,
                first,
                last,
            });
        }
        let range = Self { first, last };
        let days = range.len_days();
        if days > max {
            return Err(InvalidRange::TooLong {
                last_field,
                days,
                max,
            });
        }
        Ok(range)
    }

    pub fn first(self) -> Date {
        self.first
    }

    pub fn last(self) -> Date {
        self.last
    }

    /// Number of days, both ends included.
    pub fn len_days(self) -> i32 {
        // Both dates lie within supported years, so the difference always fits.
        (self.last - self.first).get_days() + 1
    }

    pub fn overlaps(self, other: DateRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }

    pub fn contains(self, day: Date) -> bool {
        self.first <= day && day <= self.last
    }

    /// Every day of the range, in order.
    pub fn iter_days(self) -> impl Iterator<Item = Date> {
        let last = self.last;
        std::iter::successors(Some(self.first), move |d| {
            d.tomorrow().ok().filter(|n| *n <= last)
        })
    }

    /// The months the range touches, in order.
    pub fn months(self) -> impl Iterator<Item = Month> {
        Month::containing(self.first).through(Month::containing(self.last))
    }

    /// The earliest first day a booking can have and still reach into this range.
    pub fn earliest_overlapping_start(self) -> Date {
        self.first
            .checked_sub((MAX_SPAN_DAYS - 1).days())
            .unwrap_or(self.first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    #[test]
    fn parses_only_strict_real_dates() {
        assert_eq!(parse_date("d", "2024-02-29"), Ok(date(2024, 2, 29)));
        for bad in [
            "2026-2-01",
            "20260201",
            "2026-02-01T00:00",
            " 2026-02-01",
            "２０２６-02-01",
            "",
        ] {
            assert!(
                matches!(parse_date("d", bad), Err(InvalidDate::Format { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_date("d", "2026-02-30"),
            Err(InvalidDate::Impossible { .. })
        ));
        assert!(matches!(
            parse_date("d", "2026-13-01"),
            Err(InvalidDate::Impossible { .. })
        ));
        assert!(matches!(
            parse_date("d", "0999-01-01"),
            Err(InvalidDate::OutOfRange { .. })
        ));
        // A date that cannot be is told so, before its year is found out of range.
        for impossible in ["0000-00-00", "3000-02-30", "1899-13-01"] {
            assert!(
                matches!(
                    parse_date("d", impossible),
                    Err(InvalidDate::Impossible { .. })
                ),
                "{impossible}"
            );
        }
    }

    #[test]
    fn error_messages_do_not_echo_huge_input() {
        let err = parse_date("from_date", &"9".repeat(10_000))
            .unwrap_err()
            .to_string();
        assert!(err.len() < 120, "{err}");
    }

    /// A control character typed into a date or month is echoed as an escape, not raw.
    #[test]
    fn error_messages_escape_control_characters() {
        assert_eq!(
            "2026-02\0".parse::<Month>().unwrap_err().to_string(),
            "month must be written YYYY-MM with a month from 01 to 12, got '2026-02\\u{0}'"
        );
        let err = parse_date("from_date", "2026-02\n01")
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("got '2026-02\\u{a}01'"), "{err}");
        // Nor an override, which would turn the rest around, or a line separator.
        let err = "20\u{202E}26\u{2028}"
            .parse::<Month>()
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("got '20\\u{202e}26\\u{2028}'"), "{err}");
    }

    #[test]
    fn months_parse_and_step() {
        let m: Month = "2026-12".parse().unwrap();
        assert_eq!(m.to_string(), "2026-12");
        assert_eq!(m.next().unwrap().to_string(), "2027-01");
        assert_eq!(m.previous().unwrap().to_string(), "2026-11");
        assert_eq!(m.last_day(), date(2026, 12, 31));
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-01",
            "2026-01-01",
            "abcd-ef",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
        assert_eq!(
            "0000-00".parse::<Month>(),
            Err(InvalidDate::Month("0000-00".to_owned())),
            "no month 00, whatever the year"
        );
        for far in ["3000-01", "1899-12", "0000-01"] {
            assert_eq!(
                far.parse::<Month>(),
                Err(InvalidDate::MonthOutOfRange(far.to_owned()))
            );
        }
        assert!("2999-12".parse::<Month>().unwrap().next().is_none());
        assert!("1900-01".parse::<Month>().unwrap().previous().is_none());
    }

    #[test]
    fn booking_ranges_are_ordered_and_bounded() {
        let d = |s| parse_date("d", s).unwrap();
        assert!(matches!(
            DateRange::booking(d("2026-03-02"), d("2026-03-01")),
            Err(InvalidRange::Reversed { .. })
        ));
        let ninety = DateRange::booking(d("2026-01-01"), d("2026-03-31")).unwrap();
        assert_eq!(ninety.len_days(), 90);
        assert!(matches!(
            DateRange::booking(d("2026-01-01"), d("2026-04-01")),
            Err(InvalidRange::TooLong { days: 91, .. })
        ));
        let spanning = DateRange::booking(d("2026-12-30"), d("2027-01-02")).unwrap();
        let months: Vec<_> = spanning.months().map(|m| m.to_string()).collect();
        assert_eq!(months, ["2026-12", "2027-01"]);
        assert_eq!(spanning.iter_days().count(), 4);
    }

    #[test]
    fn the_earliest_overlapping_start_is_one_longest_booking_back() {
        let d = |s| parse_date("d", s).unwrap();
        let may = DateRange::listing(d("2026-05-01"), d("2026-05-31")).unwrap();
        let earliest = may.earliest_overlapping_start();
        // 89 days back: the longest booking starting then ends on the range's first day.
        assert_eq!(earliest, d("2026-02-01"));
        let longest = DateRange::booking(earliest, may.first()).unwrap();
        assert_eq!(longest.len_days(), MAX_SPAN_DAYS);
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (1900i16..=2998, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| date(y, m, d))
    }

    proptest! {
        #[test]
        fn overlap_is_symmetric_and_matches_shared_days(
            a in any_date(), la in 0i32..40, b in any_date(), lb in 0i32..40
        ) {
            let r1 = DateRange::booking(a, a.checked_add(la.days()).unwrap()).unwrap();
            let r2 = DateRange::booking(b, b.checked_add(lb.days()).unwrap()).unwrap();
            prop_assert_eq!(r1.overlaps(r2), r2.overlaps(r1));
            let shared = r1.iter_days().any(|d| r2.contains(d));
            prop_assert_eq!(r1.overlaps(r2), shared);
        }

        #[test]
        fn months_cover_every_day_once(a in any_date(), len in 0i32..MAX_SPAN_DAYS) {
            let r = DateRange::booking(a, a.checked_add(len.days()).unwrap()).unwrap();
            let months: Vec<Month> = r.months().collect();
            prop_assert!(months.windows(2).all(|w| w[0] < w[1]));
            for day in r.iter_days() {
                prop_assert!(months.contains(&Month::containing(day)));
            }
            prop_assert!(months.len() <= 4);
        }

        #[test]
        fn dates_round_trip_through_text(d in any_date()) {
            prop_assert_eq!(parse_date("d", &d.to_string()), Ok(d));
        }
    }
}
