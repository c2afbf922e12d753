//! The scheduler of one instance: tokens wait in a queue, at most `max_parallel` run at once,
//! links fire per published row, junctions fire once nothing upstream can run any more.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scorch_activity::Status;
use scorch_model::Plan;
use scorch_model::condition::any_holds;
use tokio::task::JoinSet;
use tracing::Instrument as _;

use crate::data::{Path, PathScope, RunData, extend};
use crate::execute::{Executed, execute};
use crate::shared::{Shared, Stop, Token};
use crate::{InstanceStatus, keys};

/// How an instance ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: InstanceStatus,
    pub returns: serde_json::Map<String, serde_json::Value>,
    /// Problems that are the instance's, not one activity's (a link condition that could not
    /// be evaluated).
    pub problems: Vec<String>,
}

struct Junction {
    arrivals: Vec<Path>,
    /// When the last delayed link into it has delivered: the junction starts no earlier.
    not_before: Option<Instant>,
    fired: bool,
}

/// The scheduler's state for one instance.
struct Scheduler {
    shared: Arc<Shared>,
    pending: VecDeque<Token>,
    /// Tokens queued or running, per step: a junction waits until its ancestors have none.
    active: Vec<usize>,
    junctions: HashMap<usize, Junction>,
    /// Final runs by status (success, warning, failed); a loop or a retried activity counts once,
    /// by its last run.
    statuses: [usize; 3],
    returns: serde_json::Map<String, serde_json::Value>,
    problems: Vec<String>,
    failure: Option<Stop>,
}

/// Runs the instance to its end. A journal error stops it (running work is canceled) so it can
/// be resumed from what was recorded.
pub(crate) async fn run(shared: Arc<Shared>, max_parallel: usize) -> Result<Outcome, Stop> {
    let plan = shared.plan.clone();
    let mut s = Scheduler {
        pending: plan
            .starts
            .iter()
            .map(|&s| Token {
                step: s,
                key: keys::start(s),
                path: None,
                delay: Duration::ZERO,
            })
            .collect(),
        active: vec![0usize; plan.steps.len()],
        junctions: HashMap::new(),
        statuses: [0; 3],
        returns: serde_json::Map::new(),
        problems: Vec::new(),
        failure: None,
        shared,
    };
    for &start in &plan.starts {
        s.active[start] += 1;
    }
    let mut running: JoinSet<(Token, Result<Executed, Stop>)> = JoinSet::new();
    loop {
        let stopping = s.failure.is_some() || s.shared.cancel.is_cancelled() || s.shared.drain.is_cancelled();
        // A lone token runs inline: nothing else can finish meanwhile, and a linear chain then
        // costs no task hand-offs.
        if running.is_empty() && s.pending.len() == 1 && !stopping {
            let token = s.pending.pop_front().expect("one pending token");
            let result = execute(&s.shared, &token).await;
            s.complete(token, result);
            continue;
        }
        while running.len() < max_parallel.max(1) && !stopping {
            let Some(token) = s.pending.pop_front() else { break };
            let shared = s.shared.clone();
            // In the instance's span, so what the run logs names its job.
            running.spawn(
                async move {
                    let result = execute(&shared, &token).await;
                    (token, result)
                }
                .in_current_span(),
            );
        }
        if running.is_empty() {
            if stopping {
                break;
            }
            match fire_junction(&plan, &mut s.junctions, &s.active) {
                Some(token) => {
                    s.active[token.step] += 1;
                    s.pending.push_back(token);
                    continue;
                }
                None => break,
            }
        }
        match running.join_next().await {
            Some(Ok((token, result))) => s.complete(token, result),
            // A panic outside an activity (activities' panics are caught) is a bug of ours.
            Some(Err(e)) => s.problems.push(format!("internal error: {e}")),
            None => {}
        }
    }
    s.finish()
}

impl Scheduler {
    /// Takes a finished token's last run: counts it, keeps return data, fires its links.
    fn complete(&mut self, token: Token, result: Result<Executed, Stop>) {
        self.active[token.step] -= 1;
        let executed = match result {
            Ok(e) => e,
            Err(Stop::Drained) => {
                self.failure.get_or_insert(Stop::Drained);
                return;
            }
            Err(e) => {
                self.shared.cancel.cancel();
                self.failure = Some(e);
                return;
            }
        };
        self.problems.extend(executed.problems);
        let run = executed.run;
        self.statuses[run.status as usize] += 1;
        if self.shared.plan.steps[token.step].type_name == "return_data"
            && run.status != Status::Failed
            && let Some(row) = run.rows.first()
        {
            // The return data is what the last return_data run set.
            self.returns = row.clone();
        }
        fire_links(
            &self.shared,
            &token,
            &run,
            &mut self.pending,
            &mut self.active,
            &mut self.junctions,
            &mut self.problems,
        );
    }

