//! Static assets, embedded in the binary and served with long-lived caching: the URL carries
//! a hash of the content, so a new release changes the URL instead of serving stale files.

use std::hash::{DefaultHasher, Hash, Hasher};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

const STYLESHEET: &str = include_str!("../../static/style.css");

pub fn router() -> Router<AppState> {
    Router::new().route("/static/style.css", get(stylesheet_get))
}

/// The stylesheet's URL, versioned by its content.
pub fn stylesheet_url() -> String {
    let mut hasher = DefaultHasher::new();
    STYLESHEET.hash(&mut hasher);
    format!("/static/style.css?v={:016x}", hasher.finish())
}

async fn stylesheet_get() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLESHEET,
    )
}
