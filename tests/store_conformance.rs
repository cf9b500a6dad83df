//! One conformance suite, run unchanged against every storage backend: the embedded store and
//! DynamoDB (moto's emulator on 127.0.0.1).

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

use jiff::civil::Date;
use leave_calendar::domain::IdempotencyKey;
use leave_calendar::domain::{Booking, BookingId, DateRange, Month, PersonName, parse_date};
use leave_calendar::store::dynamo::DynamoStore;
use leave_calendar::store::{Created, Cursor, Error, LeaveStore, ListQuery, Page};
use support::fault_proxy::{Fault, FaultProxy};

/// Creates without an idempotency key, the common case.
trait CreateNew {
    async fn create_new(&self, booking: &Booking) -> Result<(), Error>;
}

impl CreateNew for Arc<dyn LeaveStore> {
    async fn create_new(&self, booking: &Booking) -> Result<(), Error> {
        match self.create(booking, None).await? {
            Created::New => Ok(()),
            Created::Replayed(b) => panic!("replayed {b:?} without an idempotency key"),
        }
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let store = crate::support::embedded_store();
                    crate::$case(store.store.clone()).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let store = crate::support::dynamo_store().await;
                    crate::$case(store.store.clone()).await;
                }
            )*
        }
    };
}

conformance!(
    created_booking_reads_back,
    unknown_ids_are_not_found,
    delete_removes_everything_and_frees_the_days,
    overlap_with_the_same_person_is_refused,
    concurrent_overlapping_bookings_store_exactly_one,
    concurrent_writes_each_get_their_own_answer,
    empty_month_lists_nothing,
    spanning_bookings_appear_in_every_month_they_touch,
    pagination_loses_and_repeats_nothing,
    a_cursor_from_another_listing_is_no_error,
    listings_match_a_naive_model,
    person_listing_is_case_insensitive,
    ping_answers,
    repeating_a_create_stores_one_booking,
    idempotency_keys_replay_the_first_booking,
    idempotency_keys_refuse_another_request,
    concurrent_retries_with_one_key_store_one_booking,
);

fn day(text: &str) -> Date {
    parse_date("day", text).unwrap()
}

fn booking(name: &str, first: &str, last: &str) -> Booking {
    Booking::new(
        PersonName::parse(name).unwrap(),
        DateRange::booking(day(first), day(last)).unwrap(),
    )
}

fn month(text: &str) -> DateRange {
    text.parse::<Month>().unwrap().days()
}

fn query(range: DateRange, limit: usize) -> ListQuery {
    ListQuery {
        range,
        person: None,
        limit,
        after: None,
    }
}

async fn list_all(store: &dyn LeaveStore, mut q: ListQuery) -> Vec<Booking> {
    let mut all = Vec::new();
    for _ in 0..1000 {
        let Page { items, next } = store.list(&q).await.unwrap();
        assert!(items.len() <= q.limit, "a page holds at most `limit` items");
        all.extend(items);
        match next {
            Some(cursor) => q.after = Some(cursor),
            None => return all,
        }
    }
    panic!("pagination did not end");
}

fn ids(bookings: &[Booking]) -> Vec<BookingId> {
    bookings.iter().map(|b| b.id).collect()
}

async fn created_booking_reads_back(store: Arc<dyn LeaveStore>) {
    let b = booking("Ada Lovelace", "2026-03-02", "2026-03-06");
    store.create_new(&b).await.unwrap();
    assert_eq!(store.get(b.id).await.unwrap(), b);
}

async fn unknown_ids_are_not_found(store: Arc<dyn LeaveStore>) {
    let unknown = BookingId::generate();
    assert!(matches!(store.get(unknown).await, Err(Error::NotFound)));
    assert!(matches!(store.delete(unknown).await, Err(Error::NotFound)));
}

async fn delete_removes_everything_and_frees_the_days(store: Arc<dyn LeaveStore>) {
    let b = booking("Grace", "2026-01-30", "2026-02-03");
    store.create_new(&b).await.unwrap();
    store.delete(b.id).await.unwrap();
    assert!(matches!(store.get(b.id).await, Err(Error::NotFound)));
    assert!(
        matches!(store.delete(b.id).await, Err(Error::NotFound)),
        "a second delete finds nothing"
    );
    for m in ["2026-01", "2026-02"] {
        assert!(
            store
                .list(&query(month(m), 10))
                .await
                .unwrap()
                .items
                .is_empty(),
            "{m} still lists it"
        );
    }
    let person = ListQuery {
        person: Some(PersonName::parse("grace").unwrap()),
        ..query(month("2026-02"), 10)
    };
    assert!(store.list(&person).await.unwrap().items.is_empty());
    // The same days can be booked again.
    store
        .create_new(&booking("grace", "2026-01-30", "2026-02-03"))
        .await
        .unwrap();
}

