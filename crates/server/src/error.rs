//! An error as the API answers it: a status, a code and a message, as JSON; what each
//! library error's kind becomes (an exhaustive `match` per kind).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error as the API answers it.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"code": self.code, "message": self.message})),
        )
            .into_response()
    }
}

/// A refusal of the access policy: 403.
impl From<dangan_query::Refusal> for ApiError {
    fn from(r: dangan_query::Refusal) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", r.to_string())
    }
}

/// A query-layer error as the API answers it, by kind: refusals are 403, a bad or too large
/// statement 400, a missing member 404, the rest 500 (by `dangan_query::Kind`).
impl From<dangan_query::Error> for ApiError {
    fn from(e: dangan_query::Error) -> Self {
        use dangan_query::Kind;
        let (status, code) = match e.kind() {
            Kind::Refused => (StatusCode::FORBIDDEN, "forbidden"),
            Kind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Kind::BadStatement => (StatusCode::BAD_REQUEST, "bad_sql"),
            Kind::TooComplex => (StatusCode::BAD_REQUEST, "too_complex"),
            Kind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// A report's error as the API answers it, by kind (no `_` arm either).
impl From<dangan_reports::Error> for ApiError {
    fn from(e: dangan_reports::Error) -> Self {
        use dangan_reports::Error as E;
        let (status, code) = match &e {
            E::Query(_) => {
                let E::Query(q) = e else { unreachable!() };
                return q.into();
            }
            E::Refused { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            E::NoSuchReport { .. } => (StatusCode::NOT_FOUND, "not_found"),
            E::NoSuchOrg { .. } | E::Invalid(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            E::Lake(_)
            | E::Arrow(_)
            | E::Polars(_)
            | E::Frame(_)
            | E::Write { .. }
            | E::MissingInput(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}
