//! Extractors whose rejections are [`Error`]s, so malformed input gets problem+json too.
//!
//! They are stricter than axum's own in three ways. A JSON object with a key twice is refused:
//! axum's keeps the last one, so the value checked would not be the one a reader of the
//! request sees first. Percent-encoded text that does not decode to UTF-8 is refused: axum's
//! replaces it with U+FFFD, so a form would book a name nobody typed. And a body declared in a
//! `charset` other than UTF-8, JSON or form, is refused rather than misread.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::error::{Error, body_error, refused};

/// A JSON object body.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        check_json_type(&request)?;
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|r| body_error(r.status(), r.body_text()))?;
        parse_object(&body).map(Json)
    }
}

/// The `Content-Type` must be `application/json` or a type of the `+json` family; parameters
/// are allowed but for a `charset` other than UTF-8: JSON between systems is UTF-8 (RFC 8259),
/// and a body in another encoding would be misread.
fn check_json_type(request: &Request) -> Result<(), Error> {
    let json = |essence: &str| {
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    };
    check_media_type(request, json, "JSON", "application/json")
}

/// The `Content-Type` must be `application/x-www-form-urlencoded`, which browsers send without
/// a `charset`: the page is UTF-8, and so are its forms; one in another charset would be
/// misread.
fn check_form_type(request: &Request) -> Result<(), Error> {
    const FORM: &str = "application/x-www-form-urlencoded";
    check_media_type(request, |essence| essence == FORM, "a form", FORM)
}

/// The `Content-Type`'s essence (its type and subtype, in lower case) must be one `accepts`,
/// and its `charset`, if any, UTF-8; else 415, saying that the body must be `body`, sent with
/// `Content-Type: expected`.
fn check_media_type(
    request: &Request,
    accepts: impl Fn(&str) -> bool,
    body: &str,
    expected: &str,
) -> Result<(), Error> {
    let value = request.headers().get(header::CONTENT_TYPE);
    let mut parts = value
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    if !accepts(&essence) {
        return Err(Error::UnsupportedMediaType(format!(
            "the body must be {body}, sent with Content-Type: {expected}"
        )));
    }
    for (name, charset) in parts.filter_map(|parameter| parameter.split_once('=')) {
        let charset = charset.trim().trim_matches('"');
        let utf8 = charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8");
        if name.trim().eq_ignore_ascii_case("charset") && !utf8 {
            return Err(Error::UnsupportedMediaType(format!(
                "{body} is read as UTF-8, not as charset={}",
                crate::domain::echoed(charset)
            )));
        }
    }
    Ok(())
}

/// Every body this API takes is an object: an array is refused, which serde would otherwise
/// accept for a struct's fields in order. Syntax is 400; a well-formed document with the wrong
/// fields or types (a key twice among them) is 422, its message led by the field at fault:
/// "user_name: invalid type: integer `5`, expected a string at line 1 column 15".
fn parse_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let syntax =
        |e: serde_json::Error| Error::BadRequest(format!("the body is not valid JSON: {e}"));
    // A byte order mark, which some Windows tools write first: RFC 8259 lets a parser ignore it.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(Error::Invalid(
            "the body must be a JSON object, not an array".to_owned(),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        match e.inner().classify() {
            // serde names an unknown key as it was sent: echoed, it is bounded and escaped.
            Category::Data => Error::Invalid(crate::domain::echoed_within(&e.to_string(), 300)),
            _ => syntax(e.into_inner()),
        }
    })?;
    deserializer.end().map_err(syntax)?;
    Ok(value)
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// Query parameters.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let encoded = parts.uri.query().unwrap_or_default();
        if let Some(name) = not_utf8(encoded.as_bytes()) {
            return Err(not_utf8_error("query parameter", &name));
        }
        let axum::extract::Query(value) =
            axum::extract::Query::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

/// A form body (`application/x-www-form-urlencoded`).
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        check_form_type(&request)?;
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|r| body_error(r.status(), r.body_text()))?;
        if let Some(name) = not_utf8(&body) {
            return Err(not_utf8_error("form field", &name));
        }
        // Parsed here, not by axum's `Form`, whose own media type check is case-sensitive.
        serde_urlencoded::from_bytes(&body)
            .map(Form)
            .map_err(|e| Error::BadRequest(refused("the form", &e.to_string())))
    }
}

