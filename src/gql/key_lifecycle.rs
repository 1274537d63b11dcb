//! A key's life after creation: `rotate_api_key` (a new secret, the old one
//! working for a grace period) and `update_api_key` (rename, disable,
//! enable). Revocation (`delete_api_key`) is in api_keys.rs.
use chrono::Duration;
use juniper::{GraphQLInputObject, GraphQLObject};
use serde_json::{Value, json};

use super::api_keys::ApiKeyNode;
use super::audit::{self, Audited};
use super::context::Context;
use super::scalars::{GqlUuid, Timestamp, id};
use crate::authz::Action;
use crate::domain::ids::KeyId;
use crate::domain::names::DisplayName;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::ops::key_lifecycle::{KeyUpdate, Rotation};

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
    let r = ops::key_lifecycle::rotate(&ctx.env, &ctx.caller, Rotation::try_from(input)?)?;
    let secret = r.token.expose().to_owned();
    Ok(RotatedApiKey {
        id: id(r.new),
        token: secret.clone(),
        key: secret,
        old_key_works_until: Timestamp(r.old_key_works_until),
    })
}

pub fn update(ctx: &Context, input: UpdateApiKeyInput) -> AppResult<ApiKeyNode> {
    let u = KeyUpdate {
        key: KeyId::from(input.key_id.0),
        name: input
            .name
            .as_deref()
            .map(|n| DisplayName::parse("name", n))
            .transpose()?,
        disabled: input.disabled,
    };
    let key = ops::key_lifecycle::update(&ctx.env, &ctx.caller, u)?;
    Ok(ApiKeyNode::from(&key))
}

impl Audited for RotateApiKeyInput {
    const ACTION: Action = Action::RotateApiKey;
    const RESOURCE: &'static str = "api_key";
    fn resource_id(&self) -> Option<String> {
        Some(self.key_id.0.to_string())
    }
    fn details(&self) -> Value {
        json!({ "grace_seconds": self.grace_seconds, "expires_at": audit::time(&self.expires_at) })
    }
}

impl Audited for UpdateApiKeyInput {
    const ACTION: Action = Action::UpdateApiKey;
    const RESOURCE: &'static str = "api_key";
    fn resource_id(&self) -> Option<String> {
        Some(self.key_id.0.to_string())
    }
    fn details(&self) -> Value {
        json!({ "renamed_to": self.name, "disabled": self.disabled })
    }
}
