//! Where a webhook may point: an http(s) URL whose every address is public,
//! unless the operator allows private ones (`--webhook-allow-private`).
//! Checked when the webhook is registered (a clear error at once) and again
//! by the resolver of every delivery (`Guarded`), so a name that later
//! resolves to 127.0.0.1 or 169.254.169.254 is not reached either. Redirects
//! are never followed.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;
use url::{Host, Url};

use crate::error::{AppError, AppResult};

const MAX_URL: usize = 2048;

/// A webhook URL, parsed (WHATWG rules, so `http://0x7f.1/` is seen as the
/// 127.0.0.1 it is).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination(Url);

impl Destination {
    /// Parses `raw`, refusing what is not http(s), carries credentials, or
    /// names a private address when those are not allowed.
    pub fn parse(raw: &str, allow_private: bool) -> AppResult<Self> {
        let bad = |why: &str| AppError::Invalid(format!("url: {why}"));
        if raw.len() > MAX_URL {
            return Err(bad("at most 2048 characters"));
        }
        let url = Url::parse(raw).map_err(|e| bad(&format!("{e} ({raw:?})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("only http:// and https:// URLs can receive webhooks"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "no credentials in the URL: deliveries are signed instead (keyward-signature)",
            ));
        }
        let d = Self(url);
        if !allow_private {
            d.refuse_private()?;
        }
        Ok(d)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host name, lower case (what policies see as `context.host`).
    pub fn host(&self) -> String {
        self.0.host_str().unwrap_or_default().to_ascii_lowercase()
    }

    /// Literal addresses and names that resolve now must be public. A name
    /// that does not resolve yet is let through: the delivery's resolver
    /// checks again.
    fn refuse_private(&self) -> AppResult<()> {
        let refused = |ip: IpAddr| {
            AppError::Invalid(format!(
                "url: {} is a {} address; webhooks go to public addresses only \
                 (the operator can allow private ones with --webhook-allow-private)",
                ip,
                kind(ip).unwrap_or("private")
            ))
        };
        let ips: Vec<IpAddr> = match self.0.host() {
            Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            Some(Host::Domain(name)) => {
                resolve(name, self.0.port_or_known_default().unwrap_or(443))
            }
            None => return Err(AppError::Invalid("url: it names no host".into())),
        };
        match ips.into_iter().find(|ip| kind(*ip).is_some()) {
            Some(ip) => Err(refused(ip)),
            None => Ok(()),
        }
    }
}

/// How long registration waits for DNS: a request must not hang on a slow
/// resolver (a name not resolved in time is checked at delivery instead).
const RESOLVE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// `name`'s addresses now, or none if the system resolver does not answer
/// within `RESOLVE_PATIENCE`.
fn resolve(name: &str, port: u16) -> Vec<IpAddr> {
    let (tx, rx) = std::sync::mpsc::channel();
    let name = name.to_owned();
    let spawned = std::thread::Builder::new()
        .name("keyward-resolve".into())
        .spawn(move || {
            let ips: Vec<IpAddr> = (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.map(|s| s.ip()).collect())
                .unwrap_or_default();
            let _ = tx.send(ips);
        });
    match spawned {
        Ok(_) => rx.recv_timeout(RESOLVE_PATIENCE).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// Why `ip` is not a public address (`None`: it is). An IPv6 address that
/// embeds an IPv4 one (mapped, compatible, translated, 6to4, NAT64, Teredo,
/// ISATAP) is judged by the address it embeds, so no spelling of 127.0.0.1
/// or 10.0.0.1 passes for public.
pub fn kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => kind_v4(v4),
        IpAddr::V6(v6) => {
            let embedded = embedded_v4(v6);
            if embedded.is_empty() {
                kind_v6(v6)
            } else {
                embedded.into_iter().find_map(kind_v4)
            }
        }
    }
}

/// The IPv4 addresses `ip` embeds, by the form it has (none: a plain IPv6
/// address).
fn embedded_v4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let last = v4(s[6], s[7]);
    match s {
        // ::1 and :: are IPv6's own loopback and unspecified.
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => vec![],
        // ::a.b.c.d (IPv4-compatible, deprecated) and ::ffff:a.b.c.d (mapped).
        [0, 0, 0, 0, 0, 0 | 0xffff, _, _] => vec![last],
        // ::ffff:0:a.b.c.d (IPv4-translated, SIIT).
        [0, 0, 0, 0, 0xffff, 0, _, _] => vec![last],
        // 64:ff9b::/96 (NAT64); local-use NAT64 (64:ff9b:1::/48, which may
        // reach any private network) is refused as such by `kind_v6`.
        [0x0064, 0xff9b, 0, 0, 0, 0, _, _] => vec![last],
        // 2002:AABB:CCDD::/48 (6to4).
        [0x2002, hi, lo, ..] => vec![v4(hi, lo)],
        // 2001:0::/32 (Teredo): the server, and the client (bits inverted).
        [0x2001, 0, hi, lo, ..] => vec![v4(hi, lo), v4(!s[6], !s[7])],
        // ISATAP interface identifiers: …:0:5efe:a.b.c.d, …:200:5efe:a.b.c.d.
        [.., 0 | 0x0200, 0x5efe, _, _] => vec![last],
        _ => vec![],
    }
}

