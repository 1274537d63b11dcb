//! `POST /leaks`: secret scanners (GitHub's partner program, or your own
//! via `keyward keys report-leak`) report keys found in public. A report
//! signed by a configured key revokes every live key in it at once (Cedar
//! action `RevokeLeakedApiKey`, principal the `LeakReporter`), records the
//! revocation with the reported url and source in the key's tenant's audit
//! log, fires `api_key.leaked`, and labels each token. A token that is not
//! even a keyward key's shape or checksum costs no lookup.
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::AppState;
use crate::authz::{Action, EntitySet, RequestContext};
use crate::domain::api_key::{Token, TokenKind};
use crate::error::{AppError, AppResult};
use crate::leaks::{self, Answer, Label, Reported};
use crate::store::audit::{self, Event, Outcome};
use crate::store::{Write, api_keys, webhooks};
use crate::webhooks::{EventType, events};

const KEY_ID: &str = "github-public-key-identifier";
const SIGNATURE: &str = "github-public-key-signature";

fn refused(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

pub async fn report(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let header = |name: &str| {
        let mut all = req.headers().get_all(name);
        match (all.next(), all.next()) {
            (Some(v), None) => v.to_str().ok().map(str::to_owned),
            _ => None,
        }
    };
    let Some(keys) = state.leak_keys.clone() else {
        return refused(
            StatusCode::UNAUTHORIZED,
            "this server takes no leak reports: its operator configured no scanner keys (--leak-report-keys)",
        );
    };
    let (Some(key_id), Some(signature)) = (header(KEY_ID), header(SIGNATURE)) else {
        return refused(
            StatusCode::UNAUTHORIZED,
            "a report must be signed: one Github-Public-Key-Identifier and one Github-Public-Key-Signature header",
        );
    };
    if let Err(why) = keys.verify(&key_id, &signature, &body) {
        tracing::warn!(key_id = %key_id, %why, "leak report refused: bad signature");
        return refused(
            StatusCode::UNAUTHORIZED,
            &format!("the report's signature is refused: {why}"),
        );
    }
    let reported = match leaks::parse_report(&body) {
        Ok(r) => r,
        Err(why) => return refused(StatusCode::BAD_REQUEST, &why),
    };
    let state = state.into_inner();
    let answers = web::block(move || {
        reported
            .iter()
            .map(|r| Ok(Answer::new(r, handle(&state, &key_id, r)?)))
            .collect::<AppResult<Vec<_>>>()
    })
    .await;
    match answers {
        Ok(Ok(answers)) => HttpResponse::Ok().json(answers),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "a leak report could not be handled");
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "the report could not be handled now; send it again",
            )
        }
        Err(_) => refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "the report could not be handled now; send it again",
        ),
    }
}

/// One reported token: revoked if it is a live key (and the policies
/// allow), labelled either way.
fn handle(state: &AppState, reporter: &str, r: &Reported) -> AppResult<Label> {
    let token = match Token::parse(r.token.trim()) {
        Ok(t) if t.kind() != TokenKind::Invitation => t,
        _ => return Ok(Label::FalsePositive),
    };
    let hash = token.hash();
    let now = state.clock.now();
    let authz = state.policies.current();
    state.store.write(|w| {
        let Some(key) = api_keys::find_by_hash(w, &hash)? else {
            // A key revoked before (by a person, or an earlier report) is
            // still one of ours.
            let known = api_keys::revocation(w, &hash)?.is_some();
            return Ok(if known { Label::TruePositive } else { Label::FalsePositive });
        };
        let mut ents = EntitySet::new();
        let principal = ents.leak_reporter(reporter)?;
        // The owner as far as this key shows it: its kind, and membership
        // of the key's tenant while it is a member there.
        let member_of: &[_] = match key.owner_role {
            Some(_) => &[key.key.tenant_id],
            None => &[],
        };
        ents.account(key.key.account_id, key.owner_kind, key.owner_server_admin, member_of)?;
        let resource = ents.api_key(&key)?;
        let context = RequestContext::RevokeLeakedApiKey {
            url: r.url.clone(),
            source: r.source.clone(),
        };
        let decision = authz
            .session_as(principal, &ents, now)?
            .check(Action::RevokeLeakedApiKey, &resource, context);
        let k = &key.key;
        let mut details = json!({
            "name": k.name.as_str(),
            "owner": k.account_id.to_string(),
            "url": r.url,
            "source": r.source,
            "type": r.kind,
            "reporter": reporter,
        });
        let (outcome, policies, message) = match &decision {
            Ok(proof) => {
                api_keys::revoke_leaked(w, proof, k.id, now)?;
                (Outcome::Allowed, proof.policies().to_vec(), None)
            }
            Err(AppError::Forbidden { policies, message }) => {
                (Outcome::Denied, policies.clone(), Some(message.clone()))
            }
            Err(e) => return Err(AppError::internal(e.public_message())),
        };
        details["revoked"] = json!(decision.is_ok());
        tracing::warn!(key_id = %k.id, tenant = %k.tenant_id, url = %r.url, revoked = decision.is_ok(), "a key was reported leaked");
        announce(w, now, k.tenant_id, k.id.to_string(), &details)?;
        audit::append(
            w,
            &Event {
                at: now,
                request_id: Some(uuid::Uuid::new_v4().simple().to_string()),
                actor_key: None,
                actor_account: None,
                tenant: Some(k.tenant_id),
                action: Action::RevokeLeakedApiKey.name().to_owned(),
                resource_type: "api_key".to_owned(),
                resource_id: Some(k.id.to_string()),
                outcome,
                policies,
                details,
                message,
            },
        )?;
        Ok(Label::TruePositive)
    })
}

/// `api_key.leaked`, revoked or not: the tenant hears of it either way.
fn announce(
    w: &Write,
    now: chrono::DateTime<chrono::Utc>,
    tenant: crate::domain::ids::TenantId,
    key_id: String,
    details: &serde_json::Value,
) -> AppResult<()> {
    let event = EventType::ApiKeyLeaked;
    let mut object = details.clone();
    object["id"] = json!(key_id);
    let body = events::body(event, uuid::Uuid::new_v4(), now, tenant, None, object);
    webhooks::emit(w, tenant, event, &body, now)?;
    Ok(())
}
