//! `report_leaked_api_keys`: a caller reports secrets it found (in a log, a
//! paste, a commit); each live key it may revoke is revoked at once, as a
//! scanner's report would (`ops::leaks`). Keys it may not see answer as
//! if they did not exist.
use juniper::{GraphQLInputObject, GraphQLObject};
use serde_json::json;

use super::audit::Audited;
use super::context::Context;
use crate::authz::Action;
use crate::error::{AppError, AppResult};
use crate::leaks::{Answer, Reported};
use crate::ops::leaks;

/// Secrets one request may report (each may revoke a key).
pub const MAX_REPORTED: usize = 100;

#[derive(GraphQLInputObject)]
#[graphql(name = "report_leaked_api_keys_input", rename_all = "none")]
pub struct ReportLeaksInput {
    /// The secrets found (at most 100).
    pub tokens: Vec<String>,
    /// Where they were found.
    pub url: Option<String>,
    /// What found them (default "keyward").
    pub source: Option<String>,
}

/// What became of one reported secret, named by its SHA-256 (the secret
/// itself is never sent back).
#[derive(GraphQLObject)]
#[graphql(name = "leak_report_result", rename_all = "none")]
pub struct LeakResult {
    pub token_hash: String,
    /// true_positive: a keyward key the caller may see (revoked now, or
    /// before); false_positive: anything else.
    pub label: String,
    /// Revoked by this report (false when the policies kept it, or when it
    /// was not a live key).
    pub revoked: bool,
}

#[derive(GraphQLObject)]
#[graphql(name = "report_leaked_api_keys_payload", rename_all = "none")]
pub struct ReportedLeaks {
    pub results: Vec<LeakResult>,
}

pub fn report(ctx: &Context, input: ReportLeaksInput) -> AppResult<ReportedLeaks> {
    if input.tokens.len() > MAX_REPORTED {
        return Err(AppError::Invalid(format!(
            "tokens: at most {MAX_REPORTED} a request, not {}",
            input.tokens.len()
        )));
    }
    let reported: Vec<Reported> = input
        .tokens
        .into_iter()
        .map(|token| Reported {
            token,
            kind: "keyward_api_key".into(),
            url: input.url.clone().unwrap_or_default(),
            source: input.source.clone().unwrap_or_else(|| "keyward".into()),
        })
        .collect();
    let handled = leaks::report_by_key(&ctx.env, &ctx.caller, &reported)?;
    Ok(ReportedLeaks {
        results: reported
            .iter()
            .zip(handled)
            .map(|(r, h)| LeakResult {
                token_hash: Answer::new(r, h.label).token_hash,
                label: h.label.as_str().to_owned(),
                revoked: h.revoked,
            })
            .collect(),
    })
}

impl Audited for ReportLeaksInput {
    const ACTION: Action = Action::RevokeLeakedApiKey;
    const RESOURCE: &'static str = "api_key";
    fn details(&self) -> serde_json::Value {
        // How many, and where: never the secrets themselves.
        json!({ "tokens": self.tokens.len(), "url": self.url, "source": self.source })
    }
}
