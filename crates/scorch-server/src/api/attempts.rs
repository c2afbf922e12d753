//! Password sign-in attempts, limited per user name and per client address, so that guessing
//! passwords is slow and cannot queue up argon2 work: an attempt past the limit is refused
//! before any hashing. A correct password is not delayed; it is refused only when its user or
//! its address has already used up its attempts.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, NotUntil, Quota};

/// Attempts per minute for one user name, all of which may come at once.
const PER_USER: NonZeroU32 = NonZeroU32::new(10).expect("not zero");
/// Attempts per minute from one address (an IPv6 /64 counts as one), which may be a NAT's many
/// users.
const PER_ADDRESS: NonZeroU32 = NonZeroU32::new(30).expect("not zero");
/// How often the limiters forget the keys back at their full allowance, which bounds their
/// memory to the keys seen in the last minute or so.
const FORGET_EVERY: Duration = Duration::from_secs(10);

pub struct LoginAttempts {
    per_user: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl LoginAttempts {
    /// The limiters, and a task that forgets idle keys for as long as they are used.
    pub(crate) fn start() -> Arc<Self> {
        let attempts = Arc::new(Self {
            per_user: DefaultKeyedRateLimiter::keyed(Quota::per_minute(PER_USER)),
            per_address: DefaultKeyedRateLimiter::keyed(Quota::per_minute(PER_ADDRESS)),
        });
        tokio::spawn(forget_idle_keys(Arc::downgrade(&attempts)));
        attempts
    }

    /// Takes an attempt for `user` from `address` (when known); `Err` says how long until the
    /// next one is allowed.
    pub(crate) fn attempt(&self, user: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        if let Some(address) = address {
            self.per_address.check_key(&network(address)).map_err(wait)?;
        }
        self.per_user.check_key(&user.to_string()).map_err(wait)
    }
}

async fn forget_idle_keys(attempts: Weak<LoginAttempts>) {
    let mut every = tokio::time::interval(FORGET_EVERY);
    loop {
        every.tick().await;
        let Some(attempts) = attempts.upgrade() else {
            return;
        };
        forget_idle(&attempts.per_user);
        forget_idle(&attempts.per_address);
    }
}

fn forget_idle<K: Clone + Eq + Hash>(limiter: &DefaultKeyedRateLimiter<K>) {
    limiter.retain_recent();
    limiter.shrink_to_fit();
}

/// The address that stands for a client: IPv4 as is, IPv6 by its /64 (one host's share).
fn network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
    }
}

fn wait(not_until: NotUntil<<DefaultClock as Clock>::Instant>) -> Duration {
    not_until.wait_time_from(DefaultClock::default().now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_user_and_an_address_each_get_their_allowance() {
        let attempts = LoginAttempts::start();
        let here: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..PER_USER.get() {
            attempts.attempt("ann", Some(here)).unwrap();
        }
        let wait = attempts.attempt("ann", Some(here)).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(6), "{wait:?}");
        assert!(
            attempts.attempt("bob", Some(here)).is_ok(),
            "another user is not held up"
        );
        let v6 = |text: &str| -> IpAddr { text.parse().unwrap() };
        assert_eq!(network(v6("2001:db8::1")), network(v6("2001:db8::ffff:1")));
        assert_ne!(network(v6("2001:db8::1")), network(v6("2001:db8:0:1::1")));
    }
}
