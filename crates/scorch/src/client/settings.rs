//! `scorch var`, `scorch counter` and `scorch group`: global settings on the management server.

use scorch_server::api::wire::{CounterItem, GroupItem, SetCounter, SetGroup, SetVariable, VariableItem};

use super::connect;
use super::http::ClientError;
use super::terminal::{read_stdin_line, table};
use crate::cli::{Connection, CounterCommand, GroupCommand, VarCommand};

pub async fn var(cmd: VarCommand, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::management(conn)?;
    match cmd {
        VarCommand::Set { name, value, encrypted } => {
            let value = if value == "-" { read_stdin_line("value")? } else { value };
            let set: VariableItem = api
                .put(&["api", "v1", "variables", &name], &SetVariable { value, encrypted })
                .await?;
            if set.encrypted {
                out!("set {} (encrypted: its value is never shown)", set.name);
            } else {
                out!("set {}", set.name);
            }
        }
        VarCommand::Get { name } => {
            let v: VariableItem = api.get(&["api", "v1", "variables", &name], &[]).await?;
            match v.value {
                Some(value) if !v.encrypted => out!("{value}"),
                _ => eprintln!("scorch: variable '{}' is encrypted: its value is never shown", v.name),
            }
        }
        VarCommand::List => {
            let vars: Vec<VariableItem> = api.get(&["api", "v1", "variables"], &[]).await?;
            let rows = vars
                .into_iter()
                .map(|v| {
                    let value = if v.encrypted {
                        "(encrypted)".to_string()
                    } else {
                        v.value.unwrap_or_default()
                    };
                    vec![v.name, value]
                })
                .collect();
            table(&["NAME", "VALUE"], rows);
        }
        VarCommand::Delete { name } => {
            api.delete(&["api", "v1", "variables", &name], &[]).await?;
            out!("deleted variable {name}");
        }
    }
    Ok(())
}

pub async fn counter(cmd: CounterCommand, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::management(conn)?;
    match cmd {
        CounterCommand::Set { name, value } => {
            let set: CounterItem = api
                .put(&["api", "v1", "counters", &name], &SetCounter { value })
                .await?;
            out!("set {} = {}", set.name, set.value);
        }
        CounterCommand::Get { name } => {
            let c: CounterItem = api.get(&["api", "v1", "counters", &name], &[]).await?;
            out!("{}", c.value);
        }
        CounterCommand::List => {
            let counters: Vec<CounterItem> = api.get(&["api", "v1", "counters"], &[]).await?;
            let rows = counters
                .into_iter()
                .map(|c| vec![c.name, c.value.to_string(), c.default.to_string()])
                .collect();
            table(&["NAME", "VALUE", "RESET TO"], rows);
        }
        CounterCommand::Delete { name } => {
            api.delete(&["api", "v1", "counters", &name], &[]).await?;
            out!("deleted counter {name}");
        }
    }
    Ok(())
}

pub async fn group(cmd: GroupCommand, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::management(conn)?;
    match cmd {
        GroupCommand::Set { name, hosts } => {
            let set: GroupItem = api.put(&["api", "v1", "groups", &name], &SetGroup { hosts }).await?;
            out!("set {} ({} hosts)", set.name, set.hosts.len());
        }
        GroupCommand::Get { name } => {
            let g: GroupItem = api.get(&["api", "v1", "groups", &name], &[]).await?;
            for host in g.hosts {
                out!("{host}");
            }
        }
        GroupCommand::List => {
            let groups: Vec<GroupItem> = api.get(&["api", "v1", "groups"], &[]).await?;
            let rows = groups.into_iter().map(|g| vec![g.name, g.hosts.join(" ")]).collect();
            table(&["NAME", "HOSTS"], rows);
        }
        GroupCommand::Delete { name } => {
            api.delete(&["api", "v1", "groups", &name], &[]).await?;
            out!("deleted computer group {name}");
        }
    }
    Ok(())
}
