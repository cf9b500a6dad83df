//! The bookings resource of the JSON API, `/api/v1/bookings`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{Error, Problem};
use super::extract::{Json, Path, Query};
use super::{AppState, Outcome, booking_log};
use crate::domain::{
    Booking, BookingId, DateRange, IdempotencyKey, InvalidIdempotencyKey, Month, PersonName,
    parse_date,
};
use crate::store::{Created, Cursor, ListQuery};

/// Bookings per page when the client does not say.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/bookings", get(bookings_list).post(bookings_create))
        .route(
            "/api/v1/bookings/{id}",
            get(bookings_get).delete(bookings_delete),
        )
}

/// A request to book leave. Dates are inclusive and written `YYYY-MM-DD`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBooking {
    /// The person's name: typed in at most 400 characters, and 1 to 100 once trimmed and
    /// composed, with a letter or a digit, no control characters, no invisible characters (but
    /// U+FE0F where it draws a character as an emoji, as in ❤️ or a keycap) and at most four
    /// combining marks on a character. Runs of spaces become one space; zero-width joiners and
    /// non-joiners that join nothing are taken out (refused where that would change how the
    /// name is drawn).
    #[schema(example = "Ada Lovelace", min_length = 1, max_length = 100)]
    pub user_name: String,
    /// First day of leave.
    #[schema(example = "2026-03-02", format = Date, pattern = r"^\d{4}-\d{2}-\d{2}$")]
    pub from_date: String,
    /// Last day of leave (included): a booking covers at most 90 days, so at most 89 days
    /// after the first.
    #[schema(example = "2026-03-06", format = Date, pattern = r"^\d{4}-\d{2}-\d{2}$")]
    pub to_date: String,
}

/// A stored booking.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingBody {
    /// ULID: unique, ordered by creation time.
    #[schema(example = "01JQ3V5N8R2X7D4K9M6B1C0F2G")]
    pub id: String,
    pub user_name: String,
    #[schema(format = Date)]
    pub from_date: String,
    #[schema(format = Date)]
    pub to_date: String,
    /// Number of days booked, both ends included.
    pub days: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Booking> for BookingBody {
    fn from(b: &Booking) -> Self {
        Self {
            id: b.id.to_string(),
            user_name: b.user_name.to_string(),
            from_date: b.days.first().to_string(),
            to_date: b.days.last().to_string(),
            days: b.days.len_days(),
            created_at: b.created_at.to_string(),
        }
    }
}

/// One page of bookings, ordered by first day then id.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingPage {
    pub items: Vec<BookingBody>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Which bookings to list: either `month`, or `from` and `to`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A month, `YYYY-MM`: bookings touching any of its days.
    #[param(example = "2026-03")]
    pub month: Option<String>,
    /// First day of a date range (with `to`, at most 366 days).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day of a date range (with `from`).
    #[param(format = Date)]
    pub to: Option<String>,
    /// Only this person's bookings (compared case-insensitively).
    pub person: Option<String>,
    /// Bookings per page, 1 to 200 (default 50).
    // Read as text, so that "-1" or "1.5" is told what a limit is rather than how a number
    // failed to parse.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListParams {
    fn into_query(self) -> Result<ListQuery, Error> {
        let range = match (self.month, self.from, self.to) {
            (Some(month), None, None) => month
                .parse::<Month>()
                .map_err(|e| Error::BadRequest(e.to_string()))?
                .days(),
            (None, Some(from), Some(to)) => {
                let bad = |e: &dyn std::fmt::Display| Error::BadRequest(e.to_string());
                let first = parse_date("from", &from).map_err(|e| bad(&e))?;
                let last = parse_date("to", &to).map_err(|e| bad(&e))?;
                DateRange::listing(first, last).map_err(|e| bad(&e))?
            }
            _ => {
                return Err(Error::BadRequest(
                    "give either month=YYYY-MM, or both from and to (YYYY-MM-DD)".to_owned(),
                ));
            }
        };
        // The name as a booking made with it was stored ("Ann  Lee" is "Ann Lee"); one the
        // rules of new names refuse, as it was read back, so that a person stored before those
        // rules can still be listed.
        let person = self
            .person
            .map(|p| {
                PersonName::parse(&p)
                    .or_else(|_| PersonName::stored(&p))
                    .map_err(|e| Error::BadRequest(format!("person {e}")))
            })
            .transpose()?;
        let limit = match self.limit.as_deref().map(|l| (l, l.parse::<usize>())) {
            None => DEFAULT_LIMIT,
            Some((_, Ok(l @ 1..=MAX_LIMIT))) => l,
            Some((given, _)) => {
                return Err(Error::BadRequest(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}, got '{}'",
                    crate::domain::echoed(given)
                )));
            }
        };
        let after = self
            .cursor
            .map(|c| Cursor::decode(&c).map_err(|e| Error::BadRequest(e.to_string())))
            .transpose()?;
        Ok(ListQuery {
            range,
            person,
            limit,
            after,
        })
    }
}

