use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use scorch_store::{Role, User};

use super::error::ApiError;
use super::state::AppState;
use crate::auth::token_hash;

/// The authenticated user behind a request (`Authorization: Bearer <token>`). Every route but
/// `/health` takes one, so a request without a valid token is a 401 before the handler runs.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)?;
        match state.store.token_user(&token_hash(token)).await? {
            Some(user) => Ok(Caller(user)),
            None => Err(ApiError::unauthenticated("the token is unknown or revoked")),
        }
    }
}

/// The bearer token of a request, or 401.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthenticated("this route needs a token: send Authorization: Bearer <token>"))?
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 512)
        .ok_or_else(|| ApiError::unauthenticated("the Authorization header must be: Bearer <token>"))
}

impl Caller {
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether the caller may see `folder` at all.
    pub fn can_see(&self, folder: &str) -> bool {
        self.0.role_on(folder).is_some()
    }

    /// At least `role` on `folder`, or 403 (404 when the folder is not even visible, so its
    /// contents are not revealed).
    pub fn require(&self, folder: &str, role: Role) -> Result<(), ApiError> {
        match self.0.role_on(folder) {
            Some(r) if r >= role => Ok(()),
            Some(r) => Err(ApiError::forbidden(format!(
                "you are {} on '{}' and this needs {}",
                r.as_str(),
                display_folder(folder),
                role.as_str()
            ))),
            None => Err(ApiError::not_found(format!(
                "folder '{}' not found",
                display_folder(folder)
            ))),
        }
    }

    /// A system administrator, or 403.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.admin {
            Ok(())
        } else {
            Err(ApiError::forbidden("this needs an administrator"))
        }
    }
}

fn display_folder(folder: &str) -> &str {
    if folder.is_empty() { "/" } else { folder }
}
