//! `keyward keys report-leak`: an operator's own secret scanner. Finds
//! keyward keys in a file (or takes a report in GitHub's format), signs the
//! report with the scanner's P-256 key, and posts it to the server's
//! `/leaks`, which revokes the live ones. Secrets are never printed: each
//! is shown by the start of its SHA-256.
use std::path::Path;

use serde_json::Value;

use super::api::ClientError;
use super::client::Client;
use crate::leaks::{Reported, SigningKey, find_tokens, parse_report};

/// `/leaks` on the server whose GraphQL URL is `api`.
fn leaks_url(api: &str) -> Result<String, ClientError> {
    let mut u = url::Url::parse(api)
        .map_err(|e| ClientError::Usage(format!("the API URL {api:?}: {e}")))?;
    u.set_path("/leaks");
    u.set_query(None);
    Ok(u.to_string())
}

impl Client {
    pub(super) fn report_leak(
        &self,
        file: &Path,
        signing_key: &Path,
        url: Option<&str>,
    ) -> Result<(), ClientError> {
        let key = SigningKey::load(signing_key).map_err(ClientError::Usage)?;
        let text = std::fs::read_to_string(file)
            .map_err(|e| ClientError::Usage(format!("{}: {e}", file.display())))?;
        let reported: Vec<Reported> = match parse_report(text.as_bytes()) {
            Ok(r) if text.trim_start().starts_with('[') => r,
            _ => find_tokens(&text)
                .into_iter()
                .map(|token| Reported {
                    token,
                    kind: "keyward_api_key".into(),
                    url: url.map_or_else(|| file.display().to_string(), str::to_owned),
                    source: "keyward keys report-leak".into(),
                })
                .collect(),
        };
        if reported.is_empty() {
            self.print(Value::Array(vec![]), || {
                format!("No keyward key found in {}.\n", file.display())
            });
            return Ok(());
        }
        let body =
            serde_json::to_string(&reported).map_err(|e| ClientError::Usage(e.to_string()))?;
        let signature = key.sign(body.as_bytes()).map_err(ClientError::Usage)?;
        let endpoint = leaks_url(&self.api.value)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut answer = agent
            .post(&endpoint)
            .header("content-type", "application/json")
            .header("Github-Public-Key-Identifier", key.key_identifier())
            .header("Github-Public-Key-Signature", signature)
            .send(body.as_bytes())
            .map_err(|e| ClientError::Unreachable {
                url: endpoint.clone(),
                reason: e.to_string(),
            })?;
        let status = answer.status().as_u16();
        let text = answer.body_mut().read_to_string().unwrap_or_default();
        if status != 200 {
            return Err(ClientError::Http {
                url: endpoint,
                status,
                body: text,
            });
        }
        let labels: Value = serde_json::from_str(&text).map_err(|e| ClientError::Http {
            url: endpoint.clone(),
            status,
            body: format!("{e}: {text}"),
        })?;
        self.print(labels.clone(), || {
            let mut out = format!(
                "{} key{} found in {}; reported to {endpoint}:\n",
                reported.len(),
                if reported.len() == 1 { "" } else { "s" },
                file.display()
            );
            for (r, l) in reported.iter().zip(labels.as_array().into_iter().flatten()) {
                let hash = l["token_hash"].as_str().unwrap_or_default();
                out.push_str(&format!(
                    "  {}… (sha256 {}…): {}\n",
                    r.token.get(..4).unwrap_or_default(),
                    hash.get(..12).unwrap_or_default(),
                    l["label"].as_str().unwrap_or("?")
                ));
            }
            out.push_str("true_positive: a keyward key, now revoked (or revoked before); false_positive: not one.\n");
            out
        });
        Ok(())
    }
}
