//! What every resolver gets: who is calling, the store, the policies and the
//! request's one "now".
use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::inputs::OrderBy;
use crate::authz::{Authorizer, EntitySet, Session};
use crate::domain::model::Account;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::{Store, memberships};
use crate::verify::Verifier;

pub struct Context {
    principal: Option<Principal>,
    pub store: Store,
    pub authz: Arc<Authorizer>,
    pub verifier: Arc<Verifier>,
    pub now: DateTime<Utc>,
}

impl juniper::Context for Context {}

/// The most rows one list field returns.
pub const MAX_LIST: i32 = 1_000;

impl Context {
    /// `principal` is `None` for a request without a key: it may introspect
    /// the schema and nothing else.
    pub fn new(
        principal: Option<Principal>,
        store: Store,
        authz: Arc<Authorizer>,
        verifier: Arc<Verifier>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            principal,
            store,
            authz,
            verifier,
            now,
        }
    }

    /// The calling key, if the request carried one.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// Cedar for the calling key, over `ents` (built from `caller_entities`).
    pub fn session(&self, ents: &EntitySet) -> AppResult<Session<'_>> {
        self.authz.session(self.caller()?, ents, self.now)
    }

    pub fn caller(&self) -> AppResult<&Principal> {
        self.principal.as_ref().ok_or_else(|| {
            AppError::Unauthenticated(
                "No API key: send one as `Authorization: Bearer <key>`. Without a key only introspection is allowed."
                    .to_owned(),
            )
        })
    }
}

/// The calling key and its owner, as Cedar entities.
pub fn caller_entities(conn: &Connection, p: &Principal) -> AppResult<EntitySet> {
    let mut set = EntitySet::new();
    set.principal(p)?;
    set.account(
        p.account_id,
        p.account_kind,
        p.server_admin,
        &memberships::tenants_of(conn, p.account_id)?,
    )?;
    Ok(set)
}

/// Adds `account` (with its memberships) unless it is already there.
pub fn add_account(conn: &Connection, set: &mut EntitySet, account: &Account) -> AppResult<()> {
    if !set.has_account(account.id) {
        set.stored_account(account, &memberships::tenants_of(conn, account.id)?)?;
    }
    Ok(())
}

/// Checks a `limit` argument against `MAX_LIST`.
pub fn limit(raw: Option<i32>) -> AppResult<usize> {
    match raw.unwrap_or(MAX_LIST) {
        n @ 0..=MAX_LIST => Ok(n as usize),
        n => Err(AppError::Invalid(format!(
            "limit must be between 0 and {MAX_LIST}, not {n}"
        ))),
    }
}

/// A sort key and its direction, as given in an `order_by` argument.
pub type SortKey<T> = (OrderBy, fn(&T, &T) -> Ordering);

/// An `order_by` input: the sort keys it names, in order.
pub trait SortKeys<T> {
    fn sort_keys(&self) -> Vec<SortKey<T>>;
}

/// Sorts by every key of every `order_by` entry, in order. A stable sort, so
/// ties keep the store's order.
pub fn sort<T, O: SortKeys<T>>(items: &mut [T], order_by: Option<Vec<O>>) {
    let keys: Vec<SortKey<T>> = order_by
        .unwrap_or_default()
        .iter()
        .flat_map(SortKeys::sort_keys)
        .collect();
    items.sort_by(|a, b| {
        keys.iter()
            .map(|(dir, cmp)| match dir {
                OrderBy::Asc => cmp(a, b),
                OrderBy::Desc => cmp(a, b).reverse(),
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
}
