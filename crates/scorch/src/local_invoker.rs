//! `invoke_runbook` in the Runbook Tester: the child is a runbook file in the parent's folder,
//! run in this process on the same in-memory database.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use scorch_activity::{
    ActivityContext, ActivityError, Invocation, InvocationResult, Registry, RunbookInvoker, async_trait,
};
use scorch_engine::{Engine, EngineConfig, InstanceRequest};
use scorch_model::Plan;
use scorch_model::params::bind_parameters;
use scorch_store::prelude::*;
use scorch_store::{NewJob, SqliteStore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::runbook_file::read_plan;

/// Invocations in one test at most: a runbook that invokes itself ends here, not in a hang.
const MAX_INVOCATIONS: usize = 64;

pub struct LocalInvoker {
    dir: PathBuf,
    registry: Arc<Registry>,
    store: SqliteStore,
    config: EngineConfig,
    me: Weak<LocalInvoker>,
    invocations: AtomicUsize,
    /// Children started without `wait`, finished before the tester exits.
    detached: Mutex<JoinSet<()>>,
}

fn failed(runbook: &str, why: impl std::fmt::Display) -> ActivityError {
    ActivityError::failed("invoke_runbook", runbook, why)
}

impl LocalInvoker {
    pub fn new(dir: &Path, registry: Arc<Registry>, store: SqliteStore, config: EngineConfig) -> Arc<Self> {
        Arc::new_cyclic(|me| LocalInvoker {
            dir: dir.to_path_buf(),
            registry,
            store,
            config,
            me: me.clone(),
            invocations: AtomicUsize::new(0),
            detached: Mutex::new(JoinSet::new()),
        })
    }

    /// Waits for the children nobody waited for.
    pub async fn finish(&self) {
        let mut detached = std::mem::take(&mut *self.detached.lock().unwrap_or_else(|e| e.into_inner()));
        while detached.join_next().await.is_some() {}
    }

    /// The runbook file in the folder whose runbook is `FOLDER/NAME`.
    fn find(&self, path: &str) -> Result<(Plan, String), ActivityError> {
        let (folder, name) = path.rsplit_once('/').unwrap_or(("", path));
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| failed(path, format!("cannot list {}: {e}", self.dir.display())))?;
        for entry in entries.flatten() {
            let file = entry.path();
            let file_name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if ![".runbook.yaml", ".runbook.yml", ".runbook.json"]
                .iter()
                .any(|ext| file_name.ends_with(ext))
            {
                continue;
            }
            let Ok(plan) = read_plan(&file, &self.registry) else {
                continue;
            };
            let rb = &plan.runbook;
            if rb.name == name && (folder.is_empty() || rb.folder.as_deref().unwrap_or("") == folder) {
                let source = std::fs::read_to_string(&file).unwrap_or_default();
                return Ok((plan, source));
            }
        }
        Err(failed(
            path,
            format!("no valid runbook file in {} has that name", self.dir.display()),
        ))
    }
}

#[async_trait]
impl RunbookInvoker for LocalInvoker {
    async fn invoke(&self, ctx: &ActivityContext, inv: Invocation) -> Result<InvocationResult, ActivityError> {
        if self.invocations.fetch_add(1, Ordering::SeqCst) >= MAX_INVOCATIONS {
            return Err(failed(
                &inv.runbook,
                format!("more than {MAX_INVOCATIONS} invocations in one test: does a runbook invoke itself?"),
            ));
        }
        let (plan, source) = self.find(&inv.runbook)?;
        let parameters =
            bind_parameters(&plan.parameters, &inv.parameters).map_err(|e| failed(&inv.runbook, e.join("; ")))?;
        let store_error = |e: scorch_store::StoreError| failed(&inv.runbook, e);
        let (runbook_id, _) = self
            .store
            .save_plan(&plan, &source, "runbook-tester")
            .await
            .map_err(store_error)?;
        // The latest version, whatever it is: concurrent invocations of one file each save it
        // again (the same definition), so the one just saved may already be superseded.
        let job = NewJob {
            runbook_id,
            version: None,
            parameters: &parameters,
            created_by: "runbook-tester",
            parent_job: Some(ctx.ids.job_id),
            awaited: false,
        };
        let job_id = self.store.create_job(job).await.map_err(store_error)?.id;
        let me = self
            .me
            .upgrade()
            .ok_or_else(|| failed(&inv.runbook, "the tester is stopping"))?;
        let engine = Engine::new(
            self.registry.clone(),
            self.store.journal(),
            self.store.settings(),
            self.config.clone(),
        )
        .with_invoker(me);
        let request = InstanceRequest {
            plan: Arc::new(plan),
            runbook_id,
            job_id,
            instance_id: Uuid::now_v7(),
            parameters,
            cancel: if inv.wait {
                ctx.cancel.child_token()
            } else {
                CancellationToken::new()
            },
            events: None,
            resume: false,
        };
        if !inv.wait {
            self.detached
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .spawn(async move {
                    let _ = engine.run(request).await;
                });
            return Ok(InvocationResult {
                job_id,
                child_status: "pending".into(),
                returns: Default::default(),
            });
        }
        let outcome = engine.run(request).await.map_err(|e| failed(&inv.runbook, e))?;
        Ok(InvocationResult {
            job_id,
            child_status: outcome.status.as_str().into(),
            returns: outcome.returns,
        })
    }
}
