//! Micro-benchmarks of the verification path (`make bench` runs them):
//! parsing a key, a cache hit, a cache miss (SQLite), one Cedar decision.
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward::authz::entities::account_uid;
use keyward::authz::{Action, Authorizer, EntitySet, RequestContext};
use keyward::clock::Clock;
use keyward::domain::api_key::Token;
use keyward::domain::model::AccountKind;
use keyward::store::Store;
use keyward::verify::Verifier;

fn verification(c: &mut Criterion) {
    let now = Clock::system().now();
    let key = Token::generate(AccountKind::User).expose().to_owned();
    c.bench_function("key parse + checksum + hash", |b| {
        b.iter(|| Token::parse(black_box(&key)).unwrap().hash())
    });

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db")).unwrap();
    let spec = keyward::bench::Spec {
        keys: 10_000,
        service_accounts: 1,
        sample: 100,
    };
    let keys = keyward::bench::load(&store, &spec, now).unwrap().samples;
    let verifier = Verifier::new(store, 100_000, chrono::Duration::days(1));
    let hash = Token::parse(&keys[0]).unwrap().hash();
    let principal = verifier.verify(&hash, now).unwrap();
    c.bench_function("cache hit", |b| {
        b.iter(|| verifier.cached(black_box(&hash), now).unwrap().unwrap())
    });
    c.bench_function("cache miss (SQLite lookup)", |b| {
        b.iter(|| verifier.load(black_box(&hash)).unwrap())
    });

    let authz = Authorizer::embedded().unwrap();
    let mut ents = EntitySet::new();
    ents.principal(&principal).unwrap();
    ents.account(
        principal.account_id,
        principal.account_kind,
        principal.server_admin,
        &[principal.tenant_id],
    )
    .unwrap();
    let owner = account_uid(principal.account_id);
    let context = || RequestContext::CreateApiKey {
        tenant: principal.tenant_id,
        owner_kind: AccountKind::User,
        owner_is_caller: true,
        owner_role: Some(principal.role),
        key_role: None,
        expires_at: None,
        via: keyward::domain::model::Via::Api,
        replaces: None,
    };
    let session = authz.session(&principal, &ents, now).unwrap();
    c.bench_function("one Cedar decision", |b| {
        b.iter(|| {
            session
                .check(Action::CreateApiKey, &owner, context())
                .unwrap()
        })
    });
    c.bench_function("Cedar entities + one decision", |b| {
        b.iter(|| {
            authz
                .session(&principal, &ents, now)
                .unwrap()
                .check(Action::CreateApiKey, &owner, context())
                .unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = verification
}
criterion_main!(benches);
