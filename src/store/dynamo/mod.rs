//! The DynamoDB backend: one table, keys `pk` (partition) and `sk` (sort), no scans.
//!
//! | item | `pk` | `sk` | holds |
//! |---|---|---|---|
//! | booking | `BOOKING#<id>` | `BOOKING` | its fields (`id`, `user_name`, `from_date`, `to_date`, `created_at`), and `booking`, the same as JSON |
//! | month entry | `MONTH#<YYYY-MM>` | `<first day>#<id>` | a copy, one per month touched |
//! | person entry | `PERSON#<person key>` | `BOOKING#<first day>#<id>` | a copy |
//! | person's days | `PERSON#<person key>` | `DAYS#<YYYY-MM>` | string set `days` of booked days |
//! | idempotency key | `IDEMPOTENCY#<key>` | `IDEMPOTENCY` | `booking_id`, and its expiry for DynamoDB's TTL |
//!
//! A booking's fields are string attributes, which an answer's items borrow as they are. Items
//! written from 2026-11-26 until this version hold only `to_date` (for the filter of listings
//! that start in the middle of a booking) and `booking`, the booking's JSON as one string,
//! escaped inside the answer's JSON; reads fall back to it, and `backfill_fields` gives them
//! their fields. It is still written, so that a task of the version before, running beside this
//! one during a rolling deploy, reads what this one writes.
//!
//! A create is one `TransactWriteItems`: the items above plus, per month touched, an update of
//! the person's days item that adds the new days on condition that none of them is already
//! there. That condition is what makes the overlap check race-free: two overlapping bookings
//! cannot both commit. A create sent with an idempotency key also puts the key's item, on
//! condition that no live one exists: a repeat of the request fails that condition and reads
//! the first booking back. The key names come from `schema/dynamodb-table.json`, which Terraform
//! reads too.

mod wire;

use std::borrow::Cow;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use jiff::civil::Date;
use serde::Serialize;

use self::wire::{
    AttributeValue, Attributes, Cancellation, CancellationReason, GetItem, Names,
    STORED_ATTRIBUTES, StoredItem, TransactItem, TransactWriteItems, Write,
};
use super::plan::{self, Partition};
use super::record::{self, Record};
use super::{
    Created, Error, LeaveStore, ListQuery, Page, Result, idempotency_expiry, into_page, replay,
};
use crate::domain::{Booking, BookingId, IdempotencyKey, Month, parse_date};
use crate::dynamodb::{self, Client, items};

/// The table's key schema, as Terraform creates it.
pub const SCHEMA_JSON: &str = include_str!("../../../schema/dynamodb-table.json");
const PK: &str = "pk";
const SK: &str = "sk";
const DAYS: &str = "days";
/// The booking as JSON (see [`record`]), on the booking item and on each of its copies.
const BOOKING: &str = "booking";
/// The booking's last day, `YYYY-MM-DD`, also for filter expressions.
const LAST_DAY: &str = "to_date";
/// What reads fetch of a booking's item: its fields.
const FIELDS: &str = "id, user_name, from_date, to_date, created_at";
/// What reads fetch of items that may hold the JSON alone.
const FIELDS_AND_JSON: &str = "id, user_name, from_date, to_date, created_at, booking";
/// The booking items that hold the JSON alone, which the backfill gives their fields.
const LACKS_FIELDS: &str = "attribute_exists(booking) AND attribute_not_exists(id)";
/// The attribute DynamoDB's time to live deletes expired items by (the schema's `ttl_attribute`).
const TTL: &str = "expires_at";
/// Asks for the item as it was when a condition failed, in the cancellation reasons.
const ALL_OLD: Option<&str> = Some("ALL_OLD");

/// How often a transaction that lost a race with another one on the same items
/// (`TransactionConflict`) is tried again before the caller is told to retry later.
const CONFLICT_RETRIES: u32 = 3;

pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Sends one request; its answer, to parse.
    async fn call(&self, operation: &'static str, request: &impl Serialize) -> Result<Answer> {
        let body = self
            .client
            .call(operation, body(request)?)
            .await
            .map_err(classify)?;
        Ok(Answer { operation, body })
    }

    fn put<'a>(&'a self, item: Attributes<'a>, condition: Option<&'a str>) -> TransactItem<'a> {
        TransactItem::Put(Write {
            table_name: &self.table,
            item: Some(item),
            condition_expression: condition.map(Cow::Borrowed),
            ..Write::default()
        })
    }

    fn delete<'a>(&'a self, key: Attributes<'a>, condition: Option<&'a str>) -> TransactItem<'a> {
        TransactItem::Delete(Write {
            table_name: &self.table,
            key: Some(key),
            condition_expression: condition.map(Cow::Borrowed),
            ..Write::default()
        })
    }

    /// Adds (or removes) `days` to the person's days item of one month. Adding is conditional
    /// on none of the days being there already.
    fn days_update<'a>(
        &'a self,
        person_key: &str,
        month: Month,
        days: &[Date],
        adding: bool,
    ) -> TransactItem<'a> {
        let day_set = AttributeValue::SS(days.iter().map(Date::to_string).collect());
        let mut values = Attributes::default().with(":days", day_set);
        let update = if adding {
            let mut condition = Vec::with_capacity(days.len());
            for (i, day) in days.iter().enumerate() {
                condition.push(format!("NOT contains(#days, :d{i})"));
                values = values.with(format!(":d{i}"), AttributeValue::s(day.to_string()));
            }
            Write {
                update_expression: Some("ADD #days :days"),
                condition_expression: Some(condition.join(" AND ").into()),
                return_values_on_condition_check_failure: ALL_OLD,
                ..Write::default()
            }
        } else {
            Write {
                update_expression: Some("DELETE #days :days"),
                ..Write::default()
            }
        };
        TransactItem::Update(Write {
            table_name: &self.table,
            key: Some(key(format!("PERSON#{person_key}"), format!("DAYS#{month}"))),
            expression_attribute_names: Names::default().with("#days", DAYS),
            expression_attribute_values: values,
            ..update
        })
    }

    /// Remembers `key` for this booking unless a live record of it exists (expired records
    /// still waiting for DynamoDB's TTL deletion count as absent). A record is live until the
    /// second it expires at, as on the embedded store.
    fn idempotency_put(&self, idempotency_key: &IdempotencyKey, id: BookingId) -> TransactItem<'_> {
        let now = jiff::Timestamp::now().as_second();
        let item = key(
            format!("IDEMPOTENCY#{idempotency_key}"),
            "IDEMPOTENCY".into(),
        )
        .with("booking_id", AttributeValue::s(id.to_string()))
        .with(TTL, AttributeValue::N(idempotency_expiry().to_string()));
        TransactItem::Put(Write {
            table_name: &self.table,
            item: Some(item),
            condition_expression: Some("attribute_not_exists(pk) OR #ttl <= :now".into()),
            expression_attribute_names: Names::default().with("#ttl", TTL),
            expression_attribute_values: Attributes::default()
                .with(":now", AttributeValue::N(now.to_string())),
            return_values_on_condition_check_failure: ALL_OLD,
            ..Write::default()
        })
    }

    /// Every item of a booking, in the order `create` writes them: the booking, its month
    /// entries, its person entry, then one days update per month (see `conflict_day`).
    /// `stored` is the booking's fields and its JSON, which the items of a create hold;
    /// `person_key` is the key its person entries are (to be) stored under.
    fn booking_items<'a>(
        &'a self,
        booking: &Booking,
        stored: Option<(&'a Record<'a>, &'a str)>,
        person_key: &str,
    ) -> Vec<TransactItem<'a>> {
        let sort_key = plan::sort_key(booking);
        let booking_key = key(format!("BOOKING#{}", booking.id), "BOOKING".into());
        let month_keys = booking
            .days
            .months()
            .map(|month| key(format!("MONTH#{month}"), sort_key.clone()));
        let person_entry_key = key(
            format!("PERSON#{person_key}"),
            format!("BOOKING#{sort_key}"),
        );
        let mut items = Vec::new();
        if let Some((record, json)) = stored {
            let holding = |key: Attributes<'a>| {
                key.with("id", AttributeValue::s(&*record.id))
                    .with("user_name", AttributeValue::s(&*record.user_name))
                    .with("from_date", AttributeValue::s(&*record.from_date))
                    .with(LAST_DAY, AttributeValue::s(&*record.to_date))
                    .with("created_at", AttributeValue::s(&*record.created_at))
                    .with(BOOKING, AttributeValue::s(json))
            };
            items.push(self.put(holding(booking_key), Some("attribute_not_exists(pk)")));
            items.extend(month_keys.map(|key| self.put(holding(key), None)));
            items.push(self.put(holding(person_entry_key), None));
        } else {
            items.push(self.delete(booking_key, Some("attribute_exists(pk)")));
            items.extend(month_keys.map(|key| self.delete(key, None)));
            items.push(self.delete(person_entry_key, None));
        }
        for month in booking.days.months() {
            let days: Vec<Date> = booking
                .days
                .iter_days()
                .filter(|d| Month::containing(*d) == month)
                .collect();
            items.push(self.days_update(person_key, month, &days, stored.is_some()));
        }
        items
    }

    /// The key `booking`'s person entries are stored under: its name's key, or, for a booking
    /// stored by an earlier release, the key of then
    /// ([`crate::domain::PersonName::earlier_keys`]), found by its person entry. Deleting under
    /// the other key would take the booking's days from the days item of another booking of
    /// the same person, which then no longer guards them.
    async fn stored_person_key(&self, booking: &Booking) -> Result<String> {
        let entry = format!("BOOKING#{}", plan::sort_key(booking));
        for earlier in booking.user_name.earlier_keys() {
            let request = GetItem {
                table_name: &self.table,
                key: key(format!("PERSON#{earlier}"), entry.clone()),
                consistent_read: true,
                projection_expression: Some(PK),
            };
            let answer = self.call("GetItem", &request).await?;
            if answer.item(&[PK])?.is_some() {
                return Ok(earlier);
            }
        }
        Ok(booking.user_name.key())
    }

    /// Runs one transaction, trying again when it lost a race on the same items.
    /// `token` names the logical write: DynamoDB treats repeats with the same token within ten
    /// minutes as the same transaction, so a retry after a lost response does not run it twice.
    async fn transact(
        &self,
        items: Vec<TransactItem<'_>>,
        token: &str,
    ) -> Result<(), TransactError> {
        let request = TransactWriteItems {
            transact_items: items,
            client_request_token: token,
        };
        let body = body(&request).map_err(TransactError::Failed)?;
        let mut attempt = 0;
        loop {
            let error = match self.client.call("TransactWriteItems", body.clone()).await {
                Ok(_) => return Ok(()),
                Err(dynamodb::Error::Service(e)) if e.code == "TransactionCanceledException" => e,
                Err(dynamodb::Error::Service(e))
                    if e.code == "IdempotentParameterMismatchException" =>
                {
                    return Err(TransactError::TokenReused);
                }
                Err(other) => return Err(TransactError::Failed(classify(other))),
            };
            let reasons = serde_json::from_slice::<Cancellation>(&error.body)
                .map_err(|e| {
                    TransactError::Failed(Error::Internal(format!("unreadable cancellation: {e}")))
                })?
                .reasons;
            attempt += 1;
            let has = |code| reasons.iter().any(|r| r.code() == Some(code));
            let lost_race = has("TransactionConflict") && !has("ConditionalCheckFailed");
            if !lost_race || attempt > CONFLICT_RETRIES {
                return Err(TransactError::Cancelled(reasons));
            }
            tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
        }
    }

    async fn query_segment(
        &self,
        segment: &plan::Segment,
        query: &ListQuery,
        found: &mut Vec<Booking>,
    ) -> Result<()> {
        let (pk, prefix) = match &segment.partition {
            Partition::Month(month) => (format!("MONTH#{month}"), ""),
            Partition::Person(key) => (format!("PERSON#{key}"), "BOOKING#"),
        };
        let lo = format!("{prefix}{}", segment.lo);
        let hi = format!("{prefix}{}", segment.hi);
        let ends_filter = format!("{LAST_DAY} >= :ends");
        let mut start_key = None;
        loop {
            let wanted = query.limit + 1 - found.len();
            let mut values = Attributes::default()
                .with(":pk", AttributeValue::s(pk.as_str()))
                .with(":lo", AttributeValue::s(lo.as_str()))
                .with(":hi", AttributeValue::s(hi.as_str()));
            if let Some(day) = segment.ends_on_or_after {
                values = values.with(":ends", AttributeValue::s(day.to_string()));
            }
            let mut request = wire::Query {
                table_name: &self.table,
                // Read-your-writes: the page shown right after a booking must include it.
                consistent_read: true,
                key_condition_expression: "#pk = :pk AND #sk BETWEEN :lo AND :hi",
                filter_expression: segment.ends_on_or_after.map(|_| ends_filter.as_str()),
                expression_attribute_names: Names::default().with("#pk", PK).with("#sk", SK),
                expression_attribute_values: values,
                // One more than needed: the resume position itself may come back first.
                // DynamoDB counts `Limit` before the filter, so with a filter a tight limit
                // would read the bookings that ended earlier a few per request: there each
                // request reads up to DynamoDB's 1 MB page instead.
                limit: segment.ends_on_or_after.is_none().then_some(wanted + 1),
                projection_expression: FIELDS,
                exclusive_start_key: start_key.as_ref(),
            };
            let answer = self.call("Query", &request).await?;
            let answer_with_json;
            let mut output = answer.items(&STORED_ATTRIBUTES)?;
            let mut items: Vec<StoredItem> = output.items.into_iter().map(Into::into).collect();
            if !items.iter().all(StoredItem::has_fields) {
                // Items written when they held only the JSON: the same page again, with it.
                request.projection_expression = FIELDS_AND_JSON;
                answer_with_json = self.call("Query", &request).await?;
                output = answer_with_json.items(&STORED_ATTRIBUTES)?;
                items = output.items.into_iter().map(Into::into).collect();
            }
            for item in items {
                let booking = stored_booking(item)?;
                if plan::keeps(segment, query, &booking) {
                    found.push(booking);
                    if found.len() > query.limit {
                        return Ok(());
                    }
                }
            }
            match output.last_evaluated_key {
                Some(key) => start_key = Some(start_key_of(key)?),
                None => return Ok(()),
            }
        }
    }
}

