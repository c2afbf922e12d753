//! What differs between PostgreSQL, MySQL and SQLite: how a column's value reads as text, how an
//! identifier is quoted, how placeholders and NULL parameters are written.
//!
//! Text forms: integers, decimals (never in exponent form) and floats as digits; booleans
//! `true`/`false` (MySQL has none: its BOOLEAN is a TINYINT, so `1`/`0`); dates `2024-05-01`,
//! times `13:45:00`, timestamps RFC 3339 (`2024-05-01T13:45:00Z` with a time zone, in UTC;
//! `2024-05-01T13:45:00` without); UUIDs hyphenated; JSON compact; bytes in lower-case hex.
//! A type without a text form here (a PostgreSQL range, a geometry) reads as its raw value: text
//! when that is printable UTF-8, else hex.

use std::fmt::Write as _;

use sqlx::error::BoxDynError;

use super::Param;
use sqlx::mysql::types::MySqlTime;
use sqlx::mysql::{MySql, MySqlValueRef};
use sqlx::postgres::types::{Oid, PgInterval, PgTimeTz};
use sqlx::postgres::{PgTypeInfo, PgValueRef, Postgres};
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteValueRef};
use sqlx::types::time::{Date, OffsetDateTime, PrimitiveDateTime, Time};
use sqlx::types::{BigDecimal, JsonValue, Uuid};
use sqlx::{Database, Decode, Encode, Type, TypeInfo, ValueRef};

pub trait Driver: Database {
    /// `value` (not NULL) as text.
    fn text(value: Self::ValueRef<'_>) -> Result<String, BoxDynError>;

    /// An identifier quoted for this dialect (`"order"`, `` `order` ``).
    fn quote(identifier: &str) -> String;

    /// `INSERT INTO table (columns) VALUES (...)` and its parameters. `table` may be
    /// `schema.table`: each part is quoted.
    fn insert(table: &str, values: &[(String, JsonValue)]) -> (String, Vec<Param>) {
        let columns: Vec<String> = values.iter().map(|(c, _)| Self::quote(c)).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote_table::<Self>(table),
            columns.join(", "),
            vec!["?"; values.len()].join(", ")
        );
        (sql, values.iter().map(|(_, v)| Param::from(v)).collect())
    }

    /// A NULL parameter, typed so the server takes it for any column.
    fn bind_null<'q>(query: Query<'q, Self, Self::Arguments>) -> Query<'q, Self, Self::Arguments>;

    fn rows_affected(result: &Self::QueryResult) -> u64;
}

fn decode<'r, T: Decode<'r, DB>, DB: Database>(value: DB::ValueRef<'r>) -> Result<T, BoxDynError> {
    T::decode(value)
}

fn quote_table<DB: Driver>(table: &str) -> String {
    table.trim().split('.').map(DB::quote).collect::<Vec<_>>().join(".")
}

fn quote_with(identifier: &str, quote: char) -> String {
    let doubled = identifier.replace(quote, &format!("{quote}{quote}"));
    format!("{quote}{doubled}{quote}")
}

impl Driver for Postgres {
    fn text(value: PgValueRef<'_>) -> Result<String, BoxDynError> {
        let info = value.type_info().into_owned();
        Ok(match info.name() {
            "BOOL" => decode::<bool, Self>(value)?.to_string(),
            "INT2" => decode::<i16, Self>(value)?.to_string(),
            "INT4" => decode::<i32, Self>(value)?.to_string(),
            "INT8" => decode::<i64, Self>(value)?.to_string(),
            "OID" => decode::<Oid, Self>(value)?.0.to_string(),
            "FLOAT4" => decode::<f32, Self>(value)?.to_string(),
            "FLOAT8" => decode::<f64, Self>(value)?.to_string(),
            "NUMERIC" => numeric(value)?,
            "TEXT" | "VARCHAR" | "CHAR" | "NAME" | "UNKNOWN" | "\"CHAR\"" => decode::<String, Self>(value)?,
            "BYTEA" => hex(decode::<&[u8], Self>(value)?),
            "DATE" => date(decode::<Date, Self>(value)?)?,
            "TIME" => time(decode::<Time, Self>(value)?)?,
            "TIMETZ" => {
                let t = decode::<PgTimeTz, Self>(value)?;
                format!("{}{}", time(t.time)?, offset(t.offset.whole_seconds()))
            }
            "TIMESTAMP" => datetime(decode::<PrimitiveDateTime, Self>(value)?)?,
            "TIMESTAMPTZ" => timestamp(decode::<OffsetDateTime, Self>(value)?)?,
            "INTERVAL" => interval(&decode::<PgInterval, Self>(value)?),
            "UUID" => decode::<Uuid, Self>(value)?.to_string(),
            "JSON" | "JSONB" => decode::<JsonValue, Self>(value)?.to_string(),
            "VOID" => String::new(),
            "TEXT[]" | "VARCHAR[]" | "NAME[]" | "CHAR[]" => json_list(decode::<Vec<Option<String>>, Self>(value)?),
            "INT2[]" => json_list(decode::<Vec<Option<i16>>, Self>(value)?),
            "INT4[]" => json_list(decode::<Vec<Option<i32>>, Self>(value)?),
            "INT8[]" => json_list(decode::<Vec<Option<i64>>, Self>(value)?),
            // Enums and extension types (citext) travel as their text.
            _ => raw(value.as_bytes()?),
        })
    }

