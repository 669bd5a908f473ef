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
use dangan_query::QueryEngine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorResponses, internal};
use crate::extract::{self, Caller, Params};
use crate::state::AppState;

type App = State<Arc<AppState>>;

/// `GET /search`'s query string.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// What to search for: jieba words, "phrases", -exclusions, OR; names and their pinyin.
    #[serde(default, deserialize_with = "extract::text")]
    #[param(required = true)]
    q: Option<String>,
    /// Only these datasets (comma-separated).
    #[serde(default, deserialize_with = "extract::text")]
    dataset: Option<String>,
    /// Only this organization and those under it.
    #[serde(default, deserialize_with = "extract::text")]
    org: Option<String>,
    /// From this day (2024-01-01, 2024/1/1, 2024年1月1日, …).
    #[serde(default, deserialize_with = "extract::day")]
    from: Option<chrono::NaiveDate>,
    /// To this day.
    #[serde(default, deserialize_with = "extract::day")]
    to: Option<chrono::NaiveDate>,
    /// Only this category.
    #[serde(default, deserialize_with = "extract::text")]
    category: Option<String>,
    /// Hits per page (default 20, at most 200).
    limit: Option<usize>,
    /// Hits to skip.
    offset: Option<usize>,
    /// Also count every match per dataset, organization and year (default false: it costs a
    /// pass over every match).
    #[serde(default, deserialize_with = "extract::flag")]
    facets: bool,
    /// Count every match for `total` even without facets (default false: up to 10,000, then
    /// `total` is a lower bound and `total_exact` false; a common word's exact count is a pass
    /// over all its matches).
    #[serde(default, deserialize_with = "extract::flag")]
    exact_total: bool,
}

/// Without facets or `exact_total`, a search counts its matches up to this many.
const COUNT_TO: usize = 10_000;

/// `GET /reports/{name}`'s query string.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportParams {
    /// json (default), html or md.
    #[serde(default)]
    #[param(inline)]
    format: ReportFormat,
    /// The day the report is as of (default today).
    #[serde(default, deserialize_with = "extract::day")]
    as_of: Option<chrono::NaiveDate>,
    /// First day.
    #[serde(default, deserialize_with = "extract::day")]
    from: Option<chrono::NaiveDate>,
    /// Last day.
    #[serde(default, deserialize_with = "extract::day")]
    to: Option<chrono::NaiveDate>,
    /// An organization and those under it.
    #[serde(default, deserialize_with = "extract::text")]
    org: Option<String>,
    /// Engagement: days without activity that count as inactive.
    inactive_days: Option<u32>,
}

/// The formats the API writes a report in (xlsx is the CLI's: a file).
#[derive(Deserialize, Default, Clone, Copy, ToSchema)]
#[serde(rename_all = "lowercase")]
enum ReportFormat {
    #[default]
    Json,
    Html,
    Md,
}

/// `GET /sql`'s query string.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SqlParams {
    /// The SQL (one read-only query).
    #[serde(default)]
    #[param(required = true)]
    q: String,
    /// Rows returned at most (the server's limit caps it).
    limit: Option<usize>,
    /// How the JSON answer gives its rows: `objects` (the default) or `arrays`.
    rows: Option<RowShape>,
}

/// How a JSON answer gives its rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RowShape {
    /// One object per row, column name → value, a null left out.
    #[default]
    Objects,
    /// One array per row, its values in the order of `columns`, a null written `null` — the
    /// shape of Trino's and Presto's protocols: no names repeated in every row, so about half
    /// the bytes and faster for a client to parse.
    Arrays,
}

/// `GET /runs`' query string.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunsParams {
    /// Runs at most (default 50, at most 1000).
    limit: Option<usize>,
}

/// `POST /sql`'s body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SqlBody {
    /// The SQL (one read-only query).
    sql: String,
    /// Rows returned at most (the server's limit caps it).
    limit: Option<usize>,
    /// How the JSON answer gives its rows: `objects` (the default) or `arrays`.
    rows: Option<RowShape>,
}

/// A SQL result as JSON (`Accept: application/vnd.apache.arrow.stream` gets the rows as an
/// Arrow IPC stream instead).
#[derive(Serialize, ToSchema)]
pub(crate) struct SqlResult {
    columns: Vec<SqlColumn>,
    /// One object per row, column name → value (a null left out); with `rows: "arrays"` one
    /// array per row, its values in the order of `columns`.
    rows: Vec<Value>,
    /// Rows of the whole result (more than `rows` when `truncated`).
    row_count: usize,
    truncated: bool,
    duration_ms: u64,
}

