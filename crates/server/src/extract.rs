//! What a handler is given, typed before it runs: the caller (the department of the request's
//! bearer token and its session) and the query string as a struct — a bad value is a JSON 400
//! naming it, like every other error of the API.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use dangan_query::QueryEngine;
use serde::{Deserialize, Deserializer};

use crate::error::{ApiError, internal};
use crate::state::AppState;

/// The department a request acts as, and its session (grants, scope and masks applied).
pub struct Caller {
    pub department: String,
    pub session: Arc<QueryEngine>,
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let (department, session) = who(state, &parts.headers).await?;
        Ok(Caller {
            department,
            session,
        })
    }
}

/// The query string as `T`; what does not fit is a 400 with serde's words.
pub struct Params<T>(pub T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| ApiError::bad(e.body_text()))
    }
}

/// A day in any form the importer reads (`2026-11-30`, `2026/11/30`, `2026年11月30日`); an empty
/// value is no day.
pub fn day<'de, D: Deserializer<'de>>(d: D) -> Result<Option<chrono::NaiveDate>, D::Error> {
    let s = Option::<String>::deserialize(d)?.unwrap_or_default();
    if s.trim().is_empty() {
        return Ok(None);
    }
    dangan_ingest::value::parse_day(&s)
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not a date: YYYY-MM-DD is expected 日期格式应为 YYYY-MM-DD"
            ))
        })
}

/// Text where an empty value means none (`org=`).
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty()))
}

/// A switch: `true`/`1` on, anything else off.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<String>::deserialize(d)?.is_some_and(|f| f == "true" || f == "1"))
}

/// The department of the request's bearer token, and its session.
pub(crate) async fn who(
    state: &Arc<AppState>,
    headers: &HeaderMap,
) -> Result<(String, Arc<QueryEngine>), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "需要令牌 a token is needed: Authorization: Bearer <token> (dangan access token create)",
            )
        })?;
    let department = state
        .department(token)
        .await
        .map_err(|m| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", m))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "令牌无效或已撤销 the token is not valid or was revoked",
            )
        })?;
    let session = state.session(&department).await?;
    Ok((department, session))
}

/// The department may import into this dataset: granted with `--import` (which needs scope
/// `all`), and never the organizations, whose rows decide every department's scope.
pub(crate) async fn may_import(
    state: &AppState,
    caller: &Caller,
    dataset: &str,
) -> Result<(String, Arc<dangan_query::QueryEngine>), ApiError> {
    let (department, session) = (caller.department.clone(), caller.session.clone());
    state
        .lake
        .registry()
        .get(dataset)
        .map_err(|e| ApiError::bad(e.to_string()))?;
    let access = dangan_datasets::access::Access::load(&state.lake)
        .await
        .map_err(internal)?;
    let granted = access.grant_for(&department, dataset).is_some_and(|g| {
        g.import
            && g.scope == dangan_datasets::access::Scope::All
            && dataset != dangan_datasets::access::ORG_TREE
    });
    if !granted {
        session.record(
            &format!("web import {dataset}"),
            0,
            0,
            "denied: no import grant",
        );
        return Err(dangan_query::Refusal::NoImportGrant {
            dataset: dataset.to_string(),
            department,
        }
        .into());
    }
    Ok((department, session))
}
