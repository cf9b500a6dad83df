//! The DynamoDB backend: one table, keys `pk` (partition) and `sk` (sort), no scans.
//!
//! | item | `pk` | `sk` | holds |
//! |---|---|---|---|
//! | booking | `BOOKING#<id>` | `BOOKING` | `booking` (its JSON), `to_date` |
//! | month entry | `MONTH#<YYYY-MM>` | `<first day>#<id>` | a copy, one per month touched |
//! | person entry | `PERSON#<person key>` | `BOOKING#<first day>#<id>` | a copy |
//! | person's days | `PERSON#<person key>` | `DAYS#<YYYY-MM>` | string set `days` of booked days |
//!
//! A booking is one JSON string attribute rather than one attribute per field: reads fetch only
//! it, and a `Query` of 50 bookings costs the SDK about half the CPU (see the README). `to_date`
//! stays on its own for the filter of listings that start in the middle of a booking.
//!
//! A create is one `TransactWriteItems`: the items above plus, per month touched, an update of
//! the person's days item that adds the new days on condition that none of them is already
//! there. That condition is what makes the overlap check race-free: two overlapping bookings
//! cannot both commit. The key names come from `schema/dynamodb-table.json`, which Terraform
//! reads too.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use jiff::civil::Date;

use super::plan::{self, Partition};
use super::record;
use super::{
    Created, Error, LeaveStore, ListQuery, Page, Result, idempotency_expiry, into_page, replay,
};
use crate::domain::{Booking, BookingId, IdempotencyKey, Month, parse_date};

/// The table's key schema, as Terraform creates it.
pub const SCHEMA_JSON: &str = include_str!("../../schema/dynamodb-table.json");
const PK: &str = "pk";
const SK: &str = "sk";
const DAYS: &str = "days";
/// The booking as JSON (see [`record`]), on the booking item and on each of its copies.
const BOOKING: &str = "booking";
/// The booking's last day, `YYYY-MM-DD`, next to [`BOOKING`] for filter expressions.
const LAST_DAY: &str = "to_date";
/// The attribute DynamoDB's time to live deletes expired items by (the schema's `ttl_attribute`).
const TTL: &str = "expires_at";

/// How often a transaction that lost a race with another one on the same items
/// (`TransactionConflict`) is tried again before the caller is told to retry later.
const CONFLICT_RETRIES: u32 = 3;

/// Timeouts that end every operation, retries included, within `deadline`: requests fail fast
/// with 503 instead of hanging when DynamoDB cannot be reached.
pub fn timeout_config(deadline: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1).min(deadline))
        .operation_attempt_timeout(deadline / 2)
        .operation_timeout(deadline)
        .build()
}

