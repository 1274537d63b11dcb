//! Names that are checked once, where they enter, and trusted from then on.
use std::fmt;

use crate::error::AppError;

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// A value that was parsed on its way into the store, read back:
            /// trusted as it is.
            pub(crate) fn trusted(s: String) -> Self {
                Self(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_newtype!(
    /// A display name (key, service account, tenant): 1 to 100 characters after
    /// trimming, no control characters.
    DisplayName
);
text_newtype!(
    /// A tenant slug: 1 to 40 of `a-z`, `0-9` and `-`, not starting or ending with `-`.
    Slug
);
text_newtype!(
    /// An e-mail address, lower-cased; checked for shape only (one `@`, no spaces).
    Email
);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(what: &str, raw: &str) -> Result<Self, AppError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(AppError::Invalid(format!("{what} must not be empty")));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(AppError::Invalid(format!(
                "{what} must be at most {} characters",
                Self::MAX_CHARS
            )));
        }
        if s.chars().any(char::is_control) {
            return Err(AppError::Invalid(format!(
                "{what} must not contain control characters"
            )));
        }
        Ok(Self(s.to_owned()))
    }
}

impl DisplayName {
    /// A person's display name: their e-mail address (which may be longer
    /// than a chosen name may be).
    pub fn of_email(email: &Email) -> Self {
        Self(email.to_string())
    }
}

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let ok = (1..=40).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(AppError::Invalid(format!(
                "slug {raw:?} must be 1 to 40 characters of a-z, 0-9 and '-', not starting or ending with '-'"
            )))
        }
    }
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let s = raw.trim().to_lowercase();
        let ok = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(s.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if ok {
            Ok(Self(s))
        } else {
            Err(AppError::Invalid(format!(
                "{raw:?} is not an e-mail address"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("name", "  ci  ").unwrap().as_str(), "ci");
        assert!(DisplayName::parse("name", "   ").is_err());
        assert!(DisplayName::parse("name", &"x".repeat(101)).is_err());
        assert!(DisplayName::parse("name", "a\nb").is_err());
    }

    #[test]
    fn slugs_are_lowercase_url_safe() {
        assert!(Slug::parse("team-a1").is_ok());
        for bad in ["", "Team", "-a", "a-", "a b", "a_b", &"a".repeat(41)] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn emails_are_lowercased() {
        assert_eq!(
            Email::parse("Admin@Localhost").unwrap().as_str(),
            "admin@localhost"
        );
        for bad in ["", "a", "@b", "a@", "a b@c", "a@b@c"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
