//! The client commands: `auth`, `keys`, `service-accounts`, `members`.
use std::io::{BufRead, IsTerminal, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::api::{Api, ClientError};
use super::config::{ConfigFile, Resolved, config_path, resolve_api, resolve_key};

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

#[derive(Subcommand, Debug)]
pub enum AuthCommand {
    /// Check a key against the server, then store it in the config file (mode 0600).
    #[command(
        after_help = "Example:\n  keyward auth login --key kwu_... --api https://keys.example.com/graphql"
    )]
    Login,
    /// Forget the key stored in the config file.
    #[command(after_help = "Example:\n  keyward auth logout")]
    Logout,
    /// Who am I, in which tenant, with what role, until when; and where the
    /// key and server came from. Exit 1 when the key does not work.
    #[command(after_help = "Example:\n  keyward auth status --json")]
    Status,
}

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

#[derive(Subcommand, Debug)]
pub enum ServiceAccountsCommand {
    /// Create a service account in your tenant (tenant admins).
    #[command(after_help = "Example:\n  keyward service-accounts create deploy-bot --role USER")]
    Create {
        name: String,
        /// TENANT_ADMIN (default), USER or READ_ONLY_USER
        #[arg(long)]
        role: Option<String>,
    },
    /// List your tenant's service accounts and their keys.
    #[command(after_help = "Example:\n  keyward service-accounts list")]
    List,
    /// Delete a service account; every key it holds stops working.
    #[command(after_help = "Example:\n  keyward service-accounts delete 3f0c... --yes")]
    Delete {
        id: String,
        #[arg(short, long)]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum MembersCommand {
    /// List your tenant's members and their roles.
    #[command(after_help = "Example:\n  keyward members list")]
    List,
    /// Invite someone to your tenant (tenant admins); prints the one-time token.
    #[command(
        after_help = "Example:\n  keyward members invite ana@example.com --role READ_ONLY_USER"
    )]
    Invite {
        email: String,
        /// USER (default), READ_ONLY_USER or TENANT_ADMIN
        #[arg(long)]
        role: Option<String>,
    },
    /// Join a tenant with an invitation token; prints your first key for it,
    /// once. With a key configured (an account you already have), that
    /// account joins; without one, the invited e-mail's new account is made.
    #[command(
        after_help = "Examples:\n  keyward members accept kwi_... --key-name laptop               # you already have an account: your key is sent\n  keyward members accept kwi_... --key-name laptop --without-key # a new account for the invited e-mail"
    )]
    Accept {
        token: String,
        /// The first key's name (default "first key").
        #[arg(long)]
        key_name: Option<String>,
        /// Send no key: make the invited e-mail's account (it must not exist yet).
        #[arg(long)]
        without_key: bool,
    },
}

