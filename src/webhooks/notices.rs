//! Expiry notices: `api_key.expiring` once at each lead time before a key
//! expires (default 7 days and 1 day), then `api_key.expired`. Each key
//! carries when its next notice is due (`next_notice_at`, indexed), so a run
//! reads only the keys that are due, a batch at a time, however many keys
//! there are.
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::EventType;
use crate::authz::SystemTask;
use crate::error::AppResult;
use crate::store::webhooks::fire;
use crate::store::{Store, Write, api_keys, time_to_sql};

/// A key that expired longer ago than this when first seen (a server that
/// was down, or a database upgraded to notices) gets no `expired` notice:
/// it would be news to no one.
fn stale() -> Duration {
    Duration::days(7)
}

/// The default lead times.
pub fn default_leads() -> Vec<Duration> {
    vec![Duration::days(7), Duration::days(1)]
}

/// What is due for a key `remaining` before its expiry, given `leads`
/// (longest first): the notice to send now, if any, and how long before
/// the expiry the next one is due (`Some(0)`: at the expiry; `None`: never).
fn due(remaining: Duration, leads: &[Duration]) -> (Option<Notice>, Option<Duration>) {
    if remaining <= Duration::zero() {
        let notice = (remaining > -stale()).then_some(Notice::Expired);
        return (notice, None);
    }
    // The shortest lead the key is already within.
    match leads.iter().rposition(|l| remaining <= *l) {
        None => (None, leads.first().copied().or(Some(Duration::zero()))),
        Some(i) => (
            Some(Notice::Expiring(leads[i])),
            Some(leads.get(i + 1).copied().unwrap_or_else(Duration::zero)),
        ),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Notice {
    Expiring(Duration),
    Expired,
}

/// One run at `now`: up to `batch` due keys per transaction, at most
/// `batches` transactions. Returns the notices sent.
pub fn run(
    store: &Store,
    task: &SystemTask,
    now: DateTime<Utc>,
    leads: &[Duration],
    batch: usize,
    batches: usize,
) -> AppResult<usize> {
    let mut leads = leads.to_vec();
    leads.sort_by(|a, b| b.cmp(a));
    leads.dedup();
    let mut sent = 0;
    for _ in 0..batches {
        let (seen, n) = store.write(|w| one_batch(w, task, now, &leads, batch))?;
        sent += n;
        if seen < batch {
            break;
        }
    }
    Ok(sent)
}

fn one_batch(
    w: &Write,
    task: &SystemTask,
    now: DateTime<Utc>,
    leads: &[Duration],
    batch: usize,
) -> AppResult<(usize, usize)> {
    let keys = api_keys::due_for_notice(w, now, batch)?;
    let mut sent = 0;
    for k in &keys {
        let (notice, next) = match k.expires_at {
            // A rotated key's replacement gets the notices.
            Some(at) if !k.rotated => {
                let (notice, next) = due(at - now, leads);
                (notice.map(|n| (n, at)), next.map(|before| at - before))
            }
            _ => (None, None),
        };
        api_keys::set_next_notice(w, task, k.id, next)?;
        if let Some((notice, at)) = notice {
            let (event, lead) = match notice {
                Notice::Expiring(lead) => (EventType::ApiKeyExpiring, Some(lead.num_seconds())),
                Notice::Expired => (EventType::ApiKeyExpired, None),
            };
            let object = json!({
                "id": k.id.to_string(),
                "name": k.name,
                "owner": k.owner.to_string(),
                "expires_at": time_to_sql(&at),
                "expires_in_seconds": (at - now).num_seconds().max(0),
                "lead_seconds": lead,
            });
            fire(w, event, now, k.tenant, None, object)?;
            sent += 1;
        }
    }
    Ok((keys.len(), sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(h: i64) -> Duration {
        Duration::hours(h)
    }

    #[test]
    fn each_lead_once_then_expired() {
        let leads = default_leads();
        // 30 days out: nothing yet; next due 7 days before.
        assert_eq!(due(d(30 * 24), &leads), (None, Some(d(7 * 24))));
        // Within 7 days: the 7-day notice; next at 1 day before.
        assert_eq!(
            due(d(6 * 24), &leads),
            (Some(Notice::Expiring(d(7 * 24))), Some(d(24)))
        );
        // Within a day: the 1-day notice; next at the expiry.
        assert_eq!(
            due(d(20), &leads),
            (Some(Notice::Expiring(d(24))), Some(Duration::zero()))
        );
        // Created 12 hours before its expiry: only the 1-day notice.
        assert_eq!(
            due(d(12), &leads),
            (Some(Notice::Expiring(d(24))), Some(Duration::zero()))
        );
        assert_eq!(due(Duration::zero(), &leads), (Some(Notice::Expired), None));
        assert_eq!(due(-d(8 * 24), &leads), (None, None), "stale");
        // No leads at all: only `expired`.
        assert_eq!(due(d(5), &[]), (None, Some(Duration::zero())));
    }
}
