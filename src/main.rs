//! The `keyward` command line: parse, then call the library.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use keyward::authz::{Authorizer, cases};
use keyward::bootstrap::{self, Bootstrapped, InitSpec};
use keyward::client::api::ClientError;
use keyward::client::commands::{
    AuthCommand, Client, ClientOpts, KeysCommand, MembersCommand, ServiceAccountsCommand,
};
use keyward::clock::Clock;
use keyward::config::Config;
use keyward::domain::names::{DisplayName, Email, Slug};
use keyward::error::AppError;
use keyward::startup::Application;
use keyward::store::Store;
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
    Init {
        #[arg(long, env = "KEYWARD_DB", default_value = "keyward.db")]
        db: PathBuf,
        #[arg(long, default_value = "default")]
        tenant_slug: String,
        #[arg(long, default_value = "Default")]
        tenant_name: String,
        #[arg(long, default_value = "admin@localhost")]
        admin_email: String,
        /// Print {"tenant_id", "user_id", "api_key"} as JSON.
        #[arg(long)]
        json: bool,
    },
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
    /// Copy the database, consistently, while it is in use (SQLite's online
    /// backup API): a single file that `serve --db` can use as it is.
    #[command(
        after_help = "Example:\n  keyward backup --db /var/lib/keyward/keyward.db --to /backups/keyward-$(date +%F).db"
    )]
    Backup {
        #[arg(long, env = "KEYWARD_DB", default_value = "keyward.db")]
        db: PathBuf,
        /// The new file (never overwritten).
        #[arg(long)]
        to: PathBuf,
    },
    /// Print the GraphQL schema (SDL) as served.
    Schema,
    /// Helpers for `make bench`.
    #[command(subcommand, hide = true)]
    Bench(BenchCommand),
    /// Manage tenants on the local database (the operator's side; no server needed).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Work with policy files.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Initialise an empty database with `--keys` extra keys for its admin;
    /// write `--sample` of their secrets, one per line, to `--sample-file`.
    LoadKeys {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        keys: usize,
        #[arg(long)]
        sample: usize,
        #[arg(long)]
        sample_file: PathBuf,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant with a first TENANT_ADMIN (a new user, or an existing
    /// one by e-mail), and print that admin's first key for the tenant, once.
    #[command(
        after_help = "Example:\n  keyward tenant create --db ./keyward.db --slug ops --name Ops --admin-email lead@ops.test"
    )]
    Create {
        #[arg(long, env = "KEYWARD_DB", default_value = "keyward.db")]
        db: PathBuf,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        /// Print {"tenant_id", "user_id", "api_key"} as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate the schema and policies of DIR (strict mode) and run the test
    /// cases (the shipped ones and DIR/tests/*.toml), as the server does
    /// before it uses a set; print each problem, and exit 1 if there is any.
    #[command(after_help = "Example:\n  keyward policy check --dir ./my-policies")]
    Check {
        #[arg(long, env = "KEYWARD_POLICIES", default_value = "policies")]
        dir: PathBuf,
    },
    /// Run the test cases (the shipped ones and DIR/tests/*.toml) against
    /// the policies of DIR and print each; exit 1 if any fails.
    #[command(after_help = "Example:\n  keyward policy test --dir ./my-policies")]
    Test {
        #[arg(long, env = "KEYWARD_POLICIES", default_value = "policies")]
        dir: PathBuf,
    },
    /// Write the default schema, policies and their test cases into DIR, to
    /// edit and pass to `serve --policies DIR`.
    #[command(
        after_help = "Example:\n  keyward policy init ./policies && keyward serve --policies ./policies"
    )]
    Init { dir: PathBuf },
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("keyward: {msg}");
    ExitCode::FAILURE
}

fn spec(slug: &str, name: &str, email: &str) -> Result<InitSpec, AppError> {
    Ok(InitSpec {
        tenant_slug: Slug::parse(slug)?,
        tenant_name: DisplayName::parse("tenant name", name)?,
        admin_email: Email::parse(email)?,
    })
}

/// Prints what `init` or `tenant create` made; the key is shown this once.
fn report(spec: &InitSpec, done: &Bootstrapped, json: bool, key_label: &str) {
    if json {
        let out = serde_json::json!({
            "tenant_id": done.tenant_id.to_string(),
            "user_id": done.user_id.to_string(),
            "api_key": done.api_key.expose(),
        });
        println!("{out}");
    } else {
        println!("Tenant: {} ({})", spec.tenant_slug, done.tenant_id);
        println!("Admin: {} ({})", spec.admin_email, done.user_id);
        println!("{key_label}: {}", done.api_key.expose());
        println!("Keep this key safe: it is shown once and never again.");
    }
}

fn tenant_create(
    db: PathBuf,
    slug: &str,
    name: &str,
    email: &str,
    json: bool,
) -> Result<(), AppError> {
    let spec = spec(slug, name, email)?;
    let store = Store::open(&db)?;
    let done = bootstrap::add_tenant(&store, &spec, Clock::system().now())?;
    report(&spec, &done, json, "API key");
    Ok(())
}

