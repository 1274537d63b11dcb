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

fn start_nginx(dir: &std::path::Path, listen: u16, keyward: &str, upstream: u16) -> Nginx {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/nginx/keyward.conf"
    ))
    .unwrap();
    let server = example
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{listen}"))
        .replace("127.0.0.1:4200", keyward)
        .replace("127.0.0.1:9000", &format!("127.0.0.1:{upstream}"));
    run_nginx(dir, listen, &server)
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
    let policies = crate::helpers::policy_dir_with_example("prefect-read-only", &[]);
    let path = policies.path().to_owned();
    let app = crate::helpers::spawn_app_with(move |c| c.policies = Some(path));
    let (_, reader) = app.member("ro@default", keyward::domain::model::Role::ReadOnlyUser);
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
