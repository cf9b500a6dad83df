//! The HTML pages: the month calendar with its booking form, the delete confirmation, and the
//! form posts behind them. They need no JavaScript: forms post, then redirect
//! (post/redirect/get); posts from other sites are refused (see `csrf`).

use std::collections::BTreeMap;
use std::fmt;

use askama::Template;
use axum::Router;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use jiff::civil::{Date, Weekday};
use serde::Deserialize;

use super::assets::{self, AssetUrls};
use super::error::Error;
use super::extract::{Form, Path, Query};
use super::middleware::RequestDeadline;
use super::{AppState, Outcome, booking_log};
use super::{csrf, name_cookie};
use crate::domain::{
    Booking, BookingId, DateRange, IdempotencyKey, InvalidBooking, InvalidDate, InvalidName,
    InvalidRange, MAX_KEY_CHARS, Month, parse_date, today,
};
use crate::store::{self, Created, KeyUse, ListQuery};

/// Bookings one month page shows at most; a month with more says so.
const MONTH_PAGE_LIMIT: usize = 1000;

/// [`MONTH_PAGE_LIMIT`] as the page writes it, with its thousands separated.
const MONTH_PAGE_LIMIT_TEXT: &str = "1,000";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(calendar_get).post(calendar_post))
        .route(
            "/delete/{id}",
            get(booking_delete_confirm)
                .post(booking_delete)
                .delete(booking_delete),
        )
        .route_layer(axum::middleware::from_fn(csrf::refuse_cross_site))
}

#[derive(Debug, Deserialize)]
pub struct CalendarParams {
    month: Option<String>,
    /// The booking the form just made, which the page confirms (post/redirect/get).
    booked: Option<String>,
    /// The booking just deleted, which the page says is gone.
    deleted: Option<String>,
}

impl CalendarParams {
    /// What the page was sent to confirm, if anything.
    fn done(&self) -> Result<Option<Done>, PageError> {
        let id = |name: &str, text: &str| {
            text.parse::<BookingId>()
                .map_err(|e| PageError::new(StatusCode::BAD_REQUEST, format!("{name}: {e}")))
        };
        match (&self.booked, &self.deleted) {
            (None, None) => Ok(None),
            (Some(booked), None) => Ok(Some(Done::Booked(id("booked", booked)?))),
            (None, Some(deleted)) => Ok(Some(Done::Deleted(id("deleted", deleted)?))),
            (Some(_), Some(_)) => Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "a page confirms one thing: give booked or deleted, not both".to_owned(),
            )),
        }
    }
}

/// What the form just did, as the redirect after it tells the month page.
#[derive(Debug, Clone, Copy)]
enum Done {
    Booked(BookingId),
    Deleted(BookingId),
}

/// The booking form's fields, named as in the original app. Missing fields count as empty so
/// that the person gets the same clear message as for a blank field.
#[derive(Debug, Default, Deserialize)]
pub struct BookingForm {
    #[serde(default)]
    user_name: String,
    #[serde(default)]
    from_date: String,
    #[serde(default)]
    to_date: String,
    /// New in every form the page renders: the same form sent twice (a double click, or sent
    /// again after an answer that never came) books once. Empty from clients that omit it.
    #[serde(default)]
    idempotency_key: String,
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    month: Option<String>,
}

impl DeleteForm {
    /// The month the person came from, when the link names one.
    fn month(&self) -> Result<Option<Month>, PageError> {
        optional_month(self.month.as_deref())
    }
}

/// A page's `month` parameter, if one is given (empty is none), or a 400 page saying what is
/// wrong with it.
fn optional_month(text: Option<&str>) -> Result<Option<Month>, PageError> {
    let parse = |text: &str| {
        text.parse()
            .map_err(|e: InvalidDate| PageError::new(StatusCode::BAD_REQUEST, e.to_string()))
    };
    text.filter(|text| !text.is_empty()).map(parse).transpose()
}

/// The month calendar, with the booking form filled in with the name last booked with.
pub async fn calendar_get(
    State(state): State<AppState>,
    name_cookie::Remembered(remembered): name_cookie::Remembered,
    Query(params): Query<CalendarParams>,
) -> Result<Response, PageError> {
    let month = optional_month(params.month.as_deref())?.unwrap_or_else(Month::current);
    let done = params.done()?;
    let form = BookingForm {
        user_name: remembered.map(|name| name.to_string()).unwrap_or_default(),
        ..BookingForm::default()
    };
    render_calendar(&state, month, form, done, None).await
}

