//! The `keyward` binary as a child process.

/// What a finished command printed: its stdout, then its stderr.
pub fn printed(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `keyward serve` as a child process.
pub struct ServerProcess {
    child: std::process::Child,
    /// What it printed before "keyward is serving".
    pub stdout_head: Vec<String>,
    /// Its GraphQL URL.
    pub url: String,
    /// Stopped and waited for (`stop`, `terminate`).
    finished: bool,
}

/// Starts `keyward serve` (debug logs) and reads its stdout up to the
/// "serving" line.
pub fn serve_binary(db: &str) -> ServerProcess {
    serve_binary_with(&["serve", "--db", db, "--listen", "127.0.0.1:0"])
}

/// Starts `keyward` with `args` (a `serve`; debug logs) and reads its stdout
/// up to the "serving" line.
pub fn serve_binary_with(args: &[&str]) -> ServerProcess {
    serve_binary_env(args, &[])
}

/// `keyward serve` on a new database in `dir`, on a free port, with `extra`
/// arguments and `RUST_LOG=log`.
pub fn serve_fresh(dir: &std::path::Path, extra: &[&str], log: &str) -> ServerProcess {
    let db = dir.join("keyward.db");
    let mut args = vec![
        "serve",
        "--db",
        db.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    serve_binary_env(&args, &[("RUST_LOG", log)])
}

/// `serve_binary_with`, with `env` added to its environment (which may
/// set its own `RUST_LOG`).
pub fn serve_binary_env(args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .env("RUST_LOG", "debug")
        .envs(env.iter().copied())
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout_head = Vec::new();
    let url = loop {
        let line = lines.next().expect("serve prints its address").unwrap();
        if let Some(rest) = line.strip_prefix("keyward is serving ") {
            break rest.to_owned();
        }
        stdout_head.push(line);
    };
    ServerProcess {
        child,
        stdout_head,
        url,
        finished: false,
    }
}

impl ServerProcess {
    /// The key printed on its `Bootstrap API key: ` line, if any.
    pub fn bootstrap_key(&self) -> Option<String> {
        self.stdout_head
            .iter()
            .find_map(|l| l.strip_prefix("Bootstrap API key: "))
            .map(str::to_owned)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills it; returns its logs.
    pub fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.finish().1
    }

    /// Asks it to stop gracefully (SIGTERM); returns how it exited and its logs.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        self.finish()
    }

    fn finish(&mut self) -> (std::process::ExitStatus, String) {
        self.finished = true;
        use std::io::Read;
        let mut logs = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut logs)
            .unwrap();
        (self.child.wait().unwrap(), logs)
    }
}

/// A test that fails (or forgets to stop it) leaves no server behind.
impl Drop for ServerProcess {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
