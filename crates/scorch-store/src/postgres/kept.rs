//! Lookups kept for a moment: token lookups (every API request authenticates) and runbook path
//! lookups (every job start by path); without them each costs a round trip to the database.
//!
//! Every write that can change a lookup's answer clears this process's kept lookups of that kind
//! at once and announces it on the job channel ([`Announcement`]), which every process listens to
//! and clears its own on; a listener that reconnects clears them all (it may have missed one).
//! Entries also expire after [`TTL`], so a change whose announcement is lost (the database went
//! down between the write and the announcement) takes effect within that time. Only found objects
//! are kept: a new token or runbook is found at once everywhere.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::runbooks::Header;
use crate::User;

/// How long a lookup is trusted without asking the database again.
const TTL: Duration = Duration::from_secs(5);
/// Entries kept at most; a cache starts over when full.
const MAX_ENTRIES: usize = 10_000;

/// What changed, for the processes that keep lookups of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Announcement {
    /// Users, tokens or grants: token lookups.
    Access,
    /// Runbooks or folders: runbook path lookups.
    Runbooks,
}

/// Each kind of kept lookup of a store.
#[derive(Debug, Default)]
pub(super) struct KeptLookups {
    /// By token hash: the token's user.
    pub(super) tokens: Kept<User>,
    /// By "folder/name": the runbook's id and what changes from one save to the next.
    pub(super) runbook_paths: Kept<(Uuid, Header)>,
}

impl KeptLookups {
    /// Forgets what `changed` concerns; everything for `None` (announcements may have been missed).
    pub(super) fn forget(&self, changed: Option<Announcement>) {
        match changed {
            Some(Announcement::Access) => self.tokens.clear(),
            Some(Announcement::Runbooks) => self.runbook_paths.clear(),
            None => {
                self.tokens.clear();
                self.runbook_paths.clear();
            }
        }
    }
}

#[derive(Debug)]
pub(super) struct Kept<V> {
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
pub(super) struct Generation(u64);

impl<V: Clone> Kept<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value looked up within [`TTL`], or where the cache stands for a lookup.
    pub(super) fn get(&self, key: &str) -> Result<V, Generation> {
        let inner = self.lock();
        match inner.entries.get(key) {
            Some((value, at)) if at.elapsed() < TTL => Ok(value.clone()),
            _ => Err(Generation(inner.generation)),
        }
    }

    /// Keeps a looked-up value, unless the cache was cleared since the lookup began.
    pub(super) fn put(&self, key: &str, value: &V, began: Generation) {
        let mut inner = self.lock();
        if inner.generation != began.0 {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(key.to_string(), (value.clone(), Instant::now()));
    }

    pub(super) fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.generation += 1;
    }
}

#[cfg(test)]
mod tests {
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
    fn an_announcement_forgets_only_its_kind() {
        let kept = KeptLookups::default();
        let user = User {
            id: Uuid::now_v7(),
            name: "ops".into(),
            admin: false,
            password_hash: None,
            grants: Vec::new(),
        };
        let header = Header {
            name: "Deploy".into(),
            folder: "ops".into(),
            latest_version: 3,
            checked_out_by: None,
        };
        let fill = |kept: &KeptLookups| {
            if let Err(began) = kept.tokens.get("h") {
                kept.tokens.put("h", &user, began);
            }
            if let Err(began) = kept.runbook_paths.get("ops/Deploy") {
                kept.runbook_paths
                    .put("ops/Deploy", &(Uuid::nil(), header.clone()), began);
            }
        };
        fill(&kept);
        kept.forget(Some(Announcement::Runbooks));
        assert!(kept.tokens.get("h").is_ok() && kept.runbook_paths.get("ops/Deploy").is_err());
        fill(&kept);
        kept.forget(Some(Announcement::Access));
        assert!(kept.tokens.get("h").is_err() && kept.runbook_paths.get("ops/Deploy").is_ok());
        kept.forget(None);
        assert!(kept.runbook_paths.get("ops/Deploy").is_err());
    }
}