/// The booking form: on success, back to the month of the booking, remembering the name; on a
/// refusal, the same page again with the message and the input kept.
pub async fn calendar_post(
    State(state): State<AppState>,
    deadline: Option<Extension<RequestDeadline>>,
    headers: HeaderMap,
    form: Result<Form<BookingForm>, Error>,
) -> Result<Response, PageError> {
    let form = match form {
        Ok(Form(form)) => form,
        Err(err) => return Err(PageError::from(err)),
    };
    let key = match form.idempotency_key.as_str() {
        "" => None,
        raw => Some(IdempotencyKey::parse(raw).map_err(|_| damaged_form_key())?),
    };
    // The day of a clash with another booking: the page shows its month, where that booking is.
    let mut clash = None;
    let refused = match Booking::parse_all(&form.user_name, &form.from_date, &form.to_date) {
        Ok(booking) => match create_before(deadline, &state, &booking, key.as_ref()).await {
            Ok(created) => {
                let (booked, outcome) = match created {
                    Created::New => (booking, Outcome::Created),
                    Created::Replayed(earlier) => (earlier, Outcome::Replayed),
                };
                let month = Month::containing(booked.days.first());
                return Ok((
                    booking_log(booked.id, outcome),
                    [(
                        header::SET_COOKIE,
                        name_cookie::set_cookie(&booked.user_name, &headers),
                    )],
                    Redirect::to(&format!("/?month={month}&booked={}", booked.id)),
                )
                    .into_response());
            }
            Err(store::Error::KeyReused(used)) => Refusal {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: Message::from(match used {
                    KeyUse::OtherRequest(_) => {
                        "This form was already sent for another booking. Check the calendar, \
                         then send the form again."
                    }
                    KeyUse::Deleted => {
                        "This form was already sent, and the booking it made has since been \
                         deleted. Send the form again to book it anew."
                    }
                }),
                fields: Vec::new(),
            },
            Err(store::Error::Conflict { first_day }) => {
                clash = Some(first_day);
                Refusal {
                    status: StatusCode::CONFLICT,
                    message: Message(vec![
                        Part::Name(booking.user_name.to_string()),
                        Part::Text(format!(
                            " already has leave booked on {}.",
                            human_date(first_day)
                        )),
                    ]),
                    fields: vec!["from_date"],
                }
            }
            Err(store::Error::Unavailable(detail)) => {
                Error::StoreUnavailable(detail).log();
                return Ok(resend_page(&form, &booking, key));
            }
            Err(other) => return Err(PageError::from(Error::from(other))),
        },
        Err(problems) => Refusal::all_invalid(&problems),
    };
    // Else the month of the first day typed, or of the last when only it is a date.
    let typed = || {
        let first = parse_date("from_date", &form.from_date);
        first.or_else(|_| parse_date("to_date", &form.to_date)).ok()
    };
    let month = clash
        .or_else(typed)
        .map_or_else(Month::current, Month::containing);
    render_calendar(&state, month, form, None, Some(refused)).await
}

/// What is left of a request's time for the page to render once the store has answered or
/// given up: past the request's deadline the middleware answers a plain 503 page, without the
/// form to send again.
const PAGE_MARGIN: std::time::Duration = std::time::Duration::from_millis(500);

/// Creates `booking`, giving up [`PAGE_MARGIN`] before the request's deadline, as `Unavailable`:
/// the store may have saved it, so the form is offered again (the embedded store's writer, on a
/// stalled disk, and a DynamoDB create's retries can outlast the request).
async fn create_before(
    deadline: Option<Extension<RequestDeadline>>,
    state: &AppState,
    booking: &Booking,
    key: Option<&IdempotencyKey>,
) -> store::Result<Created> {
    let create = state.store.create(booking, key);
    let Some(Extension(RequestDeadline(deadline))) = deadline else {
        return create.await;
    };
    let give_up = deadline.checked_sub(PAGE_MARGIN).unwrap_or(deadline);
    tokio::time::timeout_at(give_up.into(), create)
        .await
        .unwrap_or_else(|_| {
            Err(store::Error::Unavailable(
                "the store did not confirm the booking in time".to_owned(),
            ))
        })
}

/// A booking the store did not confirm: it failed, or did not answer in time, after it may
/// have saved the booking. The page offers the same form again with the same key, which books
/// it once whether or not the first attempt was saved; 503 with `Retry-After`, as any outage.
fn resend_page(form: &BookingForm, booking: &Booking, key: Option<IdempotencyKey>) -> Response {
    let status = StatusCode::SERVICE_UNAVAILABLE;
    let html = ResendView {
        title: status.canonical_reason().unwrap_or("Error"),
        form,
        // A form without a key (sent by a script) gets one now: its retries are then safe.
        key: key.map_or_else(|| ulid::Ulid::new().to_string(), |k| k.as_str().to_owned()),
        name: booking.user_name.as_str(),
        from: HumanDate(booking.days.first()),
        to: HumanDate(booking.days.last()),
        month: Month::containing(booking.days.first()).to_string(),
        assets: assets::urls(),
    }
    .render()
    .unwrap_or_default();
    retry_later(html_page(status, html))
}

/// Adds the `Retry-After` every 503 carries.
fn retry_later(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, super::error::RETRY_AFTER_SECS.into());
    response
}

#[derive(Template)]
#[template(path = "resend.html")]
struct ResendView<'a> {
    title: &'a str,
    form: &'a BookingForm,
    key: String,
    name: &'a str,
    from: HumanDate,
    to: HumanDate,
    month: String,
    assets: &'static AssetUrls,
}

/// The form's hidden key was altered: not something a person can fix on the page.
fn damaged_form_key() -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        format!(
            "The form is damaged (its idempotency_key must be 1 to {MAX_KEY_CHARS} visible ASCII \
             characters). Reload the page and send it again."
        ),
    )
}

