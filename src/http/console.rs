//! The web console: one page and its assets, compiled into the binary
//! (nothing read from disk at run time, nothing from a CDN).
use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

/// Scripts and styles from this origin only, no inline script or style, no
/// framing, no form posts anywhere (the page's forms are handled in script,
/// so a secret typed into one can never end up in a URL).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'none'; \
     frame-ancestors 'none'; base-uri 'none'";

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    etag: String,
}

fn asset(path: &'static str, content_type: &'static str, body: &'static [u8]) -> Asset {
    let etag = format!("\"{}\"", &blake3::hash(body).to_hex()[..16]);
    Asset {
        path,
        content_type,
        body,
        etag,
    }
}

/// One asset per file of src/console, at `/` (the page) or `/console/NAME`.
macro_rules! assets {
    ($(($path:literal, $file:literal, $content_type:expr)),+ $(,)?) => {
        [$(asset($path, $content_type, include_bytes!(concat!("../console/", $file)))),+]
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    assets![
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/graphql", "graphql.html", "text/html; charset=utf-8"),
        ("/console/app.css", "app.css", "text/css; charset=utf-8"),
        ("/console/favicon.svg", "favicon.svg", "image/svg+xml"),
        ("/console/app.js", "app.js", JS),
        ("/console/audit.js", "audit.js", JS),
        ("/console/webhooks.js", "webhooks.js", JS),
        ("/console/api.js", "api.js", JS),
        ("/console/dialogs.js", "dialogs.js", JS),
        ("/console/dom.js", "dom.js", JS),
        ("/console/keys.js", "keys.js", JS),
        ("/console/session.js", "session.js", JS),
        ("/console/team.js", "team.js", JS),
    ]
    .into()
});

/// Serves the page at `/` and its assets; revalidated on every load (the
/// binary may have been upgraded), 304 when unchanged.
pub async fn serve(req: HttpRequest) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|a| a.path == req.path()) else {
        let missing = crate::error::AppError::NotFound("page");
        return HttpResponse::build(missing.http_status())
            .content_type("text/plain; charset=utf-8")
            .body(missing.public_message());
    };
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag));
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, asset.etag.as_str()));
    if unchanged {
        response.finish()
    } else {
        response.content_type(asset.content_type).body(asset.body)
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(serve))
        .route("/console/{file}", web::get().to(serve));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_load_only_their_own_scripts() {
        for asset in ASSETS
            .iter()
            .filter(|a| a.content_type.starts_with("text/html"))
        {
            let page = std::str::from_utf8(asset.body).unwrap();
            for tag in page.split("<script").skip(1) {
                let head = &tag[..tag.find('>').unwrap()];
                assert!(head.contains("src=\"/console/"), "inline script: {head}");
            }
            assert!(!page.contains("style="), "inline style in {}", asset.path);
            assert!(!page.contains("http://") && !page.contains("https://"));
        }
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    }

    #[test]
    fn etags_differ_per_asset() {
        let mut tags: Vec<_> = ASSETS.iter().map(|a| a.etag.clone()).collect();
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len());
    }
}
