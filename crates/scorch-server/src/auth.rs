//! Secrets of authentication: API tokens (random, stored as SHA-256) and passwords (argon2).

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, mpsc};

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

/// Every token starts with this, so a leaked one is easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "sct_";

/// A new random API token (256 bits).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// What the store keeps of a token: its SHA-256, hex. Tokens are random and long, so a fast
/// hash is enough; passwords are not, and get argon2.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Passwords have this many characters, at least and at most.
pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 1024;

/// An argon2id PHC string for `password` (argon2's default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, String> {
    WorkArea::default().hash(password)
}

/// Whether `password` matches a stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    WorkArea::default().verify(password, phc)
}

/// [`hash_password`] on a hashing thread, in turn.
pub async fn hash_password_in_turn(password: String) -> Result<String, String> {
    in_turn(move |area| area.hash(&password))
        .await
        .unwrap_or_else(|| Err("the hashing thread failed".into()))
}

/// Whether `password` matches `phc`, checked on a hashing thread, in turn. Without a `phc` (an
/// unknown user) it is checked against a decoy, so that costs as much time as a wrong password
/// and the answer reveals nothing.
pub async fn verify_password_in_turn(password: String, phc: Option<String>) -> bool {
    in_turn(move |area| match phc {
        Some(phc) => area.verify(&password, &phc),
        None => {
            area.verify(&password, decoy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("scorch-decoy-password").unwrap_or_default())
}

/// Argon2 takes 19 MiB and tens of milliseconds a password, so it runs on this many threads of
/// its own, one password each at a time, each with one work area it keeps; other passwords wait
/// their turn. (Allocated anew for each password, on whichever thread, the allocator would keep
/// several freed work areas per thread.)
const HASHING_THREADS: usize = 2;

type Job = Box<dyn FnOnce(&mut WorkArea) + Send>;

fn hashing_threads() -> &'static mpsc::Sender<Job> {
    static QUEUE: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..HASHING_THREADS {
            let jobs = jobs.clone();
            let next = move || jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    let mut area = WorkArea::default();
                    while let Ok(job) = next() {
                        job(&mut area);
                    }
                })
                .expect("start a password hashing thread");
        }
        queue
    })
}

/// Runs `work` on a hashing thread once it is its turn; `None` if it panicked. Work whose caller
/// has given up by then is skipped.
async fn in_turn<T: Send + 'static>(work: impl FnOnce(&mut WorkArea) -> T + Send + 'static) -> Option<T> {
    let (reply, answer) = oneshot::channel();
    let job = move |area: &mut WorkArea| {
        if !reply.is_closed()
            && let Ok(done) = std::panic::catch_unwind(AssertUnwindSafe(|| work(area)))
        {
            let _ = reply.send(done);
        }
    };
    hashing_threads().send(Box::new(job)).ok()?;
    answer.await.ok()
}

/// Argon2's memory, kept from one password to the next.
#[derive(Default)]
struct WorkArea(Vec<Block>);

impl WorkArea {
    /// Argon2 of `password` and `salt` (raw bytes) into `out`.
    fn hash_into(&mut self, argon2: &Argon2<'_>, password: &str, salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
        let blocks = argon2.params().block_count();
        if self.0.len() < blocks {
            self.0.resize(blocks, Block::default());
        }
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut self.0[..blocks])
    }

    fn hash(&mut self, password: &str) -> Result<String, String> {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let encoded = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        let argon2 = Argon2::default();
        let hash = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
            Ok(self.hash_into(&argon2, password, &salt, out)?)
        })
        .map_err(|e| e.to_string())?;
        let phc = PasswordHash {
            algorithm: Algorithm::default().ident(),
            version: Some(Version::default().into()),
            params: ParamsString::try_from(argon2.params()).map_err(|e| e.to_string())?,
            salt: Some(encoded.as_salt()),
            hash: Some(hash),
        };
        Ok(phc.to_string())
    }

    fn verify(&mut self, password: &str, phc: &str) -> bool {
        PasswordHash::new(phc).is_ok_and(|parsed| self.matches(password, &parsed).unwrap_or(false))
    }

    /// What argon2's `PasswordVerifier` does, in this work area.
    fn matches(&mut self, password: &str, phc: &PasswordHash<'_>) -> password_hash::Result<bool> {
        let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
            return Ok(false);
        };
        let version = phc.version.map(Version::try_from).transpose()?.unwrap_or_default();
        let argon2 = Argon2::new(Algorithm::try_from(phc.algorithm)?, version, Params::try_from(phc)?);
        let mut salt_bytes = [0u8; 64];
        let salt = salt.decode_b64(&mut salt_bytes)?;
        let computed = Output::init_with(expected.len(), |out| Ok(self.hash_into(&argon2, password, salt, out)?))?;
        // Output's comparison takes constant time.
        Ok(computed == expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn password_hashes_are_argon2s_own() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_password("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"wrong", &parsed).is_err());
        let salt = SaltString::encode_b64(b"sixteen bytes!!!").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("correct horse", &theirs));
        assert!(!verify_password("correct horsf", &theirs));
    }

    #[tokio::test]
    async fn passwords_verify_in_turn() {
        let phc = hash_password_in_turn("correct horse".into()).await.unwrap();
        assert!(verify_password_in_turn("correct horse".into(), Some(phc.clone())).await);
        assert!(!verify_password_in_turn("wrong".into(), Some(phc)).await);
        assert!(!verify_password_in_turn("correct horse".into(), None).await);
    }

    #[test]
    fn passwords_verify() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("x", "not a hash"));
    }
}
