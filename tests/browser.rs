//! The calendar in a real browser: Debian's headless Chromium, driven over WebDriver against a
//! real instance on port 0. The booking scenario runs twice, with JavaScript on and off; the
//! layout checks save screenshots to `target/screenshots/`; axe-core checks accessibility.
//!
//! Run with `scripts/test browser` (or `cargo test --test browser`); it needs `chromium` and
//! `chromium-driver`, and `npm ci --prefix tests/axe` for axe-core.

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use jiff::civil::{Date, Weekday};
use leave_calendar::config::Settings;
use leave_calendar::domain::{Month, today};
use serde_json::{Value, json};
use support::browser::{Browser, Driver, Options, screenshot_dir};
use support::{spawn_app, spawn_app_with};

#[tokio::test]
async fn booking_scenario_with_javascript() {
    booking_scenario(Options::DESKTOP).await;
}

#[tokio::test]
async fn booking_scenario_without_javascript() {
    booking_scenario(Options::DESKTOP_NO_JS).await;
}

/// Books through the form, finds the booking in the grid and the list, follows it into the
/// next month and back, is refused with a clear message and the input kept, and deletes it.
async fn booking_scenario(options: Options) {
    let app = spawn_app().await;
    let mut driver = Driver::start();
    let browser = driver.session(options).await;
    assert_javascript(&browser, options.javascript).await;

    // An empty month says so, and the title names the month.
    browser.goto(&app.url("/?month=2026-02")).await;
    assert_eq!(browser.title().await, "February 2026 · Leave Calendar");
    assert!(
        browser
            .text("section.bookings")
            .await
            .contains("No one is away in February 2026")
    );

    // Book leave through the form: back on the month, in the grid and in the list.
    browser.type_text("#user_name", "Grace Hopper").await;
    browser.type_date("#from_date", "2026-02-26").await;
    browser.type_date("#to_date", "2026-03-03").await;
    browser.click("form.booking-form button[type=submit]").await;
    wait_for_form_done(&browser, "/?month=2026-02&booked=").await;
    assert_eq!(
        browser.text("p.notice").await,
        "Booked leave for Grace Hopper from Thu 26 Feb 2026 to Tue 3 Mar 2026."
    );
    assert_eq!(
        browser.title().await,
        "Booked: February 2026 · Leave Calendar"
    );
    for day in ["2026-02-26", "2026-02-27", "2026-02-28"] {
        assert_eq!(away_on(&browser, day).await, ["Grace Hopper"], "{day}");
    }
    assert!(away_on(&browser, "2026-02-25").await.is_empty());
    let list = browser.text("table.list tbody").await;
    assert!(
        list.contains("Grace Hopper")
            && list.contains("Thu 26 Feb 2026")
            && list.contains("Tue 3 Mar 2026"),
        "{list}"
    );
    assert_eq!(
        browser.value("#user_name").await,
        "Grace Hopper",
        "the form remembers the name"
    );
    assert_eq!(browser.value("#from_date").await, "");

    // The booking spans into March: next month shows it, and back again.
    browser.click("a[rel=next]").await;
    wait_for_location(&browser, "/?month=2026-03").await;
    assert_eq!(browser.title().await, "March 2026 · Leave Calendar");
    for day in ["2026-03-01", "2026-03-02", "2026-03-03"] {
        assert_eq!(away_on(&browser, day).await, ["Grace Hopper"], "{day}");
    }
    assert!(away_on(&browser, "2026-03-04").await.is_empty());
    assert!(browser.text("table.list").await.contains("Grace Hopper"));
    browser.click("a[rel=prev]").await;
    wait_for_location(&browser, "/?month=2026-02").await;
    assert_eq!(away_on(&browser, "2026-02-26").await, ["Grace Hopper"]);

    // An overlapping booking of the same person (any case) is refused; the input stays.
    browser.type_text("#user_name", "grace hopper").await;
    browser.type_date("#from_date", "2026-03-03").await;
    browser.type_date("#to_date", "2026-03-05").await;
    browser.click("form.booking-form button[type=submit]").await;
    let message = wait_for_text(&browser, "p.error[role=alert]").await;
    assert_eq!(
        message,
        "grace hopper already has leave booked on Tue 3 Mar 2026."
    );
    assert_eq!(browser.value("#user_name").await, "grace hopper");
    assert_eq!(browser.value("#from_date").await, "2026-03-03");
    assert_eq!(browser.value("#to_date").await, "2026-03-05");
    assert_eq!(browser.title().await, "Error: March 2026 · Leave Calendar");

    // So is an invalid one, with the field at fault marked.
    browser.type_text("#user_name", "Alan Turing").await;
    browser.type_date("#from_date", "2026-03-10").await;
    browser.type_date("#to_date", "2026-03-05").await;
    browser.click("form.booking-form button[type=submit]").await;
    // The page still shows the previous refusal until the new one arrives.
    let message = wait_for_new_text(&browser, "p.error[role=alert]", &message).await;
    assert_eq!(
        message,
        "The last day (Thu 5 Mar 2026) is before the first day (Tue 10 Mar 2026)."
    );
    assert_eq!(browser.value("#user_name").await, "Alan Turing");
    assert_eq!(browser.value("#from_date").await, "2026-03-10");
    assert_eq!(browser.value("#to_date").await, "2026-03-05");
    let invalid = browser.find("#to_date").await.attr("aria-invalid").await;
    assert_eq!(invalid.unwrap(), Some("true".to_owned()));

    // A name typed with combining accents: 200 UTF-16 code units, which a `maxlength` of 100
    // would cut in half, and 100 characters once composed, which the server accepts.
    browser.goto(&app.url("/?month=2026-04")).await;
    browser
        .type_text("#user_name", &"e\u{301}".repeat(100))
        .await;
    browser.type_date("#from_date", "2026-04-06").await;
    browser.type_date("#to_date", "2026-04-06").await;
    browser.click("form.booking-form button[type=submit]").await;
    wait_for_form_done(&browser, "/?month=2026-04&booked=").await;
    assert_eq!(
        away_on(&browser, "2026-04-06").await,
        ["\u{e9}".repeat(100)]
    );

    // Delete: a confirmation step first; cancelling keeps the booking.
    browser.goto(&app.url("/?month=2026-03")).await;
    browser.click("table.list a.danger").await;
    wait_for_text(&browser, "section.confirm h1").await;
    assert_eq!(
        browser.title().await,
        "Delete \u{2068}Grace Hopper\u{2069}'s leave · Leave Calendar"
    );
    let details = browser.text("dl.booking").await;
    assert!(details.contains("Thu 26 Feb 2026") && details.contains("Tue 3 Mar 2026"));
    browser.click("form.actions a").await;
    wait_for_location(&browser, "/?month=2026-03").await;
    assert!(browser.text("table.list").await.contains("Grace Hopper"));

    browser.click("table.list a.danger").await;
    wait_for_text(&browser, "section.confirm h1").await;
    browser.click("form.actions button").await;
    wait_for_form_done(&browser, "/?month=2026-03&deleted=").await;
    assert_eq!(browser.text("p.notice").await, "The booking was deleted.");
    assert_eq!(
        browser.title().await,
        "Deleted: March 2026 · Leave Calendar"
    );
    assert!(!browser.exists("table.list").await);
    assert!(
        browser
            .text("section.bookings")
            .await
            .contains("No one is away in March 2026")
    );
    assert!(away_on(&browser, "2026-03-02").await.is_empty());
    let left = app.get("/api/v1/bookings?month=2026-03").await;
    assert_eq!(left.json::<Value>().await.unwrap()["items"], json!([]));

    browser.close().await;
}

