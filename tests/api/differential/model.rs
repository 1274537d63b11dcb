//! What keyward should answer, written from the product's rules as plain
//! Rust over roles, kinds and tenants: it reads no policy file and shares no
//! code with the server. The differential test compares the two.
// Insertion order, not id order: ids are random, and the test must make
// the same choices for the same seed.
use indexmap::IndexMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    ReadOnly,
    User,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::ReadOnly, Role::User, Role::Admin];

    pub fn wire(self) -> &'static str {
        match self {
            Role::ReadOnly => "READ_ONLY_USER",
            Role::User => "USER",
            Role::Admin => "TENANT_ADMIN",
        }
    }

    pub fn from_wire(s: &str) -> Role {
        Role::ALL.into_iter().find(|r| r.wire() == s).unwrap()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Person,
    Robot,
}

#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: String,
    pub slug: String,
}

#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub kind: Kind,
    /// People only.
    pub email: Option<String>,
    pub server_admin: bool,
}

#[derive(Clone, Debug)]
pub struct Membership {
    pub id: String,
    pub account: String,
    pub tenant: String,
    pub role: Role,
}

#[derive(Clone, Debug, Default)]
pub struct Key {
    pub id: String,
    pub secret: String,
    pub account: String,
    pub tenant: String,
    /// Gone: revoked, deleted with its robot or membership, or rotated with
    /// no grace (a tombstone says why).
    pub revoked: bool,
    /// A restricted key's role (`None`: its owner's).
    pub role: Option<Role>,
    /// Unix seconds on the test's clock.
    pub expires_at: Option<i64>,
    pub disabled: bool,
    /// Set once rotated: it works (and is listed) until then.
    pub grace_until: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct Invitation {
    pub id: String,
    pub token: String,
    pub tenant: String,
    pub email: String,
    pub role: Role,
    pub accepted: bool,
    pub revoked: bool,
}

/// Who a request acts as: a live key, its owner, its tenant and role.
#[derive(Clone, Debug)]
pub struct Caller {
    pub key: String,
    pub account: String,
    pub kind: Kind,
    pub server_admin: bool,
    pub tenant: String,
    pub role: Role,
    /// The key was rotated: it mints nothing during its grace.
    pub in_grace: bool,
}

/// An expected answer: success, or an error's code and (where the rules
/// fix it) its exact message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Err(&'static str, Option<String>),
}

pub fn not_found(what: &str) -> Outcome {
    Outcome::Err("NOT_FOUND", Some(format!("{what} not found")))
}

pub const FORBIDDEN: Outcome = Outcome::Err("FORBIDDEN", None);
pub const UNAUTHENTICATED: Outcome = Outcome::Err("UNAUTHENTICATED", None);
pub const CONFLICT: Outcome = Outcome::Err("CONFLICT", None);
pub const BAD_INPUT: Outcome = Outcome::Err("BAD_USER_INPUT", None);

#[derive(Default, Clone, Debug)]
pub struct Model {
    pub tenants: Vec<Tenant>,
    pub accounts: IndexMap<String, Account>,
    pub memberships: IndexMap<String, Membership>,
    pub keys: IndexMap<String, Key>,
    pub invitations: IndexMap<String, Invitation>,
    /// Webhook id -> its tenant.
    pub webhooks: IndexMap<String, String>,
    /// The test's clock, in unix seconds.
    pub now: i64,
}

impl Model {
    pub fn tenant_exists(&self, id: &str) -> bool {
        self.tenants.iter().any(|t| t.id == id)
    }

    pub fn role_in(&self, account: &str, tenant: &str) -> Option<Role> {
        self.memberships
            .values()
            .find(|m| m.account == account && m.tenant == tenant)
            .map(|m| m.role)
    }

    pub fn is_member(&self, account: &str, tenant: &str) -> bool {
        self.role_in(account, tenant).is_some()
    }

    /// Rotated, and its grace is over (housekeeping has not run in this
    /// test, so its row is still there).
    pub fn past_grace(&self, key: &Key) -> bool {
        key.grace_until.is_some_and(|g| g <= self.now)
    }

    /// The caller a key stands for, or `None` when it does not authenticate.
    pub fn caller(&self, key: &Key) -> Option<Caller> {
        if key.revoked
            || key.disabled
            || key.expires_at.is_some_and(|e| e <= self.now)
            || self.past_grace(key)
        {
            return None;
        }
        let owner = &self.accounts[&key.account];
        let owner_role = self.role_in(&key.account, &key.tenant)?;
        Some(Caller {
            key: key.id.clone(),
            account: key.account.clone(),
            kind: owner.kind,
            server_admin: owner.server_admin,
            tenant: key.tenant.clone(),
            role: key.role.map_or(owner_role, |r| r.min(owner_role)),
            in_grace: key.grace_until.is_some(),
        })
    }

