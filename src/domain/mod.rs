//! Validated domain types and the booking rules. No I/O lives here.
//!
//! Every value that enters the system from outside is parsed into one of these types first
//! ("parse, don't validate"); the rest of the code can then rely on their invariants.

mod booking;
mod dates;
mod idempotency;
mod person;

pub use booking::{Booking, BookingId, InvalidBooking, InvalidId};
pub use dates::{
    DateRange, InvalidDate, InvalidRange, MAX_LIST_DAYS, MAX_SPAN_DAYS, Month, is_supported_year,
    parse_date, today,
};
pub use idempotency::{IdempotencyKey, InvalidIdempotencyKey, MAX_KEY_CHARS};
pub use person::{InvalidName, MAX_NAME_CHARS, MAX_STACKED_MARKS, PersonName};

/// `value` as an error message echoes it: its first 40 characters (a 10 kB input helps nobody),
/// with control characters written as escapes (`\u{0}`): a NUL or a line feed in a message
/// would be shown raw on the error page.
pub fn echoed(value: &str) -> String {
    const SHOWN: usize = 40;
    let mut shown = String::with_capacity(value.len().min(SHOWN * 4));
    for (i, c) in value.chars().enumerate() {
        if i == SHOWN {
            shown.push('…');
            break;
        }
        if c.is_control() {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
    }
    shown
}
