//! `GET /auth/verify`: key checks for other services, behind nginx's
//! `auth_request` or any proxy's forward-auth. 200 with the caller's identity
//! in `X-Keyward-*` headers, or 401. A cached key needs no blocking hop.
use actix_web::http::header::{HeaderName, HeaderValue, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::auth::bearer;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};

// The hot path: names made once, not parsed and case-folded per request.
const USER_ID: HeaderName = HeaderName::from_static("x-keyward-user-id");
const TENANT_ID: HeaderName = HeaderName::from_static("x-keyward-tenant-id");
const ROLE: HeaderName = HeaderName::from_static("x-keyward-role");
const KEY_ID: HeaderName = HeaderName::from_static("x-keyward-key-id");

/// An id as a header value, formatted on the stack.
fn id_value(id: uuid::Uuid) -> HeaderValue {
    let mut buf = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn allowed(p: &Principal) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((USER_ID, id_value(p.account_id.into())))
        .insert_header((TENANT_ID, id_value(p.tenant_id.into())))
        .insert_header((ROLE, HeaderValue::from_static(p.role.as_str())))
        .insert_header((KEY_ID, id_value(p.key_id.into())))
        .finish()
}

/// RFC 6750: no credentials get a bare challenge; bad ones say why.
fn refused(e: &AppError) -> HttpResponse {
    HttpResponse::build(e.http_status())
        .insert_header((WWW_AUTHENTICATE, e.bearer_challenge()))
        .finish()
}

pub async fn verify(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let token = match bearer(&req) {
        None => {
            return HttpResponse::Unauthorized()
                .insert_header((WWW_AUTHENTICATE, "Bearer realm=\"keyward\""))
                .finish();
        }
        Some(Err(e)) => {
            state.verifier.malformed(state.clock.now());
            return refused(&e);
        }
        Some(Ok(t)) => t,
    };
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
    match answer {
        Ok(p) => {
            state.verifier.record_use(p.key_id, now);
            allowed(&p)
        }
        Err(e @ AppError::Unauthenticated(_)) => refused(&e),
        Err(e) => HttpResponse::build(e.http_status()).body(e.public_message()),
    }
}
