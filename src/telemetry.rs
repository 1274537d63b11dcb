//! Logs go to stderr through `tracing`; `RUST_LOG` filters them (default:
//! info). Colour only on a terminal, and never with `NO_COLOR` set
//! (https://no-color.org): log files and journald get plain text. JSON, one
//! object a line, for log shippers.
//!
//! Lines a stranger can cause (a client's broken connection, a forged leak
//! report) are throttled: the first of a minute from one source is logged,
//! the rest are counted and reported in one line a source at the next
//! `report_throttled` (every flush interval, and at shutdown), so that
//! log volume does not grow with what strangers send.
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::sync::Mutex;

use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields).
    Json,
}

/// Whether to colour: a terminal, and no `NO_COLOR` (any non-empty value).
pub fn use_colour(is_terminal: bool, no_color: Option<&str>) -> bool {
    is_terminal && no_color.is_none_or(str::is_empty)
}

pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(use_colour(
                std::io::stderr().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
            ))
            .finish()
            .with(ClientErrors)
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .finish()
            .with(ClientErrors)
            .try_init(),
    };
}

/// The most sources a throttle tells apart between reports; the others
/// are counted together.
const MOST_SOURCES: usize = 10_000;
const OTHER_SOURCES: &str = "other sources";

#[derive(Default)]
struct Seen {
    minute: u64,
    logged: BTreeSet<String>,
    counted: BTreeMap<String, u64>,
}

/// A kind of log line a stranger can cause, logged once a minute a source.
pub struct Throttle {
    what: &'static str,
    seen: Mutex<Option<Seen>>,
}

/// Lines of the kinds below that were not logged are reported by this.
static THROTTLES: [&Throttle; 2] = [&CLIENT_ERRORS, &FORGED_LEAK_REPORTS];

/// actix-http's warnings and errors: nearly all are its `stream error`
/// lines for a client that sent a request it could not parse or went away
/// mid-answer (the client's mistake, not the server's); the rare others
/// are still logged the first time in a minute.
pub static CLIENT_ERRORS: Throttle = Throttle::new("client connection errors (actix)");
/// `POST /leaks` with a signature that does not verify.
pub static FORGED_LEAK_REPORTS: Throttle = Throttle::new("leak reports with a bad signature");

/// Minutes since the first throttled line, on the monotonic clock: a log
/// throttle needs windows, not dates (and no test clock).
fn this_minute() -> u64 {
    static START: std::sync::LazyLock<std::time::Instant> =
        std::sync::LazyLock::new(std::time::Instant::now);
    START.elapsed().as_secs() / 60
}

impl Throttle {
    pub const fn new(what: &'static str) -> Self {
        Self {
            what,
            seen: Mutex::new(None),
        }
    }

    /// Whether to log this line from `source` now: the first of a minute
    /// is, the others are counted.
    pub fn first(&self, source: &str) -> bool {
        self.first_at(source, this_minute())
    }

    fn first_at(&self, source: &str, minute: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let seen = seen.get_or_insert_with(Seen::default);
        if seen.minute != minute {
            seen.minute = minute;
            seen.logged.clear();
        }
        if seen.logged.contains(source) {
            *seen.counted.entry(source.to_owned()).or_default() += 1;
            return false;
        }
        if seen.logged.len() >= MOST_SOURCES {
            *seen.counted.entry(OTHER_SOURCES.to_owned()).or_default() += 1;
            return false;
        }
        seen.logged.insert(source.to_owned());
        true
    }

    /// The lines counted since the last report, by source (the largest
    /// first, at most 20; the rest in one entry), taken.
    fn take(&self) -> Vec<(String, u64)> {
        let counted = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            match seen.as_mut() {
                Some(s) => std::mem::take(&mut s.counted),
                None => return vec![],
            }
        };
        let mut counted: Vec<(String, u64)> = counted.into_iter().collect();
        counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if counted.len() > 20 {
            let rest: u64 = counted.drain(19..).map(|(_, n)| n).sum();
            counted.push((OTHER_SOURCES.to_owned(), rest));
        }
        counted
    }
}

/// Logs, one line per kind and source, what the throttles counted and did
/// not log since the last report.
pub fn report_throttled() {
    for t in THROTTLES {
        for (source, count) in t.take() {
            tracing::warn!(%source, count, "{} not logged one by one since the last report", t.what);
        }
    }
}

/// Passes actix-http's warnings and errors through `CLIENT_ERRORS`.
struct ClientErrors;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ClientErrors {
    fn event_enabled(&self, event: &tracing::Event<'_>, _: Context<'_, S>) -> bool {
        let m = event.metadata();
        if !m.target().starts_with("actix_http::") || *m.level() > tracing::Level::WARN {
            return true;
        }
        // actix says nothing of the client: one source for all.
        CLIENT_ERRORS.first("clients")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("")));
        assert!(!use_colour(true, Some("1")));
        assert!(!use_colour(false, None));
    }

    #[test]
    fn a_throttle_logs_a_source_once_a_minute_and_counts_the_rest() {
        let t = Throttle::new("test lines");
        assert!(t.first_at("10.0.0.1", 7));
        for _ in 0..99 {
            assert!(!t.first_at("10.0.0.1", 7));
        }
        assert!(t.first_at("10.0.0.2", 7));
        assert!(t.first_at("10.0.0.1", 8));
        assert_eq!(t.take(), vec![("10.0.0.1".to_owned(), 99)]);
        assert!(t.take().is_empty());
        for i in 0..MOST_SOURCES + 3 {
            t.first_at(&format!("s{i}"), 9);
        }
        assert_eq!(t.take(), vec![(OTHER_SOURCES.to_owned(), 3)]);
    }
}
