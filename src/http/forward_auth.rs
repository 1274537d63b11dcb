//! `GET /auth/verify`: key checks for other services, behind nginx's
//! `auth_request` or any proxy's forward-auth. 200 with the caller's identity
//! in `X-Keyward-*` headers; 401 for a missing or bad key; 403 when the
//! policies (`Forward`) refuse the original request, which the proxy names
//! in `X-Original-Method`, `X-Original-URI` and `X-Forwarded-Host`, and
//! 403 when those cannot be read as one request (`forwarded.rs`).
//! Refusals carry their reason in `X-Keyward-Reason` and in a JSON body of
//! Prefect's error shape. A cached key needs no blocking hop.
use actix_web::http::header::{HeaderName, HeaderValue, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::auth::bearer_or_basic;
use super::forwarded::Forwarded;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};

// The hot path: names made once, not parsed and case-folded per request.
const USER_ID: HeaderName = HeaderName::from_static("x-keyward-user-id");
const TENANT_ID: HeaderName = HeaderName::from_static("x-keyward-tenant-id");
const ROLE: HeaderName = HeaderName::from_static("x-keyward-role");
const KEY_ID: HeaderName = HeaderName::from_static("x-keyward-key-id");
const EXPIRES_AT: HeaderName = HeaderName::from_static("x-keyward-key-expires-at");
const ROUTE: HeaderName = HeaderName::from_static("x-keyward-route");

/// An id as a header value, formatted on the stack.
fn id_value(id: uuid::Uuid) -> HeaderValue {
    let mut buf = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// 200 with who is calling and, when the proxy named one, the route that
/// was decided (`X-Keyward-Route: GET /api/flows/42`, byte for byte as the
/// proxy sent it), for the proxy to log or to check against what it
/// forwards.
fn allowed(p: &Principal, route: Option<String>) -> HttpResponse {
    let mut r = HttpResponse::Ok();
    if let Some(v) = route.and_then(|r| HeaderValue::from_str(&r).ok()) {
        r.insert_header((ROUTE, v));
    }
    r.insert_header((USER_ID, id_value(p.account_id.into())))
        .insert_header((TENANT_ID, id_value(p.tenant_id.into())))
        .insert_header((ROLE, HeaderValue::from_static(p.role.as_str())))
        .insert_header((KEY_ID, id_value(p.key_id.into())));
    // When the key stops working, so that the service behind (or a client
    // it passes this on to) can warn before it does.
    if let Some(at) = p.key_expires_at {
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        if let Ok(v) = HeaderValue::from_str(&at) {
            r.insert_header((EXPIRES_AT, v));
        }
    }
    r.finish()
}

const REASON: HeaderName = HeaderName::from_static("x-keyward-reason");
const POLICIES: HeaderName = HeaderName::from_static("x-keyward-policies");

/// A refusal's reason: in a header (for the proxy to pass on) and in a
/// body shaped as Prefect's errors (its CLI prints the body).
fn explained(status: actix_web::http::StatusCode, reason: &str) -> actix_web::HttpResponseBuilder {
    let mut r = HttpResponse::build(status);
    let header = reason.replace(|c: char| c.is_control(), " ");
    if let Ok(v) = HeaderValue::from_str(&header) {
        r.insert_header((REASON, v));
    }
    r
}

fn detail(reason: &str) -> serde_json::Value {
    serde_json::json!({ "detail": format!("keyward: {reason}") })
}

/// RFC 6750: no credentials get a bare challenge; bad ones say why. Always
/// `Bearer`, even for Basic credentials: a browser shows no login dialog.
fn refused(e: &AppError) -> HttpResponse {
    let reason = e.public_message();
    explained(e.http_status(), &reason)
        .insert_header((WWW_AUTHENTICATE, e.bearer_challenge()))
        .json(detail(&reason))
}

fn denial(policies: &[String]) -> String {
    if policies.is_empty() {
        "no policy permits this request".to_owned()
    } else {
        format!("denied by {}", policies.join(", "))
    }
}

/// The proxied request the policies refused: 403, naming the policies.
fn forbidden(policies: &[String]) -> HttpResponse {
    let reason = denial(policies);
    let mut r = explained(actix_web::http::StatusCode::FORBIDDEN, &reason);
    if let Ok(v) = HeaderValue::from_str(&policies.join(",")) {
        r.insert_header((POLICIES, v));
    }
    r.json(serde_json::json!({ "detail": format!("keyward: {reason}"), "policies": policies }))
}

/// A forwarded request keyward cannot decide: 403 (nginx's auth_request
/// passes 401 and 403 on, and turns anything else into a 500), saying why.
fn unreadable(reason: &str) -> HttpResponse {
    let reason = format!("cannot decide this request: {reason}");
    explained(actix_web::http::StatusCode::FORBIDDEN, &reason).json(detail(&reason))
}

pub async fn verify(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let token = match bearer_or_basic(&req) {
        None => {
            let reason = "no API key: send `Authorization: Bearer <key>`";
            return explained(actix_web::http::StatusCode::UNAUTHORIZED, reason)
                .insert_header((WWW_AUTHENTICATE, "Bearer realm=\"keyward\""))
                .json(detail(reason));
        }
        Some(Err(e)) => {
            state.verifier.malformed(state.clock.now());
            return refused(&e);
        }
        Some(Ok(t)) => t,
    };
    // What the proxy says of the original request is read (and refused if
    // it cannot be) before anything is decided, cached key or not.
    let forwarded = match Forwarded::read(&req) {
        Ok(f) => f,
        Err(why) => return unreadable(&why),
    };
    let default_route = state.forward_default_route;
    let now = state.clock.now();
    let hash = token.hash();
    let answer: AppResult<Principal> = match state.verifier.cached(&hash, now) {
        Some(answer) => answer,
        None => {
            let state = state.clone();
            match web::block(move || state.verifier.verify(&hash, now)).await {
                Ok(answer) => answer,
                Err(e) => Err(AppError::internal(e)),
            }
        }
    };
    let route = || forwarded.route(default_route);
    let decided = answer.and_then(|p| {
        let verdict = state.policies.current().forward(&p, route, now)?;
        Ok((p, verdict))
    });
    match decided {
        Ok((_, Err(why))) => unreadable(&why),
        Ok((p, Ok(v))) if v.allowed => {
            state.verifier.record_use(p.key_id, now);
            allowed(&p, forwarded.decided(default_route))
        }
        Ok((p, Ok(v))) => {
            let Ok(r) = route() else {
                return unreadable("the route was read once and not again");
            };
            let why = format!("{} {}{}: {}", r.method, r.host, r.path, denial(&v.policies));
            state.verifier.forward_refused(&p, &why, &v.policies, now);
            forbidden(&v.policies)
        }
        Err(e @ AppError::Unauthenticated(_)) => refused(&e),
        Err(e) => explained(e.http_status(), &e.public_message()).json(detail(&e.public_message())),
    }
}