impl DynamoStore {
    /// Gives every booking item written with its JSON alone (from 2026-11-26 until fields had
    /// attributes again) its fields, so that pages holding it take one `Query` again. A
    /// one-off `Scan` of the whole table, for an operator (`leave-calendar-backfill`); the app
    /// never scans. Each update is conditional on the item still lacking the fields, so running
    /// it again, or beside the app, changes nothing twice and brings back no deleted item. An
    /// item whose JSON cannot be read is left as it is and handed to `unreadable` (its keys and
    /// why) as it is found, not kept: stopping at it, every run would stop there, and the items
    /// after it would never be done; kept, a table of such items would be held in memory.
    pub async fn backfill_fields(
        &self,
        mut unreadable: impl FnMut(&str, &str, &str) + Send,
    ) -> Result<Backfilled> {
        let mut done = Backfilled::default();
        let mut start_key = None;
        loop {
            let request = wire::Scan {
                table_name: &self.table,
                projection_expression: "pk, sk, booking",
                filter_expression: LACKS_FIELDS,
                exclusive_start_key: start_key.as_ref(),
            };
            let answer = self.call("Scan", &request).await?;
            let output = answer.items(&[PK, SK, BOOKING])?;
            for item in output.items {
                let [Some(pk), Some(sk), Some(json)] = item else {
                    return Err(Error::Internal("a scanned item lacks its keys".to_owned()));
                };
                let booking = match record::from_json(&json) {
                    Ok(booking) => booking,
                    Err(e) => {
                        done.unreadable += 1;
                        unreadable(&pk, &sk, &e.to_string());
                        continue;
                    }
                };
                if self.add_fields(&pk, &sk, &booking).await? {
                    done.updated += 1;
                } else {
                    done.skipped += 1;
                }
            }
            match output.last_evaluated_key {
                Some(key) => start_key = Some(start_key_of(key)?),
                None => return Ok(done),
            }
        }
    }

