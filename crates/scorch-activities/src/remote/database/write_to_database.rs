//! `write_to_database`: inserts one row (`table` + `values`) or runs any statement, and publishes
//! how many rows it changed.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{Target, parameters};
use crate::remote::CATEGORY;

const TYPE: &str = "write_to_database";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Inserts a row into a table, or runs any statement, on PostgreSQL, MySQL/MariaDB or SQLite.",
    idempotent: false,
    properties: &["connection", "table", "values", "statement", "parameters", "timeout"],
    required: &["connection"],
    publishes: &["rows_affected"],
};

pub struct WriteToDatabase;

#[scorch_activity::async_trait]
impl Activity for WriteToDatabase {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let invalid = |name: &str, why: &str| ActivityError::invalid(TYPE, name, why);
        let table = props.opt_str("table")?.filter(|t| !t.trim().is_empty());
        let statement = props.opt_str("statement")?.filter(|s| !s.trim().is_empty());
        if table.is_some() && statement.is_some() {
            return Err(invalid("statement", "give table and values, or statement, not both"));
        }
        if table.is_none() && props.get("values").is_some() {
            return Err(invalid("table", "is required with values"));
        }
        if statement.is_none() && props.get("parameters").is_some() {
            return Err(invalid("parameters", "go with statement (table takes values)"));
        }
        let target = Target::read(ctx, &props)?;
        let (sql, params) = match (table, statement) {
            (Some(table), None) => target.pool.insert(&table, &values(&props)?),
            (None, Some(statement)) => (statement, parameters(&props)),
            _ => return Err(invalid("statement", "give table and values, or statement")),
        };
        let rows_affected = target.run(ctx, TYPE, target.pool.execute(&sql, &params)).await?;
        Ok(ActivityOutput::row(row! { "rows_affected" => rows_affected }))
    }
}

/// `values`: column names and their values (a null one inserts NULL).
fn values(props: &Props) -> Result<Vec<(String, Value)>, ActivityError> {
    let values = match props.get("values") {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>(),
        Some(other) => {
            return Err(ActivityError::invalid(
                TYPE,
                "values",
                format!("must be a mapping of columns to values, got {other}"),
            ));
        }
        None => Vec::new(),
    };
    if values.is_empty() {
        return Err(ActivityError::invalid(TYPE, "values", "needs at least one column"));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::database::QueryDatabase;
    use crate::remote::database::test_servers::{TestDb, all_three, ctx, refused};
    use scorch_activity::json;

    async fn write(connection: &str, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let mut properties = properties;
        properties["connection"] = json!(connection);
        WriteToDatabase.run(&ctx(), properties).await
    }

    async fn lines(connection: &str, sql: &str) -> Vec<String> {
        let out = QueryDatabase
            .run(&ctx(), json!({"connection": connection, "query": sql}))
            .await
            .unwrap();
        out.rows
            .iter()
            .map(|r| r["line"].as_str().unwrap().to_string())
            .collect()
    }

    #[tokio::test]
    async fn table_and_values_insert_one_row_with_quoted_identifiers() {
        for db in all_three().await {
            let mysql = db.url.starts_with("mysql");
            let q = |name: &str| {
                if mysql {
                    format!("`{name}`")
                } else {
                    format!("\"{name}\"")
                }
            };
            db.exec(&format!(
                "CREATE TABLE {} (id int, {} varchar(20), {} int, note varchar(20))",
                q("my items"),
                q("order"),
                q("unit price")
            ))
            .await;
            // A schema-qualified name: PostgreSQL's `public`, MariaDB's database, SQLite's `main`.
            let schema = if db.url.starts_with("postgres") {
                "public".to_string()
            } else if mysql {
                db.url.rsplit('/').next().unwrap().to_string()
            } else {
                "main".to_string()
            };
            let values = json!({"id": 1, "order": "first", "unit price": "42", "note": null});
            let out = write(
                &db.url,
                json!({"table": format!("{schema}.my items"), "values": values}),
            )
            .await
            .unwrap();
            assert_eq!(out.rows[0]["rows_affected"], 1, "{}", db.url);
            let sql = format!(
                "SELECT id, {}, {} + 1, note FROM {}",
                q("order"),
                q("unit price"),
                q("my items")
            );
            assert_eq!(lines(&db.url, &sql).await, ["1;first;43;"], "{}", db.url);
        }
    }

    #[tokio::test]
    async fn a_statement_with_parameters_counts_the_rows_it_changed() {
        for db in all_three().await {
            db.exec(
                "CREATE TABLE t (id int, state varchar(10)); INSERT INTO t VALUES (1, 'new'), (2, 'new'), (3, 'old')",
            )
            .await;
            let (p1, p2) = if db.url.starts_with("postgres") {
                ("$1", "$2")
            } else {
                ("?", "?")
            };
            let statement = format!("UPDATE t SET state = {p1} WHERE state = {p2}");
            let out = write(&db.url, json!({"statement": statement, "parameters": ["done", "new"]}))
                .await
                .unwrap();
            assert_eq!(out.rows[0]["rows_affected"], 2, "{}", db.url);
            let out = write(&db.url, json!({"statement": "DELETE FROM t WHERE id > 100"}))
                .await
                .unwrap();
            assert_eq!(out.rows[0]["rows_affected"], 0, "{}", db.url);
        }
    }

    #[tokio::test]
    async fn errors_name_the_connection_and_the_reason() {
        let Some(db) = TestDb::postgres().await else { return };
        db.exec("CREATE TABLE t (n int NOT NULL)").await;
        let err = write(&db.url, json!({"table": "t", "values": {"n": "many"}}))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ActivityError::Failed(format!(
                "write_to_database: {}: invalid input syntax for type integer: \"many\"",
                db.url
            ))
        );
        let err = write(&db.url, json!({"table": "t", "values": {"n": null}}))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("null value in column \"n\""), "{err}");

        let url = refused("mysql");
        let err = write(&url, json!({"statement": "DELETE FROM t"})).await.unwrap_err();
        assert_eq!(
            err,
            ActivityError::Transient(format!(
                "write_to_database: {}: connection refused",
                url.replace(":s3cret-pw", "")
            ))
        );
    }

    #[tokio::test]
    async fn table_or_statement_but_not_both() {
        let db = TestDb::sqlite();
        let cases = [
            (
                json!({"table": "t", "statement": "DELETE FROM t"}),
                "property 'statement': give table and values, or statement, not both",
            ),
            (json!({"values": {"a": 1}}), "property 'table': is required with values"),
            (
                json!({"table": "t", "parameters": [1]}),
                "property 'parameters': go with statement (table takes values)",
            ),
            (json!({"table": "t"}), "property 'values': needs at least one column"),
            (
                json!({"table": "t", "values": [1]}),
                "property 'values': must be a mapping of columns to values, got [1]",
            ),
            (json!({}), "property 'statement': give table and values, or statement"),
        ];
        for (properties, why) in cases {
            let err = write(&db.url, properties).await.unwrap_err();
            assert_eq!(err, ActivityError::InvalidInput(format!("write_to_database: {why}")));
        }
    }
}