#[tokio::test]
async fn keyboard_only_booking_and_deletion() {
    let app = spawn_app().await;
    let mut driver = Driver::start();
    for options in [Options::DESKTOP, Options::DESKTOP_NO_JS] {
        let browser = driver.session(options).await;
        browser.goto(&app.url("/?month=2026-06")).await;

        tab_to(&browser, "#user_name").await;
        press(&browser, "Kay Board").await;
        press(&browser, &Key::Tab.to_string()).await;
        assert_focused(&browser, "#from_date").await;
        // A date field is typed segment by segment: month, day, year (en-US).
        press(&browser, "06082026").await;
        assert_eq!(browser.value("#from_date").await, "2026-06-08");
        tab_to(&browser, "#to_date").await;
        press(&browser, "06102026").await;
        assert_eq!(browser.value("#to_date").await, "2026-06-10");
        tab_to(&browser, "form.booking-form button").await;
        assert_focus_visible(&browser).await;
        press(&browser, &Key::Enter.to_string()).await;
        wait_for_form_done(&browser, "/?month=2026-06&booked=").await;
        assert_eq!(away_on(&browser, "2026-06-09").await, ["Kay Board"]);

        tab_to(&browser, "table.list a.danger").await;
        assert_focus_visible(&browser).await;
        press(&browser, &Key::Enter.to_string()).await;
        wait_for_text(&browser, "section.confirm h1").await;
        tab_to(&browser, "form.actions button").await;
        assert_focus_visible(&browser).await;
        press(&browser, &Key::Enter.to_string()).await;
        wait_for_form_done(&browser, "/?month=2026-06&deleted=").await;
        assert!(
            away_on(&browser, "2026-06-09").await.is_empty(),
            "deleted with JavaScript {}",
            if options.javascript { "on" } else { "off" }
        );
        browser.close().await;
    }
}

