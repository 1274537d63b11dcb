//! A real nginx (Debian's package; `.ci/run` installs it) in front of a small
//! upstream, checking keys with keyward through examples/nginx/keyward.conf.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{DELETE_KEY, spawn_app};

/// An upstream that answers every request with the request's own head.
pub fn echo_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            while reader.read_line(&mut head).is_ok_and(|n| n > 2) {}
            let body = head.to_lowercase();
            let mut s = reader.into_inner();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Nginx(Child);

/// The processes whose parent is `pid` (nginx's workers).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|stat| {
                // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

impl Nginx {
    /// Graceful stop (SIGQUIT: the master ends its workers, then itself);
    /// a kill only if it hangs.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A server under policies/examples/prefect-read-only, a READ_ONLY_USER's
/// key, and the policy folder (kept for as long as the server runs).
fn read_only_app() -> (crate::helpers::TestApp, String, tempfile::TempDir) {
    let policies = crate::helpers::policy_dir_with_example("prefect-read-only", &[]);
    let path = policies.path().to_owned();
    let app = crate::helpers::spawn_app_with(move |c| c.policies = Some(path));
    let (_, reader) = app.member("ro@default", keyward::domain::model::Role::ReadOnlyUser);
    (app, reader, policies)
}

/// examples/nginx/keyward.conf listening on `listen`, asking `keyward`,
/// its service on `upstream`.
fn example_site(listen: u16, keyward: &str, upstream: u16) -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/nginx/keyward.conf"
    ))
    .unwrap()
    .replace("127.0.0.1:8080", &format!("127.0.0.1:{listen}"))
    .replace("127.0.0.1:4200", keyward)
    .replace("127.0.0.1:9000", &format!("127.0.0.1:{upstream}"))
}

fn start_nginx(dir: &std::path::Path, listen: u16, keyward: &str, upstream: u16) -> Nginx {
    run_nginx(dir, listen, &example_site(listen, keyward, upstream))
}

