//! A key's life after creation: rotation (a new key, decided as every new
//! key is, the old one working for a grace period) and updates (rename,
//! disable, enable). Revocation is in api_keys.rs.
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::api_keys::{MintRequest, key_change, key_for};
use super::changes;
use super::{Caller, Env, add_account, caller_entities};
use crate::authz::{Action, RequestContext};
use crate::domain::api_key::Token;
use crate::domain::ids::KeyId;
use crate::domain::model::{KeyWithOwner, Via};
use crate::domain::names::DisplayName;
use crate::error::{AppError, AppResult};
use crate::store::{accounts, api_keys};

/// `rotate_api_key`'s command.
pub struct Rotation {
    pub key: KeyId,
    pub grace: Duration,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a rotation made: the new key and its secret, and when the old one
/// stops working.
pub struct Rotated {
    pub old: KeyId,
    pub new: KeyId,
    pub token: Token,
    pub old_key_works_until: DateTime<Utc>,
}

/// `update_api_key`'s command (`None`: left as it is).
pub struct KeyUpdate {
    pub key: KeyId,
    pub name: Option<DisplayName>,
    pub disabled: Option<bool>,
}

pub fn rotate(env: &Env, caller: &Caller, r: Rotation) -> AppResult<Rotated> {
    let p = caller.key()?;
    let (old, new, token, until) = env.store.write(|w| {
        let context = RequestContext::RotateApiKey {
            grace_seconds: r.grace.num_seconds(),
            expires_at: r.expires_at,
        };
        let (old, proof) = key_for(env, p, w, r.key, Action::RotateApiKey, context)?;
        let expires_at = r.expires_at.or(old.key.expires_at);
        if let Some(at) = expires_at
            && at <= env.now
        {
            return Err(AppError::Invalid(format!(
                "the new key would expire at {}, in the past: give a future expires_at",
                at.to_rfc3339()
            )));
        }
        if old.key.rotation.is_some() {
            return Err(AppError::Conflict(
                "this key was already rotated: rotate its replacement".into(),
            ));
        }
        // The grace never outlives the old key itself.
        let until = old
            .key
            .expires_at
            .map_or(env.now + r.grace, |exp| exp.min(env.now + r.grace));
        // The replacement is a new key: the caller must be allowed to mint
        // it (its role is the old key's), on every policy on CreateApiKey.
        let owner = accounts::get(w, old.key.account_id)?.ok_or(AppError::NotFound("api key"))?;
        let mut ents = caller_entities(p)?;
        add_account(w, &mut ents, &owner)?;
        let ask = MintRequest {
            owner: &owner,
            tenant: old.key.tenant_id,
            owner_is_caller: owner.id == p.account_id,
            key_role: old.key.role,
            expires_at,
            via: Via::Rotation,
            replaces: Some(old.key.expires_at),
        };
        let minting = ask.decide(w, &env.session(p, &ents)?)?;
        let (new, token) = api_keys::mint(
            w,
            &minting,
            api_keys::replacement(&old, expires_at),
            env.now,
        )?;
        api_keys::rotate(w, &proof, &old, new.id, until, env.now)?;
        let mut change = key_change(&old.key);
        change.details["replaced_by"] = json!(new.id.to_string());
        change.details["grace_seconds"] = json!(r.grace.num_seconds());
        change.details["works_until"] = json!(crate::store::time_to_sql(&until));
        changes::allowed(w, env.now, &proof, change)?;
        Ok((old.key.id, new.id, token, until))
    })?;
    tracing::info!(key_id = %old, replaced_by = %new, by = %p.account_id, "api key rotated");
    Ok(Rotated {
        old,
        new,
        token,
        old_key_works_until: until,
    })
}

pub fn update(
    env: &Env,
    caller: &Caller,
    u: KeyUpdate,
) -> AppResult<(KeyWithOwner, api_keys::Cursor)> {
    let p = caller.key()?;
    let KeyUpdate {
        key: key_id,
        name,
        disabled,
    } = u;
    let key = env.store.write(|w| {
        let context = RequestContext::UpdateApiKey { disabled };
        let (key, proof) = key_for(env, p, w, key_id, Action::UpdateApiKey, context)?;
        api_keys::update(w, &proof, key_id, name.as_ref(), disabled, env.now)?;
        let mut change = key_change(&key.key);
        change.details["renamed_to"] = json!(name.as_ref().map(DisplayName::as_str));
        change.details["disabled"] = json!(disabled);
        changes::allowed(w, env.now, &proof, change)?;
        api_keys::listed(w, key_id)?.ok_or(AppError::NotFound("api key"))
    })?;
    tracing::info!(key_id = %key_id, ?disabled, by = %p.account_id, "api key updated");
    Ok(key)
}
