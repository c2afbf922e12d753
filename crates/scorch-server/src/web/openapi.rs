//! The OpenAPI 3.1 document, generated from the handlers and wire types (`docs/openapi.json`
//! is a committed copy, kept current by a test).

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    account, audit, events, hooks, instances, jobs, platform_events, runbooks, servers, settings, triggers, wire,
};
use crate::api::settings as shared;
use crate::api::wire::ErrorBody;
use crate::api::{Caller, health, session};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "scorch web service",
        description = "Operations on a scorch deployment: runbooks, jobs, instances, activity runs, runbook \
            servers, a live event stream, global settings and the audit trail. Every route but /health and sign-in needs `Authorization: Bearer <token>`; \
            what a caller may see and do follows its roles on the runbooks' folders. Errors are \
            `{\"error\": {\"code\", \"message\"}}` with a stable `code`."
    ),
    paths(
        health::health,
        session::login,
        session::logout,
        account::me,
        account::folders,
        runbooks::list,
        runbooks::show,
        runbooks::versions,
        jobs::start,
        jobs::list,
        jobs::show,
        jobs::cancel,
        jobs::rerun,
        instances::list,
        instances::show,
        instances::activities,
        instances::output,
        platform_events::list,
        servers::list,
        hooks::call,
        triggers::list,
        events::stream,
        settings::variables,
        shared::set_variable,
        shared::delete_variable,
        settings::counters,
        shared::set_counter,
        shared::delete_counter,
        settings::groups,
        shared::set_group,
        shared::delete_group,
        settings::schedules,
        shared::schedule,
        shared::set_schedule,
        shared::delete_schedule,
        audit::list,
        openapi,
    ),
    components(schemas(wire::JobEvent, wire::InstanceEvent, wire::ActivityEvent, wire::OutputEvent, wire::LaggedEvent)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "runbooks", description = "Runbooks and their parameters"),
        (name = "jobs", description = "Start, follow and cancel runbooks"),
        (name = "instances", description = "Runs of runbooks and their activities"),
        (name = "runbook servers", description = "The workers that run jobs"),
        (name = "hooks", description = "Webhooks that start monitor runbooks"),
        (name = "events", description = "Live changes"),
        (name = "session", description = "Signing in and out, and who is signed in"),
        (name = "settings", description = "Global settings (variables, counters, computer groups, schedules) and the audit trail"),
        (name = "health", description = "Liveness of the service and its database"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token (`scorch token create`)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "hook_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A webhook's own token (its monitor_webhook's `token`)"))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as pretty JSON with a final newline (what `docs/openapi.json` holds).
pub fn json() -> String {
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "health",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this service", content_type = "application/json", body = Object),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn openapi(_caller: Caller) -> impl IntoResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    ([(CONTENT_TYPE, "application/json")], JSON.get_or_init(json).as_str())
}
