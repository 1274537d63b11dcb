//! Requests a proxy forwards (`GET /auth/verify` behind nginx's
//! auth_request), decided by Cedar's `Forward` action on the hot path: when
//! the policies allow every route to a caller of this shape (the default;
//! found once per shape by partial evaluation, as lists' filters are), no
//! decision is made per request, nor the route parsed; otherwise a
//! decision is cached per caller, method, path shape and host, for a few
//! seconds.
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use lru::LruCache;

use super::condition::{Atom, Param, Val};
use super::list_filter::ListFilter;
use super::{Action, Authorizer, CallerKey, EntitySet, RequestContext, Verdict};
use crate::domain::principal::Principal;
use crate::error::AppResult;

/// A proxied request, as the policies see it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    pub method: String,
    /// The path with ids (UUIDs, numbers) replaced by `*`, no query.
    pub path: String,
    pub host: String,
}

impl Route {
    /// The route of `method uri` on `host`. The path is taken as the
    /// service behind will route it: percent-decoded, `.` and `..` resolved,
    /// repeated slashes merged, so that no spelling of a path escapes a
    /// policy written for its plain form (`/api/events/%69n` is
    /// `/api/events/in`). A trailing slash stays: services tell them apart.
    pub fn new(method: &str, uri: &str, host: &str) -> Self {
        let raw = uri.split(['?', '#']).next().unwrap_or("/");
        let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
        let mut shape: Vec<&str> = Vec::new();
        for seg in decoded.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    shape.pop();
                }
                s if is_id(s) => shape.push("*"),
                s => shape.push(s),
            }
        }
        let mut path = format!("/{}", shape.join("/"));
        if decoded.ends_with('/') && path.len() > 1 {
            path.push('/');
        }
        Self {
            method: method.to_ascii_uppercase(),
            path,
            host: host.to_ascii_lowercase(),
        }
    }
}

/// A path segment that names one thing among many: a UUID or a number.
fn is_id(seg: &str) -> bool {
    (!seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()))
        || uuid::Uuid::try_parse(seg).is_ok()
}

/// How long a cached decision answers (the verification cache's default).
const FRESH: i64 = 5;
/// The longest route whose decision is kept.
const ROUTE_CACHED_LEN: usize = 512;
pub(super) const ROUTES_KEPT: std::num::NonZeroUsize =
    std::num::NonZeroUsize::new(100_000).unwrap();

pub(super) type RouteCache = Mutex<LruCache<(CallerKey, Route), (DateTime<Utc>, Arc<Verdict>)>>;

/// Whether `filter` (the policies' `Forward` filter for a caller's shape)
/// holds of every route keyward asks about: a `Route` has no attributes
/// and is in the calling key's tenant, so a conjunction of nothing but
/// "the resource is in the caller's tenant" (what tenant isolation leaves)
/// always holds.
fn every_route(filter: &ListFilter) -> bool {
    let in_own_tenant = Atom::In(vec![], Val::Param(Param::Tenant));
    filter.exact
        && filter
            .condition
            .any_of
            .iter()
            .any(|c| c.iter().all(|l| !l.negated && l.atom == in_own_tenant))
}

impl Authorizer {
    /// May `p` make the proxied request `route` (read only when a decision
    /// is needed; `Err` when it cannot be read, passed on undecided)?
    pub fn forward<E>(
        &self,
        p: &Principal,
        route: impl FnOnce() -> Result<Route, E>,
        now: DateTime<Utc>,
    ) -> AppResult<Result<Arc<Verdict>, E>> {
        if every_route(&*self.list_filter(Action::Forward, p)?) {
            static EVERY: std::sync::LazyLock<Arc<Verdict>> = std::sync::LazyLock::new(|| {
                Arc::new(Verdict {
                    allowed: true,
                    policies: vec![],
                })
            });
            return Ok(Ok(EVERY.clone()));
        }
        let route = match route() {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let key = (CallerKey::of(p), route);
        let lock = || self.routes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, v)) = lock().get(&key)
            && now >= *at
            && now - *at < Duration::seconds(FRESH)
        {
            return Ok(Ok(v.clone()));
        }
        let route = &key.1;
        let mut ents = EntitySet::for_caller(p);
        let id = format!("{} {}{}", route.method, route.host, route.path);
        let resource = ents.route(&id, p.tenant_id);
        let context = RequestContext::Forward {
            method: route.method.clone(),
            path: route.path.clone(),
            host: route.host.clone(),
            role: p.role,
            tenant: p.tenant_id,
        };
        let verdict = Arc::new(self.session(p, &ents, now)?.decide(
            Action::Forward,
            &resource,
            context,
        )?);
        // Long paths are decided each time: a caller inventing paths must
        // not fill memory with them.
        if id.len() <= ROUTE_CACHED_LEN {
            lock().put(key, (now, verdict.clone()));
        }
        Ok(Ok(verdict))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::list_filter::tests::principal as caller;
    use crate::domain::model::{AccountKind, Role};

