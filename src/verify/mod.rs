//! Key verification: the path every request of every client takes. A cache
//! in the process, keyed by key hash and indexed by key id, in front of
//! SQLite; revocations take effect synchronously; `last_used_at` is batched.
//!
//! Why a revoked key can never be served from the cache: a miss takes a
//! ticket (the cache's epoch) before reading the database and inserts its
//! answer only if the epoch has not moved since. Every write that revokes or
//! changes keys commits first; then the store hands its invalidations here,
//! which bump the epoch and evict what they touched. So an answer read before
//! the commit is either evicted or never inserted.
//!
//! Changes this process never hears of (another server on the same
//! database, `keyward tenant create`, an operator's SQL) are seen once an
//! entry's time bound (`--cache-ttl`) has passed.
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::authz::SystemTask;
use crate::domain::api_key::KeyHash;
use crate::domain::ids::KeyId;
use crate::domain::model::rotated_message;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::metrics::{CacheEvent, Metrics, Outcome};
use crate::store::{Evict, Invalidation, Store, api_keys, memberships};
use lru::LruCache;

use self::refusals::{Identity, Refusals};

struct Entry {
    principal: Principal,
    /// When it was read from the database (the request clock).
    loaded_at: DateTime<Utc>,
}

struct Cache {
    /// Bounded: a full cache drops its least recently loaded entry (hits
    /// read under the shared lock, so they do not reorder it).
    by_hash: LruCache<KeyHash, Entry>,
    by_id: HashMap<KeyId, KeyHash>,
    epoch: u64,
    /// Whether other replicas' invalidations are known to reach it.
    heard: Heard,
}

/// What the cache knows of the invalidations other replicas commit.
#[derive(Clone, Copy)]
enum Heard {
    /// No other replica (SQLite): every invalidation is this process's own.
    Alone,
    /// The listener (PostgreSQL) is down, or has not proven yet that it
    /// hears: nothing is cached or answered from the cache, so a missed
    /// revocation cannot be served.
    Unproven,
    /// Every invalidation committed before this instant has been evicted
    /// (`notify::Listener::heard_up_to`).
    UpTo(std::time::Instant),
}

impl Cache {
    /// Whether cached answers may be served now: with a listener, only
    /// while its last proof is within `notify::HEARD_WITHIN`.
    fn may_answer(&self) -> bool {
        match self.heard {
            Heard::Alone => true,
            Heard::Unproven => false,
            Heard::UpTo(at) => at.elapsed() < crate::store::notify::HEARD_WITHIN,
        }
    }
}

/// The epoch a cache miss saw before it read the database.
#[derive(Clone, Copy, Debug)]
struct Ticket(u64);

pub struct Verifier {
    store: Store,
    cache: RwLock<Cache>,
    /// How long an entry may answer without looking at the database again.
    ttl: Duration,
    /// Uses not yet written: the latest time per key.
    pending_use: Mutex<HashMap<KeyId, DateTime<Utc>>>,
    /// Refused credentials not yet in the audit log.
    refusals: Refusals,
    metrics: Metrics,
}

/// Why a key does not authenticate: keyward does not know it, or knows it
/// and says why (and whose it is, for the audit log).
enum Refusal {
    Unknown,
    Known(Identity, String),
}

impl Refusal {
    fn outcome(&self) -> Outcome {
        match self {
            Refusal::Unknown => Outcome::Unknown,
            Refusal::Known(..) => Outcome::Revoked,
        }
    }

    fn into_error(self) -> AppError {
        unauthenticated(match self {
            Refusal::Unknown => "Invalid API key: no such key.".to_owned(),
            Refusal::Known(_, message) => message,
        })
    }
}

