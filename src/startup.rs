//! Builds the application from a `Config`: open and migrate the store, load
//! and validate the policies, bootstrap an empty database, bind. Nothing is
//! global; tests build the very same thing on port 0.
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::{App, HttpServer, web};

use crate::authz::{Authorizer, PolicyError};
use crate::bootstrap::{self, Bootstrapped};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::AppError;
use crate::http::{self, AppState};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Policy(#[from] PolicyError),
    #[error("{0}")]
    Store(#[from] AppError),
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
    /// Set when this start created the first tenant, admin and key.
    pub bootstrapped: Option<Bootstrapped>,
}

impl Application {
    pub fn build(config: &Config, clock: Clock) -> Result<Self, StartupError> {
        let authz = match &config.policies {
            Some(dir) => Authorizer::from_dir(dir)?,
            None => Authorizer::embedded()?,
        };
        tracing::info!(source = %authz.source, "policies loaded and validated");
        let store = Store::open(&config.db)?;
        let bootstrapped = bootstrap::if_empty(&store, clock.now())?;
        let listener = TcpListener::bind(config.listen).map_err(|source| StartupError::Bind {
            addr: config.listen,
            source,
        })?;
        let state = web::Data::new(AppState {
            store,
            authz: Arc::new(authz),
            schema: crate::gql::schema(),
            clock,
        });
        Ok(Self {
            listener,
            state,
            workers: config.workers,
            bootstrapped,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn store(&self) -> Store {
        self.state.store.clone()
    }

    /// Serves until the process is told to stop (SIGINT/SIGTERM: graceful).
    pub async fn run(self) -> std::io::Result<()> {
        let addr = self.local_addr();
        let state = self.state.clone();
        let mut server =
            HttpServer::new(move || App::new().app_data(state.clone()).configure(http::routes));
        if let Some(n) = self.workers {
            server = server.workers(n);
        }
        tracing::info!(%addr, "keyward listening");
        server.listen(self.listener)?.run().await
    }
}
