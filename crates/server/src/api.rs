//! The JSON API under `/api/v1/`: search, SQL (read-only), a member's archive, reports,
//! datasets and import runs — each under the asking token's department. Errors are JSON
//! `{"code", "message"}`: 401 without a live token, 403 for what was not granted, 400 for a bad
//! query, 404 for what is not there, 504 past the time limit.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dangan_query::QueryEngine;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::{self, Caller, Params};
use crate::state::AppState;

type App = State<Arc<AppState>>;

/// `GET /search`'s query string.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    #[serde(default, deserialize_with = "extract::text")]
    q: Option<String>,
    /// Datasets, comma-separated.
    #[serde(default, deserialize_with = "extract::text")]
    dataset: Option<String>,
    #[serde(default, deserialize_with = "extract::text")]
    org: Option<String>,
    #[serde(default, deserialize_with = "extract::day")]
    from: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "extract::day")]
    to: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "extract::text")]
    category: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
    #[serde(default, deserialize_with = "extract::flag")]
    facets: bool,
}

/// `GET /reports/{name}`'s query string.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportParams {
    #[serde(default)]
    format: ReportFormat,
    #[serde(default, deserialize_with = "extract::day")]
    as_of: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "extract::day")]
    from: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "extract::day")]
    to: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "extract::text")]
    org: Option<String>,
    inactive_days: Option<u32>,
}

/// The formats the API writes a report in (xlsx is the CLI's: a file).
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum ReportFormat {
    #[default]
    Json,
    Html,
    Md,
}

/// `GET /sql`'s and `GET /runs`' query string.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryParams {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
}

/// `POST /sql`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlBody {
    sql: String,
    limit: Option<usize>,
}

type ApiResult<T> = Result<T, ApiError>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/whoami", get(whoami))
        .route("/datasets", get(datasets))
        .route(
            "/datasets/{name}/template.xlsx",
            get(crate::imports::template),
        )
        .route("/search", get(search))
        .route("/sql", get(sql_get).post(sql_post))
        .route("/members/{id}", get(member))
        .route("/reports", get(reports))
        .route("/reports/{name}", get(report))
        .route("/runs", get(runs))
        .route("/runs/{run}/quarantine", get(crate::quarantine::show))
        .route("/runs/{run}/fixes.xlsx", get(crate::quarantine::fixes))
        .route(
            "/imports",
            axum::routing::post(crate::imports::upload).layer(
                axum::extract::DefaultBodyLimit::max(crate::imports::MAX_UPLOAD),
            ),
        )
        .route(
            "/imports/{id}/commit",
            axum::routing::post(crate::imports::commit),
        )
        .route("/imports/{id}/fixes.xlsx", get(crate::imports::fixes))
}

pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such page or endpoint 没有此地址",
    )
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

/// A turn for one of the department's queries (admission control), or a 429.
pub(crate) async fn turn<'a>(
    state: &'a AppState,
    session: &QueryEngine,
) -> ApiResult<crate::state::Turn<'a>> {
    state
        .admission
        .admit_session(session)
        .await
        .map_err(|m| ApiError::new(StatusCode::TOO_MANY_REQUESTS, "busy", m))
}

/// Run `fut` within the query time limit.
async fn timed<T>(
    state: &AppState,
    fut: impl std::future::Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    match tokio::time::timeout(state.options.query_timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!(
                "查询超时 the request took longer than {} s and was stopped",
                state.options.query_timeout.as_secs()
            ),
        )),
    }
}

/// `GET /whoami`: the token's department and what it may read.
#[derive(Serialize)]
struct WhoAmI {
    department: String,
    datasets: Vec<String>,
}

async fn whoami(
    State(state): App,
    Caller {
        department,
        session,
    }: Caller,
) -> Json<WhoAmI> {
    let datasets = state
        .lake
        .registry()
        .iter()
        .filter(|s| session.may_read(&s.name))
        .map(|s| s.name.clone())
        .collect();
    Json(WhoAmI {
        department,
        datasets,
    })
}

/// `GET /datasets`: the datasets the department may read, with their columns.
#[derive(Serialize)]
struct DatasetList {
    datasets: Vec<DatasetInfo>,
}

