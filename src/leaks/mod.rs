//! Leaked-key reports in GitHub's secret-scanning partner format: a JSON
//! array of `{token, type, url, source}`, signed with ECDSA P-256 / SHA-256
//! (`Github-Public-Key-Identifier`, `Github-Public-Key-Signature`: base64
//! DER) by a key the operator configured. Also the other side, for
//! `keyward keys report-leak`: finding keys in text and signing a report.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer};
use serde::{Deserialize, Serialize};

/// The DER that starts every P-256 SubjectPublicKeyInfo with an
/// uncompressed point: SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 },
/// BIT STRING (66 bytes) }. The 65-byte point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The most tokens one report may carry: each may cost a lookup.
pub const MAX_TOKENS: usize = 1000;
/// The most bytes a report may have.
pub const MAX_REPORT_BYTES: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {message}")]
    Bad { path: String, message: String },
}

/// One public key a scanner signs with.
struct ScannerKey {
    id: String,
    /// The uncompressed point.
    point: Vec<u8>,
}

/// The scanners' public keys (`--leak-report-keys`).
#[derive(Default)]
pub struct ScannerKeys(Vec<ScannerKey>);

/// GitHub's published form of its keys.
#[derive(Deserialize)]
struct Published {
    public_keys: Vec<PublishedKey>,
}

#[derive(Deserialize)]
struct PublishedKey {
    key_identifier: String,
    key: String,
}

/// A key's identifier when the file does not name it: the hex SHA-256 of
/// its DER SubjectPublicKeyInfo.
pub fn key_identifier(spki_der: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, spki_der).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn point_of(spki_der: &[u8]) -> Option<Vec<u8>> {
    let rest = spki_der.strip_prefix(&P256_SPKI_PREFIX[..])?;
    (rest.len() == 65 && rest[0] == 0x04).then(|| rest.to_vec())
}