/// A column of a SQL result.
#[derive(Serialize, ToSchema)]
pub(crate) struct SqlColumn {
    name: String,
    /// Its Arrow type (`Utf8`, `Int64`, `Date32`, …).
    #[serde(rename = "type")]
    data_type: String,
    /// Its Chinese label, when the column is a dataset's.
    label: Option<String>,
}

/// `GET /search`'s answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct SearchAnswer {
    /// Every match (not only this page); with `total_exact` false, at least this many.
    total: usize,
    /// Whether `total` counts every match (always with `facets` or `exact_total`).
    total_exact: bool,
    hits: Vec<dangan_index::Hit>,
    /// Counts of all matches per dataset, organization and year (empty unless `facets`).
    facets: dangan_index::Facets,
    /// The datasets whose newest rows the index does not hold yet (it is being brought in
    /// step); absent when it holds them all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    index_behind: Vec<String>,
}

/// `GET /reports`' answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReportList {
    reports: Vec<ReportInfo>,
}

/// A report there is.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReportInfo {
    /// Its name in `/reports/{name}`.
    name: &'static str,
    /// Its Chinese title.
    title: &'static str,
}

/// `GET /runs`' answer: import runs, newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct RunList {
    runs: Vec<RunRow>,
}

/// An import run (a row of `system_import_runs`).
#[derive(Serialize, ToSchema)]
pub(crate) struct RunRow {
    run_id: Option<String>,
    dataset: Option<String>,
    started_at: Option<chrono::NaiveDateTime>,
    finished_at: Option<chrono::NaiveDateTime>,
    /// append, upsert or replace.
    mode: Option<String>,
    files_read: Option<i64>,
    files_skipped: Option<i64>,
    files_failed: Option<i64>,
    rows_read: Option<i64>,
    rows_written: Option<i64>,
    rows_quarantined: Option<i64>,
    /// The table's version after the run's commit (none when nothing was committed).
    table_version: Option<i64>,
    /// ok, ok_with_rejects or nothing_new.
    status: Option<String>,
}

impl From<dangan_datasets::ImportRunRow> for RunRow {
    fn from(r: dangan_datasets::ImportRunRow) -> Self {
        RunRow {
            run_id: r.run_id,
            dataset: r.dataset,
            started_at: r.started_at,
            finished_at: r.finished_at,
            mode: r.mode,
            files_read: r.files_read,
            files_skipped: r.files_skipped,
            files_failed: r.files_failed,
            rows_read: r.rows_read,
            rows_written: r.rows_written,
            rows_quarantined: r.rows_quarantined,
            table_version: r.table_version,
            status: r.status,
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The API's routes and their OpenAPI document, from one list: each handler's
/// `#[utoipa::path]` says its method, path, parameters and answers, and the same entry
/// registers it with axum.
pub(crate) fn routes_and_document() -> (Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    use crate::{imports, quarantine};
    OpenApiRouter::with_openapi(crate::openapi::Document::openapi())
        .routes(routes!(openapi))
        .routes(routes!(whoami))
        .routes(routes!(datasets))
        .routes(routes!(imports::template))
        .routes(routes!(search))
        .routes(routes!(sql_get, sql_post))
        .routes(routes!(member))
        .routes(routes!(reports))
        .routes(routes!(report))
        .routes(routes!(runs))
        .routes(routes!(quarantine::show))
        .routes(routes!(quarantine::fixes))
        .routes(
            routes!(imports::upload)
                .layer(axum::extract::DefaultBodyLimit::max(imports::MAX_UPLOAD)),
        )
        .routes(routes!(imports::commit))
        .routes(routes!(imports::fixes))
        .split_for_parts()
}

/// The API's routes (see [`routes_and_document`]).
pub fn routes() -> Router<Arc<AppState>> {
    routes_and_document().0
}

pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such page or endpoint 没有此地址",
    )
}

/// This document (no token needed).
#[utoipa::path(get, path = "/openapi.json", tag = "api", security(()),
    responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
pub(crate) async fn openapi() -> Json<Value> {
    static DOCUMENT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    Json(DOCUMENT.get_or_init(crate::openapi::document).clone())
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
#[derive(Serialize, ToSchema)]
pub(crate) struct WhoAmI {
    department: String,
    datasets: Vec<String>,
}

/// The token's department and the datasets it may read.
#[utoipa::path(get, path = "/whoami", tag = "api",
    responses((status = 200, description = "the department and its datasets", body = WhoAmI), ErrorResponses))]
