use super::sql::{Conn, Row, ToValue};
use crate::params;
use chrono::{DateTime, Utc};

use super::audit::{self, Event};
pub use super::key_pages::{Cursor, KeyOrder, KeyScope, MAX_SORTED, listed, of_accounts, page_of};
pub use super::notices::{DueKey, due_for_notice, set_next_notice};
use super::{
    Invalidation, Write, opt_time_from_sql, parse_col, time_from_sql, time_to_sql, webhooks,
};
use crate::authz::{Action, Allowed, SystemTask};
use crate::domain::api_key::{KeyHash, Token};
use crate::domain::events::EventType;
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::domain::model::{AccountKind, ApiKey, KeyWithOwner, Revocation, Role, Rotation, Via};
use crate::domain::names::DisplayName;
use crate::error::AppResult;

/// A key joined with its owner's kind and the owner's role in the key's
/// tenant (and its place, for cursors).
pub(super) const SELECT: &str =
    "SELECT k.id, k.name, k.account_id, k.tenant_id, k.created_by, k.created_at,
        k.expires_at, k.last_used_at, a.kind, m.role, a.server_admin, k.rowid,
        k.role, k.disabled_at, k.rotated_from, k.rotated_at, k.replaced_by, k.grace_until
    FROM api_keys k
    JOIN accounts a ON a.id = k.account_id
    LEFT JOIN memberships m ON m.account_id = k.account_id AND m.tenant_id = k.tenant_id";

pub(super) fn from_row(r: &Row<'_>) -> AppResult<KeyWithOwner> {
    Ok(KeyWithOwner {
        key: ApiKey {
            id: r.get(0)?,
            name: r.get(1)?,
            account_id: r.get(2)?,
            tenant_id: r.get(3)?,
            created_by: r.get(4)?,
            created_at: time_from_sql(&r.get::<String>(5)?)?,
            expires_at: opt_time_from_sql(r.get(6)?)?,
            last_used_at: opt_time_from_sql(r.get(7)?)?,
            role: r
                .get::<Option<String>>(12)?
                .as_deref()
                .map(parse_col)
                .transpose()?,
            disabled_at: opt_time_from_sql(r.get(13)?)?,
            rotated_from: r.get(14)?,
            rotation: match (
                opt_time_from_sql(r.get(15)?)?,
                r.get::<Option<KeyId>>(16)?,
                opt_time_from_sql(r.get(17)?)?,
            ) {
                (Some(at), Some(replaced_by), Some(grace_until)) => Some(Rotation {
                    at,
                    replaced_by,
                    grace_until,
                }),
                _ => None,
            },
        },
        owner_kind: parse_col(&r.get::<String>(8)?)?,
        owner_role: r
            .get::<Option<String>>(9)?
            .as_deref()
            .map(parse_col)
            .transpose()?,
        owner_server_admin: r.get(10)?,
    })
}

/// What a new key is: everything but its id, secret and times of use.
pub struct NewKey<'a> {
    pub name: &'a DisplayName,
    pub owner: AccountId,
    pub owner_kind: AccountKind,
    pub tenant: TenantId,
    pub created_by: Option<AccountId>,
    pub expires_at: Option<DateTime<Utc>>,
    /// A restricted key's role; `None`: its owner's.
    pub role: Option<Role>,
    /// The key this one replaces (a rotation).
    pub rotated_from: Option<KeyId>,
    /// Which path makes it (the decision's `context.via`).
    pub via: Via,
}

/// What the audit log and the webhooks say of `key` (never its secret).
pub fn described(key: &ApiKey) -> serde_json::Value {
    serde_json::json!({
        "name": key.name.as_str(),
        "owner": key.account_id.to_string(),
        "role": key.role.map(|r| r.as_str()),
        "expires_at": key.expires_at.as_ref().map(time_to_sql),
    })
}

