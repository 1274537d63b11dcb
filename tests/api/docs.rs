//! The README and the guides in `docs/` as tests: their console examples
//! run against a real server and print what the text says, their links
//! resolve, they name only flags, make targets and GraphQL fields that
//! exist, and the code map matches the tree.
//!
//! A small harness of our own rather than `trycmd`: the examples need a
//! live server, a key it printed, and state carried from one command to the
//! next (a shell variable, a file), which trycmd's one-process-per-case
//! model does not give.
//!
//! How a ```` ```console ```` block runs: each `$ ` line (with `\`
//! continuations) is one bash command, in one session per file (every
//! variable and function it sets is kept for the next command; its working
//! directory is a fresh one). The lines after it are what it prints (stdout, then
//! stderr; logs below WARN are not shown): each is matched in order, `…`
//! standing for any text and a line that is only `…` for any number of
//! lines; no lines means it prints nothing; `[exit N]` as the last line
//! means it exits with N (otherwise 0). The CLI is sent to the test
//! server (`KEYWARD_API`); the guides' fixed ports 8080 and 9000 become
//! free ones, in the commands, the output and a copy of `examples/` and
//! `policies/` the
//! session runs beside (the guides run from the repository's top). Before
//! it runs, `127.0.0.1:4200`
//! becomes the test server's address and, in commands, `kwu_…` its
//! bootstrap key: the
//! file's first `$ make run` is that server, started by the harness
//! (`keyward serve --db keyward.db`), its lines matched like any output;
//! a file without one gets that server before its first command.
//! A block whose info string says `no-run: <why>` is not run, and says why;
//! any other shell block (`sh`, `bash`) fails the test.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// README.md and every guide.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![Path::new(ROOT).join("README.md")];
    let mut guides: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    guides.sort();
    docs.extend(guides);
    docs
}

fn relative(p: &Path) -> String {
    p.strip_prefix(ROOT).unwrap().display().to_string()
}

/// A fenced block: its info string, its lines, the line it starts on.
struct Block {
    info: String,
    lines: Vec<String>,
    at: usize,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (n, line) in text.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_owned(),
                    lines: vec![],
                    at: n + 1,
                })
            }
            (Some(_), Some("")) => out.push(open.take().unwrap()),
            (Some(b), _) => b.lines.push(line.to_owned()),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    out
}

/// One command of a console block and what it prints.
struct Step {
    command: String,
    expected: Vec<String>,
    exit: i32,
}

fn steps(block: &Block) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continued = false;
    for line in &block.lines {
        if continued {
            let s = steps.last_mut().unwrap();
            s.command.push('\n');
            s.command.push_str(line);
            continued = line.ends_with('\\');
        } else if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: cmd.to_owned(),
                expected: vec![],
                exit: 0,
            });
            continued = cmd.ends_with('\\');
        } else if let Some(s) = steps.last_mut() {
            match line
                .strip_prefix("[exit ")
                .and_then(|r| r.strip_suffix(']'))
            {
                Some(code) => s.exit = code.parse().unwrap(),
                None => s.expected.push(line.to_owned()),
            }
        } else {
            panic!(
                "line {} of a console block is not a command: {line:?}",
                block.at
            );
        }
    }
    steps
}

/// Whether `line` matches `pattern`, where `…` stands for any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    let (first, rest) = (parts[0], &parts[1..]);
    let Some(mut tail) = line.strip_prefix(first) else {
        return false;
    };
    for (i, part) in rest.iter().enumerate() {
        let last = i == rest.len() - 1;
        if last {
            return tail.ends_with(part);
        }
        match tail.find(part) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.is_empty()
}

/// Whether the printed `lines` match the `expected` ones (`…` alone: any
/// number of lines).
fn output_matches(expected: &[String], lines: &[&str]) -> bool {
    match expected.split_first() {
        None => lines.is_empty(),
        Some((p, rest)) if p == "…" => {
            (0..=lines.len()).any(|skip| output_matches(rest, &lines[skip..]))
        }
        Some((p, rest)) => lines
            .split_first()
            .is_some_and(|(l, more)| line_matches(p, l) && output_matches(rest, more)),
    }
}

