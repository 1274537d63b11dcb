//! The operator's commands, on this machine's database and files (no server
//! asked): `serve`, `init`, `tenant create`, `backup`, `schema`, `policy`.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::fail;
use crate::authz::prover::ProofError;
use crate::authz::{Authorizer, PolicyFiles, Proofs, cases, defaults};
use crate::bootstrap::{self, Bootstrapped, InitSpec};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::names::{DisplayName, Email, Slug};
use crate::error::{AppError, AppResult};
use crate::startup::Application;
use crate::store::Store;

/// Serves until told to stop. Prints the bootstrap key when it made one.
pub fn serve(config: &Config) -> ExitCode {
    let app = match Application::build(config, Clock::system()) {
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

/// The first tenant and its admin, and where to put them.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// A SQLite file, or a postgres:// URL
    #[arg(long, env = "KEYWARD_DB", default_value = "keyward.db")]
    db: PathBuf,
    #[arg(long, default_value = "default")]
    tenant_slug: String,
    #[arg(long, default_value = "Default")]
    tenant_name: String,
    #[arg(long, default_value = "admin@localhost")]
    admin_email: String,
    /// The bootstrap key expires this long from now (e.g. 90d, 12h); absent:
    /// never. The operator's keys are the one kind not decided by the
    /// CreateApiKey policies.
    #[arg(long, value_parser = humantime::parse_duration)]
    key_expires_in: Option<std::time::Duration>,
    /// Print {"tenant_id", "user_id", "api_key"} as JSON.
    #[arg(long)]
    json: bool,
}

/// Initialises an empty database; refuses one that is not.
pub fn init(a: &InitArgs) -> ExitCode {
    let now = Clock::system().now();
    let names = (&*a.tenant_slug, &*a.tenant_name, &*a.admin_email);
    let made = spec(names, a.key_expires_in, now).and_then(|spec| {
        let store = Store::open(&a.db)?;
        let done = bootstrap::init(&store, &spec, now).map_err(|e| match e {
            AppError::Conflict(_) => AppError::Conflict(format!(
                "{} is already initialised; nothing was changed",
                a.db.display()
            )),
            e => e,
        })?;
        Ok((spec, done))
    });
    match made {
        Ok((spec, done)) => {
            report(&spec, &done, a.json, "Bootstrap API key");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.public_message()),
    }
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant with a first TENANT_ADMIN (a new user, or an existing
    /// one by e-mail), and print that admin's first key for the tenant, once.
    #[command(
        after_help = "Example:\n  keyward tenant create --db ./keyward.db --slug ops --name Ops --admin-email lead@ops.test"
    )]
    Create {
        /// A SQLite file, or a postgres:// URL
        #[arg(long, env = "KEYWARD_DB", default_value = "keyward.db")]
        db: PathBuf,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        /// The admin's first key expires this long from now (e.g. 90d);
        /// absent: never.
        #[arg(long, value_parser = humantime::parse_duration)]
        key_expires_in: Option<std::time::Duration>,
        /// Print {"tenant_id", "user_id", "api_key"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The way back in: a fresh key for a TENANT_ADMIN of a tenant, when
    /// every admin key is lost. Made on the local database (a running
    /// server may keep serving), printed once, and recorded in the tenant's
    /// audit log.
    #[command(
        after_help = "Example:\n  keyward tenant admin-key --db ./keyward.db --slug default --email admin@localhost --key-expires-in 1d"
    )]
    AdminKey {
        /// A SQLite file, or a postgres:// URL
        #[arg(long, env = "KEYWARD_DB", default_value = "keyward.db")]
        db: PathBuf,
        /// The tenant's slug.
        #[arg(long)]
        slug: String,
        /// The e-mail of one of its TENANT_ADMINs.
        #[arg(long)]
        email: String,
        /// The key expires this long from now (e.g. 1d); absent: never.
        #[arg(long, value_parser = humantime::parse_duration)]
        key_expires_in: Option<std::time::Duration>,
        /// Print {"tenant_id", "user_id", "api_key"} as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn tenant(cmd: &TenantCommand) -> ExitCode {
    let now = Clock::system().now();
    let (db, slug, name, admin_email, key_expires_in, json) = match cmd {
        TenantCommand::Create {
            db,
            slug,
            name,
            admin_email,
            key_expires_in,
            json,
        } => (db, slug, name, admin_email, key_expires_in, json),
        TenantCommand::AdminKey {
            db,
            slug,
            email,
            key_expires_in,
            json,
        } => {
            // The tenant's name is not needed: any valid one passes.
            let made = spec((slug, "-", email), *key_expires_in, now).and_then(|spec| {
                let store = Store::open(db)?;
                let done = bootstrap::admin_key(
                    &store,
                    &spec.tenant_slug,
                    &spec.admin_email,
                    spec.key_expires_at,
                    now,
                )?;
                Ok((spec, done))
            });
            return match made {
                Ok((spec, done)) => {
                    report(&spec, &done, *json, "API key");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e.public_message()),
            };
        }
    };
    let made = spec((slug, name, admin_email), *key_expires_in, now).and_then(|spec| {
        let store = Store::open(db)?;
        let done = bootstrap::add_tenant(&store, &spec, now)?;
        Ok((spec, done))
    });
    match made {
        Ok((spec, done)) => {
            report(&spec, &done, *json, "API key");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.public_message()),
    }
}