#[tokio::test]
async fn month_view_layout_at_desktop_and_phone_width() {
    let today = today_for_a_while().await;
    let app = spawn_app().await;
    let month = Month::containing(today);
    let day = |n: i8| Date::new(month.first_day().year(), month.first_day().month(), n).unwrap();
    app.book("Ada Lovelace", &day(3).to_string(), &day(5).to_string())
        .await;
    app.book("Grace Hopper", &day(4).to_string(), &day(8).to_string())
        .await;
    app.book("Ada Lovelace", &day(20).to_string(), &day(21).to_string())
        .await;
    app.book(UNBROKEN, &day(15).to_string(), &day(16).to_string())
        .await;
    // A long name without spaces must not widen the page on a phone.
    app.book(
        "Maximiliana-Wilhelmina-Konstantinopoulou-Papadimitriou",
        &day(12).to_string(),
        &day(13).to_string(),
    )
    .await;
    let in_month = |weekday: Weekday| {
        month
            .days()
            .iter_days()
            .find(|d| d.weekday() == weekday && *d != today)
            .unwrap()
            .to_string()
    };
    let (saturday, wednesday) = (in_month(Weekday::Saturday), in_month(Weekday::Wednesday));

    let mut driver = Driver::start();
    for (options, name) in [(Options::DESKTOP, "desktop"), (Options::PHONE, "375")] {
        let browser = driver.session(options).await;
        browser.goto(&app.url("/")).await;
        browser
            .full_page_screenshot(&screenshot_dir().join(format!("month-{name}.png")))
            .await;
        assert_no_horizontal_scroll(&browser, name).await;

        // Today: marked for assistive technology and visibly.
        let marked = browser.find_all("td[aria-current=date]").await;
        assert_eq!(marked.len(), 1, "exactly one day is today");
        let date = marked[0].attr("data-date").await.unwrap();
        assert_eq!(date.as_deref(), Some(today.to_string().as_str()));
        let today_css = format!("td[data-date='{today}']");
        let wednesday_css = format!("td[data-date='{wednesday}']");
        assert_ne!(
            style(&browser, &today_css, "boxShadow").await,
            style(&browser, &wednesday_css, "boxShadow").await,
            "today stands out ({name})"
        );

        // Weekends look different from weekdays.
        assert_ne!(
            style(
                &browser,
                &format!("td[data-date='{saturday}']"),
                "backgroundColor"
            )
            .await,
            style(&browser, &wednesday_css, "backgroundColor").await,
            "weekends are distinguishable ({name})"
        );

        // Each person has a colour of their own, the same on every day.
        let chip =
            |date: Date, person: &str| format!("td[data-date='{date}'] li[title='{person}']");
        let ada = style(&browser, &chip(day(4), "Ada Lovelace"), "backgroundColor").await;
        let grace = style(&browser, &chip(day(4), "Grace Hopper"), "backgroundColor").await;
        assert_ne!(ada, grace, "two people look different ({name})");
        assert_eq!(
            style(&browser, &chip(day(20), "Ada Lovelace"), "backgroundColor").await,
            ada
        );
        assert_ne!(
            style(&browser, &chip(day(4), "Ada Lovelace"), "borderLeftColor").await,
            style(&browser, &chip(day(4), "Grace Hopper"), "borderLeftColor").await,
        );

        // The other pages fit too.
        browser.click("table.list a.danger").await;
        wait_for_text(&browser, "section.confirm h1").await;
        browser
            .full_page_screenshot(&screenshot_dir().join(format!("confirm-{name}.png")))
            .await;
        assert_no_horizontal_scroll(&browser, name).await;
        browser.goto(&app.url("/?month=2026-03")).await;
        assert_tab_order_is_reading_order(&browser, "nav.months a", name).await;
        browser
            .type_text("#user_name", "Someone With A Rather Long Name Indeed")
            .await;
        browser.type_date("#from_date", "2026-03-10").await;
        browser.type_date("#to_date", "2026-03-05").await;
        browser.click("form.booking-form button[type=submit]").await;
        wait_for_text(&browser, "p.error").await;
        browser
            .full_page_screenshot(&screenshot_dir().join(format!("refused-{name}.png")))
            .await;
        assert_no_horizontal_scroll(&browser, name).await;

        // A refusal that quotes a long name with nowhere to break fits as well.
        browser.goto(&app.url("/")).await;
        browser.type_text("#user_name", UNBROKEN).await;
        browser.type_date("#from_date", &day(16).to_string()).await;
        browser.type_date("#to_date", &day(16).to_string()).await;
        browser.click("form.booking-form button[type=submit]").await;
        wait_for_text(&browser, "p.error").await;
        assert!(browser.text("p.error").await.contains(UNBROKEN));
        assert_no_horizontal_scroll(&browser, name).await;
        browser.close().await;
    }
}

