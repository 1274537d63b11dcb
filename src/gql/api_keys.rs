//! API keys: `auth_api_key`, `create_api_key`, `delete_api_key`, their
//! inputs and nodes.
use crate::store::Conn;
use chrono::{DateTime, Utc};
use juniper::{GraphQLInputObject, GraphQLObject};

use super::audit::{self, Change};
use super::context::{Context, add_account, caller_entities};
use super::inputs::{OrderBy, UuidComparison};
use super::listing::{self, MAX_LIST, Window};
use super::scalars::{GqlUuid, Timestamp, id};
use super::types::{GqlRole, Success, UserRef};
use crate::authz::entities::{account_uid, tenant_uid};
use crate::authz::{Action, Allowed, RequestContext, Session};
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::domain::model::{Account, ApiKey, KeyWithOwner, Role, Via};
use crate::domain::names::DisplayName;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::api_keys::{Cursor, KeyOrder, KeyScope, NewKey};
use crate::store::listing::Resource;
use crate::store::{Write, accounts, api_keys, memberships, tenants};

#[derive(GraphQLInputObject)]
#[graphql(name = "create_api_key_input", rename_all = "none")]
pub struct CreateApiKeyInput {
    /// A user or a service account.
    pub user_id: GqlUuid,
    pub name: String,
    /// Null or absent: the key never expires.
    pub expires_at: Option<Timestamp>,
    /// Accepted for Prefect compatibility; it must name the calling key's
    /// tenant, where every new key is bound.
    pub default_tenant_id: Option<GqlUuid>,
    /// A restricted key: this role, no higher than the owner's in the key's
    /// tenant (which caps it at every request). Default: the owner's role.
    pub role: Option<GqlRole>,
}

/// `create_api_key`'s input, parsed.
struct NewKeyRequest {
    owner: AccountId,
    name: DisplayName,
    expires_at: Option<DateTime<Utc>>,
    tenant: Option<TenantId>,
    role: Option<Role>,
}

impl TryFrom<CreateApiKeyInput> for NewKeyRequest {
    type Error = AppError;
    fn try_from(input: CreateApiKeyInput) -> AppResult<Self> {
        Ok(Self {
            owner: AccountId::from(input.user_id.0),
            name: DisplayName::parse("name", &input.name)?,
            expires_at: input.expires_at.map(|t| t.0),
            tenant: input.default_tenant_id.map(|t| TenantId::from(t.0)),
            role: input.role.map(Role::from),
        })
    }
}

#[derive(GraphQLInputObject)]
#[graphql(name = "delete_api_key_input", rename_all = "none")]
pub struct DeleteApiKeyInput {
    pub key_id: GqlUuid,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "api_key_order_by", rename_all = "none")]
pub struct ApiKeyOrder {
    pub created: Option<OrderBy>,
    pub name: Option<OrderBy>,
    pub expires_at: Option<OrderBy>,
}

impl ApiKeyOrder {
    /// Its sort keys, in the order they apply.
    fn keys(&self) -> Vec<KeyOrder> {
        let desc = |d: OrderBy| d == OrderBy::Desc;
        let mut k = Vec::new();
        if let Some(d) = self.created {
            k.push(KeyOrder::Created { desc: desc(d) });
        }
        if let Some(d) = self.name {
            k.push(KeyOrder::Name { desc: desc(d) });
        }
        if let Some(d) = self.expires_at {
            k.push(KeyOrder::ExpiresAt { desc: desc(d) });
        }
        k
    }
}

/// Filters `auth_api_key` takes.
#[derive(GraphQLInputObject)]
#[graphql(name = "api_key_bool_exp", rename_all = "none")]
pub struct ApiKeyFilter {
    /// Only this account's keys.
    pub user_id: Option<UuidComparison>,
}