    /// Sets `booking`'s fields on the item at `pk`/`sk` unless it has them or is gone.
    async fn add_fields(&self, pk: &str, sk: &str, booking: &Booking) -> Result<bool> {
        let record = Record::from(booking);
        let request = Write {
            table_name: &self.table,
            key: Some(key(pk.to_owned(), sk.to_owned())),
            update_expression: Some(
                "SET id = :id, user_name = :user_name, from_date = :from_date, \
                 created_at = :created_at",
            ),
            condition_expression: Some(LACKS_FIELDS.into()),
            expression_attribute_values: Attributes::default()
                .with(":id", AttributeValue::s(&*record.id))
                .with(":user_name", AttributeValue::s(&*record.user_name))
                .with(":from_date", AttributeValue::s(&*record.from_date))
                .with(":created_at", AttributeValue::s(&*record.created_at)),
            ..Write::default()
        };
        let body = body(&request)?;
        let mut attempt = 0;
        loop {
            match self.client.call("UpdateItem", body.clone()).await {
                Ok(_) => return Ok(true),
                Err(dynamodb::Error::Service(e)) if e.code == "ConditionalCheckFailedException" => {
                    return Ok(false);
                }
                // The item is in one of the app's transactions at this moment: once that is
                // done, the update goes through (or finds the fields there).
                Err(dynamodb::Error::Service(e))
                    if e.code == "TransactionConflictException" && attempt < CONFLICT_RETRIES =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                }
                Err(e) => return Err(classify(e)),
            }
        }
    }
}