#[derive(Serialize)]
struct DatasetInfo {
    name: String,
    label: String,
    key: Vec<String>,
    columns: Vec<ColumnInfo>,
}

#[derive(Serialize)]
struct ColumnInfo {
    name: String,
    label: String,
    /// An ID number, phone or birth date: masked unless the grant says visible.
    personal: bool,
    /// Indexed for full-text search.
    text: bool,
}

async fn datasets(State(state): App, Caller { session, .. }: Caller) -> Json<DatasetList> {
    let datasets = state
        .lake
        .registry()
        .iter()
        .filter(|s| session.may_read(&s.name))
        .map(|s| DatasetInfo {
            name: s.name.clone(),
            label: s.label.clone(),
            key: s.key.clone(),
            columns: s
                .columns
                .iter()
                .map(|c| ColumnInfo {
                    name: c.name.clone(),
                    label: c.label.clone(),
                    personal: c.personal,
                    text: c.text,
                })
                .collect(),
        })
        .collect();
    Json(DatasetList { datasets })
}

async fn search(
    State(state): App,
    Caller {
        department,
        session,
    }: Caller,
    Params(p): Params<SearchParams>,
) -> ApiResult<Json<Value>> {
    let q =
        p.q.ok_or_else(|| ApiError::bad("q: give the words to search for 请输入检索词"))?;
    let datasets: Vec<String> = p
        .dataset
        .map(|d| {
            d.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    for d in &datasets {
        state
            .lake
            .registry()
            .get(d)
            .map_err(|e| ApiError::bad(e.to_string()))?;
        if !session.may_read(d) {
            return Err(dangan_query::Refusal::NotGranted {
                dataset: d.clone(),
                department: department.clone(),
            }
            .into());
        }
    }
    let orgs = match &p.org {
        Some(root) => {
            let tree = dangan_query::policy::OrgTree::load(&state.lake)
                .await
                .map_err(ApiError::from)?;
            // An organization outside every scope of the department answers as one that
            // does not exist: the answer tells nothing of the org tree it may not read.
            let visible = session
                .search_scopes()
                .is_none_or(|scopes| scopes.iter().any(|s| s.covers_org(root)));
            match tree.sub_tree(root) {
                Some(orgs) if visible => Some(orgs),
                _ => {
                    return Err(ApiError::bad(format!(
                        "没有组织 `{root}`，或不在授权范围内 (no organization `{root}` in your scope)"
                    )));
                }
            }
        }
        None => None,
    };
    let req = dangan_index::SearchRequest {
        query: q.clone(),
        datasets,
        scopes: session.search_scopes(),
        orgs,
        from: p.from,
        to: p.to,
        category: p.category,
        limit: p.limit.unwrap_or(20).min(200),
        offset: p.offset.unwrap_or(0).min(10_000),
        // The facets read every match's fast fields (seconds for a common word over
        // millions of rows): only when asked.
        facets: p.facets,
    };
    let index = state
        .index()
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let started = Instant::now();
    let cached = index.cached(&req);
    let found = timed(&state, async {
        if let Some(r) = cached {
            return Ok(Ok(r));
        }
        // Wait for a turn (the wait counts towards the query timeout).
        let _turn = match &state.search_slots {
            Some(slots) => Some(slots.acquire().await.map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })?),
            None => None,
        };
        tokio::task::spawn_blocking(move || index.search(&req))
            .await
            .map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })
    })
    .await?;
    let (rows, status) = match &found {
        Ok(r) => (r.total as i64, "ok".to_string()),
        Err(e) => (0, format!("error: {e}")),
    };
    session.record(
        &format!("api search: {q}"),
        rows,
        started.elapsed().as_millis() as i64,
        &status,
    );
    match found {
        Ok(r) => {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            // An index behind its tables answers without their newest rows: say so.
            let behind: Vec<String> = state
                .index_behind()
                .await
                .into_iter()
                .filter(|d| session.may_read(d))
                .collect();
            if !behind.is_empty()
                && let Some(o) = v.as_object_mut()
            {
                o.insert("index_behind".into(), json!(behind));
            }
            Ok(Json(v))
        }
        Err(dangan_index::Error::Query(m)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("查询有误 bad query: {m}"),
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            e.to_string(),
        )),
    }
}

