//! The JSON API and the pages, end to end over HTTP against a real instance on port 0.

mod support;

use serde_json::{Value, json};
use support::{TestApp, spawn_app, spawn_dynamo_app};

#[tokio::test]
async fn create_get_list_delete_round_trip() {
    round_trip(spawn_app().await).await;
}

#[tokio::test]
async fn create_get_list_delete_round_trip_on_dynamodb() {
    round_trip(spawn_dynamo_app().await).await;
}

async fn round_trip(app: TestApp) {
    // Create: 201, Location, the stored booking.
    let response = app
        .post_json(
            "/api/v1/bookings",
            &json!({"user_name": "  Ada ", "from_date": "2026-03-30", "to_date": "2026-04-02"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/bookings/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(
        (created["user_name"].as_str(), created["days"].as_i64()),
        (Some("Ada"), Some(4))
    );

    // Get one.
    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, created);

    // Listed in both months it touches, by month and by range, and by person.
    for query in [
        "month=2026-03",
        "month=2026-04",
        "from=2026-04-02&to=2026-04-30",
        "month=2026-04&person=ADA",
    ] {
        let page: Value = app
            .get(&format!("/api/v1/bookings?{query}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"], json!([created]), "{query}");
        assert!(page.get("next_cursor").is_none());
    }
    let other: Value = app
        .get("/api/v1/bookings?month=2026-04&person=Bob")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other["items"], json!([]));

    // Overlap refused with 409 problem+json, nothing stored.
    let refused = app
        .post_json(
            "/api/v1/bookings",
            &json!({"user_name": "ada", "from_date": "2026-04-02", "to_date": "2026-04-03"}),
        )
        .await;
    assert_eq!(refused.status(), 409);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = refused.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("2026-04-02"),
        "{problem}"
    );

    // Delete: 204, then 404.
    assert_eq!(app.delete(&location).await.status(), 204);
    assert_eq!(app.get(&location).await.status(), 404);
    assert_eq!(app.delete(&location).await.status(), 404);
}

/// Names stored before the rules for new names (here: a zero-width space, which new names may
/// not hold) are listed by person too.
#[tokio::test]
async fn bookings_of_names_from_before_the_rules_are_listed_by_person() {
    use leave_calendar::domain::{Booking, DateRange, PersonName, parse_date};
    let store = support::embedded_store();
    let day = parse_date("day", "2026-03-02").unwrap();
    let name = PersonName::stored("Ann\u{200b}").unwrap();
    assert!(
        PersonName::parse(name.as_str()).is_err(),
        "not a valid new name"
    );
    let earlier = Booking::new(name, DateRange::booking(day, day).unwrap());
    store.store.create(&earlier, None).await.unwrap();
    let settings = leave_calendar::config::Settings::defaults();
    let app = support::spawn_app_with(store, settings).await;

    let page: Value = app
        .get("/api/v1/bookings?month=2026-03&person=ann%E2%80%8B")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["id"])
        .collect();
    assert_eq!(ids, [&json!(earlier.id.to_string())]);
}

/// Answers holding people's names and leave are kept by no cache, as the pages are not.
#[tokio::test]
async fn booking_answers_are_not_stored_by_caches() {
    let app = spawn_app().await;
    let created = app
        .post_json(
            "/api/v1/bookings",
            &json!({"user_name": "Ann", "from_date": "2026-03-02", "to_date": "2026-03-02"}),
        )
        .await;
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let answers = [
        created,
        app.get(&location).await,
        app.get("/api/v1/bookings?month=2026-03").await,
        app.get("/api/v1/bookings/01ARZ3NDEKTSV4RRFFQ69G5FAV").await,
    ];
    for answer in answers {
        assert_not_stored(&answer);
    }
}

/// `answer` tells caches to keep nothing.
fn assert_not_stored(answer: &reqwest::Response) {
    let cache = answer.headers().get("cache-control");
    let cache = cache.map(|v| v.to_str().unwrap());
    assert_eq!(
        cache,
        Some("no-store"),
        "{} {}",
        answer.url(),
        answer.status()
    );
}

/// No error answer is kept by a cache: it says how things stood at that moment, and 404 and
/// 405 are otherwise cacheable by default.
#[tokio::test]
async fn error_answers_are_not_stored_by_caches() {
    let app = spawn_app().await;
    let answers = [
        app.get("/no/such/page").await,
        app.get("/api/v1/nope").await,
        app.client.put(app.url("/")).send().await.unwrap(),
        app.client.delete(app.url("/health")).send().await.unwrap(),
    ];
    for answer in answers {
        assert!(answer.status().is_client_error(), "{}", answer.url());
        assert_not_stored(&answer);
    }
}

/// A person is found by the name as it was typed to book: runs of spaces, of any kind, are the
/// one space the booking was stored with.
#[tokio::test]
async fn bookings_are_listed_by_the_name_they_were_made_with() {
    let app = spawn_app().await;
    for (name, day) in [("Ann  Lee", "2026-03-02"), ("Ann\u{a0}Lee", "2026-03-04")] {
        let response = app
            .post_json(
                "/api/v1/bookings",
                &json!({"user_name": name, "from_date": day, "to_date": day}),
            )
            .await;
        assert_eq!(response.status(), 201, "{name}");
    }
    for person in [
        "ann%20%20lee",
        "Ann%C2%A0Lee",
        "ann%E3%80%80lee",
        "ann%20lee",
    ] {
        let page: Value = app
            .get(&format!("/api/v1/bookings?month=2026-03&person={person}"))
            .await
            .json()
            .await
            .unwrap();
        let days: Vec<_> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| &b["from_date"])
            .collect();
        assert_eq!(days, ["2026-03-02", "2026-03-04"], "{person}");
    }
}