/// Makes a key: a fresh secret (`kwu_` or `kws_` by the owner's kind), of
/// which only the hash is stored. The secret is returned this once. Every
/// path that makes a key comes here with a `CreateApiKey` decision (or the
/// operator's proof), and this records the key's audit event and its
/// `api_key.created` webhook event in the same transaction, so no path can
/// mint a key silently.
pub fn mint(
    w: &Write,
    proof: &Allowed,
    new: NewKey<'_>,
    now: DateTime<Utc>,
) -> AppResult<(ApiKey, Token)> {
    w.authorized(proof, &[Action::CreateApiKey])?;
    let token = Token::generate(new.owner_kind);
    let key = ApiKey {
        id: KeyId::random(),
        name: new.name.clone(),
        account_id: new.owner,
        tenant_id: new.tenant,
        created_by: new.created_by,
        created_at: now,
        expires_at: new.expires_at,
        last_used_at: None,
        role: new.role,
        disabled_at: None,
        rotated_from: new.rotated_from,
        rotation: None,
    };
    insert(w, &key, new.owner_kind, &token.hash())?;
    let mut details = described(&key);
    details["via"] = serde_json::json!(new.via.as_str());
    details["rotated_from"] = serde_json::json!(key.rotated_from.map(|k| k.to_string()));
    let mut object = details.clone();
    object["id"] = serde_json::json!(key.id.to_string());
    webhooks::fire(
        w,
        EventType::ApiKeyCreated,
        now,
        key.tenant_id,
        proof.actor(),
        object,
    )?;
    let mut event = Event::of(
        now,
        Some(key.tenant_id),
        "api_key",
        key.id.to_string(),
        details,
    );
    if proof.by_operator() {
        event.message = Some(super::audit::BY_OPERATOR.into());
    }
    audit::record(w, proof, event)?;
    Ok((key, token))
}

fn insert(w: &Write, key: &ApiKey, owner_kind: AccountKind, hash: &KeyHash) -> AppResult<()> {
    w.execute(
        // A key that expires is due for its notices at once: the next
        // housekeeping run schedules them (store::notices).
        "INSERT INTO api_keys (id, hash, name, account_id, tenant_id, created_by, created_at, expires_at, owner_kind, role, rotated_from, next_notice_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)", params![
            key.id,
            hash,
            key.name,
            key.account_id,
            key.tenant_id,
            key.created_by,
            time_to_sql(&key.created_at),
            key.expires_at.as_ref().map(time_to_sql),
            owner_kind.as_str(),
            key.role.as_ref().map(Role::as_str),
            key.rotated_from,
            key.expires_at.map(|_| time_to_sql(&key.created_at)),
        ])?;
    Ok(())
}

pub fn find_by_hash(conn: &Conn, hash: &KeyHash) -> AppResult<Option<KeyWithOwner>> {
    conn.query_opt(
        &format!("{SELECT} WHERE k.hash = ?1"),
        params![hash],
        from_row,
    )
}

pub fn get(conn: &Conn, id: KeyId) -> AppResult<Option<KeyWithOwner>> {
    conn.query_opt(&format!("{SELECT} WHERE k.id = ?1"), params![id], from_row)
}

/// A key that no longer exists: why, when, and (for keys revoked since
/// migration 0003) whose it was and where it worked.
pub struct RevokedKey {
    pub id: KeyId,
    pub owner: Option<AccountId>,
    pub tenant: Option<TenantId>,
    pub reason: Revocation,
    pub at: DateTime<Utc>,
    /// The key a rotation put in its place.
    pub replaced_by: Option<KeyId>,
}

impl RevokedKey {
    pub fn message(&self) -> String {
        self.reason.message(self.at, self.replaced_by)
    }
}

const TOMBSTONE: &str =
    "SELECT key_id, account_id, tenant_id, reason, revoked_at, replaced_by FROM revoked_keys";