/// Why the form was refused, for the person who filled it in: the message and the fields at
/// fault (their `id`s), which the page marks as invalid; none, when the message is about the
/// whole form.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: Message,
    fields: Vec<&'static str>,
}

/// A message for the person at the page, with the names it quotes kept apart from its words so
/// that the page can isolate them (`<bdi>`): a right-to-left name next to the words (or a
/// name ending in digits or punctuation) would otherwise be reordered with them by the Unicode
/// bidirectional algorithm.
#[derive(Debug)]
struct Message(Vec<Part>);

#[derive(Debug)]
enum Part {
    Text(String),
    Name(String),
}

impl Message {
    fn parts(&self) -> &[Part] {
        &self.0
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Self(vec![Part::Text(text.to_owned())])
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Self(vec![Part::Text(text)])
    }
}

/// The message as plain text.
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|part| match part {
            Part::Text(text) | Part::Name(text) => f.write_str(text),
        })
    }
}

impl Refusal {
    /// Every problem of a refused form in one message, so that the person fixes them all at
    /// once rather than finding one after each attempt (the API tells the first), and every
    /// field at fault marked.
    fn all_invalid(problems: &[InvalidBooking]) -> Self {
        let mut all = Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: Message(Vec::new()),
            fields: Vec::new(),
        };
        for refusal in problems.iter().map(Self::invalid) {
            if !all.message.0.is_empty() {
                all.message.0.push(Part::Text(" ".to_owned()));
            }
            all.message.0.extend(refusal.message.0);
            all.fields.extend(refusal.fields);
        }
        all
    }

    /// Messages in the form's words ("first day", not `from_date`).
    fn invalid(invalid: &InvalidBooking) -> Self {
        let label = |field: &str| match field {
            "to_date" => "the last day",
            _ => "the first day",
        };
        let (message, field) = match invalid {
            InvalidBooking::Name(InvalidName::Empty) => {
                ("Please enter a name.".to_owned(), "user_name")
            }
            InvalidBooking::Name(InvalidName::TooLong(chars)) => (
                format!(
                    "The name is too long: at most {} characters, got {chars}.",
                    crate::domain::MAX_NAME_CHARS
                ),
                "user_name",
            ),
            InvalidBooking::Name(InvalidName::ControlCharacter) => (
                "The name must not contain control characters.".to_owned(),
                "user_name",
            ),
            InvalidBooking::Name(InvalidName::InvisibleCharacter(c)) => (
                format!(
                    "The name must not contain invisible formatting characters (U+{:04X}).",
                    u32::from(*c)
                ),
                "user_name",
            ),
            InvalidBooking::Name(InvalidName::NoLetterOrDigit) => (
                "The name must contain a letter or a digit.".to_owned(),
                "user_name",
            ),
            InvalidBooking::Name(InvalidName::TypedTooLong(chars)) => (
                format!(
                    "The name is too long: it must be typed in at most {} characters, got {chars}.",
                    crate::domain::MAX_TYPED_CHARS
                ),
                "user_name",
            ),
            InvalidBooking::Name(InvalidName::StackedMarks) => (
                format!(
                    "The name must not stack more than {} accents or other marks on one letter, or one mark twice.",
                    crate::domain::MAX_STACKED_MARKS
                ),
                "user_name",
            ),
            InvalidBooking::Date(InvalidDate::Format { field, value }) if value.is_empty() => {
                (format!("Please enter {}.", label(field)), *field)
            }
            InvalidBooking::Date(InvalidDate::Format { field, value }) => (
                sentence(&format!(
                    "{} must be a date written YYYY-MM-DD, got '{value}'",
                    label(field)
                )),
                *field,
            ),
            InvalidBooking::Date(InvalidDate::Impossible { field, value }) => (
                sentence(&format!("{} ({value}) is not a real date", label(field))),
                *field,
            ),
            InvalidBooking::Date(other @ InvalidDate::OutOfRange { field, .. }) => (
                sentence(&other.to_string().replacen(field, label(field), 1)),
                *field,
            ),
            InvalidBooking::Date(
                other @ (InvalidDate::Month(_) | InvalidDate::MonthOutOfRange(_)),
            ) => (sentence(&other.to_string()), "from_date"),
            InvalidBooking::Range(InvalidRange::Reversed { first, last, .. }) => (
                format!(
                    "The last day ({}) is before the first day ({}).",
                    human_date(*last),
                    human_date(*first)
                ),
                "to_date",
            ),
            InvalidBooking::Range(InvalidRange::TooLong { days, max, .. }) => (
                format!("A booking covers at most {max} days; this one covers {days}."),
                "to_date",
            ),
        };
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: Message::from(message),
            fields: vec![field],
        }
    }
}

