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
//! it, and a `Query` of 50 bookings costs about half the CPU (see the README). `to_date`
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
use bytes::Bytes;
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::plan::{self, Partition};
use super::record;
use super::{
    Created, Error, LeaveStore, ListQuery, Page, Result, idempotency_expiry, into_page, replay,
};
use crate::domain::{Booking, BookingId, IdempotencyKey, Month, parse_date};
use crate::dynamodb::{self, Client};

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

    async fn call<T: for<'de> Deserialize<'de>>(&self, operation: &str, body: &Value) -> Result<T> {
        let body = serde_json::to_vec(body).map_err(internal)?;
        let answer = self
            .client
            .call(operation, Bytes::from(body))
            .await
            .map_err(classify)?;
        serde_json::from_slice(&answer)
            .map_err(|e| Error::Internal(format!("unexpected answer to {operation}: {e}")))
    }

    fn put(&self, item: Value, condition: Option<&str>) -> Value {
        let mut put = json!({"TableName": self.table, "Item": item});
        if let Some(condition) = condition {
            put["ConditionExpression"] = condition.into();
        }
        json!({"Put": put})
    }

    fn delete(&self, pk: String, sk: String, condition: Option<&str>) -> Value {
        let mut delete = json!({"TableName": self.table, "Key": key(pk, sk)});
        if let Some(condition) = condition {
            delete["ConditionExpression"] = condition.into();
        }
        json!({"Delete": delete})
    }

    /// Adds (or removes) `days` to the person's days item of one month. Adding is conditional
    /// on none of the days being there already.
    fn days_update(&self, person_key: &str, month: Month, days: &[Date], adding: bool) -> Value {
        let day_set: Vec<String> = days.iter().map(Date::to_string).collect();
        let mut values = Map::new();
        values.insert(":days".into(), json!({ "SS": day_set }));
        let mut update = json!({
            "TableName": self.table,
            "Key": key(format!("PERSON#{person_key}"), format!("DAYS#{month}")),
            "ExpressionAttributeNames": {"#days": DAYS},
        });
        if adding {
            let condition: Vec<String> = (0..days.len())
                .map(|i| format!("NOT contains(#days, :d{i})"))
                .collect();
            for (i, day) in days.iter().enumerate() {
                values.insert(format!(":d{i}"), string(day.to_string()));
            }
            update["UpdateExpression"] = "ADD #days :days".into();
            update["ConditionExpression"] = condition.join(" AND ").into();
            update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD".into();
        } else {
            update["UpdateExpression"] = "DELETE #days :days".into();
        }
        update["ExpressionAttributeValues"] = Value::Object(values);
        json!({"Update": update})
    }

    /// Remembers `key` for this booking unless a live record of it exists (expired records
    /// still waiting for DynamoDB's TTL deletion count as absent).
    fn idempotency_put(&self, idempotency_key: &IdempotencyKey, id: BookingId) -> Value {
        let now = jiff::Timestamp::now().as_second();
        let mut item = key(
            format!("IDEMPOTENCY#{idempotency_key}"),
            "IDEMPOTENCY".into(),
        );
        item["booking_id"] = string(id.to_string());
        item[TTL] = json!({"N": idempotency_expiry().to_string()});
        json!({"Put": {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk) OR #ttl < :now",
            "ExpressionAttributeNames": {"#ttl": TTL},
            "ExpressionAttributeValues": {":now": {"N": now.to_string()}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }})
    }

    /// Every item of a booking, in the order `create` writes them: the booking, its month
    /// entries, its person entry, then one days update per month (see `conflict_day`).
    fn booking_items(&self, booking: &Booking, creating: bool) -> Result<Vec<Value>> {
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
            ));
            for month in booking.days.months() {
                items.push(self.put(
                    item(
                        format!("MONTH#{month}"),
                        sort_key.clone(),
                        &record,
                        &last_day,
                    ),
                    None,
                ));
            }
            items.push(self.put(
                item(
                    format!("PERSON#{person_key}"),
                    format!("BOOKING#{sort_key}"),
                    &record,
                    &last_day,
                ),
                None,
            ));
        } else {
            items.push(self.delete(booking_pk, "BOOKING".into(), Some("attribute_exists(pk)")));
            for month in booking.days.months() {
                items.push(self.delete(format!("MONTH#{month}"), sort_key.clone(), None));
            }
            items.push(self.delete(
                format!("PERSON#{person_key}"),
                format!("BOOKING#{sort_key}"),
                None,
            ));
        }
        for month in booking.days.months() {
            let days: Vec<Date> = booking
                .days
                .iter_days()
                .filter(|d| Month::containing(*d) == month)
                .collect();
            items.push(self.days_update(&person_key, month, &days, creating));
        }
        Ok(items)
    }

    /// Runs one transaction, trying again when it lost a race on the same items.
    /// `token` names the logical write: DynamoDB treats repeats with the same token within ten
    /// minutes as the same transaction, so a retry after a lost response does not run it twice.
    async fn transact(&self, items: Vec<Value>, token: &str) -> Result<(), TransactError> {
        let body = json!({"TransactItems": items, "ClientRequestToken": token});
        let body =
            Bytes::from(serde_json::to_vec(&body).map_err(|e| TransactError::Failed(internal(e)))?);
        let mut attempt = 0;
        loop {
            let error = match self.client.call("TransactWriteItems", body.clone()).await {
                Ok(_) => return Ok(()),
                Err(dynamodb::Error::Service(e)) if e.code == "TransactionCanceledException" => e,
                Err(other) => return Err(TransactError::Failed(classify(other))),
            };
            let reasons = serde_json::from_slice::<Cancellation>(&error.body)
                .map_err(|e| {
                    TransactError::Failed(Error::Internal(format!("unreadable cancellation: {e}")))
                })?
                .reasons;
            attempt += 1;
            let has = |code| reasons.iter().any(|r| r.code.as_deref() == Some(code));
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
            let mut request = json!({
                "TableName": self.table,
                // Read-your-writes: the page shown right after a booking must include it.
                "ConsistentRead": true,
                "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
                "ExpressionAttributeNames": {"#pk": PK, "#sk": SK},
                "ExpressionAttributeValues": {
                    ":pk": string(pk.clone()),
                    ":lo": string(format!("{prefix}{}", segment.lo)),
                    ":hi": string(format!("{prefix}{}", segment.hi)),
                },
                // One more than needed: the resume position itself may come back first.
                "Limit": wanted + 1,
                "ProjectionExpression": BOOKING,
            });
            if let Some(start_key) = start_key.take() {
                request["ExclusiveStartKey"] = start_key;
            }
            if let Some(day) = segment.ends_on_or_after {
                request["FilterExpression"] = format!("{LAST_DAY} >= :ends").into();
                request["ExpressionAttributeValues"][":ends"] = string(day.to_string());
            }
            let output: QueryOutput = self.call("Query", &request).await?;
            for item in output.items {
                let booking = item.booking()?;
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
            items.push(self.idempotency_put(idempotency_key, booking.id));
        }
        let reasons = match self.transact(items, &booking.id.to_string()).await {
            Ok(()) => return Ok(Created::New),
            Err(TransactError::Failed(e)) => return Err(e),
            Err(TransactError::Cancelled(reasons)) => reasons,
        };
        let failed = |i: usize| {
            reasons.get(i).and_then(|r| r.code.as_deref()) == Some("ConditionalCheckFailed")
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
        let request = json!({
            "TableName": self.table,
            "Key": key(format!("BOOKING#{id}"), "BOOKING".into()),
            "ConsistentRead": true,
            "ProjectionExpression": BOOKING,
        });
        let output: GetOutput = self.call("GetItem", &request).await?;
        output.item.ok_or(Error::NotFound)?.booking()
    }

    async fn delete(&self, id: BookingId) -> Result<()> {
        let booking = self.get(id).await?;
        let items = self.booking_items(&booking, false)?;
        self.transact(items, &format!("delete-{id}"))
            .await
            .map_err(|err| match err {
                // The booking's own delete is conditional on it existing: someone deleted it first.
                TransactError::Cancelled(reasons)
                    if reasons.first().and_then(|r| r.code.as_deref())
                        == Some("ConditionalCheckFailed") =>
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
        let request = json!({"TableName": self.table, "Key": key("PING".into(), "PING".into())});
        self.call::<GetOutput>("GetItem", &request).await.map(drop)
    }
}

/// The earliest day of `booking` that the person's days item (as it was before the failed
/// transaction) already holds.
fn conflict_day(booking: &Booking, reason: &CancellationReason) -> Date {
    let taken: Vec<Date> = reason
        .item
        .as_ref()
        .and_then(|item| item.get(DAYS))
        .and_then(|days| days["SS"].as_array())
        .map(|set| {
            set.iter()
                .filter_map(|s| parse_date("day", s.as_str()?).ok())
                .collect()
        })
        .unwrap_or_default();
    booking
        .days
        .iter_days()
        .find(|day| taken.contains(day))
        .unwrap_or(booking.days.first())
}

/// A string attribute value.
fn string(s: String) -> Value {
    json!({ "S": s })
}

fn key(pk: String, sk: String) -> Value {
    json!({ PK: string(pk), SK: string(sk) })
}

/// A booking's item: its keys, the booking as its stored JSON, and its last day on its own,
/// for the filter of listings that start mid-booking.
fn item(pk: String, sk: String, json: &str, last_day: &str) -> Value {
    let mut item = key(pk, sk);
    item[BOOKING] = string(json.to_owned());
    item[LAST_DAY] = string(last_day.to_owned());
    item
}

/// An answer to `Query`: the items (only their [`BOOKING`] attribute, projected) and where
/// to go on when there are more.
#[derive(Deserialize)]
struct QueryOutput {
    #[serde(rename = "Items", default)]
    items: Vec<StoredItem>,
    #[serde(rename = "LastEvaluatedKey")]
    last_evaluated_key: Option<Value>,
}

#[derive(Deserialize)]
struct GetOutput {
    #[serde(rename = "Item")]
    item: Option<StoredItem>,
}

#[derive(Deserialize)]
struct StoredItem {
    booking: Option<StringValue>,
}

#[derive(Deserialize)]
struct StringValue {
    #[serde(rename = "S")]
    s: Option<String>,
}

impl StoredItem {
    fn booking(self) -> Result<Booking> {
        match self.booking.and_then(|value| value.s) {
            Some(json) => record::from_json(json.as_bytes()),
            None => Err(Error::Internal(format!(
                "stored item lacks string attribute {BOOKING}"
            ))),
        }
    }
}

/// The body of a `TransactionCanceledException`.
#[derive(Deserialize)]
struct Cancellation {
    #[serde(rename = "CancellationReasons", default)]
    reasons: Vec<CancellationReason>,
}

/// Why one item of a transaction failed (`Code` "None" when it did not), with the item as it
/// was when its condition failed, for the items that ask for it.
#[derive(Deserialize)]
struct CancellationReason {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "Item")]
    item: Option<HashMap<String, Value>>,
}

impl CancellationReason {
    fn string(&self, attribute: &str) -> Option<&str> {
        self.item.as_ref()?.get(attribute)?["S"].as_str()
    }
}

/// A cancellation that is not a refusal of the caller's request: a lost race that kept
/// happening, or throttling, is worth retrying; anything else is a bug.
fn cancelled(reasons: &[CancellationReason]) -> Error {
    let codes: Vec<&str> = reasons
        .iter()
        .filter_map(|r| r.code.as_deref())
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

/// Maps a failed call to a store error: anything about reaching DynamoDB, throttling or its
/// own failures is `Unavailable` (worth retrying later); the rest is a bug, `Internal`.
fn classify(err: dynamodb::Error) -> Error {
    match err {
        dynamodb::Error::Unreachable(why) => Error::Unavailable(why),
        dynamodb::Error::Service(e) => {
            let detail = format!(
                "{}: {}",
                if e.code.is_empty() {
                    "unknown"
                } else {
                    &e.code
                },
                e.message
            );
            if e.is_transient() || TRANSIENT_CODES.contains(&e.code.as_str()) {
                Error::Unavailable(detail)
            } else {
                Error::Internal(detail)
            }
        }
    }
}

/// Why a transaction did not commit.
enum TransactError {
    /// DynamoDB refused it; one reason per item, in the order the items were sent.
    Cancelled(Vec<CancellationReason>),
    Failed(Error),
}
