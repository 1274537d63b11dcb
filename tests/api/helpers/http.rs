//! Talking HTTP to a test server: raw requests, and GraphQL with and
//! without a key.
use std::collections::HashMap;

use serde_json::{Value, json};

use super::TestApp;

pub struct Response {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub text: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

impl TestApp {
    /// POSTs `body` to `path` with the given headers.
    pub fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        content_type: &str,
        body: &str,
    ) -> Response {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        to_response(req.send(body))
    }

    pub fn get(&self, path: &str) -> Response {
        self.get_with(path, &[])
    }

    /// GETs `path` with the given headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = self.agent.get(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        to_response(req.call())
    }

    /// A GraphQL request the way most clients send it: `variables` as an object.
    pub fn gql_with(
        &self,
        key: Option<&str>,
        headers: &[(&str, &str)],
        query: &str,
        variables: Value,
    ) -> Response {
        let auth = key.map(|k| format!("Bearer {k}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(a) = &auth {
            all.push(("authorization", a));
        }
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.post("/graphql", &all, "application/json", &body)
    }

    /// The body of a GraphQL answer, after checking it is HTTP 200.
    pub fn gql(&self, key: &str, query: &str, variables: Value) -> Value {
        let r = self.gql_with(Some(key), &[], query, variables);
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }

    /// `data`, after checking there is no `errors` key at all.
    pub fn ok(&self, key: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(key, query, variables);
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// The `extensions.code` of the first error.
    pub fn code(&self, key: &str, query: &str, variables: Value) -> String {
        let body = self.gql(key, query, variables);
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error: {body}"))
            .to_owned()
    }

    /// A request without a key (for accepting invitations).
    pub fn anonymous(&self, query: &str, variables: Value) -> Value {
        let r = self.gql_with(None, &[], query, variables);
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }
}

fn to_response(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Response {
    let mut r = r.expect("the server answers");
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    Response {
        status,
        headers,
        text,
    }
}

impl TestApp {
    /// Sends `GET /auth/verify` with `key` from four threads, runs `change`
    /// once 200 requests have succeeded, and stops each thread after 300
    /// requests sent after `change` returned. Returns how many succeeded
    /// before it, and after: a change that stops the key must leave 0.
    pub fn hammer(&self, key: &str, change: impl FnOnce()) -> (usize, usize) {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        const AFTER: usize = 300;
        let url = format!("{}/auth/verify", self.url);
        let changed = Arc::new(AtomicBool::new(false));
        let before = Arc::new(AtomicUsize::new(0));
        let after = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (url, key) = (url.clone(), key.to_owned());
                let (changed, before, after) = (changed.clone(), before.clone(), after.clone());
                std::thread::spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build()
                        .into();
                    let mut sent_after = 0;
                    while sent_after < AFTER {
                        // Read the flag before sending: a request sent after
                        // the change returned must see it.
                        let late = changed.load(Ordering::SeqCst);
                        let status = agent
                            .get(&url)
                            .header("Authorization", &format!("Bearer {key}"))
                            .call()
                            .unwrap()
                            .status();
                        sent_after += usize::from(late);
                        match (late, status.as_u16()) {
                            (false, 200) => _ = before.fetch_add(1, Ordering::SeqCst),
                            (true, 200) => _ = after.fetch_add(1, Ordering::SeqCst),
                            _ => {}
                        }
                    }
                })
            })
            .collect();
        // Let the hammering start and the key settle in the cache.
        while before.load(Ordering::SeqCst) < 200 {
            std::thread::yield_now();
        }
        change();
        changed.store(true, Ordering::SeqCst);
        for t in threads {
            t.join().unwrap();
        }
        (before.load(Ordering::SeqCst), after.load(Ordering::SeqCst))
    }
}

/// Sends `request` (raw bytes: a request line and headers exactly as
/// given, non-ASCII and duplicates included) to `addr` and reads the whole
/// answer; returns its status and its text.
pub fn raw_exchange(addr: &str, request: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}
