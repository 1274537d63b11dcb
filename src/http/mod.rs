//! Routes and the state every handler shares.
pub mod auth;
pub mod graphql;

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use juniper::GraphQLError;
use juniper::http::GraphQLResponse;
use serde_json::Value;

use self::auth::Credentials;
use self::graphql::{GqlRequest, error_body};
use crate::authz::Authorizer;
use crate::clock::Clock;
use crate::error::AppError;
use crate::gql::{Context, Schema};
use crate::store::Store;

pub struct AppState {
    pub store: Store,
    pub authz: Arc<Authorizer>,
    pub schema: Schema,
    pub clock: Clock,
}

impl AppState {
    /// Authenticates and executes one GraphQL request: all of its database
    /// work, on the caller's blocking thread.
    pub fn execute(&self, request: GqlRequest, creds: Credentials) -> Value {
        let now = self.clock.now();
        let principal = match auth::authenticate(&self.store, creds, now) {
            Ok(p) => p,
            Err(e) => return error_body(&e.public_message(), e.code()),
        };
        let ctx = Context::new(principal, self.store.clone(), self.authz.clone(), now);
        let result = juniper::execute_sync(
            &request.query,
            request.operation_name.as_deref(),
            &self.schema,
            &request.variables,
            &ctx,
        );
        // Documents that never ran get Apollo's codes, so every error has one.
        let code = match &result {
            Err(GraphQLError::ParseError(_)) => Some("GRAPHQL_PARSE_FAILED"),
            Err(_) => Some("GRAPHQL_VALIDATION_FAILED"),
            Ok(_) => None,
        };
        let mut body =
            serde_json::to_value(GraphQLResponse::from_result(result)).unwrap_or_else(|e| {
                error_body(
                    &AppError::internal(e).public_message(),
                    "INTERNAL_SERVER_ERROR",
                )
            });
        if let (Some(code), Some(errors)) =
            (code, body.get_mut("errors").and_then(Value::as_array_mut))
        {
            for e in errors.iter_mut().filter_map(Value::as_object_mut) {
                e.insert("extensions".to_owned(), serde_json::json!({ "code": code }));
            }
        }
        body
    }
}

async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let state = state.into_inner();
    match web::block(move || state.store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" }))
        }
        Err(_) => {
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" }))
        }
    }
}

async fn to_graphiql() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", "/graphql"))
        .finish()
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql::post))
        .route("/graphql", web::get().to(graphql::graphiql))
        // The Prefect client posts to exactly its configured URL, which may be the bare host.
        .route("/", web::post().to(graphql::post))
        .route("/", web::get().to(to_graphiql))
        .route("/healthz", web::get().to(healthz));
}