async fn overlap_with_the_same_person_is_refused(store: Arc<dyn LeaveStore>) {
    store
        .create_new(&booking("Alice", "2026-03-10", "2026-03-12"))
        .await
        .unwrap();
    for (first, last, shared) in [
        ("2026-03-12", "2026-03-20", "2026-03-12"),
        ("2026-03-01", "2026-03-10", "2026-03-10"),
        ("2026-03-11", "2026-03-11", "2026-03-11"),
        ("2026-02-20", "2026-04-20", "2026-03-10"),
    ] {
        let refused = store.create_new(&booking("  aLiCe ", first, last)).await;
        match refused {
            Err(Error::Conflict { first_day }) => {
                assert_eq!(first_day, day(shared), "{first}..{last}")
            }
            other => panic!("{first}..{last}: expected a conflict, got {other:?}"),
        }
    }
    // One name typed with a composed "ë" and with "e" and a combining diaeresis: one person.
    store
        .create_new(&booking("Zo\u{eb}", "2026-05-04", "2026-05-05"))
        .await
        .unwrap();
    let decomposed = store
        .create_new(&booking("ZOE\u{308}", "2026-05-05", "2026-05-06"))
        .await;
    assert!(
        matches!(decomposed, Err(Error::Conflict { .. })),
        "{decomposed:?}"
    );
    // Case is folded, not only lowercased: "STRASSE" is "Straße".
    store
        .create_new(&booking("Jo Straße", "2026-05-04", "2026-05-05"))
        .await
        .unwrap();
    let folded = store
        .create_new(&booking("JO STRASSE", "2026-05-05", "2026-05-06"))
        .await;
    assert!(matches!(folded, Err(Error::Conflict { .. })), "{folded:?}");
    // Spaces look alike on a page: two of them, or a no-break space, are one space.
    store
        .create_new(&booking("Ann Lee", "2026-05-04", "2026-05-05"))
        .await
        .unwrap();
    for look_alike in ["ann  lee", "Ann\u{A0}Lee", "Ann\u{3000} Lee"] {
        let spaced = store
            .create_new(&booking(look_alike, "2026-05-05", "2026-05-06"))
            .await;
        assert!(
            matches!(spaced, Err(Error::Conflict { .. })),
            "{look_alike:?}: {spaced:?}"
        );
    }
    // Adjacent days and other people are fine.
    store
        .create_new(&booking("alice", "2026-03-13", "2026-03-13"))
        .await
        .unwrap();
    store
        .create_new(&booking("alice", "2026-03-09", "2026-03-09"))
        .await
        .unwrap();
    store
        .create_new(&booking("Bob", "2026-03-10", "2026-03-12"))
        .await
        .unwrap();
    // A refused booking stored nothing.
    let listed = list_all(&*store, query(month("2026-03"), 50)).await;
    assert_eq!(listed.len(), 4);
}