impl ScannerKeys {
    /// Reads a PEM file of P-256 public keys (each named by `key_identifier`
    /// of its DER) or GitHub's JSON (each named as GitHub names it).
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let bad = |message: String| KeyFileError::Bad {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let keys = if text.trim_ascii_start().starts_with(b"{") {
            let published: Published = serde_json::from_slice(&text)
                .map_err(|e| bad(format!("not GitHub's public_keys JSON: {e}")))?;
            published
                .public_keys
                .iter()
                .map(|k| Self::parse_pem(k.key.as_bytes(), Some(&k.key_identifier)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(bad)?
                .into_iter()
                .flatten()
                .collect()
        } else {
            Self::parse_pem(&text, None).map_err(bad)?
        };
        if keys.is_empty() {
            return Err(bad("no PUBLIC KEY in it".into()));
        }
        Ok(Self(keys))
    }

    fn parse_pem(pem: &[u8], id: Option<&str>) -> Result<Vec<ScannerKey>, String> {
        SubjectPublicKeyInfoDer::pem_slice_iter(pem)
            .map(|spki| {
                let spki = spki.map_err(|e| format!("bad PEM: {e:?}"))?;
                let point = point_of(spki.as_ref())
                    .ok_or("only ECDSA P-256 public keys (prime256v1) are supported")?;
                Ok(ScannerKey {
                    id: id.map_or_else(|| key_identifier(spki.as_ref()), str::to_owned),
                    point,
                })
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks `signature` (base64 DER) over `body` with key `key_id`.
    pub fn verify(&self, key_id: &str, signature: &str, body: &[u8]) -> Result<(), String> {
        let key = self.0.iter().find(|k| k.id == key_id).ok_or_else(|| {
            // A stranger's text: its start is enough to say which.
            let shown: String = key_id.chars().take(64).collect();
            format!("no configured public key has the identifier {shown:?}")
        })?;
        let sig = STANDARD
            .decode(signature.trim())
            .map_err(|_| "the signature is not base64".to_owned())?;
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &key.point)
            .verify(body, &sig)
            .map_err(|_| "the signature does not match the report".to_owned())
    }
}

/// One reported secret.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Reported {
    pub token: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub source: String,
}

/// What keyward makes of one reported secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// A keyward key (now revoked, or revoked before).
    TruePositive,
    /// Not a keyward key: no such key, or not even the format.
    FalsePositive,
}

crate::domain::model::text_enum!(Label, "leak label", {
    Label::TruePositive => "true_positive",
    Label::FalsePositive => "false_positive",
});

impl Serialize for Label {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The answer for one secret: GitHub's `{token_hash, token_type, label}`,
/// the hash being the hex SHA-256 of the token (the secret itself is never
/// echoed).
#[derive(Debug, Serialize)]
pub struct Answer {
    pub token_hash: String,
    pub token_type: String,
    pub label: Label,
}

impl Answer {
    pub fn new(r: &Reported, label: Label) -> Self {
        Self {
            token_hash: hex(
                ring::digest::digest(&ring::digest::SHA256, r.token.as_bytes()).as_ref(),
            ),
            token_type: r.kind.clone(),
            label,
        }
    }
}

/// Parses a report body: an array of at most `MAX_TOKENS` entries.
pub fn parse_report(body: &[u8]) -> Result<Vec<Reported>, String> {
    let all: Vec<Reported> = serde_json::from_slice(body).map_err(|e| {
        format!("the report is not a JSON array of {{token, type, url, source}}: {e}")
    })?;
    if all.len() > MAX_TOKENS {
        return Err(format!(
            "a report carries at most {MAX_TOKENS} tokens, not {}",
            all.len()
        ));
    }
    Ok(all)
}

/// The keyward secrets in `text` (`kw[usi]_` and 36 base62 characters, on
/// word boundaries), each once, in order of appearance.
pub fn find_tokens(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found: Vec<String> = Vec::new();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while let Some(at) = text[i..].find("kw").map(|p| p + i) {
        i = at + 2;
        let end = at + crate::domain::api_key::KEY_LEN;
        let Some(candidate) = text.get(at..end) else {
            break;
        };
        let shaped = matches!(bytes.get(at + 2), Some(b'u' | b's' | b'i'))
            && bytes.get(at + 3) == Some(&b'_')
            && candidate[4..].bytes().all(|b| b.is_ascii_alphanumeric());
        let bounded =
            (at == 0 || !is_word(bytes[at - 1])) && bytes.get(end).is_none_or(|b| !is_word(*b));
        if shaped && bounded {
            if !found.iter().any(|t| t == candidate) {
                found.push(candidate.to_owned());
            }
            i = end;
        }
    }
    found
}

/// A scanner's signing key (`keyward keys report-leak --signing-key`): a
/// PKCS#8 PEM P-256 private key, as `openssl genpkey -algorithm EC -pkeyopt
/// ec_paramgen_curve:P-256` writes.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl SigningKey {
    pub fn load(path: &Path) -> Result<Self, String> {
        let der = PrivatePkcs8KeyDer::from_pem_file(path)
            .map_err(|e| format!("{}: not a PKCS#8 PEM private key: {e:?}", path.display()))?;
        Self::from_pkcs8(der.secret_pkcs8_der()).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Self, String> {
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
            .map_err(|e| format!("not an ECDSA P-256 key: {e}"))?;
        Ok(Self { pair, rng })
    }

    /// Its public key as DER SubjectPublicKeyInfo.
    pub fn public_spki(&self) -> Vec<u8> {
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.pair.public_key().as_ref());
        der
    }

    /// Its public key as PEM, for the server's `--leak-report-keys` file.
    pub fn public_pem(&self) -> String {
        let b64 = STANDARD.encode(self.public_spki());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    pub fn key_identifier(&self) -> String {
        key_identifier(&self.public_spki())
    }

    /// The base64 DER signature of `body`.
    pub fn sign(&self, body: &[u8]) -> Result<String, String> {
        let sig = self
            .pair
            .sign(&self.rng, body)
            .map_err(|_| "signing failed".to_owned())?;
        Ok(STANDARD.encode(sig.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> SigningKey {
        let rng = ring::rand::SystemRandom::new();
        let doc =
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        SigningKey::from_pkcs8(doc.as_ref()).unwrap()
    }

    #[test]
    fn a_signed_report_verifies_under_its_key_only() {
        let (a, b) = (pair(), pair());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys.pem");
        std::fs::write(&file, a.public_pem() + &b.public_pem()).unwrap();
        let keys = ScannerKeys::load(&file).unwrap();
        assert_eq!(keys.len(), 2);
        let body = br#"[{"token":"x","type":"keyward","url":"u","source":"content"}]"#;
        let sig = a.sign(body).unwrap();
        assert_eq!(keys.verify(&a.key_identifier(), &sig, body), Ok(()));
        assert!(keys.verify(&b.key_identifier(), &sig, body).is_err());
        assert!(keys.verify(&a.key_identifier(), &sig, b"[]").is_err());
        assert!(keys.verify("nope", &sig, body).is_err());
        assert!(keys.verify(&a.key_identifier(), "%%%", body).is_err());
    }

    #[test]
    fn githubs_json_names_its_keys() {
        let a = pair();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys.json");
        let json = serde_json::json!({ "public_keys": [
            { "key_identifier": "gh-1", "key": a.public_pem(), "is_current": true }
        ]});
        std::fs::write(&file, json.to_string()).unwrap();
        let keys = ScannerKeys::load(&file).unwrap();
        let sig = a.sign(b"[]").unwrap();
        assert_eq!(keys.verify("gh-1", &sig, b"[]"), Ok(()));
    }

    #[test]
    fn key_files_that_hold_no_usable_key_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k");
        std::fs::write(&file, "hello").unwrap();
        assert!(ScannerKeys::load(&file).is_err());
        // An Ed25519 key is not P-256.
        std::fs::write(&file, "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n").unwrap();
        assert!(ScannerKeys::load(&file).is_err());
    }

    #[test]
    fn tokens_are_found_on_word_boundaries() {
        let k = "kwu_".to_owned() + &"A".repeat(36);
        let s = "kws_".to_owned() + &"b1".repeat(18);
        let text = format!("export KEY={k}\n\"{s}\" x{k} {k}y {k}");
        assert_eq!(find_tokens(&text), vec![k.clone(), s]);
        assert!(find_tokens("kwx_aaaa kwu_short").is_empty());
    }
}