    fn finish(self) -> Result<Outcome, Stop> {
        if let Some(e) = self.failure {
            return Err(e);
        }
        let unfinished =
            !self.pending.is_empty() || self.junctions.values().any(|j| !j.fired && !j.arrivals.is_empty());
        if self.shared.drain.is_cancelled() && unfinished {
            return Err(Stop::Drained);
        }
        let status = if self.shared.cancel.is_cancelled() {
            InstanceStatus::Canceled
        } else if self.statuses[Status::Failed as usize] > 0 || !self.problems.is_empty() {
            InstanceStatus::Failed
        } else if self.statuses[Status::Warning as usize] > 0 {
            InstanceStatus::Warning
        } else {
            InstanceStatus::Success
        };
        // Outcomes are shown and stored: encrypted variables stay masked there too.
        let secrets = &self.shared.secrets;
        let problems = self
            .problems
            .iter()
            .map(|p| crate::record::recorded_text(p, secrets))
            .collect();
        let returns = crate::record::mask_map(&self.returns, secrets);
        Ok(Outcome {
            status,
            returns,
            problems,
        })
    }
}

/// For each row (once when there are none) and each outgoing link whose conditions hold,
/// queues the target (or records an arrival at a junction).
fn fire_links(
    shared: &Shared,
    token: &Token,
    run: &Arc<RunData>,
    pending: &mut VecDeque<Token>,
    active: &mut [usize],
    junctions: &mut HashMap<usize, Junction>,
    problems: &mut Vec<String>,
) {
    let plan = &shared.plan;
    let step = &plan.steps[token.step];
    if step.links.is_empty() || shared.cancel.is_cancelled() {
        return;
    }
    let rows = run.rows.len().max(1);
    for r in 0..rows {
        let row = (!run.rows.is_empty()).then_some(r);
        let path = extend(&token.path, token.step, run, row);
        let scope = PathScope {
            facts: &shared.facts,
            path: &path,
        };
        for link in &step.links {
            let fires = any_holds(&link.include, run.status, &scope)
                .and_then(|inc| Ok(inc && !any_holds(&link.exclude, run.status, &scope)?));
            match fires {
                Ok(false) => {}
                Ok(true) if plan.steps[link.to].junction.is_some() => {
                    let j = junctions.entry(link.to).or_insert(Junction {
                        arrivals: Vec::new(),
                        not_before: None,
                        fired: false,
                    });
                    j.arrivals.push(path.clone());
                    if !link.delay.is_zero() {
                        let due = Instant::now() + link.delay;
                        j.not_before = Some(j.not_before.map_or(due, |t| t.max(due)));
                    }
                }
                Ok(true) => {
                    active[link.to] += 1;
                    pending.push_back(Token {
                        step: link.to,
                        key: keys::linked(token.key, r, link.ordinal),
                        path: path.clone(),
                        delay: link.delay,
                    });
                }
                Err(why) => {
                    let target = &plan.steps[link.to].id;
                    problems.push(format!("link {} -> {target}: {why}", step.id));
                }
            }
        }
    }
}

/// A junction whose upstream can no longer run, ready to fire once.
fn fire_junction(plan: &Plan, junctions: &mut HashMap<usize, Junction>, active: &[usize]) -> Option<Token> {
    let waiting = |j: &Junction| !j.fired && !j.arrivals.is_empty();
    let ready = junctions
        .iter()
        .filter(|(_, j)| waiting(j))
        .map(|(&s, _)| s)
        .find(|&s| {
            let ancestors = &plan.steps[s]
                .junction
                .as_ref()
                .map(|j| j.ancestors.as_slice())
                .unwrap_or_default();
            ancestors
                .iter()
                .all(|&a| active[a] == 0 && junctions.get(&a).is_none_or(|j| !waiting(j)))
        })?;
    let junction = junctions.get_mut(&ready)?;
    junction.fired = true;
    let branch = plan.steps[ready].junction.as_ref().and_then(|j| j.return_data_from);
    // The path through the chosen branch, or the last arrival.
    let path = branch
        .and_then(|b| junction.arrivals.iter().rev().find(|p| path_has(p, b)))
        .or(junction.arrivals.last())
        .cloned()
        .unwrap_or(None);
    let delay = junction
        .not_before
        .map_or(Duration::ZERO, |t| t.saturating_duration_since(Instant::now()));
    Some(Token {
        step: ready,
        key: keys::junction(ready),
        path,
        delay,
    })
}

fn path_has(path: &Path, step: usize) -> bool {
    let mut cur = path.as_deref();
    while let Some(f) = cur {
        if f.step == step {
            return true;
        }
        cur = f.parent.as_deref();
    }
    false
}
