//! The database `make bench` loads: an initialised database whose admin has
//! `--keys` more keys, with `--sample` of their secrets written one per line
//! to `--sample-file`. Not a command of the keyward binary: a fixture.
//!
//!   cargo run --release --example bench_fixture -- --db D --keys N --sample S --sample-file F
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
    #[arg(long)]
    sample: usize,
    #[arg(long)]
    sample_file: PathBuf,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let started = std::time::Instant::now();
    let loaded = Store::open(&a.db)
        .and_then(|s| keyward::bench::load_keys(&s, a.keys, a.sample, Clock::system().now()));
    let (boot, secrets) = match loaded {
        Ok(done) => done,
        Err(e) => {
            eprintln!("bench_fixture: {}", e.public_message());
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&a.sample_file, secrets.join("\n") + "\n") {
        eprintln!("bench_fixture: {}: {e}", a.sample_file.display());
        return ExitCode::FAILURE;
    }
    let out = serde_json::json!({
        "admin_key": boot.api_key.expose(),
        "keys": a.keys,
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{out}");
    ExitCode::SUCCESS
}
