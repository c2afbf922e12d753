//! `query_database` and `write_to_database`: PostgreSQL, MySQL (and MariaDB) and SQLite, through
//! sqlx. What the two share: the connection and its pool, parameters, running a statement within
//! the `timeout`, and errors that name the connection without its password.

use std::future::Future;
use std::time::Duration;

use futures_util::TryStreamExt as _;
use scorch_activity::props::Props;
use scorch_activity::{ActivityContext, ActivityError, Value};
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::{
    AssertSqlSafe, Column as _, ColumnIndex, Database, Encode, Executor, IntoArguments, Row as _, Type, ValueRef as _,
};

use self::driver::Driver;
use self::pools::{Connection, Pool};
use super::http_clients::innermost;
use super::{cancelable, show_duration, transient_io};
use crate::io_words::io_why;

mod driver;
mod pools;
mod query_database;
mod write_to_database;

pub use query_database::QueryDatabase;
pub use write_to_database::WriteToDatabase;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The most one value of a result may hold.
const MAX_VALUE_BYTES: usize = 1 << 20;
/// The most a whole result may hold.
const MAX_RESULT_BYTES: usize = 64 << 20;

/// What both activities read first: where, and how long they may take.
struct Target {
    connection: Connection,
    pool: Pool,
    timeout: Duration,
}

impl Target {
    fn read(ctx: &ActivityContext, props: &Props) -> Result<Self, ActivityError> {
        let type_name = props.type_name();
        let timeout = super::timeout_prop(props, DEFAULT_TIMEOUT)?;
        let connection = Connection::parse(ctx, type_name, &props.non_empty("connection")?)?;
        let pool = connection.pool(type_name)?;
        Ok(Self {
            connection,
            pool,
            timeout,
        })
    }

    /// Runs `work` on this target within its timeout, unless the job is canceled first.
    async fn run<T>(
        &self,
        ctx: &ActivityContext,
        type_name: &str,
        work: impl Future<Output = Result<T, DbError>>,
    ) -> Result<T, ActivityError> {
        let shown = &self.connection.shown;
        let line = |why: String| {
            let why = why.lines().next().unwrap_or_default().trim().to_string();
            ctx.secrets.mask(&format!("{type_name}: {shown}: {why}"))
        };
        let work = async {
            self.reach().await?;
            work.await
        };
        match cancelable(ctx, tokio::time::timeout(self.timeout, work)).await? {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(DbError::Sql(e))) => Err(sql_error(e, line)),
            Ok(Err(DbError::Result(why))) => Err(ActivityError::Failed(line(why))),
            Err(_) => Err(ActivityError::Transient(line(format!(
                "no answer within {}",
                show_duration(self.timeout)
            )))),
        }
    }

    /// Fails at once when the server refuses connections: the pool would keep trying (a server
    /// that is starting up refuses them for a moment) until the timeout.
    async fn reach(&self) -> Result<(), DbError> {
        match &self.connection.address {
            Some((host, port)) if self.pool.is_empty() => {
                let probe = tokio::net::TcpStream::connect((host.as_str(), *port)).await;
                probe.map(drop).map_err(|e| DbError::Sql(sqlx::Error::Io(e)))
            }
            _ => Ok(()),
        }
    }
}

enum DbError {
    Sql(sqlx::Error),
    /// The result could not be read or was too large.
    Result(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        Self::Sql(e)
    }
}

/// A driver's error as a one-line activity error: a lost connection and a conflict the server
/// resolved by rolling back (a deadlock) are worth a retry.
fn sql_error(error: sqlx::Error, line: impl Fn(String) -> String) -> ActivityError {
    match error {
        sqlx::Error::Io(e) if transient_io(&e) => ActivityError::Transient(line(io_why(&e))),
        sqlx::Error::Io(e) => ActivityError::Failed(line(io_why(&e))),
        sqlx::Error::Database(e) => {
            // PostgreSQL: connection exceptions (08), serialization failures and deadlocks (40),
            // too many connections (53300), a server shutting down (57P01-57P03). MySQL: lock
            // wait timeout (1205), deadlock (1213), too many connections (1040).
            let code = e.code().unwrap_or_default().into_owned();
            let transient = ["08", "40"].iter().any(|class| code.starts_with(class))
                || ["53300", "57P01", "57P02", "57P03", "1205", "1213", "1040"].contains(&code.as_str());
            let why = line(e.message().to_string());
            if transient {
                ActivityError::Transient(why)
            } else {
                ActivityError::Failed(why)
            }
        }
        sqlx::Error::Tls(e) => ActivityError::Failed(line(format!("TLS: {}", innermost(&*e)))),
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            ActivityError::Transient(line(innermost(&error)))
        }
        other => ActivityError::Failed(line(innermost(&other))),
    }
}

/// A parameter, bound as its JSON type: text, a number, a boolean or NULL.
enum Param {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

impl From<&Value> for Param {
    /// A list or a mapping is bound as its JSON text.
    fn from(value: &Value) -> Self {
        match value {
            Value::Null => Param::Null,
            Value::Bool(b) => Param::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Param::Int(i),
                (None, Some(f)) if n.is_f64() => Param::Float(f),
                _ => Param::Text(n.to_string()),
            },
            Value::String(s) => Param::Text(s.clone()),
            other => Param::Text(other.to_string()),
        }
    }
}

