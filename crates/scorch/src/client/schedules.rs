//! `scorch schedule`: schedules on the management server, defined by flags or by a YAML or JSON
//! file holding the object the API takes.

use std::path::Path;

use scorch_server::api::wire::ScheduleItem;
use serde_json::{Map, Value, json};

use super::connect;
use super::http::ClientError;
use super::jobs::pretty;
use super::terminal::table;
use super::yaml::to_yaml;
use crate::cli::{Connection, ScheduleCommand, ScheduleDefinition, name_value};

pub async fn schedule(cmd: ScheduleCommand, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::management(conn)?;
    match cmd {
        ScheduleCommand::Set { name, definition } => {
            let body = definition_value(definition)?;
            let set: ScheduleItem = api.put(&["api", "v1", "schedules", &name], &body).await?;
            out!("set {}: {}", set.name, summary(&set.definition));
        }
        ScheduleCommand::Get { name, json } => {
            let s: ScheduleItem = api.get(&["api", "v1", "schedules", &name], &[]).await?;
            if json {
                out!("{}", pretty(&s.definition));
            } else {
                print!("{}", to_yaml(&s.definition));
            }
        }
        ScheduleCommand::List => {
            let schedules: Vec<ScheduleItem> = api.get(&["api", "v1", "schedules"], &[]).await?;
            let rows = schedules
                .into_iter()
                .map(|s| {
                    let summary = summary(&s.definition);
                    vec![s.name, summary]
                })
                .collect();
            table(&["NAME", "WHEN"], rows);
        }
        ScheduleCommand::Delete { name } => {
            api.delete(&["api", "v1", "schedules", &name], &[]).await?;
            out!("deleted schedule {name}");
        }
    }
    Ok(())
}

/// The definition the flags or the file give; the server checks it.
fn definition_value(flags: ScheduleDefinition) -> Result<Value, ClientError> {
    if let Some(file) = &flags.file {
        return read_definition(file);
    }
    let mut definition = Map::new();
    let mut list = |key: &str, items: Vec<String>| {
        if !items.is_empty() {
            definition.insert(key.into(), items.into());
        }
    };
    list("days_of_week", flags.days_of_week);
    list("occurrence", flags.occurrence);
    list("hours", flags.hours);
    let exceptions = flags
        .exceptions
        .iter()
        .map(|e| {
            let (date, rule) = name_value(e, "--exception").map_err(ClientError::invalid)?;
            Ok(json!({ "date": date, "rule": rule.trim() }))
        })
        .collect::<Result<Vec<Value>, ClientError>>()?;
    if !exceptions.is_empty() {
        definition.insert("exceptions".into(), exceptions.into());
    }
    if let Some(days) = flags.days_of_month {
        definition.insert("days_of_month".into(), days.into());
    }
    if let Some(zone) = flags.timezone {
        definition.insert("timezone".into(), zone.into());
    }
    Ok(Value::Object(definition))
}

/// A YAML (or JSON, which YAML reads too) file's value.
fn read_definition(file: &Path) -> Result<Value, ClientError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| ClientError::invalid(format!("cannot read {}: {e}", file.display())))?;
    let (value, _) = scorch_model::source::parse(&text).map_err(|e| {
        ClientError::invalid(format!(
            "{}:{}:{}: {}",
            file.display(),
            e.position.line,
            e.position.column,
            e.message
        ))
    })?;
    Ok(value)
}

/// One line for a list: the days, the hours, the time zone and how many exceptions.
fn summary(definition: &Value) -> String {
    let text = |key: &str| definition.get(key).and_then(Value::as_str);
    let list = |key: &str| {
        let items: Vec<&str> = definition
            .get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        (!items.is_empty()).then(|| items.join(","))
    };
    let days = match (list("days_of_week"), text("days_of_month")) {
        (Some(week), _) => match list("occurrence") {
            Some(which) => format!("{which} {week}"),
            None => week,
        },
        (None, Some(month)) => format!("days {month} of the month"),
        (None, None) => "every day".into(),
    };
    let hours = list("hours").unwrap_or_else(|| "all day".into());
    let mut line = format!("{days}, {hours}, {}", text("timezone").unwrap_or("UTC"));
    match definition
        .get("exceptions")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
    {
        0 => {}
        1 => line.push_str(", 1 exception"),
        n => line.push_str(&format!(", {n} exceptions")),
    }
    line
}
