//! How a listing is read, shared by both backends so they return the same pages.
//!
//! Bookings are kept in two orderings, both sorted by `YYYY-MM-DD#ID` (first day, then id):
//! one partition per month holding every booking that touches that month, and one partition
//! per person. A listing becomes a short sequence of key-range reads ([`Segment`]s) over those
//! partitions, each read only as far as the page needs. Nothing is ever scanned.

use jiff::civil::Date;

use super::ListQuery;
use crate::domain::{Booking, Month};

/// Where a segment reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Partition {
    Month(Month),
    /// A person's key, see [`crate::domain::PersonName::key`].
    Person(String),
}

/// One ordered key-range read: sort keys from `lo` to `hi`, both inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub partition: Partition,
    pub lo: String,
    pub hi: String,
    /// Bookings that ended before this day are not part of the answer.
    pub ends_on_or_after: Option<Date>,
}

/// Sorts after any `YYYY-MM-DD#ID` key starting with the same day (ids are upper-case base 32).
const AFTER_IDS: &str = "#~";
/// Sorts before any `YYYY-MM-DD` key.
const BEFORE_DATES: &str = "0000";

/// The reads that answer `query`, in listing order.
pub(crate) fn segments(query: &ListQuery) -> Vec<Segment> {
    let mut segments = planned(query);
    // A cursor from another listing can resume past the end of this one: nothing follows it
    // there, and DynamoDB refuses a `BETWEEN` whose bounds are reversed (a 400 that would
    // surface as a 500), so such a segment is not read at all.
    segments.retain(|s| s.lo <= s.hi);
    segments
}

/// Every partition range `query` touches, from its resume position on.
fn planned(query: &ListQuery) -> Vec<Segment> {
    let range = query.range;
    let hi = format!("{}{AFTER_IDS}", range.last());
    let resume = query.after.map(|c| c.sort_key());
    let from_resume = |lo: String| match &resume {
        Some(r) if *r > lo => r.clone(),
        _ => lo,
    };

    if let Some(person) = &query.person {
        return vec![Segment {
            partition: Partition::Person(person.key()),
            lo: from_resume(range.earliest_overlapping_start().to_string()),
            hi,
            ends_on_or_after: Some(range.first()),
        }];
    }

    // A booking that spans several months is stored in each of them; it is read from the first
    // month of the range it appears in: later months only read bookings that start in them.
    let first_month = Month::containing(range.first());
    let resume_day = query
        .after
        .map_or(range.first(), |c| c.first_day.max(range.first()));
    Month::containing(resume_day)
        .through(Month::containing(range.last()))
        .map(|month| {
            let is_first = month == first_month;
            Segment {
                partition: Partition::Month(month),
                lo: from_resume(if is_first {
                    BEFORE_DATES.to_owned()
                } else {
                    month.first_day().to_string()
                }),
                hi: hi.clone(),
                // Every booking in a month's partition ends in that month or later: only a
                // range that starts within the month needs the filter.
                ends_on_or_after: (is_first && range.first() != month.first_day())
                    .then_some(range.first()),
            }
        })
        .collect()
}

/// Whether a booking read from a segment belongs in the answer.
pub(crate) fn keeps(segment: &Segment, query: &ListQuery, booking: &Booking) -> bool {
    let past_cursor = query
        .after
        .is_none_or(|c| (booking.days.first(), booking.id) > (c.first_day, c.id));
    let not_ended = segment
        .ends_on_or_after
        .is_none_or(|day| booking.days.last() >= day);
    past_cursor && not_ended
}

/// The sort key of a booking in every partition.
pub(crate) fn sort_key(booking: &Booking) -> String {
    super::Cursor::after(booking).sort_key()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BookingId, DateRange, PersonName};
    use crate::store::Cursor;

    fn listing(first: Date, last: Date, person: Option<&str>, after: Option<Date>) -> ListQuery {
        ListQuery {
            range: DateRange::listing(first, last).unwrap(),
            person: person.map(|p| PersonName::parse(p).unwrap()),
            limit: 10,
            after: after.map(|first_day| Cursor {
                first_day,
                id: BookingId::generate(),
            }),
        }
    }

    #[test]
    fn a_cursor_past_the_range_reads_nothing() {
        let (may, march) = (
            jiff::civil::date(2026, 5, 14),
            jiff::civil::date(2026, 3, 1),
        );
        let march_end = jiff::civil::date(2026, 3, 31);
        for person in [None, Some("Ann")] {
            let query = listing(march, march_end, person, Some(may));
            assert_eq!(segments(&query), [], "{person:?}");
        }
    }

    #[test]
    fn only_a_range_starting_within_a_month_filters_on_the_last_day() {
        let (first, last) = (
            jiff::civil::date(2026, 3, 1),
            jiff::civil::date(2026, 4, 30),
        );
        let filters = |first| -> Vec<Option<Date>> {
            segments(&listing(first, last, None, None))
                .into_iter()
                .map(|s| s.ends_on_or_after)
                .collect()
        };
        assert_eq!(filters(first), [None, None], "whole months need no filter");
        let mid_march = jiff::civil::date(2026, 3, 15);
        assert_eq!(filters(mid_march), [Some(mid_march), None]);
    }

    #[test]
    fn every_segment_reads_a_range_in_order() {
        let first = jiff::civil::date(2026, 1, 1);
        for resume in 0..120 {
            let after = first
                .checked_add(jiff::Span::new().days(resume - 40))
                .unwrap();
            for person in [None, Some("Ann")] {
                let query = listing(first, jiff::civil::date(2026, 2, 28), person, Some(after));
                for segment in segments(&query) {
                    assert!(segment.lo <= segment.hi, "{after} {person:?}: {segment:?}");
                }
            }
        }
    }
}