#[tokio::test]
async fn axe_finds_no_serious_accessibility_violation() {
    let axe = axe_source();
    let month = Month::containing(today_for_a_while().await);
    let app = spawn_app().await;
    let first = month.first_day();
    app.book("Ada Lovelace", &first.to_string(), &first.to_string())
        .await;
    let id = app
        .book_id(
            "Grace Hopper",
            &first.to_string(),
            &month.last_day().to_string(),
        )
        .await;

    let mut driver = Driver::start();
    for options in [Options::DESKTOP, Options::PHONE] {
        let browser = driver.session(options).await;
        // The check itself works: a page with an unlabelled field and low contrast fails it.
        browser
            .goto("data:text/html,<html><title>t</title><input><p style='color:%23bbb'>faint</p></html>")
            .await;
        let found = axe_violations(&browser, &axe).await;
        let ids: Vec<&str> = found.iter().filter_map(|v| v["id"].as_str()).collect();
        assert!(
            ids.contains(&"label") && ids.contains(&"color-contrast"),
            "{ids:?}"
        );

        for path in [
            "/".to_owned(),
            "/?month=2026-01".to_owned(),
            format!("/delete/{id}"),
            "/delete/01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(),
            // The notices after a booking and after a deletion.
            format!("/?month={month}&booked={id}"),
            "/?deleted=01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(),
        ] {
            browser.goto(&app.url(&path)).await;
            assert_accessible(&browser, &axe, &path).await;
        }
        // The refused form, with its message.
        browser.goto(&app.url("/?month=2026-01")).await;
        browser.type_text("#user_name", "Ada").await;
        browser.type_date("#from_date", "2026-01-10").await;
        browser.type_date("#to_date", "2026-01-02").await;
        browser.click("form.booking-form button[type=submit]").await;
        wait_for_text(&browser, "p.error").await;
        assert_accessible(&browser, &axe, "the refused form").await;
        browser.close().await;
    }
}

