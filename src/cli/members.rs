//! `keyward members`: list, invite, accept an invitation.
use clap::Subcommand;
use serde_json::json;

use super::api::{Api, ClientError};
use super::client::{Client, table, text, when};
use super::documents;

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

impl Client {
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
                let ms = api.call(documents::MEMBERS, json!({}))?["membership"].clone();
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
                let d = api.call(
                    documents::INVITE,
                    json!({ "input": { "email": email, "role": role } }),
                )?;
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
        let d = api
            .call(
                documents::ACCEPT,
                json!({ "input": { "token": token.trim(), "key_name": key_name } }),
            )
            .map_err(|e| match (&e, key) {
                // The server cannot know the CLI's flags: say the one that
                // sends no key.
                (ClientError::Server { message, .. }, Some(_))
                    if message.contains("belongs to another account") =>
                {
                    ClientError::Usage(format!(
                        "{e} With this CLI: keyward members accept <token> --without-key sends no key (a new account for the invited e-mail)."
                    ))
                }
                _ => e,
            })?;
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
