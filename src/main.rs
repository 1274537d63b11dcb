//! The `keyward` command line: the tree of commands, each handed to the
//! library (`keyward::cli`).
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use keyward::cli::audit::AuditArgs;
use keyward::cli::auth::AuthCommand;
use keyward::cli::client::{self, ClientOpts};
use keyward::cli::keys::KeysCommand;
use keyward::cli::local;
use keyward::cli::members::MembersCommand;
use keyward::cli::service_accounts::ServiceAccountsCommand;
use keyward::cli::webhooks::WebhooksCommand;
use keyward::config::Config;
use keyward::telemetry::LogFormat;

#[derive(Parser)]
#[command(
    name = "keyward",
    version,
    about = "Self-hosted API keys: tenants, users, service accounts, decided by Cedar."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Log lines as text (colour only on a terminal, never with NO_COLOR) or
    /// as JSON objects, one a line.
    #[arg(
        long,
        global = true,
        env = "KEYWARD_LOG_FORMAT",
        value_enum,
        default_value_t
    )]
    log_format: LogFormat,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API. On an empty database, first create the tenant
    /// "default", the user admin@localhost and its key, printed once.
    #[command(after_help = "Example:\n  keyward serve --db ./keyward.db --listen 127.0.0.1:4200")]
    Serve(Config),
    /// Initialise an empty database without serving.
    #[command(
        after_help = "Example:\n  keyward init --db ./keyward.db --tenant-slug acme --tenant-name Acme --admin-email ops@acme.test --json"
    )]
    Init(local::InitArgs),
    /// Log in to a keyward server, log out, see who you are.
    #[command(
        after_help = "Example:\n  keyward auth login --key kwu_... --api http://127.0.0.1:4200/graphql"
    )]
    Auth {
        #[command(flatten)]
        opts: ClientOpts,
        #[command(subcommand)]
        cmd: AuthCommand,
    },
    /// Create, list and revoke API keys.
    #[command(after_help = "Example:\n  keyward keys create -n laptop --expires-in 30d")]
    Keys {
        #[command(flatten)]
        opts: ClientOpts,
        #[command(subcommand)]
        cmd: KeysCommand,
    },
    /// Create, list and delete service accounts (tenant admins).
    #[command(
        name = "service-accounts",
        after_help = "Example:\n  keyward service-accounts create deploy-bot"
    )]
    ServiceAccounts {
        #[command(flatten)]
        opts: ClientOpts,
        #[command(subcommand)]
        cmd: ServiceAccountsCommand,
    },
    /// List members and invite new ones.
    #[command(after_help = "Example:\n  keyward members invite ana@example.com")]
    Members {
        #[command(flatten)]
        opts: ClientOpts,
        #[command(subcommand)]
        cmd: MembersCommand,
    },
    /// Read the audit log: every change and every refusal, with the policies
    /// that decided it (tenant admins).
    #[command(after_help = "Example:\n  keyward audit --follow")]
    Audit {
        #[command(flatten)]
        opts: ClientOpts,
        #[command(flatten)]
        args: AuditArgs,
    },
    /// Register webhooks for the tenant's events and follow their
    /// deliveries (tenant admins).
    #[command(
        after_help = "Example:\n  keyward webhooks create --url https://hooks.example.com/keyward --events all"
    )]
    Webhooks {
        #[command(flatten)]
        opts: ClientOpts,
        #[command(subcommand)]
        cmd: WebhooksCommand,
    },
    /// Copy the database, consistently, while it is in use (SQLite's online
    /// backup API): a single file that `serve --db` can use as it is.
    #[command(
        after_help = "Example:\n  keyward backup --db /var/lib/keyward/keyward.db --to /backups/keyward-$(date +%F).db"
    )]
    Backup(local::BackupArgs),
    /// Print the GraphQL schema (SDL) as served.
    Schema,
    /// Manage tenants on the local database (the operator's side; no server needed).
    #[command(subcommand)]
    Tenant(local::TenantCommand),
    /// Work with policy files.
    #[command(subcommand)]
    Policy(local::PolicyCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    keyward::telemetry::init(cli.log_format);
    match cli.command {
        Command::Serve(config) => local::serve(&config),
        Command::Init(args) => local::init(&args),
        Command::Tenant(cmd) => local::tenant(&cmd),
        Command::Backup(args) => local::backup(&args),
        Command::Schema => local::schema(),
        Command::Policy(cmd) => local::policy(&cmd),
        Command::Auth { opts, cmd } => client::run(&opts, |c| c.auth(&cmd)),
        Command::Keys { opts, cmd } => client::run(&opts, |c| c.keys(&cmd)),
        Command::ServiceAccounts { opts, cmd } => client::run(&opts, |c| c.service_accounts(&cmd)),
        Command::Members { opts, cmd } => client::run(&opts, |c| c.members(&cmd)),
        Command::Audit { opts, args } => client::run(&opts, |c| c.audit(&args)),
        Command::Webhooks { opts, cmd } => client::run(&opts, |c| c.webhooks(&cmd)),
    }
}
