//! The handles operations get: `Read` (one snapshot) and `Write` (the unit
//! of work), what a `Write` records while it runs (the decisions made on it
//! and their audit events, the cache evictions, the outbox deliveries), and
//! who hears of a commit (the verification cache, the webhook workers).
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::ops::Deref;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::sql::Conn;
use crate::authz::{Action, Allowed};
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::error::{AppError, AppResult};

/// What a committed change made stale: cached answers that depend on it go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalidation {
    Key(KeyId),
    Account(AccountId),
    AccountInTenant(AccountId, TenantId),
}

/// Whoever caches what the store holds (the key verifier) and must forget
/// what a commit changed.
pub trait Evict: Send + Sync {
    fn evict(&self, what: &[Invalidation]);
}

/// Rung after a commit that put deliveries in the outbox: the webhook
/// workers wake at once instead of at their next poll.
#[derive(Default)]
pub struct Doorbell {
    rings: Mutex<u64>,
    rung: Condvar,
}

impl Doorbell {
    pub fn ring(&self) {
        *self.rings.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.rung.notify_all();
    }

    /// How many times it was rung so far.
    pub fn rings(&self) -> u64 {
        *self.rings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until rung after `seen` (the count `wait` last returned) or
    /// until `patience` is over; returns the count.
    pub fn wait(&self, seen: u64, patience: Duration) -> u64 {
        let rings = self.rings.lock().unwrap_or_else(|e| e.into_inner());
        let (rings, _) = self
            .rung
            .wait_timeout_while(rings, patience, |n| *n == seen)
            .unwrap_or_else(|e| e.into_inner());
        *rings
    }
}

/// A read: one snapshot, on a pooled connection (see `Store::read`).
pub struct Read<'c>(pub(super) Conn<'c>);

impl<'c> Deref for Read<'c> {
    type Target = Conn<'c>;
    fn deref(&self) -> &Conn<'c> {
        &self.0
    }
}

/// The write transaction. Functions that change data take this (and a
/// proof), so they cannot run in a plain read.
pub struct Write<'c> {
    pub(super) conn: Conn<'c>,
    evictions: RefCell<Vec<Invalidation>>,
    /// The decisions (proof serials) changes were made on, and those whose
    /// audit event was appended: a transaction with a decision that has no
    /// event does not commit.
    decided: RefCell<BTreeSet<u64>>,
    audited: RefCell<BTreeSet<u64>>,
    /// Deliveries put in the outbox: the workers are woken after the commit.
    emitted: Cell<bool>,
}

impl<'c> Deref for Write<'c> {
    type Target = Conn<'c>;
    fn deref(&self) -> &Conn<'c> {
        &self.conn
    }
}

impl Write<'_> {
    /// Notes that what depends on `what` is stale once this commits.
    pub(crate) fn evict(&self, what: Invalidation) {
        self.evictions.borrow_mut().push(what);
    }

    /// `Ok` when `proof` covers one of `actions` (`Allowed::covers`); the
    /// change it allows then needs its audit event before this commits.
    pub(crate) fn authorized(&self, proof: &Allowed, actions: &[Action]) -> AppResult<()> {
        proof.covers(actions)?;
        self.decided.borrow_mut().insert(proof.serial());
        Ok(())
    }

    /// Notes that the audit event of `proof`'s decision was appended
    /// (`audit::record`).
    pub(crate) fn audited(&self, proof: &Allowed) {
        self.audited.borrow_mut().insert(proof.serial());
    }

    /// Notes that deliveries were put in the outbox (`webhooks::emit`).
    pub(crate) fn emitted(&self) {
        self.emitted.set(true);
    }

    pub(super) fn new(conn: Conn<'_>) -> Write<'_> {
        Write {
            conn,
            evictions: RefCell::new(Vec::new()),
            decided: RefCell::default(),
            audited: RefCell::default(),
            emitted: Cell::new(false),
        }
    }

    /// What `f` recorded (evictions, and whether it emitted), once it is
    /// known that it may commit.
    pub(super) fn finish(&self) -> AppResult<(Vec<Invalidation>, bool)> {
        if !self.decided.borrow().is_subset(&self.audited.borrow()) {
            return Err(AppError::internal(
                "a decided change was made without its audit event; nothing was committed",
            ));
        }
        Ok((self.evictions.take(), self.emitted.get()))
    }
}