    fn quote(identifier: &str) -> String {
        quote_with(identifier, '"')
    }

    /// PostgreSQL takes no text parameter for an integer column: the values go as one JSON
    /// object, which `json_populate_record` reads with each column's own type.
    fn insert(table: &str, values: &[(String, JsonValue)]) -> (String, Vec<Param>) {
        let table = quote_table::<Self>(table);
        let columns: Vec<String> = values.iter().map(|(c, _)| Self::quote(c)).collect();
        let columns = columns.join(", ");
        let record: sqlx::types::JsonValue = JsonValue::Object(values.iter().cloned().collect());
        let sql = format!(
            "INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_record(NULL::{table}, $1::json)"
        );
        (sql, vec![Param::Text(record.to_string())])
    }

    fn bind_null<'q>(query: Query<'q, Self, Self::Arguments>) -> Query<'q, Self, Self::Arguments> {
        query.bind(UntypedNull)
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

/// A PostgreSQL `numeric` with the digits after the point its column declares (`1.50` in a
/// `numeric(5,2)`), as PostgreSQL writes it, `NaN` and infinities included.
fn numeric(value: PgValueRef<'_>) -> Result<String, BoxDynError> {
    // The binary form: digit count, weight, sign, display scale (each 2 bytes), base-10000 digits.
    let bytes = value.as_bytes()?;
    let word = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match word(4) {
        Some(0xC000) => return Ok("NaN".into()),
        Some(0xD000) => return Ok("Infinity".into()),
        Some(0xF000) => return Ok("-Infinity".into()),
        _ => {}
    }
    let scale = word(6).ok_or("a numeric shorter than its header")?;
    Ok(decode::<BigDecimal, Postgres>(value)?
        .with_scale(i64::from(scale))
        .to_plain_string())
}

/// A PostgreSQL NULL of no declared type: the server gives it the column's (a NULL sent as TEXT
/// is refused by an integer column).
struct UntypedNull;

impl Type<Postgres> for UntypedNull {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(0))
    }
}

impl Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(&self, _: &mut sqlx::postgres::PgArgumentBuffer) -> Result<sqlx::encode::IsNull, BoxDynError> {
        Ok(sqlx::encode::IsNull::Yes)
    }
}

impl Driver for MySql {
    fn text(value: MySqlValueRef<'_>) -> Result<String, BoxDynError> {
        let info = value.type_info().into_owned();
        Ok(match info.name() {
            "BOOLEAN" | "TINYINT" => decode::<i8, Self>(value)?.to_string(),
            "SMALLINT" => decode::<i16, Self>(value)?.to_string(),
            "INT" | "MEDIUMINT" => decode::<i32, Self>(value)?.to_string(),
            "BIGINT" => decode::<i64, Self>(value)?.to_string(),
            "TINYINT UNSIGNED" => decode::<u8, Self>(value)?.to_string(),
            "SMALLINT UNSIGNED" | "YEAR" => decode::<u16, Self>(value)?.to_string(),
            "INT UNSIGNED" | "MEDIUMINT UNSIGNED" => decode::<u32, Self>(value)?.to_string(),
            "BIGINT UNSIGNED" => decode::<u64, Self>(value)?.to_string(),
            "FLOAT" => decode::<f32, Self>(value)?.to_string(),
            "DOUBLE" => decode::<f64, Self>(value)?.to_string(),
            "DATE" => date(decode::<Date, Self>(value)?)?,
            "TIME" => {
                // As MySQL writes it: `-01:02:03`, `838:59:59.5`.
                let t = decode::<MySqlTime, Self>(value)?;
                // The sign's own test: sqlx 0.9.0's `MySqlTime::is_negative` answers is_positive.
                let sign = if t.sign().is_negative() { "-" } else { "" };
                let fraction = format!(".{:06}", t.microseconds());
                let fraction = fraction.trim_end_matches('0').trim_end_matches('.');
                format!("{sign}{:02}:{:02}:{:02}{fraction}", t.hours(), t.minutes(), t.seconds())
            }
            "DATETIME" => datetime(decode::<PrimitiveDateTime, Self>(value)?)?,
            "TIMESTAMP" => timestamp(decode::<OffsetDateTime, Self>(value)?)?,
            // A text column with a binary-sorting collation (`utf8mb4_bin`, MariaDB's JSON) is
            // flagged binary too: only the binary character set means bytes.
            _ if <String as Type<MySql>>::compatible(&info) => decode::<String, Self>(value)?,
            "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "GEOMETRY" => {
                hex(decode::<&[u8], Self>(value)?)
            }
            "BIT" => decode::<&[u8], Self>(value)?
                .iter()
                .fold(0u64, |n, b| (n << 8) | u64::from(*b))
                .to_string(),
            // Text, DECIMAL, JSON, ENUM and SET all travel as text.
            _ => raw(decode::<&[u8], Self>(value)?),
        })
    }

    fn quote(identifier: &str) -> String {
        quote_with(identifier, '`')
    }

    fn bind_null<'q>(query: Query<'q, Self, Self::Arguments>) -> Query<'q, Self, Self::Arguments> {
        query.bind(None::<String>)
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

