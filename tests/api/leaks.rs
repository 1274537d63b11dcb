//! `POST /leaks`: reports in GitHub's secret-scanning partner format,
//! signed with ECDSA P-256. A well-signed report revokes the live keys in
//! it at once and labels every token; a badly signed one is refused and
//! changes nothing. `keyward keys report-leak` is the operator's way in.
use std::sync::LazyLock;

use keyward::config::Config;
use keyward::leaks::SigningKey;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use serde_json::{Value, json};

use crate::helpers::{AUDIT, AUTH_INFO, REPORT_LEAKS, TestApp, printed, spawn_app, spawn_app_with};
use crate::snap;

/// A scanner's key pair for the whole test run, its public key in a PEM
/// file (and its private key, for the CLI).
pub struct Scanner {
    pub key: SigningKey,
    pub public_pem: std::path::PathBuf,
    pub private_pem: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub static SCANNER: LazyLock<Scanner> = LazyLock::new(|| {
    use base64::Engine as _;
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let key = SigningKey::from_pkcs8(pkcs8.as_ref()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let public_pem = dir.path().join("scanners.pem");
    std::fs::write(&public_pem, key.public_pem()).unwrap();
    let private_pem = dir.path().join("scanner-private.pem");
    let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
    std::fs::write(
        &private_pem,
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    Scanner {
        key,
        public_pem,
        private_pem,
        _dir: dir,
    }
});

/// The config change that makes a test server take the scanner's reports.
pub fn accepting_reports(c: &mut Config) {
    c.leak_report_keys = Some(SCANNER.public_pem.clone());
}

fn post_report(a: &TestApp, body: &str, key_id: &str, signature: &str) -> crate::helpers::Response {
    a.post(
        "/leaks",
        &[
            ("Github-Public-Key-Identifier", key_id),
            ("Github-Public-Key-Signature", signature),
        ],
        "application/json",
        body,
    )
}

fn report_body(tokens: &[&str]) -> String {
    let entries: Vec<Value> = tokens
        .iter()
        .map(|t| {
            json!({ "token": t, "type": "keyward_api_key",
                    "url": "https://github.com/octo/demo/blob/main/.env", "source": "content" })
        })
        .collect();
    Value::Array(entries).to_string()
}

/// Reports `token` leaked, signed by the test scanner; returns the labels.
pub fn report_signed(a: &TestApp, token: &str) -> Value {
    let body = report_body(&[token]);
    let sig = SCANNER.key.sign(body.as_bytes()).unwrap();
    let r = post_report(a, &body, &SCANNER.key.key_identifier(), &sig);
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

fn works(a: &TestApp, key: &str) -> (bool, String) {
    let body = a.gql(key, AUTH_INFO, json!({}));
    let message = body["errors"][0]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    (body.get("errors").is_none(), message)
}

#[test]
fn a_signed_report_revokes_the_key_and_labels_every_token() {
    let a = spawn_app_with(accepting_reports);
    let (key_id, leaked) = a.create_key(&a.admin_key, &a.admin_id, "pushed by mistake");
    let (_, bystander) = a.create_key(&a.admin_key, &a.admin_id, "innocent");
    assert!(works(&a, &leaked).0);
    // A valid shape with a bad checksum, a well-formed key that never
    // existed, and a string that is nothing like a key.
    let mut bad_sum = leaked.clone();
    let last = bad_sum.pop().unwrap();
    bad_sum.push(if last == 'A' { 'B' } else { 'A' });
    let never =
        keyward::domain::api_key::Token::generate(keyward::domain::model::AccountKind::User);
    let body = report_body(&[&leaked, &bad_sum, never.expose(), "hunter2"]);
    let sig = SCANNER.key.sign(body.as_bytes()).unwrap();
    let r = post_report(&a, &body, &SCANNER.key.key_identifier(), &sig);
    assert_eq!(r.status, 200, "{}", r.text);
    let labels: Vec<Value> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["label"].clone())
        .collect();
    assert_eq!(
        labels,
        [
            json!("true_positive"),
            json!("false_positive"),
            json!("false_positive"),
            json!("false_positive")
        ]
    );
    // The answer never echoes a secret: it names each token by its SHA-256.
    assert!(!r.text.contains(&leaked), "{}", r.text);
    let mut shown = r.json();
    for a in shown.as_array_mut().unwrap() {
        let hash = a["token_hash"].as_str().unwrap();
        assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
        a["token_hash"] = json!("[sha256 of the token]");
    }
    snap!("leak_report_answer", shown);
    // The very next request with the key fails, and says why.
    let (ok, message) = works(&a, &leaked);
    assert!(!ok);
    assert!(message.contains("reported leaked"), "{message}");
    assert!(works(&a, &bystander).0, "only the reported key goes");
    // The tenant's audit log has the revocation with the url and source.
    let log = a.ok(
        &a.admin_key,
        AUDIT,
        json!({ "where": { "action": { "_eq": "RevokeLeakedApiKey" } } }),
    );
    let e = &log["audit_event"][0];
    assert_eq!(e["resource_id"], json!(key_id));
    assert_eq!(e["outcome"], "allowed");
    assert_eq!(e["determining_policies"], json!(["revoke-reported-leaks"]));
    let details: Value = serde_json::from_str(e["details"].as_str().unwrap()).unwrap();
    assert_eq!(
        details["url"],
        "https://github.com/octo/demo/blob/main/.env"
    );
    assert_eq!(details["source"], "content");
    // Reported again: still ours (revoked before), nothing more to do.
    let again = report_signed(&a, &leaked);
    assert_eq!(again[0]["label"], "true_positive");
    let log = a.ok(
        &a.admin_key,
        AUDIT,
        json!({ "where": { "action": { "_eq": "RevokeLeakedApiKey" } } }),
    );
    assert_eq!(log["audit_event"].as_array().unwrap().len(), 1);
}

#[test]
fn a_badly_signed_report_is_refused_and_changes_nothing() {
    let a = spawn_app_with(accepting_reports);
    let (_, leaked) = a.create_key(&a.admin_key, &a.admin_id, "ci");
    let body = report_body(&[&leaked]);
    let good = SCANNER.key.sign(body.as_bytes()).unwrap();
    let other = SigningKey::from_pkcs8(
        EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &ring::rand::SystemRandom::new(),
        )
        .unwrap()
        .as_ref(),
    )
    .unwrap();
    let forged = other.sign(body.as_bytes()).unwrap();
    let id = SCANNER.key.key_identifier();
    let tampered = report_body(&[&leaked, "x"]);
    for (body, key_id, sig) in [
        (body.as_str(), id.as_str(), forged.as_str()),
        (
            body.as_str(),
            other.key_identifier().as_str(),
            forged.as_str(),
        ),
        (tampered.as_str(), id.as_str(), good.as_str()),
        (body.as_str(), id.as_str(), "not base64!"),
        (body.as_str(), id.as_str(), ""),
    ] {
        let r = post_report(&a, body, key_id, sig);
        assert_eq!(r.status, 401, "{}", r.text);
        assert!(r.json()["error"].as_str().unwrap().len() > 10);
    }
    // Without the headers at all.
    let r = a.post("/leaks", &[], "application/json", &body);
    assert_eq!(r.status, 401);
    assert!(works(&a, &leaked).0, "a refused report changes nothing");
    let log = a.ok(
        &a.admin_key,
        AUDIT,
        json!({ "where": { "action": { "_eq": "RevokeLeakedApiKey" } } }),
    );
    assert_eq!(log["audit_event"], json!([]));
    // A well-signed body that is not a report: 400, nothing changed.
    let junk = "{\"token\": 1}";
    let r = post_report(&a, junk, &id, &SCANNER.key.sign(junk.as_bytes()).unwrap());
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(works(&a, &leaked).0);
}

#[test]
fn without_scanner_keys_every_report_is_refused() {
    let a = spawn_app();
    let (_, leaked) = a.create_key(&a.admin_key, &a.admin_id, "ci");
    let body = report_body(&[&leaked]);
    let sig = SCANNER.key.sign(body.as_bytes()).unwrap();
    let r = post_report(&a, &body, &SCANNER.key.key_identifier(), &sig);
    assert_eq!(r.status, 401);
    assert!(r.text.contains("--leak-report-keys"), "{}", r.text);
    assert!(works(&a, &leaked).0);
}

#[test]
fn an_operator_policy_can_keep_keys_from_automatic_revocation() {
    let dir = crate::helpers::policy_dir_with(&[
        (
            "keep_robots.cedar",
            "@id(\"no-auto-revoke-service-keys\")\nforbid (principal is Keyward::LeakReporter, action == Keyward::Action::\"RevokeLeakedApiKey\", resource)\nwhen { resource.owner.kind == \"SERVICE\" };\n",
        ),
        // The shipped case says every reported key goes: no longer so.
        (
            "tests/keep_robots.toml",
            "retires = [\"a scanner's report revokes a key of any tenant\"]\n",
        ),
    ]);
    let path = dir.path().to_owned();
    let a = spawn_app_with(move |c| {
        accepting_reports(c);
        c.policies = Some(path);
    });
    let sa = a.service_account(&a.admin_key, "deployer");
    let (_, robot) = a.create_key(&a.admin_key, &sa, "deploy");
    let labels = report_signed(&a, &robot);
    assert_eq!(labels[0]["label"], "true_positive");
    assert!(works(&a, &robot).0, "the policy kept it");
    let log = a.ok(
        &a.admin_key,
        AUDIT,
        json!({ "where": { "action": { "_eq": "RevokeLeakedApiKey" } } }),
    );
    assert_eq!(log["audit_event"][0]["outcome"], "denied");
    assert_eq!(
        log["audit_event"][0]["determining_policies"],
        json!(["no-auto-revoke-service-keys"])
    );
}

#[test]
fn keys_report_leak_signs_and_sends_what_it_finds_in_a_file() {
    let a = spawn_app_with(accepting_reports);
    let (_, leaked) = a.create_key(&a.admin_key, &a.admin_id, "in a log");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("build.log");
    std::fs::write(
        &file,
        format!("step 3\nTOKEN={leaked} ./deploy\nkwu_notakey\n"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args([
            "keys",
            "report-leak",
            "--file",
            file.to_str().unwrap(),
            "--signing-key",
            SCANNER.private_pem.to_str().unwrap(),
            "--api",
            &format!("{}/graphql", a.url),
        ])
        .env_remove("KEYWARD_API_KEY")
        .output()
        .unwrap();
    let text = printed(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 key found"), "{text}");
    assert!(text.contains("true_positive"), "{text}");
    assert!(
        !text.contains(&leaked),
        "the CLI never prints the secret: {text}"
    );
    assert!(!works(&a, &leaked).0);
}

#[test]
fn a_key_reports_what_it_may_revoke_and_nothing_it_may_not_see() {
    let a = spawn_app();
    let (_, user_key) = a.member("u@example.com", keyward::domain::model::Role::User);
    let (my_id, mine) = {
        let me = a.ok(&user_key, AUTH_INFO, json!({}))["auth_info"]["user_id"]
            .as_str()
            .unwrap()
            .to_owned();
        a.create_key(&user_key, &me, "pasted")
    };
    let (_, admins) = a.create_key(&a.admin_key, &a.admin_id, "admin's");
    let (_, _, other_admin) = a.other_tenant("globex");
    let d = a.ok(
        &user_key,
        REPORT_LEAKS,
        json!({ "input": { "tokens": [mine, admins, other_admin, "kwu_nope"], "url": "https://paste.example/x" } }),
    );
    let results = d["report_leaked_api_keys"]["results"]
        .as_array()
        .unwrap()
        .clone();
    let seen: Vec<(Value, Value)> = results
        .iter()
        .map(|r| (r["label"].clone(), r["revoked"].clone()))
        .collect();
    // Its own key: revoked. The admin's and another tenant's: not its to
    // see, so as if they did not exist; both still work.
    assert_eq!(
        seen,
        [
            (json!("true_positive"), json!(true)),
            (json!("false_positive"), json!(false)),
            (json!("false_positive"), json!(false)),
            (json!("false_positive"), json!(false)),
        ]
    );
    assert!(!d.to_string().contains(&mine), "no secret comes back");
    assert!(!works(&a, &mine).0);
    assert!(works(&a, &admins).0 && works(&a, &other_admin).0);
    // The tenant's log has it, with the reporting key as the actor.
    let log = a.ok(
        &a.admin_key,
        AUDIT,
        json!({ "where": { "action": { "_eq": "RevokeLeakedApiKey" } } }),
    );
    let e = &log["audit_event"][0];
    assert_eq!(e["resource_id"], json!(my_id));
    assert_eq!(e["outcome"], "allowed");
    assert!(!e["actor_key_id"].is_null());
    // Too many at once is refused, and changes nothing.
    let many: Vec<String> = (0..101).map(|_| admins.clone()).collect();
    let r = a.gql(
        &a.admin_key,
        REPORT_LEAKS,
        json!({ "input": { "tokens": many } }),
    );
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{r}"
    );
    assert!(works(&a, &admins).0);
}

#[test]
fn keys_report_leak_with_an_api_key_needs_no_signing_key() {
    let a = spawn_app();
    let (_, leaked) = a.create_key(&a.admin_key, &a.admin_id, "in a log");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ci.log");
    std::fs::write(
        &file,
        format!("curl -H 'Authorization: Bearer {leaked}' …\n"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["keys", "report-leak", "--file", file.to_str().unwrap()])
        .args([
            "--key",
            &a.admin_key,
            "--api",
            &format!("{}/graphql", a.url),
        ])
        .output()
        .unwrap();
    let text = printed(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("1 key found") && text.contains("true_positive, revoked now"),
        "{text}"
    );
    assert!(!text.contains(&leaked), "{text}");
    assert!(!works(&a, &leaked).0);
    assert!(works(&a, &a.admin_key).0);
}
