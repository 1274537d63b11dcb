//! `keyward service-accounts`: create, list, delete (tenant admins).
use clap::Subcommand;
use serde_json::{Value, json};

use super::api::{Api, ClientError};
use super::client::{Client, confirm, table, text};
use super::documents;

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

impl Client {
    pub fn service_accounts(&self, cmd: &ServiceAccountsCommand) -> Result<(), ClientError> {
        let api = self.api()?;
        match cmd {
            ServiceAccountsCommand::Create { name, role } => {
                let d = api.call(
                    documents::CREATE_SERVICE_ACCOUNT,
                    json!({ "input": { "name": name, "role": role } }),
                )?;
                let sa = d["create_service_account"].clone();
                self.print(sa.clone(), || {
                    format!("Created service account {name} ({})\nMake it a key: keyward keys create -n NAME --for {}\n", text(&sa["id"]), text(&sa["id"]))
                });
            }
            ServiceAccountsCommand::List => {
                let sas = all(&api)?;
                let rows: Vec<Vec<String>> = sas
                    .iter()
                    .map(|s| {
                        vec![
                            text(&s["name"]),
                            text(&s["id"]),
                            text(&s["role"]),
                            key_count(s),
                        ]
                    })
                    .collect();
                self.print(json!(sas), || table(&["NAME", "ID", "ROLE", "KEYS"], &rows));
            }
            ServiceAccountsCommand::Delete { id, yes } => {
                let what = all(&api)?
                    .iter()
                    .find(|s| s["id"] == json!(id))
                    .map_or_else(
                        || "its keys".to_owned(),
                        |s| format!("{} key(s)", key_count(s)),
                    );
                confirm(
                    &format!("Delete service account {id}? {what} will stop working at once."),
                    *yes,
                )?;
                api.call(
                    documents::DELETE_SERVICE_ACCOUNT,
                    json!({ "input": { "user_id": id } }),
                )?;
                self.print(json!({ "deleted": id }), || {
                    format!("Deleted service account {id}\n")
                });
            }
        }
        Ok(())
    }
}

/// Every service account of the caller's tenant, a page at a time.
pub(super) fn all(api: &Api) -> Result<Vec<Value>, ClientError> {
    let mut out = Vec::new();
    loop {
        let page = api.call(documents::SERVICE_ACCOUNTS, json!({ "offset": out.len() }))?;
        let page = page["service_account"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let done = page.len() < 100;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

/// How many keys a listed service account has: its first page of them,
/// with a `+` when the page is full (more may follow).
fn key_count(sa: &Value) -> String {
    let n = sa["api_keys"].as_array().map_or(0, Vec::len);
    let page = usize::try_from(crate::gql::KEYS_PER_ACCOUNT).unwrap_or(usize::MAX);
    if n >= page {
        format!("{n}+")
    } else {
        n.to_string()
    }
}
