//! `pgp_decrypt_file`: decrypts an OpenPGP message (armored or binary, as `gpg --encrypt`
//! writes it) with a private key and its passphrase. The private key and the passphrase are
//! secrets: masked wherever the run's text goes, and never part of an error.

use std::io::{Read, Write};

use pgp::composed::{Deserializable, Message, SignedSecretKey};
use pgp::errors::Error as PgpError;
use pgp::types::{KeyDetails, Password};
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{Paths, Stop, key_bytes, stream_failed};
use crate::files::io_failed;
use crate::host::CATEGORY;
use crate::host::MIB;

const TYPE: &str = "pgp_decrypt_file";
/// The largest encrypted file read: decryption holds it in memory.
const MAX_MESSAGE: u64 = 256 * MIB;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Decrypts an OpenPGP-encrypted file (armored or binary) with a private key.",
    idempotent: true,
    properties: &["file", "output", "private_key", "passphrase"],
    required: &["file", "output", "private_key"],
    publishes: &["output"],
};

pub struct PgpDecryptFile;

#[scorch_activity::async_trait]
impl Activity for PgpDecryptFile {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        for secret in ["private_key", "passphrase"] {
            if let Some(value) = props.opt_str(secret)? {
                ctx.secrets.remember(&value);
            }
        }
        let paths = Paths::from_props(ctx, &props)?;
        let passphrase = props.opt_str("passphrase")?.unwrap_or_default();
        let key = key_bytes(ctx, &props, "private_key").await?;
        // Read from a file, the key is a secret too.
        if let Ok(text) = std::str::from_utf8(&key) {
            ctx.secrets.remember(text);
        }
        let output = paths.output.display().to_string();
        let stop = Stop(ctx.clone());
        crate::files::blocking(TYPE, move || decrypt(&paths, &key, passphrase, &stop)).await?;
        Ok(ActivityOutput::row(row! { "output" => output }))
    }
}

fn decrypt(paths: &Paths, key: &[u8], passphrase: String, stop: &Stop) -> Result<(), ActivityError> {
    let (key, _) = SignedSecretKey::from_reader_single(key)
        .map_err(|_| ActivityError::invalid(TYPE, "private_key", "not an OpenPGP private key"))?;
    let failed = |why: &str| ActivityError::failed(TYPE, paths.file.display(), why);
    let reader = paths.open(TYPE, stop.clone())?;
    // rpgp holds a message whole to check its integrity before it releases any plaintext.
    if reader.inner.get_ref().metadata().is_ok_and(|m| m.len() > MAX_MESSAGE) {
        return Err(failed(&format!("larger than the {} MiB limit", MAX_MESSAGE / MIB)));
    }
    let (message, _) = Message::from_reader(reader).map_err(|e| match e {
        PgpError::IO { .. } => stream_failed(TYPE, &paths.file, stop, &e, "not an OpenPGP message"),
        _ => failed("not an OpenPGP message"),
    })?;
    if !message.is_encrypted() {
        return Err(failed("not an encrypted OpenPGP message"));
    }
    let passphrase = Password::from(passphrase);
    let mut message = message.decrypt(&passphrase, &key).map_err(|e| match e {
        // rpgp says the same when no key matches and when the matching one stays locked.
        PgpError::MissingKey if !unlocks(&key, &passphrase) => {
            ActivityError::failed(TYPE, "private_key", "the passphrase does not unlock it")
        }
        PgpError::MissingKey => failed("not encrypted to this private key"),
        e => stream_failed(TYPE, &paths.file, stop, &e, "cannot decrypt"),
    })?;
    while message.is_compressed() {
        message = message
            .decompress()
            .map_err(|e| stream_failed(TYPE, &paths.file, stop, &e, "cannot decompress"))?;
    }
    paths.write_output(TYPE, |out| {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = message.read(&mut buf).map_err(|e| {
                stop.check()
                    .err()
                    .unwrap_or_else(|| failed(&format!("cannot decrypt: {e}")))
            })?;
            if n == 0 {
                return Ok(());
            }
            out.write_all(&buf[..n])
                .map_err(|e| io_failed(TYPE, &paths.output, &e))?;
        }
    })
}

