//! The activity types validation knows: the registry's, plus `junction`, which the engine runs
//! itself because it reads the data bus.

use scorch_activity::Registry;
use scorch_model::{Catalog, TypeInfo};
use serde_json::Value;

/// The engine's own activity type.
pub const JUNCTION: &str = "junction";

/// A [`Catalog`] over an activity registry.
pub struct RegistryCatalog<'a>(pub &'a Registry);

impl Catalog for RegistryCatalog<'_> {
    fn describe(&self, type_name: &str, properties: &Value) -> Option<TypeInfo> {
        if type_name == JUNCTION {
            return Some(TypeInfo {
                properties: vec!["return_data_from".into()],
                required: Vec::new(),
                published: Some(vec!["selected_branch".into()]),
                idempotent: true,
            });
        }
        let activity = self.0.get(type_name)?;
        let d = activity.descriptor();
        Some(TypeInfo {
            properties: d.properties.iter().map(|s| s.to_string()).collect(),
            required: d.required.iter().map(|s| s.to_string()).collect(),
            published: activity.published_fields(properties),
            idempotent: d.idempotent,
        })
    }

    fn type_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.0.type_names().map(String::from).collect();
        names.push(JUNCTION.into());
        names.sort();
        names
    }
}