async fn concurrent_overlapping_bookings_store_exactly_one(store: Arc<dyn LeaveStore>) {
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&store);
            // All share 2026-05-15; the names differ only in case and spacing.
            let b = booking(
                if i % 2 == 0 { "Dana" } else { " dana" },
                &format!("2026-05-{:02}", 1 + i % 14),
                "2026-05-15",
            );
            tokio::spawn(async move { store.create_new(&b).await })
        })
        .collect();
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(()) => created += 1,
            Err(Error::Conflict { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(
        list_all(&*store, query(month("2026-05"), 50)).await.len(),
        1
    );
}

/// Creates and deletes of many people at once, some refused: a refusal or a missing booking
/// affects only its own write (the embedded store commits concurrent writes together).
async fn concurrent_writes_each_get_their_own_answer(store: Arc<dyn LeaveStore>) {
    let leaving: Vec<Booking> = (0..8)
        .map(|i| booking(&format!("Leaver {i}"), "2026-07-20", "2026-07-21"))
        .collect();
    for b in &leaving {
        store.create_new(b).await.unwrap();
    }
    // Each person asks for two overlapping bookings and one apart from them.
    let wanted: Vec<[Booking; 3]> = (0..8)
        .map(|i| {
            let name = format!("Person {i}");
            [
                booking(&name, "2026-07-01", "2026-07-03"),
                booking(&name, "2026-07-03", "2026-07-05"),
                booking(&name, "2026-07-10", "2026-07-11"),
            ]
        })
        .collect();
    let mut creates = Vec::new();
    for b in wanted.iter().flatten() {
        let (store, b) = (Arc::clone(&store), b.clone());
        creates.push(tokio::spawn(async move { store.create_new(&b).await }));
    }
    let mut deletes = Vec::new();
    for id in leaving.iter().map(|b| b.id).chain([BookingId::generate()]) {
        let store = Arc::clone(&store);
        deletes.push(tokio::spawn(async move { store.delete(id).await }));
    }

    let mut answers = Vec::new();
    for create in creates {
        answers.push(create.await.unwrap());
    }
    let mut expected = HashSet::new();
    for (person, answers) in wanted.iter().zip(answers.chunks(3)) {
        match answers {
            [Ok(()), Err(Error::Conflict { .. }), Ok(())] => expected.insert(person[0].id),
            [Err(Error::Conflict { .. }), Ok(()), Ok(())] => expected.insert(person[1].id),
            other => panic!("{}: {other:?}", person[0].user_name),
        };
        expected.insert(person[2].id);
    }
    let mut deleted = Vec::new();
    for delete in deletes {
        deleted.push(delete.await.unwrap());
    }
    let (unknown, known) = deleted.split_last().unwrap();
    assert!(known.iter().all(Result::is_ok), "{known:?}");
    assert!(matches!(unknown, Err(Error::NotFound)), "{unknown:?}");

    let listed = list_all(&*store, query(month("2026-07"), 100)).await;
    assert_eq!(ids(&listed).into_iter().collect::<HashSet<_>>(), expected);
    assert_eq!(listed.len(), expected.len());
}

async fn empty_month_lists_nothing(store: Arc<dyn LeaveStore>) {
    store
        .create_new(&booking("Eve", "2026-06-01", "2026-06-02"))
        .await
        .unwrap();
    let page = store.list(&query(month("2026-07"), 10)).await.unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
}

async fn spanning_bookings_appear_in_every_month_they_touch(store: Arc<dyn LeaveStore>) {
    let span = booking("Finn", "2026-11-20", "2027-01-05");
    store.create_new(&span).await.unwrap();
    for m in ["2026-11", "2026-12", "2027-01"] {
        assert_eq!(
            ids(&list_all(&*store, query(month(m), 10)).await),
            [span.id],
            "{m}"
        );
    }
    for m in ["2026-10", "2027-02"] {
        assert!(
            list_all(&*store, query(month(m), 10)).await.is_empty(),
            "{m}"
        );
    }
    let whole = DateRange::listing(day("2026-10-01"), day("2027-03-01")).unwrap();
    assert_eq!(
        ids(&list_all(&*store, query(whole, 1)).await),
        [span.id],
        "listed once over several months"
    );
}

/// Creates `booking`, which the store must refuse as a conflict exactly when it overlaps one of
/// the same person's in `stored`, and adds it there when stored.
async fn store_as_the_model_says(
    store: &Arc<dyn LeaveStore>,
    stored: &mut Vec<Booking>,
    booking: Booking,
) {
    let clash = stored.iter().any(|b| b.conflicts_with(&booking));
    match store.create_new(&booking).await {
        Ok(_) if !clash => stored.push(booking),
        Err(Error::Conflict { .. }) if clash => {}
        answer => panic!("{booking:?} (overlapping a stored one: {clash}): {answer:?}"),
    }
}

/// 30 bookings over three months, read in pages of 4: every booking once, in order.
async fn pagination_loses_and_repeats_nothing(store: Arc<dyn LeaveStore>) {
    let mut expected = Vec::new();
    for i in 0..30u32 {
        let first = day("2026-08-25")
            .checked_add(jiff::Span::new().days(i64::from(i * 2)))
            .unwrap();
        let last = first
            .checked_add(jiff::Span::new().days(i64::from(i % 5)))
            .unwrap();
        let b = Booking::new(
            PersonName::parse(&format!("P{}", i % 7)).unwrap(),
            DateRange::booking(first, last).unwrap(),
        );
        store_as_the_model_says(&store, &mut expected, b).await;
    }
    assert!(expected.len() >= 20, "most bookings are for free days");
    expected.sort_by_key(|b| (b.days.first(), b.id));
    let range = DateRange::listing(day("2026-08-01"), day("2026-11-30")).unwrap();
    let paged = list_all(&*store, query(range, 4)).await;
    assert_eq!(ids(&paged), ids(&expected));
    let unique: HashSet<_> = ids(&paged).into_iter().collect();
    assert_eq!(unique.len(), paged.len());
}

/// A cursor positioned after the end of the listing it is given to (it came from a later
/// month): an empty last page on both backends, not an error.
async fn a_cursor_from_another_listing_is_no_error(store: Arc<dyn LeaveStore>) {
    for (name, first) in [("Gus", "2026-05-04"), ("Hana", "2026-05-11")] {
        store
            .create_new(&booking(name, first, first))
            .await
            .unwrap();
    }
    let may = store.list(&query(month("2026-05"), 1)).await.unwrap();
    let cursor = may.next.expect("a second page in May");
    for person in [None, Some("Gus")] {
        let mut march = query(month("2026-03"), 10);
        march.person = person.map(|p| PersonName::parse(p).unwrap());
        march.after = Some(cursor);
        let page = store.list(&march).await.unwrap();
        assert!(page.items.is_empty() && page.next.is_none(), "{person:?}");
    }
}

/// Many ranges, people and page sizes, compared with a plain filter over every booking.
async fn listings_match_a_naive_model(store: Arc<dyn LeaveStore>) {
    let mut rng = 0x2545_f491_u64;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let base = day("2026-01-01");
    let mut stored = Vec::new();
    for _ in 0..40 {
        let first = base
            .checked_add(jiff::Span::new().days(next(200) as i64))
            .unwrap();
        let last = first
            .checked_add(jiff::Span::new().days(next(45) as i64))
            .unwrap();
        let b = Booking::new(
            PersonName::parse(["Kai", "Lin", "Mo", "Noor"][next(4) as usize]).unwrap(),
            DateRange::booking(first, last).unwrap(),
        );
        store_as_the_model_says(&store, &mut stored, b).await;
    }
    // The seed stores 18 of the 40 and refuses the others as overlaps.
    assert!(stored.len() >= 15, "only {} stored", stored.len());
    for _ in 0..12 {
        let first = base
            .checked_add(jiff::Span::new().days(next(220) as i64 - 10))
            .unwrap();
        let last = first
            .checked_add(jiff::Span::new().days(next(120) as i64))
            .unwrap();
        let range = DateRange::listing(first, last).unwrap();
        let person = (next(3) == 0)
            .then(|| PersonName::parse(["kai", "LIN", "mo", "noor"][next(4) as usize]).unwrap());
        let mut expected: Vec<&Booking> = stored
            .iter()
            .filter(|b| {
                b.days.overlaps(range)
                    && person.as_ref().is_none_or(|p| p.key() == b.user_name.key())
            })
            .collect();
        expected.sort_by_key(|b| (b.days.first(), b.id));
        let q = ListQuery {
            range,
            person: person.clone(),
            limit: 1 + next(6) as usize,
            after: None,
        };
        let listed = list_all(&*store, q).await;
        assert_eq!(
            ids(&listed),
            expected.iter().map(|b| b.id).collect::<Vec<_>>(),
            "{range:?} {person:?}"
        );
    }
}

async fn person_listing_is_case_insensitive(store: Arc<dyn LeaveStore>) {
    let mine = booking("Zoë Smith", "2026-09-01", "2026-09-03");
    store.create_new(&mine).await.unwrap();
    store
        .create_new(&booking("Zoe Smith", "2026-09-01", "2026-09-03"))
        .await
        .unwrap();
    let q = ListQuery {
        person: Some(PersonName::parse("ZOË SMITH ").unwrap()),
        ..query(month("2026-09"), 10)
    };
    assert_eq!(ids(&store.list(&q).await.unwrap().items), [mine.id]);
}

async fn ping_answers(store: Arc<dyn LeaveStore>) {
    store.ping().await.unwrap();
}

/// A write that committed but whose answer was lost is sent again: it stores one booking.
async fn repeating_a_create_stores_one_booking(store: Arc<dyn LeaveStore>) {
    let b = booking("Hana", "2026-10-05", "2026-10-09");
    assert_eq!(store.create(&b, None).await.unwrap(), Created::New);
    assert_eq!(store.create(&b, None).await.unwrap(), Created::New);
    assert_eq!(
        ids(&list_all(&*store, query(month("2026-10"), 10)).await),
        [b.id]
    );
}

async fn idempotency_keys_replay_the_first_booking(store: Arc<dyn LeaveStore>) {
    let key = IdempotencyKey::parse("7f9c2ba4-e88f-4a2b-9d1e-3c0e2f1a5b6d").unwrap();
    let first = booking("Ivo", "2026-10-12", "2026-10-14");
    assert_eq!(
        store.create(&first, Some(&key)).await.unwrap(),
        Created::New
    );
    // The client retries: a new request, so a new id, with the same key and the same fields.
    let retry = booking(" ivo", "2026-10-12", "2026-10-14");
    assert_eq!(
        store.create(&retry, Some(&key)).await.unwrap(),
        Created::Replayed(first.clone())
    );
    assert_eq!(
        ids(&list_all(&*store, query(month("2026-10"), 10)).await),
        [first.id]
    );
    // Another key books as usual (and so is refused here: same person, same days).
    let other = IdempotencyKey::parse("another-key").unwrap();
    assert!(matches!(
        store.create(&retry, Some(&other)).await,
        Err(Error::Conflict { .. })
    ));
}

async fn idempotency_keys_refuse_another_request(store: Arc<dyn LeaveStore>) {
    let key = IdempotencyKey::parse("key-1").unwrap();
    let first = booking("Jo", "2026-10-20", "2026-10-21");
    store.create(&first, Some(&key)).await.unwrap();
    let different = booking("Jo", "2026-10-22", "2026-10-23");
    assert!(matches!(
        store.create(&different, Some(&key)).await,
        Err(Error::KeyReused(_))
    ));
    store.delete(first.id).await.unwrap();
    let again = booking("Jo", "2026-10-20", "2026-10-21");
    assert!(
        matches!(
            store.create(&again, Some(&key)).await,
            Err(Error::KeyReused(_))
        ),
        "the key's booking was deleted"
    );
    assert!(
        list_all(&*store, query(month("2026-10"), 10))
            .await
            .is_empty(),
        "a refused create stores nothing"
    );
}

/// A client that retries before its first attempt was answered: the attempts race with one
/// key. One stores the booking; every other is answered with it; none is refused.
async fn concurrent_retries_with_one_key_store_one_booking(store: Arc<dyn LeaveStore>) {
    let key = IdempotencyKey::parse("retried-while-in-flight").unwrap();
    let attempts: Vec<Booking> = (0..8)
        .map(|_| booking("Kai", "2026-11-02", "2026-11-06"))
        .collect();
    let tasks: Vec<_> = attempts
        .iter()
        .map(|b| {
            let (store, b, key) = (Arc::clone(&store), b.clone(), key.clone());
            tokio::spawn(async move { store.create(&b, Some(&key)).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap().unwrap());
    }

    let stored = list_all(&*store, query(month("2026-11"), 10)).await;
    assert_eq!(stored.len(), 1, "{answers:?}");
    let winner = &stored[0];
    for (attempt, answer) in attempts.iter().zip(&answers) {
        let expected = if attempt.id == winner.id {
            Created::New
        } else {
            Created::Replayed(winner.clone())
        };
        assert_eq!(*answer, expected);
    }
}

/// A booking stored by an earlier release is kept under the key of then: "straße" before person
/// keys folded case ("strasse" now), "zoe\u{308}" for a name stored with a combining diaeresis
/// before names were composed ("zoë" now). Deleting it removes its entries there, and leaves the
/// days of a later booking of the same person, stored under today's key, guarded.
#[tokio::test]
async fn dynamodb_deletes_a_booking_stored_under_the_key_of_before() {
    for (name_then, key_then, later_name) in [
        ("Straße", "straße", "STRASSE"),
        ("Zoe\u{308}", "zoe\u{308}", "ZO\u{CB}"),
    ] {
        deletes_a_booking_stored_under_the_key_of_before(name_then, key_then, later_name).await;
    }
}

async fn deletes_a_booking_stored_under_the_key_of_before(
    name_then: &str,
    key_then: &str,
    later_name: &str,
) {
    let (store, table) = dynamo_store_and_table().await;
    let earlier = booking(name_then, "2026-12-07", "2026-12-08");
    store.create_new(&earlier).await.unwrap();
    let key = earlier.user_name.key();
    assert_ne!(key, key_then);
    // Its items hold the name as it was typed, and its person entry and days item are where
    // the store wrote them then.
    let person_entry = format!("BOOKING#{}", Cursor::after(&earlier).sort_key());
    let sdk = support::moto::sdk_client();
    let days = (format!("PERSON#{key}"), "DAYS#2026-12".to_owned());
    for (pk, sk) in booking_items(&earlier).into_iter().chain([days]) {
        let pk_then = pk
            .starts_with("PERSON#")
            .then(|| format!("PERSON#{key_then}"));
        write_as_then(&sdk, &table, (&pk, &sk), name_then, pk_then).await;
    }
    assert_eq!(
        store.get(earlier.id).await.unwrap(),
        earlier,
        "read as it shows"
    );
    // Not seen under today's key, the earlier booking does not stop the same days again.
    let later = booking(later_name, "2026-12-07", "2026-12-08");
    store.create_new(&later).await.unwrap();

    store.delete(earlier.id).await.unwrap();

    let overlapping = store
        .create_new(&booking(later_name, "2026-12-08", "2026-12-09"))
        .await;
    assert!(
        matches!(overlapping, Err(Error::Conflict { .. })),
        "{name_then}: the later booking's days are still guarded: {overlapping:?}"
    );
    let before = format!("PERSON#{key_then}");
    let entry = raw_item(&sdk, &table, &before, &person_entry).await;
    assert!(entry.is_none(), "{name_then}: its person entry is deleted");
    let days = raw_item(&sdk, &table, &before, "DAYS#2026-12").await;
    assert!(
        days.is_none_or(|item| !item.contains_key("days")),
        "{name_then}: its days are taken from the days item it was stored with"
    );
}

/// Items written before a booking's fields had attributes of their own hold only `to_date` and
/// `booking`, the booking's JSON. They read, list (alone and among items of today) and delete as
/// before. The items written now hold that JSON too, which the version before reads while both
/// run during a rolling deploy.
#[tokio::test]
async fn dynamodb_reads_items_that_hold_only_the_bookings_json() {
    let (store, table) = dynamo_store_and_table().await;
    // A name JSON escapes, and two months.
    let written = booking(r#"Zoë "Z" O'Neil\"#, "2026-12-28", "2027-01-02");
    store.create_new(&written).await.unwrap();
    let sdk = support::moto::sdk_client();
    for (pk, sk) in &booking_items(&written) {
        let item = raw_item(&sdk, &table, pk, sk)
            .await
            .unwrap_or_else(|| panic!("{pk} {sk}"));
        let json: serde_json::Value =
            serde_json::from_str(item["booking"].as_s().unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": written.id.to_string(),
                "user_name": written.user_name.as_str(),
                "from_date": "2026-12-28",
                "to_date": "2027-01-02",
                "created_at": written.created_at.to_string(),
            }),
            "{pk} {sk}"
        );
        keep_only_the_json(&sdk, &table, (pk, sk)).await;
        let mut left: Vec<String> = raw_item(&sdk, &table, pk, sk)
            .await
            .unwrap()
            .into_keys()
            .collect();
        left.sort();
        assert_eq!(left, ["booking", "pk", "sk", "to_date"], "{pk} {sk}");
    }

    assert_eq!(store.get(written.id).await.unwrap(), written);
    let found = list_all(&*store, query(month("2027-01"), 10)).await;
    assert_eq!(found, std::slice::from_ref(&written));
    // A month with items of both kinds.
    let later = booking("Ada", "2026-12-29", "2026-12-30");
    store.create_new(&later).await.unwrap();
    let found = list_all(&*store, query(month("2026-12"), 10)).await;
    assert_eq!(found, [written.clone(), later.clone()]);
    let found = listed_for(&*store, &written, "2027-01").await;
    assert_eq!(found, std::slice::from_ref(&written));
    store.delete(written.id).await.unwrap();
    let found = list_all(&*store, query(month("2026-12"), 10)).await;
    assert_eq!(ids(&found), [later.id]);
    store
        .create_new(&booking(r#"Zoë "Z" O'Neil\"#, "2026-12-31", "2027-01-01"))
        .await
        .expect("its days are free again");
}

/// Items written before the JSON held the fields alone, under the same names: they read, list
/// and delete as they are.
#[tokio::test]
async fn dynamodb_reads_items_that_hold_only_the_fields() {
    let (store, table) = dynamo_store_and_table().await;
    let written = booking("Kim", "2027-02-01", "2027-02-03");
    store.create_new(&written).await.unwrap();
    let sdk = support::moto::sdk_client();
    for (pk, sk) in &booking_items(&written) {
        remove(&sdk, &table, (pk, sk), "booking").await;
    }

    assert_eq!(store.get(written.id).await.unwrap(), written);
    let found = list_all(&*store, query(month("2027-02"), 10)).await;
    assert_eq!(found, std::slice::from_ref(&written));
    let found = listed_for(&*store, &written, "2027-02").await;
    assert_eq!(found, std::slice::from_ref(&written));
    store.delete(written.id).await.unwrap();
    assert!(matches!(store.get(written.id).await, Err(Error::NotFound)));
}

/// A booking's item that holds another booking is corruption: reading or deleting the booking
/// fails, and the other booking stays as it was.
#[tokio::test]
async fn dynamodb_a_key_holding_another_booking_is_corruption() {
    let (store, table) = dynamo_store_and_table().await;
    let (ada, grace) = (
        booking("Ada", "2027-03-01", "2027-03-02"),
        booking("Grace", "2027-03-04", "2027-03-05"),
    );
    for b in [&ada, &grace] {
        store.create_new(b).await.unwrap();
    }
    support::moto::sdk_client()
        .update_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("BOOKING#{}", ada.id)))
        .key("sk", AttributeValue::S("BOOKING".to_owned()))
        .update_expression("SET id = :other")
        .expression_attribute_values(":other", AttributeValue::S(grace.id.to_string()))
        .send()
        .await
        .unwrap();

    assert!(matches!(store.get(ada.id).await, Err(Error::Internal(_))));
    assert!(matches!(
        store.delete(ada.id).await,
        Err(Error::Internal(_))
    ));
    assert_eq!(store.get(grace.id).await.unwrap(), grace);
    let found = list_all(&*store, query(month("2027-03"), 10)).await;
    assert_eq!(found.len(), 2, "both month entries are still there");
}

/// A month whose answer DynamoDB splits into pages, with items written with the JSON alone on
/// the first two: each such page is asked for again, with the JSON, from the same start key,
/// and the month lists whole, in order, each booking once.
#[tokio::test]
async fn dynamodb_asks_again_for_a_page_of_json_only_items_from_the_same_start_key() {
    let table = support::moto::fresh_table().await;
    let proxy = FaultProxy::start(support::moto::endpoint()).await;
    let client = support::moto::client_for(&proxy.url, Duration::from_secs(10));
    let store: Arc<dyn LeaveStore> = Arc::new(DynamoStore::new(client, table.clone()));
    let written: Vec<Booking> = (0..5)
        .map(|i| {
            let first = format!("2031-03-{:02}", 1 + 3 * i);
            let last = format!("2031-03-{:02}", 2 + 3 * i);
            booking(&format!("Person {i}"), &first, &last)
        })
        .collect();
    for b in &written {
        store.create_new(b).await.unwrap();
    }
    let sdk = support::moto::sdk_client();
    // In pages of two: [0, 1*], [2*, 3], [4]; the second is asked for from a start key.
    for b in &written[1..3] {
        let (pk, sk) = booking_items(b).swap_remove(1);
        assert!(pk.starts_with("MONTH#"), "{pk}");
        keep_only_the_json(&sdk, &table, (&pk, &sk)).await;
    }

    proxy.page_queries(2);
    proxy.keep_bodies();
    let found = list_all(&*store, query(month("2031-03"), 10)).await;
    assert_eq!(found, written);

    let queries = proxy.bodies("Query");
    let asks_for_json = |body: &serde_json::Value| {
        body["ProjectionExpression"]
            .as_str()
            .unwrap()
            .contains("booking")
    };
    let again: Vec<usize> = (0..queries.len())
        .filter(|&i| asks_for_json(&queries[i]))
        .collect();
    assert_eq!(
        again.len(),
        2,
        "the two pages with such items: {queries:#?}"
    );
    assert!(queries.len() >= 5, "three pages, two asked for twice");
    for &i in &again {
        let (before, with_json) = (&queries[i - 1], &queries[i]);
        assert!(!asks_for_json(before), "{before}");
        assert_eq!(
            before.get("ExclusiveStartKey"),
            with_json.get("ExclusiveStartKey"),
            "the same page"
        );
    }
    assert!(
        queries[again[1]].get("ExclusiveStartKey").is_some(),
        "the second page starts from a key"
    );
}

/// The backfill gives the items written with the JSON alone their fields, and only those: a
/// second run finds nothing to do. The name goes into its field as the JSON holds it, here
/// uncomposed as a release before names were composed stored it, so that its entries are
/// still found under the key of then.
#[tokio::test]
async fn dynamodb_backfill_gives_json_only_items_their_fields() {
    let table = support::moto::fresh_table().await;
    let client = support::moto::client_for(support::moto::endpoint(), Duration::from_secs(10));
    let dynamo = Arc::new(DynamoStore::new(client, table.clone()));
    let store: Arc<dyn LeaveStore> = dynamo.clone();
    let old = booking("Zoë \"Z\"", "2027-03-30", "2027-04-02");
    let new = booking("Kim", "2027-03-30", "2027-03-31");
    store.create_new(&old).await.unwrap();
    store.create_new(&new).await.unwrap();
    let sdk = support::moto::sdk_client();
    for (pk, sk) in &booking_items(&old) {
        keep_only_the_json(&sdk, &table, (pk, sk)).await;
        write_as_then(&sdk, &table, (pk, sk), "Zoe\u{308} \"Z\"", None).await;
    }

    let done = dynamo.backfill_fields(no_unreadable).await.unwrap();
    assert_eq!(
        (done.updated, done.skipped),
        (4, 0),
        "the booking, 2 months, the person"
    );
    for (pk, sk) in &booking_items(&old) {
        let item = raw_item(&sdk, &table, pk, sk).await.unwrap();
        let kept: serde_json::Value =
            serde_json::from_str(item["booking"].as_s().unwrap()).unwrap();
        for name in ["id", "user_name", "from_date", "to_date", "created_at"] {
            assert_eq!(
                item[name].as_s().unwrap(),
                kept[name].as_str().unwrap(),
                "{pk} {sk} {name}"
            );
        }
    }
    assert_eq!(store.get(old.id).await.unwrap(), old);
    assert_eq!(
        dynamo.backfill_fields(no_unreadable).await.unwrap().updated,
        0
    );
}

/// For a backfill that finds every item readable.
fn no_unreadable(pk: &str, sk: &str, why: &str) {
    panic!("{pk} / {sk} reported unreadable: {why}");
}

/// An item whose JSON cannot be read is left as it is and reported; the backfill goes on with
/// the others, which a run that stopped at it would never reach.
#[tokio::test]
async fn dynamodb_backfill_reports_an_unreadable_item_and_does_the_rest() {
    let old = booking("Ann", "2027-06-07", "2027-06-08");
    let (dynamo, table, items) = json_only(support::moto::endpoint(), &old).await;
    let sdk = support::moto::sdk_client();
    let (bad_pk, bad_sk) = &items[0];
    sdk.update_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(bad_pk.clone()))
        .key("sk", AttributeValue::S(bad_sk.clone()))
        .update_expression("SET booking = :damaged")
        .expression_attribute_values(":damaged", AttributeValue::S("{\"id\": 7".to_owned()))
        .send()
        .await
        .unwrap();

    let mut reported = Vec::new();
    let done = dynamo
        .backfill_fields(|pk: &str, sk: &str, _: &str| {
            reported.push((pk.to_owned(), sk.to_owned()))
        })
        .await
        .unwrap();

    assert_eq!(
        (done.updated, done.skipped, done.unreadable),
        (items.len() as u64 - 1, 0, 1),
        "all but the damaged one"
    );
    assert_eq!(reported, [(bad_pk.clone(), bad_sk.clone())]);
    let left = raw_item(&sdk, &table, bad_pk, bad_sk).await.unwrap();
    assert!(!left.contains_key("id"), "left as it is: {left:?}");
}

/// An item the backfill updates while it is in one of the app's transactions
/// (`TransactionConflictException`) is tried again, three times at most; past them the backfill
/// stops with an error, and a run after it does the rest.
#[tokio::test]
async fn dynamodb_backfill_tries_an_item_in_a_transaction_again() {
    let proxy = FaultProxy::start(support::moto::endpoint()).await;
    let old = booking("Ann", "2027-05-03", "2027-05-04");
    let (dynamo, table, items) = json_only(&proxy.url, &old).await;
    let sdk = support::moto::sdk_client();
    let conflict = Fault::Refuse("TransactionConflictException");

    proxy.set_for(Some("UpdateItem"), conflict, Some(3));
    let done = dynamo.backfill_fields(no_unreadable).await.unwrap();
    assert_eq!(
        (done.updated, done.skipped),
        (3, 0),
        "the booking, its month, its person"
    );
    assert_eq!(proxy.count("UpdateItem"), 3 + 3);

    for (pk, sk) in &items {
        keep_only_the_json(&sdk, &table, (pk, sk)).await;
    }
    proxy.set_for(Some("UpdateItem"), conflict, Some(4));
    let stopped = dynamo.backfill_fields(no_unreadable).await;
    assert!(matches!(stopped, Err(Error::Internal(_))), "{stopped:?}");
    proxy.clear();
    assert_eq!(
        dynamo.backfill_fields(no_unreadable).await.unwrap().updated,
        3
    );
}

/// A store reaching DynamoDB at `endpoint`, on a new table holding `b` written with its JSON
/// alone (as from 2026-11-26): the store, the table, and `b`'s items.
async fn json_only(
    endpoint: &str,
    b: &Booking,
) -> (Arc<DynamoStore>, String, Vec<(String, String)>) {
    let table = support::moto::fresh_table().await;
    let client = support::moto::client_for(endpoint, Duration::from_secs(10));
    let dynamo = Arc::new(DynamoStore::new(client, table.clone()));
    let store: Arc<dyn LeaveStore> = dynamo.clone();
    store.create_new(b).await.unwrap();
    let sdk = support::moto::sdk_client();
    let items = booking_items(b);
    for (pk, sk) in &items {
        keep_only_the_json(&sdk, &table, (pk, sk)).await;
    }
    (dynamo, table, items)
}

/// The bookings of `b`'s person in `month`.
async fn listed_for(store: &dyn LeaveStore, b: &Booking, month_text: &str) -> Vec<Booking> {
    let by_person = ListQuery {
        person: Some(b.user_name.clone()),
        ..query(month(month_text), 10)
    };
    list_all(store, by_person).await
}

/// The keys of every item that holds a copy of `b`: the booking, its month entries, its person
/// entry.
fn booking_items(b: &Booking) -> Vec<(String, String)> {
    let sort_key = Cursor::after(b).sort_key();
    let mut items = vec![(format!("BOOKING#{}", b.id), "BOOKING".to_owned())];
    items.extend(
        b.days
            .months()
            .map(|m| (format!("MONTH#{m}"), sort_key.clone())),
    );
    items.push((
        format!("PERSON#{}", b.user_name.key()),
        format!("BOOKING#{sort_key}"),
    ));
    items
}

/// Rewrites the item at `pk`/`sk` with `name_then` as its name (in its `user_name` and its
/// JSON), under `pk_then` when given, as a release before could have written it.
async fn write_as_then(
    sdk: &aws_sdk_dynamodb::Client,
    table: &str,
    (pk, sk): (&str, &str),
    name_then: &str,
    pk_then: Option<String>,
) {
    let item = raw_item(sdk, table, pk, sk)
        .await
        .unwrap_or_else(|| panic!("{pk} {sk}"));
    let mut then = item.clone();
    if item.contains_key("user_name") {
        then.insert("user_name".into(), AttributeValue::S(name_then.to_owned()));
    }
    if let Some(json) = item.get("booking") {
        let mut json: serde_json::Value = serde_json::from_str(json.as_s().unwrap()).unwrap();
        json["user_name"] = name_then.into();
        then.insert("booking".into(), AttributeValue::S(json.to_string()));
    }
    if let Some(pk_then) = pk_then {
        then.insert("pk".into(), AttributeValue::S(pk_then));
        sdk.delete_item()
            .table_name(table)
            .key("pk", item["pk"].clone())
            .key("sk", item["sk"].clone())
            .send()
            .await
            .unwrap();
    }
    sdk.put_item()
        .table_name(table)
        .set_item(Some(then))
        .send()
        .await
        .unwrap();
}

/// Makes the item at `pk`/`sk` as the versions from 2026-11-26 wrote it: its JSON, and of its
/// fields `to_date` alone.
async fn keep_only_the_json(sdk: &aws_sdk_dynamodb::Client, table: &str, key: (&str, &str)) {
    remove(sdk, table, key, "id, user_name, from_date, created_at").await;
}

/// Removes the attributes `names` from the item at `pk`/`sk`.
async fn remove(sdk: &aws_sdk_dynamodb::Client, table: &str, (pk, sk): (&str, &str), names: &str) {
    sdk.update_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.to_owned()))
        .key("sk", AttributeValue::S(sk.to_owned()))
        .update_expression(format!("REMOVE {names}"))
        .send()
        .await
        .unwrap();
}

