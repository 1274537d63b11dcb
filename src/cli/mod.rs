//! The `keyward` command line's commands, as a library: the client of a
//! keyward server (`auth`, `keys`, `service-accounts`, `members`), each with
//! its clap tree beside its code, and the operator's commands on the local
//! database and files (`local`). `main.rs` declares the tree and calls these.
pub mod api;
pub mod audit;
pub mod auth;
pub mod client;
pub mod config;
pub mod documents;
pub mod keys;
pub mod local;
pub mod members;
mod report_leak;
pub mod service_accounts;
pub mod webhooks;

/// A failed command: its reason on stderr, in one line, and exit code 1.
pub fn fail(msg: impl std::fmt::Display) -> std::process::ExitCode {
    eprintln!("keyward: {msg}");
    std::process::ExitCode::FAILURE
}
