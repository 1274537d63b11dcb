//! API keys: list, create, revoke; and the one question every path that
//! makes a key asks (`MintRequest`), and how a key a caller names is found
//! (`key_for`).
use chrono::{DateTime, Utc};

use super::changes::{self, Change};
use super::listing::{self, Window};
use super::{Caller, Env, add_account, caller_entities};
use crate::authz::entities::{account_uid, tenant_uid};
use crate::authz::{Action, Allowed, RequestContext, Session};
use crate::domain::api_key::Token;
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::domain::model::{Account, ApiKey, KeyWithOwner, Role, Via};
use crate::domain::names::DisplayName;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
pub use crate::store::api_keys::{Cursor, KeyOrder};
use crate::store::api_keys::{KeyScope, NewKey};
use crate::store::paging::Resource;
use crate::store::{Conn, Write, accounts, api_keys, memberships, tenants};

/// A key and where it stands in its list.
pub type Listed = (KeyWithOwner, Cursor);

/// Which keys `auth_api_key` lists, in which order.
pub struct KeyQuery {
    pub owner: Option<AccountId>,
    pub order: Vec<KeyOrder>,
    pub after: Option<Cursor>,
    pub window: Window,
}

/// `create_api_key`'s command.
pub struct NewKeyRequest {
    pub owner: AccountId,
    pub name: DisplayName,
    pub expires_at: Option<DateTime<Utc>>,
    pub tenant: Option<TenantId>,
    pub role: Option<Role>,
}

/// One page of the keys the caller may see.
pub fn list(env: &Env, caller: &Caller, q: KeyQuery) -> AppResult<Vec<Listed>> {
    let p = caller.key()?;
    let scope = KeyScope {
        owner: q.owner,
        after: q.after,
        now: env.now,
    };
    env.store.read(|c| {
        listing::page(
            env,
            p,
            c,
            (Action::ReadApiKey, Resource::ApiKey),
            q.window,
            |conds, l, o| api_keys::page_of(c, p, conds, &scope, &q.order, l, o),
            |c, rows| decide(env, p, c, rows),
        )
    })
}

/// The first `n` keys `p` may see of each of `accounts`, oldest first: one
/// query when the policies translate to SQL, a page per account (decided
/// row by row) when they do not.
pub fn first_of(
    env: &Env,
    p: &Principal,
    c: &Conn,
    accounts: &[AccountId],
    n: usize,
) -> AppResult<Vec<Listed>> {
    if let Some(conds) = listing::exact_conditions(env, p, Action::ReadApiKey, Resource::ApiKey)? {
        return api_keys::of_accounts(c, p, accounts, &conds, n, env.now);
    }
    let mut out = Vec::new();
    for &owner in accounts {
        let scope = KeyScope {
            owner: Some(owner),
            after: None,
            now: env.now,
        };
        out.extend(listing::page(
            env,
            p,
            c,
            (Action::ReadApiKey, Resource::ApiKey),
            Window::first(n),
            |conds, l, o| api_keys::page_of(c, p, conds, &scope, &[], l, o),
            |c, rows| decide(env, p, c, rows),
        )?);
    }
    Ok(out)
}

/// The keys among `rows` that Cedar lets `p` see, one decision each.
fn decide(env: &Env, p: &Principal, c: &Conn, rows: Vec<Listed>) -> AppResult<Vec<Listed>> {
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
    env.session(p, &ents)?.filter(Action::ReadApiKey, rows)
}

/// Makes a key for the caller itself or a service account; returns it with
/// its secret, this once.
pub fn create(env: &Env, caller: &Caller, req: NewKeyRequest) -> AppResult<(ApiKey, Token)> {
    let p = caller.key()?;
    not_in_the_past(req.expires_at, env.now)?;
    let (key, token) = env.store.write(|w| {
        // The owner's visibility is settled before anything is said about
        // the tenant, so a hidden account and a missing one answer alike
        // whatever else the input holds.
        let owner = accounts::get(w, req.owner)?.ok_or(AppError::NotFound("account"))?;
        let mut ents = caller_entities(p)?;
        add_account(w, &mut ents, &owner)?;
        if let Some(t) = req.tenant {
            ents.add_tenant(t);
        }
        let session = env.session(p, &ents)?;
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
        api_keys::mint(w, &proof, new, env.now)
    })?;
    tracing::info!(key_id = %key.id, owner = %key.account_id, tenant = %key.tenant_id, by = %p.account_id, "api key created");
    Ok((key, token))
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

/// The key `key_id`, if `p` may see it, with the proof that it may
/// `action` it (with `context`). A key that is gone answers as
/// `already_revoked` says.
pub fn key_for(
    env: &Env,
    p: &Principal,
    w: &Write,
    key_id: KeyId,
    action: Action,
    context: RequestContext,
) -> AppResult<(KeyWithOwner, Allowed)> {
    let Some(key) = api_keys::get(w, key_id)? else {
        return Err(already_revoked(env, w, p, key_id)?);
    };
    // A rotated key past its grace no longer works and is no longer listed
    // (housekeeping removes it later): it answers as an id that is not there.
    if key.key.rotation.is_some_and(|r| r.grace_until <= env.now) {
        return Err(AppError::NotFound("api key"));
    }
    let owner = accounts::get(w, key.key.account_id)?.ok_or(AppError::NotFound("api key"))?;
    let mut ents = caller_entities(p)?;
    add_account(w, &mut ents, &owner)?;
    let uid = ents.api_key(&key)?;
    let proof =
        env.session(p, &ents)?
            .check_named(Action::ReadApiKey, "api key", action, &uid, context)?;
    Ok((key, proof))
}

/// Revokes a key: it fails from the very next request on.
pub fn delete(env: &Env, caller: &Caller, key_id: KeyId) -> AppResult<()> {
    let p = caller.key()?;
    env.store.write(|w| {
        let (key, proof) = key_for(
            env,
            p,
            w,
            key_id,
            Action::DeleteApiKey,
            RequestContext::Empty,
        )?;
        api_keys::revoke(w, &proof, key_id, env.now)?;
        changes::allowed(w, env.now, &proof, key_change(&key.key))
    })?;
    tracing::info!(key_id = %key_id, by = %p.account_id, "api key revoked");
    Ok(())
}

/// Why a key that is not there cannot be revoked: `CONFLICT` "Already
/// revoked" to whoever could have seen it, `NOT_FOUND` to everyone else (and
/// for an id that never was a key).
fn already_revoked(env: &Env, conn: &Conn, p: &Principal, key_id: KeyId) -> AppResult<AppError> {
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
        match env
            .session(p, &ents)?
            .check_visible(Action::ReadApiKey, &uid, "api key")
        {
            Ok(_) => AppError::Conflict(format!("Already revoked: {}", revoked.message())),
            Err(_) => gone,
        },
    )
}
