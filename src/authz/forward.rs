//! Requests a proxy forwards (`GET /auth/verify` behind nginx's
//! auth_request), decided by Cedar's `Forward` action on the hot path: when
//! the policies allow every route to a caller of this shape (the default),
//! no decision is made per request; otherwise a decision is cached per
//! caller, method, path shape and host, for a few seconds.
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use lru::LruCache;

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
    /// The route of `method uri` on `host`.
    pub fn new(method: &str, uri: &str, host: &str) -> Self {
        let path = uri.split(['?', '#']).next().unwrap_or("/");
        let shape: Vec<&str> = path
            .split('/')
            .map(|seg| if is_id(seg) { "*" } else { seg })
            .collect();
        Self {
            method: method.to_ascii_uppercase(),
            path: shape.join("/"),
            host: host.to_ascii_lowercase(),
        }
    }
}

/// A path segment that names one thing among many: a UUID or a number.
fn is_id(seg: &str) -> bool {
    (!seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit())) || uuid::Uuid::try_parse(seg).is_ok()
}

/// How long a cached decision answers (the verification cache's default).
const FRESH: i64 = 5;
pub(super) const ROUTES_KEPT: std::num::NonZeroUsize = std::num::NonZeroUsize::new(100_000).unwrap();

pub(super) type RouteCache = Mutex<LruCache<(CallerKey, Route), (DateTime<Utc>, Arc<Verdict>)>>;

impl Authorizer {
    /// May `p` make the proxied request `route`?
    pub fn forward(&self, p: &Principal, route: &Route, now: DateTime<Utc>) -> AppResult<Arc<Verdict>> {
        let filter = self.list_filter(Action::Forward, p)?;
        if filter.exact && filter.condition.any_of.iter().any(Vec::is_empty) {
            static EVERY: std::sync::LazyLock<Arc<Verdict>> = std::sync::LazyLock::new(|| {
                Arc::new(Verdict {
                    allowed: true,
                    policies: vec![],
                })
            });
            return Ok(EVERY.clone());
        }
        let key = (CallerKey::of(p), route.clone());
        let lock = || self.routes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, v)) = lock().get(&key)
            && now >= *at
            && now - *at < Duration::seconds(FRESH)
        {
            return Ok(v.clone());
        }
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
        let verdict = Arc::new(self.session(p, &ents, now)?.decide(Action::Forward, &resource, context)?);
        lock().put(key, (now, verdict.clone()));
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(Route::new("GET", "/api/flows/filter", "h").path, "/api/flows/filter");
    }
}
