//! The operations of the differential test: each picks a caller and
//! arguments, asks the model, sends the request, compares, and on success
//! applies the change to the model.
use std::collections::BTreeMap;

use rand::RngExt;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::model::{
    Account, CONFLICT, Caller, FORBIDDEN, Invitation, Key, Kind, Membership, Model, Outcome, Role,
    Tenant, UNAUTHENTICATED, not_found,
};

/// `secs` (unix seconds) as RFC 3339.
fn at(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .to_rfc3339()
}
use crate::helpers::TestApp;

const AUTH_INFO: &str = "{ auth_info { user_id tenant_id role } }";
const KEYS: &str = "{ auth_api_key { id } }";
const TENANTS: &str = "{ tenant { id } }";
const MEMBERS: &str = "query($t: uuid) { membership(where: {tenant_id: {_eq: $t}}) { id role } }";
const INVITATIONS: &str =
    "query($t: uuid) { membership_invitation(where: {tenant_id: {_eq: $t}}) { id } }";
const ROBOTS: &str =
    "query($t: uuid) { service_account(where: {tenant_id: {_eq: $t}}) { id api_keys { id } } }";
const CREATE_KEY: &str =
    "mutation($i: create_api_key_input!) { create_api_key(input: $i) { id key } }";
const DELETE_KEY: &str =
    "mutation($i: delete_api_key_input!) { delete_api_key(input: $i) { success } }";
const CREATE_ROBOT: &str =
    "mutation($i: create_service_account_input!) { create_service_account(input: $i) { id } }";
const DELETE_ROBOT: &str =
    "mutation($i: delete_service_account_input!) { delete_service_account(input: $i) { success } }";
const RENAME_ROBOT: &str =
    "mutation($i: update_service_account_input!) { update_service_account(input: $i) { id } }";
const CREATE_TENANT: &str =
    "mutation($i: create_tenant_input!) { create_tenant(input: $i) { id key } }";
const INVITE: &str = "mutation($i: create_membership_invitation_input!) { create_membership_invitation(input: $i) { id token } }";
const REVOKE_INVITATION: &str = "mutation($i: delete_membership_invitation_input!) { delete_membership_invitation(input: $i) { success } }";
const ACCEPT: &str = "mutation($i: accept_membership_invitation_input!) { accept_membership_invitation(input: $i) { user_id tenant_id key } }";
const SET_ROLE: &str =
    "mutation($i: set_membership_role_input!) { set_membership_role(input: $i) { id role } }";
const ROTATE_KEY: &str =
    "mutation($i: rotate_api_key_input!) { rotate_api_key(input: $i) { id key } }";
const UPDATE_KEY: &str =
    "mutation($i: update_api_key_input!) { update_api_key(input: $i) { id disabled_at } }";
const REPORT_LEAKS: &str = "mutation($i: report_leaked_api_keys_input!) { report_leaked_api_keys(input: $i) { results { label revoked } } }";
const CREATE_WEBHOOK: &str =
    "mutation($i: create_webhook_input!) { create_webhook(input: $i) { id } }";
const DELETE_WEBHOOK: &str =
    "mutation($i: delete_webhook_input!) { delete_webhook(input: $i) { success } }";
const WEBHOOKS: &str = "{ webhook { id } }";
const DELIVERIES: &str = "query($limit: Int) { webhook_delivery(limit: $limit) { id } }";
const REDELIVER: &str = "mutation($i: redeliver_webhook_delivery_input!) { redeliver_webhook_delivery(input: $i) { id } }";
const AUDIT: &str = "query($where: audit_event_bool_exp, $limit: Int) { audit_event(where: $where, limit: $limit) { tenant_id action details } }";
const REMOVE_MEMBER: &str =
    "mutation($i: delete_membership_input!) { delete_membership(input: $i) { success } }";

/// The operations and their weights.
const OPS: &[(&str, u32)] = &[
    ("auth_info", 4),
    ("auth_api_key", 6),
    ("tenant", 3),
    ("membership", 5),
    ("membership_invitation", 4),
    ("service_account", 5),
    ("create_api_key", 12),
    ("delete_api_key", 6),
    ("create_service_account", 6),
    ("delete_service_account", 3),
    ("update_service_account", 4),
    ("create_tenant", 2),
    ("create_membership_invitation", 9),
    ("delete_membership_invitation", 3),
    ("accept_membership_invitation", 10),
    ("set_membership_role", 6),
    ("delete_membership", 4),
    ("rotate_api_key", 6),
    ("update_api_key", 5),
    ("report_leaked_api_keys", 2),
    ("create_webhook", 2),
    ("delete_webhook", 2),
    ("webhook", 2),
    ("webhook_delivery", 2),
    ("redeliver_webhook_delivery", 2),
    ("audit_event", 3),
];

/// Every query and mutation the schema serves has an operation here, so a
/// new one fails this test until the model knows it.
pub fn operations() -> Vec<&'static str> {
    OPS.iter().map(|(op, _)| *op).collect()
}

/// Every id ever seen, per kind: targets are drawn from all tenants, dead
/// objects included.
#[derive(Default)]
struct Seen {
    accounts: Vec<String>,
    keys: Vec<String>,
    memberships: Vec<String>,
    invitations: Vec<String>,
    tokens: Vec<String>,
    emails: Vec<String>,
    webhooks: Vec<String>,
    deliveries: Vec<String>,
}

