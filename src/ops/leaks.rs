//! What a leak report does, whoever sends it: a scanner whose signature
//! checked out (`POST /leaks`), or a caller's key (`report_leaked_api_keys`,
//! `keyward keys report-leak` without a signing key). Each live key
//! reported is revoked at once if Cedar allows (`RevokeLeakedApiKey`), the
//! key's tenant's audit log records it with the reported url and source,
//! and `api_key.leaked` goes to its webhooks, revoked or not. A whole
//! report is one transaction.
use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Caller, Env, add_account};
use crate::authz::{Action, Authorizer, EntitySet, RequestContext};
use crate::domain::api_key::{Token, TokenKind};
use crate::domain::events::EventType;
use crate::domain::model::KeyWithOwner;
use crate::domain::principal::Actor;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::leaks::{Label, Reported};
use crate::store::audit::{self, Event, Outcome};
use crate::store::{Store, Write, accounts, api_keys, webhooks};

/// Who reports.
#[derive(Clone, Copy)]
pub enum Reporter<'a> {
    /// A scanner, by the identifier of the public key it signed with.
    Scanner(&'a str),
    /// A caller's key: it reports only keys it may see; the others answer
    /// as if they did not exist.
    Key(&'a Principal),
}

impl Reporter<'_> {
    fn actor(&self) -> Option<Actor> {
        match self {
            Reporter::Scanner(_) => None,
            Reporter::Key(p) => Some(Actor::from(*p)),
        }
    }

    fn name(&self) -> String {
        match self {
            Reporter::Scanner(id) => format!("scanner {id}"),
            Reporter::Key(p) => format!("api key {}", p.key_id),
        }
    }
}

/// What became of one reported token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handled {
    pub label: Label,
    /// Revoked by this report (false: not a live key, or the policies kept it).
    pub revoked: bool,
}

const FALSE: Handled = Handled {
    label: Label::FalsePositive,
    revoked: false,
};

/// A caller's report (`report_leaked_api_keys`): what its key may revoke
/// is revoked; the rest answers as if it did not exist.
pub fn report_by_key(env: &Env, caller: &Caller, reported: &[Reported]) -> AppResult<Vec<Handled>> {
    let p = caller.key()?;
    handle(&env.store, &env.authz, env.now, Reporter::Key(p), reported)
}

/// Handles every token of `reported` in one transaction.
pub fn handle(
    store: &Store,
    authz: &Authorizer,
    now: DateTime<Utc>,
    reporter: Reporter<'_>,
    reported: &[Reported],
) -> AppResult<Vec<Handled>> {
    store.write(|w| {
        reported
            .iter()
            .map(|r| one(w, authz, now, reporter, r))
            .collect()
    })
}

fn one(
    w: &Write,
    authz: &Authorizer,
    now: DateTime<Utc>,
    reporter: Reporter<'_>,
    r: &Reported,
) -> AppResult<Handled> {
    // Not a key's shape or checksum: no lookup at all.
    let token = match Token::parse(r.token.trim()) {
        Ok(t) if t.kind() != TokenKind::Invitation => t,
        _ => return Ok(FALSE),
    };
    let hash = token.hash();
    let Some(key) = api_keys::find_by_hash(w, &hash)? else {
        // A key revoked before (by a person, or an earlier report) is still
        // one of ours; a key reports only on those Cedar lets it see, as it
        // would see them alive.
        let known = match api_keys::revocation(w, &hash)? {
            None => false,
            Some(gone) => match reporter {
                Reporter::Scanner(_) => true,
                Reporter::Key(p) => may_see_revoked(w, authz, now, p, &gone)?,
            },
        };
        return Ok(Handled {
            label: if known {
                Label::TruePositive
            } else {
                Label::FalsePositive
            },
            revoked: false,
        });
    };
    let context = RequestContext::RevokeLeakedApiKey {
        url: r.url.clone(),
        source: r.source.clone(),
    };
    let decision = match reporter {
        Reporter::Scanner(id) => {
            let mut ents = EntitySet::new();
            let principal = ents.leak_reporter(id)?;
            let resource = owner_and_key(w, &mut ents, &key)?;
            authz.session_as(principal, &ents, now)?.check(
                Action::RevokeLeakedApiKey,
                &resource,
                context,
            )
        }
        Reporter::Key(p) => {
            let mut ents = EntitySet::for_caller(p);
            let resource = owner_and_key(w, &mut ents, &key)?;
            let session = authz.session(p, &ents, now)?;
            if session
                .check_visible(Action::ReadApiKey, &resource, "api key")
                .is_err()
            {
                return Ok(FALSE);
            }
            session.check(Action::RevokeLeakedApiKey, &resource, context)
        }
    };
    let k = &key.key;
    let revoked = match &decision {
        Ok(proof) => api_keys::revoke_leaked(w, proof, k.id, now)?,
        Err(AppError::Forbidden { .. }) => false,
        Err(e) => return Err(AppError::internal(e.public_message())),
    };
    let details = json!({
        "name": k.name.as_str(),
        "owner": k.account_id.to_string(),
        "url": r.url,
        "source": r.source,
        "type": r.kind,
        "reporter": reporter.name(),
        "revoked": revoked,
    });
    tracing::warn!(key_id = %k.id, tenant = %k.tenant_id, url = %r.url, revoked, "a key was reported leaked");
    // The tenant hears of it, revoked or not.
    let actor = reporter.actor();
    let mut object = details.clone();
    object["id"] = json!(k.id.to_string());
    webhooks::fire(w, EventType::ApiKeyLeaked, now, k.tenant_id, actor, object)?;
    let mut event = Event::of(now, Some(k.tenant_id), "api_key", k.id.to_string(), details);
    event.request_id = Some(uuid::Uuid::new_v4().simple().to_string());
    match decision {
        Ok(proof) => audit::record(w, &proof, event)?,
        Err(AppError::Forbidden { policies, message }) => audit::refusal(
            w,
            &Event {
                action: Action::RevokeLeakedApiKey.name().to_owned(),
                actor_key: actor.map(|a| a.key_id),
                actor_account: actor.map(|a| a.account_id),
                outcome: Outcome::Denied,
                policies,
                message: Some(message),
                ..event
            },
        )?,
        Err(e) => return Err(e),
    }
    Ok(Handled {
        label: Label::TruePositive,
        revoked,
    })
}

/// Whether Cedar lets `p` see the revoked key `gone` (`ReadApiKey` on the
/// key as it was, its owner's role there gone with it).
fn may_see_revoked(
    w: &Write,
    authz: &Authorizer,
    now: DateTime<Utc>,
    p: &Principal,
    gone: &api_keys::RevokedKey,
) -> AppResult<bool> {
    let (Some(owner), Some(tenant)) = (gone.owner, gone.tenant) else {
        return Ok(false);
    };
    let Some(owner) = accounts::get(w, owner)? else {
        return Ok(false);
    };
    let mut ents = EntitySet::for_caller(p);
    add_account(w, &mut ents, &owner)?;
    let uid = ents.revoked_key(gone.id, &owner, tenant)?;
    authz
        .session(p, &ents, now)?
        .allows(Action::ReadApiKey, &uid)
}

/// Adds `key` and its owner to `ents`; returns the key's uid.
fn owner_and_key(
    w: &Write,
    ents: &mut EntitySet,
    key: &KeyWithOwner,
) -> AppResult<cedar_policy::EntityUid> {
    if let Some(owner) = accounts::get(w, key.key.account_id)? {
        add_account(w, ents, &owner)?;
    }
    ents.api_key(key)
}
