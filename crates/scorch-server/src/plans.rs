//! Compiled runbook versions, cached: a version never changes once checked in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use scorch_activity::Registry;
use scorch_engine::RegistryCatalog;
use scorch_model::{Loaded, Plan, Runbook as RunbookDef, compile};
use scorch_store::Runbook;
use serde::Deserialize as _;
use uuid::Uuid;

pub struct Plans {
    registry: Arc<Registry>,
    cache: Mutex<HashMap<(Uuid, i64), Arc<Plan>>>,
}

impl Plans {
    pub fn new(registry: Arc<Registry>) -> Self {
        Self {
            registry,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The version's plan; an error says why it does not compile here (an activity type this
    /// server lacks, say).
    pub fn get(&self, runbook: &Runbook) -> Result<Arc<Plan>, String> {
        let key = (runbook.id, runbook.version);
        if let Some(plan) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(plan.clone());
        }
        // Read from the shared body, not a copy of it.
        let definition = RunbookDef::deserialize(&runbook.body.definition).map_err(|e| {
            format!(
                "runbook {} version {}: stored definition unreadable: {e}",
                runbook.name, runbook.version
            )
        })?;
        let loaded = Loaded {
            runbook: definition,
            source_map: Default::default(),
        };
        let plan = compile(&loaded, &RegistryCatalog(&self.registry)).map_err(|diagnostics| {
            diagnostics
                .iter()
                .map(|d| d.render(&runbook.name))
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let plan = Arc::new(plan);
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, plan.clone());
        Ok(plan)
    }
}
