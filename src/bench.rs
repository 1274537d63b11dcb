//! Helpers for `make bench`: a database with many keys, made quickly.
use chrono::{DateTime, Utc};

use crate::bootstrap::{self, Bootstrapped};
use crate::domain::api_key::Token;
use crate::domain::ids::KeyId;
use crate::domain::model::{AccountKind, ApiKey};
use crate::error::{AppError, AppResult};
use crate::store::{Store, api_keys};

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
    store.write(|tx| {
        for i in 0..n {
            let token = Token::generate(AccountKind::User);
            let key = ApiKey {
                id: KeyId::random(),
                name: format!("bench {i}"),
                account_id: boot.user_id,
                tenant_id: boot.tenant_id,
                created_by: Some(boot.user_id),
                created_at: now,
                expires_at: None,
                last_used_at: None,
            };
            api_keys::insert(tx, &key, &token.hash())?;
            if kept.len() < sample {
                kept.push(token.expose().to_owned());
            }
        }
        Ok(())
    })?;
    Ok((boot, kept))
}
