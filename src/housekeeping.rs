//! What the server tidies in the background, in bounded batches: rotated
//! keys whose grace is over become tombstones, and audit events older than
//! the retention leave the log.
use chrono::{DateTime, Utc};

use crate::error::AppResult;
use crate::store::{Store, api_keys, audit};

/// Rows one batch touches: a write transaction stays short.
const BATCH: usize = 1_000;
/// Batches one run does at most; the next run carries on.
const BATCHES: usize = 10;

/// What one run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tidied {
    pub keys_retired: usize,
    pub events_pruned: usize,
}

/// One run at `now`, keeping `retention` of audit log.
pub fn run(store: &Store, now: DateTime<Utc>, retention: chrono::Duration) -> AppResult<Tidied> {
    let mut done = Tidied::default();
    for _ in 0..BATCHES {
        let n = store.write(|w| api_keys::sweep_rotated(w, now, BATCH))?;
        done.keys_retired += n;
        if n < BATCH {
            break;
        }
    }
    let before = now - retention;
    for _ in 0..BATCHES {
        let n = store.write(|w| audit::prune(w, before, BATCH))?;
        done.events_pruned += n;
        if n < BATCH {
            break;
        }
    }
    if done != Tidied::default() {
        tracing::info!(
            keys_retired = done.keys_retired,
            events_pruned = done.events_pruned,
            "housekeeping"
        );
    }
    Ok(done)
}
