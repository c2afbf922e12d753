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

/// `row` with every secret replaced by `******` (a copy only when there are secrets).
pub fn mask_map(row: &Row, secrets: &SecretRegistry) -> Row {
    if secrets.is_empty() {
        return row.clone();
    }
    row.iter().map(|(k, v)| (k.clone(), mask_value(v, secrets))).collect()
}

fn mask_value(v: &Value, secrets: &SecretRegistry) -> Value {
    match v {
        Value::String(s) => Value::String(secrets.mask(s)),
        Value::Array(a) => Value::Array(a.iter().map(|v| mask_value(v, secrets)).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), mask_value(v, secrets))).collect()),
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
}
