//! The database `make bench` loads: an initialised database whose tenant
//! holds `--keys` keys (half the admin's, half spread over
//! `--service-accounts` service accounts) and a user with ten, with
//! `--sample` of the admin's secrets written one per line to
//! `--sample-file`. Not a command of the keyward binary: a fixture.
//!
//!   cargo run --release --example bench_fixture -- --db D --keys N --service-accounts M --sample S --sample-file F
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use keyward::clock::Clock;
use keyward::store::Store;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    db: PathBuf,
    #[arg(long)]
    keys: usize,
    #[arg(long, default_value_t = 1)]
    service_accounts: usize,
    #[arg(long)]
    sample: usize,
    #[arg(long)]
    sample_file: PathBuf,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let started = std::time::Instant::now();
    let spec = keyward::bench::Spec {
        keys: a.keys,
        service_accounts: a.service_accounts,
        sample: a.sample,
    };
    let loaded =
        Store::open(&a.db).and_then(|s| keyward::bench::load(&s, &spec, Clock::system().now()));
    let loaded = match loaded {
        Ok(done) => done,
        Err(e) => {
            eprintln!("bench_fixture: {}", e.public_message());
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&a.sample_file, loaded.samples.join("\n") + "\n") {
        eprintln!("bench_fixture: {}: {e}", a.sample_file.display());
        return ExitCode::FAILURE;
    }
    let out = serde_json::json!({
        "admin_key": loaded.boot.api_key.expose(),
        "user_key": loaded.user_key,
        "robot_key": loaded.robot_key,
        "keys": a.keys,
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{out}");
    ExitCode::SUCCESS
}
