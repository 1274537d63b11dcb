//! One error type for the whole service, and the one place it is mapped to
//! GraphQL (`extensions.code`) and to HTTP statuses.
use juniper::{FieldError, IntoFieldError, ScalarValue};

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
    /// Details go to the log only; clients see a fixed message.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
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
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The status for plain HTTP endpoints. GraphQL answers stay 200 whatever
    /// the error: the Prefect client crashes on 4xx and retries on 5xx.
    pub fn http_status(&self) -> actix_web::http::StatusCode {
        use actix_web::http::StatusCode;
        match self {
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What a client may read.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "internal error; see the server log".to_owned()
            }
            other => other.to_string(),
        }
    }
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
        Self::internal(format!("database: {e}"))
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        Self::internal(format!("database pool: {e}"))
    }
}