fn unauthenticated(msg: impl Into<String>) -> AppError {
    AppError::Unauthenticated(msg.into())
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Expiry and the end of a rotation's grace are checked on every use,
/// cached or not, against the request's now: the message says which.
fn lapsed(p: &Principal, now: DateTime<Utc>) -> Option<String> {
    if let Some(exp) = p.key_expires_at
        && exp <= now
    {
        return Some(format!("This API key expired at {}.", at(exp)));
    }
    match p.rotation {
        Some(r) if r.grace_until <= now => Some(rotated_message(at(r.at), Some(r.replaced_by))),
        _ => None,
    }
}

impl Verifier {
    /// A verifier over `store`, holding at most `capacity` keys, each for
    /// at most `ttl`.
    pub fn new(store: Store, capacity: usize, ttl: Duration) -> Self {
        Self {
            store,
            cache: RwLock::new(Cache {
                by_hash: LruCache::new(
                    std::num::NonZeroUsize::new(capacity).unwrap_or(std::num::NonZeroUsize::MIN),
                ),
                by_id: HashMap::new(),
                epoch: 0,
                heard: Heard::Alone,
            }),
            ttl,
            pending_use: Mutex::new(HashMap::new()),
            refusals: Refusals::default(),
            metrics: Metrics::default(),
        }
    }

    /// Counts into `metrics` from now on.
    pub fn observed_by(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Counts a credential refused before any lookup (bad header, prefix,
    /// checksum).
    pub fn malformed(&self, now: DateTime<Utc>) {
        self.metrics
            .verified(Outcome::Malformed, std::time::Duration::ZERO);
        self.refusals.unknown(now);
    }

    /// `p`, unless it lapsed by `now` (then refused, and noted).
    fn counted(
        &self,
        p: &Principal,
        now: DateTime<Utc>,
        took: std::time::Duration,
    ) -> AppResult<Principal> {
        match lapsed(p, now) {
            None => {
                self.metrics.verified(Outcome::Ok, took);
                Ok(p.clone())
            }
            Some(message) => {
                self.metrics.verified(Outcome::Expired, took);
                self.refusals.recognised(identity(p), &message, now);
                Err(unauthenticated(message))
            }
        }
    }

    /// Notes that `policies` refused `p` a proxied request (`reason`).
    pub fn forward_refused(
        &self,
        p: &Principal,
        reason: &str,
        policies: &[String],
        now: DateTime<Utc>,
    ) {
        self.refusals
            .refused(identity(p), "Forward", reason, policies, now);
    }

    /// Counts a credential refused elsewhere that keyward cannot place (an
    /// unknown invitation token).
    pub fn unknown_credential(&self, now: DateTime<Utc>) {
        self.refusals.unknown(now);
    }

    /// Whether the refused change `e` is written now (the first of its
    /// kind this minute) or only counted, for the next flush.
    pub fn first_refusal_this_minute(&self, e: &crate::store::audit::Event) -> bool {
        self.refusals.first_this_minute(e)
    }

    /// Writes the refused credentials gathered since the last flush to the
    /// audit log; returns how many events.
    pub fn flush_refusals(&self) -> AppResult<usize> {
        self.refusals.flush(&self.store)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer from the cache alone: `None` on a miss or a stale entry
    /// (then call `verify` on a blocking thread).
    pub fn cached(&self, hash: &KeyHash, now: DateTime<Utc>) -> Option<AppResult<Principal>> {
        let started = std::time::Instant::now();
        let cache = self.read();
        if !cache.may_answer() {
            return None;
        }
        let e = cache.by_hash.peek(hash)?;
        // A clock that went backwards makes an entry stale too.
        let fresh = e.loaded_at <= now && now < e.loaded_at + self.ttl;
        if !fresh {
            return None;
        }
        self.metrics.cache(CacheEvent::Hit, 1);
        Some(self.counted(&e.principal, now, started.elapsed()))
    }

    /// The calling key, from the cache or the database. Every failure says
    /// which case it is and never contains the key.
    pub fn verify(&self, hash: &KeyHash, now: DateTime<Utc>) -> AppResult<Principal> {
        if let Some(answer) = self.cached(hash, now) {
            return answer;
        }
        let started = std::time::Instant::now();
        self.metrics.cache(CacheEvent::Miss, 1);
        let ticket = self.ticket();
        let principal = match self.lookup(hash)? {
            Ok(p) => p,
            Err(refusal) => {
                self.metrics.verified(refusal.outcome(), started.elapsed());
                match &refusal {
                    Refusal::Unknown => self.refusals.unknown(now),
                    Refusal::Known(who, message) => self.refusals.recognised(*who, message, now),
                }
                return Err(refusal.into_error());
            }
        };
        self.insert(ticket, hash, &principal, now);
        self.counted(&principal, now, started.elapsed())
    }

    fn ticket(&self) -> Ticket {
        Ticket(self.read().epoch)
    }

    /// Caches what a miss read, unless an invalidation came after its
    /// ticket: then the answer may predate a commit and is dropped.
    fn insert(&self, ticket: Ticket, hash: &KeyHash, principal: &Principal, now: DateTime<Utc>) {
        let mut cache = self.write();
        if cache.epoch != ticket.0 || !cache.may_answer() {
            return;
        }
        cache.by_id.insert(principal.key_id, *hash);
        let entry = Entry {
            principal: principal.clone(),
            loaded_at: now,
        };
        if let Some((dropped, old)) = cache.by_hash.push(*hash, entry)
            && dropped != *hash
        {
            cache.by_id.remove(&old.principal.key_id);
            self.metrics.cache(CacheEvent::Eviction, 1);
        }
    }

    /// The key from the database alone, bypassing the cache (a cache miss).
    pub fn load(&self, hash: &KeyHash) -> AppResult<Principal> {
        self.lookup(hash)?.map_err(Refusal::into_error)
    }

    /// The key's principal, or why it does not authenticate.
    fn lookup(&self, hash: &KeyHash) -> AppResult<Result<Principal, Refusal>> {
        self.store.read(|c| {
            let Some(row) = api_keys::find_by_hash(c, hash)? else {
                return Ok(Err(match api_keys::revocation(c, hash)? {
                    Some(gone) => Refusal::Known(
                        Identity {
                            key: gone.id,
                            account: gone.owner,
                            tenant: gone.tenant,
                        },
                        gone.message(),
                    ),
                    None => Refusal::Unknown,
                }));
            };
            let who = Identity {
                key: row.key.id,
                account: Some(row.key.account_id),
                tenant: Some(row.key.tenant_id),
            };
            let Some(role) = row.effective_role() else {
                let why = "This API key's owner is no longer a member of its tenant.";
                return Ok(Err(Refusal::Known(who, why.to_owned())));
            };
            if row.key.disabled_at.is_some() {
                return Ok(Err(Refusal::Known(
                    who,
                    "This API key is disabled.".to_owned(),
                )));
            }
            Ok(Ok(Principal {
                key_id: row.key.id,
                account_id: row.key.account_id,
                account_kind: row.owner_kind,
                server_admin: row.owner_server_admin,
                tenant_id: row.key.tenant_id,
                role,
                key_created_at: row.key.created_at,
                key_expires_at: row.key.expires_at,
                rotation: row.key.rotation,
                member_of: memberships::tenants_of(c, row.key.account_id)?.into(),
            }))
        })
    }

    /// Forgets what `what` changed. The store calls this after each commit
    /// (see `Evict`).
    fn invalidate(&self, what: &[Invalidation]) {
        let mut cache = self.write();
        cache.epoch += 1;
        let mut gone: Vec<KeyHash> = Vec::new();
        for w in what {
            match *w {
                Invalidation::Key(id) => gone.extend(cache.by_id.get(&id).copied()),
                Invalidation::Account(account) => gone.extend(
                    cache
                        .by_hash
                        .iter()
                        .filter(|(_, e)| e.principal.account_id == account)
                        .map(|(h, _)| *h),
                ),
                Invalidation::AccountInTenant(account, tenant) => gone.extend(
                    cache
                        .by_hash
                        .iter()
                        .filter(|(_, e)| {
                            e.principal.account_id == account && e.principal.tenant_id == tenant
                        })
                        .map(|(h, _)| *h),
                ),
            }
        }
        for h in gone {
            if let Some(e) = cache.by_hash.pop(&h) {
                cache.by_id.remove(&e.principal.key_id);
                self.metrics.cache(CacheEvent::Eviction, 1);
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
        let task = SystemTask::named("last use of keys");
        self.store.write(|w| {
            for (id, when) in &pending {
                api_keys::set_last_used(w, &task, *id, *when)?;
            }
            Ok(())
        })?;
        self.metrics.flushed(n);
        Ok(n)
    }
}

impl Evict for Verifier {
    fn evict(&self, what: &[Invalidation]) {
        self.invalidate(what);
    }
}

impl crate::store::notify::Listener for Verifier {
    fn unproven(&self) {
        let mut cache = self.write();
        cache.epoch += 1;
        cache.heard = Heard::Unproven;
        let n = cache.by_hash.len();
        cache.by_hash.clear();
        cache.by_id.clear();
        self.metrics.cache(CacheEvent::Eviction, n as u64);
    }

    fn heard_up_to(&self, sent: std::time::Instant) {
        self.write().heard = Heard::UpTo(sent);
    }
}

/// Whose `p` is, for the audit log.
fn identity(p: &Principal) -> Identity {
    Identity {
        key: p.key_id,
        account: Some(p.account_id),
        tenant: Some(p.tenant_id),
    }
}

mod refusals;

#[cfg(test)]
mod tests;
