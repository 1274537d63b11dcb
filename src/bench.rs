//! Helpers for `make bench`: a database with many keys, made quickly.
use chrono::{DateTime, Utc};

use crate::bootstrap::{self, Bootstrapped};
use crate::error::{AppError, AppResult};
use crate::store::Store;

/// Initialises an empty database and gives its admin `n` more keys, in one
/// transaction. Returns the bootstrap and the first `sample` secrets (for a
/// load generator to pick from).
pub fn load_keys(
    store: &Store,
    n: usize,
    sample: usize,
    now: DateTime<Utc>,
) -> AppResult<(Bootstrapped, Vec<String>)> {
    let boot = bootstrap::if_empty(store, now)?
        .ok_or_else(|| AppError::Conflict("load keys into an empty database only".into()))?;
    let mut kept = Vec::with_capacity(sample.min(n));
    store.write(|w| {
        for i in 0..n {
            let token = bootstrap::operator_key(
                w,
                boot.user_id,
                boot.tenant_id,
                &format!("bench {i}"),
                now,
            )?;
            if kept.len() < sample {
                kept.push(token.expose().to_owned());
            }
        }
        Ok(())
    })?;
    Ok((boot, kept))
}
