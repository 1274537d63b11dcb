//! `keyward webhooks`: register endpoints for the tenant's events, list
//! them and their deliveries, resend one, delete one (tenant admins).
use clap::Subcommand;
use serde_json::{Value, json};

use super::api::ClientError;
use super::client::{Client, table, text, when};
use super::documents;
use crate::webhooks::EventType;

#[derive(Subcommand, Debug)]
pub enum WebhooksCommand {
    /// Register an endpoint; its signing secret is printed this once.
    #[command(after_help = "Examples:
  keyward webhooks create --url https://hooks.example.com/keyward --events api_key.expiring,api_key.leaked
  keyward webhooks create --url https://ops.example.com/in --events all

Events: api_key.created, api_key.expiring, api_key.expired, api_key.revoked,
api_key.rotated, api_key.disabled, api_key.leaked, service_account.deleted,
membership.removed")]
    Create {
        #[arg(long)]
        url: String,
        /// Comma-separated event names, or `all`
        #[arg(long, value_delimiter = ',', required = true)]
        events: Vec<String>,
        #[arg(short, long)]
        description: Option<String>,
    },
    /// The tenant's endpoints.
    List,
    /// Delete an endpoint and its deliveries.
    Delete { id: String },
    /// Deliveries, newest first: their status, attempts and last answer.
    Deliveries {
        /// Only this endpoint's
        #[arg(long)]
        webhook: Option<String>,
        /// Only pending, sending, delivered or failed
        #[arg(long)]
        status: Option<String>,
        #[arg(short = 'n', long, default_value_t = 50)]
        limit: i32,
    },
    /// Send a delivery again (with a fresh 24 hours of retries).
    Redeliver { id: String },
}

impl Client {
    pub fn webhooks(&self, cmd: &WebhooksCommand) -> Result<(), ClientError> {
        let api = self.api()?;
        match cmd {
            WebhooksCommand::Create {
                url,
                events,
                description,
            } => {
                let events: Vec<&str> = if events.iter().any(|e| e == "all") {
                    EventType::all().map(|e| e.as_str()).collect()
                } else {
                    events.iter().map(|e| e.trim()).collect()
                };
                let d = api.call(
                    documents::CREATE_WEBHOOK,
                    json!({ "input": { "url": url, "events": events, "description": description } }),
                )?;
                let made = d["create_webhook"].clone();
                self.print(made.clone(), || {
                    format!(
                        "Registered webhook {} for {}.\nIts signing secret, shown this once (verify keyward-signature with it):\n{}\n",
                        text(&made["id"]),
                        events.join(", "),
                        text(&made["secret"])
                    )
                });
            }
            WebhooksCommand::List => {
                let hooks = api.call(documents::WEBHOOKS, json!({}))?["webhook"].clone();
                let rows: Vec<Vec<String>> = hooks
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|h| {
                        let events: Vec<String> = h["events"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(text)
                            .collect();
                        vec![
                            text(&h["id"]),
                            text(&h["url"]),
                            events.join(","),
                            text(&h["description"]),
                        ]
                    })
                    .collect();
                self.print(hooks, || {
                    table(&["ID", "URL", "EVENTS", "DESCRIPTION"], &rows)
                });
            }
            WebhooksCommand::Delete { id } => {
                let d = api.call(
                    documents::DELETE_WEBHOOK,
                    json!({ "input": { "webhook_id": id } }),
                )?;
                self.print(d["delete_webhook"].clone(), || {
                    format!("Deleted webhook {id}\n")
                });
            }
            WebhooksCommand::Deliveries {
                webhook,
                status,
                limit,
            } => {
                let filter = json!({
                    "webhook_id": webhook.as_ref().map(|w| json!({ "_eq": w })),
                    "status": status.as_ref().map(|s| json!({ "_eq": s.to_lowercase() })),
                });
                let d = api.call(
                    documents::DELIVERIES,
                    json!({ "where": filter, "limit": limit }),
                )?["webhook_delivery"]
                    .clone();
                let rows: Vec<Vec<String>> = d
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| {
                        vec![
                            when(&x["created"]),
                            text(&x["id"]),
                            text(&x["event"]),
                            text(&x["status"]),
                            text(&x["attempts"]),
                            match (&x["last_status_code"], &x["last_error"]) {
                                (Value::Number(n), _) => format!("HTTP {n}"),
                                (_, Value::String(e)) => e.clone(),
                                _ => String::new(),
                            },
                        ]
                    })
                    .collect();
                self.print(d, || {
                    table(
                        &[
                            "CREATED",
                            "ID",
                            "EVENT",
                            "STATUS",
                            "ATTEMPTS",
                            "LAST ANSWER",
                        ],
                        &rows,
                    )
                });
            }
            WebhooksCommand::Redeliver { id } => {
                let d = api.call(
                    documents::REDELIVER,
                    json!({ "input": { "delivery_id": id } }),
                )?;
                self.print(d["redeliver_webhook_delivery"].clone(), || {
                    format!("Delivery {id} is queued again.\n")
                });
            }
        }
        Ok(())
    }
}
