//! What the server does in the background, in bounded batches: rotated
//! keys whose grace is over become tombstones, expiry notices that are due
//! go to the outbox, and audit events and finished webhook deliveries older
//! than the retention go.
use chrono::{DateTime, Utc};

use crate::authz::SystemTask;
use crate::error::AppResult;
use crate::store::{Store, api_keys, audit, webhooks};
use crate::webhooks::notices;

/// Rows one batch touches: a write transaction stays short.
const BATCH: usize = 1_000;
/// Batches one run does at most; the next run carries on.
const BATCHES: usize = 10;

/// What a run keeps and sends.
#[derive(Clone, Debug)]
pub struct Plan {
    /// How long audit events and finished deliveries are kept.
    pub retention: chrono::Duration,
    /// When before a key's expiry `api_key.expiring` is sent.
    pub expiry_leads: Vec<chrono::Duration>,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            retention: chrono::Duration::days(365),
            expiry_leads: notices::default_leads(),
        }
    }
}

/// What one run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tidied {
    pub keys_retired: usize,
    pub notices_sent: usize,
    pub events_pruned: usize,
    pub deliveries_pruned: usize,
}

/// One run at `now`.
pub fn run(store: &Store, now: DateTime<Utc>, plan: &Plan) -> AppResult<Tidied> {
    let task = SystemTask::named("housekeeping");
    let task = &task;
    let mut done = Tidied::default();
    for _ in 0..BATCHES {
        let n = store.write(|w| api_keys::sweep_rotated(w, task, now, BATCH))?;
        done.keys_retired += n;
        if n < BATCH {
            break;
        }
    }
    done.notices_sent = notices::run(store, task, now, &plan.expiry_leads, BATCH, BATCHES)?;
    let before = now - plan.retention;
    for _ in 0..BATCHES {
        let n = store.write(|w| audit::prune(w, task, before, BATCH))?;
        done.events_pruned += n;
        if n < BATCH {
            break;
        }
    }
    for _ in 0..BATCHES {
        let n = store.write(|w| webhooks::prune(w, task, before, BATCH))?;
        done.deliveries_pruned += n;
        if n < BATCH {
            break;
        }
    }
    if done != Tidied::default() {
        tracing::info!(
            keys_retired = done.keys_retired,
            notices_sent = done.notices_sent,
            events_pruned = done.events_pruned,
            deliveries_pruned = done.deliveries_pruned,
            "housekeeping"
        );
    }
    Ok(done)
}