impl Driver for Sqlite {
    fn text(value: SqliteValueRef<'_>) -> Result<String, BoxDynError> {
        // SQLite types values, not columns: this is the value's own storage class.
        let info = value.type_info().into_owned();
        Ok(match info.name() {
            "INTEGER" | "BOOLEAN" => decode::<i64, Self>(value)?.to_string(),
            "REAL" => decode::<f64, Self>(value)?.to_string(),
            "BLOB" => hex(decode::<&[u8], Self>(value)?),
            _ => decode::<String, Self>(value)?,
        })
    }

    fn quote(identifier: &str) -> String {
        quote_with(identifier, '"')
    }

    fn bind_null<'q>(query: Query<'q, Self, Self::Arguments>) -> Query<'q, Self, Self::Arguments> {
        query.bind(None::<String>)
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A value of a type we have no text form for: its bytes as text when they are printable, else
/// in hex.
fn raw(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) => text.to_string(),
        _ => hex(bytes),
    }
}

fn json_list<T: Into<JsonValue>>(items: Vec<Option<T>>) -> String {
    JsonValue::Array(
        items
            .into_iter()
            .map(|i| i.map_or(JsonValue::Null, Into::into))
            .collect(),
    )
    .to_string()
}

fn date(d: Date) -> Result<String, BoxDynError> {
    Ok(jiff::civil::Date::new(i16::try_from(d.year())?, d.month() as i8, d.day() as i8)?.to_string())
}

fn time(t: Time) -> Result<String, BoxDynError> {
    let nanos = i32::try_from(t.nanosecond())?;
    Ok(jiff::civil::Time::new(t.hour() as i8, t.minute() as i8, t.second() as i8, nanos)?.to_string())
}

fn datetime(dt: PrimitiveDateTime) -> Result<String, BoxDynError> {
    Ok(format!("{}T{}", date(dt.date())?, time(dt.time())?))
}

fn timestamp(at: OffsetDateTime) -> Result<String, BoxDynError> {
    Ok(jiff::Timestamp::from_nanosecond(at.unix_timestamp_nanos())?.to_string())
}

/// A UTC offset in seconds as `+02:00` (`Z` for none).
fn offset(seconds: i32) -> String {
    if seconds == 0 {
        return "Z".into();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    format!("{sign}{:02}:{:02}", s / 3600, s % 3600 / 60)
}

/// A PostgreSQL interval as an ISO 8601 duration (`P1M2DT3H4M5.5S`).
fn interval(i: &PgInterval) -> String {
    let mut text = String::from("P");
    if i.months != 0 {
        let _ = write!(text, "{}M", i.months);
    }
    if i.days != 0 {
        let _ = write!(text, "{}D", i.days);
    }
    let micros = i.microseconds;
    if micros != 0 || text == "P" {
        let sign = if micros < 0 { "-" } else { "" };
        let abs = micros.unsigned_abs();
        let (hours, minutes) = (abs / 3_600_000_000, abs / 60_000_000 % 60);
        let (seconds, fraction) = (abs / 1_000_000 % 60, abs % 1_000_000);
        text.push('T');
        if hours != 0 {
            let _ = write!(text, "{sign}{hours}H");
        }
        if minutes != 0 {
            let _ = write!(text, "{sign}{minutes}M");
        }
        if seconds != 0 || fraction != 0 || (hours == 0 && minutes == 0) {
            let _ = write!(text, "{sign}{seconds}");
            if fraction != 0 {
                let _ = write!(text, ".{}", format!("{fraction:06}").trim_end_matches('0'));
            }
            text.push('S');
        }
    }
    text
}
