//! Making the first tenant, admin and key: on an empty database at `serve`,
//! or on request with `keyward init`. This is the operator acting on the local
//! database, so no policy is asked: the proofs say so (`Allowed::operator`,
//! with the warrant only this file makes). The keys made here are the one
//! exception to "every key is decided as CreateApiKey": they never expire
//! unless the operator gives them an expiry (`--key-expires-in`).
use chrono::{DateTime, Utc};

use crate::authz::{Action, Allowed, OperatorAct};
use crate::domain::api_key::Token;
use crate::domain::ids::{AccountId, TenantId};
use crate::domain::model::{AccountKind, Role, Tenant, Via};
use crate::domain::names::{DisplayName, Email, Slug};
use crate::error::{AppError, AppResult};
use crate::store::api_keys::NewKey;
use serde_json::json;

use crate::store::audit::{self, Event};
use crate::store::{Store, Write, accounts, api_keys, memberships, tenants};

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
    /// When the admin's first key expires; `None`: never.
    pub key_expires_at: Option<DateTime<Utc>>,
}

impl InitSpec {
    /// What `serve` makes on an empty database.
    pub fn default_tenant() -> AppResult<Self> {
        Ok(Self {
            tenant_slug: Slug::parse("default")?,
            tenant_name: DisplayName::parse("tenant name", "Default")?,
            admin_email: Email::parse("admin@localhost")?,
            key_expires_at: None,
        })
    }
}

/// The operator's proof for `action`.
fn by_operator(action: Action) -> Allowed {
    Allowed::operator(&OperatorAct::on_the_local_database(), action)
}

/// A key for `owner` (a user unless `kind` says otherwise) in `tenant`,
/// made by the operator; it never expires.
pub fn operator_key(
    w: &Write,
    owner: (AccountId, AccountKind),
    tenant: TenantId,
    name: &str,
    now: DateTime<Utc>,
) -> AppResult<Token> {
    operator_key_until(w, owner, tenant, name, None, now)
}

