//! `keyward service-accounts`: create, list, delete (tenant admins).
use clap::Subcommand;
use serde_json::json;

use super::api::ClientError;
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
                let sas =
                    api.call(documents::SERVICE_ACCOUNTS, json!({}))?["service_account"].clone();
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
                let sas =
                    api.call(documents::SERVICE_ACCOUNTS, json!({}))?["service_account"].clone();
                let keys = sas
                    .as_array()
                    .and_then(|a| a.iter().find(|s| s["id"] == json!(id)))
                    .and_then(|s| s["api_keys"].as_array().map(Vec::len));
                let what = keys.map_or_else(|| "its keys".to_owned(), |n| format!("{n} key(s)"));
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
