//! `keyward keys`: create (for yourself or a service account), list,
//! rotate, disable, enable, rename, revoke.
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Subcommand;
use serde_json::{Value, json};

use super::api::{Api, ClientError};
use super::client::{Client, account_names, confirm, name_of, table, text, when};
use super::documents;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key (for yourself, or with --for for a service account).
    #[command(
        after_help = "Examples:\n  keyward keys create -n laptop --expires-in 30d\n  TOKEN=$(keyward keys create -n ci --for <service account id> --quiet)"
    )]
    Create {
        /// The key's name
        #[arg(short = 'n', long)]
        name: String,
        /// Lifetime, such as 30d, 12h or 2w
        #[arg(long, conflicts_with = "expires_at")]
        expires_in: Option<humantime::Duration>,
        /// Expiry, as 2027-01-31 (midnight UTC) or RFC 3339
        #[arg(long)]
        expires_at: Option<String>,
        /// The account the key is for: a service account's id or name
        /// (default: you)
        #[arg(long = "for", value_name = "ACCOUNT")]
        for_account: Option<String>,
        /// A restricted key: this role (TENANT_ADMIN, USER, READ_ONLY_USER),
        /// no higher than the owner's (default: the owner's)
        #[arg(long)]
        role: Option<String>,
        /// Print the secret alone, for scripts
        #[arg(short, long)]
        quiet: bool,
    },
    /// Replace a key with a new secret; the old one keeps working for the
    /// grace period, then fails, naming its replacement.
    #[command(after_help = "Examples:
  keyward keys rotate 3f0c... --grace 1h
  NEW=$(keyward keys rotate 3f0c... --grace 10m --quiet)")]
    Rotate {
        id: String,
        /// How long the old key keeps working, such as 1h or 7d (default: 0,
        /// it stops at once)
        #[arg(long, default_value = "0s")]
        grace: humantime::Duration,
        /// The new key's lifetime (default: the old key's expiry)
        #[arg(long, conflicts_with = "expires_at")]
        expires_in: Option<humantime::Duration>,
        /// The new key's expiry, as 2027-01-31 or RFC 3339
        #[arg(long)]
        expires_at: Option<String>,
        /// Print the new secret alone, for scripts
        #[arg(short, long)]
        quiet: bool,
    },
    /// Disable a key: it fails at once, until enabled again.
    #[command(after_help = "Example:
  keyward keys disable 3f0c...")]
    Disable { id: String },
    /// Enable a disabled key.
    #[command(after_help = "Example:
  keyward keys enable 3f0c...")]
    Enable { id: String },
    /// Rename a key.
    #[command(after_help = "Example:
  keyward keys rename 3f0c... ci-deploy")]
    Rename { id: String, name: String },
    /// List the keys you may see (never their secrets); keys that expire
    /// within 7 days are flagged.
    #[command(after_help = "Example:\n  keyward keys list")]
    List,
    /// Report keys found in a file (a log, a commit, a paste) as leaked:
    /// the server revokes each live one at once. With your API key, the
    /// keys you may revoke (yours; an admin's, the tenant's service-account
    /// keys); with --signing-key, as a scanner the server trusts (its
    /// --leak-report-keys), any key, and no API key is needed.
    #[command(after_help = "Examples:
  keyward keys report-leak --file build.log
  keyward keys report-leak --file build.log --signing-key scanner.pem
  keyward keys report-leak --file report.json --signing-key scanner.pem   # GitHub's format

Make a scanner key pair once, and give the server the public half:
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out scanner.pem
  openssl pkey -in scanner.pem -pubout >> leak-report-keys.pem")]
    ReportLeak {
        /// Text to search for keys (kw[usi]_ and 36 letters and digits), or
        /// a JSON array of {token, type, url, source}
        #[arg(long)]
        file: std::path::PathBuf,
        /// Report as a scanner: its private key (PKCS#8 PEM, ECDSA P-256)
        #[arg(long)]
        signing_key: Option<std::path::PathBuf>,
        /// Where the keys were found (default: the file's path)
        #[arg(long)]
        url: Option<String>,
    },
    /// Revoke a key: it stops working on its next request.
    #[command(after_help = "Example:\n  keyward keys revoke 3f0c... --yes")]
    Revoke {
        id: String,
        /// Do not ask for confirmation
        #[arg(short, long)]
        yes: bool,
    },
}