/// The step between a booking's delete button and its deletion: what is about to be deleted,
/// a button that deletes it and a way back. It needs no JavaScript.
pub async fn booking_delete_confirm(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(back): Query<DeleteForm>,
) -> Result<Response, PageError> {
    let id: BookingId = id.parse().map_err(Error::from)?;
    let back = back.month()?;
    let booking = match state.store.get(id).await {
        Ok(booking) => booking,
        Err(store::Error::NotFound) => {
            return Err(PageError::new(
                StatusCode::NOT_FOUND,
                "this booking does not exist any more; it may have been deleted already".to_owned(),
            ));
        }
        Err(other) => return Err(PageError::from(Error::from(other))),
    };
    let month = back.unwrap_or_else(|| Month::containing(booking.days.first()));
    let name = EscapedName::new(booking.user_name.as_str());
    let view = ConfirmDeleteView {
        // A title can hold no markup: Unicode's isolates (FSI … PDI) do there what `<bdi>`
        // does in the page.
        title: format!("Delete \u{2068}{}\u{2069}'s leave", booking.user_name),
        booking: BookingRow::new(&booking, &name, 0),
        month: month.to_string(),
        month_title: month_title(month),
        assets: assets::urls(),
    };
    let html = view
        .render()
        .map_err(|e| PageError::from(Error::Internal(e.to_string())))?;
    Ok(html_page(StatusCode::OK, html))
}

/// Deletes a booking: the confirmation page's button, and any program that posts (or sends
/// DELETE) to the same URL.
pub async fn booking_delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(back): Query<DeleteForm>,
) -> Result<Response, PageError> {
    let id: BookingId = id.parse().map_err(Error::from)?;
    // Checked before the deletion: a refused request changes nothing.
    let back = back.month()?;
    let deleted = match state.store.delete(id).await {
        Ok(()) => Some(booking_log(id, Outcome::Deleted)),
        // Deleting twice (a double click, a reload) ends where the person wanted to be.
        Err(store::Error::NotFound) => None,
        Err(other) => return Err(PageError::from(Error::from(other))),
    };
    let target = match back {
        Some(month) => format!("/?month={month}&deleted={id}"),
        None => format!("/?deleted={id}"),
    };
    Ok((deleted, Redirect::to(&target)).into_response())
}

async fn render_calendar(
    state: &AppState,
    month: Month,
    mut form: BookingForm,
    done: Option<Done>,
    refusal: Option<Refusal>,
) -> Result<Response, PageError> {
    // Every form shown gets a key of its own, a refused one too: what it books next is a new
    // request, which the refused one's key must not be tied to.
    form.idempotency_key = ulid::Ulid::new().to_string();
    let status = refusal.as_ref().map_or(StatusCode::OK, |r| r.status);
    let query = ListQuery {
        range: month.days(),
        person: None,
        limit: MONTH_PAGE_LIMIT,
        after: None,
    };
    let page = state
        .store
        .list(&query)
        .await
        .map_err(|e| PageError::from(Error::from(e)))?;
    // "Deleted" only when the store holds no booking with that id: one missing from this page
    // may be in another month, or beyond the page's limit. One more read, on this page alone.
    let done = match done {
        Some(Done::Deleted(id)) if page.items.iter().any(|b| b.id == id) => None,
        Some(Done::Deleted(id)) => match state.store.get(id).await {
            Err(store::Error::NotFound) => done,
            Ok(_) => None,
            Err(other) => {
                Error::from(other).log();
                None
            }
        },
        booked => booked,
    };
    let names: Vec<EscapedName> = page
        .items
        .iter()
        .map(|b| EscapedName::new(b.user_name.as_str()))
        .collect();
    let view = CalendarView::new(
        month,
        &page.items,
        &names,
        page.next.is_some(),
        form,
        done,
        refusal,
    );
    // Room for the whole page from the start (about 16 KiB, and 500 bytes a booking): grown
    // from askama's estimate, the page was copied each time it doubled, and reallocating
    // took 39k of the 1,029k instructions of a month page with 50 bookings (callgrind).
    let mut html = String::with_capacity(16 * 1024 + 512 * page.items.len());
    view.render_into(&mut html)
        .map_err(|e| PageError::from(Error::Internal(e.to_string())))?;
    Ok(html_page(status, html))
}

/// Every HTML page the app sends goes out through here, error pages included. None may be
/// stored by a cache (`no-store`): a month page carries the visitor's remembered name and a
/// form key meant for one submission, and without a `Cache-Control` a shared cache may keep a
/// 200 or a 404 heuristically and hand it to the next visitor. Per-handler headers would be
/// missed by the next page; a layer on the pages router would miss the error pages made for
/// other routes ([`super::middleware::html_errors`]).
fn html_page(status: StatusCode, html: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// A person's bookings share one of a few colours, handed out in order of first appearance so
/// that people shown together look different.
const TONES: usize = 8;

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarView<'a> {
    title: String,
    month: String,
    previous: Option<String>,
    next: Option<String>,
    current: String,
    /// Short and full names, Monday first.
    weekdays: [(&'static str, &'static str); 7],
    weeks: Vec<Vec<DayCell<'a>>>,
    bookings: Vec<BookingRow<'a>>,
    /// More bookings than [`MONTH_PAGE_LIMIT`] touch the month: the page says so.
    truncated: bool,
    limit: &'static str,
    form: BookingForm,
    /// What the form just did, when the page can confirm it.
    notice: Option<Notice<'a>>,
    message: Option<Message>,
    /// The `id`s of the fields the message is about; none when it is about the whole form.
    invalid_fields: Vec<&'static str>,
    assets: &'static AssetUrls,
}

