//! `query_database`: runs a query and publishes one row per result row.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Row, Value};

use super::{Target, parameters};
use crate::remote::CATEGORY;

const TYPE: &str = "query_database";
const DEFAULT_MAX_ROWS: i64 = 10_000;
const MOST_MAX_ROWS: i64 = 1_000_000;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Runs a query on PostgreSQL, MySQL/MariaDB or SQLite and publishes one row per result row.",
    idempotent: true,
    properties: &["connection", "query", "parameters", "timeout", "max_rows"],
    required: &["connection", "query"],
    publishes: &["row_number", "line", "row_count"],
};

pub struct QueryDatabase;

#[scorch_activity::async_trait]
impl Activity for QueryDatabase {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    /// Any: the columns are known only when the query runs.
    fn published_fields(&self, _properties: &Value) -> Option<Vec<String>> {
        None
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let query = props.non_empty("query")?;
        let max_rows = props.i64_or("max_rows", DEFAULT_MAX_ROWS)?;
        if !(1..=MOST_MAX_ROWS).contains(&max_rows) {
            return Err(ActivityError::invalid(
                TYPE,
                "max_rows",
                format!("{max_rows} is not between 1 and {MOST_MAX_ROWS}"),
            ));
        }
        let max_rows = usize::try_from(max_rows).unwrap_or(usize::MAX);
        let params = parameters(&props);
        let target = Target::read(ctx, &props)?;
        let table = target
            .run(ctx, TYPE, target.pool.fetch(&query, &params, max_rows))
            .await?;
        let row_count = table.rows.len();
        let rows = table
            .rows
            .into_iter()
            .enumerate()
            .map(|(i, values)| {
                let values: Vec<String> = values.into_iter().map(Option::unwrap_or_default).collect();
                let mut row = Row::new();
                for (name, value) in table.columns.iter().zip(&values) {
                    row.insert(name.clone(), Value::String(value.clone()));
                }
                // Written last: a column of the same name gives way (rename it with AS).
                row.insert("row_number".into(), Value::from(i + 1));
                row.insert("line".into(), Value::String(values.join(";")));
                row.insert("row_count".into(), Value::from(row_count));
                row
            })
            .collect();
        Ok(ActivityOutput::rows(rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::database::WriteToDatabase;
    use crate::remote::database::test_servers::{TestDb, all_three, ctx, refused};
    use scorch_activity::json;

    async fn query(connection: &str, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let mut properties = properties;
        properties["connection"] = json!(connection);
        QueryDatabase.run(&ctx(), properties).await
    }

    fn column(out: &ActivityOutput, name: &str) -> Vec<String> {
        out.rows.iter().map(|r| r[name].as_str().unwrap().to_string()).collect()
    }

    #[tokio::test]
    async fn postgres_types_read_as_text_and_null_as_empty() {
        let Some(db) = TestDb::postgres().await else { return };
        db.exec(
            r#"CREATE TYPE mood AS ENUM ('ok', 'sad');
             CREATE TABLE t (id serial, i2 int2, i8 int8, f4 float4, f8 float8, d numeric(30,10), b bool,
               tx text, vc varchar(5), ch char(3), by bytea, dt date, tm time, tz timetz, ts timestamp,
               tstz timestamptz, iv interval, u uuid, j json, jb jsonb, m mood, arr text[], ints int4[]);
             INSERT INTO t (i2, i8, f4, f8, d, b, tx, vc, ch, by, dt, tm, tz, ts, tstz, iv, u, j, jb, m, arr, ints)
               VALUES (-2, 9007199254740993, 1.5, 0.1, 12345678901234567890.0000000001, true, 'hé; x', 'ab',
               'c', '\xdeadbeef', '2024-05-01', '13:45:00.25', '13:45:00+02', '2024-05-01 13:45:00',
               '2024-05-01 13:45:00+02', '1 mon 2 days 03:04:05.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
               '{"a": [1, 2]}', '{"b": true}', 'sad', '{x,NULL}', '{1,2}');
             INSERT INTO t (tx) VALUES (NULL);"#,
        )
        .await;
        let out = query(&db.url, json!({"query": "SELECT * FROM t ORDER BY id"}))
            .await
            .unwrap();
        assert_eq!(out.rows.len(), 2);
        let row = &out.rows[0];
        let expect = json!({"id": "1", "i2": "-2", "i8": "9007199254740993", "f4": "1.5", "f8": "0.1",
            "d": "12345678901234567890.0000000001", "b": "true", "tx": "hé; x", "vc": "ab", "ch": "c  ",
            "by": "deadbeef", "dt": "2024-05-01", "tm": "13:45:00.25", "tz": "13:45:00+02:00",
            "ts": "2024-05-01T13:45:00", "tstz": "2024-05-01T11:45:00Z", "iv": "P1M2DT3H4M5.5S",
            "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "j": "{\"a\":[1,2]}", "jb": "{\"b\":true}",
            "m": "sad", "arr": "[\"x\",null]", "ints": "[1,2]"});
        for (name, value) in expect.as_object().unwrap() {
            assert_eq!(&row[name], value, "column {name}");
        }
        assert_eq!((&row["row_number"], &row["row_count"]), (&json!(1), &json!(2)));
        assert!(
            row["line"]
                .as_str()
                .unwrap()
                .starts_with("1;-2;9007199254740993;1.5;0.1;")
        );
        let null_row = &out.rows[1];
        assert_eq!(
            (&null_row["tx"], &null_row["d"], &null_row["row_number"]),
            (&json!(""), &json!(""), &json!(2))
        );
        assert_eq!(null_row["line"], format!("2{}", ";".repeat(22)));
    }

    #[tokio::test]
    async fn mariadb_types_read_as_text_and_null_as_empty() {
        let Some(db) = TestDb::mariadb().await else { return };
        db.exec(
            r#"CREATE TABLE t (id int AUTO_INCREMENT PRIMARY KEY, ti tinyint, bo boolean, ub bigint unsigned,
               f float, db double, d decimal(20,4), tx text, vc varchar(10), bl blob, dt date, tm time,
               dtm datetime(3), ts timestamp NULL, y year, j json, e enum('a','b'), bi bit(8));
             INSERT INTO t (ti, bo, ub, f, db, d, tx, vc, bl, dt, tm, dtm, ts, y, j, e, bi) VALUES
               (-5, true, 18446744073709551615, 1.5, 0.1, 1234.5, 'hé; x', 'ab', x'deadbeef', '2024-05-01',
               '-01:02:03', '2024-05-01 13:45:00.250', '2024-05-01 13:45:00', 2024, '{"a": 1}', 'b', b'101');
             INSERT INTO t (tx) VALUES (NULL);"#,
        )
        .await;
        let out = query(&db.url, json!({"query": "SELECT * FROM t ORDER BY id"}))
            .await
            .unwrap();
        let expect = json!({"id": "1", "ti": "-5", "bo": "1", "ub": "18446744073709551615", "f": "1.5",
            "db": "0.1", "d": "1234.5000", "tx": "hé; x", "vc": "ab", "bl": "deadbeef", "dt": "2024-05-01",
            "tm": "-01:02:03", "dtm": "2024-05-01T13:45:00.25", "ts": "2024-05-01T13:45:00Z", "y": "2024",
            "j": "{\"a\": 1}", "e": "b", "bi": "5"});
        for (name, value) in expect.as_object().unwrap() {
            assert_eq!(&out.rows[0][name], value, "column {name}");
        }
        assert_eq!((&out.rows[1]["tx"], &out.rows[1]["row_count"]), (&json!(""), &json!(2)));
    }

    #[tokio::test]
    async fn sqlite_types_read_as_text_and_null_as_empty() {
        let db = TestDb::sqlite();
        db.exec(
            "CREATE TABLE t (i integer, r real, tx text, bl blob, n numeric);
             INSERT INTO t VALUES (42, 2.5, 'hé', x'00ff', 7), (NULL, NULL, NULL, NULL, NULL);",
        )
        .await;
        let out = query(&db.url, json!({"query": "SELECT * FROM t"})).await.unwrap();
        assert_eq!(column(&out, "line"), ["42;2.5;hé;00ff;7", ";;;;"]);
        assert_eq!(column(&out, "bl"), ["00ff", ""]);
    }

    #[test]
    fn later_activities_may_subscribe_to_any_column() {
        assert_eq!(
            QueryDatabase.published_fields(&json!({"query": "SELECT name FROM t"})),
            None
        );
    }

    #[tokio::test]
    async fn zero_rows_publish_no_row() {
        for db in all_three().await {
            db.exec("CREATE TABLE t (a int)").await;
            let out = query(&db.url, json!({"query": "SELECT a FROM t"})).await.unwrap();
            assert_eq!(
                (out.status, out.rows.len()),
                (scorch_activity::Status::Success, 0),
                "{}",
                db.url
            );
        }
    }

    #[tokio::test]
    async fn more_rows_than_max_rows_fail() {
        let Some(db) = TestDb::postgres().await else { return };
        // In the select list the series streams: only reading past max_rows would take long.
        let sql = "SELECT generate_series(1, 1000000000) AS g";
        let err = query(&db.url, json!({"query": sql, "max_rows": 10})).await.unwrap_err();
        assert_eq!(
            err,
            ActivityError::Failed(format!(
                "query_database: {}: the query returned more than 10 rows (max_rows)",
                db.url
            ))
        );
        // The endless rest is not read: its connection is closed, which ends the query.
        let name = db.url.rsplit('/').next().unwrap();
        let running = format!(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{name}' AND query LIKE 'SELECT generate_series%'"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let out = query(&db.url, json!({"query": running})).await.unwrap();
            if out.rows[0]["n"] == "0" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the endless query still runs");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let out = query(
            &db.url,
            json!({"query": "SELECT g FROM generate_series(1, 10) g", "max_rows": 10}),
        )
        .await
        .unwrap();
        assert_eq!(out.rows.len(), 10);
        let err = query(&db.url, json!({"query": "SELECT 1", "max_rows": 0}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "query_database: property 'max_rows': 0 is not between 1 and 1000000"
        );
    }

    #[tokio::test]
    async fn a_parameter_stays_a_value_whatever_it_holds() {
        let evil = "'; DROP TABLE t; --";
        for db in all_three().await {
            db.exec("CREATE TABLE t (id int, name varchar(100))").await;
            let (p1, p2) = if db.url.starts_with("postgres") {
                ("$1", "$2")
            } else {
                ("?", "?")
            };
            let write = json!({"connection": db.url,
                "statement": format!("INSERT INTO t (id, name) VALUES ({p1}, {p2})"), "parameters": [7, evil]});
            WriteToDatabase.run(&ctx(), write).await.unwrap();
            let sql = format!("SELECT id, name FROM t WHERE name = {p1} OR id = {p2}");
            let out = query(&db.url, json!({"query": sql, "parameters": [evil, null]}))
                .await
                .unwrap();
            assert_eq!(column(&out, "name"), [evil], "{}", db.url);
            let out = query(&db.url, json!({"query": "SELECT count(*) AS n FROM t"}))
                .await
                .unwrap();
            assert_eq!(column(&out, "n"), ["1"], "{}", db.url);
        }
    }

    #[tokio::test]
    async fn a_bad_query_fails_in_one_line_naming_the_connection_without_its_password() {
        let Some(db) = TestDb::postgres().await else { return };
        // Trust authentication lets any password in: it still must not show.
        let with_password = db.url.replacen("postgres@", "postgres:s3cret-pw@", 1);
        let err = query(&with_password, json!({"query": "SELECT * FROM nowhere"}))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ActivityError::Failed(format!(
                "query_database: {}: relation \"nowhere\" does not exist",
                db.url
            ))
        );

        let db = TestDb::sqlite();
        let err = query(&db.url, json!({"query": "SELEC 1"})).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("query_database: {}: near \"SELEC\"", db.url)),
            "{text}"
        );
        assert!(!text.contains('\n'));

        let missing = db.url.replace("test.db", "missing.db");
        let err = query(&missing, json!({"query": "SELECT 1"})).await.unwrap_err();
        assert_eq!(
            err,
            ActivityError::Failed(format!("query_database: {missing}: unable to open database file"))
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_transient_and_hides_the_password() {
        for scheme in ["postgres", "mysql"] {
            let url = refused(scheme);
            let err = query(&url, json!({"query": "SELECT 1", "timeout": "5s"}))
                .await
                .unwrap_err();
            let shown = url.replace(":s3cret-pw", "");
            assert_eq!(
                err,
                ActivityError::Transient(format!("query_database: {shown}: connection refused"))
            );
        }
    }

    #[tokio::test]
    async fn a_wrong_password_fails_without_showing_it() {
        let Some(db) = TestDb::mariadb().await else { return };
        let user = format!("u{}", &db.url[db.url.len() - 12..]);
        db.exec(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'right-pw'"))
            .await;
        let url = |password: &str| db.url.replacen("root@", &format!("{user}:{password}@"), 1);
        let err = query(&url("wrong-pw"), json!({"query": "SELECT 1"})).await;
        db.exec(&format!("DROP USER '{user}'@'%'")).await;
        let text = err.unwrap_err().to_string();
        let shown = db.url.replacen("root@", &format!("{user}@"), 1);
        assert!(
            text.starts_with(&format!("query_database: {shown}: Access denied for user '{user}'")),
            "{text}"
        );
        assert!(!text.contains("wrong-pw"), "{text}");
    }

    #[tokio::test]
    async fn a_slow_query_times_out() {
        let Some(db) = TestDb::postgres().await else { return };
        let started = std::time::Instant::now();
        let err = query(&db.url, json!({"query": "SELECT pg_sleep(5)", "timeout": "1s"}))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ActivityError::Transient(format!("query_database: {}: no answer within 1s", db.url))
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
    }

    #[tokio::test]
    async fn cancel_stops_the_query() {
        let Some(db) = TestDb::postgres().await else { return };
        let ctx = ctx();
        ctx.cancel.cancel();
        let err = QueryDatabase
            .run(&ctx, json!({"connection": db.url, "query": "SELECT pg_sleep(5)"}))
            .await
            .unwrap_err();
        assert_eq!(err, ActivityError::Canceled);
    }

    #[tokio::test]
    async fn bad_input_is_refused_before_connecting() {
        let err = query("oracle://db/x", json!({"query": "SELECT 1"})).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "query_database: property 'connection': 'oracle:' is not a database this activity knows: use postgres://, mysql:// or sqlite:"
        );
        let err = query("sqlite:", json!({"query": "SELECT 1"})).await.unwrap_err();
        assert!(matches!(err, ActivityError::InvalidInput(_)), "{err}");
        let err = query("sqlite:/x.db", json!({"query": ""})).await.unwrap_err();
        assert_eq!(err.to_string(), "query_database: property 'query': must not be empty");
        let err = query("sqlite:/x.db", json!({"query": "SELECT 1", "timeout": "0s"}))
            .await
            .unwrap_err();
        assert!(matches!(err, ActivityError::InvalidInput(_)), "{err}");
    }
}