/// One guide's shell session and its server.
struct Session {
    dir: tempfile::TempDir,
    state: PathBuf,
    server: Option<crate::helpers::ServerProcess>,
    addr: String,
    key: String,
    /// The guides' fixed ports (a proxy's 8080, a service's 9000), and
    /// the free ones used for them here.
    ports: Vec<(&'static str, String)>,
}

/// A port nothing listens on now.
fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string()
}

/// `text` with each whole-number `from` (not part of a longer number)
/// made `to`.
fn swap_number(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = out.chars().last().or(rest[..at].chars().last());
        let before = rest[..at].chars().last().or(before);
        let after = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
        out.push_str(if digit(before) || digit(after) {
            from
        } else {
            to
        });
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

impl Session {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".session");
        let bin = Path::new(env!("CARGO_BIN_EXE_keyward")).parent().unwrap();
        let home = dir.path().join(".keyward");
        std::fs::write(
            &state,
            format!(
                "export PATH={}:\"$PATH\"\nexport KEYWARD_HOME={}\nexport RUST_LOG=warn\nunset KEYWARD_API_KEY KEYWARD_API\n",
                bin.display(),
                home.display()
            ),
        )
        .unwrap();
        Self {
            dir,
            state,
            server: None,
            addr: String::new(),
            key: String::new(),
            ports: vec![("8080", free_port()), ("9000", free_port())],
        }
    }

    /// The text with the guide's address and key made this session's.
    fn ours(&self, text: &str) -> String {
        let mut t = self.at_ours(text);
        if !self.key.is_empty() {
            t = t.replace("kwu_…", &self.key);
        }
        t
    }

    /// What a guide says was printed, at this session's address (a key
    /// printed stays `kwu_…`, any key).
    fn at_ours(&self, text: &str) -> String {
        let mut t = text.to_owned();
        if !self.addr.is_empty() {
            t = t.replace("127.0.0.1:4200", &self.addr);
        }
        for (from, to) in &self.ports {
            t = swap_number(&t, from, to);
        }
        t
    }

    /// A folder of the repository (`examples/`, `policies/`) in the
    /// session's (the guides run from the repository's top), with the
    /// session's addresses.
    fn copy_examples(&self, from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let p = entry.unwrap().path();
            let target = to.join(p.file_name().unwrap());
            if p.is_dir() {
                self.copy_examples(&p, &target);
            } else if let Ok(text) = std::fs::read_to_string(&p) {
                std::fs::write(target, self.at_ours(&text)).unwrap();
            }
        }
    }

    /// `make run`: the server the guide's other commands talk to.
    fn serve(&mut self) -> Vec<String> {
        let server = crate::helpers::serve_fresh(self.dir.path(), &[], "warn");
        self.addr = server
            .url
            .trim_start_matches("http://")
            .trim_end_matches("/graphql")
            .to_owned();
        self.key = server.bootstrap_key().unwrap();
        // The CLI's default server is 127.0.0.1:4200: this one is elsewhere.
        let mut state = std::fs::read_to_string(&self.state).unwrap();
        state.push_str(&format!("export KEYWARD_API={}\n", server.url));
        std::fs::write(&self.state, state).unwrap();
        for folder in ["examples", "policies"] {
            self.copy_examples(&Path::new(ROOT).join(folder), &self.dir.path().join(folder));
        }
        let mut printed = server.stdout_head.clone();
        printed.push(format!("keyward is serving {}", server.url));
        self.server = Some(server);
        printed
    }

    /// Runs `command` in the session; what it printed and its exit code.
    fn run(&mut self, command: &str) -> (String, i32) {
        let script = format!(
            "set -a\n. {state}\ncd {dir}\n{command}\nrc=$?\n{{ export -p; declare -f; }} > {state}\nexit $rc\n",
            state = self.state.display(),
            dir = self.dir.path().display(),
        );
        // Into files, not pipes: a daemon a guide starts (nginx) keeps its
        // stderr open long after the command returns.
        let (out, err) = (self.dir.path().join(".out"), self.dir.path().join(".err"));
        let status = std::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(self.dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&std::fs::read(&out).unwrap()),
            String::from_utf8_lossy(&std::fs::read(&err).unwrap())
        );
        (printed, status.code().unwrap_or(-1))
    }
}

