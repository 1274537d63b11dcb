//! The shipped policies, embedded so a lone binary works with no files.
pub const SCHEMA_FILE: &str = "schema.cedarschema";
pub const SCHEMA: &str = include_str!("../../policies/schema.cedarschema");

pub const POLICIES: &[(&str, &str)] = &[
    (
        "tenant_isolation.cedar",
        include_str!("../../policies/tenant_isolation.cedar"),
    ),
    (
        "role_ceiling.cedar",
        include_str!("../../policies/role_ceiling.cedar"),
    ),
    (
        "self_service.cedar",
        include_str!("../../policies/self_service.cedar"),
    ),
    (
        "tenant_admin.cedar",
        include_str!("../../policies/tenant_admin.cedar"),
    ),
    (
        "server_admin.cedar",
        include_str!("../../policies/server_admin.cedar"),
    ),
    (
        "forward.cedar",
        include_str!("../../policies/forward.cedar"),
    ),
    ("leaks.cedar", include_str!("../../policies/leaks.cedar")),
];

/// The policy test cases, written to `tests/` beside the policies.
pub const TESTS: &[(&str, &str)] = &[
    (
        "defaults.toml",
        include_str!("../../policies/tests/defaults.toml"),
    ),
    (
        "invitations.toml",
        include_str!("../../policies/tests/invitations.toml"),
    ),
    (
        "isolation.toml",
        include_str!("../../policies/tests/isolation.toml"),
    ),
    (
        "leaks.toml",
        include_str!("../../policies/tests/leaks.toml"),
    ),
    (
        "minting.toml",
        include_str!("../../policies/tests/minting.toml"),
    ),
];

/// Writes the defaults and their test cases into `dir` (`keyward policy init
/// DIR`), refusing to overwrite an existing file.
pub fn write_to(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let tests = dir.join("tests");
    std::fs::create_dir_all(&tests)?;
    let files = std::iter::once((SCHEMA_FILE, SCHEMA))
        .chain(POLICIES.iter().copied())
        .map(|(n, t)| (dir.join(n), t))
        .chain(TESTS.iter().map(|(n, t)| (tests.join(n), *t)));
    let mut written = Vec::new();
    for (path, text) in files {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}
