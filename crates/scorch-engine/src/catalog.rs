//! The activity types validation knows: the registry's, plus `junction`, which the engine runs
//! itself because it reads the data bus.

use scorch_activity::{Descriptor, Registry};
use scorch_model::{Catalog, TypeInfo};
use serde_json::Value;

/// The engine's own activity type.
pub const JUNCTION: &str = "junction";

/// `junction`'s descriptor, for validation and the activity reference.
pub static JUNCTION_DESCRIPTOR: Descriptor = Descriptor {
    type_name: JUNCTION,
    category: "Runbook control",
    summary: "Waits for every branch into it to finish, then fires once.",
    idempotent: true,
    properties: &["return_data_from"],
    required: &[],
    publishes: &["selected_branch"],
};

/// A [`Catalog`] over an activity registry.
pub struct RegistryCatalog<'a>(pub &'a Registry);

impl Catalog for RegistryCatalog<'_> {
    fn describe(&self, type_name: &str, properties: &Value) -> Option<TypeInfo> {
        let (d, published) = if type_name == JUNCTION {
            (&JUNCTION_DESCRIPTOR, Some(strings(JUNCTION_DESCRIPTOR.publishes)))
        } else {
            let activity = self.0.get(type_name)?;
            (activity.descriptor(), activity.published_fields(properties))
        };
        Some(TypeInfo {
            properties: strings(d.properties),
            required: strings(d.required),
            published,
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

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}
