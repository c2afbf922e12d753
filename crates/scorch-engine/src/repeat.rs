//! Whether a token's activity runs again after a run: a retry after a transient error (its
//! `retry:` policy), or the next attempt of its `loop:`. Retries happen within a loop attempt:
//! the loop's conditions see the run its retries ended with.

use std::sync::Arc;
use std::time::Duration;

use scorch_activity::ErrorKind;
use scorch_model::condition::any_holds;
use scorch_model::plan::Step;

use crate::data::{PathScope, RunData, extend};
use crate::shared::{Shared, Token};

/// Where a token's runs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attempts {
    /// Every run of the token counts, retries too: the run's key and its `attempt`.
    pub run: u32,
    /// The loop's attempt (`loop_attempts`).
    pub loop_attempt: u32,
    /// Runs of this loop attempt: what `retry.max_attempts` bounds.
    pub tries: u32,
}

impl Attempts {
    pub const FIRST: Self = Self {
        run: 1,
        loop_attempt: 1,
        tries: 1,
    };

    /// The counts of the run `next` starts (`self` unchanged when it starts none).
    pub fn after(self, next: &Next) -> Self {
        match next {
            Next::Retry(_) => Self {
                run: self.run + 1,
                tries: self.tries + 1,
                ..self
            },
            Next::Loop(_) => Self {
                run: self.run + 1,
                loop_attempt: self.loop_attempt + 1,
                tries: 1,
            },
            Next::Done | Next::Exhausted(_) => self,
        }
    }
}

/// What follows a run.
#[derive(Debug, PartialEq)]
pub(crate) enum Next {
    /// The run is the token's last: its links fire.
    Done,
    /// It failed transiently with tries left: run again after this wait.
    Retry(Duration),
    /// The loop's next attempt, after the loop's delay.
    Loop(Duration),
    /// The loop ran `max_attempts` times without an exit condition holding: the run is the last.
    Exhausted(u32),
}

/// Decides from the run and the kind of its failure, never from its text. Nothing runs again
/// once the instance is canceled.
pub(crate) fn next(
    shared: &Shared,
    step: &Step,
    token: &Token,
    run: &Arc<RunData>,
    kind: Option<ErrorKind>,
    at: Attempts,
    problems: &mut Vec<String>,
) -> Next {
    if shared.cancel.is_cancelled() {
        return Next::Done;
    }
    if kind == Some(ErrorKind::Transient)
        && let Some(retry) = &step.retry
        && at.tries < retry.max_attempts
    {
        return Next::Retry(retry.delay_after(at.tries));
    }
    let Some(lp) = &step.looping else { return Next::Done };
    let rows: Vec<Option<usize>> = if run.rows.is_empty() {
        vec![None]
    } else {
        (0..run.rows.len()).map(Some).collect()
    };
    let mut holds = |conditions| {
        rows.iter().any(|&row| {
            let path = extend(&token.path, token.step, run, row);
            let scope = PathScope {
                facts: &shared.facts,
                path: &path,
            };
            any_holds(conditions, run.status, &scope).unwrap_or_else(|why| {
                problems.push(format!("activity '{}': loop condition: {why}", step.id));
                false
            })
        })
    };
    if holds(&lp.continue_when) {
        // "Do not exit" wins over exit conditions.
    } else if holds(&lp.exit_when) {
        return Next::Done;
    }
    if at.loop_attempt >= lp.max_attempts {
        Next::Exhausted(lp.max_attempts)
    } else {
        Next::Loop(lp.delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_count_within_a_loop_attempt() {
        let retried = Attempts::FIRST.after(&Next::Retry(Duration::ZERO));
        assert_eq!(
            retried,
            Attempts {
                run: 2,
                loop_attempt: 1,
                tries: 2
            }
        );
        let looped = retried.after(&Next::Loop(Duration::ZERO));
        assert_eq!(
            looped,
            Attempts {
                run: 3,
                loop_attempt: 2,
                tries: 1
            }
        );
        assert_eq!(looped.after(&Next::Done), looped);
    }
}