    pub fn user_by_email(&self, email: &str) -> Option<&Account> {
        self.accounts
            .values()
            .find(|a| a.email.as_deref() == Some(email))
    }

    fn human_admins(&self, tenant: &str) -> usize {
        self.memberships
            .values()
            .filter(|m| {
                m.tenant == tenant
                    && m.role == Role::Admin
                    && self.accounts[&m.account].kind == Kind::Person
            })
            .count()
    }

    // ----- reads: what each list shows the caller

    /// Its owner's keys anywhere; an admin also sees the robots' keys of its tenant.
    pub fn sees_key(&self, c: &Caller, k: &Key) -> bool {
        !k.revoked
            && !self.past_grace(k)
            && (k.account == c.account
                || (k.tenant == c.tenant
                    && c.role == Role::Admin
                    && self.accounts[&k.account].kind == Kind::Robot))
    }

    pub fn visible_keys(&self, c: &Caller) -> Vec<String> {
        self.keys
            .values()
            .filter(|k| self.sees_key(c, k))
            .map(|k| k.id.clone())
            .collect()
    }

    pub fn visible_tenants(&self, c: &Caller) -> Vec<String> {
        let mut v: Vec<String> = self
            .tenants
            .iter()
            .filter(|t| self.is_member(&c.account, &t.id))
            .map(|t| t.id.clone())
            .collect();
        v.sort();
        v
    }

    /// Rows of `tenant` that a list scoped to it shows: only the caller's own tenant has any.
    pub fn visible_members(&self, c: &Caller, tenant: &str) -> Vec<(String, Role)> {
        self.memberships
            .values()
            .filter(|m| m.tenant == tenant && tenant == c.tenant)
            .map(|m| (m.id.clone(), m.role))
            .collect()
    }

    pub fn visible_invitations(&self, c: &Caller, tenant: &str) -> Vec<String> {
        self.invitations
            .values()
            .filter(|i| i.tenant == tenant && tenant == c.tenant && c.role == Role::Admin)
            .map(|i| i.id.clone())
            .collect()
    }

    /// Robots of the caller's tenant, each with the keys the caller sees.
    pub fn visible_robots(&self, c: &Caller, tenant: &str) -> Vec<(String, Vec<String>)> {
        if tenant != c.tenant {
            return vec![];
        }
        self.memberships
            .values()
            .filter(|m| m.tenant == tenant && self.accounts[&m.account].kind == Kind::Robot)
            .map(|m| {
                let mut keys: Vec<String> = self
                    .keys
                    .values()
                    .filter(|k| k.account == m.account && self.sees_key(c, k))
                    .map(|k| k.id.clone())
                    .collect();
                keys.sort();
                (m.account.clone(), keys)
            })
            .collect()
    }

    // ----- mutations: the decision, before anything changes

    pub fn create_key(
        &self,
        c: &Caller,
        owner: &str,
        tenant: Option<&str>,
        role: Option<Role>,
        expires_at: Option<i64>,
    ) -> Outcome {
        if expires_at.is_some_and(|e| e <= self.now) {
            return BAD_INPUT;
        }
        let Some(acc) = self.accounts.get(owner) else {
            return not_found("account");
        };
        if !self.is_member(owner, &c.tenant) {
            return not_found("account");
        }
        if let Some(t) = tenant
            && (!self.tenant_exists(t) || !self.is_member(&c.account, t))
        {
            return not_found("tenant");
        }
        let tenant = tenant.unwrap_or(&c.tenant);
        let may_make = owner == c.account || (c.role == Role::Admin && acc.kind == Kind::Robot);
        if may_make && tenant == c.tenant && self.mints_within(c, owner, tenant, role) {
            Outcome::Ok
        } else {
            FORBIDDEN
        }
    }

    /// The role ceiling on a new key of `owner` in `tenant` (its role:
    /// `role`, else the owner's): no more than the caller's, no more than
    /// the owner's; and a key in its rotation grace mints nothing.
    fn mints_within(&self, c: &Caller, owner: &str, tenant: &str, role: Option<Role>) -> bool {
        let Some(owner_role) = self.role_in(owner, tenant) else {
            return false;
        };
        let key_role = role.unwrap_or(owner_role);
        key_role <= c.role && key_role <= owner_role && !c.in_grace
    }