/// A DynamoDB store on a new table, and the table's name, for tests that reach the items.
async fn dynamo_store_and_table() -> (Arc<dyn LeaveStore>, String) {
    let table = support::moto::fresh_table().await;
    let store = DynamoStore::new(
        support::moto::client_for(support::moto::endpoint(), Duration::from_secs(10)),
        table.clone(),
    );
    (Arc::new(store), table)
}

/// The item at `pk`/`sk`, all its attributes, read consistently.
async fn raw_item(
    sdk: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
    sk: &str,
) -> Option<HashMap<String, AttributeValue>> {
    sdk.get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.to_owned()))
        .key("sk", AttributeValue::S(sk.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// An idempotency key is remembered for a day. DynamoDB's TTL deletes an expired record only
/// eventually, so a record still there past its expiry counts as gone: the key books anew.
#[tokio::test]
async fn dynamodb_an_expired_idempotency_key_books_anew() {
    let (store, table) = dynamo_store_and_table().await;
    let key = IdempotencyKey::parse("used-yesterday").unwrap();
    let earlier = booking("Lea", "2026-12-14", "2026-12-15");
    assert_eq!(
        store.create(&earlier, Some(&key)).await.unwrap(),
        Created::New
    );
    // Its item expires a day after it was written: TTL removes it then.
    let now = jiff::Timestamp::now().as_second();
    let stored_key = support::moto::sdk_client()
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("IDEMPOTENCY#{key}")))
        .key("sk", AttributeValue::S("IDEMPOTENCY".to_owned()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the key's item");
    let expires_at: i64 = stored_key["expires_at"].as_n().unwrap().parse().unwrap();
    let day = 24 * 60 * 60;
    assert!(
        (now + day - 60..=now + day).contains(&expires_at),
        "{expires_at} at {now}"
    );
    // A day later, before TTL has removed the record.
    let past = now - 1;
    support::moto::sdk_client()
        .update_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("IDEMPOTENCY#{key}")))
        .key("sk", AttributeValue::S("IDEMPOTENCY".to_owned()))
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(":past", AttributeValue::N(past.to_string()))
        .send()
        .await
        .unwrap();

    let later = booking("Lea", "2026-12-21", "2026-12-22");
    assert_eq!(
        store.create(&later, Some(&key)).await.unwrap(),
        Created::New
    );
    let stored = ids(&list_all(&*store, query(month("2026-12"), 10)).await);
    assert_eq!(stored, [earlier.id, later.id]);
}
