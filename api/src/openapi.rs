//! The OpenAPI 3 document, generated from the handlers' annotations as
//! they are routed (utoipa-axum's `OpenApiRouter`): a route cannot exist
//! without its documentation, nor the other way round.

use std::sync::LazyLock;

use axum::Json;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's fixed parts; the paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "muster",
        description = "Operate a muster farm: pools, hosts, the event log, the zone and its \
            static records and aliases, the policy; \
            and the agents' heartbeat. Operator tokens (`read`, `admin`) and agent tokens are \
            bearer tokens. Every error is `{\"error\": {\"code\", \"message\"}}`.",
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "farm", description = "Pools"),
        (name = "hosts", description = "Hosts and operator changes to them"),
        (name = "events", description = "The event log"),
        (name = "zone", description = "The zone as published, its static records and aliases"),
        (name = "policy", description = "The policy in force"),
        (name = "agents", description = "Agents' heartbeats"),
        (name = "health", description = "Liveness, readiness, this document"),
    )
)]
pub(crate) struct ApiDoc;

/// Adds the `bearer` security scheme the paths refer to.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An operator token (read or admin), or an agent token on the heartbeat",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document, built once from the same routes the server serves.
static DOCUMENT: LazyLock<Document> = LazyLock::new(crate::openapi_document);

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "health",
    responses((status = 200, description = "The OpenAPI 3 document of this API", body = Object))
)]
pub(crate) async fn openapi_json() -> Json<&'static Document> {
    Json(&DOCUMENT)
}
