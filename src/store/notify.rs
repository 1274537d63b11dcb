//! Invalidations across replicas (PostgreSQL): a committed change that made
//! cached answers stale is announced with `pg_notify` in its own
//! transaction, so the announcement goes out exactly when the change is
//! visible; every replica listens on one connection of its own and evicts.
//! A listener that loses its connection cannot know what it missed: the
//! cache is emptied and answers nothing until the listener listens again
//! (then it is emptied once more, for what changed in between).
//!
//! Losing the connection is noticed late (a killed backend, a partition),
//! so the listener also proves, every `PING_EVERY`, that it has heard
//! everything: PostgreSQL sends a session the notifications committed
//! before its query began ahead of that query's answer, so once a ping
//! sent at `t` is answered (and what came with it evicted), every
//! invalidation committed before `t` has been applied. The cache answers
//! only while its last such proof is younger than `HEARD_WITHIN`
//! (`Listener::heard_up_to`): a revocation committed on any replica is
//! never served by another one more than `HEARD_WITHIN` after it commits,
//! whatever happens to the listener.
use std::sync::Weak;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::{Evict, Invalidation, Write};
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::error::AppResult;

/// The channel every replica listens on.
pub const CHANNEL: &str = "keyward_invalidations";

/// PostgreSQL takes payloads under 8,000 bytes; one line per invalidation,
/// sent in as many notifications as it takes.
const PAYLOAD_MAX: usize = 7_000;

fn line(what: &Invalidation) -> String {
    match what {
        Invalidation::Key(k) => format!("k {k}"),
        Invalidation::Account(a) => format!("a {a}"),
        Invalidation::AccountInTenant(a, t) => format!("t {a} {t}"),
    }
}

fn parse(line: &str) -> Option<Invalidation> {
    let mut parts = line.split(' ');
    let kind = parts.next()?;
    let first = parts.next()?;
    Some(match kind {
        "k" => Invalidation::Key(first.parse::<KeyId>().ok()?),
        "a" => Invalidation::Account(first.parse::<AccountId>().ok()?),
        "t" => Invalidation::AccountInTenant(
            first.parse::<AccountId>().ok()?,
            parts.next()?.parse::<TenantId>().ok()?,
        ),
        _ => return None,
    })
}

/// Announces `what` in `w`'s transaction (PostgreSQL only).
pub(super) fn publish(w: &Write<'_>, what: &[Invalidation]) -> AppResult<()> {
    let mut payload = String::new();
    for l in what.iter().map(line) {
        if payload.len() + l.len() + 1 > PAYLOAD_MAX {
            send(w, &payload)?;
            payload.clear();
        }
        payload.push_str(&l);
        payload.push('\n');
    }
    if !payload.is_empty() {
        send(w, &payload)?;
    }
    Ok(())
}

fn send(w: &Write<'_>, payload: &str) -> AppResult<()> {
    w.query_one(
        "SELECT pg_notify(?1, ?2)",
        crate::params![CHANNEL, payload],
        |_| Ok(()),
    )
}

/// How often the listener proves it has heard every invalidation.
pub const PING_EVERY: Duration = Duration::from_millis(200);

/// How old that proof may be for a cached answer to be served: the bound on
/// how long after its commit another replica may still honour a revoked
/// key, even when its listener is lost.
pub const HEARD_WITHIN: Duration = Duration::from_millis(1000);

/// The cache a listener keeps fresh.
pub trait Listener: Evict {
    /// Forgets every cached answer, and answers nothing from the cache
    /// until the next `heard_up_to` (the listener lost its connection, or
    /// has a new one whose first proof is still to come).
    fn unproven(&self);

    /// Every invalidation committed before `sent` has been evicted.
    fn heard_up_to(&self, sent: std::time::Instant);
}

