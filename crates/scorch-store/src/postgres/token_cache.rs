//! Token lookups, kept for a moment: every API request authenticates, and without this each one
//! costs a round trip to the database before its handler starts.
//!
//! Every write that can change a lookup's answer (a token revoked, a user deleted, a grant or a
//! password changed) clears this process's cache at once and announces the change on the job
//! channel (`{"a":0}`), which every process listens to and clears its own on; a listener that
//! reconnects clears it too (it may have missed one). Entries also expire after [`TTL`], so a
//! change whose announcement is lost (the database went down between the write and the
//! announcement) takes effect within that time. Only found tokens are kept: a new token works at
//! once everywhere.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::User;

/// How long a looked-up token is trusted without asking the database again.
const TTL: Duration = Duration::from_secs(5);
/// Tokens kept at most; the cache starts over when full.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub(super) struct TokenCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// By token hash: the user and when they were read.
    users: HashMap<String, (User, Instant)>,
    /// Counts clears: a lookup that started before a clear does not store its (maybe stale) answer.
    generation: u64,
}

/// Where the cache stood when a lookup began.
#[derive(Debug, Clone, Copy)]
pub(super) struct Generation(u64);

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user of a token looked up within [`TTL`], or where the cache stands for a lookup.
    pub(super) fn get(&self, token_hash: &str) -> Result<User, Generation> {
        let inner = self.lock();
        match inner.users.get(token_hash) {
            Some((user, at)) if at.elapsed() < TTL => Ok(user.clone()),
            _ => Err(Generation(inner.generation)),
        }
    }

    /// Keeps a looked-up user, unless the cache was cleared since the lookup began.
    pub(super) fn put(&self, token_hash: &str, user: &User, began: Generation) {
        let mut inner = self.lock();
        if inner.generation != began.0 {
            return;
        }
        if inner.users.len() >= MAX_ENTRIES {
            inner.users.clear();
        }
        inner
            .users
            .insert(token_hash.to_string(), (user.clone(), Instant::now()));
    }

    pub(super) fn clear(&self) {
        let mut inner = self.lock();
        inner.users.clear();
        inner.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn user() -> User {
        User {
            id: Uuid::now_v7(),
            name: "ops".into(),
            admin: false,
            password_hash: None,
            grants: Vec::new(),
        }
    }

    #[test]
    fn a_lookup_begun_before_a_clear_is_not_kept() {
        let cache = TokenCache::default();
        let began = cache.get("h").unwrap_err();
        cache.put("h", &user(), began);
        assert_eq!(cache.get("h").map(|u| u.name).ok().as_deref(), Some("ops"));

        let began = cache.get("other").unwrap_err();
        cache.clear();
        cache.put("other", &user(), began);
        assert!(cache.get("other").is_err());
        assert!(cache.get("h").is_err(), "a clear forgets every token");
    }
}
