//! The only code that knows the credential headers: `Authorization: Bearer
//! <key>` and Prefect's `X-Prefect-Tenant-Id`. Parsing happens on the async
//! side with no I/O; `authenticate` runs on the request's blocking hop.
use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::domain::api_key::{KeyFormatError, Token, TokenKind};
use crate::domain::ids::TenantId;
use crate::domain::model::Revocation;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::{Store, api_keys};

pub const TENANT_HEADER: &str = "x-prefect-tenant-id";

/// How often `last_used_at` is written at most, per key.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// The credentials of one request, parsed but not yet checked.
pub struct Credentials {
    bearer: Option<AppResult<Token>>,
    tenant: Option<AppResult<TenantId>>,
}

fn unauthenticated(msg: impl Into<String>) -> AppError {
    AppError::Unauthenticated(msg.into())
}

fn parse_bearer(raw: &[u8]) -> AppResult<Token> {
    const MALFORMED: &str = "Malformed Authorization header: expected `Bearer <API key>`";
    let text = std::str::from_utf8(raw).map_err(|_| unauthenticated(MALFORMED))?;
    let (scheme, rest) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| unauthenticated(MALFORMED))?;
    let key = rest.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() || key.contains(char::is_whitespace)
    {
        return Err(unauthenticated(MALFORMED));
    }
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

impl Credentials {
    pub fn from_request(req: &HttpRequest) -> Self {
        let bearer = req
            .headers()
            .get(AUTHORIZATION)
            .map(|v| parse_bearer(v.as_bytes()));
        let tenant = req.headers().get(TENANT_HEADER).map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| unauthenticated("The X-Prefect-Tenant-Id header is not a tenant id"))
        });
        Self { bearer, tenant }
    }
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Resolves credentials to the calling key, or `None` when the request
/// carries no key at all. Every failure is `Unauthenticated` with a message
/// that says which case it is, and never contains the key.
pub fn authenticate(
    store: &Store,
    creds: Credentials,
    now: DateTime<Utc>,
) -> AppResult<Option<Principal>> {
    let Some(bearer) = creds.bearer else {
        return Ok(None);
    };
    let token = bearer?;
    let hash = token.hash();
    store.read(|c| {
        let Some(row) = api_keys::find_by_hash(c, &hash)? else {
            return Err(match api_keys::revocation(c, &hash)? {
                Some((Revocation::Revoked, when)) => {
                    unauthenticated(format!("This API key was revoked at {}.", at(when)))
                }
                Some((Revocation::ServiceAccountDeleted, when)) => unauthenticated(format!(
                    "This API key stopped working at {}: its service account was deleted.",
                    at(when)
                )),
                Some((Revocation::MembershipRemoved, when)) => unauthenticated(format!(
                    "This API key stopped working at {}: its owner was removed from its tenant.",
                    at(when)
                )),
                None => unauthenticated("Invalid API key: no such key."),
            });
        };
        let key = &row.key;
        if let Some(exp) = key.expires_at
            && exp <= now
        {
            return Err(unauthenticated(format!(
                "This API key expired at {}.",
                at(exp)
            )));
        }
        let role = row.owner_role.ok_or_else(|| {
            unauthenticated("This API key's owner is no longer a member of its tenant.")
        })?;
        if let Some(tenant) = creds.tenant {
            let tenant = tenant?;
            if tenant != key.tenant_id {
                return Err(unauthenticated(format!(
                    "This API key is not valid for tenant {tenant}; it works in tenant {} only.",
                    key.tenant_id
                )));
            }
        }
        api_keys::touch(c, key.id, key.last_used_at, now, TOUCH_EVERY)?;
        Ok(Some(Principal {
            key_id: key.id,
            account_id: key.account_id,
            account_kind: row.owner_kind,
            server_admin: row.owner_server_admin,
            tenant_id: key.tenant_id,
            role,
            key_created_at: key.created_at,
            key_expires_at: key.expires_at,
        }))
    })
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