/// What [`DynamoStore::backfill_fields`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Backfilled {
    /// Items given their fields.
    pub updated: u64,
    /// Items found without them that had them, or were gone, by the time of their update.
    pub skipped: u64,
    /// Items whose JSON could not be read, left as they are.
    pub unreadable: u64,
}

#[async_trait]
impl LeaveStore for DynamoStore {
    async fn create(
        &self,
        booking: &Booking,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<Created> {
        let record = Record::from(booking);
        let json = record::to_json(&record)?;
        let mut items =
            self.booking_items(booking, Some((&record, &json)), &booking.user_name.key());
        let days_updates = (items.len() - booking.days.months().count())..items.len();
        if let Some(idempotency_key) = idempotency_key {
            items.push(self.idempotency_put(idempotency_key, booking.id));
        }
        let reasons = match self.transact(items, &booking.id.to_string()).await {
            Ok(()) => return Ok(Created::New),
            Err(TransactError::Failed(e)) => return Err(e),
            Err(TransactError::TokenReused) => {
                return Err(Error::Internal(format!(
                    "the client token of booking {} was used for other items",
                    booking.id
                )));
            }
            Err(TransactError::Cancelled(reasons)) => reasons,
        };
        let failed = |i: usize| {
            reasons.get(i).and_then(CancellationReason::code) == Some("ConditionalCheckFailed")
        };
        // The booking's id is new, so if it exists already, this is a retry of a write that
        // committed but whose answer was lost (a service that ignores the request token).
        if failed(0) {
            return Ok(Created::New);
        }
        // A repeat of an earlier request with the same idempotency key.
        if idempotency_key.is_some() && failed(days_updates.end) {
            let earlier_id = reasons[days_updates.end]
                .string("booking_id")
                .and_then(|id| id.parse::<BookingId>().ok())
                .ok_or_else(|| {
                    Error::Internal("idempotency item without a booking id".to_owned())
                })?;
            return replay(booking, self.get(earlier_id).await);
        }
        let first_day = days_updates
            .filter(|i| failed(*i))
            .map(|i| conflict_day(booking, &reasons[i]))
            .min();
        Err(match first_day {
            Some(first_day) => Error::Conflict { first_day },
            None => cancelled(&reasons),
        })
    }

    async fn get(&self, id: BookingId) -> Result<Booking> {
        let request = GetItem {
            table_name: &self.table,
            key: key(format!("BOOKING#{id}"), "BOOKING".into()),
            consistent_read: true,
            projection_expression: Some(FIELDS_AND_JSON),
        };
        let answer = self.call("GetItem", &request).await?;
        let item = answer.item(&STORED_ATTRIBUTES)?.ok_or(Error::NotFound)?;
        record::under_key(id, stored_booking(item.into())?)
    }

    async fn delete(&self, id: BookingId) -> Result<()> {
        let booking = self.get(id).await?;
        let person_key = self.stored_person_key(&booking).await?;
        let items = self.booking_items(&booking, None, &person_key);
        // One token per booking: deletes of it within ten minutes (a client's retry after a
        // lost answer, or two people at once) are one deletion to DynamoDB, and each answers
        // 204 rather than the later ones 404. (moto ignores tokens: there the later ones 404.)
        match self.transact(items, &format!("delete-{id}")).await {
            Ok(()) => Ok(()),
            // The booking's own delete is conditional on it existing: someone deleted it first.
            Err(TransactError::Cancelled(reasons))
                if reasons.first().and_then(CancellationReason::code)
                    == Some("ConditionalCheckFailed") =>
            {
                Err(Error::NotFound)
            }
            Err(TransactError::Cancelled(reasons)) => Err(cancelled(&reasons)),
            // Another delete of this booking used the token first, with other items: for a
            // name stored before keys folded case, it looked for the person entry after this
            // one's delete had committed, and found it under the other key. The booking is
            // then gone; if it is not, the token was misused, which is a bug.
            Err(TransactError::TokenReused) => match self.get(id).await {
                Err(Error::NotFound) => Err(Error::NotFound),
                Ok(_) => Err(Error::Internal(format!(
                    "the delete token of booking {id} was used for other items"
                ))),
                Err(e) => Err(e),
            },
            Err(TransactError::Failed(e)) => Err(e),
        }
    }

    async fn list(&self, query: &ListQuery) -> Result<Page> {
        let mut found = Vec::new();
        for segment in plan::segments(query) {
            self.query_segment(&segment, query, &mut found).await?;
            if found.len() > query.limit {
                break;
            }
        }
        Ok(into_page(found, query.limit))
    }

    async fn ping(&self) -> Result<()> {
        let request = GetItem {
            table_name: &self.table,
            key: key("PING".into(), "PING".into()),
            consistent_read: false,
            projection_expression: None,
        };
        self.call("GetItem", &request).await?.item(&[]).map(drop)
    }
}

/// The earliest day of `booking` that the person's days item (as it was before the failed
/// transaction) already holds.
fn conflict_day(booking: &Booking, reason: &CancellationReason) -> Date {
    let taken: Vec<Date> = reason
        .string_set(DAYS)
        .filter_map(|day| parse_date("day", day).ok())
        .collect();
    booking
        .days
        .iter_days()
        .find(|day| taken.contains(day))
        .unwrap_or(booking.days.first())
}

fn key<'a>(pk: String, sk: String) -> Attributes<'a> {
    Attributes::default()
        .with(PK, AttributeValue::s(pk))
        .with(SK, AttributeValue::s(sk))
}

fn body(request: &impl Serialize) -> Result<Bytes> {
    // A create's transaction is about 1.5 KB: room for it at once, instead of growing from
    // serde_json's 128 bytes through four copies.
    let mut out = Vec::with_capacity(2048);
    serde_json::to_writer(&mut out, request)
        .map_err(|e| Error::Internal(format!("cannot write a DynamoDB request: {e}")))?;
    Ok(Bytes::from(out))
}

/// The booking an item holds: its attributes, or, on an item written before it had them, its
/// JSON.
fn stored_booking(item: StoredItem<'_>) -> Result<Booking> {
    let fields = (
        item.id,
        item.user_name,
        item.from_date,
        item.to_date,
        item.created_at,
    );
    if let (Some(id), Some(user_name), Some(from_date), Some(to_date), Some(created_at)) = fields {
        let record = Record {
            id,
            user_name,
            from_date,
            to_date,
            created_at,
        };
        return record.try_into();
    }
    match item.booking {
        Some(json) => record::from_json(&json),
        None => Err(Error::Internal(format!(
            "stored item has neither a booking's attributes nor {BOOKING}"
        ))),
    }
}

/// A cancellation that is not a refusal of the caller's request: a lost race that kept
/// happening, or throttling, is worth retrying; anything else is a bug.
fn cancelled(reasons: &[CancellationReason]) -> Error {
    let codes: Vec<&str> = reasons
        .iter()
        .filter_map(CancellationReason::code)
        .filter(|c| *c != "None")
        .collect();
    let detail = format!("transaction cancelled: {codes:?}");
    if codes
        .iter()
        .all(|c| *c == "TransactionConflict" || transient(c))
    {
        Error::Unavailable(detail)
    } else {
        Error::Internal(detail)
    }
}

/// Whether a later retry may succeed after error `code`: throttling, DynamoDB's own failures,
/// a table not there (yet), or credentials refused as expired still after the client renewed
/// them (the task role's endpoint handing out the old ones until it has new ones).
fn transient(code: &str) -> bool {
    dynamodb::is_throttling(code)
        || [
            "InternalServerError",
            "ServiceUnavailable",
            "ResourceNotFoundException",
            "ExpiredTokenException",
        ]
        .contains(&code)
}

/// Maps a failed call to a store error: anything about reaching DynamoDB, throttling or its
/// own failures is `Unavailable` (worth retrying later); the rest is a bug, `Internal`.
fn classify(err: dynamodb::Error) -> Error {
    match err {
        // Credentials come from the task role's endpoint, which can fail for a moment.
        dynamodb::Error::Unreachable(why) | dynamodb::Error::NotSent(why) => {
            Error::Unavailable(why)
        }
        dynamodb::Error::Service(e) => {
            let code = if e.code.is_empty() {
                "unknown"
            } else {
                &e.code
            };
            let detail = format!("{code}: {}", e.message);
            if e.is_transient() || transient(&e.code) {
                Error::Unavailable(detail)
            } else {
                Error::Internal(detail)
            }
        }
    }
}

/// The body of a successful answer to one operation.
struct Answer {
    operation: &'static str,
    body: Bytes,
}

impl Answer {
    /// The items of a `Query` or `Scan` answer: the string values of the attributes `names`,
    /// borrowed from the answer.
    fn items<const N: usize>(&self, names: &[&str; N]) -> Result<items::Items<'_, N>> {
        items::items(self.text()?, names).map_err(|e| self.unexpected(&e))
    }

