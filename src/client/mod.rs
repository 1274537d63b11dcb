//! The `keyward` command line as a client of a keyward server: where the key
//! and the server come from, the GraphQL calls, and the commands.
pub mod api;
pub mod commands;
pub mod config;
