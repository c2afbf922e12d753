//! Runbook versions, cached by both stores: a version never changes once checked in (versions are
//! only ever added), so claims and starts read its definition, parameters and activities once,
//! and every [`Runbook`] read shares them. What can change (the runbook's folder, name, latest
//! version and check-out: its [`Head`]) is read each time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::{Runbook, RunbookBody};

/// Versions kept at most; past it the cache starts over (a miss costs three reads).
const CAPACITY: usize = 1024;

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
    pub fn with(self, version: i64, body: Arc<RunbookBody>) -> Runbook {
        Runbook {
            id: self.id,
            folder: self.folder,
            name: self.name,
            version,
            latest_version: self.latest_version,
            checked_out_by: self.checked_out_by,
            body,
        }
    }
}

type Versions = HashMap<(Uuid, i64), Arc<RunbookBody>>;

/// Versions by (runbook id, version), shared by the store's clones.
#[derive(Debug, Default, Clone)]
pub(crate) struct VersionCache {
    versions: Arc<Mutex<Versions>>,
}

impl VersionCache {
    pub fn get(&self, id: Uuid, version: i64) -> Option<Arc<RunbookBody>> {
        self.lock().get(&(id, version)).cloned()
    }

    pub fn insert(&self, id: Uuid, version: i64, body: Arc<RunbookBody>) {
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
