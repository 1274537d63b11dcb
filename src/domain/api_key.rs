//! The secret format: `kwu_` (user key), `kws_` (service-account key) or
//! `kwi_` (membership invitation), 30 base62 characters from the operating
//! system's random source, then a 6-character base62 CRC32 of everything
//! before it. 40 characters in all, so secret scanners can match
//! `kw[usi]_[0-9A-Za-z]{36}` and a mistyped secret is refused before the
//! database is touched. Only the blake3 hash is ever stored.
use std::fmt;

use rand::Rng;
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;

use super::model::AccountKind;

pub const KEY_LEN: usize = 40;
const PREFIX_LEN: usize = 4;
const RANDOM_LEN: usize = 30;
const CHECKSUM_LEN: usize = 6;

/// The regular expression published in docs/keys.md for secret scanners.
pub const KEY_REGEX: &str = r"\bkw[usi]_[0-9A-Za-z]{36}\b";

/// What a secret is for, told by its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    UserKey,
    ServiceKey,
    Invitation,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::UserKey => "kwu_",
            TokenKind::ServiceKey => "kws_",
            TokenKind::Invitation => "kwi_",
        }
    }

    /// The kind of API key an account of `kind` holds.
    pub fn key_for(kind: AccountKind) -> Self {
        match kind {
            AccountKind::User => TokenKind::UserKey,
            AccountKind::Service => TokenKind::ServiceKey,
        }
    }

    const ALL: [TokenKind; 3] = [
        TokenKind::UserKey,
        TokenKind::ServiceKey,
        TokenKind::Invitation,
    ];
}

/// A well-formed key secret and what it is for (known from its prefix).
/// Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    text: String,
    kind: TokenKind,
}

/// The blake3 hash of a key: what the database stores and looks up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Why a string is not a key. The messages never echo the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("it does not start with kwu_ or kws_ (API keys) or kwi_ (invitations)")]
    Prefix,
    #[error("it must be {KEY_LEN} characters in all: its 4-character prefix, then {} of [0-9A-Za-z]", KEY_LEN - PREFIX_LEN)]
    Shape,
    #[error("its checksum does not match (is it mistyped or truncated?)")]
    Checksum,
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` base62 characters from the operating system's random source: one
/// read of 64 bytes per key (not one per character), each byte kept only if
/// below 248 = 4 x 62, so every character is equally likely.
pub(crate) fn random_base62(n: usize) -> String {
    let mut rng = UnwrapErr(SysRng);
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        rng.fill_bytes(&mut buf);
        for b in buf.iter().filter(|b| **b < 248).take(n - out.len()) {
            out.push(char::from(BASE62[usize::from(*b % 62)]));
        }
    }
    out
}

fn checksum(body: &str) -> String {
    let crc = crc32fast::hash(body.as_bytes());
    format!("{:0>width$}", base62::encode(crc), width = CHECKSUM_LEN)
}

impl Token {
    /// A fresh API key for an account of `kind`.
    pub fn generate(kind: AccountKind) -> Self {
        Self::generate_kind(TokenKind::key_for(kind))
    }

    /// A fresh membership-invitation token.
    pub fn invitation() -> Self {
        Self::generate_kind(TokenKind::Invitation)
    }

    fn generate_kind(kind: TokenKind) -> Self {
        let body = format!("{}{}", kind.prefix(), random_base62(RANDOM_LEN));
        let sum = checksum(&body);
        Self {
            text: body + &sum,
            kind,
        }
    }

    /// Checks prefix, shape and checksum; no I/O.
    pub fn parse(raw: &str) -> Result<Self, KeyFormatError> {
        let kind = *TokenKind::ALL
            .iter()
            .find(|k| raw.starts_with(k.prefix()))
            .ok_or(KeyFormatError::Prefix)?;
        if raw.len() != KEY_LEN || !raw[PREFIX_LEN..].bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(KeyFormatError::Shape);
        }
        let (body, sum) = raw.split_at(PREFIX_LEN + RANDOM_LEN);
        if checksum(body) != sum {
            return Err(KeyFormatError::Checksum);
        }
        Ok(Self {
            text: raw.to_owned(),
            kind,
        })
    }

    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash(*blake3::hash(self.text.as_bytes()).as_bytes())
    }

    /// The secret itself: only for the one response that reveals it.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({}…)", &self.text[..PREFIX_LEN])
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
            assert!(t.expose().starts_with(TokenKind::key_for(kind).prefix()));
            assert_eq!(t.kind(), TokenKind::key_for(kind));
            assert_eq!(Token::parse(t.expose()).unwrap(), t);
        }
    }

    #[test]
    fn invitation_tokens_have_their_own_prefix() {
        let t = Token::invitation();
        assert!(t.expose().starts_with("kwi_"));
        assert_eq!(
            Token::parse(t.expose()).unwrap().kind(),
            TokenKind::Invitation
        );
    }

    #[test]
    fn the_readme_publishes_the_regex() {
        assert!(include_str!("../../docs/keys.md").contains(KEY_REGEX));
    }

    #[test]
    fn random_characters_cover_the_alphabet_evenly() {
        let s = random_base62(62 * 1000);
        let mut counts = [0u32; 62];
        for b in s.bytes() {
            counts[BASE62.iter().position(|c| *c == b).unwrap()] += 1;
        }
        // Each count is Binomial(62000, 1/62): mean 1000, sd ~31.4; 6 sd apart.
        assert!(
            counts.iter().all(|c| (811..=1189).contains(c)),
            "{counts:?}"
        );
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