    /// The item of a `GetItem` answer, if there is one: the string values of `names`.
    fn item<const N: usize>(&self, names: &[&str; N]) -> Result<Option<items::Strings<'_, N>>> {
        items::item(self.text()?, names).map_err(|e| self.unexpected(&e))
    }

    /// Checked for UTF-8 once, not string by string as parsing bytes does (see
    /// `record::from_json`).
    fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body).map_err(|e| self.unexpected(&e))
    }

    fn unexpected(&self, e: &dyn std::fmt::Display) -> Error {
        Error::Internal(format!("unexpected answer to {}: {e}", self.operation))
    }
}

/// An answer's `LastEvaluatedKey`, to send back as the next request's `ExclusiveStartKey`.
fn start_key_of(json: &str) -> Result<serde_json::Value> {
    serde_json::from_str(json)
        .map_err(|e| Error::Internal(format!("unexpected LastEvaluatedKey: {e}")))
}

/// Why a transaction did not commit.
enum TransactError {
    /// DynamoDB refused it; one reason per item, in the order the items were sent.
    Cancelled(Vec<CancellationReason>),
    /// Its client token was used in the last ten minutes for other items.
    TokenReused,
    Failed(Error),
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use serde_json::{Value, json};

    use super::*;

    /// `item` read as the store reads an item of an answer.
    fn read(item: &Value) -> Result<Booking> {
        let answer = Answer {
            operation: "Query",
            body: Bytes::from(json!({"Items": [item]}).to_string()),
        };
        let mut output = answer.items(&STORED_ATTRIBUTES)?;
        stored_booking(output.items.remove(0).into())
    }

