//! Every error a client can see, and the one place each is mapped to a
//! GraphQL `extensions.code` and an HTTP status: `AppError` for what the
//! service decides, `RequestError` for requests it cannot run at all.
use actix_web::http::StatusCode;
use juniper::{FieldError, IntoFieldError, ScalarValue};
use serde_json::{Value, json};

type Source = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No usable credential. The message says which case it is; it never
    /// contains the key itself.
    #[error("{0}")]
    Unauthenticated(String),
    /// Cedar said no. `policies` are the ids of the deciding policies, if any.
    #[error("{message}")]
    Forbidden {
        message: String,
        policies: Vec<String>,
    },
    /// Does not exist, or the caller may not see it: the same answer for both.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// The request would cost more than keyward lets one request cost; the
    /// message has the figures.
    #[error("{0}")]
    TooExpensive(String),
    /// A fault of the server's. The cause goes to the log (once, when the
    /// error is made), under `id`; clients see only the id.
    #[error("internal error {id}")]
    Internal {
        id: String,
        #[source]
        source: Source,
    },
}

pub type AppResult<T> = Result<T, AppError>;

/// The messages of an error and of every error that caused it.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

impl AppError {
    /// An internal error caused by `source`, logged now with its whole
    /// chain of causes and a fresh id the client can quote.
    pub fn internal(source: impl Into<Source>) -> Self {
        let source = source.into();
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        tracing::error!(error_id = %id, error = %chain(source.as_ref()), "internal error");
        Self::Internal { id, source }
    }

    /// The `extensions.code` a GraphQL client sees (Apollo's names, which the
    /// Prefect client matches on for `UNAUTHENTICATED`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden { .. } => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Invalid(_) => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::TooExpensive(_) => "QUERY_TOO_EXPENSIVE",
            Self::Internal { .. } => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The status for plain HTTP endpoints. GraphQL answers stay 200 whatever
    /// the error: the Prefect client crashes on 4xx and retries on 5xx.
    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooExpensive(_) => StatusCode::BAD_REQUEST,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What a client may read.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal { id, .. } => {
                format!("internal error (error id {id}); the server log has the details")
            }
            other => other.to_string(),
        }
    }

    /// The `WWW-Authenticate` challenge of a refused credential (RFC 6750),
    /// with the reason (quotes and backslashes made harmless).
    pub fn bearer_challenge(&self) -> String {
        let reason = self.public_message().replace(['"', '\\'], "'");
        format!("Bearer error=\"invalid_token\", error_description=\"{reason}\"")
    }

    /// A GraphQL-shaped body holding this one error.
    pub fn graphql_body(&self) -> Value {
        graphql_error_body(&self.public_message(), self.code())
    }
}

/// `{"errors": [{"message", "extensions": {"code"}}]}`: the shape of every
/// error keyward answers outside a resolver.
pub fn graphql_error_body(message: &str, code: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

impl<S: ScalarValue> IntoFieldError<S> for AppError {
    fn into_field_error(self) -> FieldError<S> {
        let message = self.public_message();
        let code = self.code();
        let mut extensions = juniper::Object::with_capacity(2);
        extensions.add_field("code", juniper::Value::scalar(code.to_owned()));
        if let Self::Forbidden { policies, .. } = &self
            && !policies.is_empty()
        {
            let ids = policies
                .iter()
                .map(|p| juniper::Value::scalar(p.clone()))
                .collect();
            extensions.add_field("policies", juniper::Value::list(ids));
        }
        let extensions = juniper::Value::Object(extensions);
        FieldError::new(message, extensions)
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal(e)
    }
}

impl From<postgres::Error> for AppError {
    fn from(e: postgres::Error) -> Self {
        Self::internal(e)
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        Self::internal(e)
    }
}

/// A request keyward cannot run: the body or the document is not one it
/// accepts. Nothing was authenticated or executed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("{0}")]
    BadBody(String),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("unsupported content type {0:?}: send application/json or application/graphql")]
    MediaType(String),
}

impl RequestError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadBody(_) | Self::MediaType(_) => "BAD_REQUEST",
            Self::TooLarge(_) => "PAYLOAD_TOO_LARGE",
        }
    }

    /// 4xx: nothing the Prefect client sends causes one.
    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::BadBody(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    pub fn graphql_body(&self) -> Value {
        graphql_error_body(&self.to_string(), self.code())
    }
}

/// The `extensions.code` of a document that never ran (Apollo's names): it
/// does not parse, or it does not fit the schema or the limits. The answer
/// is still HTTP 200, as every GraphQL answer is.
pub fn document_error_code(e: &juniper::GraphQLError) -> &'static str {
    match e {
        juniper::GraphQLError::ParseError(_) => "GRAPHQL_PARSE_FAILED",
        _ => "GRAPHQL_VALIDATION_FAILED",
    }
}

/// Whether a field error is `UNAUTHENTICATED` (its code, as set above).
pub fn is_unauthenticated<S: ScalarValue>(e: &FieldError<S>) -> bool {
    e.extensions()
        .as_object_value()
        .and_then(|o| o.get_field_value("code"))
        .and_then(|c| c.as_scalar()?.try_as_str())
        .is_some_and(|c| c == "UNAUTHENTICATED")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_shows_only_its_id_and_keeps_its_cause() {
        let cause = std::io::Error::other("disk on fire");
        let e = AppError::internal(cause);
        let AppError::Internal { id, source } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(id.len(), 12);
        assert!(e.public_message().contains(id.as_str()));
        assert!(!e.public_message().contains("disk"));
        assert!(chain(source.as_ref()).contains("disk on fire"));
        assert_eq!(e.code(), "INTERNAL_SERVER_ERROR");
    }
}
