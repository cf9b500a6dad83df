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
pub use person::{InvalidName, MAX_NAME_CHARS, MAX_STACKED_MARKS, MAX_TYPED_CHARS, PersonName};

/// `value` as an error message echoes it: its first 40 characters (a 10 kB input helps nobody)
/// with its invisible characters written as escapes (`\u{0}`).
pub fn echoed(value: &str) -> String {
    echoed_within(value, 40)
}

/// `value` as an error message echoes it: its first `shown` characters, and "…" when there were
/// more; control and formatting characters and the line and paragraph separators are written
/// as escapes (`\u{202e}`). Raw on the error page, a NUL or line feed would be shown as is, and
/// an override would turn the rest of the message around.
pub fn echoed_within(value: &str, shown: usize) -> String {
    use icu_properties::CodePointMapData;
    use icu_properties::props::GeneralCategory;
    let category = CodePointMapData::<GeneralCategory>::new();
    let mut echo = String::with_capacity(value.len().min(shown * 4));
    for (i, c) in value.chars().enumerate() {
        if i == shown {
            echo.push('…');
            break;
        }
        let invisible = matches!(
            category.get(c),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        );
        if invisible {
            echo.extend(c.escape_unicode());
        } else {
            echo.push(c);
        }
    }
    echo
}
