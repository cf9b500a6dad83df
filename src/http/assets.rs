//! Static assets, embedded in the binary and served with long-lived caching: each URL carries
//! a hash of the content, so a new release changes the URL instead of serving stale files.
//! Only the URL of this binary's content is cached for long; see [`Asset::cache_control`].

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{LazyLock, OnceLock};

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;

/// One embedded file and the route that serves it.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
    /// A hash of `body`, the `v` of the URL; computed on first use.
    version: OnceLock<String>,
    /// The version quoted, as the `ETag` header's value.
    tag: OnceLock<HeaderValue>,
}

static STYLESHEET: Asset = Asset {
    path: "/static/style.css",
    content_type: "text/css; charset=utf-8",
    body: include_str!("../../static/style.css"),
    version: OnceLock::new(),
    tag: OnceLock::new(),
};

static ICON: Asset = Asset {
    path: "/static/icon.svg",
    content_type: "image/svg+xml",
    body: include_str!("../../static/icon.svg"),
    version: OnceLock::new(),
    tag: OnceLock::new(),
};

/// For the URL of this binary's content: it never changes, so caches may keep it for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For any other URL of an asset: see [`Asset::cache_control`].
const REVALIDATE: &str = "no-cache";

/// The versioned URLs the pages link to.
#[derive(Debug)]
pub struct AssetUrls {
    pub stylesheet: String,
    pub icon: String,
}

static URLS: LazyLock<AssetUrls> = LazyLock::new(|| AssetUrls {
    stylesheet: STYLESHEET.versioned_url(),
    icon: ICON.versioned_url(),
});

/// The URLs of the embedded assets, computed once.
pub fn urls() -> &'static AssetUrls {
    &URLS
}

impl Asset {
    fn version(&self) -> &str {
        self.version.get_or_init(|| {
            let mut hasher = DefaultHasher::new();
            self.body.hash(&mut hasher);
            format!("{:016x}", hasher.finish())
        })
    }

    fn tag(&self) -> &HeaderValue {
        self.tag.get_or_init(|| {
            let quoted = format!("\"{}\"", self.version());
            HeaderValue::from_str(&quoted).expect("a hex digest is a header value")
        })
    }

    fn versioned_url(&self) -> String {
        format!("{}?v={}", self.path, self.version())
    }

    /// Long-lived caching only when the query is exactly this binary's `v=<hash>`. Any other
    /// URL (no version, another one, a repeated `v`) may come from a page of another release:
    /// in a rolling deploy an old instance is asked for the new version's URL. The body is
    /// still sent, so that the page is styled, but as `no-cache`: a cache must ask the server
    /// again before reusing it, so content answered under another version's URL is not reused
    /// for a year, and the next request may reach an instance that has that version. A 404
    /// would leave the page unstyled; `no-store` is not needed, the content is not private.
    fn cache_control(&self, query: Option<&str>) -> &'static str {
        match query.and_then(|query| query.strip_prefix("v=")) {
            Some(version) if version == self.version() => IMMUTABLE,
            _ => REVALIDATE,
        }
    }

    /// The file, with its version as entity tag: a cache that holds it under a URL it must
    /// revalidate (`no-cache`) asks with `If-None-Match` and gets 304 with no body while the
    /// content is the same.
    fn response(&self, query: Option<&str>, request: &HeaderMap) -> Response {
        let tag = self.tag();
        let headers = [
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(self.cache_control(query)),
            ),
            (header::ETAG, tag.clone()),
        ];
        if matches_any(request, tag) {
            // Without `Content-Type`, as RFC 9110 advises: there is no content to describe.
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        let content_type = [(header::CONTENT_TYPE, self.content_type)];
        (headers, content_type, self.body).into_response()
    }
}

/// Whether `If-None-Match` names `tag` (compared weakly, as RFC 9110 asks for this header) or
/// is `*`.
fn matches_any(request: &HeaderMap, tag: &HeaderValue) -> bool {
    let tag = tag.as_bytes();
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|given| given == b"*" || given.strip_prefix(b"W/").unwrap_or(given) == tag)
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            STYLESHEET.path,
            get(|RawQuery(query): RawQuery, headers: HeaderMap| async move {
                STYLESHEET.response(query.as_deref(), &headers)
            }),
        )
        .route(
            ICON.path,
            get(|RawQuery(query): RawQuery, headers: HeaderMap| async move {
                ICON.response(query.as_deref(), &headers)
            }),
        )
}
