//! `keyward auth`: log in (store a key), log out, who am I.
use clap::Subcommand;
use serde_json::json;

use super::api::ClientError;
use super::client::{Client, account_names, masked, name_of, text, when};
use super::documents;

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

impl Client {
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
                let api = self.api()?;
                let me = self.whoami(&api)?;
                let account = name_of(&account_names(&api)?, &me["user_id"]);
                let api_flag = matches!(self.api.source, super::config::Source::Flag(_))
                    .then_some(self.api.value.as_str());
                self.file.set_login(&key, api_flag);
                self.file.save().map_err(ClientError::Usage)?;
                let path = self.file.path.display().to_string();
                self.print(json!({ "auth_info": me, "config": path }), || {
                    format!(
                        "Logged in to {} as {} ({}, {}); key stored in {path}\n",
                        self.api.value,
                        account,
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
                let tenant =
                    api.call(documents::TENANT_BY_ID, json!({ "id": me["tenant_id"] }))?["tenant"]
                        [0]
                    .clone();
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
}
