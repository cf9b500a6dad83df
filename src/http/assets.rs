//! Static assets, embedded in the binary and served with long-lived caching: each URL carries
//! a hash of the content, so a new release changes the URL instead of serving stale files.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

/// One embedded file and the route that serves it.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

static STYLESHEET: Asset = Asset {
    path: "/static/style.css",
    content_type: "text/css; charset=utf-8",
    body: include_str!("../../static/style.css"),
};

static ICON: Asset = Asset {
    path: "/static/icon.svg",
    content_type: "image/svg+xml",
    body: include_str!("../../static/icon.svg"),
};

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
    fn versioned_url(&self) -> String {
        let mut hasher = DefaultHasher::new();
        self.body.hash(&mut hasher);
        format!("{}?v={:016x}", self.path, hasher.finish())
    }

    fn response(&'static self) -> impl IntoResponse {
        (
            [
                (header::CONTENT_TYPE, self.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            self.body,
        )
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(STYLESHEET.path, get(|| async { STYLESHEET.response() }))
        .route(ICON.path, get(|| async { ICON.response() }))
}
