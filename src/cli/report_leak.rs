//! `keyward keys report-leak`: an operator's own secret scanner. Finds
//! keyward keys in a file (or takes a report in GitHub's format) and
//! reports them: signed with a scanner's P-256 key to the server's
//! `/leaks`, or with the caller's API key (`report_leaked_api_keys`).
//! Either way the live ones are revoked. Secrets are never printed: each is
//! shown by the start of its SHA-256.
use std::path::Path;

use serde_json::Value;

use serde_json::json;

use super::api::ClientError;
use super::client::Client;
use super::documents;
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
        signing_key: Option<&Path>,
        url: Option<&str>,
    ) -> Result<(), ClientError> {
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
        let (endpoint, labels) = match signing_key {
            Some(path) => self.signed(&reported, path)?,
            None => self.with_key(&reported)?,
        };
        self.print(labels.clone(), || {
            let mut out = format!(
                "{} key{} found in {}; reported to {endpoint}:\n",
                reported.len(),
                if reported.len() == 1 { "" } else { "s" },
                file.display()
            );
            for (r, l) in reported.iter().zip(labels.as_array().into_iter().flatten()) {
                let hash = l["token_hash"].as_str().unwrap_or_default();
                let revoked = if l["revoked"] == true { ", revoked now" } else { "" };
                out.push_str(&format!(
                    "  {}… (sha256 {}…): {}{revoked}\n",
                    r.token.get(..4).unwrap_or_default(),
                    hash.get(..12).unwrap_or_default(),
                    l["label"].as_str().unwrap_or("?")
                ));
            }
            out.push_str("true_positive: a keyward key, now revoked (or revoked before); false_positive: not one (or not one you may see).\n");
            out
        });
        Ok(())
    }

    /// Through GraphQL with the caller's key, 100 secrets a request.
    fn with_key(&self, reported: &[Reported]) -> Result<(String, Value), ClientError> {
        let api = self.api()?;
        let (url, source) = reported
            .first()
            .map(|r| (r.url.clone(), r.source.clone()))
            .unwrap_or_default();
        let mut all = Vec::new();
        for chunk in reported.chunks(crate::gql::MAX_REPORTED) {
            let tokens: Vec<&str> = chunk.iter().map(|r| r.token.as_str()).collect();
            let d = api.call(
                documents::REPORT_LEAKS,
                json!({ "input": { "tokens": tokens, "url": url, "source": source } }),
            )?;
            all.extend(
                d["report_leaked_api_keys"]["results"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        Ok((self.api.value.clone(), Value::Array(all)))
    }

    /// Signed, to `/leaks`, as a scanner.
    fn signed(
        &self,
        reported: &[Reported],
        signing_key: &Path,
    ) -> Result<(String, Value), ClientError> {
        let key = SigningKey::load(signing_key).map_err(ClientError::Usage)?;
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
        Ok((endpoint, labels))
    }
}
