//! The request a proxy asks `/auth/verify` about, read from the headers it
//! sends: `X-Original-Method`, `X-Original-URI` and `X-Forwarded-Host` (or
//! `Host`). Nothing is guessed: a header sent twice, a value that is not
//! plain ASCII, a method that is not an HTTP token, a target that is not a
//! path (or carries a fragment, which no request target may), or a path
//! that is not UTF-8 once percent-decoded is refused, so the route the
//! policies decide is the one the proxy forwards. A proxy that sends no
//! method or target is refused too when the policies need the route,
//! unless the operator says such requests are `GET /`
//! (`--forward-default-route`).
use actix_web::HttpRequest;

use super::auth::{Doubled, only_header};
use crate::authz::forward::Route;

/// The longest forwarded target considered (nginx's default
/// `large_client_header_buffers` is 8 KB).
const MAX_TARGET: usize = 8192;

/// What the proxy said of the original request (`None`: it did not say).
#[derive(Debug)]
pub struct Forwarded<'r> {
    method: Option<&'r str>,
    target: Option<&'r str>,
    host: &'r str,
}

/// Why a forwarded request cannot be decided (said to the proxy, and by
/// it to the client).
pub type Unreadable = String;

/// One header's value: absent, or ASCII sent once.
fn one<'r>(req: &'r HttpRequest, name: &str) -> Result<Option<&'r str>, Unreadable> {
    match only_header(req, name) {
        None => Ok(None),
        Some(Err(Doubled)) => Err(format!(
            "{name} was sent more than once: the proxy must send exactly one"
        )),
        Some(Ok(v)) => v.to_str().map(Some).map_err(|_| {
            format!("{name} is not plain ASCII: the proxy must send it percent-encoded")
        }),
    }
}

/// RFC 9110's `token`: what a method is made of.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl<'r> Forwarded<'r> {
    /// Reads the headers; refuses what cannot be read as one request.
    pub fn read(req: &'r HttpRequest) -> Result<Self, Unreadable> {
        let method = one(req, "x-original-method")?;
        if let Some(m) = method
            && !is_token(m)
        {
            return Err(format!("X-Original-Method {m:?} is not an HTTP method"));
        }
        let target = one(req, "x-original-uri")?;
        if let Some(t) = target {
            if t.len() > MAX_TARGET {
                return Err(format!("X-Original-URI is longer than {MAX_TARGET} bytes"));
            }
            if !t.starts_with('/') {
                return Err("X-Original-URI is not a path (it must start with /)".into());
            }
            if t.contains('#') {
                return Err(
                    "X-Original-URI carries a fragment (#), which no request target may".into(),
                );
            }
            let path = t.split('?').next().unwrap_or(t);
            if percent_encoding::percent_decode_str(path)
                .decode_utf8()
                .is_err()
            {
                return Err("X-Original-URI's path is not UTF-8 once percent-decoded".into());
            }
        }
        let host = match one(req, "x-forwarded-host")? {
            Some(h) => h,
            None => one(req, "host")?.unwrap_or_default(),
        };
        Ok(Self {
            method,
            target,
            host,
        })
    }

    /// The method and target to decide, as the proxy sent them; one it
    /// did not send is `GET /` only when `default_route` says so.
    fn method_target(&self, default_route: bool) -> Option<(&'r str, &'r str)> {
        match (self.method, self.target, default_route) {
            (Some(m), Some(t), _) => Some((m, t)),
            (m, t, true) => Some((m.unwrap_or("GET"), t.unwrap_or("/"))),
            _ => None,
        }
    }

    /// The method and target decided, as the proxy sent them, for
    /// `X-Keyward-Route`; `None` when there is no route to name.
    pub fn decided(&self, default_route: bool) -> Option<String> {
        self.method_target(default_route)
            .map(|(m, t)| format!("{m} {t}"))
    }

    /// The route to decide (see `method_target`).
    pub fn route(&self, default_route: bool) -> Result<Route, Unreadable> {
        match self.method_target(default_route) {
            Some((m, t)) => Ok(Route::new(m, t, self.host)),
            None => Err(
                "the proxy did not send X-Original-Method and X-Original-URI, which these policies need (see docs on forward-auth; --forward-default-route decides such requests as GET /)"
                    .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn read(headers: &[(&str, &[u8])]) -> Result<Route, Unreadable> {
        let mut r = TestRequest::default();
        for (name, value) in headers {
            r = r.append_header((
                *name,
                actix_web::http::header::HeaderValue::from_bytes(value).unwrap(),
            ));
        }
        let req = r.to_http_request();
        Forwarded::read(&req)?.route(false)
    }

    #[test]
    fn what_cannot_be_read_as_one_request_is_refused() {
        let ok = read(&[
            ("x-original-method", b"GET"),
            ("x-original-uri", b"/api/flows/"),
        ]);
        assert_eq!(ok.unwrap().path, "/api/flows/");
        for bad in [
            vec![
                ("x-original-method", &b"GET"[..]),
                ("x-original-uri", b"/api/events/in?\xff"),
            ],
            vec![
                ("x-original-method", b"POST"),
                ("x-original-uri", b"/api/work_pools/filter#/queues/"),
            ],
            vec![
                ("x-original-method", b"GET"),
                ("x-original-uri", b"/a"),
                ("x-original-uri", b"/b"),
            ],
            vec![
                ("x-original-method", b"GET"),
                ("x-original-method", b"POST"),
                ("x-original-uri", b"/"),
            ],
            vec![("x-original-method", b"G\xc9T"), ("x-original-uri", b"/")],
            vec![("x-original-method", b"GET /x"), ("x-original-uri", b"/")],
            vec![
                ("x-original-method", b"GET"),
                ("x-original-uri", b"api/flows"),
            ],
            vec![
                ("x-original-method", b"GET"),
                ("x-original-uri", b"/%ff%fe"),
            ],
            vec![
                ("x-original-method", b"GET"),
                ("x-original-uri", b"/"),
                ("x-forwarded-host", b"a"),
                ("x-forwarded-host", b"b"),
            ],
            vec![("x-original-uri", b"/")],
            vec![],
        ] {
            assert!(read(&bad).is_err(), "{bad:?} was read as {:?}", read(&bad));
        }
    }
}
