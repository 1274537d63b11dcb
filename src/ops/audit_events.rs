//! The audit log: a tenant's (tenant admins) or the server's (server
//! admins), newest first, a page at a time.
use super::listing::Window;
use super::{Caller, Env, caller_entities};
use crate::authz::entities::tenant_uid;
use crate::authz::{Action, RequestContext};
use crate::error::AppResult;
use crate::store::audit::{self, Filter, Stored};

/// A page of the log `filter` names (`server`: the server's own).
pub fn list(
    env: &Env,
    caller: &Caller,
    server: bool,
    filter: Filter,
    window: Window,
) -> AppResult<Vec<Stored>> {
    let p = caller.key()?;
    env.store.read(|c| {
        let mut ents = caller_entities(p)?;
        let session;
        if server {
            let uid = ents.add_server();
            session = env.session(p, &ents)?;
            session.check(Action::ReadAuditEvent, &uid, RequestContext::Empty)?;
        } else {
            let t = filter.tenant.unwrap_or(p.tenant_id);
            ents.add_tenant(t);
            session = env.session(p, &ents)?;
            session.check_named(
                Action::ReadTenant,
                "tenant",
                Action::ReadAuditEvent,
                &tenant_uid(t),
                RequestContext::Empty,
            )?;
        }
        audit::page_of(c, &filter, window.limit, window.offset)
    })
}
