//! Runbook versions, cached by both stores: a version never changes once checked in (versions are
//! only ever added), so claims and starts read its definition, parameters and activities once,
//! and every [`Runbook`] read shares them. What can change (the runbook's folder, name, latest
//! version and check-out: its [`Head`]) is read each time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde_json::Value;
use uuid::Uuid;

use crate::{Runbook, RunbookActivity, RunbookParameter};

/// Versions kept at most; past it the cache starts over (a miss costs three reads).
const CAPACITY: usize = 1024;

/// The immutable part of one runbook version.
#[derive(Debug)]
pub(crate) struct Version {
    pub definition: Arc<Value>,
    pub source: Arc<str>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub parameters: Arc<[RunbookParameter]>,
    pub activities: Arc<[RunbookActivity]>,
}

/// What a runbook is now, whichever version is read.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub id: Uuid,
    pub folder: String,
    pub name: String,
    pub latest_version: i64,
    pub checked_out_by: Option<String>,
}

impl Head {
    /// The runbook at `version`, this head's current state around it.
    pub fn with(self, version: i64, body: &Version) -> Runbook {
        Runbook {
            id: self.id,
            folder: self.folder,
            name: self.name,
            version,
            latest_version: self.latest_version,
            checked_out_by: self.checked_out_by,
            definition: body.definition.clone(),
            source: body.source.clone(),
            created_at: body.created_at,
            created_by: body.created_by.clone(),
            parameters: body.parameters.clone(),
            activities: body.activities.clone(),
        }
    }
}

type Versions = HashMap<(Uuid, i64), Arc<Version>>;

/// Versions by (runbook id, version), shared by the store's clones.
#[derive(Debug, Default, Clone)]
pub(crate) struct VersionCache {
    versions: Arc<Mutex<Versions>>,
}

impl VersionCache {
    pub fn get(&self, id: Uuid, version: i64) -> Option<Arc<Version>> {
        self.lock().get(&(id, version)).cloned()
    }

    pub fn insert(&self, id: Uuid, version: i64, body: Arc<Version>) {
        let mut versions = self.lock();
        if versions.len() >= CAPACITY {
            versions.clear();
        }
        versions.insert((id, version), body);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Versions> {
        self.versions.lock().unwrap_or_else(|e| e.into_inner())
    }
}
