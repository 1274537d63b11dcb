//! A webhook receiver on a loopback port: plain HTTP/1.1, one request per
//! connection. It answers each request with the next status of its script
//! (then 200), and keeps what it got.
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: String,
    /// The status it was answered with.
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

#[derive(Default)]
struct Shared {
    got: Vec<Received>,
    script: VecDeque<u16>,
}

pub struct Receiver {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

impl Receiver {
    /// Answers the first requests with `script`'s statuses, then 200.
    pub fn start(script: &[u16]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let shared = Arc::new(Mutex::new(Shared {
            got: Vec::new(),
            script: script.iter().copied().collect(),
        }));
        let s = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut headers = HashMap::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                    }
                }
                let len: usize = headers
                    .get("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let status = {
                    let mut s = s.lock().unwrap();
                    let status = s.script.pop_front().unwrap_or(200);
                    s.got.push(Received {
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                        status,
                    });
                    status
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Self { url, shared }
    }

    /// Everything received so far.
    pub fn got(&self) -> Vec<Received> {
        self.shared.lock().unwrap().got.clone()
    }

    /// Waits (up to 30 s) until `n` requests have arrived; returns them all.
    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.got();
            if got.len() >= n || start.elapsed() > Duration::from_secs(30) {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