/// An API key's metadata. Its secret is never returned after creation.
#[derive(GraphQLObject)]
#[graphql(name = "api_key", rename_all = "none")]
pub struct ApiKeyNode {
    pub id: GqlUuid,
    pub name: String,
    /// The owning account (a user or a service account).
    pub user_id: GqlUuid,
    /// The one tenant the key works in (Prefect Cloud's name for it).
    pub default_tenant_id: GqlUuid,
    pub created: Timestamp,
    pub created_by: Option<UserRef>,
    /// Null: never expires.
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// A restricted key's own role; null: its owner's role.
    pub role: Option<GqlRole>,
    /// Null: enabled.
    pub disabled_at: Option<Timestamp>,
    /// The key this one replaced (by `rotate_api_key`).
    pub rotated_from: Option<GqlUuid>,
    /// Set once this key was rotated: when, by which key, and until when it
    /// still works.
    pub rotated_at: Option<Timestamp>,
    pub replaced_by: Option<GqlUuid>,
    pub grace_until: Option<Timestamp>,
    /// Where this key stands in its list: pass it as `after` to continue.
    pub cursor: String,
}

impl From<&Listed> for ApiKeyNode {
    fn from((k, cursor): &Listed) -> Self {
        let k = &k.key;
        Self {
            cursor: cursor.encode(),
            id: id(k.id),
            name: k.name.to_string(),
            user_id: id(k.account_id),
            default_tenant_id: id(k.tenant_id),
            created: Timestamp(k.created_at),
            created_by: k.created_by.map(|c| UserRef { id: id(c) }),
            expires_at: k.expires_at.map(Timestamp),
            last_used_at: k.last_used_at.map(Timestamp),
            role: k.role.map(Into::into),
            disabled_at: k.disabled_at.map(Timestamp),
            rotated_from: k.rotated_from.map(id),
            rotated_at: k.rotation.map(|r| Timestamp(r.at)),
            replaced_by: k.rotation.map(|r| id(r.replaced_by)),
            grace_until: k.rotation.map(|r| Timestamp(r.grace_until)),
        }
    }
}

#[derive(GraphQLObject)]
#[graphql(name = "create_api_key_payload", rename_all = "none")]
pub struct CreatedApiKey {
    pub id: GqlUuid,
    /// The secret, shown this once (the seed's name for it).
    pub token: String,
    /// The same secret (the name the Prefect 1.x CLI reads).
    pub key: String,
}

/// A key and where it stands in its list.
pub type Listed = (KeyWithOwner, Cursor);

pub fn list(
    ctx: &Context,
    filter: Option<ApiKeyFilter>,
    order_by: Option<Vec<ApiKeyOrder>>,
    limit: Option<i32>,
    offset: Option<i32>,
    after: Option<String>,
) -> AppResult<Vec<ApiKeyNode>> {
    let p = ctx.caller()?;
    let window = Window::parse(limit, offset, MAX_LIST)?;
    let order: Vec<KeyOrder> = order_by
        .unwrap_or_default()
        .iter()
        .flat_map(ApiKeyOrder::keys)
        .collect();
    let scope = KeyScope {
        owner: filter
            .and_then(|f| f.user_id?.eq)
            .map(|u| AccountId::from(u.0)),
        after: after.as_deref().map(Cursor::decode).transpose()?,
        now: ctx.now,
    };
    let rows = ctx.store.read(|c| {
        listing::page(
            ctx,
            c,
            Action::ReadApiKey,
            Resource::ApiKey,
            window,
            |conds, l, o| api_keys::page_of(c, p, conds, &scope, &order, l, o),
            |c, rows| decide(ctx, c, rows),
        )
    })?;
    Ok(rows.iter().map(ApiKeyNode::from).collect())
}

/// The first `n` keys the caller may see of each of `accounts`, oldest
/// first: one query when the policies translate to SQL, a page per account
/// (decided row by row) when they do not.
pub fn first_of(
    ctx: &Context,
    c: &Conn,
    accounts: &[AccountId],
    n: usize,
) -> AppResult<Vec<Listed>> {
    let p = ctx.caller()?;
    if let Some(conds) = listing::exact_conditions(ctx, Action::ReadApiKey, Resource::ApiKey)? {
        return api_keys::of_accounts(c, p, accounts, &conds, n, ctx.now);
    }
    let mut out = Vec::new();
    for &owner in accounts {
        let scope = KeyScope {
            owner: Some(owner),
            after: None,
            now: ctx.now,
        };
        out.extend(listing::page(
            ctx,
            c,
            Action::ReadApiKey,
            Resource::ApiKey,
            Window::first(n),
            |conds, l, o| api_keys::page_of(c, p, conds, &scope, &[], l, o),
            |c, rows| decide(ctx, c, rows),
        )?);
    }
    Ok(out)
}