    /// A key the caller names to rotate or update: not found unless it may
    /// see it (a gone key it could have seen: already revoked), then allowed
    /// for its owner or, for a robot's key, an admin, in the caller's tenant.
    fn key_to_change(&self, c: &Caller, key: &str) -> Result<&Key, Outcome> {
        let Some(k) = self.keys.get(key) else {
            return Err(not_found("api key"));
        };
        if k.revoked {
            return Err(match self.delete_key(c, key) {
                Outcome::Ok => not_found("api key"),
                other => other,
            });
        }
        if !self.sees_key(c, k) {
            return Err(not_found("api key"));
        }
        let robot = self.accounts[&k.account].kind == Kind::Robot;
        if k.tenant == c.tenant && (k.account == c.account || (c.role == Role::Admin && robot)) {
            Ok(k)
        } else {
            Err(FORBIDDEN)
        }
    }

    /// Rotating: the old key must be changeable, the new expiry in the
    /// future, the key not rotated already, and its replacement (same
    /// owner, tenant and role) one the caller may mint.
    pub fn rotate(&self, c: &Caller, key: &str, expires_at: Option<i64>) -> Outcome {
        let k = match self.key_to_change(c, key) {
            Ok(k) => k,
            Err(o) => return o,
        };
        if expires_at.or(k.expires_at).is_some_and(|e| e <= self.now) {
            return BAD_INPUT;
        }
        if k.grace_until.is_some() {
            return CONFLICT;
        }
        let robot = self.accounts[&k.account].kind == Kind::Robot;
        let may_make = k.account == c.account || (c.role == Role::Admin && robot);
        if may_make && self.mints_within(c, &k.account, &k.tenant, k.role) {
            Outcome::Ok
        } else {
            FORBIDDEN
        }
    }

    pub fn update_key(&self, c: &Caller, key: &str) -> Outcome {
        match self.key_to_change(c, key) {
            Ok(_) => Outcome::Ok,
            Err(o) => o,
        }
    }

    /// What a report of `secret` by `c` says: (true_positive, revoked).
    pub fn report_leak(&self, c: &Caller, secret: &str) -> (bool, bool) {
        let Some(k) = self.keys.values().find(|k| k.secret == secret) else {
            return (false, false);
        };
        let robot = self
            .accounts
            .get(&k.account)
            .is_some_and(|a| a.kind == Kind::Robot);
        let admin_of_robot = c.role == Role::Admin && robot && k.tenant == c.tenant;
        let sees = k.account == c.account || admin_of_robot;
        if k.revoked || !sees {
            return (sees, false);
        }
        // Revoking leaves no tenant: the owner's own keys of other tenants
        // are reported but kept.
        (true, k.tenant == c.tenant)
    }

    pub fn manage_webhook(&self, c: &Caller, hook: &str) -> Outcome {
        match self.webhooks.get(hook) {
            Some(t) if c.role == Role::Admin && t == &c.tenant => Outcome::Ok,
            _ => not_found("webhook"),
        }
    }