#[tokio::test]
async fn list_paginates_with_an_opaque_cursor() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 1..=7 {
        created.push(
            app.book(
                &format!("Person {i}"),
                &format!("2026-05-{:02}", i),
                "2026-05-20",
            )
            .await["id"]
                .clone(),
        );
    }
    let mut seen = Vec::new();
    let mut url = "/api/v1/bookings?month=2026-05&limit=3".to_owned();
    loop {
        let page: Value = app.get(&url).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|b| b["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("/api/v1/bookings?month=2026-05&limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, created);
}

/// Without `limit`, a page holds 50 bookings and says where the next begins; a range may span
/// 366 days (a leap year), not one more.
#[tokio::test]
async fn list_defaults_and_bounds() {
    let app = spawn_app().await;
    for i in 0..51 {
        app.book(&format!("Person {i}"), "2026-05-04", "2026-05-04")
            .await;
    }
    let page: Value = app
        .get("/api/v1/bookings?month=2026-05")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    let next = page["next_cursor"].as_str().expect("a next page");
    let rest: Value = app
        .get(&format!("/api/v1/bookings?month=2026-05&cursor={next}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);

    let leap_year = app
        .get("/api/v1/bookings?from=2024-01-01&to=2024-12-31")
        .await;
    assert_eq!(leap_year.status(), 200, "366 days");
    let one_more = app
        .get("/api/v1/bookings?from=2024-01-01&to=2025-01-01")
        .await;
    assert_eq!(one_more.status(), 400, "367 days");
    let problem: Value = one_more.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("367 days"),
        "{problem}"
    );
}

#[tokio::test]
async fn health_ready_and_openapi() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health").await.status(), 200);
    assert_eq!(app.get("/ready").await.status(), 200);
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/bookings"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/bookings/{id}"]["delete"].is_object());
}

/// Every operation in the document is routed: the document is generated from the handlers,
/// and this catches a handler documented but not mounted.
#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        // A malformed id: a mounted handler refuses it with 400, where an unmounted path
        // would fall through to 404 (a well-formed unknown id would be a 404 either way).
        let concrete = path.replace("{id}", "not-a-booking-id");
        for method in item.as_object().unwrap().keys() {
            let request = app
                .client
                .request(method.to_uppercase().parse().unwrap(), app.url(&concrete));
            let status = request.send().await.unwrap().status();
            assert_ne!(status, 404, "{method} {path} is not routed");
            assert_ne!(status, 405, "{method} {path} is not routed");
            operations += 1;
        }
    }
    assert_eq!(operations, 6);
}

#[tokio::test]
async fn responses_carry_request_ids() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    let headers = response.headers();
    assert_eq!(headers["x-request-id"].to_str().unwrap().len(), 26);
    let given = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        given.headers()["x-request-id"],
        "abc-123",
        "a caller's request id is kept"
    );
    let with_id = |id: &str| {
        let id = reqwest::header::HeaderValue::from_bytes(id.as_bytes()).unwrap();
        app.client
            .get(app.url("/health"))
            .header("x-request-id", id)
            .send()
    };
    let uuid = "5f0c3a7e-1b2d-4c3e-9f00-0123456789ab";
    let long = "a".repeat(128);
    for kept in [uuid, "Root:1-67891233.abc_def", &long] {
        let answer = with_id(kept).await.unwrap();
        assert_eq!(answer.headers()["x-request-id"], kept);
    }
    // Too long, or holding characters that could pass for more fields of a text log line: the
    // request gets an id of its own instead.
    let too_long = "a".repeat(129);
    for replaced in [
        "",
        &too_long,
        "x status=200",
        "a\"b",
        "id;other",
        "caf\u{e9}",
    ] {
        let answer = with_id(replaced).await.unwrap();
        assert_eq!(answer.status(), 200, "{replaced:?}");
        let id = answer.headers()["x-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 26, "{replaced:?} replaced by a ULID, not {id:?}");
    }
}