pub(crate) async fn whoami(
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
#[derive(Serialize, ToSchema)]
pub(crate) struct DatasetList {
    datasets: Vec<DatasetInfo>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DatasetInfo {
    name: String,
    label: String,
    key: Vec<String>,
    columns: Vec<ColumnInfo>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ColumnInfo {
    name: String,
    label: String,
    /// An ID number, phone or birth date: masked unless the grant says visible.
    personal: bool,
    /// Indexed for full-text search.
    text: bool,
}

/// The datasets the department may read, with their columns and Chinese labels.
#[utoipa::path(get, path = "/datasets", tag = "api",
    responses((status = 200, description = "the datasets and their columns", body = DatasetList), ErrorResponses))]
pub(crate) async fn datasets(
    State(state): App,
    Caller { session, .. }: Caller,
) -> Json<DatasetList> {
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

/// Full-text search (jieba words, "phrases", -exclusions, OR; names and pinyin) over what the
/// department may read.
#[utoipa::path(get, path = "/search", tag = "search", params(SearchParams),
    responses((status = 200, description = "the hits of this page, the total and the facets", body = SearchAnswer), ErrorResponses))]
pub(crate) async fn search(
    State(state): App,
    Caller {
        department,
        session,
    }: Caller,
    Params(p): Params<SearchParams>,
) -> ApiResult<Json<SearchAnswer>> {
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
        count_to: (!p.exact_total).then_some(COUNT_TO),
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
            // An index behind its tables answers without their newest rows: say so.
            let index_behind: Vec<String> = state
                .index_behind()
                .await
                .into_iter()
                .filter(|d| session.may_read(d))
                .collect();
            Ok(Json(SearchAnswer {
                total: r.total,
                total_exact: r.total_exact,
                hits: r.hits,
                facets: r.facets,
                index_behind,
            }))
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

/// The media type of an Arrow IPC stream: a client that accepts it gets the result as record
/// batches (no JSON to write or parse; pandas, polars and DuckDB read it as is).
const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

async fn run_sql(
    state: &AppState,
    session: Arc<QueryEngine>,
    headers: &HeaderMap,
    sql: &str,
    limit: usize,
    shape: RowShape,
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
    json_answer(&r, max, shape)
}

/// The first `max` rows of a result, in its schema (for the record batches of a stream).
fn first_rows(
    r: &dangan_query::QueryResult,
    max: usize,
) -> impl Iterator<Item = arrow::record_batch::RecordBatch> + '_ {
    let mut left = max;
    r.batches.iter().map_while(move |b| {
        (left > 0).then(|| {
            let b = b.slice(0, b.num_rows().min(left));
            left -= b.num_rows();
            b
        })
    })
}

