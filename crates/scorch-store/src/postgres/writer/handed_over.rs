//! Records the engine does not wait for (an instance's start, an idempotent run's finish: see
//! `scorch_engine::Journal`), and what keeps that safe: the writer writes them in order with the
//! instance's next records, and if one fails, refuses the instance's later records until it
//! starts again, so the engine stops where it would have stopped had it waited.

use super::records::{Outcome, Request, Write};
use crate::broken::BrokenInstances;

/// The writer's broken instances (see [`BrokenInstances`]), and the delivery of outcomes that
/// marks them.
#[derive(Default)]
pub(super) struct Broken {
    pub(super) instances: BrokenInstances,
}

impl Broken {
    /// Answers the records of broken instances in `batch` (an instance's start mends it) and
    /// takes them out.
    pub(super) fn refuse_records_of_broken(&mut self, batch: &mut Vec<Request>) {
        if self.instances.is_empty() {
            return;
        }
        let mut kept = Vec::with_capacity(batch.len());
        for request in batch.drain(..) {
            match self.refusal(&request.write) {
                Some(refused) => self.deliver(request, refused),
                None => kept.push(request),
            }
        }
        *batch = kept;
    }

    /// The refusal of `write` when its instance is broken; an instance's start mends it.
    pub(super) fn refusal(&mut self, write: &Write) -> Option<Outcome> {
        if let Write::InstanceStarted(start) = write {
            self.instances.mend(start.instance_id);
            return None;
        }
        self.instances.refusal(write.instance_id()?).map(Err)
    }

    /// Gives `request`'s outcome to its waiter, or, for a handed-over record that failed, marks
    /// its instance broken.
    pub(super) fn deliver(&mut self, request: Request, outcome: Outcome) {
        match (request.ack, outcome) {
            // A waiter that gave up (its task was cancelled) has dropped its receiver.
            (Some(ack), outcome) => drop(ack.send(outcome)),
            (None, Err(err)) => {
                if let Some(instance) = request.write.instance_id() {
                    self.instances.break_(instance, err.to_string());
                }
            }
            (None, Ok(_)) => {}
        }
    }
}
