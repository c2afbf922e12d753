//! Values printed as block YAML: for people to read, and for `--file` options to take back.

use serde_json::Value;

/// `value` as a YAML document.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value, 0);
    out
}

fn write(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                out.push_str(&" ".repeat(indent));
                out.push_str(&scalar_text(key));
                out.push(':');
                if is_block(item) {
                    out.push('\n');
                    write(out, item, indent + 2);
                } else {
                    out.push(' ');
                    write(out, item, indent);
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                // A block item is written two deeper, then its first line takes the dash.
                let mut inner = String::new();
                write(&mut inner, item, indent + 2);
                out.push_str(&" ".repeat(indent));
                out.push_str("- ");
                out.push_str(inner.trim_start_matches(' '));
            }
        }
        Value::Object(_) => out.push_str("{}\n"),
        Value::Array(_) => out.push_str("[]\n"),
        Value::String(text) => {
            out.push_str(&scalar_text(text));
            out.push('\n');
        }
        scalar => {
            out.push_str(&scalar.to_string());
            out.push('\n');
        }
    }
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

/// Text plain when YAML cannot read it as anything else (a word, `Europe/Paris`), otherwise
/// double-quoted: a JSON string is a valid YAML double-quoted scalar.
fn scalar_text(text: &str) -> String {
    let plain = text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "_-/.".contains(c))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        text.to_string()
    } else {
        Value::from(text).to_string()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::to_yaml;

    #[test]
    fn yaml_reads_back_as_the_same_value() {
        let value = json!({
            "days_of_week": ["mon", "fri"],
            "days_of_month": "1-21",
            "hours": ["08:00-18:00", "20:00-22:00"],
            "exceptions": [{ "date": "2026-12-25", "rule": "deny" }, { "date": "2027-01-01", "rule": "allow" }],
            "timezone": "Europe/Paris",
            "odd": ["yes", "", "a: b", "say \"hi\"", 3, true, null, [], {}, [["x"]]],
        });
        let text = to_yaml(&value);
        assert!(text.contains("- date: \"2026-12-25\"\n    rule: deny\n"), "{text}");
        assert!(text.contains("timezone: Europe/Paris\n"), "{text}");
        let (read, _) = scorch_model::source::parse(&text).unwrap();
        assert_eq!(read, value, "{text}");
    }
}
