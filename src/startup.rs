//! Builds the application from a `Config`: open and migrate the store, load
//! and validate the policies, bootstrap an empty database, bind. Nothing is
//! global; tests build the very same thing on port 0.
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};

use crate::authz::PolicyError;
use crate::authz::reload::{Policies, Watcher};
use crate::bootstrap::{self, Bootstrapped};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::verify::Verifier;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Policy(#[from] PolicyError),
    #[error("{0}")]
    Store(#[from] AppError),
    #[error("{0}")]
    Watch(String),
    #[error("--leak-report-keys {0}")]
    LeakKeys(#[from] crate::leaks::KeyFileError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub struct Application {
    listener: TcpListener,
    state: web::Data<AppState>,
    workers: Option<usize>,
    last_used_interval: Duration,
    checkpoint_interval: Duration,
    housekeeping_interval: Duration,
    housekeeping: crate::housekeeping::Plan,
    webhooks: crate::webhooks::worker::Settings,
    watcher: Option<Watcher>,
    /// `GET /metrics`, on its own listener when configured.
    metrics: Option<(TcpListener, Arc<prometheus_client::registry::Registry>)>,
    /// Set when this start created the first tenant, admin and key.
    pub bootstrapped: Option<Bootstrapped>,
}

/// Blocking threads per worker (see `run_with`).
const BLOCKING_THREADS: usize = 4;

impl Application {
    pub fn build(config: &Config, clock: Clock) -> Result<Self, StartupError> {
        let (metrics, registry) = Metrics::registered();
        let policies = Arc::new(Policies::load(
            config.policies.as_deref(),
            config.require_proofs,
            clock.clone(),
            metrics.clone(),
        )?);
        let status = policies.status();
        tracing::info!(source = %status.source, hash = %status.hash, "policies loaded and validated");
        let watcher = policies.watch().map_err(StartupError::Watch)?;
        let leak_keys = config
            .leak_report_keys
            .as_deref()
            .map(crate::leaks::ScannerKeys::load)
            .transpose()?
            .map(Arc::new);
        if let Some(k) = &leak_keys {
            tracing::info!(keys = k.len(), "leak reports accepted at POST /leaks");
        }
        // Bound before anything is written: a taken port must not make a
        // bootstrap key that is never printed.
        let bind = |addr: SocketAddr| {
            TcpListener::bind(addr).map_err(|source| StartupError::Bind { addr, source })
        };
        let listener = bind(config.listen)?;
        let metrics_listener = config.metrics_listen.map(bind).transpose()?;
        let store = Store::open(&config.db)?.observed_by(metrics.clone());
        let bootstrapped = bootstrap::if_empty(&store, clock.now())?;
        let ttl = i64::try_from(config.cache_ttl)
            .ok()
            .and_then(chrono::Duration::try_seconds)
            .unwrap_or(chrono::Duration::MAX);
        let verifier = Arc::new(
            Verifier::new(store.clone(), config.cache_keys, ttl).observed_by(metrics.clone()),
        );
        let evictor: std::sync::Weak<dyn crate::store::Evict> = Arc::downgrade(&verifier) as _;
        store.evict_into(evictor);
        if let Some(url) = store.postgres_url() {
            // Other replicas' changes reach this cache through the database.
            let listener: std::sync::Weak<dyn crate::store::notify::Listener> =
                Arc::downgrade(&verifier) as _;
            crate::store::notify::listen(url, listener).map_err(|e| {
                StartupError::Store(AppError::internal(format!(
                    "cannot start the invalidation listener: {e}"
                )))
            })?;
        }
        let webhook_metrics = metrics.clone();
        let state = web::Data::new(AppState {
            verifier,
            store,
            policies,
            documents: crate::gql::prepared::Documents::new(crate::gql::schema()),
            clock,
            metrics,
            graphiql: config.graphiql,
            webhook_allow_private: config.webhook_allow_private,
            forward_default_route: config.forward_default_route,
            leak_keys,
        });
        Ok(Self {
            listener,
            state,
            workers: config.workers,
            last_used_interval: Duration::from_secs(config.last_used_interval.max(1)),
            checkpoint_interval: Duration::from_secs(config.checkpoint_interval.max(1)),
            housekeeping_interval: Duration::from_secs(config.housekeeping_interval.max(1)),
            housekeeping: crate::housekeeping::Plan {
                retention: chrono::Duration::from_std(config.audit_retention)
                    .unwrap_or(chrono::Duration::MAX),
                expiry_leads: config.expiry_notices.as_chrono(),
            },
            webhooks: crate::webhooks::worker::Settings {
                workers: config.webhook_workers,
                metrics: webhook_metrics,
                allow_private: config.webhook_allow_private,
                poll: Duration::from_secs(1),
            },
            watcher,
            metrics: metrics_listener.map(|l| (l, Arc::new(registry))),
            bootstrapped,
        })
    }

    /// Where `GET /metrics` is served, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    pub fn local_addr(&self) -> SocketAddr {
        // A bound TCP listener always has an address; the fallback is never used.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn store(&self) -> Store {
        self.state.store.clone()
    }

    /// Serves until the process is told to stop (SIGINT/SIGTERM: graceful).
    pub async fn run(self) -> std::io::Result<()> {
        self.run_with(|_| {}).await
    }

    /// Like `run`, handing `listening` the server's handle once it serves,
    /// so whoever started it in-process (the tests) can stop it.
    pub async fn run_with(
        self,
        listening: impl FnOnce(actix_web::dev::ServerHandle),
    ) -> std::io::Result<()> {
        let addr = self.local_addr();
        let state = self.state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(http::security_headers())
                .app_data(state.clone())
                .configure(http::routes)
        });
        if let Some(n) = self.workers {
            server = server.workers(n);
        }
        // Database work runs on each worker's blocking threads. A few are
        // enough to keep the cores and the connection pool busy; hundreds
        // (actix's default) only hold hundreds of answers in memory at once.
        server = server.worker_max_blocking_threads(BLOCKING_THREADS);
        // Registered before "listening" is announced: a SIGHUP that arrives
        // before its handler would end the process.
        match actix_rt::signal::unix::signal(actix_rt::signal::unix::SignalKind::hangup()) {
            Ok(hangups) => {
                actix_rt::spawn(reload_on_sighup(hangups, self.state.policies.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; policies reload only when files change")
            }
        }
        let verifier = self.state.verifier.clone();
        actix_rt::spawn(every(
            self.last_used_interval,
            "writing last_used_at and refused credentials",
            move || {
                crate::telemetry::report_throttled();
                verifier.flush_refusals()?;
                verifier.flush_last_used()
            },
        ));
        let (store, clock, plan) = (
            self.state.store.clone(),
            self.state.clock.clone(),
            self.housekeeping.clone(),
        );
        actix_rt::spawn(every(
            self.housekeeping_interval,
            "housekeeping",
            move || crate::housekeeping::run(&store, clock.now(), &plan),
        ));
        let deliveries = match crate::webhooks::worker::start(
            &self.state.store,
            &self.state.clock,
            &self.webhooks,
        ) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!(error = %e, "webhook deliveries cannot start; they stay in the outbox");
                None
            }
        };
        let store = self.state.store.clone();
        actix_rt::spawn(every(
            self.checkpoint_interval,
            "the WAL checkpoint",
            move || store.checkpoint(),
        ));
        let metrics_server = match self.metrics {
            Some((listener, registry)) => {
                tracing::info!(addr = ?listener.local_addr().ok(), "metrics at /metrics");
                Some(
                    HttpServer::new(move || {
                        let registry = registry.clone();
                        App::new().route(
                            "/metrics",
                            web::get().to(move || http::metrics(registry.clone())),
                        )
                    })
                    .workers(1)
                    .listen(listener)?
                    .run(),
                )
            }
            None => None,
        };
        if let Some(s) = metrics_server {
            actix_rt::spawn(s);
        }
        tracing::info!(%addr, "keyward listening");
        let server = server.listen(self.listener)?.run();
        listening(server.handle());
        let result = server.await;
        drop(self.watcher);
        // Each worker finishes the attempt in hand; what is left stays in
        // the outbox for the next start.
        let _ = web::block(move || drop(deliveries)).await;
        // Graceful shutdown: the uses and the refused credentials not yet
        // written are not lost (a kill -9 loses at most one flush interval
        // of them, never a change).
        let verifier = self.state.verifier.clone();
        let flush = move || verifier.flush_last_used();
        if let Some(n) = blocking("writing last_used_at at shutdown", flush).await {
            tracing::info!(keys = n, "last_used_at written at shutdown");
        }
        crate::telemetry::report_throttled();
        let verifier = self.state.verifier.clone();
        let flush = move || verifier.flush_refusals();
        if let Some(n) = blocking("writing refused credentials at shutdown", flush).await {
            tracing::info!(
                refusals = n,
                "refused credentials written to the audit log at shutdown"
            );
        }
        result
    }

    /// The key verifier (tests flush `last_used_at` and watch the cache).
    pub fn verifier(&self) -> Arc<Verifier> {
        self.state.verifier.clone()
    }

    /// The live policy set (tests reload it by hand).
    pub fn policies(&self) -> Arc<Policies> {
        self.state.policies.clone()
    }
}

/// Runs `job` on a blocking thread and logs a failure as `what failed`.
async fn blocking<T: Send + 'static>(
    what: &str,
    job: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> Option<T> {
    match web::block(job).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "{what} failed");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "{what} failed");
            None
        }
    }
}

/// Runs `job` once per interval, from one interval after start.
async fn every<T: Send + 'static>(
    interval: Duration,
    what: &'static str,
    job: impl Fn() -> AppResult<T> + Clone + Send + 'static,
) {
    let mut ticks = actix_rt::time::interval(interval);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let _ = blocking(what, job.clone()).await;
    }
}

/// SIGHUP re-reads the policy directory. Without this handler SIGHUP would
/// end the process.
async fn reload_on_sighup(mut hangups: actix_rt::signal::unix::Signal, policies: Arc<Policies>) {
    while hangups.recv().await.is_some() {
        let p = policies.clone();
        let _ = web::block(move || p.reload_and_log(crate::authz::reload::Reload::Signal)).await;
    }
}
