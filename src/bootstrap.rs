//! Making the first tenant, admin and key: on an empty database at `serve`,
//! or on request with `keyward init`. This is the operator acting on the local
//! database, so no policy is asked: the proofs say so (`Allowed::operator`).
use chrono::{DateTime, Utc};

use crate::authz::{Action, Allowed};
use crate::domain::api_key::Token;
use crate::domain::ids::{AccountId, TenantId};
use crate::domain::model::{AccountKind, Role, Tenant};
use crate::domain::names::{DisplayName, Email, Slug};
use crate::error::{AppError, AppResult};
use crate::store::api_keys::NewKey;
use serde_json::json;

use crate::store::audit::{self, Event, Outcome};
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
}

impl InitSpec {
    /// What `serve` makes on an empty database.
    pub fn default_tenant() -> AppResult<Self> {
        Ok(Self {
            tenant_slug: Slug::parse("default")?,
            tenant_name: DisplayName::parse("tenant name", "Default")?,
            admin_email: Email::parse("admin@localhost")?,
        })
    }
}

/// A key for `owner` (a user unless `kind` says otherwise) in `tenant`,
/// made by the operator.
pub fn operator_key(
    w: &Write,
    (owner, kind): (AccountId, AccountKind),
    tenant: TenantId,
    name: &str,
    now: DateTime<Utc>,
) -> AppResult<Token> {
    let name = DisplayName::parse("key name", name)?;
    let new = NewKey {
        name: &name,
        owner,
        owner_kind: kind,
        tenant,
        created_by: Some(owner),
        expires_at: None,
        role: None,
        rotated_from: None,
    };
    let (_, token) = api_keys::mint(w, &Allowed::operator(Action::CreateApiKey), new, now)?;
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
    audit::append(
        w,
        &Event {
            at: now,
            request_id: None,
            actor_key: None,
            actor_account: None,
            tenant,
            action: action.name().to_owned(),
            resource_type: resource.0.to_owned(),
            resource_id: Some(resource.1),
            outcome: Outcome::Allowed,
            policies: vec![],
            details,
            message: Some("by the operator, on the local database".into()),
        },
    )
}

/// Records that the operator made `tenant`, run by `admin`.
fn tenant_made(w: &Write, tenant: &Tenant, admin: AccountId, now: DateTime<Utc>) -> AppResult<()> {
    let details = json!({ "slug": tenant.slug.as_str(), "admin": admin.to_string() });
    let what = ("tenant", tenant.id.to_string());
    operator_event(w, Action::CreateTenant, what, Some(tenant.id), details, now)
}

/// Initialises an empty database; refuses one that already has a tenant.
pub fn init(store: &Store, spec: &InitSpec, now: DateTime<Utc>) -> AppResult<Bootstrapped> {
    store.write(|w| {
        if tenants::count(w)? > 0 {
            return Err(AppError::Conflict(
                "the database is already initialised".to_owned(),
            ));
        }
        let by = Allowed::operator(Action::CreateTenant);
        let tenant = tenants::insert(w, &by, &spec.tenant_name, &spec.tenant_slug, now)?;
        let admin = accounts::insert_user(w, &by, &spec.admin_email, true, now)?;
        memberships::insert(w, &by, tenant.id, admin.id, Role::TenantAdmin, now)?;
        let api_key = operator_key(w, (admin.id, admin.kind), tenant.id, "bootstrap", now)?;
        tenant_made(w, &tenant, admin.id, now)?;
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
        let by = Allowed::operator(Action::CreateTenant);
        let tenant = tenants::insert(w, &by, &spec.tenant_name, &spec.tenant_slug, now)?;
        let (user_id, api_key) =
            member_with_key(w, tenant.id, &spec.admin_email, Role::TenantAdmin, now)?;
        tenant_made(w, &tenant, user_id, now)?;
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
    store.write(|w| {
        let (user, token) = member_with_key(w, tenant, email, role, now)?;
        let details = json!({ "account": user.to_string(), "role": role.as_str() });
        operator_event(
            w,
            Action::AcceptInvitation,
            ("account", user.to_string()),
            Some(tenant),
            details,
            now,
        )?;
        Ok((user, token))
    })
}

fn member_with_key(
    w: &Write,
    tenant: TenantId,
    email: &Email,
    role: Role,
    now: DateTime<Utc>,
) -> AppResult<(AccountId, Token)> {
    let by = Allowed::operator(Action::AcceptInvitation);
    let user = accounts::find_or_create_user(w, &by, email, now)?;
    memberships::insert(w, &by, tenant, user.id, role, now)?;
    let token = operator_key(w, (user.id, user.kind), tenant, "first key", now)?;
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
    let by = Allowed::operator(Action::CreateServiceAccount);
    let name = DisplayName::parse("name", name)?;
    let account = accounts::insert_service_account(w, &by, tenant, &name, now)?;
    memberships::insert(w, &by, tenant, account.id, role, now)?;
    let details = json!({ "name": name.as_str(), "role": role.as_str() });
    operator_event(
        w,
        Action::CreateServiceAccount,
        ("service_account", account.id.to_string()),
        Some(tenant),
        details,
        now,
    )?;
    Ok(account.id)
}
