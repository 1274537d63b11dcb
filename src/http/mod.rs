//! Routes and the state every handler shares.
pub mod auth;
pub mod console;
pub mod forward_auth;
pub mod forwarded;
pub mod graphql;
pub mod leaks;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, web};

use self::auth::Credentials;
use self::graphql::GqlRequest;
use crate::authz::reload::Policies;
use crate::clock::Clock;
use crate::error::AppError;
use crate::gql::Context;
use crate::gql::execute::json_bytes;
use crate::gql::prepared::Documents;
use crate::metrics::Metrics;
use crate::ops::Env;
use crate::store::Store;
use crate::verify::Verifier;

pub struct AppState {
    pub store: Store,
    pub verifier: Arc<Verifier>,
    pub policies: Arc<Policies>,
    /// The schema, and the documents already parsed and validated for it.
    pub documents: Documents,
    pub clock: Clock,
    pub metrics: Metrics,
    /// Serve GraphiQL (from a CDN) at `GET /graphql`.
    pub graphiql: bool,
    /// Webhooks may point at private addresses.
    pub webhook_allow_private: bool,
    /// `/auth/verify` decides a request whose proxy names no method or
    /// target as `GET /` (`--forward-default-route`).
    pub forward_default_route: bool,
    /// The public keys leak reports are signed with (`POST /leaks`).
    pub leak_keys: Option<Arc<crate::leaks::ScannerKeys>>,
}

/// A GraphQL answer (JSON), and whether it refused the caller's credentials
/// (the response then carries a `WWW-Authenticate` challenge).
pub struct Executed {
    pub body: Vec<u8>,
    /// The request's id (its audit events carry it), when it got that far.
    pub request_id: Option<String>,
    pub unauthenticated: bool,
}

impl AppState {
    /// Authenticates and executes one GraphQL request: all of its database
    /// work, on the caller's blocking thread.
    pub fn execute(&self, request: GqlRequest, creds: Credentials) -> Executed {
        let now = self.clock.now();
        let principal = match auth::authenticate(&self.verifier, creds, now) {
            Ok(p) => p,
            Err(e) => {
                return Executed {
                    body: json_bytes(&e.graphql_body()),
                    request_id: None,
                    unauthenticated: matches!(e, AppError::Unauthenticated(_)),
                };
            }
        };
        let env = Env::new(
            self.store.clone(),
            self.policies.current(),
            self.verifier.clone(),
            now,
        );
        let ctx =
            Context::new(principal, env).allowing_private_webhooks(self.webhook_allow_private);
        let (body, unauthenticated) = crate::gql::execute::run(
            &self.documents,
            &ctx,
            &request.query,
            request.operation_name.as_deref(),
            &request.variables,
        );
        Executed {
            body,
            request_id: Some(ctx.request_id().to_owned()),
            unauthenticated,
        }
    }
}

/// 200 when the database answers, 503 when it does not; either way, which
/// policy set is active.
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let policies = state.policies.status();
    let state = state.into_inner();
    let db = match web::block(move || state.store.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "health check failed");
            false
        }
        Err(_) => false,
    };
    let body = serde_json::json!({ "status": if db { "ok" } else { "unavailable" }, "policies": policies });
    if db {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Headers every response carries, the API's included: no page of keyward
/// may be framed or leak its address to another site. The console adds its
/// Content-Security-Policy (console.rs).
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

/// Prometheus' text format, for the metrics listener.
pub async fn metrics(registry: Arc<prometheus_client::registry::Registry>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(crate::metrics::render(&registry))
}

/// Alive: does no work at all (the baseline of `make bench`).
async fn livez() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql::post))
        .route("/graphql", web::get().to(graphql::graphiql))
        // The Prefect client posts to exactly its configured URL, which may be the bare host.
        .route("/", web::post().to(graphql::post))
        .route("/healthz", web::get().to(healthz))
        .route("/livez", web::get().to(livez))
        .route("/auth/verify", web::get().to(forward_auth::verify))
        .service(
            web::resource("/leaks")
                .app_data(web::PayloadConfig::new(crate::leaks::MAX_REPORT_BYTES))
                .route(web::post().to(leaks::report)),
        )
        .configure(console::routes);
}
