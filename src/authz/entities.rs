//! Domain facts -> Cedar entities. Build once per request, then ask as many
//! questions as the request needs.
use std::collections::{HashMap, HashSet};

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};

use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::domain::model::{AccountKind, KeyWithOwner, Role};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};

fn uid(type_name: &str, id: impl ToString) -> EntityUid {
    // The type names are the schema's own; parsing them cannot fail.
    let ty: EntityTypeName = type_name.parse().expect("valid Cedar type name");
    EntityUid::from_type_name_and_id(ty, EntityId::new(id.to_string()))
}

pub fn tenant_uid(id: TenantId) -> EntityUid {
    uid("Keyward::Tenant", id)
}
pub fn account_uid(id: AccountId) -> EntityUid {
    uid("Keyward::Account", id)
}
pub fn key_uid(id: KeyId) -> EntityUid {
    uid("Keyward::ApiKey", id)
}
pub fn action_uid(name: &str) -> EntityUid {
    uid("Keyward::Action", name)
}

pub fn role_name(role: Option<Role>) -> &'static str {
    role.map_or("NONE", |r| r.as_str())
}

/// Collects the entities one request's decisions need.
#[derive(Default)]
pub struct EntitySet {
    entities: HashMap<EntityUid, Entity>,
}

impl EntitySet {
    pub fn new() -> Self {
        Self::default()
    }

    fn put(&mut self, e: Entity) {
        self.entities.insert(e.uid(), e);
    }

    fn tenant(&mut self, id: TenantId) {
        let uid = tenant_uid(id);
        self.entities
            .entry(uid.clone())
            .or_insert_with(|| Entity::new_no_attrs(uid, HashSet::new()));
    }

    /// An account and the tenants it is a member of.
    pub fn account(
        &mut self,
        id: AccountId,
        kind: AccountKind,
        member_of: &[TenantId],
    ) -> AppResult<()> {
        for t in member_of {
            self.tenant(*t);
        }
        let e = Entity::new(
            account_uid(id),
            HashMap::from([(
                "kind".to_owned(),
                RestrictedExpression::new_string(kind.to_string()),
            )]),
            member_of.iter().copied().map(tenant_uid).collect(),
        )
        .map_err(AppError::internal)?;
        self.put(e);
        Ok(())
    }

    fn key(
        &mut self,
        id: KeyId,
        owner: AccountId,
        tenant: TenantId,
        role: Option<Role>,
    ) -> AppResult<()> {
        self.tenant(tenant);
        let e = Entity::new(
            key_uid(id),
            HashMap::from([
                (
                    "owner".to_owned(),
                    RestrictedExpression::new_entity_uid(account_uid(owner)),
                ),
                (
                    "tenant".to_owned(),
                    RestrictedExpression::new_entity_uid(tenant_uid(tenant)),
                ),
                (
                    "role".to_owned(),
                    RestrictedExpression::new_string(role_name(role).to_owned()),
                ),
            ]),
            HashSet::from([tenant_uid(tenant)]),
        )
        .map_err(AppError::internal)?;
        self.put(e);
        Ok(())
    }

    /// The calling key. Its owner's account must be added with `account`.
    pub fn principal(&mut self, p: &Principal) -> AppResult<EntityUid> {
        self.key(p.key_id, p.account_id, p.tenant_id, Some(p.role))?;
        Ok(key_uid(p.key_id))
    }

    /// A key as a resource. Its owner's account must be added with `account`.
    pub fn api_key(&mut self, k: &KeyWithOwner) -> AppResult<EntityUid> {
        self.key(k.key.id, k.key.account_id, k.key.tenant_id, k.owner_role)?;
        Ok(key_uid(k.key.id))
    }

    pub fn has_account(&self, id: AccountId) -> bool {
        self.entities.contains_key(&account_uid(id))
    }

    pub fn add_tenant(&mut self, id: TenantId) -> EntityUid {
        self.tenant(id);
        tenant_uid(id)
    }

    pub(super) fn build(&self, schema: &cedar_policy::Schema) -> AppResult<cedar_policy::Entities> {
        cedar_policy::Entities::from_entities(self.entities.values().cloned(), Some(schema))
            .map_err(|e| AppError::internal(format!("cedar entities: {e}")))
    }
}