fn tombstone(r: &Row<'_>) -> AppResult<RevokedKey> {
    Ok(RevokedKey {
        id: r.get(0)?,
        owner: r.get(1)?,
        tenant: r.get(2)?,
        reason: parse_col(&r.get::<String>(3)?)?,
        at: time_from_sql(&r.get::<String>(4)?)?,
        replaced_by: r.get(5)?,
    })
}

/// Why the key with this hash stopped working, if it ever existed.
pub fn revocation(conn: &Conn, hash: &KeyHash) -> AppResult<Option<RevokedKey>> {
    conn.query_opt(
        &format!("{TOMBSTONE} WHERE hash = ?1"),
        params![hash],
        tombstone,
    )
}

/// The key `id` if it was revoked.
pub fn revoked(conn: &Conn, id: KeyId) -> AppResult<Option<RevokedKey>> {
    conn.query_opt(
        &format!("{TOMBSTONE} WHERE key_id = ?1"),
        params![id],
        tombstone,
    )
}

/// Deletes keys matching `filter` (over `args`, `?1`…), leaving a
/// tombstone of each hash with `reason`.
fn revoke_where(
    w: &Write,
    filter: &str,
    args: &[&dyn ToValue],
    reason: Revocation,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let (r, t) = (args.len() + 1, args.len() + 2);
    let (reason, now) = (reason.as_str(), time_to_sql(&now));
    let mut all: Vec<&dyn ToValue> = args.to_vec();
    all.extend([&reason as &dyn ToValue, &now]);
    w.execute(&format!(
            "INSERT INTO revoked_keys (hash, key_id, reason, revoked_at, account_id, tenant_id, replaced_by)
             SELECT hash, id, ?{r}, ?{t}, account_id, tenant_id, replaced_by FROM api_keys WHERE {filter}
             ON CONFLICT (hash) DO UPDATE SET key_id = excluded.key_id, reason = excluded.reason,
                 revoked_at = excluded.revoked_at, account_id = excluded.account_id,
                 tenant_id = excluded.tenant_id, replaced_by = excluded.replaced_by"
        ), all.as_slice())?;
    w.execute(&format!("DELETE FROM api_keys WHERE {filter}"), args)
}

/// Revokes one key (it was deleted).
pub fn revoke(w: &Write, proof: &Allowed, id: KeyId, now: DateTime<Utc>) -> AppResult<bool> {
    w.authorized(proof, &[Action::DeleteApiKey])?;
    w.evict(Invalidation::Key(id));
    Ok(revoke_where(w, "id = ?1", &[&id], Revocation::Revoked, now)? == 1)
}

/// Revokes one key reported leaked (`/leaks`); its client is told why.
pub fn revoke_leaked(w: &Write, proof: &Allowed, id: KeyId, now: DateTime<Utc>) -> AppResult<bool> {
    w.authorized(proof, &[Action::RevokeLeakedApiKey])?;
    w.evict(Invalidation::Key(id));
    Ok(revoke_where(w, "id = ?1", &[&id], Revocation::Leaked, now)? == 1)
}

/// Revokes every key `account` holds (its service account is being deleted).
pub fn revoke_all_of(
    w: &Write,
    proof: &Allowed,
    account: AccountId,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    w.authorized(proof, &[Action::DeleteServiceAccount])?;
    w.evict(Invalidation::Account(account));
    revoke_where(
        w,
        "account_id = ?1",
        &[&account],
        Revocation::ServiceAccountDeleted,
        now,
    )
}

/// Records when a key was last used (never moving it backwards): the
/// verifier's bookkeeping of a request that authenticated, which changes
/// nothing any key may do.
pub fn set_last_used(w: &Write, _: &SystemTask, id: KeyId, when: DateTime<Utc>) -> AppResult<()> {
    w.execute(
        "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)", params![id, time_to_sql(&when)])?;
    Ok(())
}

