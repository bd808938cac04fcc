//! JSON shapes shared by every endpoint: the error body and the zone.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use muster_controller::operator::OperatorError;
use muster_dns::Snapshot;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The zone as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ZoneView {
    /// The origin, absolute (`lists.example.test.`).
    pub zone: String,
    /// The SOA serial.
    pub serial: u32,
    /// Every record but the SOA, in canonical order.
    pub records: Vec<RecordView>,
    /// The zone in master-file format.
    pub zone_file: String,
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordView {
    /// Owner name, absolute.
    pub name: String,
    /// Record type (`MX`).
    #[serde(rename = "type")]
    pub rtype: String,
    /// TTL in seconds.
    pub ttl: u32,
    /// RDATA in presentation format.
    pub data: String,
}

impl ZoneView {
    /// The view of a snapshot.
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let zone = snapshot.zone();
        Self {
            zone: zone.origin().to_string(),
            serial: zone.serial(),
            records: zone
                .records()
                .map(|(name, ttl, data)| RecordView {
                    name: name.to_string(),
                    rtype: data.record_type().to_string(),
                    ttl,
                    data: data.to_presentation(),
                })
                .collect(),
            zone_file: zone.to_zone_file(),
        }
    }
}

/// Every error response: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorBody,
}

/// The body of every error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code: `unauthorized`, `forbidden`, `not_found`,
    /// `conflict`, `bad_json`, `invalid_body`, `bad_query`,
    /// `invalid_policy`, `unavailable`, …
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

/// An error response: status plus `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
            },
        }
    }

    /// The status it is sent with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// 503: the controller or the store is not there.
    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 404 for an unknown host.
    pub(crate) fn no_host(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no host named {name:?}"),
        )
    }

    /// The error for a body that is not the JSON expected: 400 for bad
    /// syntax, 422 for the wrong shape (unknown fields and wrong types
    /// included), 415 for another content type, 413 for too big a body.
    pub fn from_json(rejection: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as R;
        let (status, code) = match &rejection {
            R::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            R::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "bad_json"),
            R::MissingJsonContentType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_content_type"),
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
            }
            _ => (StatusCode::BAD_REQUEST, "bad_request"),
        };
        Self::new(status, code, rejection.body_text())
    }
}

impl From<OperatorError> for ApiError {
    fn from(e: OperatorError) -> Self {
        let (status, code) = match &e {
            OperatorError::UnknownHost(_) | OperatorError::UnknownRole(_) | OperatorError::NotFound(_) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            OperatorError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            OperatorError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            OperatorError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        };
        Self::new(status, code, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorResponse { error: self.body })).into_response()
    }
}