/// Asserts the headers every answer carries.
fn assert_security_headers(headers: &reqwest::header::HeaderMap, what: &str) {
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert_eq!(
        csp,
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
        "{what}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert_eq!(headers["referrer-policy"], "same-origin", "{what}");
    assert!(
        headers.get("strict-transport-security").is_none(),
        "HSTS over plain HTTP: {what}"
    );
}

/// Behind the load balancer's HTTPS listener every answer, pages, API, errors and `/health`
/// alike, tells the browser to come back over HTTPS only; a request that came over plain HTTP
/// gets no such header (see `assert_security_headers`).
#[tokio::test]
async fn answers_over_https_carry_hsts() {
    let app = spawn_app().await;
    for (path, proto, status) in [
        ("/", "https", 200),
        ("/health", "https", 200),
        ("/api/v1/bookings?month=2026-13", "HTTPS", 400),
        ("/api/v1/no-such-thing", "https", 404),
        ("/", "http", 200),
    ] {
        let answer = app
            .client
            .get(app.url(path))
            .header("x-forwarded-proto", proto)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{path}");
        let hsts = answer.headers().get("strict-transport-security");
        let expected = (proto != "http").then_some("max-age=31536000");
        assert_eq!(
            hsts.map(|v| v.to_str().unwrap()),
            expected,
            "{path} over {proto}"
        );
    }
}

/// The API allows no other origin: no CORS headers, so a browser keeps other sites' pages from
/// sending it JSON or reading its answers.
#[tokio::test]
async fn other_origins_are_not_allowed() {
    let app = spawn_app().await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/bookings"))
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    let read = app
        .client
        .get(app.url("/api/v1/bookings?month=2026-04"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    for response in [preflight, read] {
        let cors: Vec<_> = response
            .headers()
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{} {cors:?}", response.status());
    }
}

/// Not only the pages: JSON, problems, redirects, probes, the OpenAPI document and assets too.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    let created = app
        .post_json(
            "/api/v1/bookings",
            &json!({"user_name": "Ada", "from_date": "2026-04-01", "to_date": "2026-04-01"}),
        )
        .await;
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let overlap = app
        .post_json(
            "/api/v1/bookings",
            &json!({"user_name": "ada", "from_date": "2026-04-01", "to_date": "2026-04-01"}),
        )
        .await;
    let answers = [
        (created, 201),
        (overlap, 409),
        (app.get(&location).await, 200),
        (app.get("/api/v1/bookings?month=2026-04").await, 200),
        (app.get("/api/v1/bookings?month=2026-13").await, 400),
        (app.get("/api/v1/bookings/nope").await, 400),
        (app.get("/api/v1/no-such-thing").await, 404),
        (app.get("/api/v1/openapi.json").await, 200),
        (app.get("/health").await, 200),
        (app.get("/ready").await, 200),
        (app.get("/static/style.css").await, 200),
        (
            app.post_booking_form("Bo", "2026-04-02", "2026-04-02")
                .await,
            303,
        ),
        (app.delete(&location).await, 204),
    ];
    for (response, status) in answers {
        let what = format!("{} {}", response.status(), response.url());
        assert_eq!(response.status(), status, "{what}");
        assert_security_headers(response.headers(), &what);
    }
}

mod pages {
    use super::*;
    use leave_calendar::domain::BookingId;

    /// A month page shows at most 1,000 bookings, and says so when there are more.
    #[tokio::test]
    async fn a_month_with_more_bookings_than_a_page_shows_says_so() {
        use leave_calendar::domain::Booking;
        let store = support::embedded_store();
        let handle = std::sync::Arc::clone(&store.store);
        for i in 0..1001 {
            let booking =
                Booking::parse(&format!("Person {i}"), "2026-08-03", "2026-08-03").unwrap();
            handle.create(&booking, None).await.unwrap();
        }
        let app =
            support::spawn_app_with(store, leave_calendar::config::Settings::defaults()).await;
        let note = "the calendar and the list show the first 1,000 by first day";

        let full = app.get("/?month=2026-08").await.text().await.unwrap();
        let said = full.find(note).expect("1,001 bookings");
        assert!(
            said < full.find("<table class=\"grid\"").unwrap(),
            "said above the grid"
        );
        assert_eq!(full.matches("/delete/").count(), 1000, "1,000 rows");

        let id = app
            .get("/api/v1/bookings?month=2026-08&limit=1")
            .await
            .json::<Value>()
            .await
            .unwrap()["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            app.delete(&format!("/api/v1/bookings/{id}")).await.status(),
            204
        );
        let page = app.get("/?month=2026-08").await.text().await.unwrap();
        assert!(!page.contains(note), "1,000 bookings fit");
    }

    #[tokio::test]
    async fn booking_through_the_form_redirects_to_its_month_and_shows_it() {
        let app = spawn_app().await;
        let response = app
            .post_booking_form("Grace Hopper", "2026-02-26", "2026-03-03")
            .await;
        assert_eq!(response.status(), 303, "post/redirect/get");
        let listed = app.listed("month=2026-02").await;
        let id = listed[0]["id"].as_str().unwrap();
        let location = format!("/?month=2026-02&booked={id}");
        assert_eq!(response.headers()["location"], location.as_str());
        // The month page it leads to confirms the booking.
        let confirmed = app.get(&location).await.text().await.unwrap();
        assert!(
            confirmed.contains("<title>Booked: February 2026 · Leave Calendar</title>"),
            "{confirmed}"
        );
        assert!(
            confirmed.contains(
                r#"<p class="notice" role="status">Booked leave for <bdi>Grace Hopper</bdi> from Thu 26 Feb 2026 to Tue 3 Mar 2026.</p>"#
            ),
            "{confirmed}"
        );

        let february = app.get("/?month=2026-02").await.text().await.unwrap();
        assert!(!february.contains(r#"class="notice""#), "{february}");
        assert!(february.contains("<title>February 2026 · Leave Calendar</title>"));
        assert!(february.contains("Grace Hopper"));
        assert!(
            february.contains("Thu 26 Feb 2026"),
            "dates are unambiguous"
        );
        let march = app.get("/?month=2026-03").await.text().await.unwrap();
        assert!(
            march.contains("Grace Hopper"),
            "a spanning booking shows in both months"
        );
        // The grid marks exactly the booked days.
        for (date, away) in [("2026-03-03", true), ("2026-03-04", false)] {
            let cell = cell_html(&march, date);
            assert_eq!(cell.contains("Grace Hopper"), away, "{date}: {cell}");
        }
        // February's grid ends on Sunday 1 March, a day of the next month: the page lists
        // February's bookings only, so it would show some of the people away that day (Grace,
        // not Ada). Days of other months show no one.
        app.book("Ada", "2026-03-01", "2026-03-01").await;
        let february = app.get("/?month=2026-02").await.text().await.unwrap();
        assert!(cell_html(&february, "2026-02-28").contains("Grace Hopper"));
        let next_month = cell_html(&february, "2026-03-01");
        assert!(
            !next_month.contains("Grace Hopper") && !next_month.contains("Ada"),
            "{next_month}"
        );
    }

    #[tokio::test]
    async fn refused_form_is_shown_again_with_the_message_and_input() {
        let app = spawn_app().await;
        app.book("Alan", "2026-06-10", "2026-06-12").await;
        // The page of a form refused with `status`.
        let refused = async |name: &str, from: &str, to: &str, status: u16| {
            let response = app.post_booking_form(name, from, to).await;
            assert_eq!(response.status(), status, "{name} {from} {to}");
            response.text().await.unwrap()
        };
        let page = refused("alan", "2026-06-12", "2026-06-14", 409).await;
        assert!(
            page.contains("already has leave booked on Fri 12 Jun 2026"),
            "{page}"
        );
        assert!(
            page.contains(r#"value="alan""#) && page.contains(r#"value="2026-06-14""#),
            "input kept"
        );
        // Asked from May, the clash is in June: the page shows June, where Alan's leave is.
        let page = refused("alan", "2026-05-25", "2026-06-11", 409).await;
        assert!(
            page.contains("already has leave booked on Wed 10 Jun 2026"),
            "{page}"
        );
        assert!(page.contains("<h1>June 2026</h1>"), "{page}");

        let page = refused("Alan", "2026-02-30", "2026-03-01", 422).await;
        assert!(
            page.contains("The first day (2026-02-30) is not a real date."),
            "{page}"
        );
        assert!(
            page.contains(
                r#"value="2026-02-30" aria-describedby="form-error" aria-invalid="true">"#
            ),
            "the field at fault is marked: {page}"
        );
        assert!(
            page.contains(r#"autocomplete="name" value="Alan">"#),
            "only the field at fault points to the message: {page}"
        );
        assert!(
            page.contains("<title>Error: "),
            "the title says the form was refused: {page}"
        );
        assert!(
            page.contains("<h1>March 2026</h1>"),
            "the month of the day that is a date: {page}"
        );

        // Every field at fault is told and marked at once.
        let page = refused("", "", "", 422).await;
        assert!(
            page.contains(
                "Please enter a name. Please enter the first day. Please enter the last day."
            ),
            "{page}"
        );
        assert_eq!(page.matches(r#"aria-invalid="true""#).count(), 3, "{page}");

        let page = refused("Alan", "2026-03-05", "2026-03-01", 422).await;
        assert!(
            page.contains(
                "The last day (Sun 1 Mar 2026) is before the first day (Thu 5 Mar 2026)."
            ),
            "{page}"
        );

        let missing = app.post_form("/", &[("from_date", "2026-03-01")]).await;
        assert_eq!(missing.status(), 422);
        assert!(
            missing
                .text()
                .await
                .unwrap()
                .contains("Please enter a name.")
        );
    }

    /// The confirmation leads back to the month the person came from, which for a booking
    /// over a month's end need not be its first day's; without one (or an empty one, as on the
    /// month page), to its first day's (a bad one is a 400: `tests/bad_input.rs`).
    #[tokio::test]
    async fn the_delete_confirmation_returns_to_the_month_it_came_from() {
        let app = spawn_app().await;
        let id = app.book_id("Linus", "2026-06-29", "2026-07-02").await;
        for (query, month) in [
            ("?month=2026-07", "2026-07"),
            ("?month=2026-06", "2026-06"),
            ("", "2026-06"),
            ("?month=", "2026-06"),
        ] {
            let confirm = app.get(&format!("/delete/{id}{query}")).await;
            assert_eq!(confirm.status(), 200, "{query}");
            let confirm = confirm.text().await.unwrap();
            assert!(
                confirm.contains(&format!(r#"action="/delete/{id}?month={month}""#)),
                "{query}: {confirm}"
            );
            assert!(
                confirm.contains(&format!(r#"href="/?month={month}""#)),
                "{query}: a way back to {month}"
            );
        }
    }

    #[tokio::test]
    async fn delete_button_removes_the_booking_and_returns_to_the_month() {
        let app = spawn_app().await;
        let id = app.book_id("Linus", "2026-07-01", "2026-07-02").await;
        let page = app.get("/?month=2026-07").await.text().await.unwrap();
        // The delete button leads to a confirmation step, which works without JavaScript.
        assert!(page.contains(&format!(r#"href="/delete/{id}?month=2026-07""#)));
        let confirm = app.get(&format!("/delete/{id}?month=2026-07")).await;
        assert_eq!(confirm.status(), 200);
        let confirm = confirm.text().await.unwrap();
        assert!(
            confirm.contains(
                "<title>Delete \u{2068}Linus\u{2069}&#39;s leave · Leave Calendar</title>"
            )
        );
        assert!(confirm.contains("Wed 1 Jul 2026") && confirm.contains("Thu 2 Jul 2026"));
        assert!(confirm.contains(&format!(r#"action="/delete/{id}?month=2026-07""#)));
        assert!(confirm.contains(r#"href="/?month=2026-07""#), "a way back");
        let response = app
            .client
            .post(app.url(&format!("/delete/{id}?month=2026-07")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let location = format!("/?month=2026-07&deleted={id}");
        assert_eq!(response.headers()["location"], location.as_str());
        let after = app.get(&location).await.text().await.unwrap();
        assert!(!after.contains("Linus"), "{after}");
        assert!(
            after.contains(r#"<p class="notice" role="status">The booking was deleted.</p>"#),
            "{after}"
        );
        assert!(
            after.contains("<title>Deleted: July 2026 · Leave Calendar</title>"),
            "{after}"
        );
        assert_eq!(
            app.get(&format!("/api/v1/bookings/{id}")).await.status(),
            404
        );
        let gone = app.get(&format!("/delete/{id}?month=2026-07")).await;
        assert_eq!(gone.status(), 404);
        assert!(
            gone.text()
                .await
                .unwrap()
                .contains("does not exist any more")
        );
    }

    #[tokio::test]
    async fn cross_site_form_posts_are_refused_but_programs_may_post() {
        let app = spawn_app().await;
        let booking = [
            ("user_name", "Mallory"),
            ("from_date", "2026-05-04"),
            ("to_date", "2026-05-05"),
        ];
        for (header, value) in [
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
            ("origin", "http://evil.example"),
            ("origin", "null"),
        ] {
            let response = app
                .client
                .post(app.url("/"))
                .header(header, value)
                .form(&booking)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{header}: {value}");
            assert!(response.headers().get("set-cookie").is_none());
            let page = response.text().await.unwrap();
            assert!(page.contains("sent from another site"), "{page}");
        }
        let month = app.get("/?month=2026-05").await.text().await.unwrap();
        assert!(!month.contains("Mallory"), "nothing was booked");

        // The calendar's own form (same origin), and programs that send neither header.
        let own_origin = format!("http://{}", app.address);
        let same = app
            .client
            .post(app.url("/"))
            .header("sec-fetch-site", "same-origin")
            .header("origin", &own_origin)
            .form(&booking)
            .send()
            .await
            .unwrap();
        assert_eq!(same.status(), 303);
        let plain = app
            .post_booking_form("Script", "2026-05-04", "2026-05-05")
            .await;
        assert_eq!(plain.status(), 303);

        // Deleting is protected the same way.
        let id = app.book_id("Victim", "2026-05-10", "2026-05-11").await;
        let forged = app
            .client
            .post(app.url(&format!("/delete/{id}")))
            .header("origin", "http://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403);
        let forged_delete = app
            .client
            .delete(app.url(&format!("/delete/{id}")))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        assert_eq!(forged_delete.status(), 403);
        assert_eq!(
            app.get(&format!("/api/v1/bookings/{id}")).await.status(),
            200
        );
        // Typed into the address bar or opened from a bookmark: no site started it.
        let from_no_site = app
            .client
            .post(app.url("/"))
            .header("sec-fetch-site", "none")
            .form(&[
                ("user_name", "Walter"),
                ("from_date", "2026-05-20"),
                ("to_date", "2026-05-20"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(from_no_site.status(), 303);
        let by_program = app
            .client
            .post(app.url(&format!("/delete/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(by_program.status(), 303);
    }

    #[tokio::test]
    async fn the_form_remembers_the_last_name_booked_with() {
        let app = spawn_app().await;
        let response = app
            .post_booking_form("  Zoë <O'Neil> ", "2026-08-03", "2026-08-04")
            .await;
        assert_eq!(response.status(), 303);
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            cookie.starts_with("leave_calendar_name=Zo%C3%AB%20%3CO%27Neil%3E;"),
            "{cookie}"
        );
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
            assert!(cookie.contains(attribute), "{attribute}: {cookie}");
        }
        let pair = cookie.split(';').next().unwrap();
        let page = app
            .client
            .get(app.url("/?month=2026-09"))
            .header("cookie", pair)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(r#"value="Zoë &#60;O&#39;Neil&#62;">"#),
            "prefilled and escaped: {page}"
        );

        // A refused booking sets no cookie; a bad cookie is ignored.
        let refused = app
            .post_booking_form("Other", "2026-08-05", "2026-08-01")
            .await;
        assert_eq!(refused.status(), 422);
        assert!(refused.headers().get("set-cookie").is_none());
        let page = app
            .client
            .get(app.url("/"))
            .header("cookie", "leave_calendar_name=%00%ZZ")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(r#"autocomplete="name" value="">"#));
    }

    #[tokio::test]
    async fn assets_are_embedded_versioned_and_cached() {
        let app = spawn_app().await;
        let page = app.get("/").await.text().await.unwrap();
        for (prefix, content_type) in [
            ("/static/style.css?v=", "text/css; charset=utf-8"),
            ("/static/icon.svg?v=", "image/svg+xml"),
        ] {
            let url = linked_url(&page, prefix);
            let response = app.get(url).await;
            assert_eq!(response.status(), 200, "{url}");
            assert_eq!(response.headers()["content-type"], content_type);
            assert_eq!(
                response.headers()["cache-control"],
                "public, max-age=31536000, immutable"
            );
            assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        }
    }

    /// In a rolling deploy a page from a new instance can ask an old one for the new version's
    /// URL: the old content is served (the page stays styled) but must not be kept under it.
    #[tokio::test]
    async fn assets_asked_for_at_another_version_are_served_but_not_kept() {
        let app = spawn_app().await;
        let page = app.get("/").await.text().await.unwrap();
        for prefix in ["/static/style.css?v=", "/static/icon.svg?v="] {
            let linked = linked_url(&page, prefix);
            let content = app.get(linked).await.text().await.unwrap();
            let other = format!("{prefix}0123456789abcdef");
            assert_ne!(other, linked);
            let unversioned = prefix.trim_end_matches("?v=").to_owned();
            let repeated = format!("{linked}&v=0123456789abcdef");
            for url in [other, unversioned, repeated] {
                let response = app.get(&url).await;
                assert_eq!(response.status(), 200, "{url}");
                let cache = response.headers()["cache-control"].to_str().unwrap();
                assert_eq!(cache, "no-cache", "{url}");
                assert!(!cache.contains("immutable"), "{url}");
                assert_eq!(response.text().await.unwrap(), content, "{url}");
            }
        }
    }

    /// An asset answers with its version as entity tag, and 304 without a body to a cache
    /// that holds that content, at any of its URLs.
    #[tokio::test]
    async fn assets_answer_304_to_a_cache_holding_the_same_content() {
        let app = spawn_app().await;
        let page = app.get("/").await.text().await.unwrap();
        for prefix in ["/static/style.css?v=", "/static/icon.svg?v="] {
            let linked = linked_url(&page, prefix);
            let first = app.get(linked).await;
            let tag = first.headers()["etag"].to_str().unwrap().to_owned();
            assert_eq!(tag, format!("\"{}\"", &linked[prefix.len()..]), "{linked}");
            let unversioned = prefix.trim_end_matches("?v=");
            let conditional = |url: &str, given: &str| {
                let request = app.client.get(app.url(url)).header("if-none-match", given);
                async move { request.send().await.unwrap() }
            };
            for given in [
                tag.clone(),
                format!("W/{tag}"),
                format!("\"x\", {tag}"),
                "*".into(),
            ] {
                for url in [linked, unversioned] {
                    let answer = conditional(url, &given).await;
                    assert_eq!(answer.status(), 304, "{url} {given}");
                    assert_eq!(answer.headers()["etag"].to_str().unwrap(), tag);
                    assert!(answer.headers().get("content-type").is_none());
                    assert!(answer.bytes().await.unwrap().is_empty());
                }
            }
            let changed = conditional(unversioned, "\"0123456789abcdef\"").await;
            assert_eq!(changed.status(), 200);
            assert_eq!(changed.headers()["cache-control"], "no-cache");
        }
    }

    /// The pages carry the visitor's remembered name and a one-time form key: no cache may
    /// keep them and hand them to someone else. Redirects carry neither, so they are not checked.
    #[tokio::test]
    async fn pages_are_not_kept_by_caches() {
        let app = spawn_app().await;
        let id = app.book_id("Ada", "2026-04-01", "2026-04-01").await;
        let month = app
            .client
            .get(app.url("/?month=2026-04"))
            .header("cookie", "leave_calendar_name=Ada")
            .send()
            .await
            .unwrap();
        assert_eq!(month.status(), 200);
        let forged = app
            .client
            .post(app.url("/"))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        let not_allowed = app
            .client
            .put(app.url("/"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        let unknown = BookingId::generate();
        // The pages' own answers are pages for every client; the errors of the router and the
        // middleware are problem+json to other clients, so they vary with `Accept`.
        let pages = [
            (month, 200, None),
            (
                app.get(&format!("/delete/{id}?month=2026-04")).await,
                200,
                None,
            ),
            (app.get(&format!("/delete/{unknown}")).await, 404, None),
            (
                app.post_booking_form("Ada", "2026-04-01", "2026-04-01")
                    .await,
                409,
                None,
            ),
            (app.get("/?month=2026-13").await, 400, None),
            (app.get_page("/no/such/page").await, 404, Some("accept")),
            (not_allowed, 405, Some("accept")),
            (forged, 403, None),
        ];
        for (response, status, vary) in pages {
            let url = response.url().to_string();
            assert_eq!(response.status(), status, "{url}");
            let headers = response.headers();
            assert!(
                headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
            assert_eq!(headers["cache-control"], "no-store", "{url}");
            let varies = headers
                .get("vary")
                .map(|v| v.to_str().unwrap().to_lowercase());
            assert_eq!(varies.as_deref(), vary, "{url}");
        }
    }

    #[tokio::test]
    async fn every_page_carries_the_security_headers() {
        let app = spawn_app().await;
        let id = app.book_id("Ada", "2026-04-01", "2026-04-01").await;
        let forged = app
            .client
            .post(app.url("/"))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        let refused = app.post_form("/", &[("user_name", "")]).await;
        let pages = [
            app.get("/").await,
            app.get("/?month=2026-04").await,
            app.get(&format!("/delete/{id}?month=2026-04")).await,
            app.get("/?month=2026-13").await,
            app.get("/delete/not-an-id").await,
            forged,
            refused,
        ];
        for response in pages {
            let url = response.url().to_string();
            let headers = response.headers();
            let content_type = headers["content-type"].to_str().unwrap();
            assert!(content_type.starts_with("text/html"), "{url}");
            assert_security_headers(headers, &url);
        }
    }

    #[tokio::test]
    async fn month_page_has_navigation_and_an_empty_state() {
        let app = spawn_app().await;
        let page = app.get("/?month=2027-01").await.text().await.unwrap();
        assert!(
            page.contains(r#"<a href="/?month=2026-12" rel="prev""#)
                && page.contains(r#"<a href="/?month=2027-02" rel="next""#)
        );
        assert!(page.contains("<title>January 2027 · Leave Calendar</title>"));
        assert!(page.contains("No one is away in January 2027"));
        assert!(!page.contains("<script"), "no JavaScript needed");
        let this_month = || {
            jiff::Zoned::now()
                .with_time_zone(jiff::tz::TimeZone::UTC)
                .strftime("%B %Y")
                .to_string()
        };
        // Read before and after, in case the month ends between the two.
        let before = this_month();
        let today = app.get("/").await.text().await.unwrap();
        assert!(
            [before, this_month()]
                .iter()
                .any(|month| today.contains(&format!("<title>{month} · Leave Calendar</title>"))),
            "opens on this month"
        );
        assert!(today.contains(r#"aria-current="date""#), "today is marked");
        assert!(
            today.contains("Days begin at midnight UTC"),
            "the page says whose today"
        );
    }

    #[tokio::test]
    async fn days_of_other_months_name_their_month() {
        let app = spawn_app().await;
        app.book("Ada", "2026-03-01", "2026-03-01").await;
        // February 2026's grid runs from Monday 26 January to Sunday 1 March.
        let february = app.get("/?month=2026-02").await.text().await.unwrap();
        for (date, title) in [
            ("2026-01-26", "January 2026"),
            ("2026-01-31", "January 2026"),
            ("2026-03-01", "March 2026"),
        ] {
            let cell = cell_html(&february, date);
            // A screen reader reads the day as "1 March 2026", not "1". No link: the grid would
            // put a dozen of them between the month's navigation and the form.
            assert!(
                cell.contains(&format!(
                    r#"</time><span class="visually-hidden"> {title}</span>"#
                )),
                "{date}: {cell}"
            );
            assert!(!cell.contains("<a "), "{date}: {cell}");
            assert!(!cell.contains("Ada"), "no one away on {date}: {cell}");
        }
        for date in ["2026-02-01", "2026-02-28"] {
            let cell = cell_html(&february, date);
            assert!(
                !cell.contains("2026</span>"),
                "days of the month itself are only numbers: {cell}"
            );
        }
    }

    #[tokio::test]
    async fn names_are_isolated_from_the_text_around_them() {
        // A right-to-left name ending in characters without a direction of their own: next to
        // other text, without isolation, "<3" would move to the other side of the name.
        let app = spawn_app().await;
        let name = "ليلى <3";
        let isolated = "<bdi>ليلى &#60;3</bdi>";
        let id = app.book_id(name, "2026-04-06", "2026-04-07").await;
        app.book("Ann", "2026-04-07", "2026-04-07").await;
        let page = app.get("/?month=2026-04").await.text().await.unwrap();

        // The grid: each name on the day.
        let cell = cell_html(&page, "2026-04-07");
        assert!(cell.contains(isolated), "grid: {cell}");
        assert!(cell.contains("<bdi>Ann</bdi>"), "grid: {cell}");
        // The list of bookings, where the dates follow the name.
        let list = &page[page.find(r#"<table class="list">"#).expect("list")..];
        assert!(list.contains(isolated), "list: {list}");

        // The delete confirmation: its details, and its title, where no markup can go, with
        // Unicode's isolates (FSI … PDI).
        let confirm = app
            .get(&format!("/delete/{id}?month=2026-04"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            confirm.contains(&format!("<dd>{isolated}</dd>")),
            "confirmation: {confirm}"
        );
        assert!(
            confirm.contains("<title>Delete \u{2068}ليلى &#60;3\u{2069}&#39;s leave"),
            "title: {confirm}"
        );

        // A refusal that quotes the name.
        let refused = app
            .post_booking_form(name, "2026-04-07", "2026-04-08")
            .await;
        assert_eq!(refused.status(), 409);
        let refused = refused.text().await.unwrap();
        assert!(
            refused.contains(&format!(
                r#"id="form-error">{isolated} already has leave booked on Tue 7 Apr 2026.</p>"#
            )),
            "refusal: {refused}"
        );
        // The form's own field keeps the name as typed, not isolated (an attribute).
        assert!(
            refused.contains(r#"value="ليلى &#60;3""#),
            "form: {refused}"
        );
    }

    /// A page confirms what the form did only when its bookings bear it out: loaded again later,
    /// or with another id, it says nothing untrue.
    #[tokio::test]
    async fn a_notice_says_only_what_the_page_shows() {
        let app = spawn_app().await;
        let notice = async |query: &str| -> Option<String> {
            let page = app.get(&format!("/?{query}")).await;
            assert_eq!(page.status(), 200, "{query}");
            let page = page.text().await.unwrap();
            let start = page.find(r#"<p class="notice""#)?;
            Some(page[start..start + page[start..].find("</p>").unwrap()].to_owned())
        };
        let one_day = app.book_id("Ada", "2026-05-04", "2026-05-04").await;
        let said = notice(&format!("month=2026-05&booked={one_day}")).await;
        assert!(
            said.as_deref()
                .is_some_and(|s| s.ends_with("<bdi>Ada</bdi> on Mon 4 May 2026.")),
            "{said:?}"
        );
        // The booking is not on that month's page, or not anywhere.
        assert_eq!(
            notice(&format!("month=2026-06&booked={one_day}")).await,
            None
        );
        let unknown = "01JQ0000000000000000000000";
        assert_eq!(
            notice(&format!("month=2026-05&booked={unknown}")).await,
            None
        );
        // "Deleted" of a booking that still exists, on this page or another, would be untrue.
        for month in ["2026-05", "2026-06"] {
            let query = format!("month={month}&deleted={one_day}");
            assert_eq!(notice(&query).await, None, "{query}");
        }
        assert_eq!(
            app.delete(&format!("/api/v1/bookings/{one_day}"))
                .await
                .status(),
            204
        );
        assert_eq!(
            notice(&format!("month=2026-05&booked={one_day}")).await,
            None
        );
        assert!(
            notice(&format!("month=2026-05&deleted={one_day}"))
                .await
                .is_some_and(|s| s.ends_with("The booking was deleted."))
        );
    }

    #[tokio::test]
    async fn the_same_form_sent_twice_books_once() {
        let app = spawn_app().await;
        let key = form_key(&app.get("/?month=2026-04").await.text().await.unwrap());
        let other = form_key(&app.get("/?month=2026-04").await.text().await.unwrap());
        assert_ne!(key, other, "every form shown gets a key of its own");
        let april = async || app.listed("month=2026-04").await.len();

        // Ada's booking form, as the page's form posts it.
        let send = async |from: &str, to: &str, key: &str| {
            let fields = [
                ("user_name", "Ada"),
                ("from_date", from),
                ("to_date", to),
                ("idempotency_key", key),
            ];
            app.post_form("/", &fields).await
        };

        // A double click, or the form sent again after its answer was lost.
        let mut locations = Vec::new();
        for attempt in 0..2 {
            let response = send("2026-04-06", "2026-04-07", &key).await;
            assert_eq!(response.status(), 303, "attempt {attempt}");
            locations.push(response.headers()["location"].to_str().unwrap().to_owned());
        }
        assert!(
            locations[0].starts_with("/?month=2026-04&booked="),
            "{locations:?}"
        );
        assert_eq!(locations[0], locations[1], "both confirm the one booking");
        assert_eq!(april().await, 1, "booked once");

        // The same form, changed after it was sent (the browser's back button): refused with
        // a fresh form, nothing more booked.
        let response = send("2026-04-20", "2026-04-20", &key).await;
        assert_eq!(response.status(), 422);
        let page = response.text().await.unwrap();
        assert!(
            page.contains("This form was already sent for another booking."),
            "{page}"
        );
        assert!(page.contains(r#"value="2026-04-20""#), "input kept");
        let fresh = form_key(&page);
        assert_ne!(fresh, key);
        assert_eq!(april().await, 1);
        assert_eq!(send("2026-04-20", "2026-04-20", &fresh).await.status(), 303);
        assert_eq!(april().await, 2);

        // Sent again after the booking it made was deleted: the page says so.
        let booked = app.listed("from=2026-04-20&to=2026-04-20").await;
        let id = booked[0]["id"].as_str().unwrap();
        assert_eq!(
            app.delete(&format!("/api/v1/bookings/{id}")).await.status(),
            204
        );
        let response = send("2026-04-20", "2026-04-20", &fresh).await;
        assert_eq!(response.status(), 422);
        let page = response.text().await.unwrap();
        assert!(
            page.contains("the booking it made has since been deleted"),
            "{page}"
        );
        assert_eq!(april().await, 1);
    }

    /// Outside the API an error's form depends on `Accept`, and caches are told so (`Vary`).
    #[tokio::test]
    async fn browsers_get_errors_as_pages_and_the_api_stays_json() {
        let app = spawn_app().await;
        let browse = async |path: &str| {
            app.client
                .get(app.url(path))
                .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
                .send()
                .await
                .unwrap()
        };
        let kind = |response: &reqwest::Response| {
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned()
        };
        // The fallback, and an extractor's refusal of a page's query.
        for (path, status, message) in [
            ("/no/such/page", 404, "No such resource: /no/such/page."),
            ("/?month=2026-03&month=2026-04", 400, "month"),
        ] {
            let response = browse(path).await;
            assert_eq!(response.status(), status, "{path}");
            assert!(kind(&response).starts_with("text/html"), "{path}");
            assert_eq!(response.headers()["vary"], "accept", "{path}");
            let page = response.text().await.unwrap();
            assert!(page.contains(message), "{path}: {page}");
        }
        // The API, and clients that do not ask for HTML, keep problem+json.
        let api = browse("/api/v1/nope").await;
        assert_eq!(api.status(), 404);
        assert_eq!(kind(&api), "application/problem+json");
        assert!(
            api.headers().get("vary").is_none(),
            "the API answers one way"
        );
        let program = app.get("/no/such/page").await;
        assert_eq!(program.status(), 404);
        assert_eq!(kind(&program), "application/problem+json");
        assert_eq!(program.headers()["vary"], "accept");
    }

    /// A browser's error page for a method the resource does not have still says which it
    /// has (`Allow`, required with 405 by RFC 9110), as the API's answer does.
    #[tokio::test]
    async fn method_not_allowed_says_which_methods_are_allowed() {
        let app = spawn_app().await;
        let put = async |path: &str| {
            app.client
                .put(app.url(path))
                .header("accept", "text/html")
                .send()
                .await
                .unwrap()
        };
        let allowed = |response: &reqwest::Response| -> Vec<String> {
            let allow = response.headers().get("allow").expect("an Allow header");
            let allow = allow.to_str().unwrap().split(',');
            allow.map(|method| method.trim().to_owned()).collect()
        };
        for (path, content_type) in [
            ("/", "text/html; charset=utf-8"),
            ("/api/v1/bookings", "application/problem+json"),
        ] {
            let response = put(path).await;
            assert_eq!(response.status(), 405, "{path}");
            assert_eq!(response.headers()["content-type"], content_type, "{path}");
            let methods = allowed(&response);
            assert!(
                methods.contains(&"GET".to_owned()) && methods.contains(&"POST".to_owned()),
                "{path}: {methods:?}"
            );
            assert!(!methods.contains(&"PUT".to_owned()), "{path}: {methods:?}");
            let body = response.text().await.unwrap();
            assert!(body.contains("PUT is not allowed"), "{path}: {body}");
        }
    }

    /// The URL of the asset whose URL starts with `prefix`, as `page` links to it.
    fn linked_url<'a>(page: &'a str, prefix: &str) -> &'a str {
        let start = page.find(prefix).expect(prefix);
        &page[start..start + page[start..].find('"').unwrap()]
    }

    /// The hidden idempotency key of the booking form in `page`.
    fn form_key(page: &str) -> String {
        support::field_value(page, "idempotency_key")
    }

    /// The `<td>` of one day in the month grid.
    fn cell_html<'a>(page: &'a str, date: &str) -> &'a str {
        let start = page
            .find(&format!(r#"data-date="{date}""#))
            .expect("day in grid");
        let end = page[start..].find("</td>").unwrap();
        &page[start..start + end]
    }
}

#[tokio::test]
async fn idempotency_keys_make_creates_safe_to_retry() {
    let app = spawn_app().await;
    let post = |key: &'static str, body: Value| {
        let app = &app;
        async move { app.post_json_with_key("/api/v1/bookings", key, &body).await }
    };
    let body = json!({"user_name": "Kim", "from_date": "2026-08-03", "to_date": "2026-08-04"});
    let first = post("order-42", body.clone()).await;
    assert_eq!(
        (
            first.status().as_u16(),
            first.headers()["idempotent-replayed"].to_str().unwrap()
        ),
        (201, "false")
    );
    let first: Value = first.json().await.unwrap();
    let again = post("order-42", body).await;
    assert_eq!(
        (
            again.status().as_u16(),
            again.headers()["idempotent-replayed"].to_str().unwrap()
        ),
        (201, "true")
    );
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        first,
        "the first booking, not a new one"
    );

    let other = post(
        "order-42",
        json!({"user_name": "Kim", "from_date": "2026-08-10", "to_date": "2026-08-11"}),
    )
    .await;
    assert_eq!(
        other.status(),
        422,
        "the key was used for a different booking"
    );
    let page: Value = app
        .get("/api/v1/bookings?month=2026-08")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}
