//! The servers a command talks to, as the connection options say.

use super::http::{Api, ClientError};
use crate::cli::Connection;

/// The management server, with the token.
pub fn management(conn: &Connection) -> Result<Api, ClientError> {
    server(conn, &conn.management, "the management server", "--management")
}

/// The REST web service, with the token.
pub fn web_service(conn: &Connection) -> Result<Api, ClientError> {
    server(conn, &conn.web_service, "the web service", "--web-service")
}

/// The server at `url`, called `name` in messages and set with `flag`.
fn server(conn: &Connection, url: &str, name: &'static str, flag: &'static str) -> Result<Api, ClientError> {
    Api::new(url, conn.token.as_deref(), name, flag)?.trusting(conn.ca_cert.as_deref())
}
