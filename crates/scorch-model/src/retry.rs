//! An activity's `retry:` policy: how often, and how far apart, a run that failed transiently
//! runs again. Checked here; the engine follows it.

use std::time::Duration;

use crate::def::RetryDef;
use crate::duration::parse_duration;

/// Runs when `retry:` is given without `max_attempts`: the first and two retries.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// The most runs a policy may ask for, which bounds its total wait by `MAX_ATTEMPTS * max_delay`.
pub const MAX_ATTEMPTS: u32 = 100;
const DEFAULT_DELAY: Duration = Duration::from_secs(1);
const DEFAULT_BACKOFF: f64 = 2.0;
const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPlan {
    /// Runs at most, the first included: 1 never retries.
    pub max_attempts: u32,
    /// The wait after the first transient failure.
    pub delay: Duration,
    /// What each further wait is multiplied by (at least 1).
    pub backoff: f64,
    /// No wait is longer (at least `delay`).
    pub max_delay: Duration,
}

impl RetryPlan {
    /// Checks a `retry:` mapping, filling in the defaults; each problem comes with its key.
    pub fn compile(def: &RetryDef) -> Result<Self, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let max_attempts = def.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            problems.push((
                "max_attempts",
                format!(
                    "max_attempts must be 1 to {MAX_ATTEMPTS} (1 runs the activity once, without retry), not {max_attempts}"
                ),
            ));
        }
        let mut duration = |key, text: Option<&str>, default| match text.map(parse_duration) {
            None => Some(default),
            Some(Ok(d)) => Some(d),
            Some(Err(why)) => {
                problems.push((key, why));
                None
            }
        };
        let delay = duration("delay", def.delay.as_deref(), DEFAULT_DELAY);
        // Left out, max_delay stretches to a delay longer than its default.
        let default_max = delay.unwrap_or_default().max(DEFAULT_MAX_DELAY);
        let max_delay = duration("max_delay", def.max_delay.as_deref(), default_max);
        if let (Some(d), Some(m)) = (delay, max_delay)
            && m < d
        {
            let text = |t: &Option<String>| t.clone().unwrap_or_default();
            problems.push((
                "max_delay",
                format!(
                    "max_delay ({}) must be at least delay ({})",
                    text(&def.max_delay),
                    text(&def.delay)
                ),
            ));
        }
        let backoff = def.backoff.unwrap_or(DEFAULT_BACKOFF);
        if !(backoff.is_finite() && backoff >= 1.0) {
            problems.push((
                "backoff",
                format!("backoff must be a number of at least 1.0 (2.0 doubles each wait), not {backoff}"),
            ));
        }
        match (delay, max_delay) {
            (Some(delay), Some(max_delay)) if problems.is_empty() => Ok(Self {
                max_attempts,
                delay,
                backoff,
                max_delay,
            }),
            _ => Err(problems),
        }
    }

    /// The wait after the `failed`-th run (from 1) failed transiently: `delay`, then `backoff`
    /// times the previous wait, never more than `max_delay`.
    pub fn delay_after(&self, failed: u32) -> Duration {
        let max = self.max_delay.as_secs_f64();
        let secs = (1..failed).fold(self.delay.as_secs_f64(), |d, _| (d * self.backoff).min(max));
        Duration::from_secs_f64(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_catalog::{AnyProperties, diagnostics};
    use crate::{compile, load};

    fn policy(def: RetryDef) -> RetryPlan {
        RetryPlan::compile(&def).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn an_empty_policy_takes_the_defaults() {
        let p = policy(RetryDef::default());
        assert_eq!(
            p,
            RetryPlan {
                max_attempts: 3,
                delay: Duration::from_secs(1),
                backoff: 2.0,
                max_delay: Duration::from_secs(60),
            }
        );
        let long = policy(RetryDef {
            delay: Some("5m".into()),
            ..Default::default()
        });
        assert_eq!(
            long.max_delay,
            Duration::from_secs(300),
            "max_delay left out stretches to delay"
        );
    }

    #[test]
    fn waits_grow_by_backoff_up_to_max_delay() {
        let p = policy(RetryDef {
            max_attempts: Some(10),
            delay: Some("1s".into()),
            backoff: Some(3.0),
            max_delay: Some("20s".into()),
        });
        let waits: Vec<u64> = (1..=5).map(|n| p.delay_after(n).as_secs()).collect();
        assert_eq!(waits, [1, 3, 9, 20, 20]);
        let huge = RetryPlan {
            backoff: f64::MAX,
            ..p.clone()
        };
        assert_eq!(huge.delay_after(100), Duration::from_secs(20));
        let zero = RetryPlan {
            delay: Duration::ZERO,
            ..huge
        };
        assert_eq!(zero.delay_after(100), Duration::ZERO);
    }

    const RUNBOOK: &str = "format: 1\nrunbook: R\nactivities:\n  - id: a\n    type: junction\n    retry: RETRY\n";

    fn retry_diagnostics(retry: &str) -> Vec<String> {
        diagnostics(&RUNBOOK.replace("RETRY", retry))
            .iter()
            .map(|d| d.render("r.yaml"))
            .collect()
    }

    #[test]
    fn bad_policies_are_reported_at_their_keys() {
        assert_eq!(
            retry_diagnostics("{ max_attempts: 0 }"),
            [
                "r.yaml:6:14: activities[0].retry.max_attempts: max_attempts must be 1 to 100 (1 runs the activity once, without retry), not 0"
            ]
        );
        assert_eq!(
            retry_diagnostics("{ max_attempts: 101, backoff: 0.5 }"),
            [
                "r.yaml:6:14: activities[0].retry.max_attempts: max_attempts must be 1 to 100 (1 runs the activity once, without retry), not 101",
                "r.yaml:6:33: activities[0].retry.backoff: backoff must be a number of at least 1.0 (2.0 doubles each wait), not 0.5",
            ]
        );
        assert_eq!(
            retry_diagnostics("{ delay: soon }"),
            [
                "r.yaml:6:14: activities[0].retry.delay: 'soon' is not a duration: write a whole number and a unit, like 500ms, 10s, 5m or 1h"
            ]
        );
        assert_eq!(
            retry_diagnostics("{ delay: 2m, max_delay: 1m }"),
            ["r.yaml:6:25: activities[0].retry.max_delay: max_delay (1m) must be at least delay (2m)"]
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let errs = load(&RUNBOOK.replace("RETRY", "{ attempts: 3 }")).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].message.contains("unknown field 'attempts'"), "{errs:?}");
    }

    #[test]
    fn a_good_policy_is_compiled_onto_its_step() {
        let text = RUNBOOK.replace("RETRY", "{ max_attempts: 1, delay: 500ms, backoff: 1 }");
        let plan = compile(&load(&text).unwrap(), &AnyProperties).unwrap();
        let retry = plan.steps[0].retry.as_ref().unwrap();
        assert_eq!((retry.max_attempts, retry.delay), (1, Duration::from_millis(500)));
        let without = compile(
            &load(&RUNBOOK.replace("    retry: RETRY\n", "")).unwrap(),
            &AnyProperties,
        )
        .unwrap();
        assert!(without.steps[0].retry.is_none());
    }
}