/// `who` as a service account id: an id as given, or the one service
/// account of the caller's tenant with that name.
fn service_account_id(api: &Api, who: &str) -> Result<String, ClientError> {
    if uuid::Uuid::parse_str(who).is_ok() {
        return Ok(who.to_owned());
    }
    let found: Vec<String> = super::service_accounts::all(api)?
        .iter()
        .filter(|s| s["name"] == json!(who))
        .map(|s| text(&s["id"]))
        .collect();
    match found.as_slice() {
        [id] => Ok(id.clone()),
        [] => Err(ClientError::Usage(format!(
            "no service account named {who:?} in your tenant (see `keyward service-accounts list`)"
        ))),
        many => Err(ClientError::Usage(format!(
            "{} service accounts are named {who:?}: give one of their ids ({})",
            many.len(),
            many.join(", ")
        ))),
    }
}

fn parse_expiry(
    expires_in: Option<humantime::Duration>,
    expires_at: Option<&str>,
) -> Result<Option<String>, ClientError> {
    let at: Option<DateTime<Utc>> = match (expires_in, expires_at) {
        (Some(d), _) => {
            let d =
                chrono::Duration::from_std(*d).map_err(|e| ClientError::Usage(e.to_string()))?;
            #[allow(clippy::disallowed_methods)]
            // the client's own clock: expiry is relative to now
            Some(Utc::now() + d)
        }
        (None, Some(s)) => Some(
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                })
                .map_err(|_| {
                    ClientError::Usage(format!(
                        "--expires-at {s:?}: give a date (2027-01-31) or an RFC 3339 time"
                    ))
                })?,
        ),
        (None, None) => None,
    };
    Ok(at.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)))
}

/// What a listed key's row says besides its times: restricted, disabled,
/// rotated.
fn status(k: &Value) -> String {
    let mut s = Vec::new();
    if let Some(role) = k["role"].as_str() {
        s.push(format!("role {role}"));
    }
    if !k["disabled_at"].is_null() {
        s.push("disabled".to_owned());
    }
    if !k["replaced_by"].is_null() {
        s.push(format!("rotated, works until {}", when(&k["grace_until"])));
    }
    if s.is_empty() {
        "active".to_owned()
    } else {
        s.join("; ")
    }
}

/// "expires in 3 days" for a key that expires within a week (or has):
/// whole days and hours rounded up, so a key made to last 3 days says 3.
pub(super) fn expiry_warning(expires_at: &Value, now: DateTime<Utc>) -> Option<String> {
    let at = DateTime::parse_from_rfc3339(expires_at.as_str()?).ok()?;
    let left = (at.with_timezone(&Utc) - now).num_seconds();
    let up = |unit: i64| (left + unit - 1) / unit;
    Some(match left {
        l if l <= 0 => "expired".to_owned(),
        l if l > 7 * 86_400 => return None,
        l if l <= 86_400 => match up(3600) {
            1 => "expires in 1 hour".to_owned(),
            h => format!("expires in {h} hours"),
        },
        _ => format!("expires in {} days", up(86_400)),
    })
}

