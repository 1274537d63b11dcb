//! GraphQL over HTTP(S) to a keyward server.
use std::time::Duration;

use serde_json::{Value, json};

/// Why a call failed, in one line for the terminal.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} answered HTTP {status}: {body}")]
    Http {
        url: String,
        status: u16,
        body: String,
    },
    /// The server's own message, with its `extensions.code` and, for a
    /// denial, the ids of the policies that decided it.
    #[error("{message}{}", policy_note(policies))]
    Server {
        code: String,
        message: String,
        policies: Vec<String>,
    },
}

fn policy_note(policies: &[String]) -> String {
    match policies {
        [] => String::new(),
        [one] => format!(" (policy: {one})"),
        many => format!(" (policies: {})", many.join(", ")),
    }
}

impl ClientError {
    /// `UNAUTHENTICATED`, `FORBIDDEN`... for a server error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The error as `--json` prints it: `{"error": {"message", "code"?,
    /// "policies"?}}`.
    pub fn to_json(&self) -> Value {
        let mut e = json!({ "message": self.to_string() });
        if let ClientError::Server {
            code,
            message,
            policies,
        } = self
        {
            e = json!({ "message": message, "code": code, "policies": policies });
        }
        json!({ "error": e })
    }
}

pub struct Api {
    url: String,
    key: Option<String>,
    agent: ureq::Agent,
}

impl Api {
    pub fn new(url: &str, key: Option<&str>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self {
            url: url.to_owned(),
            key: key.map(str::to_owned),
            agent,
        }
    }

    /// Runs one operation and returns its `data`.
    pub fn call(&self, query: &str, variables: Value) -> Result<Value, ClientError> {
        let mut req = self.agent.post(&self.url);
        if let Some(k) = &self.key {
            req = req.header("Authorization", &format!("Bearer {k}"));
        }
        let unreachable = |e: ureq::Error| ClientError::Unreachable {
            url: self.url.clone(),
            reason: e.to_string(),
        };
        let mut resp = req
            .send_json(json!({ "query": query, "variables": variables }))
            .map_err(unreachable)?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().map_err(unreachable)?;
        let body: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) => {
                let body = text.chars().take(200).collect();
                return Err(ClientError::Http {
                    url: self.url.clone(),
                    status,
                    body,
                });
            }
        };
        if let Some(err) = body.get("errors").and_then(|e| e.get(0)) {
            return Err(ClientError::Server {
                code: err
                    .pointer("/extensions/code")
                    .and_then(Value::as_str)
                    .unwrap_or("ERROR")
                    .to_owned(),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error")
                    .to_owned(),
                policies: err
                    .pointer("/extensions/policies")
                    .and_then(Value::as_array)
                    .map(|ps| {
                        ps.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
        if status != 200 {
            return Err(ClientError::Http {
                url: self.url.clone(),
                status,
                body: text.chars().take(200).collect(),
            });
        }
        Ok(body.get("data").cloned().unwrap_or(Value::Null))
    }
}
