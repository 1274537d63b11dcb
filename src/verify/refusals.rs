//! Refused credentials, for the audit log. They are not written one by one
//! as they happen: a flood of bad keys must not become a flood of writes.
//! A refused key keyward recognises (revoked, expired, disabled, rotated,
//! its owner gone) becomes one event per key and flush, with a count; a
//! credential it cannot place (unknown, malformed) is only counted, into
//! one server-wide event per minute.
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::json;

use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::error::AppResult;
use crate::store::Store;
use crate::store::audit::{self, Event, Outcome};

/// Whose a refused key is, as far as keyward knows.
#[derive(Clone, Copy, Debug)]
pub struct Identity {
    pub key: KeyId,
    pub account: Option<AccountId>,
    pub tenant: Option<TenantId>,
}

struct Pending {
    who: Identity,
    /// `Authenticate`, or `Forward` for a proxied request the policies
    /// refused.
    action: &'static str,
    message: String,
    /// The policies that refused the first request (`Forward`).
    policies: Vec<String>,
    first: DateTime<Utc>,
    count: u64,
}

/// The most distinct keys held between flushes; more are only counted.
const MOST_KEYS: usize = 10_000;

#[derive(Default)]
struct State {
    keys: HashMap<(KeyId, &'static str), Pending>,
    /// Unplaceable credentials per minute.
    unknown: BTreeMap<DateTime<Utc>, u64>,
}

#[derive(Default)]
pub struct Refusals {
    state: Mutex<State>,
}

impl Refusals {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A recognised key was refused with `message` at `now`.
    pub fn recognised(&self, who: Identity, message: &str, now: DateTime<Utc>) {
        self.refused(who, "Authenticate", message, &[], now);
    }

    /// A recognised key's `action` was refused with `message` at `now`.
    pub fn refused(
        &self,
        who: Identity,
        action: &'static str,
        message: &str,
        policies: &[String],
        now: DateTime<Utc>,
    ) {
        let mut s = self.lock();
        let key = (who.key, action);
        let full = s.keys.len() >= MOST_KEYS && !s.keys.contains_key(&key);
        if full {
            *s.unknown.entry(minute(now)).or_default() += 1;
            return;
        }
        let p = s.keys.entry(key).or_insert_with(|| Pending {
            who,
            action,
            message: message.to_owned(),
            policies: policies.to_vec(),
            first: now,
            count: 0,
        });
        p.count += 1;
    }

    /// A credential keyward cannot place was refused at `now`.
    pub fn unknown(&self, now: DateTime<Utc>) {
        *self.lock().unknown.entry(minute(now)).or_default() += 1;
    }

    /// Writes what was gathered as audit events, in one transaction.
    /// Returns how many events it wrote.
    pub fn flush(&self, store: &Store) -> AppResult<usize> {
        let (keys, unknown) = {
            let mut s = self.lock();
            (std::mem::take(&mut s.keys), std::mem::take(&mut s.unknown))
        };
        if keys.is_empty() && unknown.is_empty() {
            return Ok(0);
        }
        let mut events: Vec<Event> = keys
            .into_values()
            .map(|p| Event {
                at: p.first,
                request_id: None,
                actor_key: Some(p.who.key),
                actor_account: p.who.account,
                tenant: p.who.tenant,
                action: p.action.into(),
                resource_type: "api_key".into(),
                resource_id: Some(p.who.key.to_string()),
                outcome: Outcome::Denied,
                policies: p.policies,
                details: json!({ "attempts": p.count }),
                message: Some(p.message),
            })
            .collect();
        events.extend(unknown.into_iter().map(|(at, count)| Event {
            at,
            request_id: None,
            actor_key: None,
            actor_account: None,
            tenant: None,
            action: "Authenticate".into(),
            resource_type: "credential".into(),
            resource_id: None,
            outcome: Outcome::Denied,
            policies: vec![],
            details: json!({ "attempts": count, "minute": at }),
            message: Some(
                "credentials keyward does not recognise (unknown or malformed keys)".into(),
            ),
        }));
        let n = events.len();
        store.write(|w| {
            for e in &events {
                audit::refusal(w, e)?;
            }
            Ok(())
        })?;
        Ok(n)
    }
}

fn minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floods_are_counted_not_stored_one_by_one() {
        let r = Refusals::default();
        let t = DateTime::UNIX_EPOCH + TimeDelta::seconds(90);
        for _ in 0..1_000 {
            r.unknown(t);
        }
        let who = Identity {
            key: KeyId::random(),
            account: None,
            tenant: None,
        };
        for _ in 0..50 {
            r.recognised(who, "This API key is disabled.", t);
        }
        let s = r.lock();
        assert_eq!(s.unknown.len(), 1);
        assert_eq!(s.unknown.values().sum::<u64>(), 1_000);
        assert_eq!(s.keys.len(), 1);
        assert_eq!(s.keys[&(who.key, "Authenticate")].count, 50);
    }
}