fn spec(
    (slug, name, email): (&str, &str, &str),
    key_expires_in: Option<std::time::Duration>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<InitSpec> {
    let key_expires_at = key_expires_in
        .map(|d| {
            chrono::Duration::from_std(d)
                .ok()
                .filter(|d| *d > chrono::Duration::zero())
                .and_then(|d| now.checked_add_signed(d))
                .ok_or_else(|| {
                    AppError::Invalid(format!(
                        "--key-expires-in {} is not a usable lifetime",
                        humantime::format_duration(d)
                    ))
                })
        })
        .transpose()?;
    Ok(InitSpec {
        tenant_slug: Slug::parse(slug)?,
        tenant_name: DisplayName::parse("tenant name", name)?,
        admin_email: Email::parse(email)?,
        key_expires_at,
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

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The SQLite file (PostgreSQL: use pg_dump)
    #[arg(long, env = "KEYWARD_DB", default_value = "keyward.db")]
    db: PathBuf,
    /// The new file (never overwritten).
    #[arg(long)]
    to: PathBuf,
}

pub fn backup(a: &BackupArgs) -> ExitCode {
    match Store::open(&a.db).and_then(|s| s.backup_to(&a.to)) {
        Ok(()) => {
            println!("Backed up {} to {}", a.db.display(), a.to.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.public_message()),
    }
}

pub fn schema() -> ExitCode {
    print!("{}", crate::gql::sdl());
    ExitCode::SUCCESS
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
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
    /// Prove the policies of DIR against keyward's invariants (tenant
    /// isolation, the role ceiling, no policy ever errors) and DIR's own
    /// (DIR/invariants/*.cedar), for every request the schema allows: prints
    /// holds or fails per invariant and action, with a counterexample for a
    /// failure. Exit 1 on a failure, 2 when no SMT solver (cvc5) is found.
    #[command(after_help = "Example:\n  keyward policy prove --dir ./my-policies")]
    Prove {
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

pub fn policy(cmd: &PolicyCommand) -> ExitCode {
    match cmd {
        PolicyCommand::Check { dir } => match Authorizer::vetted(Some(dir)) {
            Ok((a, report)) => {
                let proven = match &a.proofs {
                    Proofs::Proven {
                        invariants,
                        took_ms,
                        ..
                    } => format!("proven: {} ({took_ms} ms)", invariants.join(", ")),
                    Proofs::NotProven { reason } => format!("not proven: {reason}"),
                };
                println!(
                    "ok: {} validates and passes its {} test cases; {proven} (hash {})",
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
        PolicyCommand::Test { dir } => {
            let authz = match Authorizer::from_dir(dir) {
                Ok(a) => a,
                Err(e) => return fail(e),
            };
            let report = cases::Suite::for_dir(Some(dir)).run(&authz);
            print!("{}", report.text);
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        PolicyCommand::Prove { dir } => prove(dir),
        PolicyCommand::Init { dir } => match defaults::write_to(dir) {
            Ok(files) => {
                for f in files {
                    println!("wrote {}", f.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("{}: {e}", dir.display())),
        },
    }
}

/// `keyward policy prove`.
fn prove(dir: &Path) -> ExitCode {
    let files = match PolicyFiles::read_dir(dir) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let authz = match Authorizer::compile(&files) {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    match authz.prove(&files) {
        Ok(report) => {
            print!("{}", report.text());
            let failed = report.failures().len();
            println!(
                "{} checks, {failed} failed, in {} ms ({})",
                report.checks.len(),
                report.took.as_millis(),
                report.solver
            );
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e @ ProofError::NoSolver(_)) => {
            eprintln!("keyward: {e}");
            ExitCode::from(2)
        }
        Err(e) => fail(e),
    }
}