fn kind_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("broadcast, multicast or reserved")
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
        Some("documentation or benchmarking")
    } else {
        None
    }
}

fn kind_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if first & 0xfe00 == 0xfc00 {
        Some("private (unique local)")
    } else if first & 0xffc0 == 0xfec0 {
        Some("site-local (deprecated)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Some("documentation")
    } else if ip.segments()[..4] == [0x0100, 0, 0, 0] {
        Some("discard-only")
    } else if ip.segments()[..3] == [0x0064, 0xff9b, 1] {
        Some("local-use NAT64")
    } else {
        None
    }
}

/// The resolver of every delivery: the system's, with private addresses
/// removed (unless allowed); none left is an error, so the connection is
/// never made.
#[derive(Debug)]
pub struct Guarded {
    pub allow_private: bool,
}

impl Resolver for Guarded {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let all = DefaultResolver::default().resolve(uri, config, timeout)?;
        if self.allow_private {
            return Ok(all);
        }
        let mut kept = self.empty();
        for addr in all.iter().filter(|a| kind(a.ip()).is_none()) {
            kept.push(*addr);
        }
        if kept.is_empty() {
            // The host alone: a webhook URL's path may hold a token.
            let first = all.first().map(SocketAddr::ip);
            let host = uri.host().unwrap_or_default();
            tracing::warn!(%host, address = ?first, "webhook delivery refused: the host resolves to a private address");
            return Err(ureq::Error::HostNotFound);
        }
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_targets_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://[::1]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
        ] {
            assert!(
                Destination::parse(url, false).is_err(),
                "{url} was let through"
            );
            assert!(
                Destination::parse(url, true).is_ok(),
                "{url} refused when allowed"
            );
        }
        assert!(Destination::parse("https://93.184.215.14/hook", false).is_ok());
    }

    /// Every IPv6 spelling of an IPv4 address is judged by that address.
    #[test]
    fn ipv4_embedded_in_ipv6_is_judged_by_the_ipv4_address() {
        let private = [
            "::127.0.0.1",
            "::10.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:0:127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::5db8:d70e",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "2002:c0a8:101::1",
            "2001:0:7f00:1::ffff:ffff",
            // Teredo: a public server, a private client (10.0.0.1 inverted).
            "2001:0:5db8:d70e::f5ff:fffe",
            "2607:f8b0::5efe:10.0.0.1",
            "2607:f8b0::200:5efe:127.0.0.1",
            "fec0::1",
            "100::1",
        ];
        for a in private {
            let ip: IpAddr = a.parse().unwrap();
            assert!(kind(ip).is_some(), "{a} was taken for public");
            let url = format!("http://[{a}]/");
            assert!(
                Destination::parse(&url, false).is_err(),
                "{url} let through"
            );
        }
        let public = [
            "::ffff:93.184.215.14",
            "64:ff9b::5db8:d70e",
            "2002:5db8:d70e::1",
            "2001:0:5db8:d70e::a247:28f1",
            "2606:4700::1111",
        ];
        for a in public {
            let ip: IpAddr = a.parse().unwrap();
            assert_eq!(kind(ip), None, "{a} was taken for private");
        }
    }

    /// The delivery's resolver refuses what registration let through (a
    /// name that resolves to a private address by then), before connecting.
    #[test]
    fn the_delivery_resolver_drops_private_addresses() {
        let config = ureq::config::Config::default();
        let timeout = NextTimeout {
            after: ureq::unversioned::transport::time::Duration::from_secs(2),
            reason: ureq::Timeout::Resolve,
            per_read: None,
            per_write: None,
        };
        for uri in [
            "http://localhost:9/hook",
            "http://127.0.0.1:9/",
            "http://[::ffff:10.0.0.1]:9/",
        ] {
            let uri: ureq::http::Uri = uri.parse().unwrap();
            let guarded = Guarded {
                allow_private: false,
            };
            assert!(
                matches!(
                    guarded.resolve(&uri, &config, timeout),
                    Err(ureq::Error::HostNotFound)
                ),
                "{uri} resolved"
            );
            let open = Guarded {
                allow_private: true,
            };
            assert!(
                open.resolve(&uri, &config, timeout).is_ok(),
                "{uri} refused when allowed"
            );
        }
    }

    #[test]
    fn only_http_urls_without_credentials() {
        for url in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://x/",
            "https://user:pw@example.com/",
            "not a url",
            "",
        ] {
            assert!(
                Destination::parse(url, true).is_err(),
                "{url} was let through"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(2100));
        assert!(Destination::parse(&long, true).is_err());
        let d = Destination::parse("https://Hooks.Example.COM/k", true).unwrap();
        assert_eq!(d.host(), "hooks.example.com");
    }
}