/// `parameters`: a list (or one value).
fn parameters(props: &Props) -> Vec<Param> {
    match props.get("parameters") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(Param::from).collect(),
        Some(one) => vec![Param::from(one)],
    }
}

/// Binding parameters: every driver takes text, integers, floats and booleans.
trait Binds: Driver {
    fn bind_all<'q>(query: Query<'q, Self, Self::Arguments>, params: &[Param]) -> Query<'q, Self, Self::Arguments>;
}

impl<DB: Driver> Binds for DB
where
    for<'e> String: Encode<'e, DB> + Type<DB>,
    for<'e> i64: Encode<'e, DB> + Type<DB>,
    for<'e> f64: Encode<'e, DB> + Type<DB>,
    for<'e> bool: Encode<'e, DB> + Type<DB>,
{
    fn bind_all<'q>(query: Query<'q, Self, Self::Arguments>, params: &[Param]) -> Query<'q, Self, Self::Arguments> {
        params.iter().fold(query, |query, param| match param {
            Param::Text(t) => query.bind(t.clone()),
            Param::Int(i) => query.bind(*i),
            Param::Float(f) => query.bind(*f),
            Param::Bool(b) => query.bind(*b),
            Param::Null => DB::bind_null(query),
        })
    }
}

/// A query's result as text: column names, and each row's values (`None` for NULL).
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
}

/// Runs `sql` and reads its result, failing on the row past `max_rows` without reading further.
async fn fetch<DB>(pool: &sqlx::Pool<DB>, sql: &str, params: &[Param], max_rows: usize) -> Result<Table, DbError>
where
    DB: Binds,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
{
    let mut checkout = Checkout::new(pool).await?;
    let query = DB::bind_all(sqlx::query(AssertSqlSafe(sql)), params);
    let mut stream = query.fetch(&mut *checkout.conn);
    let mut table = Table {
        columns: Vec::new(),
        rows: Vec::new(),
    };
    let mut total = 0;
    while let Some(row) = stream.try_next().await? {
        if table.rows.len() == max_rows {
            return Err(DbError::Result(format!(
                "the query returned more than {max_rows} rows (max_rows)"
            )));
        }
        if table.rows.is_empty() {
            table.columns = row.columns().iter().map(|c| c.name().to_string()).collect();
        }
        let mut values = Vec::with_capacity(table.columns.len());
        for (i, column) in table.columns.iter().enumerate() {
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                values.push(None);
                continue;
            }
            let text =
                DB::text(raw).map_err(|e| DbError::Result(format!("column '{column}': cannot read its value: {e}")))?;
            if text.len() > MAX_VALUE_BYTES {
                return Err(DbError::Result(format!(
                    "column '{column}' of row {} holds more than 1 MiB, the most a value may hold",
                    table.rows.len() + 1
                )));
            }
            total += text.len();
            values.push(Some(text));
        }
        if total > MAX_RESULT_BYTES {
            return Err(DbError::Result(
                "the result holds more than 64 MiB, the most a query may return".into(),
            ));
        }
        table.rows.push(values);
    }
    drop(stream);
    checkout.done = true;
    Ok(table)
}

/// Runs `sql` and counts the rows it changed.
async fn execute<DB>(pool: &sqlx::Pool<DB>, sql: &str, params: &[Param]) -> Result<u64, DbError>
where
    DB: Binds,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let mut checkout = Checkout::new(pool).await?;
    let result = DB::bind_all(sqlx::query(AssertSqlSafe(sql)), params)
        .execute(&mut *checkout.conn)
        .await?;
    checkout.done = true;
    Ok(DB::rows_affected(&result))
}

/// A pooled connection that goes back to the pool only once its statement is done. One left in
/// the middle (past `max_rows`, timed out, canceled) is closed instead: the pool would first read
/// the rest of the result, which may be endless.
struct Checkout<DB: Database> {
    conn: PoolConnection<DB>,
    done: bool,
}

impl<DB: Database> Checkout<DB> {
    async fn new(pool: &sqlx::Pool<DB>) -> Result<Self, sqlx::Error> {
        Ok(Self {
            conn: pool.acquire().await?,
            done: false,
        })
    }
}

impl<DB: Database> Drop for Checkout<DB> {
    fn drop(&mut self) {
        if !self.done {
            self.conn.close_on_drop();
        }
    }
}

impl Pool {
    async fn fetch(&self, sql: &str, params: &[Param], max_rows: usize) -> Result<Table, DbError> {
        match self {
            Pool::Postgres(p) => fetch(p, sql, params, max_rows).await,
            Pool::MySql(p) => fetch(p, sql, params, max_rows).await,
            Pool::Sqlite(p) => fetch(p, sql, params, max_rows).await,
        }
    }

    async fn execute(&self, sql: &str, params: &[Param]) -> Result<u64, DbError> {
        match self {
            Pool::Postgres(p) => execute(p, sql, params).await,
            Pool::MySql(p) => execute(p, sql, params).await,
            Pool::Sqlite(p) => execute(p, sql, params).await,
        }
    }

    /// The insert of `values` into `table`, in this pool's dialect.
    fn insert(&self, table: &str, values: &[(String, Value)]) -> (String, Vec<Param>) {
        match self {
            Pool::Postgres(_) => sqlx::Postgres::insert(table, values),
            Pool::MySql(_) => sqlx::MySql::insert(table, values),
            Pool::Sqlite(_) => sqlx::Sqlite::insert(table, values),
        }
    }
}

#[cfg(test)]
mod test_servers;
