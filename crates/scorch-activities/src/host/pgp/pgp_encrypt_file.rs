//! `pgp_encrypt_file`: encrypts a file to an OpenPGP public key (as `gpg --encrypt` does),
//! armored or binary. The message is SEIPD v1 with AES-256, which every OpenPGP
//! implementation reads (GnuPG 2.2 included), encrypted to each valid subkey of the key that
//! may encrypt.

use std::time::SystemTime;

use pgp::composed::{ArmorOptions, Deserializable, MessageBuilder, SignedPublicKey, SignedPublicSubKey};
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::SignatureType;
use pgp::types::KeyDetails;
use rand_core::OsRng;
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{Paths, Stop, key_bytes, stream_failed};
use crate::host::CATEGORY;

const TYPE: &str = "pgp_encrypt_file";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Encrypts a file to an OpenPGP public key (armored by default), as gpg --encrypt does.",
    idempotent: true,
    properties: &["file", "output", "public_key", "armor"],
    required: &["file", "output", "public_key"],
    publishes: &["output"],
};

pub struct PgpEncryptFile;

#[scorch_activity::async_trait]
impl Activity for PgpEncryptFile {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let paths = Paths::from_props(ctx, &props)?;
        let armor = props.bool_or("armor", true)?;
        let key = key_bytes(ctx, &props, "public_key").await?;
        let output = paths.output.display().to_string();
        let stop = Stop(ctx.clone());
        crate::files::blocking(TYPE, move || encrypt(&paths, &key, armor, &stop)).await?;
        Ok(ActivityOutput::row(row! { "output" => output }))
    }
}

fn encrypt(paths: &Paths, key: &[u8], armor: bool, stop: &Stop) -> Result<(), ActivityError> {
    let bad_key = |why: &str| ActivityError::invalid(TYPE, "public_key", why);
    let (key, _) = SignedPublicKey::from_reader_single(key).map_err(|_| bad_key("not an OpenPGP public key"))?;
    key.verify_bindings()
        .map_err(|_| bad_key("its self-signatures do not verify"))?;
    let recipients = encryption_subkeys(&key);
    if recipients.is_empty() {
        return Err(bad_key("has no valid subkey that may encrypt"));
    }
    let name = paths
        .file
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let reader = paths.open(TYPE, stop.clone())?;
    let mut builder = MessageBuilder::from_reader(name, reader).seipd_v1(OsRng, SymmetricKeyAlgorithm::AES256);
    for subkey in recipients {
        builder
            .encrypt_to_key(OsRng, subkey)
            .map_err(|e| bad_key(&format!("cannot encrypt to it: {e}")))?;
    }
    paths.write_output(TYPE, |out| {
        let written = if armor {
            builder.to_armored_writer(OsRng, ArmorOptions::default(), out)
        } else {
            builder.to_writer(OsRng, out)
        };
        written.map_err(|e| stream_failed(TYPE, &paths.file, stop, &e, "cannot encrypt"))
    })
}

