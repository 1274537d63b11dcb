//! Where the client's key and server come from, most specific first:
//! a command-line flag, then the environment, then the config file
//! (`$KEYWARD_HOME/config.toml`, else `~/.keyward/config.toml`).
use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use toml::{Table, Value};

pub const DEFAULT_API: &str = "http://127.0.0.1:4200/graphql";

/// Environment variables that may hold a key, in order. The Prefect ones
/// make keyward a drop-in in existing agent environments.
pub const KEY_VARS: [&str; 3] = [
    "KEYWARD_API_KEY",
    "PREFECT__CLOUD__AGENT__AUTH_TOKEN",
    "PREFECT__CLOUD__API_KEY",
];
pub const API_VAR: &str = "KEYWARD_API";

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Flag(&'static str),
    Env(&'static str),
    File(PathBuf, &'static str),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "the {flag} flag"),
            Source::Env(var) => write!(f, "${var}"),
            Source::File(path, key) => write!(f, "{} ({key})", path.display()),
            Source::Default => f.write_str("the default"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Resolved {
    pub value: String,
    pub source: Source,
}

/// The client's config file, as TOML.
pub struct ConfigFile {
    pub path: PathBuf,
    table: Table,
}

/// `$KEYWARD_HOME/config.toml`, else `~/.keyward/config.toml`.
pub fn config_path(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    let home = env("KEYWARD_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::home_dir().unwrap_or_default().join(".keyward"));
    home.join("config.toml")
}

fn get<'a>(table: &'a Table, path: &[&str]) -> Option<&'a str> {
    let (last, parents) = path.split_last()?;
    let mut t = table;
    for p in parents {
        t = t.get(*p)?.as_table()?;
    }
    t.get(*last)?.as_str()
}

impl ConfigFile {
    /// Reads the file (a missing file is an empty one), warning on stderr
    /// when others may read it.
    pub fn load(path: PathBuf) -> Result<Self, String> {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        if let Ok(meta) = std::fs::metadata(&path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                eprintln!(
                    "warning: {} is readable by others (mode {mode:o}) and may hold a key; run: chmod 600 {}",
                    path.display(),
                    path.display()
                );
            }
        }
        let table = text
            .parse::<Table>()
            .map_err(|e| format!("{} is not valid TOML: {e}", path.display()))?;
        Ok(Self { path, table })
    }

    /// The key in the file: `[cloud] api_key`, else `[cloud.agent] auth_token`.
    pub fn key(&self) -> Option<Resolved> {
        [
            (&["cloud", "api_key"][..], "[cloud] api_key"),
            (
                &["cloud", "agent", "auth_token"][..],
                "[cloud.agent] auth_token",
            ),
        ]
        .into_iter()
        .find_map(|(path, label)| {
            get(&self.table, path).map(|v| Resolved {
                value: v.to_owned(),
                source: Source::File(self.path.clone(), label),
            })
        })
    }

    pub fn api(&self) -> Option<Resolved> {
        get(&self.table, &["cloud", "api"]).map(|v| Resolved {
            value: v.to_owned(),
            source: Source::File(self.path.clone(), "[cloud] api"),
        })
    }

    fn cloud(&mut self) -> &mut Table {
        let cloud = self
            .table
            .entry("cloud")
            .or_insert_with(|| Value::Table(Table::new()));
        if !cloud.is_table() {
            *cloud = Value::Table(Table::new());
        }
        #[allow(clippy::expect_used)] // invariant: made a table just above
        cloud.as_table_mut().expect("just made a table")
    }

    /// Stores `key` (and `api`, if given) as `[cloud] api_key` / `[cloud] api`.
    pub fn set_login(&mut self, key: &str, api: Option<&str>) {
        let cloud = self.cloud();
        cloud.insert("api_key".into(), Value::String(key.to_owned()));
        if let Some(api) = api {
            cloud.insert("api".into(), Value::String(api.to_owned()));
        }
    }

    /// Forgets every key the file holds; true if there was one.
    pub fn clear_keys(&mut self) -> bool {
        let cloud = self.cloud();
        let mut had = cloud.remove("api_key").is_some();
        if let Some(agent) = cloud.get_mut("agent").and_then(Value::as_table_mut) {
            had |= agent.remove("auth_token").is_some();
        }
        had
    }

    /// Writes the file with mode 0600 (its directory 0700), replacing it
    /// atomically.
    pub fn save(&self) -> Result<(), String> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let text = toml::to_string(&self.table).map_err(|e| e.to_string())?;
        let tmp = self.path.with_extension("toml.tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

/// The key: `--key`/`-k` (or `--token`/`-t`), then the environment, then the file.
pub fn resolve_key(
    flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    file: &ConfigFile,
) -> Option<Resolved> {
    if let Some(k) = flag {
        return Some(Resolved {
            value: k.to_owned(),
            source: Source::Flag("--key"),
        });
    }
    KEY_VARS
        .iter()
        .find_map(|var| {
            env(var).filter(|v| !v.is_empty()).map(|v| Resolved {
                value: v,
                source: Source::Env(var),
            })
        })
        .or_else(|| file.key())
}

/// The server: `--api`, then `$KEYWARD_API`, then `[cloud] api`, then the default.
pub fn resolve_api(
    flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    file: &ConfigFile,
) -> Resolved {
    if let Some(a) = flag {
        return Resolved {
            value: a.to_owned(),
            source: Source::Flag("--api"),
        };
    }
    env(API_VAR)
        .filter(|v| !v.is_empty())
        .map(|v| Resolved {
            value: v,
            source: Source::Env(API_VAR),
        })
        .or_else(|| file.api())
        .unwrap_or_else(|| Resolved {
            value: DEFAULT_API.to_owned(),
            source: Source::Default,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ConfigFile {
        ConfigFile {
            path: PathBuf::from("/c.toml"),
            table: text.parse().unwrap(),
        }
    }

    #[test]
    fn flag_beats_env_beats_file() {
        let f = file("[cloud]\napi_key = \"from-file\"\napi = \"http://file\"\n");
        let env = |v: &str| (v == "PREFECT__CLOUD__API_KEY").then(|| "from-env".to_owned());
        assert_eq!(
            resolve_key(Some("from-flag"), &env, &f).unwrap().value,
            "from-flag"
        );
        let r = resolve_key(None, &env, &f).unwrap();
        assert_eq!(
            (r.value.as_str(), r.source),
            ("from-env", Source::Env("PREFECT__CLOUD__API_KEY"))
        );
        let none = |_: &str| None;
        assert_eq!(resolve_key(None, &none, &f).unwrap().value, "from-file");
        assert_eq!(resolve_api(None, &none, &f).value, "http://file");
        assert_eq!(resolve_api(None, &none, &file("")).source, Source::Default);
    }

    #[test]
    fn the_seeds_agent_token_is_read_too() {
        let f = file("[cloud.agent]\nauth_token = \"agent\"\n");
        let r = resolve_key(None, &|_| None, &f).unwrap();
        assert_eq!(
            (r.value.as_str(), r.source.to_string().as_str()),
            ("agent", "/c.toml ([cloud.agent] auth_token)")
        );
    }

    #[test]
    fn keyward_api_key_beats_the_prefect_variables() {
        let env = |v: &str| Some(format!("{v}-value"));
        assert_eq!(
            resolve_key(None, &env, &file("")).unwrap().source,
            Source::Env("KEYWARD_API_KEY")
        );
    }
}