fn init(db: PathBuf, slug: &str, name: &str, email: &str, json: bool) -> Result<(), AppError> {
    let spec = spec(slug, name, email)?;
    let store = Store::open(&db)?;
    let done = bootstrap::init(&store, &spec, Clock::system().now()).map_err(|e| match e {
        AppError::Conflict(_) => AppError::Conflict(format!(
            "{} is already initialised; nothing was changed",
            db.display()
        )),
        e => e,
    })?;
    report(&spec, &done, json, "Bootstrap API key");
    Ok(())
}

/// Runs a client command: errors on stderr, in one line (a JSON object with
/// `--json`), exit code 1.
fn client(opts: &ClientOpts, run: impl FnOnce(&mut Client) -> Result<(), ClientError>) -> ExitCode {
    match Client::new(opts).and_then(|mut c| run(&mut c)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if opts.json => {
            eprintln!("{}", e.to_json());
            ExitCode::FAILURE
        }
        Err(e) => fail(e),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    keyward::telemetry::init(cli.log_format);
    match cli.command {
        Command::Serve(config) => {
            let app = match Application::build(&config, Clock::system()) {
                Ok(app) => app,
                Err(e) => return fail(e),
            };
            if let Some(b) = &app.bootstrapped {
                println!(
                    "Initialised an empty database: tenant \"default\" ({}), admin admin@localhost ({}).",
                    b.tenant_id, b.user_id
                );
                println!("Bootstrap API key: {}", b.api_key.expose());
                println!("Keep this key safe: it is shown once and never again.");
            }
            println!("Web console: http://{}/", app.local_addr());
            // The last line: whoever reads up to it and closes the pipe (a
            // supervisor, `| head`) must not turn a later print into EPIPE.
            println!("keyward is serving http://{}/graphql", app.local_addr());
            match actix_web::rt::System::new().block_on(app.run()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
        Command::Init {
            db,
            tenant_slug,
            tenant_name,
            admin_email,
            json,
        } => match init(db, &tenant_slug, &tenant_name, &admin_email, json) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e.public_message()),
        },
        Command::Tenant(TenantCommand::Create {
            db,
            slug,
            name,
            admin_email,
            json,
        }) => match tenant_create(db, &slug, &name, &admin_email, json) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e.public_message()),
        },
        Command::Auth { opts, cmd } => client(&opts, |c| c.auth(&cmd)),
        Command::Keys { opts, cmd } => client(&opts, |c| c.keys(&cmd)),
        Command::ServiceAccounts { opts, cmd } => client(&opts, |c| c.service_accounts(&cmd)),
        Command::Members { opts, cmd } => client(&opts, |c| c.members(&cmd)),
        Command::Bench(BenchCommand::LoadKeys {
            db,
            keys,
            sample,
            sample_file,
        }) => {
            let started = std::time::Instant::now();
            let loaded = Store::open(&db)
                .and_then(|s| keyward::bench::load_keys(&s, keys, sample, Clock::system().now()));
            match loaded {
                Ok((boot, secrets)) => {
                    if let Err(e) = std::fs::write(&sample_file, secrets.join("\n") + "\n") {
                        return fail(format!("{}: {e}", sample_file.display()));
                    }
                    let out = serde_json::json!({
                        "admin_key": boot.api_key.expose(),
                        "keys": keys,
                        "seconds": started.elapsed().as_secs_f64(),
                    });
                    println!("{out}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e.public_message()),
            }
        }
        Command::Backup { db, to } => match Store::open(&db).and_then(|s| s.backup_to(&to)) {
            Ok(()) => {
                println!("Backed up {} to {}", db.display(), to.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(e.public_message()),
        },
        Command::Schema => {
            print!("{}", keyward::gql::sdl());
            ExitCode::SUCCESS
        }
        Command::Policy(PolicyCommand::Check { dir }) => match Authorizer::vetted(Some(&dir)) {
            Ok((a, report)) => {
                println!(
                    "ok: {} validates and passes its {} test cases (hash {})",
                    dir.display(),
                    report.passed,
                    a.hash
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}", e.problems.join("\n"));
                eprintln!("{} problem(s) in {}", e.problems.len(), dir.display());
                ExitCode::FAILURE
            }
        },
        Command::Policy(PolicyCommand::Test { dir }) => {
            let authz = match Authorizer::from_dir(&dir) {
                Ok(a) => a,
                Err(e) => return fail(e),
            };
            let report = cases::Suite::for_dir(Some(&dir)).run(&authz);
            print!("{}", report.text);
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Policy(PolicyCommand::Init { dir }) => {
            match keyward::authz::defaults::write_to(&dir) {
                Ok(files) => {
                    for f in files {
                        println!("wrote {}", f.display());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(format!("{}: {e}", dir.display())),
            }
        }
    }
}
