//! Running one GraphQL document for a caller: the prepared (parsed,
//! validated, costed) document within the budget, executed over the
//! context, its errors given the codes clients read. The HTTP adapter
//! (`http::graphql`) authenticates and hands the request here.
use juniper::http::GraphQLResponse;
use juniper::{DefaultScalarValue, Variables};
use serde_json::Value;

use super::context::Context;
use super::cost::BUDGET;
use super::prepared::Documents;
use crate::error::{self, AppError};

/// The JSON answer to `query`, and whether it refused the caller's
/// credentials.
pub fn run(
    documents: &Documents,
    ctx: &Context,
    query: &str,
    operation_name: Option<&str>,
    variables: &Variables<DefaultScalarValue>,
) -> (Vec<u8>, bool) {
    let keep = ctx.caller.principal().is_some();
    let prepared = documents.prepare(query, operation_name, keep);
    if let Ok(p) = &prepared
        && let Some(cost) = p.cost(variables)
        && cost > BUDGET
    {
        return (json_bytes(&too_expensive(cost)), false);
    }
    let result = prepared.and_then(|p| p.execute(variables, ctx));
    // Documents that never ran get Apollo's codes, so every error has one.
    let (code, unauthenticated) = match &result {
        Err(e) => (Some(error::document_error_code(e)), false),
        Ok((_, errors)) => (
            None,
            errors.iter().any(|e| error::is_unauthenticated(e.error())),
        ),
    };
    let response = GraphQLResponse::from_result(result);
    let body = match code {
        // The common case, serialized straight to bytes.
        None => serde_json::to_vec(&response).map_err(AppError::internal),
        Some(code) => serde_json::to_value(response)
            .map_err(AppError::internal)
            .map(|mut body| {
                let errors = body.get_mut("errors").and_then(Value::as_array_mut);
                for e in errors
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object_mut)
                {
                    e.insert("extensions".to_owned(), serde_json::json!({ "code": code }));
                }
                json_bytes(&body)
            }),
    };
    (
        body.unwrap_or_else(|err| json_bytes(&err.graphql_body())),
        unauthenticated,
    )
}

/// A JSON value as bytes (a `Value` always serializes).
pub fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// The refusal of a document over the budget, with the figures.
fn too_expensive(cost: u64) -> Value {
    let e = AppError::TooExpensive(format!(
        "This document would cost {cost}, over the budget of {BUDGET} per request. A list costs a query, its limit (default 1,000; service_account 100) times what each row selects, and the rows its offset skips; a mutation 500. Ask for fewer rows, walk with `after` instead of a deep offset, use fewer aliases, or split the document."
    ));
    let mut body = e.graphql_body();
    if let Some(ext) = body
        .pointer_mut("/errors/0/extensions")
        .and_then(Value::as_object_mut)
    {
        ext.insert("cost".into(), cost.into());
        ext.insert("budget".into(), BUDGET.into());
    }
    body
}
