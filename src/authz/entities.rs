//! Domain facts -> Cedar entities. Build once per request, then ask as many
//! questions as the request needs.
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};

use crate::domain::ids::{AccountId, InvitationId, KeyId, MembershipId, TenantId};
use crate::domain::model::{Account, AccountKind, Invitation, KeyWithOwner, Member, Role};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};

/// The schema's entity type names, parsed once.
struct Types {
    server: EntityTypeName,
    tenant: EntityTypeName,
    account: EntityTypeName,
    key: EntityTypeName,
    membership: EntityTypeName,
    invitation: EntityTypeName,
    route: EntityTypeName,
    leak_reporter: EntityTypeName,
    action: EntityTypeName,
}

static TYPES: LazyLock<Types> = LazyLock::new(|| {
    // Invariant: these literals are valid Cedar names (a unit test parses
    // them all, so a typo fails the tests, not a request).
    #[allow(clippy::expect_used)]
    let t = |name: &str| -> EntityTypeName { name.parse().expect("a valid Cedar type name") };
    Types {
        server: t("Keyward::Server"),
        tenant: t("Keyward::Tenant"),
        account: t("Keyward::Account"),
        key: t("Keyward::ApiKey"),
        membership: t("Keyward::Membership"),
        invitation: t("Keyward::Invitation"),
        route: t("Keyward::Route"),
        leak_reporter: t("Keyward::LeakReporter"),
        action: t("Keyward::Action"),
    }
});

fn cedar_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("cedar entities: {e}"))
}

fn uid(ty: &EntityTypeName, id: impl ToString) -> EntityUid {
    EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id.to_string()))
}

pub fn server_uid() -> EntityUid {
    uid(&TYPES.server, "keyward")
}
pub fn tenant_uid(id: TenantId) -> EntityUid {
    uid(&TYPES.tenant, id)
}
pub fn account_uid(id: AccountId) -> EntityUid {
    uid(&TYPES.account, id)
}
pub fn key_uid(id: KeyId) -> EntityUid {
    uid(&TYPES.key, id)
}
pub fn membership_uid(id: MembershipId) -> EntityUid {
    uid(&TYPES.membership, id)
}
pub fn invitation_uid(id: InvitationId) -> EntityUid {
    uid(&TYPES.invitation, id)
}
pub fn action_uid(name: &str) -> EntityUid {
    uid(&TYPES.action, name)
}

pub fn role_name(role: Option<Role>) -> &'static str {
    role.map_or("NONE", |r| r.as_str())
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

fn entity(
    uid: EntityUid,
    attrs: Vec<(&str, RestrictedExpression)>,
    parents: HashSet<EntityUid>,
) -> AppResult<Entity> {
    let attrs = attrs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect::<HashMap<_, _>>();
    Entity::new(uid, attrs, parents).map_err(AppError::internal)
}

/// Collects the entities one request's decisions need: the calling key's
/// own (built once per caller and kept, see `Authorizer::caller_entities`)
/// and whatever the request adds.
#[derive(Default)]
pub struct EntitySet {
    caller: Option<Principal>,
    entities: HashMap<EntityUid, Entity>,
}

impl EntitySet {
    pub fn new() -> Self {
        Self::default()
    }

    /// The calling key, its owner and the owner's tenants.
    pub fn for_caller(p: &Principal) -> Self {
        Self {
            caller: Some(p.clone()),
            entities: HashMap::new(),
        }
    }

    pub(super) fn caller(&self) -> Option<&Principal> {
        self.caller.as_ref()
    }

    /// The caller's entities, as `caller_entities` keeps them.
    pub(super) fn caller_only(p: &Principal) -> AppResult<Self> {
        let mut set = Self::new();
        set.principal(p)?;
        set.account(p.account_id, p.account_kind, p.server_admin, &p.member_of)?;
        Ok(set)
    }

    fn put(&mut self, e: Entity) {
        self.entities.insert(e.uid(), e);
    }

    /// A tenant (no attributes), added once.
    pub fn add_tenant(&mut self, id: TenantId) -> EntityUid {
        let uid = tenant_uid(id);
        self.entities
            .entry(uid.clone())
            .or_insert_with(|| Entity::new_no_attrs(uid.clone(), HashSet::new()));
        uid
    }

    pub fn add_server(&mut self) -> EntityUid {
        let uid = server_uid();
        self.entities
            .entry(uid.clone())
            .or_insert_with(|| Entity::new_no_attrs(uid.clone(), HashSet::new()));
        uid
    }

    /// An account and the tenants it is a member of.
    pub fn account(
        &mut self,
        id: AccountId,
        kind: AccountKind,
        server_admin: bool,
        member_of: &[TenantId],
    ) -> AppResult<EntityUid> {
        let parents = member_of.iter().map(|t| self.add_tenant(*t)).collect();
        let e = entity(
            account_uid(id),
            vec![
                ("kind", string(kind.as_str())),
                ("server_admin", RestrictedExpression::new_bool(server_admin)),
            ],
            parents,
        )?;
        self.put(e);
        Ok(account_uid(id))
    }

    pub fn has_account(&self, id: AccountId) -> bool {
        self.caller.as_ref().is_some_and(|p| p.account_id == id)
            || self.entities.contains_key(&account_uid(id))
    }