/// A booking the store saved but did not confirm: the page says so, holds the booking, passes
/// axe, and its one button books it once.
#[tokio::test]
async fn a_booking_the_store_did_not_confirm_is_sent_again_and_booked_once() {
    let axe = axe_source();
    let (store, lose_creates) = support::losing_creates();
    let app = spawn_app_with(store, Settings::defaults()).await;
    let mut driver = Driver::start();
    let browser = driver.session(Options::DESKTOP).await;

    browser.goto(&app.url("/?month=2026-02")).await;
    lose_creates.store(true, Ordering::SeqCst);
    browser.type_text("#user_name", "Grace Hopper").await;
    browser.type_date("#from_date", "2026-02-26").await;
    browser.type_date("#to_date", "2026-02-27").await;
    browser.click("form.booking-form button[type=submit]").await;
    let alert = wait_for_text(&browser, "p.error").await;
    assert!(alert.contains("may not have been saved"), "{alert}");
    assert_eq!(
        browser.title().await,
        "Service Unavailable · Leave Calendar"
    );
    assert!(browser.text("main").await.contains("Grace Hopper"));
    assert_accessible(&browser, &axe, "the booking to send again").await;

    lose_creates.store(false, Ordering::SeqCst);
    browser.click("main form button[type=submit]").await;
    wait_for_form_done(&browser, "/?month=2026-02&booked=").await;
    assert_eq!(away_on(&browser, "2026-02-26").await, ["Grace Hopper"]);
    assert_eq!(browser.find_all("table.list tbody tr").await.len(), 1);
    browser.close().await;
}

