//! The active policy set, swapped whole: on SIGHUP and when a file in the
//! policy directory changes. An invalid edit keeps the running set and logs
//! `file:line:col: reason`; requests never see a half-loaded set.
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{Event, RecommendedWatcher, RecursiveMode, Watcher as _};

use super::{Authorizer, PolicyError, PolicyFiles, Proofs};
use crate::clock::Clock;
use crate::metrics::Metrics;

struct Active {
    authz: Arc<Authorizer>,
    loaded_at: DateTime<Utc>,
}

/// What `/healthz` reports of the active set.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PolicyStatus {
    pub source: String,
    pub hash: String,
    pub loaded_at: DateTime<Utc>,
    /// Which of keyward's invariants (and the operator's) were proven for
    /// this set, and with which solver; or why not.
    pub proofs: Proofs,
}

pub struct Policies {
    dir: Option<PathBuf>,
    /// Refuse a set that could not be proven (no solver), not only one
    /// that fails a proof.
    require_proofs: bool,
    clock: Clock,
    metrics: Metrics,
    active: RwLock<Active>,
}

/// Keeps the directory watcher alive; dropping it stops watching (and ends
/// the thread that reloads).
pub type Watcher = RecommendedWatcher;

/// What asked for a reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reload {
    Signal,
    FileChanged,
}

impl Reload {
    fn as_str(self) -> &'static str {
        match self {
            Reload::Signal => "SIGHUP",
            Reload::FileChanged => "a policy file changed",
        }
    }
}

/// `dir`'s set, vetted (valid, its cases pass, its invariants proven or no
/// solver to prove them); with `require_proofs`, proven.
fn proven(dir: Option<&Path>, require_proofs: bool) -> Result<Authorizer, PolicyError> {
    let authz = Authorizer::vetted(dir)?.0;
    match &authz.proofs {
        Proofs::NotProven { reason } if require_proofs => Err(PolicyError::proofs(vec![format!(
            "--require-proofs: the policies could not be proven: {reason}"
        )])),
        Proofs::Proven {
            invariants,
            took_ms,
            ..
        } => {
            tracing::info!(invariants = %invariants.join(", "), took_ms, "policies proven");
            Ok(authz)
        }
        Proofs::NotProven { .. } => Ok(authz),
    }
}

/// How long the directory must be quiet after a change before it is read:
/// an editor's save is several events.
const SETTLE: Duration = Duration::from_millis(250);

impl Policies {
    /// Loads `dir`, or the embedded defaults when there is none; the set
    /// must pass its test cases.
    pub fn load(
        dir: Option<&Path>,
        require_proofs: bool,
        clock: Clock,
        metrics: Metrics,
    ) -> Result<Self, PolicyError> {
        let authz = proven(dir, require_proofs)?.observed_by(metrics.clone());
        let active = Active {
            authz: Arc::new(authz),
            loaded_at: clock.now(),
        };
        Ok(Self {
            dir: dir.map(Path::to_path_buf),
            require_proofs,
            clock,
            metrics,
            active: RwLock::new(active),
        })
    }

    /// The set to decide this request with.
    pub fn current(&self) -> Arc<Authorizer> {
        self.active
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .authz
            .clone()
    }

    pub fn status(&self) -> PolicyStatus {
        let a = self.active.read().unwrap_or_else(|e| e.into_inner());
        PolicyStatus {
            source: a.authz.source.clone(),
            hash: a.authz.hash.clone(),
            loaded_at: a.loaded_at,
            proofs: a.authz.proofs.clone(),
        }
    }

    /// Re-reads and re-validates the directory; swaps the set in when it is
    /// valid, passes its test cases, and differs. `Ok(false)`: nothing to do
    /// (no directory, or the same files).
    pub fn reload(&self) -> Result<bool, PolicyError> {
        let Some(dir) = &self.dir else {
            return Ok(false);
        };
        if PolicyFiles::read_dir(dir)?.hash() == self.status().hash {
            return Ok(false);
        }
        let authz =
            Arc::new(proven(Some(dir), self.require_proofs)?.observed_by(self.metrics.clone()));
        *self.active.write().unwrap_or_else(|e| e.into_inner()) = Active {
            authz,
            loaded_at: self.clock.now(),
        };
        Ok(true)
    }

    /// `reload`, with the outcome logged: what SIGHUP and the watcher call.
    /// An operator's SIGHUP hears back even when nothing changed; a file
    /// event that changed nothing (a touch, a save of the same text) logs at
    /// debug only.
    pub fn reload_and_log(&self, cause: Reload) {
        let why = cause.as_str();
        match self.reload() {
            Ok(true) => {
                let s = self.status();
                tracing::info!(%why, source = %s.source, hash = %s.hash, "policies reloaded");
            }
            Ok(false) if cause == Reload::Signal => {
                tracing::info!(%why, "policies unchanged; nothing to reload")
            }
            Ok(false) => tracing::debug!(%why, "policies unchanged; nothing to reload"),
            Err(e) => tracing::error!(%why, "policy reload refused, keeping the running set:\n{e}"),
        }
    }

    /// Watches the policy directory (if any) and its `tests/`, reloading
    /// once changes have settled.
    pub fn watch(self: &Arc<Self>) -> Result<Option<Watcher>, String> {
        let Some(dir) = self.dir.clone() else {
            return Ok(None);
        };
        let (tx, rx) = mpsc::channel::<()>();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
            if res.is_ok_and(|e| is_change(&e.kind) && e.paths.iter().any(|p| is_policy_file(p))) {
                let _ = tx.send(());
            }
        })
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
        watcher
            .watch(&dir, RecursiveMode::Recursive)
            .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
        let me = Arc::clone(self);
        std::thread::spawn(move || {
            // Ends when the watcher (the only sender) is dropped.
            while rx.recv().is_ok() {
                loop {
                    match rx.recv_timeout(SETTLE) {
                        Ok(()) => continue,
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                me.reload_and_log(Reload::FileChanged);
            }
        });
        Ok(Some(watcher))
    }
}

/// Writes (and a writer closing its file), creations, removals and renames;
/// not reads (keyward's own reads of the files would otherwise trigger
/// reload after reload), nor metadata.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        _ => false,
    }
}

/// The schema, a policy, or a test case.
fn is_policy_file(p: &Path) -> bool {
    let ext = p.extension().and_then(|x| x.to_str());
    match ext {
        Some("cedar" | "cedarschema") => true,
        Some("toml") => p
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|d| d == "tests"),
        _ => false,
    }
}
