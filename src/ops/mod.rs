//! The use cases: one function per operation, `ops::<feature>::<verb>(env,
//! caller, command)`. Each opens the unit of work, loads what it needs,
//! asks Cedar (`authz`) for a proof, and hands the proof to the store's
//! mutators, which record their own effects. The front doors (GraphQL in
//! `gql/`, the leak endpoint in `http/`) only parse, call one of these, and
//! present the answer: no use case is written twice. The operator's local
//! commands (`bootstrap.rs`) and the server's own background work
//! (housekeeping, the webhook workers) decide nothing and carry their own
//! warrants (`OperatorAct`, `SystemTask`) instead of a caller.
pub mod api_keys;
pub mod audit_events;
pub mod auth_info;
pub mod changes;
pub mod invitations;
pub mod key_lifecycle;
pub mod leaks;
pub mod listing;
pub mod memberships;
pub mod service_accounts;
pub mod tenants;
pub mod webhooks;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::authz::{Authorizer, EntitySet, Session};
use crate::domain::model::Account;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::{Conn, Store, memberships as member_rows};
use crate::verify::Verifier;

pub use self::listing::Strategy;

/// What every operation runs against: the store, the policies, the one
/// "now" of the request, and its id (in its audit events and its
/// `X-Request-Id`).
pub struct Env {
    pub store: Store,
    pub authz: Arc<Authorizer>,
    pub verifier: Arc<Verifier>,
    pub now: DateTime<Utc>,
    pub request_id: String,
    /// How lists are filtered: in SQL, except in the tests that compare it
    /// with the row-by-row reference.
    pub lists: Strategy,
    /// Webhooks may point at private addresses (`--webhook-allow-private`).
    pub webhooks_private: bool,
}

/// Who asks. A key acts in its own tenant with at most its own role; the
/// other kinds of caller (an invitation's holder, a scanner, the operator,
/// the server's own tasks) are named by the operations that take them, with
/// their own proof kinds.
#[derive(Clone, Debug)]
pub enum Caller {
    /// A request authenticated with an API key.
    Key(Principal),
    /// A request with no credential: it may introspect the schema, accept
    /// an invitation (its token is the credential) and nothing else.
    Anonymous,
}

impl Caller {
    pub fn from_principal(p: Option<Principal>) -> Self {
        p.map_or(Self::Anonymous, Self::Key)
    }

    /// The calling key, if the request carried one.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Self::Key(p) => Some(p),
            Self::Anonymous => None,
        }
    }

    /// The calling key, or the refusal of a request that needs one.
    pub fn key(&self) -> AppResult<&Principal> {
        self.principal().ok_or_else(|| {
            AppError::Unauthenticated(
                "No API key: send one as `Authorization: Bearer <key>`. Without a key only introspection is allowed."
                    .to_owned(),
            )
        })
    }
}

impl Env {
    pub fn new(
        store: Store,
        authz: Arc<Authorizer>,
        verifier: Arc<Verifier>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            store,
            authz,
            verifier,
            now,
            request_id: uuid::Uuid::new_v4().simple().to_string(),
            lists: Strategy::Sql,
            webhooks_private: false,
        }
    }

    /// Cedar for the calling key `p`, over `ents` (built from
    /// `caller_entities`), naming this request in its proofs.
    pub fn session(&self, p: &Principal, ents: &EntitySet) -> AppResult<Session<'_>> {
        Ok(self
            .authz
            .session(p, ents, self.now)?
            .in_request(&self.request_id))
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
        set.stored_account(account, &member_rows::tenants_of(conn, account.id)?)?;
    }
    Ok(())
}
