//! `scorch runbook test`: the Runbook Tester. Runs one instance in this process through the same
//! path a runbook server uses (engine, an orchestration database in memory, its journal), and
//! prints a live trace or the JSON document of `spec/runbook-format.md`.

use std::sync::Arc;

use scorch_engine::{Engine, EngineConfig, InstanceRequest, InstanceStatus};
use scorch_model::params::bind_parameters;
use scorch_server::report;
use scorch_store::prelude::*;
use scorch_store::{NewJob, SqliteStore};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::cli::{TestArgs, name_value};
use crate::local_invoker::LocalInvoker;
use crate::runbook_file::read_plan;
use crate::trace::Trace;

const INVALID: u8 = 2;

pub async fn run(args: TestArgs) -> u8 {
    let registry = Arc::new(scorch_activities::standard());
    let file = args.file.display().to_string();
    let plan = match read_plan(&args.file, &registry) {
        Ok(plan) => Arc::new(plan),
        Err(problems) => {
            problems.iter().for_each(|p| eprintln!("{p}"));
            return INVALID;
        }
    };
    let inputs = match Inputs::parse(&args) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("scorch runbook test: {e}");
            return INVALID;
        }
    };
    let source = std::fs::read_to_string(&args.file).unwrap_or_default();
    let (store, runbook_id, job_id) = match prepare(&plan, &source, &inputs).await {
        Ok(ready) => ready,
        Err(e) => {
            eprintln!("scorch runbook test: the in-memory orchestration database: {e}");
            return 1;
        }
    };
    let parameters = match bind_parameters(&plan.parameters, &inputs.params) {
        Ok(p) => p,
        Err(errors) => {
            errors.iter().for_each(|e| eprintln!("{file}: {e}"));
            return INVALID;
        }
    };
    let journal = store.journal();
    let config = EngineConfig {
        max_parallel: args.max_parallel,
        server: "runbook-tester".into(),
        ..Default::default()
    };
    let dir = args
        .file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let invoker = LocalInvoker::new(dir, registry.clone(), store.clone(), config.clone());
    let engine = Engine::new(registry, journal.clone(), store.settings(), config).with_invoker(invoker.clone());
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt.cancel();
        }
    });
    let (events, trace) = if args.json {
        (None, None)
    } else {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Some(tx), Some(tokio::spawn(Trace::new().follow(rx))))
    };
    let instance_id = Uuid::now_v7();
    let request = InstanceRequest {
        plan: plan.clone(),
        runbook_id,
        job_id,
        instance_id,
        parameters,
        cancel,
        events,
        resume: false,
    };
    let outcome = engine.run(request).await;
    invoker.finish().await;
    if let Some(trace) = trace {
        // The engine has dropped its sender, so the trace ends once it has printed everything.
        let _ = trace.await;
    }
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("scorch runbook test: {e}");
            return 1;
        }
    };
    let runs = journal.runs(instance_id).await.unwrap_or_default();
    if args.json {
        let doc = report::document(
            &plan.runbook.name,
            outcome.status.as_str(),
            &outcome.returns,
            &outcome.problems,
            &runs,
        );
        out!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        Trace::new().summary(outcome.status, &outcome.returns, &outcome.problems, runs.len());
    }
    match outcome.status {
        InstanceStatus::Success | InstanceStatus::Warning => 0,
        _ => 1,
    }
}

/// Parameters, variables, counters and computer groups from the command line.
struct Inputs {
    params: Map<String, Value>,
    /// (name, value, encrypted)
    variables: Vec<(String, String, bool)>,
    counters: Vec<(String, i64)>,
    groups: Vec<(String, Vec<String>)>,
}

/// The database the tester runs against: the runbook saved, the settings set, a job created.
async fn prepare(
    plan: &scorch_model::Plan,
    source: &str,
    inputs: &Inputs,
) -> Result<(SqliteStore, Uuid, Uuid), scorch_store::StoreError> {
    let store = SqliteStore::open("sqlite::memory:").await?;
    for (name, value, encrypted) in &inputs.variables {
        store.set_variable(name, value, *encrypted).await?;
    }
    for (name, value) in &inputs.counters {
        store.set_counter(name, *value).await?;
    }
    for (name, hosts) in &inputs.groups {
        store.set_group(name, hosts).await?;
    }
    let (runbook_id, version) = store.save_plan(plan, source, "runbook-tester").await?;
    let job = NewJob {
        runbook_id,
        version: Some(version),
        parameters: &inputs.params,
        created_by: "runbook-tester",
        parent_job: None,
        awaited: false,
    };
    let job_id = store.create_job(job).await?.id;
    Ok((store, runbook_id, job_id))
}

impl Inputs {
    fn parse(args: &TestArgs) -> Result<Self, String> {
        let mut params = Map::new();
        for p in &args.params {
            let (name, value) = name_value(p, "--param")?;
            params.insert(name, Value::String(value));
        }
        let mut variables = Vec::new();
        for (flags, encrypted, flag) in [(&args.vars, false, "--var"), (&args.secret_vars, true, "--secret-var")] {
            for v in flags {
                let (name, value) = name_value(v, flag)?;
                variables.push((name, value, encrypted));
            }
        }
        let mut counters = Vec::new();
        for c in &args.counters {
            let (name, value) = name_value(c, "--counter")?;
            let n = value
                .trim()
                .parse::<i64>()
                .map_err(|_| format!("--counter {name}: '{value}' is not an integer"))?;
            counters.push((name, n));
        }
        let mut groups = Vec::new();
        for g in &args.groups {
            let (name, hosts) = name_value(g, "--group")?;
            let hosts: Vec<String> = hosts.split(',').map(str::to_string).collect();
            let hosts = scorch_model::names::check_hosts(&hosts).map_err(|why| format!("--group {name}: {why}"))?;
            groups.push((name, hosts));
        }
        Ok(Self {
            params,
            variables,
            counters,
            groups,
        })
    }
}