pub struct Run<'a> {
    app: &'a TestApp,
    pub model: Model,
    rng: StdRng,
    seen: Seen,
    n: usize,
    pub disagreements: Vec<String>,
    pub crossings: Vec<String>,
    pub allowed_mutations: usize,
    pub refused: usize,
    per_op: BTreeMap<&'static str, (usize, usize)>,
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn ids(v: &Value) -> Vec<String> {
    sorted(
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x["id"].as_str().unwrap_or("?").to_owned())
                    .collect()
            })
            .unwrap_or_default(),
    )
}

impl<'a> Run<'a> {
    pub fn new(app: &'a TestApp, model: Model, rng: StdRng) -> Self {
        let seen = Seen {
            accounts: model.accounts.keys().cloned().collect(),
            keys: model.keys.keys().cloned().collect(),
            memberships: model.memberships.keys().cloned().collect(),
            emails: model
                .accounts
                .values()
                .filter_map(|a| a.email.clone())
                .collect(),
            ..Seen::default()
        };
        Self {
            app,
            model,
            rng,
            seen,
            n: 0,
            disagreements: Vec::new(),
            crossings: Vec::new(),
            allowed_mutations: 0,
            refused: 0,
            per_op: BTreeMap::new(),
        }
    }

    pub fn report(&self) -> String {
        let per: Vec<String> = self
            .per_op
            .iter()
            .map(|(op, (ok, err))| format!("{op} {ok}/{err}"))
            .collect();
        format!(
            "{} allowed mutations, {} refusals, per operation ok/refused: {}",
            self.allowed_mutations,
            self.refused,
            per.join(", ")
        )
    }

    // ----- picking

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<T: Clone>(&mut self, v: &[T]) -> Option<T> {
        (!v.is_empty()).then(|| v[self.rng.random_range(0..v.len())].clone())
    }