/// Listens on `url` for ever (on its own thread), evicting from `cache`
/// until the cache is gone. Returns once it listens (or after a few
/// seconds, the cache off until it does), so that a replica starts with
/// its cache working.
pub fn listen(url: &str, cache: Weak<dyn Listener>) -> std::io::Result<()> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| std::io::Error::other(format!("not a PostgreSQL URL: {e}")))?;
    // Named, so that an operator (or a test) can find each replica's.
    config.application_name(&format!("keyward-listener-{}", std::process::id()));
    // A peer that vanished without closing (a network partition) is found
    // within seconds, not at the kernel's default hours; meanwhile the
    // cache's time bound holds.
    config
        .connect_timeout(Duration::from_secs(5))
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .tcp_user_timeout(Duration::from_secs(5));
    if let Some(c) = cache.upgrade() {
        c.unproven();
    }
    let (listening, first) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("keyward-listen".into())
        .spawn(move || {
            let mut backoff = Duration::from_millis(100);
            loop {
                match session(&config, &cache, &listening, &mut backoff) {
                    Ok(()) => return,
                    Err(e) => {
                        // Whatever is announced while no one listens is lost.
                        let Some(c) = cache.upgrade() else { return };
                        c.unproven();
                        drop(c);
                        tracing::warn!(error = %e, "invalidation listener lost its connection; key cache off until it listens again");
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        })?;
    if first.recv_timeout(Duration::from_secs(5)).is_err() {
        tracing::warn!(
            "not listening for invalidations yet; the key cache stays off until it does"
        );
    }
    Ok(())
}

/// One connection's worth of listening; `Ok` when the cache is gone.
/// A session that listened resets `backoff`: each loss is retried quickly.
fn session(
    config: &postgres::Config,
    cache: &Weak<dyn Listener>,
    listening: &std::sync::mpsc::Sender<()>,
    backoff: &mut Duration,
) -> Result<(), postgres::Error> {
    let mut client = config.connect(postgres::NoTls)?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    *backoff = Duration::from_millis(100);
    match cache.upgrade() {
        Some(c) => c.unproven(),
        None => return Ok(()),
    }
    // The first proof at once: the cache answers from the start.
    if !prove_heard(&mut client, cache)? {
        return Ok(());
    }
    let _ = listening.send(());
    tracing::info!("listening for invalidations from other replicas");
    loop {
        // Wait for notifications a little, then prove the connection
        // still hears: the ping's answer comes after every notification
        // committed before it was sent.
        if !drain(&mut client, cache, PING_EVERY)? || !prove_heard(&mut client, cache)? {
            return Ok(());
        }
    }
}

/// Pings, evicts what came before the answer, and tells the cache that it
/// has heard everything committed before the ping; `false` when the cache
/// is gone.
fn prove_heard(
    client: &mut postgres::Client,
    cache: &Weak<dyn Listener>,
) -> Result<bool, postgres::Error> {
    let sent = std::time::Instant::now();
    client.simple_query("")?;
    if !drain(client, cache, Duration::ZERO)? {
        return Ok(false);
    }
    match cache.upgrade() {
        Some(c) => {
            c.heard_up_to(sent);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Evicts what the notifications received within `wait` (none: only those
/// already buffered) name; `false` when the cache is gone.
fn drain(
    client: &mut postgres::Client,
    cache: &Weak<dyn Listener>,
    wait: Duration,
) -> Result<bool, postgres::Error> {
    let mut notifications = client.notifications();
    let mut batch = notifications.timeout_iter(wait);
    while let Some(n) = batch.next()? {
        let Some(c) = cache.upgrade() else {
            return Ok(false);
        };
        let what: Vec<Invalidation> = n.payload().lines().filter_map(parse).collect();
        c.evict(&what);
    }
    Ok(cache.strong_count() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let all = [
            Invalidation::Key(KeyId::random()),
            Invalidation::Account(AccountId::random()),
            Invalidation::AccountInTenant(AccountId::random(), TenantId::random()),
        ];
        for w in all {
            assert_eq!(parse(&line(&w)), Some(w));
        }
        assert_eq!(parse("x y"), None);
    }
}