    pub fn visible_webhooks(&self, c: &Caller) -> Vec<String> {
        self.webhooks
            .iter()
            .filter(|(_, t)| *t == &c.tenant)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Reading a tenant's audit log (`None`: the caller's; `server`: the
    /// server's own).
    pub fn read_audit(&self, c: &Caller, tenant: Option<&str>, server: bool) -> Outcome {
        if server {
            return if c.server_admin && c.kind == Kind::Person {
                Outcome::Ok
            } else {
                FORBIDDEN
            };
        }
        let t = tenant.unwrap_or(&c.tenant);
        if !self.tenant_exists(t) || !self.is_member(&c.account, t) {
            return not_found("tenant");
        }
        if t == c.tenant && c.role == Role::Admin {
            Outcome::Ok
        } else {
            FORBIDDEN
        }
    }

    /// A revoked key answers "already revoked" to whoever could see it
    /// while it lived (its owner, or an admin of its tenant for a robot that
    /// still exists), and "not found" to everyone else.
    pub fn delete_key(&self, c: &Caller, key: &str) -> Outcome {
        match self.keys.get(key) {
            Some(k) if self.sees_key(c, k) => Outcome::Ok,
            Some(k)
                if k.revoked
                    && (k.account == c.account
                        || (k.tenant == c.tenant
                            && c.role == Role::Admin
                            && self
                                .accounts
                                .get(&k.account)
                                .is_some_and(|a| a.kind == Kind::Robot))) =>
            {
                CONFLICT
            }
            _ => not_found("api key"),
        }
    }

    pub fn create_robot(&self, c: &Caller, tenant: &str, role: Role) -> Outcome {
        if !self.tenant_exists(tenant) || !self.is_member(&c.account, tenant) {
            return not_found("tenant");
        }
        if c.role == Role::Admin && tenant == c.tenant && role <= c.role {
            Outcome::Ok
        } else {
            FORBIDDEN
        }
    }

    /// Deleting or renaming a robot.
    pub fn change_robot(&self, c: &Caller, robot: &str) -> Outcome {
        match self.accounts.get(robot) {
            Some(a) if a.kind == Kind::Robot && self.is_member(robot, &c.tenant) => {
                if c.role == Role::Admin {
                    Outcome::Ok
                } else {
                    FORBIDDEN
                }
            }
            _ => not_found("service account"),
        }
    }

    pub fn create_tenant(&self, c: &Caller, slug: &str) -> Outcome {
        if !(c.kind == Kind::Person && c.server_admin) {
            FORBIDDEN
        } else if self.tenants.iter().any(|t| t.slug == slug) {
            CONFLICT
        } else {
            Outcome::Ok
        }
    }

    pub fn invite(&self, c: &Caller, tenant: &str, email: &str, role: Role) -> Outcome {
        if !self.tenant_exists(tenant) || !self.is_member(&c.account, tenant) {
            return not_found("tenant");
        }
        if !(c.role == Role::Admin && tenant == c.tenant && role <= c.role) {
            return FORBIDDEN;
        }
        match self.user_by_email(email) {
            Some(a) if self.is_member(&a.id, tenant) => CONFLICT,
            _ => Outcome::Ok,
        }
    }

    pub fn revoke_invitation(&self, c: &Caller, inv: &str) -> Outcome {
        match self.invitations.get(inv) {
            Some(i) if i.tenant == c.tenant && c.role == Role::Admin => Outcome::Ok,
            _ => not_found("invitation"),
        }
    }

    /// Accepting: `caller` is the key sent with it, if any (already known to
    /// authenticate).
    pub fn accept(&self, token: &str, caller: Option<&Caller>) -> Outcome {
        let Some(i) = self.invitations.values().find(|i| i.token == token) else {
            return UNAUTHENTICATED;
        };
        if i.revoked || i.accepted {
            return UNAUTHENTICATED;
        }
        let invitee = match (caller, self.user_by_email(&i.email)) {
            (None, None) => None,
            (Some(c), Some(a)) if a.id == c.account => Some(a.id.clone()),
            _ => return UNAUTHENTICATED,
        };
        if invitee.is_some_and(|a| self.is_member(&a, &i.tenant)) {
            return CONFLICT;
        }
        Outcome::Ok
    }

    pub fn set_role(&self, c: &Caller, membership: &str, role: Role) -> Outcome {
        let Some(m) = self
            .memberships
            .get(membership)
            .filter(|m| m.tenant == c.tenant)
        else {
            return not_found("membership");
        };
        if c.role != Role::Admin {
            return FORBIDDEN;
        }
        if self.leaves_no_admin(m, role != Role::Admin) {
            return CONFLICT;
        }
        Outcome::Ok
    }

    pub fn remove_member(&self, c: &Caller, membership: &str) -> Outcome {
        let Some(m) = self
            .memberships
            .get(membership)
            .filter(|m| m.tenant == c.tenant)
        else {
            return not_found("membership");
        };
        if !(c.role == Role::Admin || m.account == c.account) {
            return FORBIDDEN;
        }
        if self.accounts[&m.account].kind == Kind::Robot {
            return Outcome::Err("BAD_USER_INPUT", None);
        }
        if self.leaves_no_admin(m, true) {
            return CONFLICT;
        }
        Outcome::Ok
    }

    /// Would `m` stop being a human admin and leave its tenant with none?
    fn leaves_no_admin(&self, m: &Membership, stops_being_admin: bool) -> bool {
        stops_being_admin
            && m.role == Role::Admin
            && self.accounts[&m.account].kind == Kind::Person
            && self.human_admins(&m.tenant) == 1
    }

    // ----- applying what succeeded

    pub fn revoke_keys(&mut self, pred: impl Fn(&Key) -> bool) {
        for k in self.keys.values_mut().filter(|k| pred(k)) {
            k.revoked = true;
        }
    }

    pub fn remove_membership(&mut self, id: &str) {
        if let Some(m) = self.memberships.shift_remove(id) {
            self.revoke_keys(|k| k.account == m.account && k.tenant == m.tenant);
        }
    }

    pub fn delete_robot(&mut self, id: &str) {
        self.revoke_keys(|k| k.account == id);
        self.memberships.retain(|_, m| m.account != id);
        self.accounts.shift_remove(id);
    }
}
