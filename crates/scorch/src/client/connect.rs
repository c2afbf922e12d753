//! The servers a command talks to, as the connection options say.

use super::http::{Api, ClientError};
use crate::cli::Connection;

/// The management server, with the token.
pub fn management(conn: &Connection) -> Result<Api, ClientError> {
    Api::new(
        &conn.management,
        conn.token.as_deref(),
        "the management server",
        "--management",
    )?
    .trusting(conn.ca_cert.as_deref())
}

/// The REST web service, with the token.
pub fn web_service(conn: &Connection) -> Result<Api, ClientError> {
    Api::new(
        &conn.web_service,
        conn.token.as_deref(),
        "the web service",
        "--web-service",
    )?
    .trusting(conn.ca_cert.as_deref())
}
