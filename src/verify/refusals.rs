//! Refused credentials, for the audit log. They are not written one by one
//! as they happen: a flood of bad keys must not become a flood of writes.
//! A refused key keyward recognises (revoked, expired, disabled, rotated,
//! its owner gone) becomes one event per key and flush, with a count; a
//! credential it cannot place (unknown, malformed) is only counted, into
//! one server-wide event per minute. A refused change (`ops::changes`) is
//! written at once the first time in a minute, and its repeats in that
//! minute (same caller, action and resource) are counted into one event
//! at the flush: a caller retrying what it may not do, or a stranger
//! replaying a spent invitation, adds two rows a minute, not one a request.
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

/// What makes two refused changes the same one, repeated.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Same {
    actor: Option<KeyId>,
    tenant: Option<TenantId>,
    action: String,
    resource_type: String,
    resource_id: Option<String>,
    minute: DateTime<Utc>,
}

impl Same {
    fn of(e: &Event) -> Self {
        Self {
            actor: e.actor_key,
            tenant: e.tenant,
            action: e.action.clone(),
            resource_type: e.resource_type.clone(),
            resource_id: e.resource_id.clone(),
            minute: minute(e.at),
        }
    }
}

/// A refused change already written this minute, and its repeats since.
struct Repeat {
    written: Event,
    count: u64,
    since: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct State {
    keys: HashMap<(KeyId, &'static str), Pending>,
    /// Unplaceable credentials per minute.
    unknown: BTreeMap<DateTime<Utc>, u64>,
    repeats: HashMap<Same, Repeat>,
    /// Refused changes past the `MOST_KEYS` held, per minute.
    overflow: BTreeMap<DateTime<Utc>, u64>,
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

    /// Whether the refused change `e` is to be written now: the first of
    /// its kind this minute is; a repeat is counted for the flush.
    pub fn first_this_minute(&self, e: &Event) -> bool {
        let mut s = self.lock();
        let same = Same::of(e);
        if let Some(r) = s.repeats.get_mut(&same) {
            r.count += 1;
            r.since.get_or_insert(e.at);
            return false;
        }
        if s.repeats.len() >= MOST_KEYS {
            *s.overflow.entry(same.minute).or_default() += 1;
            return false;
        }
        s.repeats.insert(
            same,
            Repeat {
                written: e.clone(),
                count: 0,
                since: None,
            },
        );
        true
    }

    /// The repeats counted since the last flush, as events; what is
    /// remembered of the newest minute stays (its next repeat is counted
    /// again, not written), older minutes are forgotten.
    fn take_repeats(s: &mut State) -> Vec<Event> {
        let newest = s.repeats.keys().map(|k| k.minute).max();
        let mut events = Vec::new();
        s.repeats.retain(|same, r| {
            if let Some(since) = r.since.take() {
                let mut details = r.written.details.clone();
                match details.as_object_mut() {
                    Some(fields) => {
                        fields.insert("attempts".into(), json!(r.count));
                    }
                    None => details = json!({ "attempts": r.count, "details": details }),
                }
                events.push(Event {
                    at: since,
                    request_id: None,
                    details,
                    ..r.written.clone()
                });
                r.count = 0;
            }
            Some(same.minute) == newest
        });
        events.extend(
            std::mem::take(&mut s.overflow)
                .into_iter()
                .map(|(at, count)| Event {
                    at,
                    request_id: None,
                    actor_key: None,
                    actor_account: None,
                    tenant: None,
                    action: "Refused".into(),
                    resource_type: "request".into(),
                    resource_id: None,
                    outcome: Outcome::Denied,
                    policies: vec![],
                    details: json!({ "attempts": count, "minute": at }),
                    message: Some(format!(
                        "refused requests past the {MOST_KEYS} distinct ones held between flushes, only counted"
                    )),
                }),
        );
        events
    }

    /// Writes what was gathered as audit events, in one transaction.
    /// Returns how many events it wrote.
    pub fn flush(&self, store: &Store) -> AppResult<usize> {
        let (keys, unknown, repeats) = {
            let mut s = self.lock();
            let repeats = Self::take_repeats(&mut s);
            (
                std::mem::take(&mut s.keys),
                std::mem::take(&mut s.unknown),
                repeats,
            )
        };
        if keys.is_empty() && unknown.is_empty() && repeats.is_empty() {
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
        events.extend(repeats);
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

    fn refused_change(at: DateTime<Utc>, key: Option<KeyId>) -> Event {
        Event {
            at,
            request_id: Some("r".into()),
            actor_key: key,
            actor_account: None,
            tenant: None,
            action: "CreateServiceAccount".into(),
            resource_type: "service_account".into(),
            resource_id: None,
            outcome: Outcome::Denied,
            policies: vec![],
            details: json!({ "name": "x" }),
            message: Some("no".into()),
        }
    }

    #[test]
    fn a_repeated_refusal_is_written_once_a_minute_then_counted() {
        let r = Refusals::default();
        let t = DateTime::UNIX_EPOCH + TimeDelta::seconds(120);
        let key = Some(KeyId::random());
        assert!(r.first_this_minute(&refused_change(t, key)));
        for i in 1..100 {
            let at = t + TimeDelta::milliseconds(i);
            assert!(!r.first_this_minute(&refused_change(at, key)));
        }
        // Another caller, or the next minute, is written.
        assert!(r.first_this_minute(&refused_change(t, None)));
        assert!(r.first_this_minute(&refused_change(t + TimeDelta::minutes(1), key)));
        let mut s = r.lock();
        let events = Refusals::take_repeats(&mut s);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].details, json!({ "name": "x", "attempts": 99 }));
        assert_eq!(events[0].request_id, None);
        // Only the newest minute is remembered, with nothing counted.
        assert_eq!(s.repeats.len(), 1);
        assert!(Refusals::take_repeats(&mut s).is_empty());
    }

    #[test]
    fn distinct_refusals_past_the_bound_are_only_counted() {
        let r = Refusals::default();
        let t = DateTime::UNIX_EPOCH;
        for _ in 0..MOST_KEYS + 5 {
            r.first_this_minute(&refused_change(t, Some(KeyId::random())));
        }
        let mut s = r.lock();
        assert_eq!(s.repeats.len(), MOST_KEYS);
        let events = Refusals::take_repeats(&mut s);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].details["attempts"], 5);
    }
}
