//! Prometheus metrics (`--metrics-listen`, its own listener). One `Metrics`
//! is made at start-up and handed to whatever counts; every handle is a
//! cheap clone of the same counters. Made without a registry (`default`),
//! it counts into nothing anyone reads, which is what the CLI and unit
//! tests want.
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// How a key check ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Well-formed but not a key keyward knows.
    Unknown,
    /// Revoked, or its service account deleted, or its owner removed.
    Revoked,
    Expired,
    /// Not a well-formed credential (bad header, prefix, checksum).
    Malformed,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Unknown => "unknown",
            Outcome::Revoked => "revoked",
            Outcome::Expired => "expired",
            Outcome::Malformed => "malformed",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum CacheEvent {
    Hit,
    Miss,
    Eviction,
}

impl CacheEvent {
    fn label(self) -> &'static str {
        match self {
            CacheEvent::Hit => "hit",
            CacheEvent::Miss => "miss",
            CacheEvent::Eviction => "eviction",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabel {
    event: &'static str,
}

/// How a webhook delivery attempt ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// Failed; it is retried.
    Retrying,
    /// Failed, and its 24 hours of retries are over.
    GaveUp,
}

impl Attempt {
    fn label(self) -> &'static str {
        match self {
            Attempt::Delivered => "delivered",
            Attempt::Retrying => "retrying",
            Attempt::GaveUp => "gave_up",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabel {
    /// The deciding `forbid`'s id, or "none" when no `permit` matched.
    policy: String,
}

fn seconds_histogram() -> Histogram {
    // 50 us .. ~3 s: a cache hit to a slow database.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.000_05, 3.0, 11,
    ))
}

#[derive(Clone)]
pub struct Metrics {
    verifications: Family<OutcomeLabel, Counter>,
    verify_seconds: Histogram,
    graphql_seconds: Histogram,
    cache: Family<CacheLabel, Counter>,
    cedar_seconds: Histogram,
    denied: Family<PolicyLabel, Counter>,
    pool_wait_seconds: Histogram,
    last_used_flushes: Counter,
    last_used_keys: Counter,
    webhook_attempts: Family<OutcomeLabel, Counter>,
    webhook_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            verifications: Family::default(),
            verify_seconds: seconds_histogram(),
            graphql_seconds: seconds_histogram(),
            cache: Family::default(),
            cedar_seconds: seconds_histogram(),
            denied: Family::default(),
            pool_wait_seconds: seconds_histogram(),
            last_used_flushes: Counter::default(),
            last_used_keys: Counter::default(),
            webhook_attempts: Family::default(),
            webhook_seconds: seconds_histogram(),
        }
    }
}

impl Metrics {
    /// Metrics and the registry that exposes them.
    pub fn registered() -> (Self, Registry) {
        let m = Self::default();
        let mut r = Registry::with_prefix("keyward");
        r.register(
            "key_verifications",
            "Key checks (GraphQL and /auth/verify), by outcome",
            m.verifications.clone(),
        );
        r.register(
            "key_verification_seconds",
            "Time to check a key, cache included",
            m.verify_seconds.clone(),
        );
        r.register(
            "graphql_request_seconds",
            "Time to answer a GraphQL request, authentication included",
            m.graphql_seconds.clone(),
        );
        r.register(
            "key_cache_events",
            "Verification cache hits, misses and evictions",
            m.cache.clone(),
        );
        r.register(
            "cedar_decision_seconds",
            "Time of one Cedar authorization decision",
            m.cedar_seconds.clone(),
        );
        r.register(
            "denied_decisions",
            "Cedar decisions that denied, by deciding forbid policy (none: no permit matched)",
            m.denied.clone(),
        );
        r.register(
            "db_pool_wait_seconds",
            "Time waiting for a database connection from the pool",
            m.pool_wait_seconds.clone(),
        );
        r.register(
            "last_used_flushes",
            "Batched writes of keys' last_used_at",
            m.last_used_flushes.clone(),
        );
        r.register(
            "last_used_keys_written",
            "Keys whose last_used_at a flush wrote",
            m.last_used_keys.clone(),
        );
        r.register(
            "webhook_attempts",
            "Webhook delivery attempts, by outcome (delivered, retrying, gave_up)",
            m.webhook_attempts.clone(),
        );
        r.register(
            "webhook_attempt_seconds",
            "Time of one webhook delivery attempt, the receiver's answer included",
            m.webhook_seconds.clone(),
        );
        (m, r)
    }

    pub fn verified(&self, outcome: Outcome, took: Duration) {
        self.verifications
            .get_or_create(&OutcomeLabel {
                outcome: outcome.label(),
            })
            .inc();
        self.verify_seconds.observe(took.as_secs_f64());
    }

    pub fn graphql(&self, took: Duration) {
        self.graphql_seconds.observe(took.as_secs_f64());
    }

    pub fn cache(&self, event: CacheEvent, n: u64) {
        self.cache
            .get_or_create(&CacheLabel {
                event: event.label(),
            })
            .inc_by(n);
    }

    /// One Cedar decision, whatever its answer.
    pub fn decided(&self, took: Duration) {
        self.cedar_seconds.observe(took.as_secs_f64());
    }

    /// A refusal (`FORBIDDEN`) and the policies that decided it.
    pub fn denied(&self, by: &[String]) {
        let none = ["none".to_owned()];
        let by = if by.is_empty() { &none[..] } else { by };
        for policy in by {
            self.denied
                .get_or_create(&PolicyLabel {
                    policy: policy.clone(),
                })
                .inc();
        }
    }

    pub fn pool_wait(&self, took: Duration) {
        self.pool_wait_seconds.observe(took.as_secs_f64());
    }

    pub fn webhook_attempt(&self, outcome: Attempt, took: Duration) {
        self.webhook_attempts
            .get_or_create(&OutcomeLabel {
                outcome: outcome.label(),
            })
            .inc();
        self.webhook_seconds.observe(took.as_secs_f64());
    }

    pub fn flushed(&self, keys: usize) {
        self.last_used_flushes.inc();
        self.last_used_keys.inc_by(keys as u64);
    }
}

/// The registry in Prometheus' text format.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}
