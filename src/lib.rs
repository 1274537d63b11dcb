//! keyward: a self-hosted API key service. The binary in `main.rs` is a thin
//! clap front end; everything else lives here so tests build the very same app.
#![forbid(unsafe_code)]
// A panic in a request handler is a dropped connection and a lost answer:
// outside tests, fallible code returns errors. Where an invariant makes a
// panic impossible, an `allow` beside it says which.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub mod authz;
pub mod bench;
pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod gql;
pub mod housekeeping;
pub mod http;
pub mod leaks;
pub mod metrics;
pub mod ops;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod verify;
pub mod webhooks;
