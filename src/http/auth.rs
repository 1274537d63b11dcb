//! The only code that knows the credential headers: `Authorization: Bearer
//! <key>` and Prefect's `X-Prefect-Tenant-Id`. Parsing happens on the async
//! side with no I/O; `authenticate` runs on the request's blocking hop.
use actix_web::HttpRequest;
use actix_web::http::header::{AUTHORIZATION, AsHeaderName, HeaderValue};
use chrono::{DateTime, Utc};

use crate::domain::api_key::{KeyFormatError, Token, TokenKind};
use crate::domain::ids::TenantId;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::verify::Verifier;

pub const TENANT_HEADER: &str = "x-prefect-tenant-id";

/// The credentials of one request, parsed but not yet checked.
pub struct Credentials {
    bearer: Option<AppResult<Token>>,
    tenant: Option<AppResult<TenantId>>,
}

fn unauthenticated(msg: impl Into<String>) -> AppError {
    AppError::Unauthenticated(msg.into())
}

const MALFORMED: &str = "Malformed Authorization header: expected `Bearer <API key>`";

/// The `scheme` and credential of an `Authorization` header.
fn scheme(raw: &[u8]) -> AppResult<(&str, &str)> {
    let text = std::str::from_utf8(raw).map_err(|_| unauthenticated(MALFORMED))?;
    let (scheme, rest) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| unauthenticated(MALFORMED))?;
    let cred = rest.trim();
    if cred.is_empty() || cred.contains(char::is_whitespace) {
        return Err(unauthenticated(MALFORMED));
    }
    Ok((scheme, cred))
}

fn parse_bearer(raw: &[u8]) -> AppResult<Token> {
    match scheme(raw)? {
        (s, key) if s.eq_ignore_ascii_case("bearer") => parse_key(key),
        _ => Err(unauthenticated(MALFORMED)),
    }
}

/// `Bearer <key>`, or `Basic base64(<key>)` / `Basic base64(<any>:<key>)`,
/// as Prefect's UI and `PREFECT_API_AUTH_STRING` send a key.
fn parse_bearer_or_basic(raw: &[u8]) -> AppResult<Token> {
    use base64::Engine as _;
    match scheme(raw)? {
        (s, key) if s.eq_ignore_ascii_case("bearer") => parse_key(key),
        (s, encoded) if s.eq_ignore_ascii_case("basic") => {
            let bad = || {
                unauthenticated(
                    "Malformed Authorization header: Basic credentials must be base64 of `<API key>` or `<anything>:<API key>`",
                )
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| bad())?;
            let text = String::from_utf8(decoded).map_err(|_| bad())?;
            let key = text.rsplit_once(':').map_or(text.as_str(), |(_, k)| k);
            parse_key(key)
        }
        _ => Err(unauthenticated(
            "Malformed Authorization header: expected `Bearer <API key>` (or `Basic` with the key as its password)",
        )),
    }
}

fn parse_key(key: &str) -> AppResult<Token> {
    let token = Token::parse(key).map_err(|e| match e {
        // S11: the old credential styles point to API keys.
        KeyFormatError::Prefix if key.matches('.').count() == 2 || key.len() > 64 => unauthenticated(
            "API tokens are no longer accepted: create an API key (it starts with kwu_ or kws_) and send it as `Authorization: Bearer <key>`",
        ),
        e => unauthenticated(format!("Invalid API key: {e}")),
    })?;
    if token.kind() == TokenKind::Invitation {
        return Err(unauthenticated(
            "This is a membership invitation, not an API key: accept it with accept_membership_invitation, which returns your first key",
        ));
    }
    Ok(token)
}

/// The `Authorization: Bearer` key of a request: `None` without the header.
/// Two headers are refused, not resolved: proxies and servers disagree on
/// which one wins, and a credential must mean one thing.
pub fn bearer(req: &HttpRequest) -> Option<AppResult<Token>> {
    one_authorization(req).map(|h| parse_bearer(h?))
}

/// `bearer`, or a key sent as Basic credentials (forward-auth only: the
/// GraphQL API takes Bearer alone).
pub fn bearer_or_basic(req: &HttpRequest) -> Option<AppResult<Token>> {
    one_authorization(req).map(|h| parse_bearer_or_basic(h?))
}

/// A header sent more than once.
pub struct Doubled;

/// The one value of header `name`: `None` without it, `Doubled` when it
/// came more than once (refused rather than resolved, whichever one a
/// proxy would have read).
pub fn only_header(
    req: &HttpRequest,
    name: impl AsHeaderName,
) -> Option<Result<&HeaderValue, Doubled>> {
    let mut all = req.headers().get_all(name);
    let first = all.next()?;
    Some(match all.next() {
        Some(_) => Err(Doubled),
        None => Ok(first),
    })
}

fn one_authorization(req: &HttpRequest) -> Option<AppResult<&[u8]>> {
    only_header(req, AUTHORIZATION).map(|h| {
        h.map(HeaderValue::as_bytes).map_err(|Doubled| {
            unauthenticated(
                "More than one Authorization header: send exactly one, `Authorization: Bearer <key>`.",
            )
        })
    })
}

impl Credentials {
    pub fn from_request(req: &HttpRequest) -> Self {
        let bearer = bearer(req);
        let tenant = only_header(req, TENANT_HEADER).map(|h| {
            let v = h.map_err(|Doubled| {
                unauthenticated("More than one X-Prefect-Tenant-Id header: send at most one.")
            })?;
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| unauthenticated("The X-Prefect-Tenant-Id header is not a tenant id"))
        });
        Self { bearer, tenant }
    }
}

/// Resolves credentials to the calling key, or `None` when the request
/// carries no key at all. Every failure is `Unauthenticated` with a message
/// that says which case it is, and never contains the key.
pub fn authenticate(
    verifier: &Verifier,
    creds: Credentials,
    now: DateTime<Utc>,
) -> AppResult<Option<Principal>> {
    let Some(bearer) = creds.bearer else {
        return Ok(None);
    };
    let bearer = bearer.inspect_err(|_| verifier.malformed(now))?;
    let principal = verifier.verify(&bearer.hash(), now)?;
    if let Some(tenant) = creds.tenant {
        let tenant = tenant?;
        if tenant != principal.tenant_id {
            return Err(unauthenticated(format!(
                "This API key is not valid for tenant {tenant}; it works in tenant {} only.",
                principal.tenant_id
            )));
        }
    }
    verifier.record_use(principal.key_id, now);
    Ok(Some(principal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::AccountKind;

    #[test]
    fn bearer_parsing_says_what_is_wrong() {
        let key = Token::generate(AccountKind::User);
        assert!(parse_bearer(format!("Bearer {}", key.expose()).as_bytes()).is_ok());
        assert!(parse_bearer(format!("bearer  {} ", key.expose()).as_bytes()).is_ok());
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic abc",
            "Bearer a b",
            "Token x",
        ] {
            let e = parse_bearer(bad.as_bytes()).unwrap_err().to_string();
            assert!(
                e.starts_with("Malformed Authorization header"),
                "{bad:?}: {e}"
            );
        }
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        assert!(
            parse_bearer(format!("Bearer {jwt}").as_bytes())
                .unwrap_err()
                .to_string()
                .contains("API tokens are no longer accepted")
        );
        let last = if key.expose().ends_with('x') {
            'y'
        } else {
            'x'
        };
        let typo = format!("Bearer {}{last}", &key.expose()[..39]);
        let e = parse_bearer(typo.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains("checksum") && !e.contains(&key.expose()[4..39]),
            "{e}"
        );
    }
}