    fn pick_op(&mut self) -> &'static str {
        let total: u32 = OPS.iter().map(|(_, w)| w).sum();
        let mut at = self.rng.random_range(0..total);
        for (op, w) in OPS {
            if at < *w {
                return op;
            }
            at -= w;
        }
        OPS[0].0
    }

    /// A live key most of the time; sometimes a dead one or none at all.
    fn pick_key(&mut self) -> Option<Key> {
        let roll = self.rng.random_range(0..100);
        let live: Vec<Key> = self
            .model
            .keys
            .values()
            .filter(|k| self.model.caller(k).is_some())
            .cloned()
            .collect();
        let dead: Vec<Key> = self
            .model
            .keys
            .values()
            .filter(|k| self.model.caller(k).is_none())
            .cloned()
            .collect();
        // The interesting callers: people in more than one tenant.
        let multi: Vec<Key> = live
            .iter()
            .filter(|k| {
                self.model
                    .memberships
                    .values()
                    .filter(|m| m.account == k.account)
                    .count()
                    > 1
            })
            .cloned()
            .collect();
        match roll {
            0..7 => None,
            7..15 if !dead.is_empty() => self.pick(&dead),
            15..45 if !multi.is_empty() => self.pick(&multi),
            _ => self.pick(&live),
        }
    }

    /// An id of a kind: often one of the caller's tenant, often any seen,
    /// sometimes one that never existed.
    fn pick_id(&mut self, local: Vec<String>, all: Vec<String>) -> String {
        match self.rng.random_range(0..10) {
            0 => uuid(),
            1..5 if !local.is_empty() => self.pick(&local).unwrap_or_else(uuid),
            _ => self.pick(&all).unwrap_or_else(uuid),
        }
    }

    /// A tenant argument: none (the caller's), the caller's, another tenant
    /// its owner belongs to (where a role elsewhere must not reach), any, or
    /// one that never existed.
    fn pick_tenant(&mut self, c: Option<&Caller>) -> Option<String> {
        let all: Vec<String> = self.model.tenants.iter().map(|t| t.id.clone()).collect();
        let elsewhere: Vec<String> = c
            .map(|c| {
                self.model
                    .memberships
                    .values()
                    .filter(|m| m.account == c.account && m.tenant != c.tenant)
                    .map(|m| m.tenant.clone())
                    .collect()
            })
            .unwrap_or_default();
        match self.rng.random_range(0..20) {
            0..6 => None,
            6..9 => c.map(|c| c.tenant.clone()),
            9..14 if !elsewhere.is_empty() => self.pick(&elsewhere),
            14 => Some(uuid()),
            _ => self.pick(&all),
        }
    }

    fn pick_role(&mut self) -> Role {
        Role::ALL[self.rng.random_range(0..3)]
    }

    fn pick_account(&mut self, c: Option<&Caller>) -> String {
        let local = c
            .map(|c| {
                self.model
                    .memberships
                    .values()
                    .filter(|m| m.tenant == c.tenant)
                    .map(|m| m.account.clone())
                    .collect()
            })
            .unwrap_or_default();
        self.pick_id(local, self.seen.accounts.clone())
    }

    fn pick_membership(&mut self, c: Option<&Caller>) -> String {
        let local = c
            .map(|c| {
                self.model
                    .memberships
                    .values()
                    .filter(|m| m.tenant == c.tenant)
                    .map(|m| m.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        self.pick_id(local, self.seen.memberships.clone())
    }

    // ----- talking to the server

    fn send(&self, key: Option<&str>, query: &str, vars: Value) -> Value {
        let r = self.app.gql_with(key, &[], query, vars);
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }

    /// The one value `sql` selects (the test's view of the database, for ids
    /// that answers do not carry).
    fn one(&self, sql: &str, params: &[&str]) -> String {
        self.app
            .store
            .read(|c| {
                let params: Vec<&dyn keyward::store::ToValue> = params
                    .iter()
                    .map(|p| p as &dyn keyward::store::ToValue)
                    .collect();
                c.query_one(sql, &params, |r| r.get(0))
            })
            .unwrap()
    }

    /// Compares the answer with the expectation; true when both say yes.
    fn agree(&mut self, op: &'static str, what: &str, expected: &Outcome, body: &Value) -> bool {
        let actual = match body.get("errors") {
            None => Outcome::Ok,
            Some(e) => Outcome::Err(
                match e[0]["extensions"]["code"].as_str().unwrap_or("?") {
                    "NOT_FOUND" => "NOT_FOUND",
                    "FORBIDDEN" => "FORBIDDEN",
                    "UNAUTHENTICATED" => "UNAUTHENTICATED",
                    "CONFLICT" => "CONFLICT",
                    "BAD_USER_INPUT" => "BAD_USER_INPUT",
                    _ => "OTHER",
                },
                Some(e[0]["message"].as_str().unwrap_or("").to_owned()),
            ),
        };
        let same = match (expected, &actual) {
            (Outcome::Ok, Outcome::Ok) => true,
            (Outcome::Err(c, None), Outcome::Err(a, _)) => c == a,
            (Outcome::Err(c, m), Outcome::Err(a, n)) => c == a && m == n,
            _ => false,
        };
        let entry = self.per_op.entry(op).or_default();
        if actual == Outcome::Ok {
            entry.0 += 1;
        } else {
            entry.1 += 1;
            self.refused += 1;
        }
        if !same {
            self.disagreements.push(format!(
                "#{} {op} {what}: the model says {expected:?}, keyward answered {body}",
                self.n
            ));
        }
        same && actual == Outcome::Ok
    }

    fn differ(
        &mut self,
        op: &str,
        what: &str,
        expected: impl std::fmt::Debug,
        got: impl std::fmt::Debug,
    ) {
        self.disagreements.push(format!(
            "#{} {op} {what}: the model expects {expected:?}, keyward returned {got:?}",
            self.n
        ));
    }

    fn crossed(&mut self, op: &str, what: &str, detail: String) {
        self.crossings
            .push(format!("#{} {op} {what}: {detail}", self.n));
    }

    // ----- one operation

    pub fn step(&mut self) {
        self.n += 1;
        self.app.tick();
        self.model.now = self.app.clock.now().timestamp();
        if self.disagreements.len() >= 10 {
            return;
        }
        let op = self.pick_op();
        let key = if op == "accept_membership_invitation" {
            None // picked by the accept itself
        } else {
            self.pick_key()
        };
        let caller = key.as_ref().and_then(|k| self.model.caller(k));
        let secret = key.as_ref().map(|k| k.secret.clone());
        let who = match (&key, &caller) {
            (None, _) => "anonymous".to_owned(),
            (Some(k), None) => format!("dead key {}", k.id),
            (Some(_), Some(c)) => format!("key {} ({} of {})", c.key, c.role.wire(), c.tenant),
        };
        if op == "accept_membership_invitation" {
            return self.accept();
        }
        let Some(c) = caller else {
            // No live key: everything but accepting is refused.
            let body = self.send(secret.as_deref(), AUTH_INFO, json!({}));
            self.agree(op, &who, &UNAUTHENTICATED, &body);
            return;
        };
        let k = secret.as_deref();
        match op {
            "auth_info" => self.auth_info(&who, k, &c),
            "auth_api_key" => self.list_keys(&who, k, &c),
            "tenant" => self.list_tenants(&who, k, &c),
            "membership" | "membership_invitation" | "service_account" => {
                self.list_in_tenant(op, &who, k, &c)
            }
            "create_api_key" => self.create_key(&who, k, &c),
            "delete_api_key" => self.delete_key(&who, k, &c),
            "create_service_account" => self.create_robot(&who, k, &c),
            "delete_service_account" | "update_service_account" => {
                self.change_robot(op, &who, k, &c)
            }
            "create_tenant" => self.create_tenant(&who, k, &c),
            "create_membership_invitation" => self.invite(&who, k, &c),
            "delete_membership_invitation" => self.revoke_invitation(&who, k, &c),
            "set_membership_role" => self.set_role(&who, k, &c),
            "delete_membership" => self.remove_member(&who, k, &c),
            "rotate_api_key" => self.rotate_key(&who, k, &c),
            "update_api_key" => self.update_key(&who, k, &c),
            "report_leaked_api_keys" => self.report_leaks(&who, k, &c),
            "create_webhook" => self.create_webhook(&who, k, &c),
            "delete_webhook" => self.delete_webhook(&who, k, &c),
            "webhook" => self.list_webhooks(&who, k, &c),
            "webhook_delivery" | "redeliver_webhook_delivery" => self.deliveries(op, &who, k, &c),
            "audit_event" => self.audit(&who, k, &c),
            other => unreachable!("{other}"),
        }
    }

    // ----- reads

    fn auth_info(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let body = self.send(k, AUTH_INFO, json!({}));
        if self.agree("auth_info", who, &Outcome::Ok, &body) {
            let got = &body["data"]["auth_info"];
            let want =
                json!({ "user_id": c.account, "tenant_id": c.tenant, "role": c.role.wire() });
            if got != &want {
                self.differ("auth_info", who, want, got.clone());
            }
        }
    }

    fn list_keys(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let body = self.send(k, KEYS, json!({}));
        if self.agree("auth_api_key", who, &Outcome::Ok, &body) {
            let got = ids(&body["data"]["auth_api_key"]);
            let want = sorted(self.model.visible_keys(c));
            for id in &got {
                match self.model.keys.get(id) {
                    Some(key) if key.account == c.account || key.tenant == c.tenant => {}
                    _ => self.crossed("auth_api_key", who, format!("read key {id}")),
                }
            }
            if got != want {
                self.differ("auth_api_key", who, want, got);
            }
        }
    }

    fn list_tenants(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let body = self.send(k, TENANTS, json!({}));
        if self.agree("tenant", who, &Outcome::Ok, &body) {
            let got = ids(&body["data"]["tenant"]);
            let want = self.model.visible_tenants(c);
            if got != want {
                self.differ("tenant", who, want, got);
            }
        }
    }

    fn list_in_tenant(&mut self, op: &'static str, who: &str, k: Option<&str>, c: &Caller) {
        let t = self.pick_tenant(Some(c));
        let scope = t.clone().unwrap_or_else(|| c.tenant.clone());
        let what = format!("{who} in {scope}");
        let query = match op {
            "membership" => MEMBERS,
            "membership_invitation" => INVITATIONS,
            _ => ROBOTS,
        };
        let body = self.send(k, query, json!({ "t": t }));
        if !self.agree(op, &what, &Outcome::Ok, &body) {
            return;
        }
        let rows = body["data"][op].as_array().cloned().unwrap_or_default();
        if !rows.is_empty() && scope != c.tenant {
            self.crossed(op, &what, format!("read {} rows of {scope}", rows.len()));
        }
        let (got, want): (Value, Value) = match op {
            "membership" => (
                json!(sorted(
                    rows.iter()
                        .map(|r| (
                            r["id"].as_str().unwrap().to_owned(),
                            r["role"].as_str().unwrap().to_owned()
                        ))
                        .collect::<Vec<_>>()
                )),
                json!(sorted(
                    self.model
                        .visible_members(c, &scope)
                        .into_iter()
                        .map(|(id, role)| (id, role.wire().to_owned()))
                        .collect::<Vec<_>>()
                )),
            ),
            "membership_invitation" => (
                json!(ids(&json!(rows))),
                json!(sorted(self.model.visible_invitations(c, &scope))),
            ),
            _ => (
                json!(sorted(
                    rows.iter()
                        .map(|r| (r["id"].as_str().unwrap().to_owned(), ids(&r["api_keys"])))
                        .collect::<Vec<_>>()
                )),
                json!(sorted(self.model.visible_robots(c, &scope))),
            ),
        };
        if got != want {
            self.differ(op, &what, want, got);
        }
    }

    // ----- keys

    fn create_key(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let owner = self.pick_account(Some(c));
        let tenant = if self.chance(0.5) {
            None
        } else {
            self.pick_tenant(Some(c))
        };
        // Sometimes restricted, sometimes expiring.
        let role = self.chance(0.25).then(|| self.pick_role());
        let expires_at = self.pick_expiry();
        let what = format!("{who} for {owner} in {tenant:?} as {role:?} until {expires_at:?}");
        let expected = self
            .model
            .create_key(c, &owner, tenant.as_deref(), role, expires_at);
        let mut input = json!({ "user_id": owner, "name": "k" });
        if let Some(t) = &tenant {
            input["default_tenant_id"] = json!(t);
        }
        if let Some(r) = role {
            input["role"] = json!(r.wire());
        }
        if let Some(e) = expires_at {
            input["expires_at"] = json!(at(e));
        }
        let body = self.send(k, CREATE_KEY, json!({ "i": input }));
        if self.agree("create_api_key", &what, &expected, &body) {
            self.allowed_mutations += 1;
            let made = &body["data"]["create_api_key"];
            let id = made["id"].as_str().unwrap().to_owned();
            let t = self.one("SELECT tenant_id FROM api_keys WHERE id = ?1", &[&id]);
            if t != c.tenant {
                self.crossed("create_api_key", &what, format!("minted in {t}"));
            }
            self.seen.keys.push(id.clone());
            self.model.keys.insert(
                id.clone(),
                Key {
                    id,
                    secret: made["key"].as_str().unwrap().to_owned(),
                    account: owner,
                    tenant: t,
                    revoked: false,
                    role,
                    expires_at,
                    ..Default::default()
                },
            );
        }
    }

    /// Now and then an expiry: soon, so that some keys expire during the
    /// run, and now and then in the past.
    fn pick_expiry(&mut self) -> Option<i64> {
        self.chance(0.3)
            .then(|| self.model.now + self.rng.random_range(-5..400))
    }

    /// A key the caller might name: often one it sees, often any seen.
    fn pick_key_id(&mut self, c: &Caller) -> String {
        let local: Vec<String> = self
            .model
            .keys
            .values()
            .filter(|x| x.tenant == c.tenant || x.account == c.account)
            .map(|x| x.id.clone())
            .collect();
        self.pick_id(local, self.seen.keys.clone())
    }

    fn rotate_key(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let target = self.pick_key_id(c);
        let grace: i64 = self.pick(&[0, 0, 5, 30, 3600]).unwrap();
        let expires_at = self.pick_expiry();
        let what = format!("{who} of {target} with grace {grace} until {expires_at:?}");
        let expected = self.model.rotate(c, &target, expires_at);
        let mut input = json!({ "key_id": target, "grace_seconds": grace });
        if let Some(e) = expires_at {
            input["expires_at"] = json!(at(e));
        }
        let body = self.send(k, ROTATE_KEY, json!({ "i": input }));
        if self.agree("rotate_api_key", &what, &expected, &body) {
            self.allowed_mutations += 1;
            let made = &body["data"]["rotate_api_key"];
            let id = made["id"].as_str().unwrap().to_owned();
            let now = self.model.now;
            let old = self.model.keys.get_mut(&target).unwrap();
            let until = old.expires_at.map_or(now + grace, |e| e.min(now + grace));
            old.grace_until = Some(until);
            old.revoked = until <= now;
            let new = Key {
                id: id.clone(),
                secret: made["key"].as_str().unwrap().to_owned(),
                account: old.account.clone(),
                tenant: old.tenant.clone(),
                role: old.role,
                expires_at: expires_at.or(old.expires_at),
                ..Default::default()
            };
            if new.tenant != c.tenant {
                self.crossed("rotate_api_key", &what, format!("minted in {}", new.tenant));
            }
            self.seen.keys.push(id.clone());
            self.model.keys.insert(id, new);
        }
    }

    fn update_key(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let target = self.pick_key_id(c);
        let disabled = self.chance(0.6).then(|| self.chance(0.6));
        let what = format!("{who} of {target} disabled {disabled:?}");
        let expected = self.model.update_key(c, &target);
        let input = json!({ "key_id": target, "name": "renamed", "disabled": disabled });
        let body = self.send(k, UPDATE_KEY, json!({ "i": input }));
        if self.agree("update_api_key", &what, &expected, &body) {
            self.allowed_mutations += 1;
            if let Some(d) = disabled {
                self.model.keys.get_mut(&target).unwrap().disabled = d;
            }
        }
    }

    fn report_leaks(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        // Secrets of keys of any tenant, dead ones among them, and one that
        // is no key at all.
        let mut tokens: Vec<String> = Vec::new();
        for _ in 0..self.rng.random_range(1..4) {
            let all: Vec<String> = self.model.keys.values().map(|k| k.secret.clone()).collect();
            tokens.extend(self.pick(&all));
        }
        tokens.push(format!("kwu_{}", "x".repeat(30)));
        tokens.dedup();
        let what = format!("{who} of {} secrets", tokens.len());
        let expected: Vec<(bool, bool)> = tokens
            .iter()
            .map(|t| self.model.report_leak(c, t))
            .collect();
        let body = self.send(
            k,
            REPORT_LEAKS,
            json!({ "i": { "tokens": tokens, "url": "https://paste.example/1" } }),
        );
        if !self.agree("report_leaked_api_keys", &what, &Outcome::Ok, &body) {
            return;
        }
        let got: Vec<(bool, bool)> = body["data"]["report_leaked_api_keys"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["label"] == "true_positive", r["revoked"] == true))
            .collect();
        if got != expected {
            self.differ("report_leaked_api_keys", &what, &expected, &got);
            return;
        }
        for (t, (_, revoked)) in tokens.iter().zip(&expected) {
            if *revoked {
                let key = self
                    .model
                    .keys
                    .values_mut()
                    .find(|k| &k.secret == t)
                    .unwrap();
                key.revoked = true;
            }
        }
        self.allowed_mutations += 1;
    }

    // ----- webhooks and the audit log

    fn create_webhook(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let full = self.model.visible_webhooks(c).len() >= 20;
        let expected = match (c.role, full) {
            (Role::Admin, false) => Outcome::Ok,
            (Role::Admin, true) => CONFLICT,
            _ => FORBIDDEN,
        };
        let input = json!({ "url": "http://127.0.0.1:9/hook", "events": ["api_key.created", "api_key.revoked"] });
        let body = self.send(k, CREATE_WEBHOOK, json!({ "i": input }));
        if self.agree("create_webhook", who, &expected, &body) {
            self.allowed_mutations += 1;
            let id = body["data"]["create_webhook"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            self.seen.webhooks.push(id.clone());
            self.model.webhooks.insert(id, c.tenant.clone());
        }
    }

    fn delete_webhook(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let local = self.model.visible_webhooks(c);
        let target = self.pick_id(local, self.seen.webhooks.clone());
        let what = format!("{who} of {target}");
        let expected = self.model.manage_webhook(c, &target);
        let body = self.send(k, DELETE_WEBHOOK, json!({ "i": { "webhook_id": target } }));
        if self.agree("delete_webhook", &what, &expected, &body) {
            self.allowed_mutations += 1;
            self.model.webhooks.shift_remove(&target);
        }
    }

    fn list_webhooks(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let expected = if c.role == Role::Admin {
            Outcome::Ok
        } else {
            FORBIDDEN
        };
        let body = self.send(k, WEBHOOKS, json!({}));
        if self.agree("webhook", who, &expected, &body) {
            let got = ids(&body["data"]["webhook"]);
            let want = sorted(self.model.visible_webhooks(c));
            if got != want {
                self.differ("webhook", who, want, got);
            }
        }
    }

    /// Deliveries are listed (only the tenant's own) and sent again (only
    /// those of the tenant): the events behind them are the webhooks test's
    /// to count.
    fn deliveries(&mut self, op: &'static str, who: &str, k: Option<&str>, c: &Caller) {
        let admin = c.role == Role::Admin;
        if op == "webhook_delivery" {
            let expected = if admin { Outcome::Ok } else { FORBIDDEN };
            let body = self.send(k, DELIVERIES, json!({ "limit": 20 }));
            if self.agree(op, who, &expected, &body) {
                for d in body["data"][op].as_array().unwrap() {
                    let id = d["id"].as_str().unwrap().to_owned();
                    let t = self.one(
                        "SELECT tenant_id FROM webhook_deliveries WHERE id = ?1",
                        &[&id],
                    );
                    if t != c.tenant {
                        self.crossed(op, who, format!("read delivery {id} of {t}"));
                    }
                    self.seen.deliveries.push(id);
                }
            }
            return;
        }
        let target = self.pick_id(vec![], self.seen.deliveries.clone());
        let owner = self
            .app
            .store
            .read(|c| {
                c.query_opt(
                    "SELECT tenant_id FROM webhook_deliveries WHERE id = ?1",
                    keyward::params![target],
                    |r| r.get::<String>(0),
                )
            })
            .unwrap();
        let what = format!("{who} of {target}");
        let expected = if admin && owner.as_deref() == Some(c.tenant.as_str()) {
            Outcome::Ok
        } else {
            not_found("webhook delivery")
        };
        let body = self.send(k, REDELIVER, json!({ "i": { "delivery_id": target } }));
        if self.agree(op, &what, &expected, &body) {
            self.allowed_mutations += 1;
        }
    }

    fn audit(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let server = self.chance(0.2);
        let tenant = if server {
            None
        } else {
            self.pick_tenant(Some(c))
        };
        let what = format!("{who} of {tenant:?} server {server}");
        let expected = self.model.read_audit(c, tenant.as_deref(), server);
        let mut filter = json!({ "server": server });
        if let Some(t) = &tenant {
            filter["tenant_id"] = json!({ "_eq": t });
        }
        let body = self.send(k, AUDIT, json!({ "where": filter, "limit": 50 }));
        if self.agree("audit_event", &what, &expected, &body) {
            let want = if server {
                None
            } else {
                Some(tenant.unwrap_or_else(|| c.tenant.clone()))
            };
            for e in body["data"]["audit_event"].as_array().unwrap() {
                let t = e["tenant_id"].as_str().map(str::to_owned);
                if t != want {
                    self.crossed("audit_event", &what, format!("read an event of {t:?}"));
                }
                let text = e.to_string();
                if text.contains("kwu_") || text.contains("kws_") || text.contains("kwi_") {
                    self.crossed("audit_event", &what, format!("a secret in {text}"));
                }
            }
        }
    }

    fn delete_key(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let target = self.pick_key_id(c);
        let what = format!("{who} of {target}");
        let expected = self.model.delete_key(c, &target);
        let body = self.send(k, DELETE_KEY, json!({ "i": { "key_id": target } }));
        if self.agree("delete_api_key", &what, &expected, &body) {
            self.allowed_mutations += 1;
            let key = &self.model.keys[&target];
            if key.account != c.account && key.tenant != c.tenant {
                self.crossed(
                    "delete_api_key",
                    &what,
                    format!("revoked a key of {}", key.tenant),
                );
            }
            self.model.revoke_keys(|x| x.id == target);
        }
    }

    // ----- robots

    fn create_robot(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let tenant = self.pick_tenant(Some(c));
        let role = if self.chance(0.3) {
            None
        } else {
            Some(self.pick_role())
        };
        let scope = tenant.clone().unwrap_or_else(|| c.tenant.clone());
        let what = format!("{who} in {scope} as {role:?}");
        let expected = self
            .model
            .create_robot(c, &scope, role.unwrap_or(Role::Admin));
        let mut input = json!({ "name": "robot" });
        if let Some(t) = &tenant {
            input["tenant_id"] = json!(t);
        }
        if let Some(r) = role {
            input["role"] = json!(r.wire());
        }
        let body = self.send(k, CREATE_ROBOT, json!({ "i": input }));
        if self.agree("create_service_account", &what, &expected, &body) {
            self.allowed_mutations += 1;
            if scope != c.tenant {
                self.crossed(
                    "create_service_account",
                    &what,
                    format!("made one in {scope}"),
                );
            }
            let id = body["data"]["create_service_account"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let mid = self.one(
                "SELECT id FROM memberships WHERE account_id = ?1 AND tenant_id = ?2",
                &[&id, &scope],
            );
            self.seen.accounts.push(id.clone());
            self.seen.memberships.push(mid.clone());
            self.model.accounts.insert(
                id.clone(),
                Account {
                    id: id.clone(),
                    kind: Kind::Robot,
                    email: None,
                    server_admin: false,
                },
            );
            self.model.memberships.insert(
                mid.clone(),
                Membership {
                    id: mid,
                    account: id,
                    tenant: scope,
                    role: role.unwrap_or(Role::Admin),
                },
            );
        }
    }

    fn change_robot(&mut self, op: &'static str, who: &str, k: Option<&str>, c: &Caller) {
        let target = self.pick_account(Some(c));
        let what = format!("{who} on {target}");
        let expected = self.model.change_robot(c, &target);
        let (query, input) = if op == "delete_service_account" {
            (DELETE_ROBOT, json!({ "user_id": target }))
        } else {
            (
                RENAME_ROBOT,
                json!({ "user_id": target, "name": "renamed" }),
            )
        };
        let body = self.send(k, query, json!({ "i": input }));
        if self.agree(op, &what, &expected, &body) {
            self.allowed_mutations += 1;
            if !self.model.is_member(&target, &c.tenant) {
                self.crossed(op, &what, "changed a robot of another tenant".into());
            }
            if op == "delete_service_account" {
                self.model.delete_robot(&target);
            }
        }
    }

    // ----- tenants

    fn create_tenant(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let slug = format!("s{}", self.rng.random_range(0..6));
        let what = format!("{who} {slug}");
        let expected = self.model.create_tenant(c, &slug);
        let body = self.send(
            k,
            CREATE_TENANT,
            json!({ "i": { "name": "T", "slug": slug } }),
        );
        if self.agree("create_tenant", &what, &expected, &body) {
            self.allowed_mutations += 1;
            let made = &body["data"]["create_tenant"];
            let id = made["id"].as_str().unwrap().to_owned();
            let mid = self.one(
                "SELECT id FROM memberships WHERE account_id = ?1 AND tenant_id = ?2",
                &[&c.account, &id],
            );
            let kid = self.one(
                "SELECT id FROM api_keys WHERE account_id = ?1 AND tenant_id = ?2",
                &[&c.account, &id],
            );
            self.model.tenants.push(Tenant {
                id: id.clone(),
                slug,
            });
            self.seen.memberships.push(mid.clone());
            self.seen.keys.push(kid.clone());
            self.model.memberships.insert(
                mid.clone(),
                Membership {
                    id: mid,
                    account: c.account.clone(),
                    tenant: id.clone(),
                    role: Role::Admin,
                },
            );
            self.model.keys.insert(
                kid.clone(),
                Key {
                    id: kid,
                    secret: made["key"].as_str().unwrap().to_owned(),
                    account: c.account.clone(),
                    tenant: id,
                    revoked: false,
                    ..Default::default()
                },
            );
        }
    }

    // ----- invitations

    fn invite(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let tenant = self.pick_tenant(Some(c));
        let scope = tenant.clone().unwrap_or_else(|| c.tenant.clone());
        let email = if self.chance(0.5) {
            format!("new{}@x", self.n)
        } else {
            let known = self.seen.emails.clone();
            self.pick(&known).unwrap_or_else(|| "nobody@x".into())
        };
        let role = self.pick_role();
        let what = format!("{who} {email} to {scope} as {}", role.wire());
        let expected = self.model.invite(c, &scope, &email, role);
        let mut input = json!({ "email": email, "role": role.wire() });
        if let Some(t) = &tenant {
            input["tenant_id"] = json!(t);
        }
        let body = self.send(k, INVITE, json!({ "i": input }));
        if self.agree("create_membership_invitation", &what, &expected, &body) {
            self.allowed_mutations += 1;
            if scope != c.tenant {
                self.crossed(
                    "create_membership_invitation",
                    &what,
                    format!("invited to {scope}"),
                );
            }
            let made = &body["data"]["create_membership_invitation"];
            let id = made["id"].as_str().unwrap().to_owned();
            let token = made["token"].as_str().unwrap().to_owned();
            self.seen.invitations.push(id.clone());
            self.seen.tokens.push(token.clone());
            self.seen.emails.push(email.clone());
            self.model.invitations.insert(
                id.clone(),
                Invitation {
                    id,
                    token,
                    tenant: scope,
                    email,
                    role,
                    accepted: false,
                    revoked: false,
                },
            );
        }
    }

    fn revoke_invitation(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let local = self
            .model
            .invitations
            .values()
            .filter(|i| i.tenant == c.tenant)
            .map(|i| i.id.clone())
            .collect();
        let target = self.pick_id(local, self.seen.invitations.clone());
        let what = format!("{who} of {target}");
        let expected = self.model.revoke_invitation(c, &target);
        let body = self.send(
            k,
            REVOKE_INVITATION,
            json!({ "i": { "invitation_id": target } }),
        );
        if self.agree("delete_membership_invitation", &what, &expected, &body) {
            self.allowed_mutations += 1;
            if self.model.invitations[&target].tenant != c.tenant {
                self.crossed(
                    "delete_membership_invitation",
                    &what,
                    "another tenant's".into(),
                );
            }
            self.model.invitations.get_mut(&target).unwrap().revoked = true;
        }
    }

    /// Accepting, anonymously or with a key: the invitee's own, or anyone's.
    fn accept(&mut self) {
        let token = if self.chance(0.1) {
            keyward::domain::api_key::Token::invitation()
                .expose()
                .to_owned()
        } else {
            let t = self.seen.tokens.clone();
            match self.pick(&t) {
                Some(t) => t,
                None => return,
            }
        };
        let invitee_key = self
            .model
            .invitations
            .values()
            .find(|i| i.token == token)
            .and_then(|i| self.model.user_by_email(&i.email))
            .and_then(|a| {
                self.model
                    .keys
                    .values()
                    .find(|k| k.account == a.id && self.model.caller(k).is_some())
            })
            .cloned();
        let key = match self.rng.random_range(0..4) {
            0 | 1 => None,
            2 => invitee_key,
            _ => self.pick_key(),
        };
        let caller = key.as_ref().and_then(|k| self.model.caller(k));
        let what = match &key {
            None => "anonymous".to_owned(),
            Some(k) => format!("with key {}", k.id),
        };
        let expected = match (&key, &caller) {
            (Some(_), None) => UNAUTHENTICATED,
            _ => self.model.accept(&token, caller.as_ref()),
        };
        let body = self.send(
            key.as_ref().map(|k| k.secret.as_str()),
            ACCEPT,
            json!({ "i": { "token": token, "key_name": "joined" } }),
        );
        if !self.agree("accept_membership_invitation", &what, &expected, &body) {
            return;
        }
        self.allowed_mutations += 1;
        let inv = self
            .model
            .invitations
            .values_mut()
            .find(|i| i.token == token)
            .unwrap();
        inv.accepted = true;
        let (tenant, email, role) = (inv.tenant.clone(), inv.email.clone(), inv.role);
        let joined = &body["data"]["accept_membership_invitation"];
        let user = joined["user_id"].as_str().unwrap().to_owned();
        if let Some(c) = &caller
            && c.account != user
        {
            self.crossed(
                "accept_membership_invitation",
                &what,
                format!("handed out {user}"),
            );
        }
        if !self.model.accounts.contains_key(&user) {
            self.seen.accounts.push(user.clone());
            self.model.accounts.insert(
                user.clone(),
                Account {
                    id: user.clone(),
                    kind: Kind::Person,
                    email: Some(email),
                    server_admin: false,
                },
            );
        }
        let mid = self.one(
            "SELECT id FROM memberships WHERE account_id = ?1 AND tenant_id = ?2",
            &[&user, &tenant],
        );
        let kid = self.one(
            "SELECT id FROM api_keys WHERE account_id = ?1 AND tenant_id = ?2",
            &[&user, &tenant],
        );
        self.seen.memberships.push(mid.clone());
        self.seen.keys.push(kid.clone());
        self.model.memberships.insert(
            mid.clone(),
            Membership {
                id: mid,
                account: user.clone(),
                tenant: tenant.clone(),
                role,
            },
        );
        self.model.keys.insert(
            kid.clone(),
            Key {
                id: kid,
                secret: joined["key"].as_str().unwrap().to_owned(),
                account: user,
                tenant,
                revoked: false,
                ..Default::default()
            },
        );
    }

    // ----- memberships

    fn set_role(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let target = self.pick_membership(Some(c));
        let role = self.pick_role();
        let what = format!("{who} of {target} to {}", role.wire());
        let expected = self.model.set_role(c, &target, role);
        let body = self.send(
            k,
            SET_ROLE,
            json!({ "i": { "membership_id": target, "role": role.wire() } }),
        );
        if self.agree("set_membership_role", &what, &expected, &body) {
            self.allowed_mutations += 1;
            let elsewhere = self.model.memberships[&target].tenant.clone();
            if elsewhere != c.tenant {
                self.crossed(
                    "set_membership_role",
                    &what,
                    format!("changed a role in {elsewhere}"),
                );
            }
            self.model.memberships.get_mut(&target).unwrap().role = role;
        }
    }

    fn remove_member(&mut self, who: &str, k: Option<&str>, c: &Caller) {
        let target = self.pick_membership(Some(c));
        let what = format!("{who} of {target}");
        let expected = self.model.remove_member(c, &target);
        let body = self.send(
            k,
            REMOVE_MEMBER,
            json!({ "i": { "membership_id": target } }),
        );
        if self.agree("delete_membership", &what, &expected, &body) {
            self.allowed_mutations += 1;
            if self.model.memberships[&target].tenant != c.tenant {
                self.crossed(
                    "delete_membership",
                    &what,
                    "removed a member elsewhere".into(),
                );
            }
            self.model.remove_membership(&target);
        }
    }
}