    fn key(
        &mut self,
        id: KeyId,
        owner: AccountId,
        tenant: TenantId,
        role: Option<Role>,
    ) -> AppResult<EntityUid> {
        let t = self.add_tenant(tenant);
        let e = entity(
            key_uid(id),
            vec![
                (
                    "owner",
                    RestrictedExpression::new_entity_uid(account_uid(owner)),
                ),
                ("tenant", RestrictedExpression::new_entity_uid(t.clone())),
                ("role", string(role_name(role))),
            ],
            HashSet::from([t]),
        )?;
        self.put(e);
        Ok(key_uid(id))
    }

    /// The calling key. Its owner's account must be added with `account`.
    pub fn principal(&mut self, p: &Principal) -> AppResult<EntityUid> {
        self.key(p.key_id, p.account_id, p.tenant_id, Some(p.role))
    }

    /// A key as a resource. Its owner's account must be added with `account`.
    pub fn api_key(&mut self, k: &KeyWithOwner) -> AppResult<EntityUid> {
        self.key(
            k.key.id,
            k.key.account_id,
            k.key.tenant_id,
            k.effective_role(),
        )
    }

    /// A key that no longer exists (revoked), as a resource: its owner's
    /// role there is gone with it. The owner must be added with `account`.
    pub fn revoked_key(
        &mut self,
        id: KeyId,
        owner: &Account,
        tenant: TenantId,
    ) -> AppResult<EntityUid> {
        self.key(id, owner.id, tenant, None)
    }

    /// A membership. Its account must be added with `account`.
    pub fn membership(&mut self, m: &Member) -> AppResult<EntityUid> {
        let t = self.add_tenant(m.membership.tenant_id);
        let e = entity(
            membership_uid(m.membership.id),
            vec![
                (
                    "account",
                    RestrictedExpression::new_entity_uid(account_uid(m.account.id)),
                ),
                ("tenant", RestrictedExpression::new_entity_uid(t.clone())),
                ("role", string(m.membership.role.as_str())),
            ],
            HashSet::from([t]),
        )?;
        self.put(e);
        Ok(membership_uid(m.membership.id))
    }

    /// A proxied request's route, in `tenant` (whose upstream serves it).
    pub fn route(&mut self, id: &str, tenant: TenantId) -> EntityUid {
        let t = self.add_tenant(tenant);
        let uid = uid(&TYPES.route, id);
        self.entities
            .entry(uid.clone())
            .or_insert_with(|| Entity::new_no_attrs(uid.clone(), HashSet::from([t])));
        uid
    }

    pub fn invitation(&mut self, inv: &Invitation) -> AppResult<EntityUid> {
        let t = self.add_tenant(inv.tenant_id);
        let e = entity(
            invitation_uid(inv.id),
            vec![
                ("tenant", RestrictedExpression::new_entity_uid(t.clone())),
                ("email", string(inv.email.as_str())),
                ("role", string(inv.role.as_str())),
            ],
            HashSet::from([t]),
        )?;
        self.put(e);
        Ok(invitation_uid(inv.id))
    }

    /// Adds the signer of a leak report: `key_id` names the public key its
    /// signature was checked against.
    pub fn leak_reporter(&mut self, key_id: &str) -> AppResult<EntityUid> {
        let id = uid(&TYPES.leak_reporter, key_id);
        let e = entity(id.clone(), vec![("key_id", string(key_id))], HashSet::new())?;
        self.put(e);
        Ok(id)
    }

    /// Adds `account` as found in the store, with its memberships.
    pub fn stored_account(
        &mut self,
        account: &Account,
        member_of: &[TenantId],
    ) -> AppResult<EntityUid> {
        self.account(account.id, account.kind, account.server_admin, member_of)
    }

    /// The entities, with `actions` (the action groups), checked against
    /// `schema` when one is given.
    pub(super) fn build(
        &self,
        actions: &[Entity],
        schema: Option<&cedar_policy::Schema>,
    ) -> AppResult<cedar_policy::Entities> {
        // With a schema, Cedar adds the actions itself.
        let actions = if schema.is_some() { &[][..] } else { actions };
        let all = self.entities.values().chain(actions).cloned();
        cedar_policy::Entities::from_entities(all, schema).map_err(cedar_error)
    }

    /// `base` (the caller's, built) with this set's entities added, those
    /// already there (the caller's tenants) left out; `None`: nothing to add.
    pub(super) fn added_to(
        &self,
        base: &cedar_policy::Entities,
        schema: Option<&cedar_policy::Schema>,
    ) -> AppResult<Option<cedar_policy::Entities>> {
        let extra: Vec<Entity> = self
            .entities
            .values()
            .filter(|e| base.get(&e.uid()).is_none())
            .cloned()
            .collect();
        if extra.is_empty() {
            return Ok(None);
        }
        let all = base
            .clone()
            .add_entities(extra, schema)
            .map_err(cedar_error)?;
        Ok(Some(all))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_name_parses() {
        let _ = server_uid();
        assert_eq!(
            tenant_uid(TenantId::random()).type_name().to_string(),
            "Keyward::Tenant"
        );
        assert_eq!(
            action_uid("ReadTenant").to_string(),
            r#"Keyward::Action::"ReadTenant""#
        );
    }
}
