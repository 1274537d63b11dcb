//! `POST /leaks`: secret scanners (GitHub's partner program, or your own
//! via `keyward keys report-leak --signing-key`) report keys found in
//! public. A report signed by a configured key is handled by
//! `ops::leaks` (principal: the `LeakReporter`), and each token
//! labelled; anything else is refused with 401 and changes nothing.
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::AppState;
use super::auth::only_header;
use crate::error::AppError;
use crate::leaks::{self, Answer};
use crate::ops::leaks::{self as report, Reporter};

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
    let header = |name: &'static str| match only_header(&req, name) {
        Some(Ok(v)) => v.to_str().ok().map(str::to_owned),
        _ => None,
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
        // A stranger's header: logged once a minute a source, and cut.
        let source = req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        if crate::telemetry::FORGED_LEAK_REPORTS.first(&source) {
            tracing::warn!(%source, %why, "leak report refused: bad signature (the next ones from this source this minute are only counted)");
        }
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
        let now = state.clock.now();
        let authz = state.policies.current();
        let handled = report::handle(
            &state.store,
            &authz,
            now,
            Reporter::Scanner(&key_id),
            &reported,
        )?;
        Ok::<_, AppError>(
            reported
                .iter()
                .zip(handled)
                .map(|(r, h)| Answer::new(r, h.label))
                .collect::<Vec<_>>(),
        )
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
