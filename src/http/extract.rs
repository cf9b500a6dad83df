//! Extractors whose rejections are [`Error`]s, so malformed input gets problem+json too.

use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::Error;

/// A JSON object body. Every body this API takes is an object; reading the object first
/// refuses arrays, which serde would otherwise accept for a struct's fields in order.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        let axum::Json(object) =
            axum::Json::<Map<String, Value>>::from_request(request, state).await?;
        // The path names the field at fault: "user_name: invalid type: integer `5`, expected a string".
        serde_path_to_error::deserialize(Value::Object(object))
            .map(Json)
            .map_err(|e| Error::Invalid(e.to_string()))
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// Query parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct Query<T>(pub T);

/// Path parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct Path<T>(pub T);