impl CalendarView<'_> {
    /// Whether the message describes `field`: the fields at fault, or every field when the
    /// message is about the whole form.
    fn described(&self, field: &str) -> bool {
        self.message.is_some() && (self.invalid_fields.is_empty() || self.is_invalid(field))
    }

    fn is_invalid(&self, field: &str) -> bool {
        self.invalid_fields.contains(&field)
    }
}

#[derive(Template)]
#[template(path = "confirm_delete.html")]
struct ConfirmDeleteView<'a> {
    title: String,
    booking: BookingRow<'a>,
    month: String,
    month_title: String,
    assets: &'static AssetUrls,
}

struct DayCell<'a> {
    day: i8,
    date: IsoDate,
    label: HumanDate,
    /// For a day of the month before or after: that month's name ("March 2026"), said after
    /// the day's number to screen readers, which would read "1" alone.
    other_month: Option<String>,
    is_today: bool,
    is_weekend: bool,
    people: Vec<PersonChip<'a>>,
}

/// The page's confirmation of what the form just did, shown only while it is true, so that it
/// stays true when the page is loaded again: the booking as the page lists it (none for a
/// booking deleted since, or one beyond the page's [`MONTH_PAGE_LIMIT`]), or that the store
/// holds no booking with the deleted id.
enum Notice<'a> {
    Booked(BookingRow<'a>),
    Deleted,
}

impl Notice<'_> {
    /// The page title's first words: a screen reader announces the title of the page a form
    /// loaded, not reliably a status message that was there from the start.
    fn title_prefix(&self) -> &'static str {
        match self {
            Self::Booked(_) => "Booked: ",
            Self::Deleted => "Deleted: ",
        }
    }
}

struct PersonChip<'a> {
    name: &'a EscapedName,
    tone: usize,
}

struct BookingRow<'a> {
    id: ShownId,
    name: &'a EscapedName,
    tone: usize,
    from: HumanDate,
    to: HumanDate,
    days: i32,
}

impl<'a> BookingRow<'a> {
    fn new(booking: &Booking, name: &'a EscapedName, tone: usize) -> Self {
        Self {
            id: ShownId(booking.id),
            name,
            tone,
            from: HumanDate(booking.days.first()),
            to: HumanDate(booking.days.last()),
            days: booking.days.len_days(),
        }
    }
}

impl<'a> CalendarView<'a> {
    /// The page of `month` showing `bookings`, each with its name escaped in `names`.
    fn new(
        month: Month,
        bookings: &[Booking],
        names: &'a [EscapedName],
        truncated: bool,
        form: BookingForm,
        done: Option<Done>,
        refusal: Option<Refusal>,
    ) -> Self {
        debug_assert_eq!(bookings.len(), names.len(), "a name for each booking");
        // Ordered, not hashed: SipHash of the 50 keys of a month page cost more than the
        // few comparisons of a lookup in a tree that small.
        let mut tones: BTreeMap<String, usize> = BTreeMap::new();
        let mut tone_of = |b: &Booking| {
            let next = tones.len() % TONES;
            *tones.entry(b.user_name.key()).or_insert(next)
        };
        let toned: Vec<(&Booking, &EscapedName, usize)> = bookings
            .iter()
            .zip(names)
            .map(|(b, name)| (b, name, tone_of(b)))
            .collect();
        let today = today();
        // Who is away on each day of the month (by day - 1), in the order of the bookings:
        // each booking put on its days, rather than every booking checked against every day.
        // Days of the months before and after show no one: the page lists this month's
        // bookings only, so they would show some of the people away and not others.
        let mut away: Vec<Vec<PersonChip>> = (0..31).map(|_| Vec::new()).collect();
        for (b, name, tone) in &toned {
            let first = b.days.first().max(month.first_day());
            let last = b.days.last().min(month.last_day());
            if first <= last {
                for people in &mut away[day_index(first)..=day_index(last)] {
                    people.push(PersonChip { name, tone: *tone });
                }
            }
        }
        let weeks = grid_weeks(month)
            .into_iter()
            .map(|week| {
                week.into_iter()
                    .map(|date| {
                        let in_month = Month::containing(date) == month;
                        DayCell {
                            day: date.day(),
                            date: IsoDate(date),
                            label: HumanDate(date),
                            other_month: (!in_month).then(|| month_title(Month::containing(date))),
                            is_today: date == today,
                            is_weekend: matches!(
                                date.weekday(),
                                Weekday::Saturday | Weekday::Sunday
                            ),
                            people: if in_month {
                                std::mem::take(&mut away[day_index(date)])
                            } else {
                                Vec::new()
                            },
                        }
                    })
                    .collect()
            })
            .collect();
        let rows = toned
            .iter()
            .map(|(b, name, tone)| BookingRow::new(b, name, *tone))
            .collect();
        let notice = done.and_then(|done| match done {
            Done::Booked(id) => toned
                .iter()
                .find(|(b, ..)| b.id == id)
                .map(|(b, name, tone)| Notice::Booked(BookingRow::new(b, name, *tone))),
            Done::Deleted(_) => Some(Notice::Deleted),
        });
        let (message, invalid_fields) = match refusal {
            Some(refusal) => (Some(refusal.message), refusal.fields),
            None => (None, Vec::new()),
        };
        Self {
            title: month_title(month),
            month: month.to_string(),
            previous: month.previous().map(|m| m.to_string()),
            next: month.next().map(|m| m.to_string()),
            current: Month::current().to_string(),
            weekdays: WEEKDAYS,
            weeks,
            bookings: rows,
            truncated,
            limit: MONTH_PAGE_LIMIT_TEXT,
            form,
            notice,
            message,
            invalid_fields,
            assets: assets::urls(),
        }
    }
}