/// Rows of a result as JSON objects, at most `max`, and whether there were more.
fn json_rows(r: &dangan_query::QueryResult, max: usize) -> ApiResult<(Vec<Value>, bool)> {
    let rows = dangan_query::archive::json_rows(r, max)?;
    let truncated = r.rows > rows.len();
    Ok((rows.into_iter().map(Value::Object).collect(), truncated))
}

/// The media type of an Arrow IPC stream: a client that accepts it gets the result as record
/// batches (no JSON to write or parse; pandas, polars and DuckDB read it as is).
const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

async fn run_sql(
    state: &AppState,
    session: Arc<QueryEngine>,
    headers: &HeaderMap,
    sql: &str,
    limit: usize,
) -> ApiResult<Response> {
    if sql.trim().is_empty() {
        return Err(ApiError::bad("q: give an SQL query 请输入 SQL"));
    }
    let _turn = turn(state, &session).await?;
    let r = timed(state, async { Ok(session.sql(sql).await?) }).await?;
    let max = limit.min(state.options.max_rows);
    let wants_arrow = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(ARROW_STREAM));
    if wants_arrow {
        return arrow_stream(&r, max);
    }
    let (rows, truncated) = json_rows(&r, max)?;
    let columns: Vec<Value> = r
        .schema
        .fields()
        .iter()
        .zip(&r.labels)
        .map(|(f, l)| json!({"name": f.name(), "type": f.data_type().to_string(), "label": l}))
        .collect();
    Ok(Json(json!({
        "columns": columns,
        "rows": rows,
        "row_count": r.rows,
        "truncated": truncated,
        "duration_ms": r.duration_ms as u64,
    }))
    .into_response())
}

