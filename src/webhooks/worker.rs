//! The delivery workers: threads that claim a due delivery from the outbox,
//! POST it (signed, with timeouts, never following a redirect, through the
//! private-address guard) and record how it went, retrying with exponential
//! backoff and jitter until 24 hours have passed. They never run on a
//! request's thread, so a slow or dead receiver costs the API nothing.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ureq::unversioned::transport::DefaultConnector;

use super::destination::Guarded;
use super::signature;
use crate::authz::SystemTask;
use crate::clock::Clock;
use crate::error::AppResult;
use crate::metrics::Attempt as Counted;
use crate::store::Store;
use crate::store::webhooks::{self, Attempt, Claimed};

/// How long a worker holds a claimed delivery: longer than an attempt can
/// take, so a live worker never loses it, short enough that one that died
/// while sending is soon replaced.
const LEASE_SECONDS: i64 = 60;
/// An attempt's whole budget: connect, send, and read the answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The first retry waits about this long, each next one twice as long.
const FIRST_RETRY_SECONDS: i64 = 10;
const LONGEST_RETRY_SECONDS: i64 = 3600;

/// How the workers are set up.
#[derive(Clone)]
pub struct Settings {
    pub workers: usize,
    /// Where attempts are counted.
    pub metrics: crate::metrics::Metrics,
    pub allow_private: bool,
    /// How often an idle worker looks for due retries (commits on this
    /// server wake it at once).
    pub poll: Duration,
}

/// The running workers; dropping it stops them (each finishes the attempt
/// in hand).
pub struct Workers {
    stop: Arc<AtomicBool>,
    store: Store,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.store.doorbell().ring();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The wait before retry `attempt` (1: the first retry): 10 s, 20 s,
/// 40 s… at most an hour, times a random 0.5–1.0 so that deliveries that
/// failed together do not retry together.
pub fn backoff(attempt: i64, jitter: f64) -> chrono::Duration {
    let doublings = u32::try_from((attempt - 1).clamp(0, 20)).unwrap_or(20);
    let base = FIRST_RETRY_SECONDS
        .saturating_mul(1_i64 << doublings)
        .min(LONGEST_RETRY_SECONDS);
    let jitter = jitter.clamp(0.5, 1.0);
    // Whole milliseconds: the product is at most 3,600,000.
    #[allow(clippy::cast_possible_truncation)]
    let ms = (base as f64 * 1000.0 * jitter) as i64;
    chrono::Duration::milliseconds(ms)
}

pub fn start(store: &Store, clock: &Clock, settings: &Settings) -> AppResult<Workers> {
    if store.dialect() == crate::store::Dialect::Sqlite {
        // One process owns a SQLite database: claims left by a killed run
        // are its own, and can be retried now.
        let task = SystemTask::named("webhook delivery");
        let n = store.write(|w| webhooks::release_claims(w, &task, clock.now()))?;
        if n > 0 {
            tracing::info!(
                deliveries = n,
                "webhook deliveries interrupted by the last stop are retried"
            );
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let agent = agent(settings.allow_private);
    let threads = (0..settings.workers)
        .map(|i| {
            let (store, clock, agent, stop) =
                (store.clone(), clock.clone(), agent.clone(), stop.clone());
            let (poll, metrics) = (settings.poll, settings.metrics.clone());
            std::thread::Builder::new()
                .name(format!("keyward-webhooks-{i}"))
                .spawn(move || run(&store, &clock, &agent, &stop, poll, &metrics))
                .map_err(|e| crate::error::AppError::internal(format!("webhook worker: {e}")))
        })
        .collect::<AppResult<_>>()?;
    Ok(Workers {
        stop,
        store: store.clone(),
        threads,
    })
}

fn agent(allow_private: bool) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .timeout_global(Some(ATTEMPT_TIMEOUT))
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .user_agent(concat!("keyward-webhooks/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::with_parts(
        config,
        DefaultConnector::default(),
        Guarded { allow_private },
    )
}

fn run(
    store: &Store,
    clock: &Clock,
    agent: &ureq::Agent,
    stop: &AtomicBool,
    poll: Duration,
    metrics: &crate::metrics::Metrics,
) {
    let task = SystemTask::named("webhook delivery");
    let doorbell = store.doorbell();
    let mut seen = doorbell.rings();
    while !stop.load(Ordering::SeqCst) {
        let lease = chrono::Duration::seconds(LEASE_SECONDS);
        let due = store.read(|c| webhooks::any_due(c, clock.now()));
        let claimed = match due {
            Ok(true) => store.write(|w| webhooks::claim(w, &task, clock.now(), lease)),
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        };
        match claimed {
            Ok(Some(c)) => {
                let started = std::time::Instant::now();
                let attempt = send(agent, &c, clock.now());
                let outcome = match &attempt {
                    Attempt::Delivered { .. } => Counted::Delivered,
                    Attempt::Failed { retry_at, .. } if *retry_at > c.give_up_at => Counted::GaveUp,
                    Attempt::Failed { .. } => Counted::Retrying,
                };
                metrics.webhook_attempt(outcome, started.elapsed());
                if let Err(e) =
                    store.write(|w| webhooks::record(w, &task, &c, &attempt, clock.now()))
                {
                    tracing::error!(delivery = %c.id, error = %e, "could not record a webhook attempt; it is retried when its claim lapses");
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "could not claim a webhook delivery"),
        }
        seen = doorbell.wait(seen, poll);
    }
}

/// One attempt at `c`, signed at `now`.
fn send(agent: &ureq::Agent, c: &Claimed, now: DateTime<Utc>) -> Attempt {
    let sig = signature::sign(&c.secret, now.timestamp(), c.payload.as_bytes());
    let answer = agent
        .post(&c.url)
        .header("content-type", "application/json")
        .header("keyward-event", c.event.as_str())
        .header("keyward-delivery", c.id.to_string())
        .header("keyward-signature", sig)
        .send(c.payload.as_bytes());
    let retry_at = now + backoff(c.attempts, rand::random_range(0.5..1.0));
    match answer {
        Ok(r) if r.status().is_success() => {
            tracing::info!(delivery = %c.id, event = %c.event, status = r.status().as_u16(), "webhook delivered");
            Attempt::Delivered {
                code: r.status().as_u16(),
            }
        }
        Ok(r) => {
            tracing::warn!(delivery = %c.id, status = r.status().as_u16(), attempt = c.attempts, "webhook receiver refused a delivery");
            Attempt::Failed {
                code: Some(r.status().as_u16()),
                error: format!("the receiver answered {}", r.status()),
                retry_at,
            }
        }
        Err(e) => {
            tracing::warn!(delivery = %c.id, error = %e, attempt = c.attempts, "webhook delivery failed");
            Attempt::Failed {
                code: None,
                error: e.to_string(),
                retry_at,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour_and_jitters_down_to_half() {
        let secs = |a, j| backoff(a, j).num_seconds();
        assert_eq!([1, 2, 3, 4].map(|a| secs(a, 1.0)), [10, 20, 40, 80]);
        assert_eq!(secs(9, 1.0), 2560);
        assert_eq!(secs(10, 1.0), 3600);
        assert_eq!(secs(1000, 1.0), 3600);
        assert_eq!(secs(1, 0.5), 5);
        assert_eq!(secs(1, 0.0), 5, "jitter never shortens below half");
        // Retrying for 24 hours at most an hour apart: about 30 attempts.
        let mut t = 0;
        let mut n = 0;
        while t < 24 * 3600 {
            n += 1;
            t += secs(n, 1.0);
        }
        assert!((25..=35).contains(&n), "{n} attempts in 24 h");
    }
}
