//! Rows of either driver, read by one decoder per kind of row: sqlx's (the pool's reads) and
//! rusqlite's (the connections that the writer and the result reader drive themselves).

use rusqlite::types::FromSql;
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{Decode, Row as _, Type};

use super::writer::store_error;
use crate::StoreError;

/// A column value both drivers read.
pub(super) trait Value: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + FromSql {}

impl<T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + FromSql> Value for T {}

/// A result row, read by column name.
pub(super) trait Columns {
    fn column<T: Value>(&self, name: &str) -> Result<T, StoreError>;
}

impl Columns for SqliteRow {
    fn column<T: Value>(&self, name: &str) -> Result<T, StoreError> {
        Ok(self.try_get(name)?)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn column<T: Value>(&self, name: &str) -> Result<T, StoreError> {
        self.get(name).map_err(store_error)
    }
}
