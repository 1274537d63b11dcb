//! What changes from run to run, replaced so snapshots are stable.
use serde_json::{Value, json};

use super::TestApp;

impl TestApp {
    pub fn label(&self, id: &str, name: &str) {
        self.labels
            .borrow_mut()
            .push((id.to_owned(), format!("[{name}]")));
    }

    /// Replaces what changes from run to run: labelled ids by their names,
    /// other UUIDs by `[uuid]`, key secrets by `[kwu secret]`/`[kws secret]`.
    /// Times stay: the injected clock makes them the same every run.
    pub fn redact(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                if keyward::domain::api_key::Token::parse(s).is_ok() {
                    return json!(format!("[{} secret]", &s[..3]));
                }
                Value::String(self.redact_ids(s))
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.redact(x)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| (k.clone(), self.redact(x))).collect())
            }
            other => other.clone(),
        }
    }

    /// Every UUID inside `s`, by its label or as `[uuid]`.
    pub fn redact_ids(&self, s: &str) -> String {
        const LEN: usize = 36;
        let mut out = String::new();
        let mut i = 0;
        while i < s.len() {
            let candidate = s
                .get(i..i + LEN)
                .filter(|c| uuid::Uuid::try_parse(c).is_ok() && c.as_bytes()[8] == b'-');
            match candidate {
                Some(id) => {
                    let labels = self.labels.borrow();
                    out.push_str(
                        labels
                            .iter()
                            .find(|(l, _)| l == id)
                            .map_or("[uuid]", |(_, name)| name.as_str()),
                    );
                    i += LEN;
                }
                None => {
                    let c = s[i..].chars().next().unwrap();
                    out.push(c);
                    i += c.len_utf8();
                }
            }
        }
        out
    }
}