/// The keys among `rows` that Cedar lets the caller see, one decision each.
pub fn decide(ctx: &Context, c: &Conn, rows: Vec<Listed>) -> AppResult<Vec<Listed>> {
    let p = ctx.caller()?;
    let mut ents = caller_entities(p)?;
    let mut owners: Vec<AccountId> = rows.iter().map(|(r, _)| r.key.account_id).collect();
    owners.sort();
    owners.dedup();
    for owner in owners {
        if let Some(a) = accounts::get(c, owner)? {
            add_account(c, &mut ents, &a)?;
        }
    }
    let rows = rows
        .into_iter()
        .map(|r| {
            let uid = ents.api_key(&r.0)?;
            Ok((r, uid))
        })
        .collect::<AppResult<Vec<_>>>()?;
    ctx.session(&ents)?.filter(Action::ReadApiKey, rows)
}

pub fn create(ctx: &Context, input: CreateApiKeyInput) -> AppResult<CreatedApiKey> {
    let p = ctx.caller()?;
    let req = NewKeyRequest::try_from(input)?;
    not_in_the_past(req.expires_at, ctx.now)?;
    let (key, token) = ctx.store.write(|w| {
        // The owner's visibility is settled before anything is said about
        // the tenant, so a hidden account and a missing one answer alike
        // whatever else the input holds.
        let owner = accounts::get(w, req.owner)?.ok_or(AppError::NotFound("account"))?;
        let mut ents = caller_entities(p)?;
        add_account(w, &mut ents, &owner)?;
        if let Some(t) = req.tenant {
            ents.add_tenant(t);
        }
        let session = ctx.session(&ents)?;
        session.check_visible(Action::ReadAccount, &account_uid(owner.id), "account")?;
        let tenant = match req.tenant {
            Some(t) => {
                if tenants::get(w, t)?.is_none() {
                    return Err(AppError::NotFound("tenant"));
                }
                session.check_visible(Action::ReadTenant, &tenant_uid(t), "tenant")?;
                t
            }
            // A service account's keys live in its own tenant; a user's in
            // the tenant of the key they call with.
            None => owner.tenant_id.unwrap_or(p.tenant_id),
        };
        let ask = MintRequest {
            owner: &owner,
            tenant,
            owner_is_caller: owner.id == p.account_id,
            key_role: req.role,
            expires_at: req.expires_at,
            via: Via::Api,
            replaces: None,
        };
        let proof = ask.decide(w, &session)?;
        let new = NewKey {
            name: &req.name,
            owner: owner.id,
            owner_kind: owner.kind,
            tenant,
            created_by: Some(p.account_id),
            expires_at: req.expires_at,
            role: req.role,
            rotated_from: None,
            via: Via::Api,
        };
        api_keys::mint(w, &proof, new, ctx.now)
    })?;
    tracing::info!(key_id = %key.id, owner = %key.account_id, tenant = %key.tenant_id, by = %p.account_id, "api key created");
    let secret = token.expose().to_owned();
    Ok(CreatedApiKey {
        id: id(key.id),
        token: secret.clone(),
        key: secret,
    })
}

/// Refuses a new key's expiry that is not in the future.
pub fn not_in_the_past(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> AppResult<()> {
    match expires_at {
        Some(at) if at <= now => Err(AppError::Invalid(format!(
            "expires_at {} is in the past; give a future time or null for a key that never expires",
            at.to_rfc3339()
        ))),
        _ => Ok(()),
    }
}

/// What a key about to be minted is, as `CreateApiKey` is asked about it:
/// the one question every path that makes a key asks.
pub struct MintRequest<'a> {
    pub owner: &'a Account,
    pub tenant: TenantId,
    /// The caller (or an invitation's holder) makes a key for itself.
    pub owner_is_caller: bool,
    pub key_role: Option<Role>,
    pub expires_at: Option<DateTime<Utc>>,
    pub via: Via,
    /// A rotation: the replaced key's expiry (`Some(None)`: never).
    pub replaces: Option<Option<DateTime<Utc>>>,
}

