//! Static records: `GET /api/v1/records` lists the policy's and those
//! added through the API, `POST` adds one, `DELETE` removes those added
//! through the API. Writes need an admin token, whose name is the actor of
//! the `record-add` and `record-remove` events.
//!
//! Names are relative to the zone (`_dmarc`, `@` for the apex) or absolute
//! (`_dmarc.lists.example.test.`); a name without the final dot that
//! already ends in the zone's name is taken as absolute, since nobody means
//! `_dmarc.lists.example.test.lists.example.test.`. Data is presentation
//! format, names in it relative to the zone unless they end in a dot.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hickory_proto::rr::Name;
use muster_controller::operator::names::{NameChange, NameRequest};
use muster_controller::policy::StaticRecord;
use muster_controller::runner::ControllerView;
use muster_dns::RecordData;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Admin, Reader};
use crate::extract::{Body, Params};
use crate::wire::ErrorResponse;
use crate::{ApiError, ApiState};

/// Where a record or alias is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NameSource {
    /// The policy file (`records:`, `aliases:`): change it there.
    Policy,
    /// Written through the API (kept in the store).
    Api,
}

impl NameSource {
    /// Its word: `policy` or `api`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Policy => "policy",
            Self::Api => "api",
        }
    }
}

/// A static record of the zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaticRecordView {
    /// Owner name, absolute.
    pub name: String,
    /// Record type (`TXT`, `TYPE65280`).
    #[serde(rename = "type")]
    pub rtype: String,
    /// TTL in seconds.
    pub ttl: u32,
    /// RDATA in presentation format, names absolute.
    pub data: String,
    /// `policy` or `api`.
    pub source: NameSource,
}

impl StaticRecordView {
    fn of(record: &StaticRecord, source: NameSource) -> Self {
        Self {
            name: record.owner.to_string(),
            rtype: record.data.type_presentation(),
            ttl: record.ttl,
            data: record.data.to_presentation(),
            source,
        }
    }
}

/// Body of `POST /api/v1/records`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRecordBody {
    /// Owner: relative to the zone (`_dmarc`, `@`) or absolute.
    pub name: String,
    /// Record type: A, AAAA, TXT, CNAME, MX, SRV, CAA, TLSA, PTR, NS, or
    /// `TYPEnnn` with `\# LENGTH HEX` data (RFC 3597).
    #[serde(rename = "type")]
    pub rtype: String,
    /// RDATA in presentation format (`10 mx1`, unquoted TXT text is split
    /// into 255-byte strings).
    pub data: String,
    /// TTL in seconds; the policy's `ttl` when absent.
    #[serde(default)]
    pub ttl: Option<u32>,
}

/// Which records to remove: `name` and `type`, and `data` for exactly one
/// (without it, every record of that name and type added through the API).
/// In the query string or as a JSON body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordQuery {
    /// Owner: relative to the zone or absolute.
    #[serde(default)]
    pub name: Option<String>,
    /// Record type.
    #[serde(default, rename = "type")]
    #[param(rename = "type")]
    pub rtype: Option<String>,
    /// RDATA in presentation format: only the record with this data.
    #[serde(default)]
    pub data: Option<String>,
}

/// What `DELETE /api/v1/records` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordsRemoved {
    /// The records removed.
    pub removed: Vec<StaticRecordView>,
}

/// The policy's records, then those added through the API.
pub(crate) fn record_views(view: &ControllerView) -> Vec<StaticRecordView> {
    let policy = view
        .policy
        .records
        .iter()
        .map(|r| StaticRecordView::of(r, NameSource::Policy));
    let api = view
        .farm
        .records
        .iter()
        .map(|r| StaticRecordView::of(r, NameSource::Api));
    policy.chain(api).collect()
}

/// `text` as an absolute, lowercase name in `zone` (see the module doc).
pub(crate) fn resolve_name(text: &str, zone: &Name) -> Result<Name, ApiError> {
    let invalid = |why: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", why);
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid("the name is empty; use @ for the zone's apex".to_owned()));
    }
    // The policy's rule, so a name means the same in the file and here.
    muster_controller::policy::resolve_name(text, zone).map_err(invalid)
}

/// The record `name`/`rtype`/`data` describe, parsed in `zone`; 422 when
/// the data is not of that type.
fn parse_data(rtype: &str, data: &str, zone: &Name) -> Result<RecordData, ApiError> {
    RecordData::from_presentation(rtype, data, zone).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("{} data: {e}", rtype.to_ascii_uppercase()),
        )
    })
}

/// Every static record: the policy's and those added through the API.
#[utoipa::path(
    get,
    path = "/api/v1/records",
    tag = "zone",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The policy's records, then the API's, each with its source", body = Vec<StaticRecordView>),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 503, description = "No controller", body = ErrorResponse),
    )
)]
pub(crate) async fn list_records(
    State(state): State<ApiState>,
    _: Reader,
) -> Result<Json<Vec<StaticRecordView>>, ApiError> {
    Ok(Json(record_views(&state.controller.view())))
}