/// Whether `passphrase` unlocks one of the key's secret keys that can decrypt.
fn unlocks(key: &SignedSecretKey, passphrase: &Password) -> bool {
    let opened = |unlocked: Result<Result<(), PgpError>, PgpError>| matches!(unlocked, Ok(Ok(())));
    let subkeys = key.secret_subkeys.iter().map(|s| &s.key);
    subkeys
        .filter(|k| k.algorithm().can_encrypt())
        .any(|k| opened(k.unlock(passphrase, |_, _| Ok(()))))
        || (key.primary_key.algorithm().can_encrypt() && opened(key.primary_key.unlock(passphrase, |_, _| Ok(()))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::test_support::{failed, ok};
    use crate::host::pgp::test_support::gpg;
    use scorch_activity::json;
    use std::fs;

    #[tokio::test]
    async fn decrypts_what_gpg_encrypts_armored_and_binary() {
        let Some(gpg) = gpg() else { return };
        let key = gpg.key("carol@example.com", Some("correct horse"));
        let dir = tempfile::tempdir().unwrap();
        let plain: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 256) as u8).collect();
        fs::write(dir.path().join("report.bin"), &plain).unwrap();
        fs::write(dir.path().join("carol.key"), &key.secret).unwrap();
        for armor in [true, false] {
            let encrypted = dir.path().join(format!("report.{armor}.pgp"));
            gpg.encrypt(&dir.path().join("report.bin"), "carol@example.com", &encrypted, armor);
            let props = json!({
                "file": encrypted, "output": "out.bin",
                "private_key": if armor { key.secret.clone() } else { "carol.key".to_string() },
                "passphrase": "correct horse",
            });
            ok(&PgpDecryptFile, dir.path(), props).await;
            assert_eq!(fs::read(dir.path().join("out.bin")).unwrap(), plain, "armor: {armor}");
        }
    }

    #[tokio::test]
    async fn a_tampered_message_fails_and_leaves_no_output() {
        let Some(gpg) = gpg() else { return };
        let key = gpg.key("heidi@example.com", None);
        let dir = tempfile::tempdir().unwrap();
        // Random-looking data, which gpg cannot compress: a flipped byte hits the ciphertext.
        let plain: Vec<u8> = (0..400_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        fs::write(dir.path().join("p.bin"), &plain).unwrap();
        let sealed = dir.path().join("p.gpg");
        gpg.encrypt(&dir.path().join("p.bin"), "heidi@example.com", &sealed, false);
        let mut bytes = fs::read(&sealed).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        fs::write(&sealed, bytes).unwrap();
        let props = json!({"file": "p.gpg", "output": "p.out", "private_key": key.secret});
        let err = failed(&PgpDecryptFile, dir.path(), props).await;
        let prefix = format!("pgp_decrypt_file: {}: cannot decrypt: ", sealed.display());
        assert!(err.starts_with(&prefix), "{err}");
        assert!(!dir.path().join("p.out").exists());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "a temporary file was left"
        );
    }

    #[tokio::test]
    async fn a_key_without_passphrase_and_a_wrong_one() {
        let Some(gpg) = gpg() else { return };
        let open = gpg.key("dave@example.com", None);
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f.txt"), "hello").unwrap();
        gpg.encrypt(
            &dir.path().join("f.txt"),
            "dave@example.com",
            &dir.path().join("f.asc"),
            true,
        );
        let props = json!({"file": "f.asc", "output": "f.out", "private_key": open.secret});
        ok(&PgpDecryptFile, dir.path(), props).await;
        assert_eq!(fs::read_to_string(dir.path().join("f.out")).unwrap(), "hello");

        let locked = gpg.key("erin@example.com", Some("s3cret-Pass"));
        gpg.encrypt(
            &dir.path().join("f.txt"),
            "erin@example.com",
            &dir.path().join("e.asc"),
            true,
        );
        let props =
            json!({"file": "e.asc", "output": "e.out", "private_key": locked.secret, "passphrase": "wrong-Pass"});
        let err = failed(&PgpDecryptFile, dir.path(), props).await;
        assert_eq!(err, "pgp_decrypt_file: private_key: the passphrase does not unlock it");
        assert!(!dir.path().join("e.out").exists());
    }

    #[tokio::test]
    async fn other_keys_bad_keys_and_bad_files_fail_without_secrets() {
        let Some(gpg) = gpg() else { return };
        let frank = gpg.key("frank@example.com", Some("frank-Pass-1"));
        gpg.key("grace@example.com", None);
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f.txt"), "hello").unwrap();
        gpg.encrypt(
            &dir.path().join("f.txt"),
            "grace@example.com",
            &dir.path().join("g.gpg"),
            false,
        );
        let ctx = ActivityContext::standalone(TYPE, dir.path().to_path_buf());
        let mut errors = Vec::new();
        let cases = [
            (
                "g.gpg",
                frank.secret.as_str(),
                "pgp_decrypt_file: {dir}/g.gpg: not encrypted to this private key",
            ),
            (
                "f.txt",
                frank.secret.as_str(),
                "pgp_decrypt_file: {dir}/f.txt: not an OpenPGP message",
            ),
            (
                "nope.gpg",
                frank.secret.as_str(),
                "pgp_decrypt_file: {dir}/nope.gpg: not found",
            ),
            (
                "g.gpg",
                frank.public.as_str(),
                "pgp_decrypt_file: property 'private_key': not an OpenPGP private key",
            ),
        ];
        let huge = fs::File::create(dir.path().join("huge.gpg")).unwrap();
        huge.set_len(MAX_MESSAGE + 1).unwrap();
        let props = json!({"file": "huge.gpg", "output": "out", "private_key": frank.secret.as_str(), "passphrase": "frank-Pass-1"});
        let err = PgpDecryptFile.run(&ctx, props).await.unwrap_err().to_string();
        let huge = dir.path().join("huge.gpg").display().to_string();
        assert_eq!(err, format!("pgp_decrypt_file: {huge}: larger than the 256 MiB limit"));
        fs::write(dir.path().join("frank.key"), &frank.secret).unwrap();
        let props = json!({"file": "g.gpg", "output": "out", "private_key": "frank.key", "passphrase": "frank-Pass-1"});
        PgpDecryptFile.run(&ctx, props).await.unwrap_err();
        assert_eq!(ctx.secrets.mask(&frank.secret), "******");
        for (file, key, expected) in cases {
            let props = json!({"file": file, "output": "out", "private_key": key, "passphrase": "frank-Pass-1"});
            let err = PgpDecryptFile.run(&ctx, props).await.unwrap_err().to_string();
            assert_eq!(err, expected.replace("{dir}", &dir.path().display().to_string()));
            errors.push(err);
        }
        let props =
            json!({"file": "g.gpg", "output": "out", "private_key": "not a key\nat all", "passphrase": "frank-Pass-1"});
        let err = PgpDecryptFile.run(&ctx, props).await.unwrap_err().to_string();
        assert_eq!(
            err,
            "pgp_decrypt_file: property 'private_key': neither an armored OpenPGP key nor the path of a key file"
        );
        errors.push(err);
        for err in errors {
            assert!(
                !err.contains("frank-Pass-1") && !err.contains("PRIVATE KEY") && !err.contains("at all"),
                "{err}"
            );
        }
        assert!(!dir.path().join("out").exists());
        // Both secrets were handed to the run's masking.
        assert_eq!(ctx.secrets.mask("frank-Pass-1"), "******");
    }
}