/// The subkeys that may encrypt now: an encryption algorithm, a binding signature whose key
/// flags allow encryption, not revoked, not expired.
fn encryption_subkeys(key: &SignedPublicKey) -> Vec<&SignedPublicSubKey> {
    let now = SystemTime::now();
    key.public_subkeys
        .iter()
        .filter(|sub| {
            let revoked = sub
                .signatures
                .iter()
                .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation));
            let binding = sub
                .signatures
                .iter()
                .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
                .max_by_key(|s| s.created().map(|t| t.as_secs()));
            let usable = binding.is_some_and(|s| {
                let flags = s.key_flags();
                let expired = s.key_expiration_time().is_some_and(|valid| {
                    SystemTime::from(sub.key.created_at()) + std::time::Duration::from(valid) <= now
                });
                (flags.encrypt_comms() || flags.encrypt_storage()) && !expired
            });
            sub.key.algorithm().can_encrypt() && usable && !revoked
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::test_support::{failed, field, invalid, ok};
    use crate::host::pgp::test_support::gpg;
    use scorch_activity::json;
    use std::fs;

    #[tokio::test]
    async fn gpg_decrypts_what_it_encrypts_armored_and_binary() {
        let Some(gpg) = gpg() else { return };
        let key = gpg.key("alice@example.com", None);
        let dir = tempfile::tempdir().unwrap();
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        fs::write(dir.path().join("data.bin"), &plain).unwrap();
        fs::write(dir.path().join("alice.asc"), &key.public).unwrap();

        let props = json!({"file": "data.bin", "output": "data.bin.asc", "public_key": key.public});
        let rows = ok(&PgpEncryptFile, dir.path(), props).await;
        let armored = dir.path().join("data.bin.asc");
        assert_eq!(field(&rows[0], "output"), armored.display().to_string());
        assert!(
            fs::read_to_string(&armored)
                .unwrap()
                .starts_with("-----BEGIN PGP MESSAGE-----")
        );
        assert_eq!(gpg.decrypt(&armored, None), plain);

        // The key as a file, binary output.
        let props = json!({"file": "data.bin", "output": "data.bin.gpg", "public_key": "alice.asc", "armor": false});
        ok(&PgpEncryptFile, dir.path(), props).await;
        let binary = fs::read(dir.path().join("data.bin.gpg")).unwrap();
        assert!(!binary.starts_with(b"-----BEGIN"));
        assert_eq!(gpg.decrypt(&dir.path().join("data.bin.gpg"), None), plain);
    }

    #[tokio::test]
    async fn rsa_keys_work_both_ways() {
        let Some(gpg) = gpg() else { return };
        let key = gpg.rsa_key("judy@example.com");
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "to the bank\n").unwrap();
        let props = json!({"file": "a.txt", "output": "a.asc", "public_key": key.public});
        ok(&PgpEncryptFile, dir.path(), props).await;
        assert_eq!(gpg.decrypt(&dir.path().join("a.asc"), None), b"to the bank\n");

        gpg.encrypt(
            &dir.path().join("a.txt"),
            "judy@example.com",
            &dir.path().join("b.gpg"),
            false,
        );
        let props = json!({"file": "b.gpg", "output": "b.txt", "private_key": key.secret});
        ok(&crate::host::PgpDecryptFile, dir.path(), props).await;
        assert_eq!(fs::read_to_string(dir.path().join("b.txt")).unwrap(), "to the bank\n");
    }

    #[tokio::test]
    async fn a_cancellation_stops_it_and_leaves_no_output() {
        let Some(gpg) = gpg() else { return };
        let key = gpg.key("ivan@example.com", None);
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("big.bin"), vec![7u8; 4 << 20]).unwrap();
        let ctx = ActivityContext::standalone(TYPE, dir.path().to_path_buf());
        ctx.cancel.cancel();
        let props = json!({"file": "big.bin", "output": "big.asc", "public_key": key.public});
        assert_eq!(
            PgpEncryptFile.run(&ctx, props).await.unwrap_err(),
            ActivityError::Canceled
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "a file was left behind");
    }

    #[tokio::test]
    async fn bad_keys_and_missing_files_fail_clearly() {
        let Some(gpg) = gpg() else { return };
        let key = gpg.key("bob@example.com", None);
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f.txt"), "x").unwrap();
        let run = |public_key: &str, file: &str| json!({"file": file, "output": "o.asc", "public_key": public_key});

        let err = failed(&PgpEncryptFile, dir.path(), run(&key.public, "nope.txt")).await;
        assert_eq!(
            err,
            format!("pgp_encrypt_file: {}: not found", dir.path().join("nope.txt").display())
        );
        let not_a_key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PUBLIC KEY BLOCK-----\n";
        let err = invalid(&PgpEncryptFile, dir.path(), run(not_a_key, "f.txt")).await;
        assert_eq!(
            err,
            "pgp_encrypt_file: property 'public_key': not an OpenPGP public key"
        );
        let err = invalid(&PgpEncryptFile, dir.path(), run("no-such-key.asc", "f.txt")).await;
        assert!(
            err.ends_with("neither an armored OpenPGP key nor the path of a key file"),
            "{err}"
        );
        assert!(!dir.path().join("o.asc").exists());
    }
}
