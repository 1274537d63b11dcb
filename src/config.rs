//! Server settings: a flag beats its environment variable, which beats the default.
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Debug, clap::Args)]
pub struct Config {
    /// The database: a SQLite file (a path or `sqlite://PATH`; created if
    /// needed) or PostgreSQL (`postgres://USER:PASSWORD@HOST/DB`), migrated
    /// at start.
    #[arg(long, env = "KEYWARD_DB", default_value = "keyward.db")]
    pub db: PathBuf,

    /// The address to listen on (port 0 picks a free port).
    #[arg(long, env = "KEYWARD_LISTEN", default_value = "127.0.0.1:4200")]
    pub listen: SocketAddr,

    /// A policy directory (schema.cedarschema and *.cedar) to use instead of
    /// the embedded defaults; `keyward policy init DIR` writes them out.
    #[arg(long, env = "KEYWARD_POLICIES")]
    pub policies: Option<PathBuf>,

    /// Serve Prometheus metrics at `GET /metrics` on this address (its own
    /// listener, off by default: bind it where only your monitoring reaches).
    #[arg(long, env = "KEYWARD_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Refuse to start (or reload) with policies that could not be proven
    /// against keyward's invariants because no SMT solver (cvc5) is found.
    /// A set whose proof fails is refused either way.
    #[arg(long, env = "KEYWARD_REQUIRE_PROOFS")]
    pub require_proofs: bool,

    /// Serve GraphiQL at `GET /graphql`. Off by default: its page loads its
    /// scripts from a CDN (esm.sh), which keyward's own pages never do.
    #[arg(long, env = "KEYWARD_GRAPHIQL")]
    pub graphiql: bool,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "KEYWARD_WORKERS")]
    pub workers: Option<usize>,

    /// Seconds between writes of keys' `last_used_at` (at most one write per
    /// key per interval; pending uses are also written at shutdown).
    #[arg(long, env = "KEYWARD_LAST_USED_INTERVAL", default_value_t = 60)]
    pub last_used_interval: u64,

    /// Seconds between WAL checkpoints (`PRAGMA wal_checkpoint(TRUNCATE)`),
    /// which keep the -wal file from growing without bound under constant
    /// writes.
    #[arg(long, env = "KEYWARD_CHECKPOINT_INTERVAL", default_value_t = 300)]
    pub checkpoint_interval: u64,

    /// How many verified keys the in-process cache holds.
    #[arg(long, env = "KEYWARD_CACHE_KEYS", default_value_t = 100_000)]
    pub cache_keys: usize,

    /// Seconds a cached key answers before it is read again. Changes made
    /// through this server leave the cache at once; changes made elsewhere
    /// (another server on the same database, `keyward tenant create`, SQL)
    /// are seen within this bound.
    #[arg(long, env = "KEYWARD_CACHE_TTL", default_value_t = 5)]
    pub cache_ttl: u64,

    /// How long audit events are kept (`90d`, `52weeks`, `8760h`); older
    /// ones are pruned in the background, a thousand at a time.
    #[arg(long, env = "KEYWARD_AUDIT_RETENTION", default_value = "365d", value_parser = humantime::parse_duration)]
    pub audit_retention: std::time::Duration,

    /// Seconds between background tidies: rotated keys past their grace
    /// become revoked, audit events past the retention are pruned.
    #[arg(long, env = "KEYWARD_HOUSEKEEPING_INTERVAL", default_value_t = 60)]
    pub housekeeping_interval: u64,

    /// Let webhooks point at loopback, private and link-local addresses
    /// (refused by default, so that a tenant admin cannot make the server
    /// reach into its own network).
    #[arg(long, env = "KEYWARD_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,

    /// `/auth/verify`: decide a request whose proxy sends no
    /// `X-Original-Method`/`X-Original-URI` as `GET /` (off: such a request
    /// is refused whenever the policies need its route).
    #[arg(long, env = "KEYWARD_FORWARD_DEFAULT_ROUTE")]
    pub forward_default_route: bool,

    /// Threads sending webhook deliveries (0: this server sends none, and
    /// leaves them in the outbox for another replica or a later start).
    #[arg(long, env = "KEYWARD_WEBHOOK_WORKERS", default_value_t = 2)]
    pub webhook_workers: usize,

    /// When before a key's expiry `api_key.expiring` is sent, comma
    /// separated (`7d,1d`; an empty value: none).
    #[arg(long, env = "KEYWARD_EXPIRY_NOTICES", default_value = "7d,1d", value_parser = parse_leads)]
    pub expiry_notices: Leads,

    /// Public keys of the secret scanners allowed to report leaked keys to
    /// `POST /leaks`: a PEM file of P-256 public keys, or the JSON GitHub
    /// publishes them in (https://api.github.com/meta/public_keys/secret_scanning).
    /// Without it, `/leaks` refuses every report.
    #[arg(long, env = "KEYWARD_LEAK_REPORT_KEYS")]
    pub leak_report_keys: Option<PathBuf>,
}

/// Lead times, longest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Leads(pub Vec<std::time::Duration>);

fn parse_leads(s: &str) -> Result<Leads, String> {
    let mut leads = s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| humantime::parse_duration(p).map_err(|e| format!("{p:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if leads.iter().any(std::time::Duration::is_zero) {
        return Err("a lead time must be longer than zero".into());
    }
    leads.sort_by(|a, b| b.cmp(a));
    leads.dedup();
    Ok(Leads(leads))
}

impl Leads {
    pub fn as_chrono(&self) -> Vec<chrono::Duration> {
        self.0
            .iter()
            .filter_map(|d| chrono::Duration::from_std(*d).ok())
            .collect()
    }
}

impl Config {
    /// A server on `db` at a free loopback port, embedded policies: what tests use.
    pub fn for_tests(db: PathBuf) -> Self {
        Self {
            db,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            policies: None,
            metrics_listen: None,
            graphiql: false,
            require_proofs: false,
            workers: Some(2),
            // Tests flush `last_used_at` themselves.
            last_used_interval: 3600,
            checkpoint_interval: 3600,
            cache_keys: 100_000,
            cache_ttl: 5,
            audit_retention: std::time::Duration::from_secs(365 * 24 * 3600),
            housekeeping_interval: 3600,
            webhook_allow_private: true,
            forward_default_route: false,
            webhook_workers: 1,
            expiry_notices: Leads(vec![
                std::time::Duration::from_secs(7 * 24 * 3600),
                std::time::Duration::from_secs(24 * 3600),
            ]),
            leak_report_keys: None,
        }
    }
}
