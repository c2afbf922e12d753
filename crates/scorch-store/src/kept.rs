//! Lookups kept for a moment: token lookups (every API request authenticates) and runbook path
//! lookups (every job start by path); without them each costs a read of the database.
//!
//! Every write that can change a lookup's answer clears this process's kept lookups of that kind
//! at once; on PostgreSQL it also announces the change on the job channel, which every process
//! listens to and clears its own on, and a listener that reconnects clears them all (it may have
//! missed one). Entries also expire after [`TTL`], so a change made by another process that could
//! not tell this one (the announcement was lost, or SQLite opened by several processes) takes
//! effect within that time. Only found objects are kept: a new token or runbook is found at once
//! everywhere.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{StoreError, User};

/// How long a lookup is trusted without asking the database again.
const TTL: Duration = Duration::from_secs(5);
/// Entries kept at most; a cache starts over when full.
const MAX_ENTRIES: usize = 10_000;

/// What changed, for the processes that keep lookups of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Changed {
    /// Users, tokens or grants: token lookups.
    Access,
    /// Runbooks: runbook path lookups.
    Runbooks,
    /// A folder deleted: its grants went with it, and its path no longer leads to runbooks.
    Folders,
}

/// Each kind of kept lookup of a store; `H` is what the store keeps of a runbook found by path
/// (what changes from one save to the next).
#[derive(Debug)]
pub(crate) struct KeptLookups<H> {
    /// By token hash: the token's user.
    pub(crate) tokens: Kept<User>,
    /// By "folder/name".
    pub(crate) runbook_paths: Kept<H>,
}

impl<H> Default for KeptLookups<H> {
    fn default() -> Self {
        KeptLookups {
            tokens: Kept::default(),
            runbook_paths: Kept::default(),
        }
    }
}

impl<H: Clone> KeptLookups<H> {
    /// A job creation's outcome. Refused for a version that is no longer the latest
    /// ([`crate::NewJob::version`]), its caller read the runbook before a check-in, maybe from a
    /// kept lookup: runbook paths are forgotten, so that it reads afresh.
    pub(crate) fn job_created<T>(&self, created: Result<T, StoreError>) -> Result<T, StoreError> {
        if matches!(created, Err(StoreError::Conflict(_))) {
            self.runbook_paths.clear();
        }
        created
    }

    /// Forgets what `changed` concerns; everything for `None` (announcements may have been missed).
    pub(crate) fn forget(&self, changed: Option<Changed>) {
        match changed {
            Some(Changed::Access) => self.tokens.clear(),
            Some(Changed::Runbooks) => self.runbook_paths.clear(),
            Some(Changed::Folders) | None => {
                self.tokens.clear();
                self.runbook_paths.clear();
            }
        }
    }
}

#[derive(Debug)]
pub(crate) struct Kept<V> {
    inner: Mutex<Inner<V>>,
}

impl<V> Default for Kept<V> {
    fn default() -> Self {
        Kept {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                generation: 0,
            }),
        }
    }
}

#[derive(Debug)]
struct Inner<V> {
    /// By key: the value and when it was read.
    entries: HashMap<String, (V, Instant)>,
    /// Counts clears: a lookup that started before a clear does not store its (maybe stale) answer.
    generation: u64,
}

/// Where a cache stood when a lookup began.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Generation(u64);

impl<V: Clone> Kept<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value looked up within [`TTL`], or where the cache stands for a lookup.
    pub(crate) fn get(&self, key: &str) -> Result<V, Generation> {
        let inner = self.lock();
        match inner.entries.get(key) {
            Some((value, at)) if at.elapsed() < TTL => Ok(value.clone()),
            _ => Err(Generation(inner.generation)),
        }
    }

    /// Keeps a looked-up value, unless the cache was cleared since the lookup began.
    pub(crate) fn put(&self, key: &str, value: &V, began: Generation) {
        let mut inner = self.lock();
        if inner.generation != began.0 {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(key.to_string(), (value.clone(), Instant::now()));
    }

    /// The value kept for `key`, else what `read` finds (kept when found).
    pub(crate) async fn get_or_read<E, F>(&self, key: &str, read: F) -> Result<Option<V>, E>
    where
        F: Future<Output = Result<Option<V>, E>>,
    {
        let began = match self.get(key) {
            Ok(kept) => return Ok(Some(kept)),
            Err(began) => began,
        };
        let found = read.await?;
        if let Some(found) = &found {
            self.put(key, found, began);
        }
        Ok(found)
    }

    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn a_lookup_begun_before_a_clear_is_not_kept() {
        let cache = Kept::<String>::default();
        let began = cache.get("h").unwrap_err();
        cache.put("h", &"ops".to_string(), began);
        assert_eq!(cache.get("h").ok().as_deref(), Some("ops"));

        let began = cache.get("other").unwrap_err();
        cache.clear();
        cache.put("other", &"ops".to_string(), began);
        assert!(cache.get("other").is_err());
        assert!(cache.get("h").is_err(), "a clear forgets every entry");
    }

    #[test]
    fn a_change_forgets_only_its_kind() {
        let kept = KeptLookups::<(u32, String)>::default();
        let user = User {
            id: Uuid::now_v7(),
            name: "ops".into(),
            admin: false,
            password_hash: None,
            grants: Vec::new(),
        };
        let head = (3, "ops".to_string());
        let fill = |kept: &KeptLookups<(u32, String)>| {
            if let Err(began) = kept.tokens.get("h") {
                kept.tokens.put("h", &user, began);
            }
            if let Err(began) = kept.runbook_paths.get("ops/Deploy") {
                kept.runbook_paths.put("ops/Deploy", &head, began);
            }
        };
        fill(&kept);
        kept.forget(Some(Changed::Runbooks));
        assert!(kept.tokens.get("h").is_ok() && kept.runbook_paths.get("ops/Deploy").is_err());
        fill(&kept);
        kept.forget(Some(Changed::Access));
        assert!(kept.tokens.get("h").is_err() && kept.runbook_paths.get("ops/Deploy").is_ok());
        kept.forget(None);
        assert!(kept.runbook_paths.get("ops/Deploy").is_err());
    }
}