/// Revokes every key `account` holds for `tenant` (it left the tenant).
pub fn revoke_all_of_in(
    w: &Write,
    proof: &Allowed,
    account: AccountId,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    w.authorized(proof, &[Action::DeleteMembership])?;
    w.evict(Invalidation::AccountInTenant(account, tenant));
    revoke_where(
        w,
        "account_id = ?1 AND tenant_id = ?2",
        &[&account, &tenant],
        Revocation::MembershipRemoved,
        now,
    )
}

/// Renames a key and disables or enables it (`None`: left as it is).
pub fn update(
    w: &Write,
    proof: &Allowed,
    id: KeyId,
    name: Option<&DisplayName>,
    disabled: Option<bool>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    w.authorized(proof, &[Action::UpdateApiKey])?;
    w.evict(Invalidation::Key(id));
    if let Some(name) = name {
        w.execute(
            "UPDATE api_keys SET name = ?2 WHERE id = ?1",
            params![id, name],
        )?;
    }
    match disabled {
        Some(true) => w.execute(
            "UPDATE api_keys SET disabled_at = ?2 WHERE id = ?1 AND disabled_at IS NULL",
            params![id, time_to_sql(&now)],
        )?,
        Some(false) => w.execute(
            "UPDATE api_keys SET disabled_at = NULL WHERE id = ?1",
            params![id],
        )?,
        None => 0,
    };
    Ok(())
}

/// The replacement `rotate_api_key` makes for `old`: its name, owner,
/// tenant and role, with `expires_at`.
pub fn replacement(old: &KeyWithOwner, expires_at: Option<DateTime<Utc>>) -> NewKey<'_> {
    let o = &old.key;
    NewKey {
        name: &o.name,
        owner: o.account_id,
        owner_kind: old.owner_kind,
        tenant: o.tenant_id,
        created_by: o.created_by,
        expires_at,
        role: o.role,
        rotated_from: Some(o.id),
        via: Via::Rotation,
    }
}

/// Marks `old` replaced by `by` (minted with its own `CreateApiKey`
/// decision); `old` works until `grace_until`, or stops at once when that is
/// not after `now`.
pub fn rotate(
    w: &Write,
    proof: &Allowed,
    old: &KeyWithOwner,
    by: KeyId,
    grace_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    w.authorized(proof, &[Action::RotateApiKey])?;
    let o = &old.key;
    w.evict(Invalidation::Key(o.id));
    w.execute(
        "UPDATE api_keys SET rotated_at = ?2, replaced_by = ?3, grace_until = ?4 WHERE id = ?1",
        params![o.id, time_to_sql(&now), by, time_to_sql(&grace_until)],
    )?;
    if grace_until <= now {
        revoke_where(w, "id = ?1", &[&o.id], Revocation::Rotated, now)?;
    }
    Ok(())
}

/// Revokes up to `batch` rotated keys whose grace ended by `now`: the
/// rotation that set the grace was decided, and the keys already stop
/// working at its end (the verifier checks it); housekeeping only tidies up.
pub fn sweep_rotated(
    w: &Write,
    _: &SystemTask,
    now: DateTime<Utc>,
    batch: usize,
) -> AppResult<usize> {
    let now_sql = time_to_sql(&now);
    let ids: Vec<KeyId> = w.query(
        "SELECT id FROM api_keys WHERE grace_until IS NOT NULL AND grace_until <= ?1 LIMIT ?2",
        params![now_sql, i64::try_from(batch).unwrap_or(i64::MAX)],
        |r| r.get(0),
    )?;
    for id in &ids {
        w.evict(Invalidation::Key(*id));
        revoke_where(w, "id = ?1", &[id], Revocation::Rotated, now)?;
    }
    Ok(ids.len())
}

/// Every key `account` holds, oldest first.
pub fn of_account(conn: &Conn, account: AccountId) -> AppResult<Vec<KeyWithOwner>> {
    conn.query(
        &format!("{SELECT} WHERE k.account_id = ?1 ORDER BY k.created_at, k.rowid"),
        params![account],
        from_row,
    )
}
