//! What a change leaves behind: an allowed change's audit event goes into
//! the change's own transaction with the webhook event it fires (the store
//! refuses to commit a decision without its event); a refusal's is written
//! on its own, once a minute for the same caller, action and resource
//! (its repeats are counted: `verify::refusals`).
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Caller, Env};
use crate::authz::{Action, Allowed};
use crate::domain::events::EventType;
use crate::domain::ids::TenantId;
use crate::error::{AppError, AppResult};
use crate::store::audit::{self, Event, Outcome};
use crate::store::{Write, webhooks};

/// What a change was made to, and its non-secret arguments.
pub struct Change {
    pub resource_type: &'static str,
    pub resource_id: String,
    /// Whose log it goes in (the resource's tenant).
    pub tenant: Option<TenantId>,
    pub details: Value,
}

/// Records, in `w`'s transaction, the change `proof` allowed (its actor,
/// request and policies are the proof's), and puts the webhook event it
/// fires (if any) in the outbox in the same transaction.
pub fn allowed(w: &Write, now: DateTime<Utc>, proof: &Allowed, change: Change) -> AppResult<()> {
    if let (Some(event), Some(tenant)) = (
        EventType::of_change(proof.action().name(), &change.details),
        change.tenant,
    ) {
        let mut object = change.details.clone();
        object["id"] = json!(change.resource_id);
        webhooks::fire(w, event, now, tenant, proof.actor(), object)?;
    }
    let event = Event::of(
        now,
        change.tenant,
        change.resource_type,
        change.resource_id,
        change.details,
    );
    audit::record(w, proof, event)
}

/// What a refused or failed request was about.
pub struct Attempt {
    pub action: Action,
    pub resource_type: &'static str,
    pub resource_id: Option<String>,
    pub details: Value,
}

/// `result`, after recording it if it is a refusal or a failure, in
/// `tenant`'s log (`None`: the server's). A hidden id and a missing one are
/// both "failed, not found": the log must not tell them apart either.
pub fn refusals_in<T>(
    env: &Env,
    caller: &Caller,
    tenant: Option<TenantId>,
    attempt: Attempt,
    result: AppResult<T>,
) -> AppResult<T> {
    let Err(e) = &result else {
        return result;
    };
    let (outcome, policies) = match e {
        AppError::Forbidden { policies, .. } => (Outcome::Denied, policies.clone()),
        AppError::Unauthenticated(_) => (Outcome::Denied, vec![]),
        _ => (Outcome::Failed, vec![]),
    };
    let p = caller.principal();
    let message = e.public_message();
    let event = Event {
        at: env.now,
        request_id: Some(env.request_id.clone()),
        actor_key: p.map(|p| p.key_id),
        actor_account: p.map(|p| p.account_id),
        tenant,
        action: attempt.action.name().to_owned(),
        resource_type: attempt.resource_type.to_owned(),
        resource_id: attempt.resource_id,
        outcome,
        policies,
        details: bounded(attempt.details),
        message: Some(cut(&message, MAX_MESSAGE)),
    };
    // A repeat of a refusal already written this minute is counted, and
    // written with its count at the next flush.
    if !env.verifier.first_refusal_this_minute(&event) {
        return result;
    }
    // The refusal stands whether or not its record could be written.
    if let Err(write) = env.store.write(|w| audit::refusal(w, &event)) {
        tracing::error!(error = %write.public_message(), "could not record a refusal in the audit log");
    }
    result
}

/// The most of each text a refusal's record keeps: a stranger's input is
/// recorded, not stored whole.
pub const MAX_FIELD: usize = 256;
const MAX_MESSAGE: usize = 1024;

/// `text` cut to at most `most` bytes (on a character boundary), saying
/// how long it was.
fn cut(text: &str, most: usize) -> String {
    if text.len() <= most {
        return text.to_owned();
    }
    let mut end = most;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// `v` with every string cut to `MAX_FIELD` bytes and every list to its
/// first entries (a refusal's arguments come from whoever sent them).
fn bounded(v: Value) -> Value {
    const MOST_ITEMS: usize = 20;
    match v {
        Value::String(s) => Value::String(cut(&s, MAX_FIELD)),
        Value::Array(items) => {
            let n = items.len();
            let mut kept: Vec<Value> = items.into_iter().take(MOST_ITEMS).map(bounded).collect();
            if n > MOST_ITEMS {
                kept.push(Value::String(format!("… ({n} in all)")));
            }
            Value::Array(kept)
        }
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .take(MOST_ITEMS)
                .map(|(k, v)| (cut(&k, MAX_FIELD), bounded(v)))
                .collect(),
        ),
        other => other,
    }
}

/// `refusals_in` the caller's own tenant's log.
pub fn refusals<T>(
    env: &Env,
    caller: &Caller,
    attempt: Attempt,
    result: AppResult<T>,
) -> AppResult<T> {
    let tenant = caller.principal().map(|p| p.tenant_id);
    refusals_in(env, caller, tenant, attempt, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusals_record_keeps_a_bounded_part_of_its_input() {
        let long = "é".repeat(30_000);
        let v = bounded(json!({ "name": long, "events": vec!["x"; 100] }));
        let name = v["name"].as_str().unwrap();
        assert!(name.len() < MAX_FIELD + 32, "{}", name.len());
        assert!(name.ends_with("… (60000 bytes)"), "{name}");
        assert_eq!(v["events"].as_array().unwrap().len(), 21);
        assert_eq!(cut("short", MAX_FIELD), "short");
    }
}
