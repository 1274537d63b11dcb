//! One tenant with a caller of every kind, and a second tenant beside it.
use keyward::domain::model::Role;
use serde_json::{Map, Value, json};

use crate::helpers::{TestApp, spawn_app};

pub struct World {
    pub app: TestApp,
    pub user_id: String,
    pub user_key: String,
    pub readonly_id: String,
    pub readonly_key: String,
    pub sa_id: String,
    pub sa_key_id: String,
    pub sa_key: String,
    pub other_tenant_id: String,
    pub other_key: String,
    pub other_sa_id: String,
    pub other_sa_key_id: String,
}

impl World {
    /// One query asked by every caller, redacted, in one snapshot.
    pub fn by_caller(&self, query: &str) -> Value {
        let mut out = Map::new();
        for (name, key) in self.callers() {
            out.insert(
                name.to_owned(),
                self.app.redact(&self.app.gql(key, query, json!({}))),
            );
        }
        Value::Object(out)
    }

    /// Every caller the tests try, by name.
    pub fn callers(&self) -> [(&'static str, &str); 5] {
        [
            ("admin", &self.app.admin_key),
            ("user", &self.user_key),
            ("readonly", &self.readonly_key),
            ("service", &self.sa_key),
            ("other_tenant", &self.other_key),
        ]
    }
}

pub fn world() -> World {
    let app = spawn_app();
    let (user_id, user_key) = app.member("user@default", Role::User);
    let (readonly_id, readonly_key) = app.member("readonly@default", Role::ReadOnlyUser);
    let sa_id = app.service_account(&app.admin_key, "robot");
    let (sa_key_id, sa_key) = app.create_key(&app.admin_key, &sa_id, "robot key");
    let (other_tenant_id, _, other_key) = app.other_tenant("other");
    let other_sa_id = app.service_account(&other_key, "other robot");
    let (other_sa_key_id, _) = app.create_key(&other_key, &other_sa_id, "other robot key");
    World {
        app,
        user_id,
        user_key,
        readonly_id,
        readonly_key,
        sa_id,
        sa_key_id,
        sa_key,
        other_tenant_id,
        other_key,
        other_sa_id,
        other_sa_key_id,
    }
}
