//! Making the first tenant, admin and key: on an empty database at `serve`,
//! or on request with `keyward init`. This is the operator acting on the local
//! database, so no policy is asked.
use chrono::{DateTime, Utc};

use crate::domain::api_key::Token;
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::domain::model::{AccountKind, ApiKey, Role};
use crate::domain::names::{DisplayName, Email, Slug};
use crate::error::{AppError, AppResult};
use crate::store::{Store, accounts, api_keys, memberships, tenants};

/// What `init` made. `api_key` is the only copy of the secret there will be.
#[derive(Clone, Debug)]
pub struct Bootstrapped {
    pub tenant_id: TenantId,
    pub user_id: AccountId,
    pub api_key: Token,
}

/// The tenant and admin to create.
pub struct InitSpec {
    pub tenant_slug: Slug,
    pub tenant_name: DisplayName,
    pub admin_email: Email,
}

impl Default for InitSpec {
    fn default() -> Self {
        Self {
            tenant_slug: Slug::parse("default").expect("valid slug"),
            tenant_name: DisplayName::parse("tenant name", "Default").expect("valid name"),
            admin_email: Email::parse("admin@localhost").expect("valid e-mail"),
        }
    }
}

fn new_key(
    tx: &rusqlite::Connection,
    owner: AccountId,
    tenant: TenantId,
    name: &str,
    now: DateTime<Utc>,
) -> AppResult<Token> {
    let token = Token::generate(AccountKind::User);
    let key = ApiKey {
        id: KeyId::random(),
        name: name.to_owned(),
        account_id: owner,
        tenant_id: tenant,
        created_by: Some(owner),
        created_at: now,
        expires_at: None,
        last_used_at: None,
    };
    api_keys::insert(tx, &key, &token.hash())?;
    Ok(token)
}

/// Initialises an empty database; refuses one that already has a tenant.
pub fn init(store: &Store, spec: &InitSpec, now: DateTime<Utc>) -> AppResult<Bootstrapped> {
    store.write(|tx| {
        if tenants::count(tx)? > 0 {
            return Err(AppError::Conflict(
                "the database is already initialised".to_owned(),
            ));
        }
        let tenant = tenants::insert(tx, &spec.tenant_name, &spec.tenant_slug, now)?;
        let admin = accounts::insert_user(tx, &spec.admin_email, true, now)?;
        memberships::insert(tx, tenant.id, admin.id, Role::TenantAdmin, now)?;
        let api_key = new_key(tx, admin.id, tenant.id, "bootstrap", now)?;
        Ok(Bootstrapped {
            tenant_id: tenant.id,
            user_id: admin.id,
            api_key,
        })
    })
}

/// `init` with the defaults, if and only if the database is empty.
pub fn if_empty(store: &Store, now: DateTime<Utc>) -> AppResult<Option<Bootstrapped>> {
    match init(store, &InitSpec::default(), now) {
        Ok(b) => Ok(Some(b)),
        Err(AppError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Adds a tenant with a first admin (a new user, or an existing one made its
/// admin) and a key for that admin in the new tenant, in one transaction.
pub fn add_tenant(store: &Store, spec: &InitSpec, now: DateTime<Utc>) -> AppResult<Bootstrapped> {
    store.write(|tx| {
        let tenant = tenants::insert(tx, &spec.tenant_name, &spec.tenant_slug, now)?;
        let (user_id, api_key) =
            member_with_key(tx, tenant.id, &spec.admin_email, Role::TenantAdmin, now)?;
        Ok(Bootstrapped {
            tenant_id: tenant.id,
            user_id,
            api_key,
        })
    })
}

/// Makes `email` (a new or an existing user) a member of `tenant` with `role`
/// and gives them a key for that tenant.
pub fn add_member(
    store: &Store,
    tenant: TenantId,
    email: &Email,
    role: Role,
    now: DateTime<Utc>,
) -> AppResult<(AccountId, Token)> {
    store.write(|tx| member_with_key(tx, tenant, email, role, now))
}

fn member_with_key(
    tx: &rusqlite::Connection,
    tenant: TenantId,
    email: &Email,
    role: Role,
    now: DateTime<Utc>,
) -> AppResult<(AccountId, Token)> {
    let user = match accounts::find_user_by_email(tx, email)? {
        Some(a) => a.id,
        None => accounts::insert_user(tx, email, false, now)?.id,
    };
    memberships::insert(tx, tenant, user, role, now)?;
    let token = new_key(tx, user, tenant, "first key", now)?;
    Ok((user, token))
}
