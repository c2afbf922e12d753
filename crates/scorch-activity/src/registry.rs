use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{Activity, Watch};

/// The activity types a runbook server (or the tester) knows, by type name. The standard
/// activities register themselves through `scorch_activities::standard()`; an integration pack
/// adds its own with [`Registry::register`], without touching the engine.
#[derive(Clone, Default)]
pub struct Registry {
    by_type: BTreeMap<&'static str, Arc<dyn Activity>>,
    /// The waiting half of each monitor type (see [`crate::Watch`]).
    watchers: BTreeMap<&'static str, Arc<dyn Watch>>,
}

impl Registry {
    /// Adds (or replaces) an activity type.
    pub fn register(&mut self, activity: Arc<dyn Activity>) {
        self.by_type.insert(activity.descriptor().type_name, activity);
    }

    /// Adds (or replaces) a monitor type: its activity and its watcher.
    pub fn register_monitor(&mut self, activity: Arc<dyn Activity>, watch: Arc<dyn Watch>) {
        self.watchers.insert(watch.type_name(), watch);
        self.register(activity);
    }

    /// The watcher of a monitor type.
    pub fn watcher(&self, type_name: &str) -> Option<&Arc<dyn Watch>> {
        self.watchers.get(type_name)
    }

    pub fn get(&self, type_name: &str) -> Option<&Arc<dyn Activity>> {
        self.by_type.get(type_name)
    }

    /// Every registered type, alphabetically.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Activity>> {
        self.by_type.values()
    }

    pub fn type_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_type.keys().copied()
    }
}