/// nginx serving `site` (server blocks, maps) from `dir`, listening on
/// `listen`, its access log in `dir/access.log`.
pub fn run_nginx(dir: &std::path::Path, listen: u16, site: &str) -> Nginx {
    let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("nginx is not installed: apt-get install nginx (.ci/run does)");
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{site}\n}}\n",
        d = dir.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(bin)
        .args(["-e", "stderr", "-p"])
        .arg(dir)
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut nginx = Nginx(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", listen)).is_err() {
        if let Ok(Some(status)) = nginx.0.try_wait() {
            let mut err = String::new();
            nginx
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("nginx exited ({status}): {err}");
        }
        assert!(Instant::now() < deadline, "nginx did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    nginx
}

#[test]
fn nginx_lets_valid_keys_through_with_identity_and_stops_revoked_ones() {
    let app = spawn_app();
    let dir = tempfile::tempdir().unwrap();
    let listen = free_port();
    let mut nginx = start_nginx(
        dir.path(),
        listen,
        app.url.trim_start_matches("http://"),
        echo_upstream(),
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let get = |key: Option<&str>, extra: Option<(&str, &str)>| {
        let mut req = agent.get(format!("http://127.0.0.1:{listen}/some/path"));
        if let Some(k) = key {
            req = req.header("Authorization", &format!("Bearer {k}"));
        }
        if let Some((h, v)) = extra {
            req = req.header(h, v);
        }
        let mut r = req.call().unwrap();
        let challenges: Vec<String> = r
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert!(challenges.len() <= 1, "one challenge, not {challenges:?}");
        let challenge = challenges.into_iter().next();
        (
            r.status().as_u16(),
            challenge,
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };

    let (status, challenge, _) = get(None, None);
    assert_eq!(status, 401);
    assert_eq!(challenge.as_deref(), Some("Bearer realm=\"keyward\""));

    let (key_id, key) = app.create_key(&app.admin_key, &app.admin_id, "behind nginx");
    // A client's own X-Keyward-* header never reaches the upstream.
    let (status, _, upstream_saw) = get(Some(&key), Some(("X-Keyward-User-Id", "spoofed")));
    assert_eq!(status, 200, "{upstream_saw}");
    assert!(upstream_saw.starts_with("get /some/path"), "{upstream_saw}");
    for want in [
        format!("x-keyward-user-id: {}", app.admin_id),
        format!("x-keyward-tenant-id: {}", app.tenant_id),
        "x-keyward-role: tenant_admin".to_owned(),
        format!("x-keyward-key-id: {key_id}"),
    ] {
        assert!(
            upstream_saw.contains(&want),
            "upstream lacks {want:?}:\n{upstream_saw}"
        );
    }
    assert!(!upstream_saw.contains("spoofed"), "{upstream_saw}");

    app.ok(
        &app.admin_key,
        DELETE_KEY,
        json!({ "input": { "key_id": key_id } }),
    );
    let (status, challenge, _) = get(Some(&key), None);
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("This API key was revoked at"));

    // Stopping it leaves no worker behind.
    let workers = children(nginx.0.id());
    assert!(!workers.is_empty(), "nginx runs its worker");
    nginx.stop();
    for w in workers {
        assert!(
            !std::path::Path::new(&format!("/proc/{w}")).exists(),
            "worker {w} outlived its master"
        );
    }
}

/// Through the shipped nginx example, a read-only key may not reach the
/// events socket by any spelling keyward cannot read: a target with raw
/// non-ASCII bytes or a fragment is refused, and the service behind sees
/// none of them; plain reads still pass.
#[test]
fn nginx_forwards_nothing_keyward_could_not_read() {
    let (app, reader, _policies) = read_only_app();
    let dir = tempfile::tempdir().unwrap();
    let listen = free_port();
    let _nginx = start_nginx(
        dir.path(),
        listen,
        app.url.trim_start_matches("http://"),
        echo_upstream(),
    );
    let send = |line: &[u8]| -> (u16, String) {
        let mut req = line.to_vec();
        req.extend_from_slice(
            format!("\r\nHost: prefect.local\r\nAuthorization: Bearer {reader}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        crate::helpers::raw_exchange(&format!("127.0.0.1:{listen}"), &req)
    };
    let (status, text) = send(b"GET /api/flows/42 HTTP/1.1");
    assert_eq!(status, 200, "{text}");
    for line in [
        &b"GET /api/events/in?\xff HTTP/1.1"[..],
        b"GET /api/events/in HTTP/1.1",
        b"POST /api/work_pools/filter#/queues/ HTTP/1.1",
    ] {
        let (status, text) = send(line);
        assert!(
            status == 403 || status == 400,
            "{}: {status} {text}",
            String::from_utf8_lossy(line)
        );
        assert!(
            !text.contains("get /api/events") && !text.contains("post /api/work_pools"),
            "{text}"
        );
    }
}

/// An upstream that answers with the request line it received and the
/// `X-Keyward-Route` nginx passed on, both hex-encoded (the bytes exactly)
/// in headers `X-Line` and `X-Route` (so that a HEAD says them too).
fn recording_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            let _ = reader.read_until(b'\n', &mut line);
            let mut route = Vec::new();
            loop {
                let mut h = Vec::new();
                if reader.read_until(b'\n', &mut h).unwrap_or(0) <= 2 {
                    break;
                }
                if h.to_ascii_lowercase().starts_with(b"x-keyward-route:") {
                    route = h[16..].trim_ascii().to_vec();
                }
            }
            let mut s = reader.into_inner();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nX-Line: {}\r\nX-Route: {}\r\nContent-Length: 9\r\nConnection: close\r\n\r\nforwarded",
                hex(line.trim_ascii_end()),
                hex(&route)
            );
        }
    });
    port
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// One request a stranger could send nginx: a method, a target and extra
/// headers from pieces known to confuse parsers (encodings, raw bytes,
/// fragments, dot segments, doubled and spoofed headers, long values).
fn fuzzed_request(rng: &mut rand::rngs::StdRng, key: &str) -> Vec<u8> {
    use rand::RngExt;
    use rand::seq::IndexedRandom;
    const METHODS: &[&[u8]] = &[
        b"GET",
        b"GET",
        b"POST",
        b"POST",
        b"PUT",
        b"PATCH",
        b"DELETE",
        b"HEAD",
        b"OPTIONS",
        b"get",
        b"PROPFIND",
        b"G\xc3\xa9T",
    ];
    const PATHS: &[&[u8]] = &[
        b"/api/flows/42",
        b"/api/events/in",
        b"/api/events/out",
        b"/api/work_pools/filter",
        b"/api/flows/filter",
        b"/api/deployments/0f7c1e2a-96e1-4c4e-9a0e-8d3b3c1f0e11",
        b"/",
        b"/api/",
    ];
    const PIECES: &[&[u8]] = &[
        b"?q=1",
        b"?\xff",
        b"?a=%ff",
        b"#frag",
        b"#/queues/",
        b"%ff",
        b"%c3%a9",
        b"\xc3\xa9",
        b"\xff",
        b"%2e%2e/events/in",
        b"/../events/in",
        b"/./",
        b"//",
        b"%2F",
        b"%00",
        b"%",
        b"%6",
        b"/filter",
        b"/%69n",
        b";x=1",
    ];
    let mut target = PATHS.choose(rng).unwrap().to_vec();
    for _ in 0..rng.random_range(0..4) {
        target.extend_from_slice(PIECES.choose(rng).unwrap());
    }
    if rng.random_bool(0.03) {
        target.extend(std::iter::repeat_n(b'a', rng.random_range(1000..9000)));
    }
    let mut req = METHODS.choose(rng).unwrap().to_vec();
    req.push(b' ');
    req.extend_from_slice(&target);
    req.extend_from_slice(b" HTTP/1.1\r\nHost: prefect.local\r\n");
    req.extend_from_slice(format!("Authorization: Bearer {key}\r\n").as_bytes());
    const EXTRA: &[&[u8]] = &[
        b"Host: other.local\r\n",
        b"X-Original-URI: /api/flows/42\r\n",
        b"X-Original-URI: /\r\nX-Original-URI: /api/events/in\r\n",
        b"X-Original-Method: GET\r\n",
        b"X-Forwarded-Host: a.local\r\nX-Forwarded-Host: b.local\r\n",
        b"X-Keyward-Route: GET /api/flows/42\r\n",
        b"Host: h\xc3\xa9.local\r\n",
    ];
    for _ in 0..rng.random_range(0..3) {
        req.extend_from_slice(EXTRA.choose(rng).unwrap());
    }
    req.extend_from_slice(b"Content-Length: 0\r\nConnection: close\r\n\r\n");
    req
}