/// Every console example of the README and the guides, run as written.
#[test]
fn every_console_example_in_the_docs_runs_as_written() {
    let (mut run, mut exempt, mut other) = (0, Vec::new(), 0);
    let mut failures = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let mut session = Session::new();
        for block in blocks(&text) {
            let kind = block.info.split_whitespace().next().unwrap_or_default();
            let shell = matches!(kind, "console" | "sh" | "bash" | "shell");
            if let Some(why) = block.info.split_once("no-run:").map(|(_, w)| w.trim()) {
                assert!(!why.is_empty(), "{}:{}: say why", relative(&doc), block.at);
                exempt.push(format!("{}:{}: {why}", relative(&doc), block.at));
                continue;
            }
            if !shell {
                other += 1;
                continue;
            }
            if kind != "console" {
                failures.push(format!(
                    "{}:{}: a ```{kind} block: make it a ```console example (run here) or say `no-run: <why>`",
                    relative(&doc),
                    block.at
                ));
                continue;
            }
            run += 1;
            for step in steps(&block) {
                let (printed, code) = if step.command == "make run" && session.server.is_none() {
                    (session.serve().join("\n"), 0)
                } else {
                    // A guide that says nothing of starting one talks to
                    // the server `make run` started.
                    if session.server.is_none() {
                        session.serve();
                    }
                    let command = session.ours(&step.command);
                    session.run(&command)
                };
                let expected: Vec<String> =
                    step.expected.iter().map(|l| session.at_ours(l)).collect();
                let lines: Vec<&str> = printed.lines().collect();
                if code != step.exit || !output_matches(&expected, &lines) {
                    failures.push(format!(
                        "{}:{}: $ {}\nexpected (exit {}):\n{}\nprinted (exit {code}):\n{printed}",
                        relative(&doc),
                        block.at,
                        step.command,
                        step.exit,
                        expected.join("\n"),
                    ));
                }
            }
        }
    }
    eprintln!(
        "docs: {run} console blocks run, {} exempt, {other} other blocks (text, JSON, Cedar, nginx: names checked, not run)",
        exempt.len()
    );
    for e in &exempt {
        eprintln!("  exempt: {e}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(run >= 2, "the docs' console examples were not found");
}

/// A heading's anchor as GitHub makes it.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            ' ' => Some('-'),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut fence = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fence = !fence;
        }
        if !fence && line.starts_with('#') {
            out.insert(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of `[text](target)` links outside code.
fn links(text: &str) -> Vec<String> {
    let mut fence = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fence = !fence;
        }
        if fence {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            if let Some(end) = rest.find(')') {
                out.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    out
}

/// Every relative link of the README and the guides names a file that
/// exists, and a heading that exists in it.
#[test]
fn links_between_the_guides_and_to_the_code_resolve() {
    let mut dead = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = if path.is_empty() {
                doc.clone()
            } else {
                doc.parent().unwrap().join(path)
            };
            if !target.exists() {
                dead.push(format!("{}: {link} (no such file)", relative(&doc)));
                continue;
            }
            if !anchor.is_empty() {
                let text = std::fs::read_to_string(&target).unwrap_or_default();
                if !anchors(&text).contains(anchor) {
                    dead.push(format!("{}: {link} (no such heading)", relative(&doc)));
                }
            }
        }
    }
    assert!(dead.is_empty(), "dead links:\n{}", dead.join("\n"));
    assert!(checked > 20, "only {checked} links found");
}

/// The make targets the Makefile has.
fn make_targets() -> BTreeSet<String> {
    std::fs::read_to_string(Path::new(ROOT).join("Makefile"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(':').map(|(t, _)| t))
        .filter(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        .map(str::to_owned)
        .collect()
}

/// `keyward <words> --help`, or `None` if those words are no command.
fn help(words: &[&str]) -> Option<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(words)
        .arg("--help")
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The flags `keyward` and its commands take, at every depth.
fn every_flag(words: &mut Vec<String>, flags: &mut BTreeSet<String>) {
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    let Some(text) = help(&args) else {
        return;
    };
    for w in text.split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[' || c == ']')
    {
        if let Some(f) = w.strip_prefix("--")
            && !f.is_empty()
            && f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            flags.insert(format!("--{f}"));
        }
    }
    let mut in_commands = false;
    let subcommands: Vec<String> = text
        .lines()
        .filter_map(|l| {
            if l.starts_with("Commands:") {
                in_commands = true;
                return None;
            }
            if in_commands && !l.starts_with("  ") {
                in_commands = false;
            }
            let name = l.split_whitespace().next()?;
            (in_commands && name != "help").then(|| name.to_owned())
        })
        .collect();
    for sub in subcommands {
        words.push(sub);
        every_flag(words, flags);
        words.pop();
    }
}

/// `keyward` commands in the guides' code (each with the flags it is
/// given), and the `--flags`, `make` targets and snake_case names in
/// backticks of their prose.
struct Named {
    commands: Vec<(String, Vec<String>, Vec<String>)>,
    prose_flags: Vec<(String, String)>,
    targets: Vec<(String, String)>,
    names: Vec<(String, String)>,
}

fn named() -> Named {
    let mut n = Named {
        commands: vec![],
        prose_flags: vec![],
        targets: vec![],
        names: vec![],
    };
    for doc in documents() {
        let file = relative(&doc);
        let text = std::fs::read_to_string(&doc).unwrap();
        for block in blocks(&text) {
            for line in &block.lines {
                let line = line.trim_start_matches("$ ");
                for part in line.split(['|', ';', '(', '`']) {
                    let words: Vec<&str> = part.split_whitespace().collect();
                    if let Some(at) = words
                        .iter()
                        .position(|w| *w == "keyward" || w.ends_with("/keyward"))
                    {
                        let rest = &words[at + 1..];
                        let path: Vec<String> = rest
                            .iter()
                            .take_while(|w| {
                                w.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                                    && !w.starts_with('-')
                            })
                            .map(|w| w.to_string())
                            .collect();
                        let flags = rest
                            .iter()
                            .take_while(|w| !w.starts_with('#'))
                            .filter(|w| w.starts_with("--") && w.len() > 2)
                            .map(|w| w.split('=').next().unwrap().to_owned())
                            .collect();
                        n.commands.push((file.clone(), path, flags));
                    }
                    if let Some(at) = words.iter().position(|w| *w == "make")
                        && let Some(t) = words.get(at + 1).filter(|t| !t.contains('='))
                    {
                        n.targets.push((file.clone(), t.to_string()));
                    }
                }
            }
        }
        let mut fence = false;
        for line in text.lines() {
            if line.starts_with("```") {
                fence = !fence;
            }
            if fence {
                continue;
            }
            for (i, code) in line.split('`').enumerate() {
                if i % 2 == 0 {
                    continue;
                }
                let first = code.split_whitespace().next().unwrap_or_default();
                if first.starts_with("--") && !code.contains(' ') {
                    n.prose_flags
                        .push((file.clone(), first.split('=').next().unwrap().to_owned()));
                }
                if first == "make"
                    && let Some(t) = code.split_whitespace().nth(1).filter(|t| !t.contains('='))
                {
                    n.targets.push((file.clone(), t.to_owned()));
                }
                if code.contains('_')
                    && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    && !code.starts_with('_')
                {
                    n.names.push((file.clone(), code.to_owned()));
                }
            }
        }
    }
    n
}

/// All the text a snake_case name may come from: the GraphQL schema, the
/// Cedar schema and policies, and the code.
fn known_text() -> String {
    let mut text = String::new();
    let mut stack = vec![
        Path::new(ROOT).join("schema.graphql"),
        Path::new(ROOT).join("policies"),
        Path::new(ROOT).join("src"),
        Path::new(ROOT).join("examples"),
    ];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if let Ok(t) = std::fs::read_to_string(&p) {
            text.push_str(&t);
        }
    }
    text
}

/// The guides name only what exists: every `keyward` command in their
/// code is a command and takes the flags it is given, every `--flag` in
/// their prose is one of keyward's, every `make` target is the
/// Makefile's, and every snake_case name in backticks (a GraphQL field or
/// input, a Cedar attribute, a table) is in the schema or the code.
#[test]
fn the_guides_name_only_commands_flags_targets_and_fields_that_exist() {
    let n = named();
    let mut wrong = Vec::new();
    let mut flags = BTreeSet::new();
    every_flag(&mut vec![], &mut flags);
    assert!(
        flags.contains("--db") && flags.contains("--expires-in"),
        "{flags:?}"
    );
    for (file, path, given) in &n.commands {
        // The longest prefix of the words that is a command.
        let mut words: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = loop {
            if let Some(t) = help(&words) {
                break t;
            }
            words.pop();
        };
        for f in given {
            if !text.contains(f.as_str()) {
                wrong.push(format!(
                    "{file}: `keyward {}` takes no {f}",
                    words.join(" ")
                ));
            }
        }
    }
    for (file, f) in &n.prose_flags {
        if !flags.contains(f) {
            wrong.push(format!("{file}: keyward has no flag {f}"));
        }
    }
    let targets = make_targets();
    for (file, t) in &n.targets {
        if !targets.contains(t) {
            wrong.push(format!("{file}: the Makefile has no target {t}"));
        }
    }
    let known = known_text();
    for (file, name) in &n.names {
        // Prometheus counters gain `_total` on the wire; PostgreSQL's own
        // functions are PostgreSQL's.
        let bare = name.strip_suffix("_total").unwrap_or(name);
        if !known.contains(bare) && !name.starts_with("pg_") {
            wrong.push(format!(
                "{file}: `{name}` is named nowhere in the schema or the code"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        n.commands.len() > 20 && n.names.len() > 50,
        "{} commands, {} names",
        n.commands.len(),
        n.names.len()
    );
}

/// docs/architecture.md names every folder of `src/`, and every folder it
/// names exists.
#[test]
fn the_code_map_matches_the_tree() {
    let map = std::fs::read_to_string(Path::new(ROOT).join("docs/architecture.md")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(Path::new(ROOT).join("src")).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            let name = format!("src/{}/", p.file_name().unwrap().to_str().unwrap());
            if !map.contains(&name) {
                missing.push(format!("the map does not name {name}"));
            }
        }
    }
    for (i, code) in map.split('`').enumerate() {
        if i % 2 == 1
            && (code.starts_with("src/")
                || code.starts_with("tests/")
                || code.starts_with("policies/")
                || code.starts_with("docs/"))
            && !code.contains(' ')
            && !code.contains('*')
            && !code.contains('<')
        {
            let path = code.split("::").next().unwrap();
            if !Path::new(ROOT).join(path).exists() {
                missing.push(format!("the map names {code}, which does not exist"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// The root fields of `type_` (Query, Mutation) in schema.graphql.
fn root_fields(schema: &str, type_: &str) -> BTreeSet<String> {
    let start = schema
        .find(&format!("type {type_} {{"))
        .expect("the type is in the schema");
    let body = &schema[start..];
    let body = &body[..body.find("\n}").unwrap()];
    // A field is a line `  name(…` or `  name: …` (descriptions stand on
    // lines of their own).
    body.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("  ")?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let after = &rest[name.len()..];
            (!name.is_empty() && (after.starts_with('(') || after.starts_with(':'))).then_some(name)
        })
        .collect()
}

/// docs/api.md's table of operations is the schema's: a row for every
/// query and mutation, none for anything else, and every name a row
/// gives (arguments, input fields, selections) in schema.graphql.
#[test]
fn the_api_reference_matches_the_schema() {
    let schema = std::fs::read_to_string(Path::new(ROOT).join("schema.graphql")).unwrap();
    let mut roots = root_fields(&schema, "Query");
    roots.extend(root_fields(&schema, "Mutation"));
    assert!(roots.len() > 20, "{roots:?}");
    let api = std::fs::read_to_string(Path::new(ROOT).join("docs/api.md")).unwrap();
    let words: BTreeSet<&str> = schema
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    let mut rows = BTreeSet::new();
    let mut wrong = Vec::new();
    for line in api.lines().filter(|l| l.starts_with("| `")) {
        let code = line.split('`').nth(1).unwrap();
        let name: String = code
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !roots.contains(&name) {
            wrong.push(format!("a row for {name}, which is no query or mutation"));
        }
        rows.insert(name);
        for word in code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !word.is_empty() && !words.contains(word) {
                wrong.push(format!("{code}: {word} is not in the schema"));
            }
        }
    }
    for missing in roots.difference(&rows) {
        wrong.push(format!("no row for {missing}"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