/// A day's place in its month: 0 for the 1st.
fn day_index(date: Date) -> usize {
    usize::from(date.day().unsigned_abs()) - 1
}

/// A month as its page names it: "February 2026".
fn month_title(month: Month) -> String {
    month.first_day().strftime("%B %Y").to_string()
}

/// The weeks (Monday to Sunday) that show `month`.
fn grid_weeks(month: Month) -> Vec<Vec<Date>> {
    let first = month.first_day();
    let offset = i32::from(first.weekday().to_monday_zero_offset());
    let start = first
        .checked_sub(jiff::Span::new().days(offset))
        .unwrap_or(first);
    let mut days = DateRange::listing(start, month.last_day())
        .map(|r| r.iter_days().collect::<Vec<_>>())
        .unwrap_or_default();
    while !days.len().is_multiple_of(7) {
        match days.last().and_then(|d| d.tomorrow().ok()) {
            Some(next) => days.push(next),
            None => break,
        }
    }
    days.chunks(7).map(<[Date]>::to_vec).collect()
}

/// Short and full weekday names, Monday first.
const WEEKDAYS: [(&str, &str); 7] = [
    ("Mon", "Monday"),
    ("Tue", "Tuesday"),
    ("Wed", "Wednesday"),
    ("Thu", "Thursday"),
    ("Fri", "Friday"),
    ("Sat", "Saturday"),
    ("Sun", "Sunday"),
];

/// Dates as people read them, with no day/month ambiguity: "Mon 2 Mar 2026".
fn human_date(date: Date) -> String {
    HumanDate(date).to_string()
}

/// The values a month page writes hundreds of times (dates, names, ids) are written by askama
/// as [`askama::FastWritable`]: with `Display` alone, each went through `write!` and the
/// formatting machinery, 326 times a page. Each type writes itself the same way for both.
macro_rules! written_straight {
    ($($kind:ty),*) => {$(
        impl fmt::Display for $kind {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.write_to(f)
            }
        }

        impl askama::FastWritable for $kind {
            fn write_into<W: fmt::Write + ?Sized>(
                &self,
                dest: &mut W,
                _: &dyn askama::Values,
            ) -> askama::Result<()> {
                Ok(self.write_to(dest)?)
            }
        }
    )*};
}

written_straight!(HumanDate, IsoDate, EscapedName, ShownId);

/// A date as people read it ("Mon 2 Mar 2026"), written straight into the page. A month page
/// with 50 bookings shows 142 dates (the list's 100 twice): a `String` formatted for each (with
/// `format!`, and strftime before that) took 139k of its 1,029k instructions (callgrind).
#[derive(Clone, Copy)]
struct HumanDate(Date);

impl HumanDate {
    fn write_to<W: fmt::Write + ?Sized>(&self, out: &mut W) -> fmt::Result {
        // With their spaces, so that a date is four writes: each write into the page costs
        // about as much as putting the date together.
        const DAY_NAMES: [&str; 7] = ["Mon ", "Tue ", "Wed ", "Thu ", "Fri ", "Sat ", "Sun "];
        const MONTH_NAMES: [&str; 12] = [
            " Jan ", " Feb ", " Mar ", " Apr ", " May ", " Jun ", " Jul ", " Aug ", " Sep ",
            " Oct ", " Nov ", " Dec ",
        ];
        let date = self.0;
        let weekday =
            DAY_NAMES[usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0)];
        let month = MONTH_NAMES[usize::try_from(date.month() - 1).unwrap_or(0)];
        let mut number = itoa::Buffer::new();
        out.write_str(weekday)?;
        out.write_str(number.format(date.day()))?;
        out.write_str(month)?;
        out.write_str(number.format(date.year()))
    }
}

/// Letters, digits and spaces: nothing the page needs to escape.
impl askama::filters::HtmlSafe for HumanDate {}

/// A date as ISO 8601 writes it ("2026-03-02"), for the page's `datetime` and `data-date`
/// attributes (84 of them on a month page).
#[derive(Clone, Copy)]
struct IsoDate(Date);

impl IsoDate {
    fn write_to<W: fmt::Write + ?Sized>(&self, out: &mut W) -> fmt::Result {
        // Three writes of ready-made text for years of four digits, which are all a month
        // page shows (1899 to 3000); jiff's printer for the others.
        const MONTHS: [&str; 12] = [
            "-01-", "-02-", "-03-", "-04-", "-05-", "-06-", "-07-", "-08-", "-09-", "-10-", "-11-",
            "-12-",
        ];
        const DAYS: [&str; 32] = [
            "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13",
            "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27",
            "28", "29", "30", "31",
        ];
        let date = self.0;
        if !(1000..=9999).contains(&date.year()) {
            return write!(out, "{date}");
        }
        let month = usize::try_from(date.month() - 1).unwrap_or(0);
        let day = usize::try_from(date.day()).unwrap_or(0);
        out.write_str(itoa::Buffer::new().format(date.year()))?;
        out.write_str(MONTHS[month])?;
        out.write_str(DAYS[day])
    }
}

