//! Making what tests need: members, tenants, service accounts, keys.
use keyward::bootstrap::{self, InitSpec};
use keyward::domain::model::Role;
use keyward::domain::names::{DisplayName, Email, Slug};
use serde_json::json;

use super::{CREATE_KEY, CREATE_SERVICE_ACCOUNT, MEMBERS, TestApp};

impl TestApp {
    /// Makes a member of the default tenant with `role`; returns (user id, key).
    pub fn member(&self, email: &str, role: Role) -> (String, String) {
        let (id, key) = bootstrap::add_member(
            &self.store,
            self.tenant_id.parse().unwrap(),
            &Email::parse(email).unwrap(),
            role,
            self.clock.now(),
        )
        .unwrap();
        self.label(&id.to_string(), email);
        self.tick();
        (id.to_string(), key.expose().to_owned())
    }

    /// A second tenant with its own admin; returns (tenant id, admin id, admin key).
    pub fn other_tenant(&self, slug: &str) -> (String, String, String) {
        let spec = InitSpec {
            tenant_slug: Slug::parse(slug).unwrap(),
            tenant_name: DisplayName::parse("name", &format!("Tenant {slug}")).unwrap(),
            admin_email: Email::parse(&format!("admin@{slug}")).unwrap(),
            key_expires_at: None,
        };
        let b = bootstrap::add_tenant(&self.store, &spec, self.clock.now()).unwrap();
        self.label(&b.tenant_id.to_string(), &format!("tenant {slug}"));
        self.label(&b.user_id.to_string(), &format!("admin@{slug}"));
        (
            b.tenant_id.to_string(),
            b.user_id.to_string(),
            b.api_key.expose().to_owned(),
        )
    }

    /// Creates a service account with `key` and returns its id.
    pub fn service_account(&self, key: &str, name: &str) -> String {
        let d = self.ok(
            key,
            CREATE_SERVICE_ACCOUNT,
            json!({ "input": { "name": name } }),
        );
        let id = d["create_service_account"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.label(&id, &format!("sa {name}"));
        self.tick();
        id
    }

    /// Creates a key for `user_id` with `key`; returns (key id, secret).
    pub fn create_key(&self, key: &str, user_id: &str, name: &str) -> (String, String) {
        let d = self.ok(
            key,
            CREATE_KEY,
            json!({ "input": { "user_id": user_id, "name": name } }),
        );
        let id = d["create_api_key"]["id"].as_str().unwrap().to_owned();
        self.label(&id, &format!("key {name}"));
        self.tick();
        (id, d["create_api_key"]["key"].as_str().unwrap().to_owned())
    }

    /// Moves the clock a second on, so rows made one after the other sort
    /// the same way every run.
    pub fn tick(&self) {
        self.clock.advance(chrono::Duration::seconds(1));
    }

    /// The membership id of `user_id` in the default tenant.
    pub fn membership_of(&self, user_id: &str) -> String {
        let d = self.ok(&self.admin_key, MEMBERS, json!({}));
        let m = d["membership"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user"]["id"] == json!(user_id))
            .expect("a member");
        let id = m["id"].as_str().unwrap().to_owned();
        let who = self.redact_ids(user_id);
        self.label(
            &id,
            &format!("membership of {}", who.trim_matches(['[', ']'])),
        );
        id
    }

    /// Adds the user with `email` to `tenant_id` with `role`; returns the new
    /// member's key for that tenant.
    pub fn join(&self, email: &str, tenant_id: &str, role: Role) -> String {
        let email = Email::parse(email).unwrap();
        let (_, key) = bootstrap::add_member(
            &self.store,
            tenant_id.parse().unwrap(),
            &email,
            role,
            self.clock.now(),
        )
        .unwrap();
        key.expose().to_owned()
    }
}

/// The repository's policies directory.
pub const REPO_POLICIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/policies");

/// A policy directory: the defaults (as `policy init` writes them) and the
/// `extra` files written.
pub fn policy_dir_with(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    keyward::authz::defaults::write_to(dir.path()).unwrap();
    for (f, text) in extra {
        let path = dir.path().join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// `policy_dir_with`, plus the example `name` copied in as the README says:
/// its policy, its cases, and its invariants if it has any.
pub fn policy_dir_with_example(name: &str, extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = policy_dir_with(extra);
    let ex = std::path::Path::new(REPO_POLICIES)
        .join("examples")
        .join(name);
    let copy = |from: std::path::PathBuf, to: std::path::PathBuf| {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    };
    copy(
        ex.join(format!("{name}.cedar")),
        dir.path().join(format!("{name}.cedar")),
    );
    copy(
        ex.join("tests").join(format!("{name}.toml")),
        dir.path().join("tests").join(format!("{name}.toml")),
    );
    let invariant = ex.join("invariants").join(format!("{name}.cedar"));
    if invariant.exists() {
        copy(
            invariant,
            dir.path().join("invariants").join(format!("{name}.cedar")),
        );
    }
    dir
}
