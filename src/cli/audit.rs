//! `keyward audit`: the tenant's audit log (tenant admins), newest first,
//! or followed as it grows.
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};

use super::api::ClientError;
use super::client::{Client, table, text, when};
use super::documents;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  keyward audit\n  keyward audit --outcome denied --json\n  keyward audit --follow"
)]
pub struct AuditArgs {
    /// Keep printing new events as they are written (every 2 seconds)
    #[arg(short, long)]
    follow: bool,
    /// Only this action (CreateApiKey, RotateApiKey, Authenticate, …)
    #[arg(long)]
    action: Option<String>,
    /// Only allowed, denied or failed
    #[arg(long)]
    outcome: Option<String>,
    /// Only what this key did
    #[arg(long, value_name = "KEY_ID")]
    actor: Option<String>,
    /// Only what was done to this id
    #[arg(long, value_name = "ID")]
    resource: Option<String>,
    /// The server's log instead (server admins)
    #[arg(long)]
    server: bool,
    /// How many events (newest first; at most 1000)
    #[arg(short = 'n', long, default_value_t = 50)]
    limit: i32,
}

impl AuditArgs {
    fn filter(&self, after_id: Option<i64>) -> Value {
        json!({
            "action": self.action.as_ref().map(|a| json!({ "_eq": a })),
            "outcome": self.outcome.as_ref().map(|o| json!({ "_eq": o.to_lowercase() })),
            "actor_key_id": self.actor.as_ref().map(|a| json!({ "_eq": a })),
            "resource_id": self.resource.as_ref().map(|r| json!({ "_eq": r })),
            "server": self.server,
            "after_id": after_id,
        })
    }
}

fn row(e: &Value) -> Vec<String> {
    let policies = e["determining_policies"]
        .as_array()
        .map(|p| p.iter().map(text).collect::<Vec<_>>().join(","))
        .unwrap_or_default();
    vec![
        when(&e["at"]),
        text(&e["action"]),
        text(&e["outcome"]),
        text(&e["resource_type"]),
        text(&e["resource_id"]),
        text(&e["actor_key_id"]),
        policies,
        text(&e["message"]),
    ]
}

const HEADERS: [&str; 8] = [
    "AT", "ACTION", "OUTCOME", "RESOURCE", "ID", "BY KEY", "POLICIES", "MESSAGE",
];

impl Client {
    pub fn audit(&self, args: &AuditArgs) -> Result<(), ClientError> {
        let api = self.api()?;
        let d = api.call(
            documents::AUDIT,
            json!({ "where": args.filter(None), "limit": args.limit }),
        )?;
        let mut events = d["audit_event"].as_array().cloned().unwrap_or_default();
        // Oldest first on the screen, as a log reads.
        events.reverse();
        let mut last = events.iter().filter_map(|e| e["id"].as_i64()).max();
        let rows: Vec<Vec<String>> = events.iter().map(row).collect();
        self.print(json!(events), || table(&HEADERS, &rows));
        if !args.follow {
            return Ok(());
        }
        // Until interrupted: a log being followed has no end.
        loop {
            std::thread::sleep(Duration::from_secs(2));
            let d = api.call(
                documents::AUDIT,
                json!({ "where": args.filter(last), "limit": 1000 }),
            )?;
            for e in d["audit_event"].as_array().into_iter().flatten() {
                last = e["id"].as_i64().max(last);
                if self.json {
                    println!("{e}");
                } else {
                    println!("{}", row(e).join("  "));
                }
            }
        }
    }
}