/// Standard retries: three attempts with exponential backoff and jitter on throttling, 5xx and
/// network errors, and a retry quota that stops retry storms during an outage. The SDK's
/// default first backoff (1 s) suits batch jobs, not a page view: ours starts at 25 ms.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(25))
        .with_max_backoff(Duration::from_millis(400))
}

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

    fn put(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete(&self, pk: String, sk: String, condition: Option<&str>) -> Result<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Adds (or removes) `days` to the person's days item of one month. Adding is conditional
    /// on none of the days being there already.
    fn days_update(
        &self,
        person_key: &str,
        month: Month,
        days: &[Date],
        adding: bool,
    ) -> Result<TransactWriteItem> {
        let day_set = AttributeValue::Ss(days.iter().map(Date::to_string).collect());
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                format!("PERSON#{person_key}"),
                format!("DAYS#{month}"),
            )))
            .expression_attribute_names("#days", DAYS)
            .expression_attribute_values(":days", day_set);
        if adding {
            let condition: Vec<String> = (0..days.len())
                .map(|i| format!("NOT contains(#days, :d{i})"))
                .collect();
            for (i, day) in days.iter().enumerate() {
                update = update.expression_attribute_values(
                    format!(":d{i}"),
                    AttributeValue::S(day.to_string()),
                );
            }
            update = update
                .update_expression("ADD #days :days")
                .condition_expression(condition.join(" AND "))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
        } else {
            update = update.update_expression("DELETE #days :days");
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(internal)?)
            .build())
    }

    /// Remembers `key` for this booking unless a live record of it exists (expired records
    /// still waiting for DynamoDB's TTL deletion count as absent).
    fn idempotency_put(
        &self,
        idempotency_key: &IdempotencyKey,
        id: BookingId,
    ) -> Result<TransactWriteItem> {
        let now = jiff::Timestamp::now().as_second();
        let mut item = key(
            format!("IDEMPOTENCY#{idempotency_key}"),
            "IDEMPOTENCY".into(),
        );
        item.insert("booking_id".to_owned(), AttributeValue::S(id.to_string()));
        item.insert(
            TTL.to_owned(),
            AttributeValue::N(idempotency_expiry().to_string()),
        );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #ttl < :now")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Every item of a booking, in the order `create` writes them: the booking, its month
    /// entries, its person entry, then one days update per month (see `conflict_day`).
    fn booking_items(&self, booking: &Booking, creating: bool) -> Result<Vec<TransactWriteItem>> {
        let sort_key = plan::sort_key(booking);
        let person_key = booking.user_name.key();
        let booking_pk = format!("BOOKING#{}", booking.id);
        let mut items = Vec::new();
        if creating {
            let record = record::to_json(booking)?;
            let last_day = booking.days.last().to_string();
            items.push(self.put(
                item(booking_pk, "BOOKING".into(), &record, &last_day),
                Some("attribute_not_exists(pk)"),
            )?);
            for month in booking.days.months() {
                items.push(self.put(
                    item(
                        format!("MONTH#{month}"),
                        sort_key.clone(),
                        &record,
                        &last_day,
                    ),
                    None,
                )?);
            }
            items.push(self.put(
                item(
                    format!("PERSON#{person_key}"),
                    format!("BOOKING#{sort_key}"),
                    &record,
                    &last_day,
                ),
                None,
            )?);
        } else {
            items.push(self.delete(booking_pk, "BOOKING".into(), Some("attribute_exists(pk)"))?);
            for month in booking.days.months() {
                items.push(self.delete(format!("MONTH#{month}"), sort_key.clone(), None)?);
            }
            items.push(self.delete(
                format!("PERSON#{person_key}"),
                format!("BOOKING#{sort_key}"),
                None,
            )?);
        }
        for month in booking.days.months() {
            let days: Vec<Date> = booking
                .days
                .iter_days()
                .filter(|d| Month::containing(*d) == month)
                .collect();
            items.push(self.days_update(&person_key, month, &days, creating)?);
        }
        Ok(items)
    }

    /// Runs one transaction, trying again when it lost a race on the same items.
    /// `token` names the logical write: DynamoDB treats repeats with the same token within ten
    /// minutes as the same transaction, so a retry after a lost response does not run it twice.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        token: &str,
    ) -> Result<(), TransactError> {
        let mut attempt = 0;
        loop {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(token)
                .send()
                .await;
            let reasons = match sent {
                Ok(_) => return Ok(()),
                Err(err) => match err.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                        c.cancellation_reasons.clone().unwrap_or_default()
                    }
                    _ => return Err(TransactError::Failed(classify(err))),
                },
            };
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
        let mut start_key = None;
        loop {
            let wanted = query.limit + 1 - found.len();
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                // Read-your-writes: the page shown right after a booking must include it.
                .consistent_read(true)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(
                    ":lo",
                    AttributeValue::S(format!("{prefix}{}", segment.lo)),
                )
                .expression_attribute_values(
                    ":hi",
                    AttributeValue::S(format!("{prefix}{}", segment.hi)),
                )
                // One more than needed: the resume position itself may come back first.
                .limit(i32::try_from(wanted + 1).unwrap_or(i32::MAX))
                .projection_expression(BOOKING)
                .set_exclusive_start_key(start_key.take());
            if let Some(day) = segment.ends_on_or_after {
                request = request
                    .filter_expression(format!("{LAST_DAY} >= :ends"))
                    .expression_attribute_values(":ends", AttributeValue::S(day.to_string()));
            }
            let output = request.send().await.map_err(classify)?;
            for item in output.items.unwrap_or_default() {
                let booking = stored_booking(item)?;
                if plan::keeps(segment, query, &booking) {
                    found.push(booking);
                    if found.len() > query.limit {
                        return Ok(());
                    }
                }
            }
            match output.last_evaluated_key {
                Some(key) => start_key = Some(key),
                None => return Ok(()),
            }
        }
    }
}

