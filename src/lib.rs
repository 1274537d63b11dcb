//! keyward: a self-hosted API key service. The binary in `main.rs` is a thin
//! clap front end; everything else lives here so tests build the very same app.
pub mod authz;
pub mod bench;
pub mod bootstrap;
pub mod client;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod gql;
pub mod http;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod verify;