#[tokio::test]
async fn another_site_cannot_post_the_forms() {
    let app = spawn_app().await;
    let id = app.book_id("Victim", "2026-09-01", "2026-09-02").await;
    // A page on another site (localhost is another site than 127.0.0.1) with forms that post
    // to the calendar.
    let target = format!("http://{}", app.address);
    let evil = format!(
        r#"<!doctype html><title>Other site</title>
<form id="book" method="post" action="{target}/"><input type="hidden" name="user_name" value="Mallory">
<input type="hidden" name="from_date" value="2026-09-07"><input type="hidden" name="to_date" value="2026-09-08">
<button>Book</button></form>
<form id="delete" method="post" action="{target}/delete/{id}"><button>Delete</button></form>"#
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_site = format!(
        "http://localhost:{}/",
        listener.local_addr().unwrap().port()
    );
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(evil) }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut driver = Driver::start();
    let browser = driver.session(Options::DESKTOP_NO_JS).await;
    for form in ["#book button", "#delete button"] {
        browser.goto(&other_site).await;
        browser.click(form).await;
        let message = wait_for_text(&browser, "p.error").await;
        assert!(message.contains("sent from another site"), "{message}");
        assert_eq!(browser.title().await, "Forbidden · Leave Calendar");
    }
    let september = app.get("/api/v1/bookings?month=2026-09").await;
    let items = september.json::<Value>().await.unwrap()["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items[0]["user_name"], "Victim");
    browser.close().await;
}

// --- helpers ---

/// Today, once no UTC midnight is due for a few minutes. The tests that look at the current
/// month read today once and expect the app's "/" to show the same day and month until they
/// end; a test started in the last minutes of a day waits for the next one (minutes at most,
/// once a day) rather than fail by chance.
async fn today_for_a_while() -> Date {
    const MARGIN: i64 = 3 * 60;
    let now = jiff::Timestamp::now().as_second();
    let to_midnight = 86_400 - now.rem_euclid(86_400);
    if to_midnight <= MARGIN {
        tokio::time::sleep(Duration::from_secs(to_midnight.unsigned_abs() + 1)).await;
    }
    today()
}

/// Proves the session's JavaScript setting took effect: a page script either runs or not.
async fn assert_javascript(browser: &Browser, enabled: bool) {
    browser
        .goto("data:text/html,<title>off</title><script>document.title='on'</script>")
        .await;
    let expected = if enabled { "on" } else { "off" };
    assert_eq!(browser.title().await, expected, "page JavaScript");
}

/// The names shown on one day of the grid.
async fn away_on(browser: &Browser, date: &str) -> Vec<String> {
    let mut names = Vec::new();
    for chip in browser
        .find_all(&format!("td[data-date='{date}'] ul.away li"))
        .await
    {
        names.push(chip.text().await.unwrap());
    }
    names
}

async fn wait_for_location(browser: &Browser, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let location = browser.location().await;
        if location == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected to be on {expected}, still on {location}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for the month page a form redirects to: `prefix` (`/?month=…&booked=`), then the
/// booking's id.
async fn wait_for_form_done(browser: &Browser, prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let location = browser.location().await;
        if location
            .strip_prefix(prefix)
            .is_some_and(|id| id.len() == 26 && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected to be on {prefix}<id>, still on {location}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for an element to appear (the next page to load) and returns its text.
async fn wait_for_text(browser: &Browser, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(element) = browser.find_all(css).await.into_iter().next() {
            if let Ok(text) = element.text().await {
                return text;
            }
        }
        assert!(Instant::now() < deadline, "{css} did not appear");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Like [`wait_for_text`], for an element whose text before the last action was `previous`.
async fn wait_for_new_text(browser: &Browser, css: &str, previous: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = wait_for_text(browser, css).await;
        if text != previous {
            return text;
        }
        assert!(Instant::now() < deadline, "{css} still says '{previous}'");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Presses keys, one after the other, on whatever has the focus: WebDriver's key actions, the
/// closest thing to a keyboard.
async fn press(browser: &Browser, keys: &str) {
    let mut actions = KeyActions::new("keyboard".to_owned());
    for key in keys.chars() {
        actions = actions
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
    }
    browser
        .client
        .perform_actions(actions)
        .await
        .expect("keys pressed");
}

async fn is_focused(browser: &Browser, css: &str) -> bool {
    browser
        .script(
            "return document.activeElement.matches(arguments[0]);",
            vec![json!(css)],
        )
        .await
        == json!(true)
}

async fn assert_focused(browser: &Browser, css: &str) {
    let focused = browser
        .script("return document.activeElement.outerHTML;", vec![])
        .await;
    assert!(
        is_focused(browser, css).await,
        "{css} should have the focus, not {focused}"
    );
}

/// Presses Tab until `css` has the focus (at most 40 times).
async fn tab_to(browser: &Browser, css: &str) {
    for _ in 0..40 {
        if is_focused(browser, css).await {
            return;
        }
        press(browser, &Key::Tab.to_string()).await;
    }
    panic!("Tab never reached {css}");
}

/// The focused element shows a focus ring.
async fn assert_focus_visible(browser: &Browser) {
    let ring = browser
        .script(
            "const s = getComputedStyle(document.activeElement);
             return [document.activeElement.matches(':focus-visible'), s.outlineStyle, s.outlineWidth];",
            vec![],
        )
        .await;
    assert_eq!(ring[0], json!(true), "{ring}");
    assert_ne!(ring[1], json!("none"), "{ring}");
    let width: f64 = ring[2]
        .as_str()
        .and_then(|w| w.trim_end_matches("px").parse().ok())
        .unwrap_or(0.0);
    assert!(width >= 2.0, "focus ring at least 2px: {ring}");
}

async fn style(browser: &Browser, css: &str, property: &str) -> String {
    let value = browser
        .script(
            "const e = document.querySelector(arguments[0]);
             return e ? getComputedStyle(e)[arguments[1]] : null;",
            vec![json!(css), json!(property)],
        )
        .await;
    value
        .as_str()
        .unwrap_or_else(|| panic!("no element {css}"))
        .to_owned()
}

/// A name with no place to break a line, as long as names go.
const UNBROKEN: &str = "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW";

/// The elements matching `css` are laid out in the order the keyboard reaches them (the
/// document's): each on a lower line than the one before, or on the same line further right.
async fn assert_tab_order_is_reading_order(browser: &Browser, css: &str, name: &str) {
    let boxes = browser
        .script(
            "return [...document.querySelectorAll(arguments[0])].map(e => {
                 const r = e.getBoundingClientRect();
                 return [e.textContent.trim(), r.top, r.left];
             });",
            vec![json!(css)],
        )
        .await;
    let boxes = boxes.as_array().unwrap();
    assert!(boxes.len() >= 2, "{css}: {boxes:?}");
    for pair in boxes.windows(2) {
        let position = |b: &Value| (b[1].as_f64().unwrap(), b[2].as_f64().unwrap());
        let ((top_a, left_a), (top_b, left_b)) = (position(&pair[0]), position(&pair[1]));
        let next_line = top_b > top_a + 10.0;
        let same_line_right = (top_b - top_a).abs() <= 10.0 && left_b > left_a;
        assert!(
            next_line || same_line_right,
            "{name}: {} comes after {} for the keyboard but not on screen: {boxes:?}",
            pair[1][0],
            pair[0][0]
        );
    }
}

async fn assert_no_horizontal_scroll(browser: &Browser, name: &str) {
    let sizes = browser
        .script(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await;
    let (scroll, inner) = (sizes[0].as_i64().unwrap(), sizes[1].as_i64().unwrap());
    assert_eq!(
        inner,
        i64::from(browser.options.width),
        "viewport width ({name})"
    );
    assert!(
        scroll <= inner,
        "no horizontal scrolling at {inner}px on {}: content is {scroll}px wide",
        browser.location().await
    );
}

/// axe-core's browser build, installed from npm with the version pinned in tests/axe.
fn axe_source() -> String {
    let path = std::env::var_os("AXE_CORE_JS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/axe/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is needed at {} ({e}): run `npm ci --prefix tests/axe` \
             (scripts/test browser does)",
            path.display()
        )
    })
}

/// Runs axe-core in the page (injected through WebDriver, which the page's CSP does not
/// restrict) and fails on any serious or critical violation; lesser ones are printed.
async fn assert_accessible(browser: &Browser, axe: &str, page: &str) {
    let violations = axe_violations(browser, axe).await;
    for v in &violations {
        eprintln!("axe on {page} at {}px: {v}", browser.options.width);
    }
    let serious: Vec<&Value> = violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(
        serious.is_empty(),
        "serious accessibility violations on {page} at {}px: {serious:#?}",
        browser.options.width
    );
}

/// axe-core's violations on the current page (every impact level).
async fn axe_violations(browser: &Browser, axe: &str) -> Vec<Value> {
    let injected = browser
        .script(&format!("{axe}\nreturn typeof window.axe;"), vec![])
        .await;
    assert_eq!(injected, json!("object"), "axe-core loaded");
    let violations = browser
        .script(
            "return window.axe.run(document, {resultTypes: ['violations']}).then(r =>
               r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})));",
            vec![],
        )
        .await;
    violations.as_array().expect("axe results").clone()
}
