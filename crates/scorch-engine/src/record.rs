//! What gets journaled of a run: its published rows with secrets masked and cut to a cap.

use scorch_activity::{Row, SecretRegistry};
use serde_json::Value;

/// The rows as recorded, and whether they were cut.
pub fn recorded_rows(rows: &[Row], cap_bytes: usize, secrets: &SecretRegistry) -> (Vec<Row>, bool) {
    let mut out = Vec::with_capacity(rows.len());
    let mut used = 0usize;
    for (i, row) in rows.iter().enumerate() {
        let size = row_size(row);
        if used + size > cap_bytes {
            let mut marker = Row::new();
            let dropped = rows.len() - i;
            marker.insert(
                "_truncated".into(),
                Value::from(format!(
                    "published data cut at {cap_bytes} bytes: {dropped} of {} rows not kept",
                    rows.len()
                )),
            );
            out.push(marker);
            return (out, true);
        }
        used += size;
        out.push(mask_map(row, secrets));
    }
    (out, false)
}

/// Roughly the row's JSON size, without serializing it.
fn row_size(row: &Row) -> usize {
    row.iter().map(|(k, v)| k.len() + value_size(v) + 6).sum::<usize>() + 2
}

fn value_size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() + 2,
        Value::Array(a) => a.iter().map(value_size).sum::<usize>() + a.len() + 2,
        Value::Object(m) => m.iter().map(|(k, v)| k.len() + value_size(v) + 4).sum::<usize>() + 2,
        _ => 8,
    }
}

/// `text` (an error, a problem) as recorded: secrets masked, and NUL characters, which PostgreSQL
/// refuses in text (a process's output may hold them), replaced by U+FFFD as on every store.
pub fn recorded_text(text: &str, secrets: &SecretRegistry) -> String {
    let masked = if secrets.is_empty() {
        text.to_string()
    } else {
        secrets.mask(text)
    };
    if masked.contains('\0') {
        masked.replace('\0', "\u{FFFD}")
    } else {
        masked
    }
}

/// `row` with every secret replaced by `******`, in names as in values (a script can publish a
/// field named after a secret); a copy only when there are secrets.
pub fn mask_map(row: &Row, secrets: &SecretRegistry) -> Row {
    if secrets.is_empty() {
        return row.clone();
    }
    row.iter()
        .map(|(k, v)| (secrets.mask(k), mask_value(v, secrets)))
        .collect()
}

fn mask_value(v: &Value, secrets: &SecretRegistry) -> Value {
    match v {
        Value::String(s) => Value::String(secrets.mask(s)),
        Value::Array(a) => Value::Array(a.iter().map(|v| mask_value(v, secrets)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (secrets.mask(k), mask_value(v, secrets)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::row;

    #[test]
    fn masks_secrets_and_caps() {
        let secrets = SecretRegistry::default();
        secrets.remember("hunter2");
        let rows = vec![row! {"p" => "pw=hunter2"}, row! {"x" => "a".repeat(100)}];
        let (kept, cut) = recorded_rows(&rows, 50, &secrets);
        assert!(cut);
        assert_eq!(kept[0]["p"], "pw=******");
        assert!(kept[1]["_truncated"].as_str().unwrap().contains("1 of 2 rows"));
        let (all, cut) = recorded_rows(&rows, 10_000, &SecretRegistry::default());
        assert!(!cut);
        assert_eq!(all, rows);
    }

    #[test]
    fn recorded_text_masks_secrets_and_nul_characters() {
        let secrets = SecretRegistry::default();
        assert_eq!(recorded_text("a\0b", &secrets), "a\u{FFFD}b");
        secrets.remember("hunter2");
        assert_eq!(recorded_text("pw hunter2\0", &secrets), "pw ******\u{FFFD}");
    }

    #[test]
    fn masks_secrets_in_field_names_too() {
        let secrets = SecretRegistry::default();
        secrets.remember("hunter2");
        let rows = vec![row! {"hunter2" => "v", "nested" => serde_json::json!({"key_hunter2": ["hunter2"]})}];
        let (kept, _) = recorded_rows(&rows, 10_000, &secrets);
        let text = serde_json::to_string(&kept).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(kept[0]["******"], "v");
        assert_eq!(kept[0]["nested"]["key_******"][0], "******");
    }
}
