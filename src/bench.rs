//! Helpers for `make bench`: a database with many keys and service
//! accounts, made quickly.
use chrono::{DateTime, Utc};

use crate::authz::Action;
use crate::bootstrap::{self, Bootstrapped};
use crate::domain::model::{AccountKind, Role};
use crate::domain::names::Email;
use crate::error::{AppError, AppResult};
use crate::store::Store;

/// What to load.
pub struct Spec {
    /// Keys in the tenant: half the admin's own, half spread over the
    /// service accounts.
    pub keys: usize,
    pub service_accounts: usize,
    /// How many of the admin's secrets to hand back (for a load generator
    /// to pick from).
    pub sample: usize,
}

/// What was loaded: the admin, and a key for each kind of caller.
pub struct Loaded {
    pub boot: Bootstrapped,
    /// A USER member with a few keys of its own.
    pub user_key: String,
    /// A key of the first service account (role USER), which holds ten.
    pub robot_key: String,
    pub samples: Vec<String>,
}

/// Initialises an empty database and loads `spec` into its tenant, in one
/// transaction.
pub fn load(store: &Store, spec: &Spec, now: DateTime<Utc>) -> AppResult<Loaded> {
    let boot = bootstrap::if_empty(store, now)?
        .ok_or_else(|| AppError::Conflict("load keys into an empty database only".into()))?;
    let tenant = boot.tenant_id;
    let email = Email::parse("user@bench")?;
    let (user, user_key) = bootstrap::add_member(store, tenant, &email, Role::User, now)?;
    let admin = (boot.user_id, AccountKind::User);
    let mut samples = Vec::with_capacity(spec.sample.min(spec.keys));
    let robot_key = store.write(|w| {
        for i in 0..9 {
            bootstrap::operator_key(
                w,
                (user, AccountKind::User),
                tenant,
                &format!("user {i}"),
                now,
            )?;
        }
        let mut robots = Vec::with_capacity(spec.service_accounts);
        for i in 0..spec.service_accounts {
            let sa = bootstrap::operator_service_account(
                w,
                tenant,
                &format!("robot {i}"),
                Role::User,
                now,
            )?;
            robots.push((sa, AccountKind::Service));
        }
        // The first service account's own ten keys, whatever else it holds.
        let first = *robots
            .first()
            .ok_or_else(|| AppError::Invalid("the bench needs a service account".into()))?;
        let mut robot_key = None;
        for i in 0..10 {
            let t = bootstrap::operator_key(w, first, tenant, &format!("robot {i}"), now)?;
            robot_key.get_or_insert_with(|| t.expose().to_owned());
        }
        for i in 0..spec.keys {
            let owner = match i % 2 {
                1 => robots[(i / 2) % robots.len()],
                _ => admin,
            };
            let token = bootstrap::operator_key(w, owner, tenant, &format!("bench {i}"), now)?;
            if owner == admin && samples.len() < spec.sample {
                samples.push(token.expose().to_owned());
            }
        }
        let details =
            serde_json::json!({ "keys": spec.keys, "service_accounts": spec.service_accounts });
        let loaded = ("api_key", "bench".to_owned());
        bootstrap::operator_event(w, Action::CreateApiKey, loaded, Some(tenant), details, now)?;
        robot_key.ok_or_else(|| AppError::Invalid("no robot key".into()))
    })?;
    Ok(Loaded {
        boot,
        user_key: user_key.expose().to_owned(),
        robot_key,
        samples,
    })
}
