//! An error as the API answers it: a status, a code and a message, as JSON; what each
//! library error's kind becomes (an exhaustive `match` per kind).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};

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

/// The body of every error: a stable code a client can match on and a message (Chinese and
/// English) a person can read.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// `bad_request`, `bad_sql`, `bad_query`, `too_complex`, `unauthorized`, `forbidden`,
    /// `not_found`, `busy`, `too_large`, `timeout`, `internal`, …
    pub code: &'static str,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                code: self.code,
                message: self.message,
            }),
        )
            .into_response()
    }
}

/// The errors every data endpoint may answer, for the OpenAPI document.
#[derive(IntoResponses)]
#[allow(dead_code)] // described, never built: `ApiError` is what handlers return
pub(crate) enum ErrorResponses {
    /// A bad request or a bad query (code `too_complex`: over the statement budget) 请求或查询有误
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No token, or not a live one 需要有效令牌
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// Not granted to the token's department 未授权
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Not there 不存在
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// Too many queries of the department, or no free query slot in time 查询过多或服务器繁忙
    #[response(status = 429)]
    Busy(ErrorBody),
    /// An internal error while answering (the server goes on) 内部错误
    #[response(status = 500)]
    Internal(ErrorBody),
    /// Took longer than the time limit 超时
    #[response(status = 504)]
    Timeout(ErrorBody),
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
            | E::Compute(_)
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