/// A result as an Arrow IPC stream of at most `max` rows; each column's Chinese label in its
/// field metadata (`dangan.label`); the row count, truncation and duration in headers.
fn arrow_stream(r: &dangan_query::QueryResult, max: usize) -> ApiResult<Response> {
    use arrow::datatypes::{Field, Schema};
    use arrow::ipc::writer::StreamWriter;
    let internal = |e: arrow::error::ArrowError| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    };
    let fields: Vec<Field> = r
        .schema
        .fields()
        .iter()
        .zip(&r.labels)
        .map(|(f, l)| {
            let mut meta = f.metadata().clone();
            if let Some(l) = l {
                meta.insert("dangan.label".into(), l.clone());
            }
            f.as_ref().clone().with_metadata(meta)
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let mut body: Vec<u8> = Vec::new();
    let mut w = StreamWriter::try_new(&mut body, &schema).map_err(internal)?;
    let mut left = max;
    for b in &r.batches {
        if left == 0 {
            break;
        }
        let b = b.slice(0, b.num_rows().min(left));
        left -= b.num_rows();
        let b = arrow::record_batch::RecordBatch::try_new(schema.clone(), b.columns().to_vec())
            .map_err(internal)?;
        w.write(&b).map_err(internal)?;
    }
    w.finish().map_err(internal)?;
    drop(w);
    let truncated = r.rows > max;
    Ok((
        [
            (header::CONTENT_TYPE, ARROW_STREAM.to_string()),
            (
                header::HeaderName::from_static("x-dangan-row-count"),
                r.rows.to_string(),
            ),
            (
                header::HeaderName::from_static("x-dangan-truncated"),
                truncated.to_string(),
            ),
            (
                header::HeaderName::from_static("x-dangan-duration-ms"),
                r.duration_ms.to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

async fn sql_get(
    State(state): App,
    Caller { session, .. }: Caller,
    headers: HeaderMap,
    Params(p): Params<QueryParams>,
) -> ApiResult<Response> {
    let limit = p.limit.unwrap_or(state.options.max_rows);
    run_sql(&state, session, &headers, &p.q, limit).await
}

async fn sql_post(
    State(state): App,
    Caller { session, .. }: Caller,
    headers: HeaderMap,
    body: Result<Json<SqlBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(body) = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "请求过大 the request body is larger than {} bytes",
                    state.options.max_body_bytes
                ),
            )
        } else {
            ApiError::bad(format!("the body must be JSON {{\"sql\": \"…\"}}: {e}"))
        }
    })?;
    let limit = body.limit.unwrap_or(state.options.max_rows);
    run_sql(&state, session, &headers, &body.sql, limit).await
}

async fn member(
    State(state): App,
    Caller { session, .. }: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let lake = state.lake.clone();
    let _turn = turn(&state, &session).await?;
    let a = timed(&state, async {
        let id = dangan_query::archive::resolve(&lake, &session, &id).await?;
        Ok(dangan_query::archive::archive(&lake, &session, &id).await?)
    })
    .await?;
    Ok(Json(a))
}

async fn reports() -> Json<Value> {
    Json(json!({
        "reports": dangan_reports::REPORTS.iter().map(|r| json!({"name": r.name(), "title": r.title()})).collect::<Vec<_>>()
    }))
}

async fn report(
    State(state): App,
    Caller { session, .. }: Caller,
    Path(name): Path<String>,
    Params(p): Params<ReportParams>,
) -> ApiResult<Response> {
    use dangan_reports::render::Format;
    let def = dangan_reports::find(&name)?;
    let format = match p.format {
        ReportFormat::Json => Format::Json,
        ReportFormat::Html => Format::Html,
        ReportFormat::Md => Format::Md,
    };
    let mut params =
        dangan_reports::Params::new(p.as_of.unwrap_or_else(|| chrono::Local::now().date_naive()));
    params.from = p.from;
    params.to = p.to;
    params.org = p.org;
    if let Some(d) = p.inactive_days {
        params.inactive_days = d;
    }
    let lake = state.lake.clone();
    let _turn = turn(&state, &session).await?;
    let report = timed(&state, async {
        Ok(dangan_reports::run(&lake, &session, def, &params).await?)
    })
    .await?;
    let bytes = dangan_reports::render::render(&report, format)?;
    let content_type = match format {
        Format::Html => "text/html; charset=utf-8",
        Format::Md => "text/markdown; charset=utf-8",
        _ => "application/json",
    };
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

async fn runs(
    State(state): App,
    Caller { session, .. }: Caller,
    Params(p): Params<QueryParams>,
) -> ApiResult<Json<Value>> {
    let limit = p.limit.unwrap_or(50).min(1000);
    // The runs of the datasets the department may read with scope `all` (read by the
    // server: the internal tables are not the department's to query). A run's counts are
    // district-wide: a department limited to its own branches does not see them.
    let all_rows = session.search_scopes();
    let granted: Vec<String> = state
        .lake
        .registry()
        .iter()
        .filter(|s| {
            session.may_read(&s.name)
                && all_rows.as_ref().is_none_or(|scopes| {
                    scopes
                        .iter()
                        .any(|scope| scope.dataset == s.name && scope.reads_all())
                })
        })
        .map(|s| format!("'{}'", s.name.replace('\'', "''")))
        .collect();
    if granted.is_empty() {
        return Ok(Json(json!({"runs": []})));
    }
    let admin = state.admin_session().await?;
    let started = Instant::now();
    let sql = format!(
        "SELECT run_id, dataset, started_at, finished_at, mode, files_read, files_skipped, \
         files_failed, rows_read, rows_written, rows_quarantined, table_version, status \
         FROM system_import_runs WHERE dataset IN ({}) ORDER BY started_at DESC LIMIT {limit}",
        granted.join(", ")
    );
    // Read by the server, audited as the department's request.
    let r = admin.sql_unaudited(&sql).await;
    session.record(
        &format!("api runs: {}", granted.join(", ")),
        r.as_ref().map_or(0, |r| r.rows as i64),
        started.elapsed().as_millis() as i64,
        &r.as_ref()
            .map_or_else(|e| format!("error: {e}"), |_| "ok".to_string()),
    );
    let (rows, _) = json_rows(&r?, limit)?;
    Ok(Json(json!({ "runs": rows })))
}
