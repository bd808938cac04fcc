//! JSON shapes of the API.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use muster_dns::Snapshot;
use serde::Serialize;

/// The zone as published.
#[derive(Debug, Serialize)]
pub struct ZoneView {
    /// The origin, absolute.
    pub zone: String,
    /// The SOA serial.
    pub serial: u32,
    /// Every record but the SOA, in canonical order.
    pub records: Vec<RecordView>,
    /// The zone in master-file format.
    pub zone_file: String,
}

/// One record.
#[derive(Debug, Serialize)]
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

/// The body of every error.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// Machine-readable code (`not_found`).
    pub code: &'static str,
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
                code,
                message: message.into(),
            },
        }
    }
}

impl ApiError {
    /// The error for a body that is not the JSON expected: 400 for bad
    /// syntax, 422 for the wrong shape (unknown fields included), 415 for
    /// another content type.
    pub fn from_json(rejection: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as R;
        let (status, code) = match &rejection {
            R::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            R::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "bad_json"),
            R::MissingJsonContentType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_content_type"),
            _ => (StatusCode::BAD_REQUEST, "bad_request"),
        };
        Self::new(status, code, rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(serde_json::json!({ "error": self.body }))).into_response()
    }
}
