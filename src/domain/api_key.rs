//! The key format: `kwu_` (user) or `kws_` (service account), 30 base62
//! characters from the operating system's random source, then a 6-character
//! base62 CRC32 of everything before it. 40 characters in all, so secret
//! scanners can match `kw[us]_[0-9A-Za-z]{36}` and a mistyped key is refused
//! before the database is touched. Only the blake3 hash is ever stored.
use std::fmt;

use rand::RngExt;
use rand::distr::Alphanumeric;
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;

use super::model::AccountKind;

pub const KEY_LEN: usize = 40;
const PREFIX_LEN: usize = 4;
const RANDOM_LEN: usize = 30;
const CHECKSUM_LEN: usize = 6;

/// The regular expression published in the README for secret scanners.
pub const KEY_REGEX: &str = r"\bkw[us]_[0-9A-Za-z]{36}\b";

/// A well-formed key secret. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// The blake3 hash of a key: what the database stores and looks up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

/// Why a string is not a key. The messages never echo the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("the API key does not start with kwu_ or kws_")]
    Prefix,
    #[error("the API key must be {KEY_LEN} characters of [0-9A-Za-z] after its prefix")]
    Shape,
    #[error("the API key's checksum does not match (is it mistyped or truncated?)")]
    Checksum,
}

fn prefix_for(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::User => "kwu_",
        AccountKind::Service => "kws_",
    }
}

fn checksum(body: &str) -> String {
    let crc = crc32fast::hash(body.as_bytes());
    format!("{:0>width$}", base62::encode(crc), width = CHECKSUM_LEN)
}

impl Token {
    /// A fresh key for an account of `kind`.
    pub fn generate(kind: AccountKind) -> Self {
        let mut rng = UnwrapErr(SysRng);
        let random: String = (&mut rng)
            .sample_iter(Alphanumeric)
            .take(RANDOM_LEN)
            .map(char::from)
            .collect();
        let body = format!("{}{random}", prefix_for(kind));
        let sum = checksum(&body);
        Self(body + &sum)
    }

    /// Checks prefix, shape and checksum; no I/O.
    pub fn parse(raw: &str) -> Result<Self, KeyFormatError> {
        if !(raw.starts_with("kwu_") || raw.starts_with("kws_")) {
            return Err(KeyFormatError::Prefix);
        }
        if raw.len() != KEY_LEN || !raw[PREFIX_LEN..].bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(KeyFormatError::Shape);
        }
        let (body, sum) = raw.split_at(PREFIX_LEN + RANDOM_LEN);
        if checksum(body) != sum {
            return Err(KeyFormatError::Checksum);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash(*blake3::hash(self.0.as_bytes()).as_bytes())
    }

    /// The secret itself: only for the one response that reveals it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({}…)", &self.0[..PREFIX_LEN])
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHash(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_have_the_published_shape() {
        for kind in [AccountKind::User, AccountKind::Service] {
            let t = Token::generate(kind);
            assert_eq!(t.expose().len(), KEY_LEN);
            assert!(t.expose().starts_with(prefix_for(kind)));
            assert_eq!(Token::parse(t.expose()).unwrap(), t);
        }
    }

    #[test]
    fn keys_are_random() {
        let a = Token::generate(AccountKind::User);
        let b = Token::generate(AccountKind::User);
        assert_ne!(a, b);
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn every_single_character_typo_is_caught() {
        let key = Token::generate(AccountKind::Service);
        let s = key.expose();
        for i in PREFIX_LEN..KEY_LEN {
            let mut bytes = s.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert_eq!(
                Token::parse(&typo),
                Err(KeyFormatError::Checksum),
                "typo at {i}"
            );
        }
    }

    #[test]
    fn bad_prefix_and_shape_are_refused() {
        let key = Token::generate(AccountKind::User);
        assert_eq!(
            Token::parse(&key.expose().replacen("kwu_", "pnu_", 1)),
            Err(KeyFormatError::Prefix)
        );
        assert_eq!(
            Token::parse(&key.expose()[..39]),
            Err(KeyFormatError::Shape)
        );
        assert_eq!(
            Token::parse(&format!("{}!", &key.expose()[..39])),
            Err(KeyFormatError::Shape)
        );
        assert_eq!(Token::parse(""), Err(KeyFormatError::Prefix));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = Token::generate(AccountKind::User);
        let shown = format!("{key:?} {:?}", key.hash());
        assert!(!shown.contains(&key.expose()[PREFIX_LEN..]));
    }
}
