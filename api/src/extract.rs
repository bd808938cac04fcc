//! Extractors that answer malformed requests with the API's JSON errors:
//! a body that is not JSON gets 400, one of the wrong shape (unknown
//! fields, wrong types, missing fields) 422; a bad query string 400.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A JSON request body (`Content-Type: application/json`). As
/// `Option<Body<T>>`, a request without a body (no content type) gives
/// `None`.
#[derive(Debug)]
pub(crate) struct Body<T>(pub(crate) T);

impl<T, S> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = <Json<T> as FromRequest<S>>::from_request(req, state)
            .await
            .map_err(ApiError::from_json)?;
        Ok(Self(value))
    }
}

impl<T, S> OptionalFromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, ApiError> {
        let value = <Json<T> as OptionalFromRequest<S>>::from_request(req, state)
            .await
            .map_err(ApiError::from_json)?;
        Ok(value.map(|Json(v)| Self(v)))
    }
}

/// The query string; unknown or malformed parameters get 400.
#[derive(Debug)]
pub(crate) struct Params<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(value) =
            Query::<T>::from_request_parts(parts, state)
                .await
                .map_err(|e: QueryRejection| {
                    ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text())
                })?;
        Ok(Self(value))
    }
}

/// A path's `{name}` segment, percent-decoded; one that does not decode to
/// UTF-8 gets 400.
#[derive(Debug)]
pub(crate) struct PathName(pub(crate) String);

impl<S> FromRequestParts<S> for PathName
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(name) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e: PathRejection| ApiError::new(StatusCode::BAD_REQUEST, "bad_path", e.body_text()))?;
        Ok(Self(name))
    }
}
