//! `keyward keys`: create (for yourself or a service account), list, revoke.
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
        /// Print the secret alone, for scripts
        #[arg(short, long)]
        quiet: bool,
    },
    /// List the keys you may see (never their secrets).
    #[command(after_help = "Example:\n  keyward keys list")]
    List,
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

impl Client {
    pub fn keys(&self, cmd: &KeysCommand) -> Result<(), ClientError> {
        let api = self.api()?;
        match cmd {
            KeysCommand::Create {
                name,
                expires_in,
                expires_at,
                for_account,
                quiet,
            } => {
                let expires = parse_expiry(*expires_in, expires_at.as_deref())?;
                let owner = match for_account {
                    Some(who) => Value::String(service_account_id(&api, who)?),
                    None => self.whoami(&api)?["user_id"].clone(),
                };
                let d = api.call(
                    documents::CREATE_KEY,
                    json!({ "input": { "user_id": owner, "name": name, "expires_at": expires } }),
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
                        ]
                    })
                    .collect();
                self.print(keys.clone(), || {
                    table(&["NAME", "ID", "OWNER", "EXPIRES AT", "LAST USED"], &rows)
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
}
