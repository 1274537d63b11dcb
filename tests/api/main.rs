//! Black-box tests: the real server on a random loopback port, over HTTP.
mod helpers;
mod world;

mod api_keys;
mod audit;
mod auth_info;
mod authentication;
mod cli;
mod cli_client;
mod console;
mod differential;
mod forward_auth;
mod http;
mod invitations;
mod isolation;
mod lifecycle;
mod lists;
mod memberships;
mod nginx;
mod operations;
mod policies;
mod policy_ops;
mod prefect_cli;
mod proofs;
mod schema;
mod service_accounts;
mod tenants;