    fn attributes(booking: &Booking) -> Value {
        json!({
            "id": {"S": booking.id.to_string()},
            "user_name": {"S": booking.user_name.as_str()},
            "from_date": {"S": booking.days.first().to_string()},
            "to_date": {"S": booking.days.last().to_string()},
            "created_at": {"S": booking.created_at.to_string()},
        })
    }

    fn with(mut item: Value, name: &str, value: Value) -> Value {
        item[name] = value;
        item
    }

    #[test]
    fn an_item_reads_from_its_attributes_borrowing_them() {
        let booking = Booking::parse("Ada", "2031-03-02", "2031-03-04").unwrap();
        // The JSON is not read when the attributes are there.
        let item = with(
            attributes(&booking),
            "booking",
            json!({"S": "not a record"}),
        );
        assert_eq!(read(&item).unwrap(), booking);
        // As a `Query`'s answer holds it.
        let text = json!({"Items": [item]}).to_string();
        let mut parsed = items::items(&text, &STORED_ATTRIBUTES).unwrap();
        assert!(matches!(
            StoredItem::from(parsed.items.remove(0)).user_name,
            Some(Cow::Borrowed("Ada"))
        ));
    }

    #[test]
    fn an_item_without_all_its_attributes_reads_from_its_json() {
        let booking = Booking::parse("Zoë \"Z\"", "2031-03-02", "2031-03-04").unwrap();
        let json = json!({"S": record::to_json(&Record::from(&booking)).unwrap()});
        let full = attributes(&booking);
        let mut partial = full.clone();
        partial.as_object_mut().unwrap().remove("created_at");
        for item in [
            json!({"to_date": {"S": "2031-03-04"}}),
            partial,
            // An attribute of another type counts as missing.
            with(full, "user_name", json!({"N": "1"})),
        ] {
            let item = with(item, "booking", json.clone());
            assert_eq!(read(&item).unwrap(), booking, "{item}");
        }
    }

    #[test]
    fn an_item_without_a_readable_booking_is_corruption() {
        let booking = Booking::parse("Ada", "2031-03-02", "2031-03-04").unwrap();
        let full = attributes(&booking);
        for item in [
            json!({}),
            json!({"to_date": {"S": "2031-03-04"}}),
            json!({"booking": {"N": "1"}}),
            json!({"booking": {"NULL": true}}),
            json!({"booking": {"S": "{}"}}),
            with(full.clone(), "id", json!({"S": "x"})),
            with(full.clone(), "user_name", json!({"S": ""})),
            with(full.clone(), "from_date", json!({"S": "2031-02-30"})),
            with(full.clone(), "from_date", json!({"S": "2031-03-05"})),
            with(full.clone(), "created_at", json!({"S": "yesterday"})),
            with(full, "created_at", json!({"N": "1"})),
        ] {
            assert!(matches!(read(&item), Err(Error::Internal(_))), "{item}");
        }
    }
}
