//! `generate_random_text`: random text (passwords, unique names) from chosen character classes.

use rand::seq::{IndexedRandom, SliceRandom};
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

const TYPE: &str = "generate_random_text";

/// Keeps a mistyped length from exhausting memory.
const MAX_LENGTH: i64 = 65_536;

/// Property name, its characters, and whether it is on by default.
const CLASSES: [(&str, &[u8], bool); 4] = [
    ("upper", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", true),
    ("lower", b"abcdefghijklmnopqrstuvwxyz", true),
    ("digits", b"0123456789", true),
    ("symbols", b"!#$%&()*+,-./:;<=>?@[]^_{|}~", false),
];

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: "Utilities",
    summary: "Generates random text of a given length from upper, lower, digit and symbol characters.",
    idempotent: true,
    properties: &["length", "upper", "lower", "digits", "symbols"],
    required: &["length"],
    publishes: &["text"],
};

pub struct GenerateRandomText;

#[scorch_activity::async_trait]
impl Activity for GenerateRandomText {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, _ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let length = props.i64("length")?;
        let length = usize::try_from(length)
            .ok()
            .filter(|n| (1..=MAX_LENGTH as usize).contains(n))
            .ok_or_else(|| {
                ActivityError::invalid(TYPE, "length", format!("must be from 1 to {MAX_LENGTH}, not {length}"))
            })?;
        let mut classes = Vec::new();
        for (name, chars, default) in CLASSES {
            if props.bool_or(name, default)? {
                classes.push(chars);
            }
        }
        if classes.is_empty() {
            return Err(ActivityError::InvalidInput(format!(
                "{TYPE}: enable at least one of upper, lower, digits, symbols"
            )));
        }
        let all = classes.concat();
        let mut rng = rand::rng();
        // One of each enabled class first (room permitting), so the text passes the usual
        // password rules; then any characters, shuffled so the classes' places are random.
        let mut text: Vec<u8> = classes
            .iter()
            .take(length)
            .filter_map(|class| class.choose(&mut rng).copied())
            .collect();
        while text.len() < length {
            text.extend(all.choose(&mut rng));
        }
        text.shuffle(&mut rng);
        let text: String = text.into_iter().map(char::from).collect();
        Ok(ActivityOutput::row(row! { "text" => text }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::json;

    async fn generate(properties: Value) -> Result<String, ActivityError> {
        let ctx = ActivityContext::standalone(TYPE, std::env::temp_dir());
        let out = GenerateRandomText.run(&ctx, properties).await?;
        Ok(out.rows[0]["text"].as_str().unwrap().to_string())
    }

    #[tokio::test]
    async fn uses_only_and_every_enabled_class() {
        let text = generate(json!({"length": "24"})).await.unwrap();
        assert_eq!(text.len(), 24);
        assert!(text.chars().all(|c| c.is_ascii_alphanumeric()), "{text}");
        for check in [char::is_ascii_uppercase, char::is_ascii_lowercase, char::is_ascii_digit] {
            assert!(text.chars().any(|c| check(&c)), "{text}");
        }
        let text = generate(json!({"length": 4, "upper": false, "lower": false, "digits": false, "symbols": true}))
            .await
            .unwrap();
        assert!(text.bytes().all(|b| CLASSES[3].1.contains(&b)), "{text}");
        let one = generate(json!({"length": 1, "symbols": true})).await.unwrap();
        assert_eq!(one.len(), 1);
    }

    #[tokio::test]
    async fn zero_length_or_no_class_is_invalid() {
        let err = generate(json!({"length": 0})).await.unwrap_err().to_string();
        assert_eq!(
            err,
            "generate_random_text: property 'length': must be from 1 to 65536, not 0"
        );
        let none = json!({"length": 8, "upper": "no", "lower": false, "digits": false});
        let err = generate(none).await.unwrap_err().to_string();
        assert_eq!(
            err,
            "generate_random_text: enable at least one of upper, lower, digits, symbols"
        );
        assert!(generate(json!({})).await.is_err());
    }
}
