//! The one source of "now". Logic takes its time from a `Clock` handed in at
//! start-up, never from `Utc::now()`, so tests can freeze and move time.
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The server clock.
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// A clock that stands still until `advance` moves it (for tests).
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self {
            fixed: Some(Arc::new(Mutex::new(at))),
        }
    }

    #[allow(clippy::disallowed_methods)] // the single sanctioned call
    pub fn now(&self) -> DateTime<Utc> {
        match &self.fixed {
            Some(at) => *at.lock().unwrap_or_else(|e| e.into_inner()),
            None => Utc::now(),
        }
    }

    /// Moves a fixed clock forward; a no-op on the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(at) = &self.fixed {
            let mut at = at.lock().unwrap_or_else(|e| e.into_inner());
            *at += by;
        }
    }
}
