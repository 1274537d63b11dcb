//! The client's core: options every command takes, where the key and server
//! come from, and how answers are printed (tables, or JSON with `--json`).
use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};

use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::{Value, json};

use super::api::{Api, ClientError};
use super::config::{ConfigFile, Resolved, config_path, resolve_api, resolve_key};
use super::documents;
use super::fail;

/// Options every client command takes.
#[derive(Args, Clone, Debug)]
pub struct ClientOpts {
    /// The API key [default: $KEYWARD_API_KEY, $PREFECT__CLOUD__AGENT__AUTH_TOKEN,
    /// $PREFECT__CLOUD__API_KEY, then the config file]
    #[arg(
        short = 'k',
        long = "key",
        visible_alias = "token",
        visible_short_alias = 't',
        global = true
    )]
    pub key: Option<String>,
    /// The server's GraphQL URL [default: $KEYWARD_API, the config file, then
    /// http://127.0.0.1:4200/graphql]
    #[arg(long, global = true)]
    pub api: Option<String>,
    /// Machine-readable JSON output
    #[arg(long, global = true)]
    pub json: bool,
}

/// Runs a client command: errors on stderr, in one line (a JSON object with
/// `--json`), exit code 1.
pub fn run(
    opts: &ClientOpts,
    command: impl FnOnce(&mut Client) -> Result<(), ClientError>,
) -> std::process::ExitCode {
    match Client::new(opts).and_then(|mut c| command(&mut c)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if opts.json => {
            eprintln!("{}", e.to_json());
            std::process::ExitCode::FAILURE
        }
        Err(e) => fail(e),
    }
}

/// A client: where it talks to, with which key, and how it prints.
pub struct Client {
    pub api: Resolved,
    pub key: Option<Resolved>,
    pub file: ConfigFile,
    pub json: bool,
}

pub(super) fn env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

/// A secret, shortened so it can be shown: its prefix and last four.
pub(super) fn masked(secret: &str) -> String {
    let n = secret.len();
    if n <= 12 {
        "****".to_owned()
    } else {
        format!("{}…{}", &secret[..4], &secret[n - 4..])
    }
}

pub(super) fn when(v: &Value) -> String {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(
            || "never".to_owned(),
            |t| {
                t.with_timezone(&Utc)
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string()
            },
        )
}

pub(super) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Columns padded to their widest cell, like the Prefect CLI's tables.
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect()) + "\n";
    for row in rows {
        out += &(line(row.clone()) + "\n");
    }
    out
}

/// Asks on a terminal; without one, `--yes` is required.
pub(super) fn confirm(question: &str, yes: bool) -> Result<(), ClientError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(ClientError::Usage(format!(
            "{question} Not asked without a terminal: pass --yes"
        )));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| ClientError::Usage(e.to_string()))?;
    if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(ClientError::Usage("cancelled".into()))
    }
}

impl Client {
    /// Resolves key and server from flags, environment and config file.
    pub fn new(opts: &ClientOpts) -> Result<Self, ClientError> {
        let file = ConfigFile::load(config_path(&env)).map_err(ClientError::Usage)?;
        let api = resolve_api(opts.api.as_deref(), &env, &file);
        let key = resolve_key(opts.key.as_deref(), &env, &file);
        Ok(Self {
            api,
            key,
            file,
            json: opts.json,
        })
    }

    pub(super) fn api(&self) -> Result<Api, ClientError> {
        Ok(self.api_with_key()?.0)
    }

    /// The API client and the key it calls with (and where that key came from).
    pub(super) fn api_with_key(&self) -> Result<(Api, &Resolved), ClientError> {
        let key = self.key.as_ref().ok_or_else(|| {
            ClientError::Usage(
                "no API key: pass --key, set KEYWARD_API_KEY, or run `keyward auth login --key <key>`".into(),
            )
        })?;
        Ok((Api::new(&self.api.value, Some(&key.value)), key))
    }

    pub(super) fn print(&self, json: Value, text: impl FnOnce() -> String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        } else {
            print!("{}", text());
        }
    }

    pub(super) fn whoami(&self, api: &Api) -> Result<Value, ClientError> {
        let d = api.call(documents::AUTH_INFO, json!({}))?;
        Ok(d["auth_info"].clone())
    }
}

/// Every account of the caller's tenant by id: people by e-mail, service
/// accounts by name. The keys a caller lists belong to these (its own keys
/// in other tenants are its own account's).
pub(super) fn account_names(api: &Api) -> Result<HashMap<String, String>, ClientError> {
    let ms = api.call(documents::MEMBERS, json!({}))?["membership"].clone();
    Ok(ms
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let u = &m["user"];
            let shown = if u["email"].is_string() {
                text(&u["email"])
            } else {
                text(&u["name"])
            };
            (text(&u["id"]), shown)
        })
        .collect())
}

/// An account's name, or its id when the caller cannot see it.
pub(super) fn name_of(names: &HashMap<String, String>, id: &Value) -> String {
    let id = text(id);
    names.get(&id).cloned().unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        assert_eq!(
            masked("kwu_0123456789abcdefghijklmnopqrstuvwxyzAB"),
            "kwu_…yzAB"
        );
        assert_eq!(masked("short"), "****");
    }

    #[test]
    fn tables_pad_columns() {
        let t = table(&["A", "LONG"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "A    LONG\nxyz  1\n");
    }
}
