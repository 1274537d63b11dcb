//! The cache's guarantees, step by step: the epoch race, eviction on
//! commit, rollback, and the time bound.
use std::sync::Arc;

use super::*;
use crate::authz::{Action, Allowed};
use crate::bootstrap;
use crate::store::audit;
use serde_json::json;

struct Fixture {
    verifier: Arc<Verifier>,
    store: Store,
    key: KeyId,
    hash: KeyHash,
    now: DateTime<Utc>,
    _dir: tempfile::TempDir,
}

fn fixture(ttl: Duration) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("k.db")).unwrap();
    let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let boot = bootstrap::if_empty(&store, now).unwrap().unwrap();
    let verifier = Arc::new(Verifier::new(store.clone(), 100, ttl));
    let weak: std::sync::Weak<dyn Evict> = Arc::downgrade(&verifier) as _;
    store.evict_into(weak);
    let hash = boot.api_key.hash();
    let key = verifier.load(&hash).unwrap().key_id;
    Fixture {
        verifier,
        store,
        key,
        hash,
        now,
        _dir: dir,
    }
}

fn revoke(f: &Fixture) {
    f.store
        .write(|w| {
            let proof = Allowed::for_tests(Action::DeleteApiKey);
            api_keys::revoke(w, &proof, f.key, f.now)?;
            let event = audit::Event::of(f.now, None, "api_key", f.key.to_string(), json!({}));
            audit::record(w, &proof, event)
        })
        .unwrap();
}

#[test]
fn a_miss_that_read_before_a_revocation_is_never_cached() {
    let f = fixture(Duration::seconds(60));
    let v = &f.verifier;
    // The interleaving that matters, step by step: a miss takes its
    // ticket and reads the key (still valid), then the revocation commits.
    let ticket = v.ticket();
    let stale = v.load(&f.hash).unwrap();
    revoke(&f);
    v.insert(ticket, &f.hash, &stale, f.now);
    assert!(
        v.cached(&f.hash, f.now).is_none(),
        "a stale answer was cached"
    );
    let e = v.verify(&f.hash, f.now).unwrap_err().to_string();
    assert!(e.contains("revoked at"), "{e}");
}

#[test]
fn a_miss_with_a_current_ticket_is_cached() {
    let f = fixture(Duration::seconds(60));
    let v = &f.verifier;
    let ticket = v.ticket();
    let fresh = v.load(&f.hash).unwrap();
    v.insert(ticket, &f.hash, &fresh, f.now);
    assert!(matches!(v.cached(&f.hash, f.now), Some(Ok(_))));
    assert_eq!(v.cached_keys(), 1);
}

#[test]
fn a_committed_revocation_evicts_before_write_returns() {
    let f = fixture(Duration::seconds(60));
    let v = &f.verifier;
    v.verify(&f.hash, f.now).unwrap();
    assert!(v.cached(&f.hash, f.now).is_some());
    revoke(&f);
    assert!(v.cached(&f.hash, f.now).is_none());
    assert!(v.verify(&f.hash, f.now).is_err());
}

#[test]
fn a_rolled_back_write_evicts_nothing() {
    let f = fixture(Duration::seconds(60));
    let v = &f.verifier;
    v.verify(&f.hash, f.now).unwrap();
    let out: AppResult<()> = f.store.write(|w| {
        api_keys::revoke(w, &Allowed::for_tests(Action::DeleteApiKey), f.key, f.now)?;
        Err(AppError::Invalid("changed my mind".into()))
    });
    assert!(out.is_err());
    assert!(matches!(v.cached(&f.hash, f.now), Some(Ok(_))));
    assert!(v.verify(&f.hash, f.now).is_ok());
}

/// What another process does to the database is seen within the bound.
#[test]
fn entries_answer_for_at_most_the_ttl() {
    let f = fixture(Duration::seconds(5));
    let v = &f.verifier;
    v.verify(&f.hash, f.now).unwrap();
    f.store
        .write(|w| w.execute("DELETE FROM api_keys", &[]))
        .unwrap();
    let later = f.now + Duration::seconds(4);
    assert!(v.verify(&f.hash, later).is_ok(), "within the bound: cached");
    let past = f.now + Duration::seconds(5);
    assert!(v.cached(&f.hash, past).is_none());
    assert!(v.verify(&f.hash, past).is_err(), "past the bound: reread");
    // A clock that jumps back does not keep an entry alive either.
    v.verify(&f.hash, past).unwrap_err();
    assert!(v.cached(&f.hash, f.now - Duration::seconds(1)).is_none());
}

/// A full cache drops its oldest entry, not all of them: the keys loaded
/// last stay cached, and the count never passes the capacity.
#[test]
fn a_full_cache_drops_only_its_oldest_entries() {
    let f = fixture(Duration::seconds(60));
    let tenant = f.verifier.load(&f.hash).unwrap().tenant_id;
    let verifier = Verifier::new(f.store.clone(), 3, Duration::seconds(60));
    let hashes: Vec<KeyHash> = (0..5)
        .map(|i| {
            f.store
                .write(|w| {
                    let owner = (
                        verifier.load(&f.hash)?.account_id,
                        crate::domain::model::AccountKind::User,
                    );
                    bootstrap::operator_key(w, owner, tenant, &format!("k{i}"), f.now)
                })
                .unwrap()
                .hash()
        })
        .collect();
    for h in &hashes {
        verifier.verify(h, f.now).unwrap();
        assert!(verifier.cached_keys() <= 3);
    }
    assert_eq!(verifier.cached_keys(), 3);
    for (i, h) in hashes.iter().enumerate() {
        assert_eq!(verifier.cached(h, f.now).is_some(), i >= 2, "key {i}");
    }
}