impl Client {
    pub fn keys(&self, cmd: &KeysCommand) -> Result<(), ClientError> {
        // A scanner's report needs no API key: it is signed instead.
        let api = match cmd {
            KeysCommand::ReportLeak {
                file,
                signing_key,
                url,
            } => return self.report_leak(file, signing_key.as_deref(), url.as_deref()),
            _ => self.api()?,
        };
        match cmd {
            KeysCommand::ReportLeak { .. } => {}
            KeysCommand::Create {
                name,
                expires_in,
                expires_at,
                for_account,
                role,
                quiet,
            } => {
                let expires = parse_expiry(*expires_in, expires_at.as_deref())?;
                let owner = match for_account {
                    Some(who) => Value::String(service_account_id(&api, who)?),
                    None => self.whoami(&api)?["user_id"].clone(),
                };
                let role = role.as_deref().map(str::to_uppercase);
                let d = api.call(
                    documents::CREATE_KEY,
                    json!({ "input": { "user_id": owner, "name": name, "expires_at": expires, "role": role } }),
                )?;
                let made = &d["create_api_key"];
                if *quiet && !self.json {
                    println!("{}", text(&made["key"]));
                    return Ok(());
                }
                let out = json!({ "id": made["id"], "name": name, "user_id": owner, "expires_at": expires, "key": made["key"] });
                self.print(out, || {
                    format!(
                        "Created key {name} ({}), expires {}.\nThis is the only time it is shown:\n{}\n",
                        text(&made["id"]),
                        expires.as_deref().map_or("never".to_owned(), |e| when(&json!(e))),
                        text(&made["key"])
                    )
                });
            }
            KeysCommand::List => {
                let keys = api.call(documents::LIST_KEYS, json!({}))?["auth_api_key"].clone();
                let names = account_names(&api)?;
                #[allow(clippy::disallowed_methods)] // the client's own clock
                let now = Utc::now();
                let rows: Vec<Vec<String>> = keys
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|k| {
                        vec![
                            text(&k["name"]),
                            text(&k["id"]),
                            name_of(&names, &k["user_id"]),
                            when(&k["expires_at"]),
                            when(&k["last_used_at"]),
                            match expiry_warning(&k["expires_at"], now) {
                                Some(w) => format!("{}; {w}", status(k)),
                                None => status(k),
                            },
                        ]
                    })
                    .collect();
                let soon = keys
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|k| expiry_warning(&k["expires_at"], now).is_some())
                    .count();
                self.print(keys.clone(), || {
                    let mut out = table(
                        &["NAME", "ID", "OWNER", "EXPIRES AT", "LAST USED", "STATUS"],
                        &rows,
                    );
                    if soon > 0 {
                        out.push_str(&format!(
                            "Warning: {soon} key(s) expire within 7 days or have expired: rotate them (keyward keys rotate ID).\n"
                        ));
                    }
                    out
                });
            }
            KeysCommand::Rotate {
                id,
                grace,
                expires_in,
                expires_at,
                quiet,
            } => {
                let expires = parse_expiry(*expires_in, expires_at.as_deref())?;
                let grace = i32::try_from(grace.as_secs()).map_err(|_| {
                    ClientError::Usage("--grace is too long (at most a year)".into())
                })?;
                let mut input = json!({ "key_id": id, "grace_seconds": grace });
                if let Some(e) = expires {
                    input["expires_at"] = json!(e);
                }
                let d = api.call(documents::ROTATE_KEY, json!({ "input": input }))?;
                let made = d["rotate_api_key"].clone();
                if *quiet && !self.json {
                    println!("{}", text(&made["key"]));
                    return Ok(());
                }
                self.print(made.clone(), || {
                    format!(
                        "Rotated key {id}: it works until {}.\nIts replacement is {}; this is the only time its secret is shown:\n{}\n",
                        when(&made["old_key_works_until"]),
                        text(&made["id"]),
                        text(&made["key"])
                    )
                });
            }
            KeysCommand::Disable { id } | KeysCommand::Enable { id } => {
                let disabled = matches!(cmd, KeysCommand::Disable { .. });
                let d = api.call(
                    documents::UPDATE_KEY,
                    json!({ "input": { "key_id": id, "disabled": disabled } }),
                )?;
                let what = if disabled { "Disabled" } else { "Enabled" };
                self.print(d["update_api_key"].clone(), || format!("{what} key {id}\n"));
            }
            KeysCommand::Rename { id, name } => {
                let d = api.call(
                    documents::UPDATE_KEY,
                    json!({ "input": { "key_id": id, "name": name } }),
                )?;
                self.print(d["update_api_key"].clone(), || {
                    format!("Renamed key {id} to {name}\n")
                });
            }
            KeysCommand::Revoke { id, yes } => {
                confirm(
                    &format!("Revoke key {id}? Clients using it will fail on their next request."),
                    *yes,
                )?;
                api.call(documents::DELETE_KEY, json!({ "input": { "key_id": id } }))?;
                self.print(json!({ "revoked": id }), || format!("Revoked key {id}\n"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_dates_and_durations() {
        assert_eq!(
            parse_expiry(None, Some("2027-01-31")).unwrap().as_deref(),
            Some("2027-01-31T00:00:00Z")
        );
        assert_eq!(
            parse_expiry(None, Some("2027-01-31T12:00:00+02:00"))
                .unwrap()
                .as_deref(),
            Some("2027-01-31T10:00:00Z")
        );
        assert!(parse_expiry(None, Some("soon")).is_err());
        assert!(
            parse_expiry(Some("30d".parse().unwrap()), None)
                .unwrap()
                .is_some()
        );
        assert_eq!(parse_expiry(None, None).unwrap(), None);
    }

    #[test]
    fn expiry_warnings_round_up_within_a_week_only() {
        let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |secs: i64| json!((now + chrono::Duration::seconds(secs)).to_rfc3339());
        let w = |secs| expiry_warning(&at(secs), now);
        assert_eq!(w(3 * 86_400 - 60).as_deref(), Some("expires in 3 days"));
        assert_eq!(w(7 * 86_400).as_deref(), Some("expires in 7 days"));
        assert_eq!(w(7 * 86_400 + 1), None);
        assert_eq!(w(86_400).as_deref(), Some("expires in 24 hours"));
        assert_eq!(w(3000).as_deref(), Some("expires in 1 hour"));
        assert_eq!(w(0).as_deref(), Some("expired"));
        assert_eq!(w(-5).as_deref(), Some("expired"));
        assert_eq!(expiry_warning(&Value::Null, now), None);
    }
}