/// Digits and '-' (and a sign for years before 0): nothing the page needs to escape.
impl askama::filters::HtmlSafe for IsoDate {}

/// A person's name escaped for HTML once, for the page to write as often as it shows it: in a
/// chip on each day of the booking (twice) and in the list (twice). Escaped each time, the
/// names took 60k of a month page's 738k instructions (callgrind, 50 bookings).
struct EscapedName(String);

impl EscapedName {
    fn new(name: &str) -> Self {
        use askama::filters::Escaper;
        let mut escaped = String::with_capacity(name.len() + 8);
        // Writing into a `String` does not fail.
        let _ = askama::filters::Html.write_escaped_str(&mut escaped, name);
        Self(escaped)
    }

    fn write_to<W: fmt::Write + ?Sized>(&self, out: &mut W) -> fmt::Result {
        out.write_str(&self.0)
    }
}

/// Escaped already.
impl askama::filters::HtmlSafe for EscapedName {}

/// A booking's id in the page's links, written from a buffer on the stack rather than a
/// `String` each.
#[derive(Clone, Copy)]
struct ShownId(BookingId);

impl ShownId {
    fn write_to<W: fmt::Write + ?Sized>(&self, out: &mut W) -> fmt::Result {
        out.write_str(self.0.encode(&mut [0; BookingId::LEN]))
    }
}

/// Crockford base 32: letters and digits.
impl askama::filters::HtmlSafe for ShownId {}

/// Error messages start in lower case to read well inside other text; on their own they are
/// sentences.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!(
            "{}{}.",
            first.to_uppercase(),
            chars.as_str().trim_end_matches('.')
        ),
        None => String::new(),
    }
}

/// A page that could not be shown: a small HTML page with the status and the message.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    pub(super) fn new(status: StatusCode, message: String) -> Self {
        Self { status, message }
    }
}

