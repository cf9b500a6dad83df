//! Storage of bookings behind one trait, with an embedded backend for a local run and a
//! DynamoDB backend for production. Both keep the same rules (see `tests/store_conformance.rs`):
//! - a booking that shares a day with another booking of the same person is refused, race-free;
//! - listings are ordered by first day, then id, and paginate with an opaque cursor.

mod cursor;
pub mod dynamo;
pub mod embedded;
mod plan;
mod record;

use async_trait::async_trait;
use jiff::civil::Date;

use crate::domain::{Booking, BookingId, DateRange, IdempotencyKey, PersonName};

/// How long an idempotency key is remembered after its booking was created.
pub const IDEMPOTENCY_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// What a create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The booking was stored.
    New,
    /// The idempotency key was used before for the same booking request: nothing was stored
    /// and this is the booking the first request created.
    Replayed(Booking),
}

pub use cursor::{Cursor, InvalidCursor};

/// What went wrong in storage. Callers map each variant once (see `http::error`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The person already has leave on `first_day` (the earliest shared day).
    #[error("overlaps an existing booking of the same person on {first_day}")]
    Conflict { first_day: Date },
    #[error("no booking with that id")]
    NotFound,
    /// The idempotency key was used before for another booking, or for one since deleted.
    #[error("idempotency key reused: {0}")]
    KeyReused(KeyUse),
    /// The store cannot be reached or did not answer in time; retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corrupted data. Details are logged, never sent to clients.
    #[error("store failure: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which bookings a listing wants: those touching `range`, optionally of one person, in pages.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub range: DateRange,
    pub person: Option<PersonName>,
    pub limit: usize,
    /// Continue after the last booking of a previous page.
    pub after: Option<Cursor>,
}

/// One page of a listing. `next` is set when more bookings may follow.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Booking>,
    pub next: Option<Cursor>,
}

#[async_trait]
pub trait LeaveStore: Send + Sync + 'static {
    /// Stores a new booking unless it overlaps another booking of the same person. With an
    /// idempotency key, a repeat of an earlier request with that key stores nothing and answers
    /// with the earlier booking.
    async fn create(&self, booking: &Booking, key: Option<&IdempotencyKey>) -> Result<Created>;
    async fn get(&self, id: BookingId) -> Result<Booking>;
    async fn delete(&self, id: BookingId) -> Result<()>;
    async fn list(&self, query: &ListQuery) -> Result<Page>;
    /// One round trip to the store, for readiness.
    async fn ping(&self) -> Result<()>;
    /// Finishes the store's work and releases what it holds open, waiting at most `within`;
    /// calls after it may answer `Unavailable`. The application calls it once, after its server
    /// has drained. An error says what was left unfinished. By default there is nothing
    /// to close: a DynamoDB client holds no files and loses nothing when the process exits.
    async fn close(&self, within: std::time::Duration) -> Result<()> {
        let _ = within;
        Ok(())
    }
}

/// What an idempotency key that cannot be used again was used for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyUse {
    #[error("it was used for booking {0}, a different request")]
    OtherRequest(BookingId),
    #[error("it was used for a booking that has since been deleted")]
    Deleted,
}

/// The answer to a create whose idempotency key was used before for `earlier`.
fn replay(booking: &Booking, earlier: Result<Booking>) -> Result<Created> {
    match earlier {
        Ok(earlier) if earlier.same_request_as(booking) => Ok(Created::Replayed(earlier)),
        Ok(earlier) => Err(Error::KeyReused(KeyUse::OtherRequest(earlier.id))),
        Err(Error::NotFound) => Err(Error::KeyReused(KeyUse::Deleted)),
        Err(other) => Err(other),
    }
}

/// Seconds since the Unix epoch when a key used now expires.
fn idempotency_expiry() -> i64 {
    jiff::Timestamp::now().as_second() + IDEMPOTENCY_TTL.as_secs() as i64
}

/// Keeps the first `limit` of `candidates` (already in listing order) and sets the cursor when
/// there was at least one more: backends fetch `limit + 1` to know that without a second read.
fn into_page(mut candidates: Vec<Booking>, limit: usize) -> Page {
    let next = if candidates.len() > limit {
        candidates.truncate(limit);
        candidates.last().map(Cursor::after)
    } else {
        None
    };
    Page {
        items: candidates,
        next,
    }
}