/// Adds a static record (kept in the store; published with the next serial).
#[utoipa::path(
    post,
    path = "/api/v1/records",
    tag = "zone",
    request_body = NewRecordBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = StaticRecordView),
        (status = 400, description = "Not JSON", body = ErrorResponse),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 409, description = "The same name, type and data exist (in the store or the policy)", body = ErrorResponse),
        (status = 422, description = "Bad name or data, or a record the zone cannot hold (a CNAME at the apex or beside other data, a name outside the zone, …): the message says why and how to fix it", body = ErrorResponse),
        (status = 503, description = "No controller, or the store refused", body = ErrorResponse),
    )
)]
pub(crate) async fn add_record(
    State(state): State<ApiState>,
    Admin(actor): Admin,
    Body(body): Body<NewRecordBody>,
) -> Result<(StatusCode, Json<StaticRecordView>), ApiError> {
    let controller = &state.controller;
    let view = controller.view();
    let zone = &view.policy.zone;
    let ttl = body.ttl.unwrap_or(view.policy.ttl);
    if ttl > i32::MAX as u32 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("ttl {ttl} is above 2147483647 (RFC 2181 §8)"),
        ));
    }
    let record = StaticRecord {
        owner: resolve_name(&body.name, zone)?,
        ttl,
        data: parse_data(&body.rtype, &body.data, zone)?,
    };
    let shown = StaticRecordView::of(&record, NameSource::Api);
    controller
        .change_names(NameRequest {
            actor,
            change: NameChange::AddRecord(record),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(shown)))
}

/// Removes records added through the API: the one with `data`, or every
/// one of `name` and `type`. The policy's records are removed in the policy.
#[utoipa::path(
    delete,
    path = "/api/v1/records",
    tag = "zone",
    params(RecordQuery),
    request_body(content = Option<RecordQuery>, description = "The same fields as the query, as JSON (either one)"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Removed", body = RecordsRemoved),
        (status = 400, description = "No name or type, or a bad query", body = ErrorResponse),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 404, description = "No such record was added through the API", body = ErrorResponse),
        (status = 409, description = "The record is in the policy file: edit the policy", body = ErrorResponse),
        (status = 422, description = "Bad name or data", body = ErrorResponse),
        (status = 503, description = "No controller, or the store refused", body = ErrorResponse),
    )
)]
pub(crate) async fn remove_records(
    State(state): State<ApiState>,
    Admin(actor): Admin,
    Params(query): Params<RecordQuery>,
    body: Option<Body<RecordQuery>>,
) -> Result<Json<RecordsRemoved>, ApiError> {
    let key = match body {
        Some(Body(body)) if query != RecordQuery::default() && body != query => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "name the records in the query or in the body, not both",
            ));
        }
        Some(Body(body)) => body,
        None => query,
    };
    let (Some(name), Some(rtype)) = (key.name, key.rtype) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "name and type are required (data too, to remove one record of several)",
        ));
    };
    let controller = &state.controller;
    let view = controller.view();
    let zone = &view.policy.zone;
    let owner = resolve_name(&name, zone)?;
    let data = key
        .data
        .as_deref()
        .map(|d| parse_data(&rtype, d, zone))
        .transpose()?;
    let rtype = match &data {
        Some(d) => d.type_presentation(),
        None => rtype.trim().to_ascii_uppercase(),
    };
    // What goes: the engine applies one change at a time, so these are
    // the records the change removes unless another lands in between.
    let removed = view
        .farm
        .records
        .iter()
        .filter(|r| {
            r.owner == owner
                && r.data.type_presentation() == rtype
                && data.as_ref().is_none_or(|d| r.data == *d)
        })
        .map(|r| StaticRecordView::of(r, NameSource::Api))
        .collect();
    controller
        .change_names(NameRequest {
            actor,
            change: NameChange::RemoveRecords { owner, rtype, data },
        })
        .await?;
    Ok(Json(RecordsRemoved { removed }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_relative_to_the_zone_or_absolute() {
        let zone = Name::from_ascii("lists.example.test.").expect("zone");
        let resolve = |t: &str| resolve_name(t, &zone).map(|n| n.to_string());
        assert_eq!(resolve("@").expect("apex"), "lists.example.test.");
        assert_eq!(resolve("_DMARC").expect("relative"), "_dmarc.lists.example.test.");
        assert_eq!(
            resolve("john.pop.lists.example.test").expect("ends in the zone"),
            "john.pop.lists.example.test."
        );
        assert_eq!(resolve("www.example.org.").expect("absolute"), "www.example.org.");
        assert_eq!(
            resolve("").expect_err("empty").status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            resolve("a..b").expect_err("bad").status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}
