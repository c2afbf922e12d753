//! Encrypted global variables: sealed with AES-256-GCM under a key from the configuration
//! before they reach the database, opened only on runbook servers when a runbook uses them.

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use scorch_activity::{CounterOp, GlobalSettings, SettingsError, Variable, async_trait};

/// Marks a sealed value (and its format version) in the database.
const SEALED: &str = "enc:v1:";
const NONCE_BYTES: usize = 12;

/// The key and what it does.
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    /// A new random key, as the 64 hex digits the configuration takes.
    pub fn generate_key() -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        hex::encode(key)
    }

    /// From 64 hex digits (256 bits).
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text.trim()).map_err(|_| "the encryption key must be 64 hex digits".to_string())?;
        if bytes.len() != 32 {
            return Err(format!(
                "the encryption key must be 64 hex digits (256 bits), not {}",
                bytes.len() * 2
            ));
        }
        let cipher =
            Aes256Gcm::new_from_slice(&bytes).map_err(|_| "the encryption key must be 256 bits".to_string())?;
        Ok(Self { cipher })
    }

    /// `plain` sealed for storage.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption with a fresh nonce and a valid key cannot fail.
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), plain.as_bytes())
            .unwrap_or_default();
        format!("{SEALED}{}{}", hex::encode(nonce), hex::encode(sealed))
    }

    /// The plain text of a sealed value; an error when it was sealed under another key or is
    /// not sealed at all.
    pub fn open(&self, stored: &str) -> Result<String, String> {
        let bytes = stored
            .strip_prefix(SEALED)
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() > NONCE_BYTES)
            .ok_or("it is not an encrypted value written by scorch")?;
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| "its nonce is cut short")?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), sealed)
            .map_err(|_| "it was encrypted with another key (check encryption_key)")?;
        String::from_utf8(plain).map_err(|_| "its plain text is not UTF-8".into())
    }
}

/// Global settings as a runbook server's activities see them: encrypted variables opened.
pub struct OpenedSettings {
    pub inner: Arc<dyn GlobalSettings>,
    pub secrets: Arc<SecretBox>,
}

#[async_trait]
impl GlobalSettings for OpenedSettings {
    async fn variable(&self, name: &str) -> Result<Variable, SettingsError> {
        let var = self.inner.variable(name).await?;
        if !var.encrypted {
            return Ok(var);
        }
        let value = self.secrets.open(&var.value).map_err(|why| {
            SettingsError::Unavailable(format!("the encrypted variable '{name}' cannot be read: {why}"))
        })?;
        Ok(Variable { value, encrypted: true })
    }

    async fn counter(&self, name: &str) -> Result<i64, SettingsError> {
        self.inner.counter(name).await
    }

    async fn modify_counter(&self, name: &str, op: CounterOp) -> Result<i64, SettingsError> {
        self.inner.modify_counter(name, op).await
    }

    async fn group(&self, name: &str) -> Result<Vec<String>, SettingsError> {
        self.inner.group(name).await
    }

    async fn schedule(&self, name: &str) -> Result<serde_json::Value, SettingsError> {
        self.inner.schedule(name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::MemorySettings;

    #[test]
    fn seals_and_opens_and_refuses_another_key() {
        let a = SecretBox::from_hex(&SecretBox::generate_key()).unwrap();
        let b = SecretBox::from_hex(&SecretBox::generate_key()).unwrap();
        let sealed = a.seal("hunter2");
        assert!(sealed.starts_with(SEALED) && !sealed.contains("hunter2"));
        assert_ne!(sealed, a.seal("hunter2"), "a fresh nonce each time");
        assert_eq!(a.open(&sealed).unwrap(), "hunter2");
        assert!(b.open(&sealed).unwrap_err().contains("another key"));
        assert!(a.open("plain").is_err());
        assert!(SecretBox::from_hex("abcd").unwrap_err().contains("64 hex digits"));
        assert!(!format!("{a:?}").contains(&hex::encode([0u8; 4])));
    }

    #[tokio::test]
    async fn runbook_servers_see_the_plain_value() {
        let secrets = Arc::new(SecretBox::from_hex(&SecretBox::generate_key()).unwrap());
        let memory = MemorySettings::default();
        memory.set_variable("Key", &secrets.seal("s3cret"), true);
        memory.set_variable("Region", "eu", false);
        let opened = OpenedSettings {
            inner: Arc::new(memory),
            secrets,
        };
        assert_eq!(
            opened.variable("Key").await.unwrap(),
            Variable {
                value: "s3cret".into(),
                encrypted: true
            }
        );
        assert_eq!(opened.variable("Region").await.unwrap().value, "eu");
    }
}
