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
