//! Key verification: the path every request of every client takes. A cache
//! in the process, keyed by key hash and indexed by key id, in front of
//! SQLite; revocations take effect synchronously; `last_used_at` is batched.
//!
//! Why a revoked key can never be served from the cache: a miss notes the
//! cache's epoch before reading the database and inserts its answer only if
//! the epoch has not moved since. Every mutation that revokes or changes keys
//! commits first, then bumps the epoch and evicts what it touched. So an
//! answer read before the commit is either evicted or never inserted.
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::domain::api_key::KeyHash;
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::domain::model::Revocation;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::{Store, api_keys};

/// What changed, so cached answers that depend on it go.
#[derive(Clone, Copy, Debug)]
pub enum Invalidation {
    Key(KeyId),
    Account(AccountId),
    AccountInTenant(AccountId, TenantId),
}

#[derive(Default)]
struct Cache {
    by_hash: HashMap<KeyHash, Principal>,
    by_id: HashMap<KeyId, KeyHash>,
    epoch: u64,
}

pub struct Verifier {
    store: Store,
    cache: RwLock<Cache>,
    capacity: usize,
    /// Uses not yet written: the latest time per key.
    pending_use: Mutex<HashMap<KeyId, DateTime<Utc>>>,
}

fn unauthenticated(msg: impl Into<String>) -> AppError {
    AppError::Unauthenticated(msg.into())
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Expiry is checked on every use, cached or not, against the request's now.
fn still_valid(p: &Principal, now: DateTime<Utc>) -> AppResult<Principal> {
    match p.key_expires_at {
        Some(exp) if exp <= now => Err(unauthenticated(format!(
            "This API key expired at {}.",
            at(exp)
        ))),
        _ => Ok(p.clone()),
    }
}

impl Verifier {
    pub fn new(store: Store, capacity: usize) -> Self {
        Self {
            store,
            cache: RwLock::new(Cache::default()),
            capacity,
            pending_use: Mutex::new(HashMap::new()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer from the cache alone: `None` on a miss (then call `verify`
    /// on a blocking thread).
    pub fn cached(&self, hash: &KeyHash, now: DateTime<Utc>) -> Option<AppResult<Principal>> {
        self.read().by_hash.get(hash).map(|p| still_valid(p, now))
    }

    /// The calling key, from the cache or the database. Every failure says
    /// which case it is and never contains the key.
    pub fn verify(&self, hash: &KeyHash, now: DateTime<Utc>) -> AppResult<Principal> {
        if let Some(answer) = self.cached(hash, now) {
            return answer;
        }
        let epoch = self.read().epoch;
        let principal = self.load(hash)?;
        let mut cache = self.write();
        if cache.epoch == epoch {
            if cache.by_hash.len() >= self.capacity {
                // Crude but bounded: start over rather than grow without end.
                cache.by_hash.clear();
                cache.by_id.clear();
            }
            cache.by_id.insert(principal.key_id, *hash);
            cache.by_hash.insert(*hash, principal.clone());
        }
        drop(cache);
        still_valid(&principal, now)
    }

    /// The key from the database alone, bypassing the cache (a cache miss).
    pub fn load(&self, hash: &KeyHash) -> AppResult<Principal> {
        self.store.read(|c| {
            let Some(row) = api_keys::find_by_hash(c, hash)? else {
                return Err(match api_keys::revocation(c, hash)? {
                    Some((Revocation::Revoked, when)) => {
                        unauthenticated(format!("This API key was revoked at {}.", at(when)))
                    }
                    Some((Revocation::ServiceAccountDeleted, when)) => unauthenticated(format!(
                        "This API key stopped working at {}: its service account was deleted.",
                        at(when)
                    )),
                    Some((Revocation::MembershipRemoved, when)) => unauthenticated(format!(
                        "This API key stopped working at {}: its owner was removed from its tenant.",
                        at(when)
                    )),
                    None => unauthenticated("Invalid API key: no such key."),
                });
            };
            let role = row
                .owner_role
                .ok_or_else(|| unauthenticated("This API key's owner is no longer a member of its tenant."))?;
            Ok(Principal {
                key_id: row.key.id,
                account_id: row.key.account_id,
                account_kind: row.owner_kind,
                server_admin: row.owner_server_admin,
                tenant_id: row.key.tenant_id,
                role,
                key_created_at: row.key.created_at,
                key_expires_at: row.key.expires_at,
            })
        })
    }

    /// Forgets what `what` changed. Call after the change has committed.
    pub fn invalidate(&self, what: Invalidation) {
        let mut cache = self.write();
        cache.epoch += 1;
        let gone: Vec<KeyHash> = match what {
            Invalidation::Key(id) => cache.by_id.get(&id).copied().into_iter().collect(),
            Invalidation::Account(account) => cache
                .by_hash
                .iter()
                .filter(|(_, p)| p.account_id == account)
                .map(|(h, _)| *h)
                .collect(),
            Invalidation::AccountInTenant(account, tenant) => cache
                .by_hash
                .iter()
                .filter(|(_, p)| p.account_id == account && p.tenant_id == tenant)
                .map(|(h, _)| *h)
                .collect(),
        };
        for h in gone {
            if let Some(p) = cache.by_hash.remove(&h) {
                cache.by_id.remove(&p.key_id);
            }
        }
    }

    /// How many keys the cache holds.
    pub fn cached_keys(&self) -> usize {
        self.read().by_hash.len()
    }

    /// Notes a use; written by the next `flush_last_used`.
    pub fn record_use(&self, key: KeyId, now: DateTime<Utc>) {
        self.pending_use
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, now);
    }

    /// Writes the pending uses in one transaction: at most one write per key
    /// per flush. Returns how many keys were written.
    pub fn flush_last_used(&self) -> AppResult<usize> {
        let pending =
            std::mem::take(&mut *self.pending_use.lock().unwrap_or_else(|e| e.into_inner()));
        if pending.is_empty() {
            return Ok(0);
        }
        let n = pending.len();
        self.store.write(|tx| {
            for (id, when) in &pending {
                api_keys::set_last_used(tx, *id, *when)?;
            }
            Ok(())
        })?;
        Ok(n)
    }
}