impl MintRequest<'_> {
    /// The `CreateApiKey` decision on it, in `session` (whose entities hold
    /// the owner with its memberships as they are in `w`).
    pub fn decide(self, w: &Write, session: &Session<'_>) -> AppResult<Allowed> {
        session.check(
            Action::CreateApiKey,
            &account_uid(self.owner.id),
            RequestContext::CreateApiKey {
                tenant: self.tenant,
                owner_kind: self.owner.kind,
                owner_is_caller: self.owner_is_caller,
                owner_role: memberships::role_of(w, self.owner.id, self.tenant)?,
                key_role: self.key_role,
                expires_at: self.expires_at,
                via: self.via,
                replaces: self.replaces,
            },
        )
    }
}

/// What the audit log says of a change to `key` (never its secret).
pub fn key_change(key: &ApiKey) -> Change {
    Change {
        resource_type: "api_key",
        resource_id: key.id.to_string(),
        tenant: Some(key.tenant_id),
        details: api_keys::described(key),
    }
}

/// The key `key_id`, if the caller may see it, with the proof that it may
/// `action` it (with `context`). A key that is gone answers as
/// `already_revoked` says.
pub fn key_for(
    ctx: &Context,
    w: &Write,
    key_id: KeyId,
    action: Action,
    context: RequestContext,
) -> AppResult<(KeyWithOwner, Allowed)> {
    let p = ctx.caller()?;
    let Some(key) = api_keys::get(w, key_id)? else {
        return Err(already_revoked(ctx, w, p, key_id)?);
    };
    // A rotated key past its grace no longer works and is no longer listed
    // (housekeeping removes it later): it answers as an id that is not there.
    if key.key.rotation.is_some_and(|r| r.grace_until <= ctx.now) {
        return Err(AppError::NotFound("api key"));
    }
    let owner = accounts::get(w, key.key.account_id)?.ok_or(AppError::NotFound("api key"))?;
    let mut ents = caller_entities(p)?;
    add_account(w, &mut ents, &owner)?;
    let uid = ents.api_key(&key)?;
    let proof =
        ctx.session(&ents)?
            .check_named(Action::ReadApiKey, "api key", action, &uid, context)?;
    Ok((key, proof))
}

pub fn delete(ctx: &Context, input: DeleteApiKeyInput) -> AppResult<Success> {
    let p = ctx.caller()?;
    let key_id = KeyId::from(input.key_id.0);
    ctx.store.write(|w| {
        let (key, proof) = key_for(ctx, w, key_id, Action::DeleteApiKey, RequestContext::Empty)?;
        api_keys::revoke(w, &proof, key_id, ctx.now)?;
        audit::allowed(w, ctx, &proof, key_change(&key.key))
    })?;
    tracing::info!(key_id = %key_id, by = %p.account_id, "api key revoked");
    Ok(Success { success: true })
}

/// Why a key that is not there cannot be revoked: `CONFLICT` "Already
/// revoked" to whoever could have seen it, `NOT_FOUND` to everyone else (and
/// for an id that never was a key).
fn already_revoked(
    ctx: &Context,
    conn: &Conn,
    p: &Principal,
    key_id: KeyId,
) -> AppResult<AppError> {
    let gone = AppError::NotFound("api key");
    let Some(revoked) = api_keys::revoked(conn, key_id)? else {
        return Ok(gone);
    };
    let (Some(owner), Some(tenant)) = (revoked.owner, revoked.tenant) else {
        return Ok(gone);
    };
    let Some(owner) = accounts::get(conn, owner)? else {
        return Ok(gone);
    };
    let mut ents = caller_entities(p)?;
    add_account(conn, &mut ents, &owner)?;
    let uid = ents.revoked_key(key_id, &owner, tenant)?;
    Ok(
        match ctx
            .session(&ents)?
            .check_visible(Action::ReadApiKey, &uid, "api key")
        {
            Ok(_) => AppError::Conflict(format!("Already revoked: {}", revoked.message())),
            Err(_) => gone,
        },
    )
}
