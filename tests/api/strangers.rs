//! What strangers send is not kept without bound: log lines they can cause
//! are written once a minute a source and counted, and documents they send
//! leave resident memory flat.
use crate::helpers::{raw_exchange, serve_fresh};

/// The `count=N` of a log line.
fn count(line: &str) -> u64 {
    line.split("count=")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// 100 forged leak reports and 100 requests actix cannot parse: at most a
/// line a minute of each, and one line at the stop that counts the rest.
#[test]
fn lines_strangers_cause_are_logged_once_a_minute_then_counted() {
    let dir = tempfile::tempdir().unwrap();
    let pem = crate::leaks::SCANNER.public_pem.clone();
    let server = serve_fresh(
        dir.path(),
        &["--leak-report-keys", pem.to_str().unwrap()],
        "info",
    );
    let base = server.url.trim_end_matches("/graphql").to_owned();
    let addr = base.trim_start_matches("http://").to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    for i in 0..100 {
        let r = agent
            .post(format!("{base}/leaks"))
            .header("Github-Public-Key-Identifier", &format!("forged-{i}"))
            .header("Github-Public-Key-Signature", "AAAA")
            .header("content-type", "application/json")
            .send("[]")
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    for _ in 0..100 {
        let (status, text) = raw_exchange(
            &addr,
            b"GET /livez HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
        );
        assert_eq!(status, 400, "{text}");
    }
    let (_, logs) = server.terminate();
    for (what, line, summary) in [
        (
            "forged leak reports",
            "leak report refused",
            "leak reports with a bad signature not logged one by one",
        ),
        (
            "unparsable requests",
            "stream error",
            "client connection errors (actix) not logged one by one",
        ),
    ] {
        let logged = logs.lines().filter(|l| l.contains(line)).count() as u64;
        let counted: u64 = logs
            .lines()
            .filter(|l| l.contains(summary))
            .map(count)
            .sum();
        assert!((1..=2).contains(&logged), "{what}: {logged} lines\n{logs}");
        assert_eq!(
            logged + counted,
            100,
            "{what}: none lost from the count\n{logs}"
        );
    }
}

/// `/proc/PID/status`'s resident set, in KiB.
fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// The most resident memory 10,000 distinct documents (about 20 MB of
/// them) may add once the server is warm: documents are parsed, answered
/// and dropped; the prepared-document cache holds at most 1 MiB and only
/// for callers with a key.
const MOST_GROWTH_KIB: u64 = 12 * 1024;

/// 10,000 distinct documents from strangers, 2,000 from a key, then one
/// document of 700 operations selected 600 ways: the server's resident
/// memory grows by less than `MOST_GROWTH_KIB`.
#[test]
fn ten_thousand_strangers_documents_leave_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_fresh(dir.path(), &[], "warn");
    let key = server.bootstrap_key().unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let padding = "x".repeat(1500);
    let send = |i: usize, key: Option<&str>| {
        let aliases: String = (0..30).map(|j| format!(" a{j}: __typename")).collect();
        let doc = format!("# {i} {padding}\nquery D{i} {{{aliases} }}");
        let mut req = agent
            .post(&server.url)
            .header("content-type", "application/json");
        if let Some(k) = key {
            req = req.header("authorization", &format!("Bearer {k}"));
        }
        let r = req
            .send(serde_json::json!({ "query": doc }).to_string())
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    };
    for i in 0..1_000 {
        send(i, None);
    }
    let warm = resident_kib(server.pid());
    let phase = |what: &str| eprintln!("{what}: {} KiB", resident_kib(server.pid()));
    for i in 1_000..11_000 {
        send(i, None);
    }
    phase("after 10,000 without a key");
    for i in 11_000..13_000 {
        send(i, Some(&key));
    }
    phase("after 2,000 with a key");
    // One 17 KB document of 700 operations, each request selecting
    // another: 300 without a key, 300 with one.
    let many: String = (0..700)
        .map(|j| format!("query O{j} {{ __typename }}\n"))
        .collect();
    for j in 0..600 {
        let mut req = agent
            .post(&server.url)
            .header("content-type", "application/json");
        if j >= 300 {
            req = req.header("authorization", &format!("Bearer {key}"));
        }
        let body = serde_json::json!({ "query": many, "operationName": format!("O{}", j % 700) });
        let r = req.send(body.to_string()).unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    let after = resident_kib(server.pid());
    let grew = after.saturating_sub(warm);
    eprintln!("resident: {warm} KiB warm, {after} KiB after 12,600 documents (+{grew} KiB)");
    assert!(
        grew < MOST_GROWTH_KIB,
        "resident memory grew by {grew} KiB ({warm} -> {after}) over 12,600 distinct documents"
    );
    server.stop();
}
