//! The name last booked with, remembered in a cookie so that the booking form is filled in
//! with it next time. It works without JavaScript: the server reads the cookie and fills the
//! field. The cookie holds nothing but the name, percent-encoded, and is validated like any
//! other input when it comes back.

use std::convert::Infallible;
use std::fmt::Write as _;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

use super::middleware::reached_over_https;
use crate::domain::PersonName;

/// The cookie's name.
pub const COOKIE: &str = "leave_calendar_name";

/// How long the name is remembered: 180 days.
pub const MAX_AGE_SECS: u32 = 180 * 24 * 60 * 60;

/// The `Set-Cookie` value that remembers `name`. `HttpOnly`: no script needs it;
/// `SameSite=Lax`: it is not sent with other sites' posts; `Secure` when the browser reached
/// the app over HTTPS (`X-Forwarded-Proto` from the load balancer), so a local run over plain
/// HTTP still works.
pub fn set_cookie(name: &PersonName, request: &HeaderMap) -> HeaderValue {
    let secure = reached_over_https(request);
    let value = format!(
        "{COOKIE}={}; Path=/; Max-Age={MAX_AGE_SECS}; HttpOnly; SameSite=Lax{}",
        encode(name.as_str()),
        if secure { "; Secure" } else { "" }
    );
    // Percent-encoding leaves only ASCII letters, digits, `-._~%`: always a valid header value.
    HeaderValue::try_from(value).expect("percent-encoded cookie is a valid header value")
}

/// The remembered name, as an extractor: it reads the request's headers where they are (the
/// `HeaderMap` extractor would copy them all).
pub struct Remembered(pub Option<PersonName>);

impl<S: Send + Sync> FromRequestParts<S> for Remembered {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(read(&parts.headers)))
    }
}

/// The remembered name, if the request carries a valid one.
pub fn read(headers: &HeaderMap) -> Option<PersonName> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .and_then(|(_, value)| decode(value))
        .and_then(|text| PersonName::parse(&text).ok())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Reverses [`encode`]; `None` for malformed escapes or bytes that are not UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request_with(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    #[test]
    fn cookie_is_bounded_and_not_for_scripts() {
        let name = PersonName::parse("Ada Lovelace").unwrap();
        let value = set_cookie(&name, &HeaderMap::new());
        let value = value.to_str().unwrap();
        assert!(value.starts_with("leave_calendar_name=Ada%20Lovelace;"));
        for attribute in ["Path=/", "Max-Age=15552000", "HttpOnly", "SameSite=Lax"] {
            assert!(value.contains(attribute), "{attribute} in {value}");
        }
        assert!(!value.contains("Secure"), "plain HTTP");
        let mut behind_tls = HeaderMap::new();
        behind_tls.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let value = set_cookie(&name, &behind_tls);
        assert!(value.to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn reads_the_name_among_other_cookies() {
        let headers = request_with("theme=dark; leave_calendar_name=Zo%C3%AB%3B%20O%27Neil; x=1");
        assert_eq!(read(&headers).unwrap().as_str(), "Zoë; O'Neil");
    }

    #[test]
    fn ignores_missing_malformed_or_invalid_values() {
        assert_eq!(read(&HeaderMap::new()), None);
        for cookie in [
            "other=Ada",
            "leave_calendar_name=",
            "leave_calendar_name=%20%20",
            "leave_calendar_name=%ZZ",
            "leave_calendar_name=%E",
            "leave_calendar_name=%FF",
            "leave_calendar_name=a%00b",
        ] {
            assert_eq!(read(&request_with(cookie)), None, "{cookie}");
        }
        let long = format!("leave_calendar_name={}", "x".repeat(101));
        assert_eq!(read(&request_with(&long)), None);
    }

    proptest! {
        #[test]
        fn every_valid_name_survives_the_round_trip(raw in "\\PC{1,100}") {
            if let Ok(name) = PersonName::parse(&raw) {
                let set = set_cookie(&name, &HeaderMap::new());
                let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
                prop_assert_eq!(read(&request_with(&pair)), Some(name));
            }
        }
    }
}
