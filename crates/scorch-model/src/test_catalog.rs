//! A catalog for the crate's compile tests.

use serde_json::Value;

use crate::{Catalog, Diagnostic, TypeInfo, compile, load};

const KNOWN: [&str; 4] = ["initialize_data", "junction", "monitor_date_time", "monitor_webhook"];

/// Knows `initialize_data`, `junction` and two monitors, taking any properties.
pub struct AnyProperties;

impl Catalog for AnyProperties {
    fn describe(&self, type_name: &str, properties: &Value) -> Option<TypeInfo> {
        let known = KNOWN.contains(&type_name);
        known.then(|| TypeInfo {
            properties: properties
                .as_object()
                .into_iter()
                .flat_map(|p| p.keys().cloned())
                .collect(),
            ..Default::default()
        })
    }

    fn type_names(&self) -> Vec<String> {
        KNOWN.iter().map(|t| t.to_string()).collect()
    }
}

/// What compiling `text` (which must load) reports.
pub fn diagnostics(text: &str) -> Vec<Diagnostic> {
    compile(&load(text).unwrap(), &AnyProperties).unwrap_err()
}
