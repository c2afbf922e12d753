//! Signing in and out with a password, on the management server (the CLI's `scorch login`) and on
//! the web service (the console's sign-in page): the same code behind both.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use scorch_store::StoreError;
use serde_json::json;

use super::caller::{Caller, bearer};
use super::error::ApiError;
use super::json::Json;
use super::names::check_name_length;
use super::state::AppState;
use super::wire::{ErrorBody, Login, Session};
use crate::auth::{MAX_PASSWORD, new_token, token_hash, verify_password_in_turn};

/// Why a sign-in was refused: an error, or too many attempts.
pub enum Refused {
    Api(ApiError),
    /// 429 `too_many_attempts`, with `Retry-After`: this long.
    TooManyAttempts(Duration),
}

impl From<ApiError> for Refused {
    fn from(err: ApiError) -> Self {
        Refused::Api(err)
    }
}

impl From<StoreError> for Refused {
    fn from(err: StoreError) -> Self {
        Refused::Api(err.into())
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let wait = match self {
            Refused::Api(err) => return err.into_response(),
            Refused::TooManyAttempts(wait) => wait,
        };
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let message = format!("too many sign-in attempts for this user or from this address; try again in {seconds} s");
        let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", message).into_response();
        response.headers_mut().insert(RETRY_AFTER, seconds.into());
        response
    }
}

/// Signs in with a password: a new token labelled "session". Unauthenticated.
///
/// Attempts are limited per user and per client address.
#[utoipa::path(
    post,
    path = "/api/v1/session",
    operation_id = "sign_in",
    tag = "session",
    request_body = Login,
    security(()),
    responses(
        (status = 200, description = "A new session token", body = Session),
        (status = 400, description = "A malformed body, or a user name longer than any", body = ErrorBody),
        (status = 401, description = "Unknown user or wrong password", body = ErrorBody),
        (status = 429, description = "Too many attempts for this user or from this address (`too_many_attempts`); \
            `Retry-After` says when to try again", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    Json(body): Json<Login>,
) -> Result<Json<Session>, Refused> {
    check_name_length("user", &body.user)?;
    let refused = || ApiError::unauthenticated("unknown user or wrong password");
    if body.password.len() > MAX_PASSWORD {
        return Err(refused().into());
    }
    let address = client.map(|Extension(ConnectInfo(client))| client.ip());
    if let Err(wait) = state.logins.attempt(&body.user, address) {
        tracing::info!(user = %body.user, client = ?address, "refused a log-in: too many attempts");
        return Err(Refused::TooManyAttempts(wait));
    }
    let user = match state.store.user(&body.user).await {
        Ok(u) => Some(u),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let phc = user.as_ref().and_then(|u| u.password_hash.clone());
    let verified = verify_password_in_turn(body.password, phc).await;
    let Some(user) = user.filter(|_| verified) else {
        tracing::info!(user = %body.user, "refused a log-in");
        return Err(refused().into());
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
