//! The active policy set, swapped whole: on SIGHUP and when a file in the
//! policy directory changes. An invalid edit keeps the running set and logs
//! `file:line:col: reason`; requests never see a half-loaded set.
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

use super::{Authorizer, PolicyError, PolicyFiles};
use crate::clock::Clock;

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
}

pub struct Policies {
    dir: Option<PathBuf>,
    clock: Clock,
    active: RwLock<Active>,
}

/// Keeps the directory watcher alive; dropping it stops watching.
pub type Watcher = Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>;

impl Policies {
    /// Loads `dir`, or the embedded defaults when there is none; the set
    /// must pass its test cases.
    pub fn load(dir: Option<&Path>, clock: Clock) -> Result<Self, PolicyError> {
        let (authz, _) = Authorizer::vetted(dir)?;
        let active = Active {
            authz: Arc::new(authz),
            loaded_at: clock.now(),
        };
        Ok(Self {
            dir: dir.map(Path::to_path_buf),
            clock,
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
        let authz = Arc::new(Authorizer::vetted(Some(dir))?.0);
        *self.active.write().unwrap_or_else(|e| e.into_inner()) = Active {
            authz,
            loaded_at: self.clock.now(),
        };
        Ok(true)
    }

    /// `reload`, with the outcome logged: what SIGHUP and the watcher call.
    pub fn reload_and_log(&self, why: &str) {
        match self.reload() {
            Ok(true) => {
                let s = self.status();
                tracing::info!(%why, source = %s.source, hash = %s.hash, "policies reloaded");
            }
            Ok(false) => tracing::info!(%why, "policies unchanged; nothing to reload"),
            Err(e) => tracing::error!(%why, "policy reload refused, keeping the running set:\n{e}"),
        }
    }

    /// Watches the policy directory (if any), reloading after changes settle.
    pub fn watch(self: &Arc<Self>) -> Result<Option<Watcher>, String> {
        let Some(dir) = self.dir.clone() else {
            return Ok(None);
        };
        let me = Arc::clone(self);
        let mut debouncer = new_debouncer(
            Duration::from_millis(250),
            move |res: DebounceEventResult| {
                if res.is_ok_and(|events| events.iter().any(|e| is_policy_file(&e.path))) {
                    me.reload_and_log("a policy file changed");
                }
            },
        )
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
        debouncer
            .watcher()
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
        Ok(Some(debouncer))
    }
}

fn is_policy_file(p: &Path) -> bool {
    p.extension()
        .is_some_and(|x| x == "cedar" || x == "cedarschema")
}
