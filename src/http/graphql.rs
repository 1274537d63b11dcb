//! POST: read the body (bounded), parse it as the Prefect client and the
//! GraphQL-over-HTTP convention send it, then authenticate and execute in one
//! blocking hop. GET serves GraphiQL only; it never executes anything.
use actix_web::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use juniper::{DefaultScalarValue, InputValue, Variables};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::auth::Credentials;
use crate::error::{AppError, RequestError};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug)]
pub struct GqlRequest {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Variables<DefaultScalarValue>,
}

#[derive(Deserialize)]
struct JsonBody {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<Value>,
}

/// `variables` may be an object, null, or (as the Prefect client sends it) a
/// string holding JSON (`"null"` when empty).
fn parse_variables(v: Option<Value>) -> Result<Variables<DefaultScalarValue>, String> {
    let v = match v {
        Some(Value::String(s)) => serde_json::from_str(&s)
            .map_err(|e| format!("`variables` is a string but not JSON: {e}"))?,
        Some(v) => v,
        None => Value::Null,
    };
    match v {
        Value::Null => Ok(Variables::new()),
        Value::Object(_) => {
            let iv: InputValue<DefaultScalarValue> =
                serde_json::from_value(v).map_err(|e| format!("`variables` is not valid: {e}"))?;
            Ok(iv
                .to_object_value()
                .map(|o| {
                    o.into_iter()
                        .map(|(k, v)| (k.to_owned(), v.clone()))
                        .collect()
                })
                .unwrap_or_default())
        }
        _ => Err("`variables` must be a JSON object (or a string holding one)".to_owned()),
    }
}

impl GqlRequest {
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self, RequestError> {
        let bad = RequestError::BadBody;
        let mime = content_type
            .and_then(|c| c.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        match mime.as_deref() {
            Some("application/graphql") => {
                let query =
                    std::str::from_utf8(body).map_err(|_| bad("the body is not UTF-8".into()))?;
                Ok(Self {
                    query: query.to_owned(),
                    operation_name: None,
                    variables: Variables::new(),
                })
            }
            None | Some("application/json") => {
                let b: JsonBody = serde_json::from_slice(body).map_err(|e| {
                    bad(format!("the body must be a JSON object with a `query` string (batches are not supported): {e}"))
                })?;
                let query = b
                    .query
                    .ok_or_else(|| bad("the body has no `query`".into()))?;
                Ok(Self {
                    query,
                    operation_name: b.operation_name,
                    variables: parse_variables(b.variables).map_err(bad)?,
                })
            }
            Some(other) => Err(RequestError::MediaType(other.to_owned())),
        }
    }
}

async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, RequestError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| RequestError::BadBody(format!("cannot read the body: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(RequestError::TooLarge(MAX_BODY_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn refused(e: RequestError) -> HttpResponse {
    HttpResponse::build(e.http_status()).json(e.graphql_body())
}

pub async fn post(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let body = match read_body(payload).await {
        Ok(b) => b,
        Err(e) => return refused(e),
    };
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let request = match GqlRequest::parse(content_type, &body) {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    let creds = Credentials::from_request(&req);
    let state = state.into_inner();
    let metrics = state.metrics.clone();
    let started = std::time::Instant::now();
    let answer = web::block(move || state.execute(request, creds)).await;
    metrics.graphql(started.elapsed());
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            let e = AppError::internal(e);
            return HttpResponse::build(e.http_status()).json(e.graphql_body());
        }
    };
    // Auth failures stay 200: the Prefect client crashes on 4xx and retries 5xx.
    let mut resp = HttpResponse::Ok();
    if answer.unauthenticated {
        resp.insert_header((WWW_AUTHENTICATE, "Bearer"));
    }
    if let Some(id) = answer.request_id {
        resp.insert_header(("X-Request-Id", id));
    }
    resp.content_type(actix_web::http::header::ContentType::json())
        .body(answer.body)
}

/// What GraphiQL's page (juniper's, loading from esm.sh) may load: that CDN
/// and this origin, nothing else.
pub const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'unsafe-inline' https://esm.sh; \
     style-src 'unsafe-inline' https://esm.sh; font-src https://esm.sh data:; \
     img-src 'self' data: https://esm.sh; connect-src 'self' https://esm.sh; \
     worker-src 'self' blob: https://esm.sh; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// `GET /graphql`: a page of keyward's own that says how to query; GraphiQL
/// only with `--graphiql`, since it loads its scripts from a CDN.
pub async fn graphiql(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if !state.graphiql {
        return super::console::serve(req).await;
    }
    match juniper_actix::graphiql_handler("/graphql", None).await {
        Ok(mut page) => {
            page.headers_mut().insert(
                actix_web::http::header::CONTENT_SECURITY_POLICY,
                actix_web::http::header::HeaderValue::from_static(GRAPHIQL_CSP),
            );
            page
        }
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use serde_json::json;

    use super::*;

    #[test]
    fn variables_come_as_objects_strings_or_nothing() {
        assert!(parse_variables(None).unwrap().is_empty());
        assert!(parse_variables(Some(json!("null"))).unwrap().is_empty());
        assert_eq!(parse_variables(Some(json!("{\"a\": 1}"))).unwrap().len(), 1);
        assert_eq!(
            parse_variables(Some(json!({"a": {"b": "c"}})))
                .unwrap()
                .len(),
            1
        );
        assert!(parse_variables(Some(json!([1]))).is_err());
        assert!(parse_variables(Some(json!("{nope"))).is_err());
    }

    #[test]
    fn content_types() {
        let r = GqlRequest::parse(
            Some("application/graphql; charset=utf-8"),
            b"{ auth_info { user_id } }",
        )
        .unwrap();
        assert_eq!(r.query, "{ auth_info { user_id } }");
        let r = GqlRequest::parse(None, br#"{"query": "{ a }", "variables": "null"}"#).unwrap();
        assert_eq!(r.query, "{ a }");
        assert_eq!(
            GqlRequest::parse(Some("text/plain"), b"x")
                .unwrap_err()
                .http_status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            GqlRequest::parse(Some("application/json"), b"[]")
                .unwrap_err()
                .http_status(),
            StatusCode::BAD_REQUEST
        );
    }
}