/// What policies/examples/prefect-read-only says of a READ_ONLY_USER's
/// request, written again here from its text: the path as the docs say
/// keyward reads it (before `?`, percent-decoded, which must give UTF-8,
/// `.` and `..` resolved, repeated slashes merged, a trailing slash kept).
fn read_only_may(method: &[u8], target: &[u8]) -> bool {
    let raw = target.split(|b| *b == b'?').next().unwrap();
    let mut bytes = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            raw[i],
            raw.get(i + 1).and_then(|b| hex(*b)),
            raw.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                bytes.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    let decoded = String::from_utf8(bytes).expect("a forwarded path is UTF-8 once decoded");
    let mut kept: Vec<&str> = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s),
        }
    }
    let mut path = format!("/{}", kept.join("/"));
    if decoded.ends_with('/') && path.len() > 1 {
        path.push('/');
    }
    match method {
        b"GET" | b"HEAD" | b"OPTIONS" => path != "/api/events/in",
        b"POST" => {
            ["/filter", "/count", "/paginate"]
                .iter()
                .any(|end| path.ends_with(end) || path.ends_with(&format!("{end}/")))
                || path == "/api/admin/version"
                || path == "/api/csrf-token"
        }
        _ => false,
    }
}

/// A stranger's requests through the shipped nginx example: every request
/// nginx forwards was decided by keyward as exactly that method and
/// target (nginx passes keyward's `X-Keyward-Route` on to the service,
/// which compares it with the request line it received), and is one the
/// policy, read independently of keyward, lets a read-only key make. Cases:
/// `KEYWARD_FUZZ_CASES` (`make fuzz` runs 20,000), seed `KEYWARD_SEED`.
#[test]
fn fuzz_every_request_nginx_forwards_is_the_one_keyward_decided() {
    use rand::SeedableRng;
    let cases: usize = std::env::var("KEYWARD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let seed: u64 = std::env::var("KEYWARD_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let (app, reader, _policies) = read_only_app();
    let dir = tempfile::tempdir().unwrap();
    let listen = free_port();
    let upstream = recording_upstream();
    let site = example_site(listen, app.url.trim_start_matches("http://"), upstream).replace(
        &format!("proxy_pass http://127.0.0.1:{upstream};"),
        &format!(
            "auth_request_set $keyward_route $upstream_http_x_keyward_route;\n        proxy_set_header X-Keyward-Route $keyward_route;\n        proxy_buffer_size 64k;\n        proxy_buffers 8 64k;\n        proxy_pass http://127.0.0.1:{upstream};"
        ),
    );
    assert!(
        site.contains("$keyward_route"),
        "the example's proxy_pass moved"
    );
    let _nginx = run_nginx(dir.path(), listen, &site);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut forwarded, mut refused) = (0, std::collections::BTreeMap::<u16, usize>::new());
    for _ in 0..cases {
        let req = fuzzed_request(&mut rng, &reader);
        let (status, text) = crate::helpers::raw_exchange(&format!("127.0.0.1:{listen}"), &req);
        let sent = String::from_utf8_lossy(&req[..req.len().min(200)]).into_owned();
        let Some((head, _)) = text.split_once("\r\n\r\n") else {
            panic!("no answer to {sent:?}: {text:?}");
        };
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| unhex(v.trim()))
        };
        let (Some(line), Some(route)) = (header("X-Line:"), header("X-Route:")) else {
            *refused.entry(status).or_default() += 1;
            continue;
        };
        forwarded += 1;
        assert_eq!(status, 200, "{sent:?}");
        // The request line nginx sent: METHOD SP TARGET SP HTTP/1.x.
        let line = match line.iter().rposition(|b| *b == b' ') {
            Some(at) => &line[..at],
            None => &line[..],
        };
        assert_eq!(
            String::from_utf8_lossy(&route),
            String::from_utf8_lossy(line),
            "nginx forwarded one request and keyward decided another, for {sent:?}"
        );
        assert_eq!(route, line, "the same bytes, for {sent:?}");
        let (method, target) = line.split_at(line.iter().position(|b| *b == b' ').unwrap());
        assert!(
            read_only_may(method, &target[1..]),
            "forwarded a request the policy refuses: {:?}",
            String::from_utf8_lossy(line)
        );
    }
    eprintln!(
        "{cases} requests (seed {seed}): {forwarded} forwarded, refused by status {refused:?}"
    );
    // nginx makes a 500 of anything from keyward but 2xx, 401 and 403.
    assert!(
        !refused.contains_key(&500),
        "keyward answered nginx oddly: {refused:?}"
    );
    assert!(
        forwarded > cases / 10,
        "too few forwarded to say anything: {forwarded}"
    );
    assert!(
        refused.get(&403).copied().unwrap_or(0) > cases / 20,
        "too few refused by keyward: {refused:?}"
    );
}