/// The name of the first pair of `encoded` (`a=1&b=%C3%A9`) whose name or value is not UTF-8
/// once percent-decoded, if any.
fn not_utf8(encoded: &[u8]) -> Option<String> {
    use percent_encoding::percent_decode;
    // `decode_utf8` borrows when nothing is escaped: every query is checked, most have no `%`.
    let pair = encoded
        .split(|b| *b == b'&')
        .find(|pair| percent_decode(pair).decode_utf8().is_err())?;
    let name = pair.split(|b| *b == b'=').next().unwrap_or_default();
    let shown = match percent_decode(name).decode_utf8() {
        Ok(name) => name.into_owned(),
        // A name that is not text either: as sent, its bytes outside ASCII percent-encoded, as
        // a URL writes them ("%FF", where decoding would show U+FFFD).
        Err(_) => name
            .iter()
            .map(|&b| match b {
                0..0x80 => char::from(b).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect(),
    };
    Some(crate::domain::echoed(&shown))
}

fn not_utf8_error(what: &str, name: &str) -> Error {
    Error::BadRequest(format!(
        "the {what} '{name}' is not valid UTF-8 once percent-decoded; send text as UTF-8"
    ))
}

/// Path parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct Path<T>(pub T);

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Shape {
        name: String,
        count: u8,
    }

    fn status(body: &str) -> u16 {
        parse_object::<Shape>(body.as_bytes())
            .map(|_| 200)
            .unwrap_or_else(|e| e.status().as_u16())
    }

    #[test]
    fn objects_parse_and_everything_else_is_refused() {
        assert_eq!(status(r#" {"name": "a", "count": 1} "#), 200);
        assert_eq!(status(r#"{"name": "a", "count": 1, "name": "b"}"#), 422);
        assert_eq!(status(r#" ["a", 1]"#), 422);
        assert_eq!(status(r#"{"name": "a", "count": "1"}"#), 422);
        assert_eq!(status(r#"{"name": "a", "count": 1} {}"#), 400);
        assert_eq!(status(r#"{"name": "a", "#), 400);
        assert_eq!(status(""), 400);
    }

    /// A byte order mark before the document is ignored; anywhere else it is not JSON.
    #[test]
    fn a_leading_byte_order_mark_is_ignored() {
        assert_eq!(status("\u{FEFF}{\"name\": \"a\", \"count\": 1}"), 200);
        assert_eq!(status("\u{FEFF}[\"a\", 1]"), 422);
        assert_eq!(status("{\"name\": \"a\", \"count\": 1}\u{FEFF}"), 400);
        assert_eq!(status("\u{FEFF}\u{FEFF}{}"), 400);
    }

    /// The refusal of a request with this `Content-Type` (`None`: none), or `None` when taken.
    fn refusal(content_type: Option<&str>) -> Option<String> {
        let mut request = Request::builder();
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        check_json_type(&request.body(Body::empty()).unwrap())
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn only_json_media_types_are_json() {
        for json in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert_eq!(refusal(Some(json)), None, "{json}");
        }
        for other in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("text/x+json"),
            Some("application/jsonp"),
            None,
        ] {
            let refused = refusal(other).unwrap_or_default();
            assert!(refused.contains("must be JSON"), "{other:?}: {refused}");
        }
    }

    #[test]
    fn a_charset_other_than_utf8_is_named() {
        for utf8 in [
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
            "application/json; charset=utf8; q=1",
        ] {
            assert_eq!(refusal(Some(utf8)), None, "{utf8}");
        }
        for (content_type, named) in [
            ("application/json; charset=utf-16", "charset=utf-16"),
            (
                "application/json; Charset=\"ISO-8859-1\"",
                "charset=ISO-8859-1",
            ),
        ] {
            let refused = refusal(Some(content_type)).unwrap_or_default();
            assert!(refused.ends_with(named), "{content_type}: {refused}");
        }
    }

    #[test]
    fn forms_are_url_encoded_utf8() {
        let refusal = |content_type: &str| {
            let request = Request::builder()
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::empty())
                .unwrap();
            check_form_type(&request).err().map(|e| e.to_string())
        };
        for form in [
            "application/x-www-form-urlencoded",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
        ] {
            assert_eq!(refusal(form), None, "{form}");
        }
        let refused = refusal("application/json").unwrap_or_default();
        assert!(refused.contains("must be a form"), "{refused}");
        let refused = refusal("application/x-www-form-urlencoded; charset=iso-8859-1");
        assert_eq!(
            refused.as_deref(),
            Some("a form is read as UTF-8, not as charset=iso-8859-1")
        );
    }

    #[test]
    fn a_key_twice_is_named() {
        let e = parse_object::<Shape>(br#"{"name": "a", "name": "b", "count": 1}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate field `name`"), "{e}");
    }

    #[test]
    fn percent_encoded_text_must_be_utf8() {
        assert_eq!(not_utf8(b"user_name=Zo%C3%AB+K&from_date=2026-03-01"), None);
        assert_eq!(not_utf8(b""), None);
        assert_eq!(not_utf8(b"a=%"), None, "a lone % is left as it is");
        let name = |encoded: &[u8]| not_utf8(encoded).unwrap();
        assert_eq!(name(b"user_name=F%FFay"), "user_name");
        assert_eq!(name(b"a=1&user_name=%E0%A4"), "user_name");
        assert_eq!(name(b"user_name=F\xFFay"), "user_name");
        assert_eq!(name(b"%FF=1"), "%FF");
        assert_eq!(name(b"F\xFFay=1"), "F%FFay");
    }
}
