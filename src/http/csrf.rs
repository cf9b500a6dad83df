//! Protection of the page forms against cross-site posts: a page on another site must not be
//! able to book or delete leave through a visitor's browser.
//!
//! Browsers say where a request comes from: `Sec-Fetch-Site` (fetch metadata) and, for posts,
//! `Origin`. `Sec-Fetch-Site` decides when present (only `same-origin` and `none` pass);
//! otherwise `Origin`, when present, must name the request's own host.
//! Requests carrying neither header come from programs (curl, scripts, the original app's
//! clients), which cannot be tricked into posting by a web page, so they pass.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::pages::PageError;

/// Why a request was taken for a cross-site one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrossSite {
    /// `Sec-Fetch-Site` says the request was started by another site (or an unknown value).
    FetchSite(String),
    /// `Origin` names another host than the one the request was sent to.
    Origin(String),
}

/// Refuses unsafe methods (POST, DELETE, …) sent from another site with 403; everything else
/// goes through untouched.
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    // The host the middleware checked and let through (a request naming two or a wrong one
    // was refused before it got here); `None` for HTTP/1.0 without `Host`.
    let host = super::middleware::requested_host(&request).ok().flatten();
    match check(request.headers(), host) {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            tracing::warn!(?reason, path = %request.uri().path(), "cross-site form post refused");
            PageError::new(
                StatusCode::FORBIDDEN,
                "this form was sent from another site, so it was not accepted; open the calendar \
                 and use its own form"
                    .to_owned(),
            )
            .into_response()
        }
    }
}

/// The rule itself: `Sec-Fetch-Site` decides when present (`same-origin` and `none`, a
/// request the person typed or bookmarked, pass); otherwise `Origin`, when present, must name
/// the request's own host (`null`, sent from sandboxed or privacy-sensitive contexts, is
/// refused); with neither header the request passes.
pub fn check(headers: &HeaderMap, host: Option<&str>) -> Result<(), CrossSite> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or_default();
        return match site {
            "same-origin" | "none" => Ok(()),
            other => Err(CrossSite::FetchSite(crate::domain::echoed(other))),
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    // The scheme is not compared: behind a TLS-terminating load balancer the app sees plain
    // HTTP while the browser's origin says https.
    let origin_host = origin
        .split_once("://")
        .map(|(_, authority)| authority.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(from), Some(to))
            if without_default_port(from).eq_ignore_ascii_case(without_default_port(to)) =>
        {
            Ok(())
        }
        _ => Err(CrossSite::Origin(crate::domain::echoed_within(origin, 100))),
    }
}

/// `authority` without a port of 443 or 80: a client may name the default port in `Host` where
/// the browser's `Origin` leaves it out, and as the scheme is not compared, either is the
/// default.
fn without_default_port(authority: &str) -> &str {
    authority
        .strip_suffix(":443")
        .or_else(|| authority.strip_suffix(":80"))
        .unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    const HOST: Option<&str> = Some("calendar.example:8080");

    #[test]
    fn programs_without_browser_headers_pass() {
        assert_eq!(check(&headers(&[]), HOST), Ok(()));
        assert_eq!(check(&headers(&[]), None), Ok(()));
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        for site in ["same-origin", "none"] {
            let h = headers(&[("sec-fetch-site", site)]);
            assert_eq!(check(&h, HOST), Ok(()), "{site}");
        }
        for site in ["cross-site", "same-site", "something-new"] {
            let h = headers(&[("sec-fetch-site", site)]);
            assert!(check(&h, HOST).is_err(), "{site}");
        }
        // Fetch metadata wins over a matching Origin.
        let h = headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://calendar.example:8080"),
        ]);
        assert!(check(&h, HOST).is_err());
    }

    #[test]
    fn origin_must_name_the_requested_host() {
        for origin in [
            "http://calendar.example:8080",
            "https://calendar.example:8080",
            "http://CALENDAR.example:8080",
        ] {
            let h = headers(&[("origin", origin)]);
            assert_eq!(check(&h, HOST), Ok(()), "{origin}");
        }
        for origin in [
            "http://evil.example",
            "http://calendar.example",
            "http://calendar.example:8081",
            "null",
            "",
        ] {
            let h = headers(&[("origin", origin)]);
            assert!(check(&h, HOST).is_err(), "{origin}");
        }
        let h = headers(&[("origin", "http://calendar.example:8080")]);
        assert!(check(&h, None).is_err(), "no host to compare with");
        // A default port named on one side only is the same host.
        for (origin, host) in [
            ("https://calendar.example", "calendar.example:443"),
            ("http://calendar.example:80", "calendar.example"),
        ] {
            let h = headers(&[("origin", origin)]);
            assert_eq!(check(&h, Some(host)), Ok(()), "{origin} to {host}");
        }
        for (origin, host) in [
            ("https://calendar.example", "calendar.example:8443"),
            ("https://calendar.example:443", "calendar.example:4430"),
        ] {
            let h = headers(&[("origin", origin)]);
            assert!(check(&h, Some(host)).is_err(), "{origin} to {host}");
        }
    }
}
