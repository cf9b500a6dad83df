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