/// `operator_key`, expiring at `expires_at`.
fn operator_key_until(
    w: &Write,
    (owner, kind): (AccountId, AccountKind),
    tenant: TenantId,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<Token> {
    let name = DisplayName::parse("key name", name)?;
    let new = NewKey {
        name: &name,
        owner,
        owner_kind: kind,
        tenant,
        created_by: Some(owner),
        expires_at,
        role: None,
        rotated_from: None,
        via: Via::Operator,
    };
    let (_, token) = api_keys::mint(w, &by_operator(Action::CreateApiKey), new, now)?;
    Ok(token)
}

/// Records the operator's change in the audit log (no key, no policy:
/// the operator acts on the local database).
pub fn operator_event(
    w: &Write,
    action: Action,
    resource: (&str, String),
    tenant: Option<TenantId>,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let event = Event::of(now, tenant, resource.0, resource.1, details);
    recorded(w, &by_operator(action), event)
}

/// Records `event`, allowed by the operator's proof `by`.
fn recorded(w: &Write, by: &Allowed, mut event: Event) -> AppResult<()> {
    event.message = Some(audit::BY_OPERATOR.into());
    audit::record(w, by, event)
}

/// Records that the operator made `tenant` (with the proof `by`), run by
/// `admin`.
fn tenant_made(
    w: &Write,
    by: &Allowed,
    tenant: &Tenant,
    admin: AccountId,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let details = json!({ "slug": tenant.slug.as_str(), "admin": admin.to_string() });
    recorded(
        w,
        by,
        Event::of(
            now,
            Some(tenant.id),
            "tenant",
            tenant.id.to_string(),
            details,
        ),
    )
}

/// Initialises an empty database; refuses one that already has a tenant.
pub fn init(store: &Store, spec: &InitSpec, now: DateTime<Utc>) -> AppResult<Bootstrapped> {
    store.write(|w| {
        if tenants::count(w)? > 0 {
            return Err(AppError::Conflict(
                "the database is already initialised".to_owned(),
            ));
        }
        let by = by_operator(Action::CreateTenant);
        let tenant = tenants::insert(w, &by, &spec.tenant_name, &spec.tenant_slug, now)?;
        let admin = accounts::insert_user(w, &by, &spec.admin_email, true, now)?;
        memberships::insert(w, &by, tenant.id, admin.id, Role::TenantAdmin, now)?;
        let owner = (admin.id, admin.kind);
        let api_key =
            operator_key_until(w, owner, tenant.id, "bootstrap", spec.key_expires_at, now)?;
        tenant_made(w, &by, &tenant, admin.id, now)?;
        Ok(Bootstrapped {
            tenant_id: tenant.id,
            user_id: admin.id,
            api_key,
        })
    })
}

/// `init` with the defaults, if and only if the database is empty.
pub fn if_empty(store: &Store, now: DateTime<Utc>) -> AppResult<Option<Bootstrapped>> {
    match init(store, &InitSpec::default_tenant()?, now) {
        Ok(b) => Ok(Some(b)),
        Err(AppError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Adds a tenant with a first admin (a new user, or an existing one made its
/// admin) and a key for that admin in the new tenant, in one transaction.
/// The operator may give an existing account a new tenant; an API caller may
/// not (invitations never hand out existing accounts).
pub fn add_tenant(store: &Store, spec: &InitSpec, now: DateTime<Utc>) -> AppResult<Bootstrapped> {
    store.write(|w| {
        let by = by_operator(Action::CreateTenant);
        let tenant = tenants::insert(w, &by, &spec.tenant_name, &spec.tenant_slug, now)?;
        let admin = (&spec.admin_email, Role::TenantAdmin);
        let (user_id, api_key) = member_with_key(w, tenant.id, admin, spec.key_expires_at, now)?;
        tenant_made(w, &by, &tenant, user_id, now)?;
        Ok(Bootstrapped {
            tenant_id: tenant.id,
            user_id,
            api_key,
        })
    })
}

/// The way back in after the only admin key is lost: a fresh key for
/// `email`, who must be a `TENANT_ADMIN` of the tenant `slug`, made by the
/// operator on the local database and recorded in that tenant's audit log
/// (`CreateApiKey`, via `operator`). Safe beside a running server: a new
/// key is in no cache, and the write takes the database's own lock.
pub fn admin_key(
    store: &Store,
    slug: &Slug,
    email: &Email,
    key_expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<Bootstrapped> {
    store.write(|w| {
        let tenant = tenants::find_by_slug(w, slug)?
            .ok_or_else(|| {
                AppError::Invalid(format!("no tenant has the slug {:?}", slug.as_str()))
            })?;
        let not_admin = || {
            AppError::Invalid(format!(
                "{email} is not a TENANT_ADMIN of {}: give an admin's e-mail (`keyward members list` names them)",
                slug.as_str()
            ))
        };
        let user = accounts::find_user_by_email(w, email)?.ok_or_else(not_admin)?;
        if memberships::role_of(w, user.id, tenant.id)? != Some(Role::TenantAdmin) {
            return Err(not_admin());
        }
        let owner = (user.id, user.kind);
        let api_key =
            operator_key_until(w, owner, tenant.id, "recovery key", key_expires_at, now)?;
        Ok(Bootstrapped {
            tenant_id: tenant.id,
            user_id: user.id,
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
    store.write(|w| {
        let (user, token) = member_with_key(w, tenant, (email, role), None, now)?;
        Ok((user, token))
    })
}

/// Makes `email` (new or existing) a member of `tenant` with `role`, records
/// it, and mints its first key there.
fn member_with_key(
    w: &Write,
    tenant: TenantId,
    (email, role): (&Email, Role),
    key_expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<(AccountId, Token)> {
    let by = by_operator(Action::AcceptInvitation);
    let user = accounts::find_or_create_user(w, &by, email, now)?;
    memberships::insert(w, &by, tenant, user.id, role, now)?;
    let details = json!({ "account": user.id.to_string(), "role": role.as_str() });
    recorded(
        w,
        &by,
        Event::of(now, Some(tenant), "account", user.id.to_string(), details),
    )?;
    let owner = (user.id, user.kind);
    let token = operator_key_until(w, owner, tenant, "first key", key_expires_at, now)?;
    Ok((user.id, token))
}

/// A service account of `tenant` with `role`, made by the operator (for
/// `make bench`'s database).
pub fn operator_service_account(
    w: &Write,
    tenant: TenantId,
    name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> AppResult<AccountId> {
    let by = by_operator(Action::CreateServiceAccount);
    let name = DisplayName::parse("name", name)?;
    let account = accounts::insert_service_account(w, &by, tenant, &name, now)?;
    memberships::insert(w, &by, tenant, account.id, role, now)?;
    let details = json!({ "name": name.as_str(), "role": role.as_str() });
    let id = account.id.to_string();
    recorded(
        w,
        &by,
        Event::of(now, Some(tenant), "service_account", id, details),
    )?;
    Ok(account.id)
}
