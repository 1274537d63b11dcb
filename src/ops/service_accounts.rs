//! Service accounts: a tenant's list (each with the keys the caller may
//! see), create, rename, delete.
use std::collections::HashMap;

use serde_json::json;

use super::api_keys::{Listed, first_of};
use super::changes::{self, Change};
use super::listing::{self, Window};
use super::{Caller, Env, add_account, caller_entities};
use crate::authz::entities::account_uid;
use crate::authz::{Action, Allowed, RequestContext};
use crate::domain::ids::{AccountId, TenantId};
use crate::domain::model::{Account, AccountKind, Role};
use crate::domain::names::DisplayName;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::paging::Resource;
use crate::store::{Conn, accounts, api_keys, memberships, tenants};

/// `create_service_account`'s command; the tenant defaults to the caller's.
pub struct NewServiceAccount {
    pub name: DisplayName,
    pub tenant: Option<TenantId>,
    pub role: Role,
}

/// `update_service_account`'s command.
pub struct Rename {
    pub account: AccountId,
    pub name: DisplayName,
}

/// A service account, its role in its tenant, and the first keys the
/// caller may see.
pub struct ServiceAccount {
    pub account: Account,
    pub role: Option<Role>,
    pub keys: Vec<Listed>,
}

/// Loads the service account `id`, checks that the caller may see it, and
/// returns it with the proof that the caller may `action` it.
fn service_account_for(
    env: &Env,
    tx: &Conn,
    p: &Principal,
    id: AccountId,
    action: Action,
) -> AppResult<(Account, Allowed)> {
    let account = accounts::get(tx, id)?
        .filter(|a| a.kind == AccountKind::Service)
        .ok_or(AppError::NotFound("service account"))?;
    let mut ents = caller_entities(p)?;
    add_account(tx, &mut ents, &account)?;
    let proof = env.session(p, &ents)?.check_named(
        Action::ReadAccount,
        "service account",
        action,
        &account_uid(account.id),
        RequestContext::Empty,
    )?;
    Ok((account, proof))
}

/// A tenant's service accounts the caller may see, oldest first, each with
/// its role and the first `keys_each` of the keys the caller may see (none:
/// not asked for).
pub fn list(
    env: &Env,
    caller: &Caller,
    tenant: Option<TenantId>,
    window: Window,
    keys_each: Option<usize>,
) -> AppResult<(TenantId, Vec<ServiceAccount>)> {
    let p = caller.key()?;
    let tenant = tenant.unwrap_or(p.tenant_id);
    env.store.read(|c| {
        let accounts = listing::page(
            env,
            p,
            c,
            (Action::ReadAccount, Resource::Account),
            window,
            |conds, l, o| accounts::service_accounts_page(c, p, tenant, conds, l, o),
            |c, rows| {
                let mut ents = caller_entities(p)?;
                let rows = rows
                    .into_iter()
                    .map(|(a, role): (Account, Option<Role>)| {
                        add_account(c, &mut ents, &a)?;
                        let uid = account_uid(a.id);
                        Ok(((a, role), uid))
                    })
                    .collect::<AppResult<Vec<_>>>()?;
                env.session(p, &ents)?.filter(Action::ReadAccount, rows)
            },
        )?;
        let ids: Vec<AccountId> = accounts.iter().map(|(a, _)| a.id).collect();
        let mut keys: HashMap<AccountId, Vec<Listed>> = HashMap::new();
        if let Some(n) = keys_each {
            for k in first_of(env, p, c, &ids, n)? {
                keys.entry(k.0.key.account_id).or_default().push(k);
            }
        }
        let rows = accounts
            .into_iter()
            .map(|(account, role)| ServiceAccount {
                keys: keys.remove(&account.id).unwrap_or_default(),
                account,
                role,
            })
            .collect();
        Ok((tenant, rows))
    })
}

/// What the audit log says of a change to the service account `a`.
fn account_change(a: &Account, details: serde_json::Value) -> Change {
    Change {
        resource_type: "service_account",
        resource_id: a.id.to_string(),
        tenant: a.tenant_id,
        details,
    }
}

pub fn create(env: &Env, caller: &Caller, new: NewServiceAccount) -> AppResult<Account> {
    let p = caller.key()?;
    let tenant = new.tenant.unwrap_or(p.tenant_id);
    let account = env.store.write(|w| {
        tenants::get(w, tenant)?.ok_or(AppError::NotFound("tenant"))?;
        let mut ents = caller_entities(p)?;
        let uid = ents.add_tenant(tenant);
        let proof = env.session(p, &ents)?.check_named(
            Action::ReadTenant,
            "tenant",
            Action::CreateServiceAccount,
            &uid,
            RequestContext::CreateServiceAccount { role: new.role },
        )?;
        let account = accounts::insert_service_account(w, &proof, tenant, &new.name, env.now)?;
        memberships::insert(w, &proof, tenant, account.id, new.role, env.now)?;
        let details = json!({ "name": account.name.as_str(), "role": new.role.as_str() });
        changes::allowed(w, env.now, &proof, account_change(&account, details))?;
        Ok(account)
    })?;
    tracing::info!(account = %account.id, tenant = %tenant, by = %p.account_id, "service account created");
    Ok(account)
}

pub fn update(env: &Env, caller: &Caller, r: Rename) -> AppResult<Account> {
    let p = caller.key()?;
    let Rename {
        account: account_id,
        name,
    } = r;
    env.store.write(|w| {
        let (mut account, proof) =
            service_account_for(env, w, p, account_id, Action::UpdateServiceAccount)?;
        accounts::rename(w, &proof, account.id, &name)?;
        let details = json!({ "from": account.name.as_str(), "name": name.as_str() });
        changes::allowed(w, env.now, &proof, account_change(&account, details))?;
        account.name = name;
        Ok(account)
    })
}

pub fn delete(env: &Env, caller: &Caller, account_id: AccountId) -> AppResult<()> {
    let p = caller.key()?;
    let revoked = env.store.write(|w| {
        let (account, proof) =
            service_account_for(env, w, p, account_id, Action::DeleteServiceAccount)?;
        let revoked = api_keys::revoke_all_of(w, &proof, account.id, env.now)?;
        accounts::delete(w, &proof, account.id)?;
        let details = json!({ "name": account.name.as_str(), "keys_revoked": revoked });
        changes::allowed(w, env.now, &proof, account_change(&account, details))?;
        Ok(revoked)
    })?;
    tracing::info!(account = %account_id, keys_revoked = revoked, by = %p.account_id, "service account deleted");
    Ok(())
}