/// Every account of the caller's tenant by id: people by e-mail, service
/// accounts by name. The keys a caller lists belong to these (its own keys
/// in other tenants are its own account's).
fn account_names(api: &Api) -> Result<std::collections::HashMap<String, String>, ClientError> {
    let q = "{ membership { user { id name email } } }";
    let ms = api.call(q, json!({}))?["membership"].clone();
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
fn name_of(names: &std::collections::HashMap<String, String>, id: &Value) -> String {
    let id = text(id);
    names.get(&id).cloned().unwrap_or(id)
}

/// `who` as a service account id: an id as given, or the one service
/// account of the caller's tenant with that name.
fn service_account_id(api: &Api, who: &str) -> Result<String, ClientError> {
    if uuid::Uuid::parse_str(who).is_ok() {
        return Ok(who.to_owned());
    }
    let sas = api.call("{ service_account { id name } }", json!({}))?["service_account"].clone();
    let found: Vec<String> = sas
        .as_array()
        .into_iter()
        .flatten()
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

/// A client: where it talks to, with which key, and how it prints.
pub struct Client {
    pub api: Resolved,
    pub key: Option<Resolved>,
    pub file: ConfigFile,
    pub json: bool,
}

fn env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

/// A secret, shortened so it can be shown: its prefix and last four.
fn masked(secret: &str) -> String {
    let n = secret.len();
    if n <= 12 {
        "****".to_owned()
    } else {
        format!("{}…{}", &secret[..4], &secret[n - 4..])
    }
}

fn when(v: &Value) -> String {
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

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Columns padded to their widest cell, like the Prefect CLI's tables.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
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
fn confirm(question: &str, yes: bool) -> Result<(), ClientError> {
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

    fn api(&self) -> Result<Api, ClientError> {
        Ok(self.api_with_key()?.0)
    }

    /// The API client and the key it calls with (and where that key came from).
    fn api_with_key(&self) -> Result<(Api, &Resolved), ClientError> {
        let key = self.key.as_ref().ok_or_else(|| {
            ClientError::Usage(
                "no API key: pass --key, set KEYWARD_API_KEY, or run `keyward auth login --key <key>`".into(),
            )
        })?;
        Ok((Api::new(&self.api.value, Some(&key.value)), key))
    }

    fn print(&self, json: Value, text: impl FnOnce() -> String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        } else {
            print!("{}", text());
        }
    }

    fn whoami(&self, api: &Api) -> Result<Value, ClientError> {
        let d = api.call(
            "{ auth_info { user_id tenant_id api_key_id role account_type expires_at } }",
            json!({}),
        )?;
        Ok(d["auth_info"].clone())
    }

    pub fn auth(&mut self, cmd: &AuthCommand) -> Result<(), ClientError> {
        match cmd {
            AuthCommand::Login => {
                let key = match &self.key {
                    Some(k) if matches!(k.source, super::config::Source::Flag(_)) => {
                        k.value.clone()
                    }
                    _ => {
                        return Err(ClientError::Usage(
                            "give the key to store: keyward auth login --key <key>".into(),
                        ));
                    }
                };
                let me = self.whoami(&self.api()?)?;
                let api_flag = matches!(self.api.source, super::config::Source::Flag(_))
                    .then_some(self.api.value.as_str());
                self.file.set_login(&key, api_flag);
                self.file.save().map_err(ClientError::Usage)?;
                let path = self.file.path.display().to_string();
                self.print(json!({ "auth_info": me, "config": path }), || {
                    format!(
                        "Logged in to {} as {} ({}, {}); key stored in {path}\n",
                        self.api.value,
                        text(&me["user_id"]),
                        text(&me["account_type"]),
                        text(&me["role"])
                    )
                });
            }
            AuthCommand::Logout => {
                let had = self.file.clear_keys();
                self.file.save().map_err(ClientError::Usage)?;
                let path = self.file.path.display().to_string();
                self.print(json!({ "removed": had, "config": path }), || {
                    if had {
                        format!("Removed the key from {path}\n")
                    } else {
                        format!("No key was stored in {path}\n")
                    }
                });
            }
            AuthCommand::Status => {
                let (api, key) = self.api_with_key()?;
                let me = self.whoami(&api)?;
                let q = "query($id: uuid) { tenant(where: {id: {_eq: $id}}) { slug name } }";
                let tenant = api.call(q, json!({ "id": me["tenant_id"] }))?["tenant"][0].clone();
                let account = name_of(&account_names(&api)?, &me["user_id"]);
                let out = json!({
                    "api": { "url": self.api.value, "source": self.api.source.to_string() },
                    "key": { "shown": masked(&key.value), "source": key.source.to_string() },
                    "user_id": me["user_id"], "account": account, "account_type": me["account_type"], "role": me["role"],
                    "tenant": { "id": me["tenant_id"], "slug": tenant["slug"], "name": tenant["name"] },
                    "api_key_id": me["api_key_id"], "expires_at": me["expires_at"],
                });
                self.print(out, || {
                    format!(
                        "Server:   {} (from {})\nKey:      {} (from {})\nAccount:  {} ({}, {})\nTenant:   {} ({})\nRole:     {}\nExpires:  {}\n",
                        self.api.value,
                        self.api.source,
                        masked(&key.value),
                        key.source,
                        account,
                        text(&me["account_type"]),
                        text(&me["user_id"]),
                        text(&tenant["slug"]),
                        text(&me["tenant_id"]),
                        text(&me["role"]),
                        when(&me["expires_at"]),
                    )
                });
            }
        }
        Ok(())
    }

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
                let q = "mutation($input: create_api_key_input!) { create_api_key(input: $input) { id key } }";
                let d = api.call(
                    q,
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
                let q = "{ auth_api_key(order_by: {created: desc}) { id name user_id default_tenant_id created expires_at last_used_at } }";
                let keys = api.call(q, json!({}))?["auth_api_key"].clone();
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
                let q = "mutation($input: delete_api_key_input!) { delete_api_key(input: $input) { success } }";
                api.call(q, json!({ "input": { "key_id": id } }))?;
                self.print(json!({ "revoked": id }), || format!("Revoked key {id}\n"));
            }
        }
        Ok(())
    }

    pub fn service_accounts(&self, cmd: &ServiceAccountsCommand) -> Result<(), ClientError> {
        let api = self.api()?;
        let list = "{ service_account { id name role created api_keys { id name expires_at last_used_at } } }";
        match cmd {
            ServiceAccountsCommand::Create { name, role } => {
                let q = "mutation($input: create_service_account_input!) { create_service_account(input: $input) { id name tenant_id } }";
                let d = api.call(q, json!({ "input": { "name": name, "role": role } }))?;
                let sa = d["create_service_account"].clone();
                self.print(sa.clone(), || {
                    format!("Created service account {name} ({})\nMake it a key: keyward keys create -n NAME --for {}\n", text(&sa["id"]), text(&sa["id"]))
                });
            }
            ServiceAccountsCommand::List => {
                let sas = api.call(list, json!({}))?["service_account"].clone();
                let rows: Vec<Vec<String>> = sas
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| {
                        let keys = s["api_keys"].as_array().map_or(0, Vec::len);
                        vec![
                            text(&s["name"]),
                            text(&s["id"]),
                            text(&s["role"]),
                            keys.to_string(),
                        ]
                    })
                    .collect();
                self.print(sas.clone(), || {
                    table(&["NAME", "ID", "ROLE", "KEYS"], &rows)
                });
            }
            ServiceAccountsCommand::Delete { id, yes } => {
                let sas = api.call(list, json!({}))?["service_account"].clone();
                let keys = sas
                    .as_array()
                    .and_then(|a| a.iter().find(|s| s["id"] == json!(id)))
                    .and_then(|s| s["api_keys"].as_array().map(Vec::len));
                let what = keys.map_or_else(|| "its keys".to_owned(), |n| format!("{n} key(s)"));
                confirm(
                    &format!("Delete service account {id}? {what} will stop working at once."),
                    *yes,
                )?;
                let q = "mutation($input: delete_service_account_input!) { delete_service_account(input: $input) { success } }";
                api.call(q, json!({ "input": { "user_id": id } }))?;
                self.print(json!({ "deleted": id }), || {
                    format!("Deleted service account {id}\n")
                });
            }
        }
        Ok(())
    }

    pub fn members(&self, cmd: &MembersCommand) -> Result<(), ClientError> {
        if let MembersCommand::Accept {
            token,
            key_name,
            without_key,
        } = cmd
        {
            return self.accept(token, key_name.as_deref(), *without_key);
        }
        let api = self.api()?;
        match cmd {
            MembersCommand::List => {
                let q = "{ membership { id role user { id email name account_type } } }";
                let ms = api.call(q, json!({}))?["membership"].clone();
                let rows: Vec<Vec<String>> = ms
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        let who = if m["user"]["email"].is_null() {
                            text(&m["user"]["name"])
                        } else {
                            text(&m["user"]["email"])
                        };
                        vec![
                            who,
                            text(&m["role"]),
                            text(&m["user"]["account_type"]),
                            text(&m["user"]["id"]),
                            text(&m["id"]),
                        ]
                    })
                    .collect();
                self.print(ms.clone(), || {
                    table(
                        &["MEMBER", "ROLE", "TYPE", "ACCOUNT ID", "MEMBERSHIP ID"],
                        &rows,
                    )
                });
            }
            MembersCommand::Invite { email, role } => {
                let q = "mutation($input: create_membership_invitation_input!) { create_membership_invitation(input: $input) { id token expires_at } }";
                let d = api.call(q, json!({ "input": { "email": email, "role": role } }))?;
                let inv = d["create_membership_invitation"].clone();
                self.print(inv.clone(), || {
                    format!(
                        "Invited {email}; the invitation expires {}. Give them this token, shown only once:\n{}\nThey join with `keyward members accept <token>` (or the console's \"Join with an invitation\"); someone who already has an account accepts signed in with one of their own keys.\n",
                        when(&inv["expires_at"]),
                        text(&inv["token"])
                    )
                });
            }
            MembersCommand::Accept { .. } => {}
        }
        Ok(())
    }

    /// Accepting needs no key when it makes a new account, and the
    /// account's own key when it exists.
    fn accept(
        &self,
        token: &str,
        key_name: Option<&str>,
        without_key: bool,
    ) -> Result<(), ClientError> {
        let key = self
            .key
            .as_ref()
            .filter(|_| !without_key)
            .map(|k| k.value.as_str());
        let api = Api::new(&self.api.value, key);
        let q = "mutation($input: accept_membership_invitation_input!) { accept_membership_invitation(input: $input) { user_id tenant_id key } }";
        let d = api.call(
            q,
            json!({ "input": { "token": token.trim(), "key_name": key_name } }),
        )?;
        let joined = d["accept_membership_invitation"].clone();
        self.print(joined.clone(), || {
            format!(
                "Joined tenant {} as {}. Your first key for it, shown only once:\n{}\nUse it with: keyward auth login --key <key>\n",
                text(&joined["tenant_id"]),
                text(&joined["user_id"]),
                text(&joined["key"])
            )
        });
        Ok(())
    }
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