#[async_trait]
impl LeaveStore for DynamoStore {
    async fn create(
        &self,
        booking: &Booking,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<Created> {
        let mut items = self.booking_items(booking, true)?;
        let days_updates = (items.len() - booking.days.months().count())..items.len();
        if let Some(idempotency_key) = idempotency_key {
            items.push(self.idempotency_put(idempotency_key, booking.id)?);
        }
        let reasons = match self.transact(items, &booking.id.to_string()).await {
            Ok(()) => return Ok(Created::New),
            Err(TransactError::Failed(e)) => return Err(e),
            Err(TransactError::Cancelled(reasons)) => reasons,
        };
        let failed =
            |i: usize| reasons.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed");
        // The booking's id is new, so if it exists already, this is a retry of a write that
        // committed but whose answer was lost (a service that ignores the request token).
        if failed(0) {
            return Ok(Created::New);
        }
        // A repeat of an earlier request with the same idempotency key.
        if idempotency_key.is_some() && failed(days_updates.end) {
            let earlier_id = reasons[days_updates.end]
                .item()
                .and_then(|item| item.get("booking_id"))
                .and_then(|v| v.as_s().ok())
                .and_then(|id| id.parse::<BookingId>().ok())
                .ok_or_else(|| {
                    Error::Internal("idempotency item without a booking id".to_owned())
                })?;
            return replay(booking, self.get(earlier_id).await);
        }
        let first_day = days_updates
            .filter(|i| failed(*i))
            .map(|i| conflict_day(booking, reasons[i].item()))
            .min();
        Err(match first_day {
            Some(first_day) => Error::Conflict { first_day },
            None => cancelled(&reasons),
        })
    }

    async fn get(&self, id: BookingId) -> Result<Booking> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("BOOKING#{id}"), "BOOKING".into())))
            .consistent_read(true)
            .projection_expression(BOOKING)
            .send()
            .await
            .map_err(classify)?;
        stored_booking(output.item.ok_or(Error::NotFound)?)
    }

    async fn delete(&self, id: BookingId) -> Result<()> {
        let booking = self.get(id).await?;
        let items = self.booking_items(&booking, false)?;
        self.transact(items, &format!("delete-{id}"))
            .await
            .map_err(|err| match err {
                // The booking's own delete is conditional on it existing: someone deleted it first.
                TransactError::Cancelled(reasons)
                    if reasons.first().and_then(|r| r.code()) == Some("ConditionalCheckFailed") =>
                {
                    Error::NotFound
                }
                TransactError::Cancelled(reasons) => cancelled(&reasons),
                TransactError::Failed(e) => e,
            })
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
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key("PING".into(), "PING".into())))
            .send()
            .await
            .map(drop)
            .map_err(classify)
    }
}

/// The earliest day of `booking` that the person's days item (as it was before the failed
/// transaction) already holds.
fn conflict_day(booking: &Booking, old_item: Option<&HashMap<String, AttributeValue>>) -> Date {
    let taken = old_item
        .and_then(|item| item.get(DAYS))
        .and_then(|v| v.as_ss().ok());
    booking
        .days
        .iter_days()
        .find(|day| {
            taken.is_some_and(|set| set.iter().any(|s| parse_date("day", s).ok() == Some(*day)))
        })
        .unwrap_or(booking.days.first())
}

fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk)),
    ])
}

/// A booking's item: its keys, the booking as its stored JSON, and its last day on its own,
/// for the filter of listings that start mid-booking.
fn item(pk: String, sk: String, json: &str, last_day: &str) -> HashMap<String, AttributeValue> {
    let mut item = key(pk, sk);
    item.insert(BOOKING.to_owned(), AttributeValue::S(json.to_owned()));
    item.insert(LAST_DAY.to_owned(), AttributeValue::S(last_day.to_owned()));
    item
}

fn stored_booking(mut item: HashMap<String, AttributeValue>) -> Result<Booking> {
    match item.remove(BOOKING) {
        Some(AttributeValue::S(json)) => record::from_json(json.as_bytes()),
        _ => Err(Error::Internal(format!(
            "stored item lacks string attribute {BOOKING}"
        ))),
    }
}

/// A cancellation that is not a refusal of the caller's request: a lost race that kept
/// happening, or throttling, is worth retrying; anything else is a bug.
fn cancelled(reasons: &[CancellationReason]) -> Error {
    let codes: Vec<&str> = reasons
        .iter()
        .filter_map(|r| r.code())
        .filter(|c| *c != "None")
        .collect();
    let detail = format!("transaction cancelled: {codes:?}");
    if codes
        .iter()
        .all(|c| *c == "TransactionConflict" || TRANSIENT_CODES.contains(c))
    {
        Error::Unavailable(detail)
    } else {
        Error::Internal(detail)
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

/// Error codes after which a later retry may succeed.
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "ResourceNotFoundException",
    "TransactionInProgressException",
    "ThrottlingError",
];

/// Maps an SDK error to a store error: anything about reaching DynamoDB, throttling or its own
/// failures is `Unavailable` (worth retrying later); the rest is a bug, `Internal`.
fn classify<E>(err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(e) => {
            // Any 5xx answer counts, even one without a DynamoDB error code (a failing proxy).
            let server_side = e.raw().status().is_server_error();
            classify_service(e.into_err(), server_side)
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Error::Unavailable(format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(&err)
            ))
        }
        other => Error::Internal(format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(&other)
        )),
    }
}

/// A service error: a known transient code, or an answer with a 5xx status, is worth retrying
/// later.
fn classify_service<E: ProvideErrorMetadata + std::error::Error>(
    err: E,
    server_side: bool,
) -> Error {
    let detail = format!(
        "{}: {}",
        err.code().unwrap_or("unknown"),
        err.message().unwrap_or("")
    );
    if server_side || err.code().is_some_and(|c| TRANSIENT_CODES.contains(&c)) {
        Error::Unavailable(detail)
    } else {
        Error::Internal(detail)
    }
}

/// Why a transaction did not commit.
enum TransactError {
    /// DynamoDB refused it; one reason per item, in the order the items were sent.
    Cancelled(Vec<CancellationReason>),
    Failed(Error),
}