impl From<Error> for PageError {
    fn from(err: Error) -> Self {
        err.log();
        Self {
            status: err.status(),
            message: err.detail(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorView<'a> {
    title: &'a str,
    message: &'a str,
    assets: &'static AssetUrls,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let html = ErrorView {
            title,
            message: &sentence(&self.message),
            assets: assets::urls(),
        }
        .render()
        .unwrap_or_default();
        let response = html_page(self.status, html);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            return retry_later(response);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_starts_on_monday_and_covers_the_month() {
        for text in ["2026-02", "2026-03", "2027-08", "2021-02"] {
            let month: Month = text.parse().unwrap();
            let weeks = grid_weeks(month);
            assert!(weeks.iter().all(|w| w.len() == 7));
            assert_eq!(weeks[0][0].weekday(), Weekday::Monday);
            let all: Vec<Date> = weeks.concat();
            assert!(month.days().iter_days().all(|d| all.contains(&d)), "{text}");
            assert!(all.windows(2).all(|w| w[0].tomorrow().unwrap() == w[1]));
        }
        // February 2021 starts on a Monday and has exactly four weeks.
        assert_eq!(grid_weeks("2021-02".parse().unwrap()).len(), 4);
    }

    /// Each day of the month shows who is away on it, in the order of the bookings; days of
    /// other months show no one.
    #[test]
    fn each_day_shows_the_people_away_on_it() {
        let month: Month = "2026-03".parse().unwrap();
        let bookings = [
            ("Ada", "2026-02-20", "2026-03-02"),
            ("Grace", "2026-03-05", "2026-03-05"),
            ("Ada", "2026-03-04", "2026-03-06"),
            ("Kim", "2026-03-30", "2026-04-03"),
            ("Lin", "2026-03-01", "2026-03-31"),
        ]
        .map(|(name, first, last)| Booking::parse(name, first, last).unwrap());
        let names: Vec<EscapedName> = bookings
            .iter()
            .map(|b| EscapedName::new(b.user_name.as_str()))
            .collect();
        let view = CalendarView::new(
            month,
            &bookings,
            &names,
            false,
            BookingForm::default(),
            None,
            None,
        );
        for cell in view.weeks.iter().flatten() {
            let date = cell.date.0;
            let away: Vec<&str> = bookings
                .iter()
                .filter(|b| Month::containing(date) == month && b.days.contains(date))
                .map(|b| b.user_name.as_str())
                .collect();
            let shown: Vec<&str> = cell.people.iter().map(|p| p.name.0.as_str()).collect();
            assert_eq!(shown, away, "{date}");
        }
    }

    #[test]
    fn refusals_speak_the_form_s_words_and_name_the_field() {
        let refusal = |name: &str, from: &str, to: &str| {
            let invalid = Booking::parse(name, from, to).unwrap_err();
            let refusal = Refusal::invalid(&invalid);
            assert_eq!(refusal.status, StatusCode::UNPROCESSABLE_ENTITY);
            (refusal.message.to_string(), refusal.fields.concat())
        };
        let cases = [
            (
                ("", "2026-03-01", "2026-03-02"),
                ("Please enter a name.", "user_name"),
            ),
            (
                ("Zoe\u{308}\u{308}", "2026-03-01", "2026-03-02"),
                (
                    "The name must not stack more than 4 accents or other marks on one letter, or one mark twice.",
                    "user_name",
                ),
            ),
            (
                ("Ada", "1 March", "2026-03-02"),
                (
                    "The first day must be a date written YYYY-MM-DD, got '1 March'.",
                    "from_date",
                ),
            ),
            (
                ("Ada", "2026-03-01", "2026-02-30"),
                ("The last day (2026-02-30) is not a real date.", "to_date"),
            ),
            (
                ("Ada", "2026-03-01", "3000-01-01"),
                (
                    "The last day must be between 1900-01-01 and 2999-12-31, got '3000-01-01'.",
                    "to_date",
                ),
            ),
            (
                ("Ada", "2026-03-05", "2026-03-01"),
                (
                    "The last day (Sun 1 Mar 2026) is before the first day (Thu 5 Mar 2026).",
                    "to_date",
                ),
            ),
            (
                ("Ada", "2026-01-01", "2026-12-31"),
                (
                    "A booking covers at most 90 days; this one covers 365.",
                    "to_date",
                ),
            ),
        ];
        for ((name, from, to), (message, field)) in cases {
            assert_eq!(
                refusal(name, from, to),
                (message.to_owned(), field.to_owned()),
                "{name} {from} {to}"
            );
        }
    }

    /// A form wrong in several fields is told about each of them at once, and each is marked;
    /// the days' range only once both are dates.
    #[test]
    fn every_field_at_fault_is_told_at_once() {
        let all = |user_name: &str, from_date: &str, to_date: &str| {
            let problems = Booking::parse_all(user_name, from_date, to_date).err()?;
            let refusal = Refusal::all_invalid(&problems);
            Some((refusal.message.to_string(), refusal.fields))
        };
        assert_eq!(
            all("", "", ""),
            Some((
                "Please enter a name. Please enter the first day. Please enter the last day."
                    .to_owned(),
                vec!["user_name", "from_date", "to_date"]
            ))
        );
        assert_eq!(
            all("Ada\u{7}", "2026-03-05", "2026-03-01"),
            Some((
                "The name must not contain control characters. The last day (Sun 1 Mar 2026) \
                 is before the first day (Thu 5 Mar 2026)."
                    .to_owned(),
                vec!["user_name", "to_date"]
            ))
        );
        assert_eq!(
            all("Ada", "2026-02-30", "1 March"),
            Some((
                "The first day (2026-02-30) is not a real date. The last day must be a date \
                 written YYYY-MM-DD, got '1 March'."
                    .to_owned(),
                vec!["from_date", "to_date"]
            ))
        );
        assert_eq!(all("Ada", "2026-03-01", "2026-03-02"), None);
    }

    /// Every day of 2024, a leap year.
    fn days_of_2024() -> impl Iterator<Item = Date> {
        DateRange::listing(
            jiff::civil::date(2024, 1, 1),
            jiff::civil::date(2024, 12, 31),
        )
        .unwrap()
        .iter_days()
    }

    #[test]
    fn the_page_limit_is_written_as_it_is() {
        assert_eq!(
            MONTH_PAGE_LIMIT_TEXT.replace(',', ""),
            MONTH_PAGE_LIMIT.to_string()
        );
    }

    #[test]
    fn human_dates_match_the_strftime_format() {
        for day in days_of_2024() {
            assert_eq!(human_date(day), day.strftime("%a %-d %b %Y").to_string());
        }
    }

    #[test]
    fn iso_dates_are_jiff_s() {
        let edges = [
            (0, 1, 1),
            (999, 12, 31),
            (1899, 12, 25),
            (9999, 12, 31),
            (-1, 6, 15),
        ];
        let edges = edges.map(|(y, m, d)| jiff::civil::date(y, m, d));
        for day in days_of_2024().chain(edges) {
            assert_eq!(IsoDate(day).to_string(), day.to_string());
        }
    }

    #[test]
    fn names_are_escaped_once_as_askama_escapes() {
        for name in [r#"<b>"Zoë" & O'Neil</b>"#, "ليلى <3", "Ada"] {
            let escaped = EscapedName::new(name).to_string();
            let askama = askama::filters::escape(name, askama::filters::Html)
                .unwrap()
                .to_string();
            assert_eq!(escaped, askama, "{name}");
        }
        assert_eq!(EscapedName::new("<3").to_string(), "&#60;3");
    }

    #[test]
    fn ids_are_their_text() {
        let id = BookingId::generate();
        let mut buffer = [0; BookingId::LEN];
        assert_eq!(ShownId(id).to_string(), id.encode(&mut buffer));
        assert_eq!(id.to_string().parse::<BookingId>().unwrap(), id);
    }

    #[test]
    fn dates_read_unambiguously() {
        assert_eq!(human_date(jiff::civil::date(2026, 3, 2)), "Mon 2 Mar 2026");
        // The first and the last day a month page can show.
        assert_eq!(
            human_date(jiff::civil::date(1899, 12, 25)),
            "Mon 25 Dec 1899"
        );
        assert_eq!(human_date(jiff::civil::date(3000, 1, 5)), "Sun 5 Jan 3000");
    }
}