/// The request header that makes a create safe to retry.
const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The response header that says whether a create was a repeat of an earlier one.
const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// Book leave. Send an `Idempotency-Key` to make retries safe: a repeat with the same key
/// (within 24 hours) stores nothing and answers with the booking the first request created.
#[utoipa::path(
    post, path = "/api/v1/bookings", tag = "bookings",
    request_body = CreateBooking,
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters, unique per intended booking (e.g. a UUID)", pattern = r"^[!-~]{1,255}$")),
    responses(
        (status = 201, description = "Booked (or, for a repeated Idempotency-Key, the booking created before)", body = BookingBody,
         headers(
            ("Location" = String, description = "URL of the booking"),
            ("Idempotent-Replayed" = String, description = "`true` when this answers a repeated Idempotency-Key"),
         )),
        (status = 400, description = "Malformed JSON, or a malformed or repeated Idempotency-Key header", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive within the request deadline", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Overlaps a booking of the same person", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON, or is in a content coding other than identity", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field values, or an Idempotency-Key reused for another booking", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn bookings_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(input): Json<CreateBooking>,
) -> Result<impl IntoResponse, Error> {
    // Two keys would leave it open which one a retry must repeat.
    if headers.get_all(IDEMPOTENCY_KEY).iter().nth(1).is_some() {
        return Err(Error::BadRequest(
            "send one Idempotency-Key header, not several".to_owned(),
        ));
    }
    let idempotency_key = headers
        .get(IDEMPOTENCY_KEY)
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|text| IdempotencyKey::parse(text).ok())
                .ok_or_else(|| Error::BadRequest(InvalidIdempotencyKey.to_string()))
        })
        .transpose()?;
    let booking = Booking::parse(&input.user_name, &input.from_date, &input.to_date)?;
    let (stored, outcome) = match state
        .store
        .create(&booking, idempotency_key.as_ref())
        .await?
    {
        Created::New => (booking, Outcome::Created),
        Created::Replayed(earlier) => (earlier, Outcome::Replayed),
    };
    let replayed = matches!(outcome, Outcome::Replayed).to_string();
    let location = format!("/api/v1/bookings/{}", stored.id);
    Ok((
        StatusCode::CREATED,
        booking_log(stored.id, outcome),
        [
            (header::LOCATION, location),
            (HeaderName::from_static(IDEMPOTENT_REPLAYED), replayed),
        ],
        Json(BookingBody::from(&stored)),
    ))
}

/// Get one booking.
#[utoipa::path(
    get, path = "/api/v1/bookings/{id}", tag = "bookings",
    params(("id" = String, Path, description = "Booking id (ULID)", pattern = r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")),
    responses(
        (status = 200, description = "The booking", body = BookingBody),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such booking", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn bookings_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<BookingBody>, Error> {
    let id: BookingId = id.parse()?;
    let booking = state.store.get(id).await?;
    Ok(Json(BookingBody::from(&booking)))
}

/// List bookings touching a month or a date range, optionally of one person.
#[utoipa::path(
    get, path = "/api/v1/bookings", tag = "bookings",
    params(ListParams),
    responses(
        (status = 200, description = "A page of bookings", body = BookingPage),
        (status = 400, description = "Bad parameters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn bookings_list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Json<BookingPage>, Error> {
    let page = state.store.list(&params.into_query()?).await?;
    Ok(Json(BookingPage {
        items: page.items.iter().map(BookingBody::from).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// Cancel a booking.
#[utoipa::path(
    delete, path = "/api/v1/bookings/{id}", tag = "bookings",
    params(("id" = String, Path, description = "Booking id (ULID)", pattern = r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such booking", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn bookings_delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Error> {
    let id: BookingId = id.parse()?;
    state.store.delete(id).await?;
    Ok((StatusCode::NO_CONTENT, booking_log(id, Outcome::Deleted)))
}
