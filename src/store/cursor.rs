//! The opaque pagination cursor: the position of the last booking a page returned.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::civil::Date;

use crate::domain::{Booking, BookingId, parse_date};

/// Listings are ordered by (first day, id), so that pair is a stable position that both
/// backends can resume from, whatever was created or deleted in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub first_day: Date,
    pub id: BookingId,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor is not one this service issued")]
pub struct InvalidCursor;

const VERSION: &str = "v1";

impl Cursor {
    pub fn after(booking: &Booking) -> Self {
        Self {
            first_day: booking.days.first(),
            id: booking.id,
        }
    }

    /// The sort key of this position: `YYYY-MM-DD#ID`, the same shape both backends order by.
    pub fn sort_key(&self) -> String {
        format!("{}#{}", self.first_day, self.id)
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{VERSION}:{}", self.sort_key()))
    }

    pub fn decode(token: &str) -> Result<Self, InvalidCursor> {
        if token.len() > 128 {
            return Err(InvalidCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| InvalidCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| InvalidCursor)?;
        let rest = text
            .strip_prefix(VERSION)
            .and_then(|r| r.strip_prefix(':'))
            .ok_or(InvalidCursor)?;
        let (day, id) = rest.split_once('#').ok_or(InvalidCursor)?;
        Ok(Self {
            first_day: parse_date("cursor", day).map_err(|_| InvalidCursor)?,
            id: id.parse().map_err(|_| InvalidCursor)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let cursor = Cursor {
            first_day: jiff::civil::date(2026, 3, 1),
            id: BookingId::generate(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        let forged = URL_SAFE_NO_PAD.encode("v1:2026-02-30#01ARZ3NDEKTSV4RRFFQ69G5FAV");
        for bad in ["", "!!!", "djE6", &forged, &"A".repeat(200)] {
            assert_eq!(Cursor::decode(bad), Err(InvalidCursor), "{bad}");
        }
    }
}
