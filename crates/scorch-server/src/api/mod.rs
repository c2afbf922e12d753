//! What the HTTP roles (web service, management server) share: state, the error type with its
//! stable codes, the authenticated caller, a JSON body extractor with clear errors, the limits
//! on request heads, and the limits on sign-in attempts; and, since both serve them, the wire
//! types and handlers of health, sign-in and global settings, names, pages and audit records.

mod attempts;
pub(crate) mod audit;
mod caller;
mod edge;
mod error;
pub(crate) mod health;
mod json;
pub(crate) mod names;
pub(crate) mod paging;
mod query;
pub mod session;
pub(crate) mod settings;
mod state;
pub mod wire;

pub use attempts::LoginAttempts;
pub use caller::Caller;
pub(crate) use caller::bearer;
pub(crate) use edge::guarded;
pub use edge::{MAX_HEADER_BYTES, MAX_URI_BYTES};
pub use error::ApiError;
pub use json::{Json, MAX_BODY_BYTES};
pub use query::Query;
pub use state::AppState;
