//! Causal run identities: a run's key hashes the key of the run it came from, the row and link
//! that led to it, and its attempt, so a replayed instance finds its recorded runs again
//! whatever order concurrent branches finished in.

use xxhash_rust::xxh3::xxh3_64;

use crate::RunKey;

fn mix(parts: &[u64]) -> RunKey {
    let bytes: Vec<u8> = parts.iter().flat_map(|p| p.to_le_bytes()).collect();
    xxh3_64(&bytes)
}

/// A token starting the instance at `step`.
pub fn start(step: usize) -> RunKey {
    mix(&[1, step as u64])
}

/// A token created when `link` of the run `parent` fired for `row`.
pub fn linked(parent: RunKey, row: usize, link: u32) -> RunKey {
    mix(&[2, parent, row as u64, u64::from(link)])
}

/// A junction fires once per instance.
pub fn junction(step: usize) -> RunKey {
    mix(&[3, step as u64])
}

/// One attempt of a token's run.
pub fn attempt(token: RunKey, attempt: u32) -> RunKey {
    mix(&[4, token, u64::from(attempt)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        assert_eq!(linked(start(0), 2, 1), linked(start(0), 2, 1));
        assert_ne!(linked(start(0), 2, 1), linked(start(0), 1, 2));
        assert_ne!(attempt(start(0), 1), attempt(start(0), 2));
        assert_ne!(start(1), junction(1));
    }
}
