//! The stored shape of a booking, shared by both backends, and its checked conversion back.
//! Both store it as the same JSON document: one value to write and to parse, where separate
//! attributes cost several times the CPU to read back (a month page reads 50; measured with
//! the AWS SDK, see the README).

use serde::{Deserialize, Serialize};

use super::Error;
use crate::domain::{Booking, DateRange, PersonName, parse_date};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub id: String,
    pub user_name: String,
    pub from_date: String,
    pub to_date: String,
    pub created_at: String,
}

/// The stored JSON of `booking`.
pub(crate) fn to_json(booking: &Booking) -> Result<String, Error> {
    serde_json::to_string(&Record::from(booking)).map_err(|e| Error::Internal(e.to_string()))
}

/// The booking stored as `json`; anything else is corruption.
pub(crate) fn from_json(json: &[u8]) -> Result<Booking, Error> {
    serde_json::from_slice::<Record>(json)
        .map_err(|e| Error::Internal(format!("stored booking is not a record: {e}")))?
        .try_into()
}

impl From<&Booking> for Record {
    fn from(b: &Booking) -> Self {
        Self {
            id: b.id.to_string(),
            user_name: b.user_name.to_string(),
            from_date: b.days.first().to_string(),
            to_date: b.days.last().to_string(),
            created_at: b.created_at.to_string(),
        }
    }
}

impl TryFrom<Record> for Booking {
    type Error = Error;

    /// Stored data went through the same parsing when it was written, so a failure here means
    /// corruption, never bad user input.
    fn try_from(r: Record) -> Result<Self, Error> {
        let corrupt = |what: &str| Error::Internal(format!("stored booking {}: bad {what}", r.id));
        let first = parse_date("from_date", &r.from_date).map_err(|_| corrupt("from_date"))?;
        let last = parse_date("to_date", &r.to_date).map_err(|_| corrupt("to_date"))?;
        Ok(Booking {
            id: r.id.parse().map_err(|_| corrupt("id"))?,
            user_name: PersonName::stored(&r.user_name).map_err(|_| corrupt("user_name"))?,
            days: DateRange::booking(first, last).map_err(|_| corrupt("dates"))?,
            created_at: r.created_at.parse().map_err(|_| corrupt("created_at"))?,
        })
    }
}
