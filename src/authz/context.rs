//! The context of a request: what a policy may read besides principal and
//! resource, built from typed values.
use cedar_policy::{Context, RestrictedExpression};
use chrono::{DateTime, Utc};

use super::entities;
use crate::domain::ids::{AccountId, TenantId};
use crate::domain::model::{AccountKind, Role, Via};
use crate::error::{AppError, AppResult};

/// What a policy may read besides principal and resource. Every request
/// whose principal is a key also gets `caller` (see `Caller` in the schema).
pub enum RequestContext {
    Empty,
    CreateServiceAccount {
        role: Role,
    },
    UpdateMembership {
        role: Role,
    },
    CreateInvitation {
        email: String,
        role: Role,
    },
    CreateApiKey {
        tenant: TenantId,
        owner_kind: AccountKind,
        owner_is_caller: bool,
        owner_role: Option<Role>,
        /// The role asked for (a restricted key); `None`: the owner's.
        key_role: Option<Role>,
        expires_at: Option<DateTime<Utc>>,
        /// Which path mints it.
        via: Via,
        /// A rotation's replacement: the expiry of the key it replaces
        /// (`Some(None)`: that key never expires).
        replaces: Option<Option<DateTime<Utc>>>,
    },
    /// Accepting an invitation: the invited e-mail's account (if it has
    /// one) and the account of the key sent with the token (if any).
    AcceptInvitation {
        invitee: Option<AccountId>,
        caller_account: Option<AccountId>,
    },
    RotateApiKey {
        grace_seconds: i64,
        expires_at: Option<DateTime<Utc>>,
    },
    UpdateApiKey {
        disabled: Option<bool>,
    },
    /// Registering (`url`, `host`) or deleting a webhook, or redelivering.
    ManageWebhook {
        operation: &'static str,
        url: Option<String>,
        host: Option<String>,
    },
    /// A leak report: where the secret was found, and by whom.
    RevokeLeakedApiKey {
        url: String,
        source: String,
    },
    Forward {
        method: String,
        path: String,
        host: String,
        role: Role,
        tenant: TenantId,
    },
}

/// The calling key's facts at the request's "now".
#[derive(Clone, Copy)]
pub(super) struct Caller {
    pub(super) created_at: DateTime<Utc>,
    pub(super) expires_at: Option<DateTime<Utc>>,
    /// Set once the calling key was rotated: when its grace ends.
    pub(super) grace_until: Option<DateTime<Utc>>,
}

fn string(v: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(v.to_owned())
}

fn caller_record(c: Caller, now: DateTime<Utc>) -> AppResult<RestrictedExpression> {
    let mut fields = vec![(
        "key_age_seconds".to_owned(),
        RestrictedExpression::new_long((now - c.created_at).num_seconds()),
    )];
    if let Some(at) = c.expires_at {
        fields.push((
            "key_expires_at".to_owned(),
            string(&crate::domain::time::to_sql(&at)),
        ));
        fields.push((
            "key_expires_in_seconds".to_owned(),
            RestrictedExpression::new_long((at - now).num_seconds()),
        ));
    }
    if let Some(until) = c.grace_until {
        fields.push((
            "key_grace_ends_in_seconds".to_owned(),
            RestrictedExpression::new_long((until - now).num_seconds()),
        ));
    }
    RestrictedExpression::new_record(fields)
        .map_err(|e| AppError::internal(format!("cedar context: {e}")))
}

/// A new key's `expires_at` and `lifetime_seconds`, when it expires.
fn expiry(
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<(String, RestrictedExpression)> {
    expires_at
        .map(|at| {
            vec![
                (
                    "expires_at".into(),
                    string(&crate::domain::time::to_sql(&at)),
                ),
                (
                    "lifetime_seconds".into(),
                    RestrictedExpression::new_long((at - now).num_seconds()),
                ),
            ]
        })
        .unwrap_or_default()
}

impl RequestContext {
    pub(super) fn into_cedar(
        self,
        caller: Option<Caller>,
        now: DateTime<Utc>,
    ) -> AppResult<Context> {
        let mut pairs: Vec<(String, RestrictedExpression)> = match self {
            Self::Empty => vec![],
            Self::CreateServiceAccount { role } | Self::UpdateMembership { role } => {
                vec![("role".into(), string(role.as_str()))]
            }
            Self::CreateInvitation { email, role } => {
                vec![
                    ("email".into(), string(&email)),
                    ("role".into(), string(role.as_str())),
                ]
            }
            Self::CreateApiKey {
                tenant,
                owner_kind,
                owner_is_caller,
                owner_role,
                key_role,
                expires_at,
                via,
                replaces,
            } => {
                let mut v = vec![
                    ("via".into(), string(via.as_str())),
                    (
                        "tenant".into(),
                        RestrictedExpression::new_entity_uid(entities::tenant_uid(tenant)),
                    ),
                    ("owner_kind".into(), string(owner_kind.as_str())),
                    (
                        "owner_is_caller".into(),
                        RestrictedExpression::new_bool(owner_is_caller),
                    ),
                    ("owner_role".into(), string(entities::role_name(owner_role))),
                    (
                        "key_role".into(),
                        string(entities::role_name(key_role.or(owner_role))),
                    ),
                ];
                v.extend(expiry(expires_at, now));
                if let Some(Some(at)) = replaces {
                    v.push((
                        "replaced_lifetime_seconds".into(),
                        RestrictedExpression::new_long((at - now).num_seconds()),
                    ));
                }
                v
            }
            Self::AcceptInvitation {
                invitee,
                caller_account,
            } => [("invitee", invitee), ("caller_account", caller_account)]
                .into_iter()
                .filter_map(|(name, account)| {
                    let uid = entities::account_uid(account?);
                    Some((name.into(), RestrictedExpression::new_entity_uid(uid)))
                })
                .collect(),
            Self::RotateApiKey {
                grace_seconds,
                expires_at,
            } => {
                let mut v = vec![(
                    "grace_seconds".into(),
                    RestrictedExpression::new_long(grace_seconds),
                )];
                v.extend(expiry(expires_at, now));
                v
            }
            Self::Forward {
                method,
                path,
                host,
                role,
                tenant,
            } => vec![
                ("method".into(), string(&method)),
                ("path".into(), string(&path)),
                ("host".into(), string(&host)),
                ("role".into(), string(role.as_str())),
                (
                    "tenant".into(),
                    RestrictedExpression::new_entity_uid(entities::tenant_uid(tenant)),
                ),
            ],
            Self::ManageWebhook {
                operation,
                url,
                host,
            } => {
                let mut v = vec![("operation".into(), string(operation))];
                v.extend(url.map(|u| ("url".into(), string(&u))));
                v.extend(host.map(|h| ("host".into(), string(&h))));
                v
            }
            Self::RevokeLeakedApiKey { url, source } => vec![
                ("url".into(), string(&url)),
                ("source".into(), string(&source)),
            ],
            Self::UpdateApiKey { disabled } => disabled
                .map(|d| ("disabled".into(), RestrictedExpression::new_bool(d)))
                .into_iter()
                .collect(),
        };
        if let Some(c) = caller {
            pairs.push(("caller".into(), caller_record(c, now)?));
        }
        // `Request::new` checks the context against the schema.
        Context::from_pairs(pairs).map_err(|e| AppError::internal(format!("cedar context: {e}")))
    }
}
