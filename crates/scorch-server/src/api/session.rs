//! Signing in and out with a password, on the management server (the CLI's `scorch login`) and on
//! the web service (the console's sign-in page): the same code behind both.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use scorch_store::StoreError;
use serde_json::json;

use super::caller::bearer;
use super::{ApiError, AppState, Caller, Json};
use crate::auth::{MAX_PASSWORD, hash_password, new_token, token_hash, verify_password};
use crate::management::wire::{Login, Session};
use crate::web::wire::ErrorBody;

/// A hash to verify against when the user is unknown, so an unknown user costs as much time
/// as a wrong password and the answer reveals nothing.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("scorch-decoy-password").unwrap_or_default())
}

/// Signs in with a password: a new token labelled "session". Unauthenticated.
#[utoipa::path(
    post,
    path = "/api/v1/session",
    operation_id = "sign_in",
    tag = "session",
    request_body = Login,
    security(()),
    responses(
        (status = 200, description = "A new session token", body = Session),
        (status = 401, description = "Unknown user or wrong password", body = ErrorBody),
    )
)]
pub async fn login(State(state): State<AppState>, Json(body): Json<Login>) -> Result<Json<Session>, ApiError> {
    let refused = || ApiError::unauthenticated("unknown user or wrong password");
    if body.password.len() > MAX_PASSWORD || body.user.len() > 128 {
        return Err(refused());
    }
    let user = match state.store.user(&body.user).await {
        Ok(u) => Some(u),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let phc = user.as_ref().and_then(|u| u.password_hash.clone());
    let password = body.password;
    let verified = tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_password(&password, &phc),
        None => {
            verify_password(&password, decoy_hash());
            false
        }
    })
    .await
    .unwrap_or(false);
    let Some(user) = user.filter(|_| verified) else {
        tracing::info!(user = %body.user, "refused a log-in");
        return Err(refused());
    };
    let token = new_token();
    let info = state
        .store
        .create_token(&user.name, &token_hash(&token), "session")
        .await?;
    let entry = scorch_store::NewAudit {
        actor: &user.name,
        action: "session.create",
        object_type: "token",
        object_id: Some(info.id),
        detail: &json!({ "user": user.name, "label": "session" }),
    };
    if let Err(e) = state.store.audit(entry).await {
        tracing::error!(error = %e, "cannot write the audit record of a log-in");
    }
    Ok(Json(Session { token }))
}

/// Signs out: revokes the token the request was made with.
#[utoipa::path(
    delete,
    path = "/api/v1/session",
    operation_id = "sign_out",
    tag = "session",
    responses(
        (status = 204, description = "The token is revoked"),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn logout(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers)?;
    state.store.revoke_token_hash(&token_hash(token)).await?;
    let entry = scorch_store::NewAudit {
        actor: caller.name(),
        action: "session.delete",
        object_type: "token",
        object_id: None,
        detail: &json!({ "user": caller.name() }),
    };
    if let Err(e) = state.store.audit(entry).await {
        tracing::error!(error = %e, "cannot write the audit record of a sign-out");
    }
    Ok(StatusCode::NO_CONTENT)
}
