//! What every resolver gets: who is calling, the store, the policies and the
//! request's one "now".
use std::sync::Arc;

use crate::store::Conn;
use chrono::{DateTime, Utc};

use super::listing::Strategy;
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
    /// How lists are filtered: in SQL, except in the tests that compare it
    /// with the row-by-row reference.
    pub lists: Strategy,
    /// This request's id, in its audit events and its `X-Request-Id`.
    pub request_id: String,
    /// Webhooks may point at private addresses (`--webhook-allow-private`).
    pub webhooks_private: bool,
}

impl juniper::Context for Context {}

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
            lists: Strategy::Sql,
            request_id: uuid::Uuid::new_v4().simple().to_string(),
            webhooks_private: false,
        }
    }

    /// The same context, letting webhooks point at private addresses.
    pub fn allowing_private_webhooks(self, allow: bool) -> Self {
        Self {
            webhooks_private: allow,
            ..self
        }
    }

    /// The same context, filtering lists with `lists`.
    pub fn with_lists(self, lists: Strategy) -> Self {
        Self { lists, ..self }
    }

    /// The calling key, if the request carried one.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// Cedar for the calling key, over `ents` (built from `caller_entities`).
    pub fn session(&self, ents: &EntitySet) -> AppResult<Session<'_>> {
        Ok(self
            .authz
            .session(self.caller()?, ents, self.now)?
            .in_request(&self.request_id))
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

/// The calling key and its owner, as Cedar entities: from the verified
/// principal alone (its tenants are cached with it), built once per caller.
pub fn caller_entities(p: &Principal) -> AppResult<EntitySet> {
    Ok(EntitySet::for_caller(p))
}

/// Adds `account` (with its memberships) unless it is already there.
pub fn add_account(conn: &Conn, set: &mut EntitySet, account: &Account) -> AppResult<()> {
    if !set.has_account(account.id) {
        set.stored_account(account, &memberships::tenants_of(conn, account.id)?)?;
    }
    Ok(())
}