    #[test]
    fn ids_become_stars_and_the_query_goes() {
        let r = Route::new(
            "post",
            "/api/flow_runs/0b9e5e3a-7c27-4a5b-9f0e-5a4b2e2f1c3d/set_state?x=1",
            "Prefect.Local",
        );
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/flow_runs/*/set_state");
        assert_eq!(r.host, "prefect.local");
        assert_eq!(Route::new("GET", "/api/logs/42", "h").path, "/api/logs/*");
        assert_eq!(
            Route::new("GET", "/api/flows/filter", "h").path,
            "/api/flows/filter"
        );
        assert_eq!(
            Route::new("POST", "/api/work_pools/", "h").path,
            "/api/work_pools/"
        );
        assert_eq!(Route::new("GET", "", "h").path, "/");
    }

    /// Another spelling of a path is the same route to the policies.
    #[test]
    fn spellings_of_a_path_are_one_route() {
        for uri in [
            "/api/events/in",
            "/api/events/%69n",
            "/api/events/%69%6E?x=/filter",
            "/api//events/./in",
            "/api/flows/../events/in",
            "/api/events/in/x/..",
            "/../../api/events/in",
            "/api/events%2Fin",
        ] {
            assert_eq!(Route::new("GET", uri, "h").path, "/api/events/in", "{uri}");
        }
    }

    const READ_ONLY: &str =
        include_str!("../../policies/examples/prefect-read-only/prefect-read-only.cedar");

    /// The shipped policies let every route through for every caller, so
    /// the hot path makes no decision; the read-only example does not.
    #[test]
    fn the_defaults_need_no_decision_per_request() {
        let a = Authorizer::embedded().unwrap();
        for role in [Role::TenantAdmin, Role::User, Role::ReadOnlyUser] {
            for kind in [AccountKind::User, AccountKind::Service] {
                let f = a.list_filter(Action::Forward, &caller(role, kind)).unwrap();
                assert!(every_route(&f), "{role:?} {kind:?}: {f:?}");
            }
        }
        let mut files = crate::authz::PolicyFiles::embedded();
        files
            .policies
            .push(("prefect-read-only.cedar".into(), READ_ONLY.into()));
        let a = Authorizer::compile(&files).unwrap();
        let ro = caller(Role::ReadOnlyUser, AccountKind::User);
        assert!(!every_route(&a.list_filter(Action::Forward, &ro).unwrap()));
        let now = chrono::DateTime::UNIX_EPOCH;
        let read = || Ok::<_, ()>(Route::new("GET", "/api/flows/42", "p"));
        let write = || Ok::<_, ()>(Route::new("POST", "/api/flows/", "p"));
        assert!(a.forward(&ro, read, now).unwrap().unwrap().allowed);
        let v = a.forward(&ro, write, now).unwrap().unwrap();
        assert!(!v.allowed);
        assert_eq!(v.policies, vec!["prefect-read-only".to_owned()]);
        let user = caller(Role::User, AccountKind::User);
        assert!(a.forward(&user, write, now).unwrap().unwrap().allowed);
        // A route that cannot be read is passed on, undecided.
        assert_eq!(
            a.forward(&ro, || Err("no route"), now)
                .unwrap()
                .unwrap_err(),
            "no route"
        );
    }
}
