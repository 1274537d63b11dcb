//! A key's life after creation: `rotate_api_key` (a new secret, the old one
//! working for a grace period) and `update_api_key` (rename, disable,
//! enable). Revocation (`delete_api_key`) is in api_keys.rs.
use chrono::{DateTime, Duration, Utc};
use juniper::{GraphQLInputObject, GraphQLObject};
use serde_json::json;

use super::api_keys::{ApiKeyNode, MintRequest, key_change, key_for};
use super::audit;
use super::context::{Context, add_account, caller_entities};
use super::scalars::{GqlUuid, Timestamp, id};
use crate::authz::{Action, RequestContext};
use crate::domain::ids::KeyId;
use crate::domain::model::Via;
use crate::domain::names::DisplayName;
use crate::error::{AppError, AppResult};
use crate::store::{accounts, api_keys};

#[derive(GraphQLInputObject)]
#[graphql(name = "rotate_api_key_input", rename_all = "none")]
pub struct RotateApiKeyInput {
    pub key_id: GqlUuid,
    /// How long the old key keeps working, in seconds: 0 stops it at once.
    /// Never past its own expiry.
    pub grace_seconds: i32,
    /// The new key's expiry; absent: the old key's.
    pub expires_at: Option<Timestamp>,
}

#[derive(GraphQLObject)]
#[graphql(name = "rotate_api_key_payload", rename_all = "none")]
pub struct RotatedApiKey {
    /// The new key.
    pub id: GqlUuid,
    /// Its secret, shown this once (as `create_api_key` gives it).
    pub token: String,
    pub key: String,
    /// When the old key stops working.
    pub old_key_works_until: Timestamp,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "update_api_key_input", rename_all = "none")]
pub struct UpdateApiKeyInput {
    pub key_id: GqlUuid,
    /// A new name; absent: unchanged.
    pub name: Option<String>,
    /// true: the key fails at once until enabled again; false: enabled.
    /// Absent: unchanged. Unlike revocation, this can be undone.
    pub disabled: Option<bool>,
}

/// The longest grace a rotation may give (a year); the policies may set a
/// shorter one (policies/examples/rotation-grace-at-most-24h).
const MOST_GRACE: i32 = 366 * 24 * 3600;

/// `rotate_api_key`'s input, parsed.
struct Rotation {
    key: KeyId,
    grace: Duration,
    expires_at: Option<DateTime<Utc>>,
}

impl TryFrom<RotateApiKeyInput> for Rotation {
    type Error = AppError;
    fn try_from(input: RotateApiKeyInput) -> AppResult<Self> {
        match input.grace_seconds {
            0..=MOST_GRACE => Ok(Self {
                key: KeyId::from(input.key_id.0),
                grace: Duration::seconds(i64::from(input.grace_seconds)),
                expires_at: input.expires_at.map(|t| t.0),
            }),
            n => Err(AppError::Invalid(format!(
                "grace_seconds must be between 0 and {MOST_GRACE} (a year), not {n}"
            ))),
        }
    }
}

pub fn rotate(ctx: &Context, input: RotateApiKeyInput) -> AppResult<RotatedApiKey> {
    let p = ctx.caller()?;
    let r = Rotation::try_from(input)?;
    let (old, new, token, until) = ctx.store.write(|w| {
        let context = RequestContext::RotateApiKey {
            grace_seconds: r.grace.num_seconds(),
            expires_at: r.expires_at,
        };
        let (old, proof) = key_for(ctx, w, r.key, Action::RotateApiKey, context)?;
        let expires_at = r.expires_at.or(old.key.expires_at);
        if let Some(at) = expires_at
            && at <= ctx.now
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
            .map_or(ctx.now + r.grace, |exp| exp.min(ctx.now + r.grace));
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
        let minting = ask.decide(w, &ctx.session(&ents)?)?;
        let (new, token) = api_keys::mint(
            w,
            &minting,
            api_keys::replacement(&old, expires_at),
            ctx.now,
        )?;
        api_keys::rotate(w, &proof, &old, new.id, until, ctx.now)?;
        let mut change = key_change(&old.key);
        change.details["replaced_by"] = json!(new.id.to_string());
        change.details["grace_seconds"] = json!(r.grace.num_seconds());
        change.details["works_until"] = json!(crate::store::time_to_sql(&until));
        audit::allowed(w, ctx, &proof, change)?;
        Ok((old.key.id, new.id, token, until))
    })?;
    tracing::info!(key_id = %old, replaced_by = %new, by = %p.account_id, "api key rotated");
    let secret = token.expose().to_owned();
    Ok(RotatedApiKey {
        id: id(new),
        token: secret.clone(),
        key: secret,
        old_key_works_until: Timestamp(until),
    })
}

pub fn update(ctx: &Context, input: UpdateApiKeyInput) -> AppResult<ApiKeyNode> {
    let p = ctx.caller()?;
    let key_id = KeyId::from(input.key_id.0);
    let name = input
        .name
        .as_deref()
        .map(|n| DisplayName::parse("name", n))
        .transpose()?;
    let disabled = input.disabled;
    let key = ctx.store.write(|w| {
        let context = RequestContext::UpdateApiKey { disabled };
        let (key, proof) = key_for(ctx, w, key_id, Action::UpdateApiKey, context)?;
        api_keys::update(w, &proof, key_id, name.as_ref(), disabled, ctx.now)?;
        let mut change = key_change(&key.key);
        change.details["renamed_to"] = json!(name.as_ref().map(DisplayName::as_str));
        change.details["disabled"] = json!(disabled);
        audit::allowed(w, ctx, &proof, change)?;
        api_keys::listed(w, key_id)?.ok_or(AppError::NotFound("api key"))
    })?;
    tracing::info!(key_id = %key_id, ?disabled, by = %p.account_id, "api key updated");
    Ok(ApiKeyNode::from(&key))
}