/// A result as the JSON document [`SqlResult`] describes, at most `max` rows, written straight
/// from its record batches by arrow's JSON writer (`dangan sql --format json`'s: an object per
/// row, its keys in column order, a null left out; or an array per row) — not through a
/// `serde_json::Map` per row, which cost more than the query itself for a few thousand rows.
fn json_answer(r: &dangan_query::QueryResult, max: usize, shape: RowShape) -> ApiResult<Response> {
    use std::io::Write;
    let columns: Vec<SqlColumn> = r
        .schema
        .fields()
        .iter()
        .zip(&r.labels)
        .map(|(f, l)| SqlColumn {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            label: l.clone(),
        })
        .collect();
    let mut body: Vec<u8> = Vec::with_capacity(1024);
    body.extend_from_slice(b"{\"columns\":");
    serde_json::to_writer(&mut body, &columns).map_err(internal)?;
    body.extend_from_slice(b",\"rows\":");
    let rows: Vec<_> = first_rows(r, max).collect();
    match shape {
        RowShape::Objects => dangan_query::write_batches(
            &mut body,
            &r.schema,
            &rows,
            dangan_query::OutputFormat::Json,
        )?,
        RowShape::Arrays => {
            use arrow::json::{StructMode, WriterBuilder, writer::JsonArray};
            let mut w = WriterBuilder::new()
                .with_struct_mode(StructMode::ListOnly)
                .build::<_, JsonArray>(&mut body);
            // (An empty batch would open an array of its own; `finish` writes `[]` for none.)
            for b in rows.iter().filter(|b| b.num_rows() > 0) {
                w.write(b).map_err(internal)?;
            }
            w.finish().map_err(internal)?;
        }
    }
    write!(
        body,
        ",\"row_count\":{},\"truncated\":{},\"duration_ms\":{}}}",
        r.rows,
        r.rows > max,
        r.duration_ms as u64
    )
    .map_err(internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A result as an Arrow IPC stream of at most `max` rows; each column's Chinese label in its
/// field metadata (`dangan.label`); the row count, truncation and duration in headers.
fn arrow_stream(r: &dangan_query::QueryResult, max: usize) -> ApiResult<Response> {
    use arrow::datatypes::{Field, Schema};
    use arrow::ipc::writer::StreamWriter;
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
    for b in first_rows(r, max) {
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

/// Run one read-only SQL query over what the department may read.
#[utoipa::path(get, path = "/sql", tag = "sql", params(SqlParams),
    responses((status = 200, description = "the result", content(
        (SqlResult = "application/json"),
        (Vec<u8> = "application/vnd.apache.arrow.stream"),
    )), ErrorResponses))]
pub(crate) async fn sql_get(
    State(state): App,
    Caller { session, .. }: Caller,
    headers: HeaderMap,
    Params(p): Params<SqlParams>,
) -> ApiResult<Response> {
    let limit = p.limit.unwrap_or(state.options.max_rows);
    let shape = p.rows.unwrap_or_default();
    run_sql(&state, session, &headers, &p.q, limit, shape).await
}

/// Run one read-only SQL query (a JSON body); with `Accept: application/vnd.apache.arrow.stream`
/// the rows come as an Arrow IPC stream (each column's Chinese label in its field metadata
/// `dangan.label`; headers x-dangan-row-count, x-dangan-truncated, x-dangan-duration-ms).
#[utoipa::path(post, path = "/sql", tag = "sql", request_body = SqlBody,
    responses((status = 200, description = "the result", content(
        (SqlResult = "application/json"),
        (Vec<u8> = "application/vnd.apache.arrow.stream"),
    )), ErrorResponses))]
pub(crate) async fn sql_post(
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
    let shape = body.rows.unwrap_or_default();
    run_sql(&state, session, &headers, &body.sql, limit, shape).await
}

/// One member's archive: profile, appraisals, development, growth records, …
#[utoipa::path(get, path = "/members/{id}", tag = "members",
    params(("id" = String, Path, description = "member_id (or a name or its pinyin when only one member matches)")),
    responses((status = 200, description = "member, org_name, sections", body = Object), ErrorResponses))]
pub(crate) async fn member(
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

/// The reports there are.
#[utoipa::path(get, path = "/reports", tag = "reports",
    responses((status = 200, description = "the reports", body = ReportList)))]
pub(crate) async fn reports() -> Json<ReportList> {
    Json(ReportList {
        reports: dangan_reports::REPORTS
            .iter()
            .map(|r| ReportInfo {
                name: r.name(),
                title: r.title(),
            })
            .collect(),
    })
}

/// A report (membership, appraisal, development, meetings, engagement, sentiment, survey,
/// operators, feedback) over what the department may read.
#[utoipa::path(get, path = "/reports/{name}", tag = "reports",
    params(("name" = String, Path, description = "the report"), ReportParams),
    responses((status = 200, description = "the report, in the format asked for", content(
        (Object = "application/json"),
        (String = "text/html"),
        (String = "text/markdown"),
    )), ErrorResponses))]
pub(crate) async fn report(
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

/// Import runs of the datasets the department may read with scope all, newest first.
#[utoipa::path(get, path = "/runs", tag = "imports", params(RunsParams),
    responses((status = 200, description = "the runs", body = RunList), ErrorResponses))]
pub(crate) async fn runs(
    State(state): App,
    Caller { session, .. }: Caller,
    Params(p): Params<RunsParams>,
) -> ApiResult<Json<RunList>> {
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
        return Ok(Json(RunList { runs: Vec::new() }));
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
    let runs = dangan_datasets::SystemTable::ImportRuns
        .rows::<dangan_datasets::ImportRunRow>(&r?.batches)
        .map_err(crate::error::internal)?
        .into_iter()
        .map(RunRow::from)
        .collect();
    Ok(Json(RunList { runs }))
}
