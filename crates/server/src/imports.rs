//! Imports from the web page: an uploaded `.xlsx`/`.xls`/`.csv` is kept under
//! `<lake>/uploads/<id>/`, checked with a dry run (what would go in, what would be rejected and
//! why) and imported only when the organizer confirms — through the same importer, under the
//! lake's one-writer lock, one atomic commit, the index brought in step after. The rejected
//! rows of a confirmed import come back as the fixes workbook. A department imports only into
//! datasets it was granted with `--import` (scope `all`: rows of other organizations are not
//! its own to write), never the organizations; the token is checked before the body is read;
//! every preview and import is a row of the department's audit; uploads are removed after
//! seven days (in an encrypted lake: the file as soon as it is imported, an unconfirmed one
//! after a day).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dangan_ingest::{ImportOptions, ImportReport};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorResponses, internal};
use crate::extract::{Caller, Params, may_import};
use crate::state::AppState;

/// The largest file an upload takes.
pub(crate) const MAX_UPLOAD: usize = 50 << 20;

/// What is kept beside an upload.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    department: String,
    dataset: String,
    file: String,
    uploaded_at: String,
    /// The import run, once confirmed.
    run_id: Option<String>,
}

fn uploads(state: &AppState) -> PathBuf {
    state.lake.dir().join("uploads")
}

fn ingest_error(e: dangan_ingest::Error) -> ApiError {
    ApiError::bad(e.to_string())
}

/// Uploads older than this are removed when the next upload arrives: a preview that was
/// never confirmed, and the files of confirmed ones (their rows are in the lake).
const UPLOADS_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long an unconfirmed upload is kept: a day in an encrypted lake (the file is the
/// branch's plaintext), else [`UPLOADS_KEPT`].
fn kept(state: &AppState) -> Duration {
    if state.lake.config().encryption.is_some() {
        Duration::from_secs(24 * 3600)
    } else {
        UPLOADS_KEPT
    }
}

/// Remove the upload folders older than `kept`.
fn clean_uploads(dir: &std::path::Path, kept: Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > kept);
        // Only upload folders (`<time>-<id>`), never `fixes/`.
        let upload = e.file_name().to_string_lossy().contains('-');
        if old && upload && e.path().is_dir() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn read_meta(state: &AppState, id: &str) -> Result<(PathBuf, Meta), ApiError> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ApiError::bad("not an upload id"));
    }
    let dir = uploads(state).join(id);
    let text = std::fs::read_to_string(dir.join("meta.json")).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no upload `{id}` 没有此上传"),
        )
    })?;
    let meta: Meta = serde_json::from_str(&text).map_err(internal)?;
    Ok((dir, meta))
}

fn write_meta(dir: &std::path::Path, meta: &Meta) -> Result<(), ApiError> {
    std::fs::write(
        dir.join("meta.json"),
        serde_json::to_string_pretty(meta).map_err(internal)?,
    )
    .map_err(internal)
}

async fn run_import(
    state: &AppState,
    meta: &Meta,
    file: PathBuf,
    dry_run: bool,
) -> Result<ImportReport, ApiError> {
    // A confirmed import brings the server's index in step with it, like `dangan import`.
    let index = if dry_run {
        None
    } else {
        state.index().await.ok()
    };
    let opts = ImportOptions {
        dataset: meta.dataset.clone(),
        paths: vec![file.clone()],
        dry_run,
        user: Some(format!("web {}", meta.department)),
        ..ImportOptions::default()
    };
    // The server's folders are nobody's business: file names only, in the report and in
    // every message.
    let folder = file
        .parent()
        .map(|p| format!("{}/", p.display()))
        .unwrap_or_default();
    let hide = |m: &str| m.replace(&folder, "");
    let done = dangan_pipelines::import::import_in_step(
        &state.lake,
        &opts,
        index.as_deref(),
        &|_, _, _| {},
        &|_, _| {},
    )
    .await
    .map_err(|e| ApiError::bad(hide(&e.to_string())))?;
    if let Some(Err(e)) = &done.index {
        tracing::warn!(error = %e, "index sync after a web import failed");
    }
    let mut report = done.import;
    for f in &mut report.files {
        if let Some(name) = f.path.file_name() {
            f.path = name.into();
        }
        if let dangan_ingest::FileStatus::Failed(m) | dangan_ingest::FileStatus::Skipped(m) =
            &mut f.status
        {
            *m = hide(m);
        }
    }
    // The sample of rejected cells as the department may see it.
    for e in &mut report.quarantine_sample {
        crate::quarantine::file_name(&mut e.file);
        e.message = hide(&e.message);
    }
    if !crate::quarantine::personal_visible(state, &meta.department, &meta.dataset).await? {
        let spec = state
            .lake
            .registry()
            .get(&meta.dataset)
            .map_err(|e| ApiError::bad(e.to_string()))?;
        crate::quarantine::Masker::new(spec).sample(&mut report.quarantine_sample);
    }
    Ok(report)
}

/// An upload's check or import as a row of the department's audit.
fn audit_import(
    session: &dangan_query::QueryEngine,
    meta: &Meta,
    what: &str,
    started: std::time::Instant,
    report: &Result<ImportReport, ApiError>,
) {
    let (rows, status) = match report {
        Ok(r) => (
            r.rows_written as i64,
            format!(
                "ok: run {}, {} rows read, {} written, {} quarantined",
                r.run_id, r.rows_read, r.rows_written, r.rows_quarantined
            ),
        ),
        Err(e) => (0, format!("error: {}", e.message())),
    };
    session.record(
        &format!("web {what} {} {}", meta.dataset, meta.file),
        rows,
        started.elapsed().as_millis() as i64,
        &status,
    );
}

/// `POST /imports`' query string.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct UploadParams {
    /// The dataset the file is for.
    #[serde(default, deserialize_with = "crate::extract::text")]
    #[param(required = true)]
    dataset: Option<String>,
    /// The file's name (its extension says its kind: .xlsx, .xls, .csv, …).
    #[serde(default, deserialize_with = "crate::extract::text")]
    #[param(required = true)]
    filename: Option<String>,
}

/// `POST /imports`' answer: the upload's id and what a dry run of it found.
#[derive(Serialize, ToSchema)]
pub(crate) struct Uploaded {
    /// The upload's id, for `/imports/{id}/commit`.
    upload: String,
    dataset: String,
    file: String,
    /// The dry run's report: rows that would go in, rows that would be rejected and why.
    #[schema(value_type = Object)]
    preview: ImportReport,
}

/// `POST /imports/{id}/commit`'s answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct Committed {
    upload: String,
    /// The import's report (run_id, rows written and quarantined, the table's version).
    #[schema(value_type = Object)]
    report: ImportReport,
}

/// Upload a file (the request body) and check it: a dry run says what would go in and what
/// would be rejected; nothing is written until `/imports/{id}/commit`. Needs a grant of the
/// dataset with scope all.
#[utoipa::path(post, path = "/imports", tag = "imports", params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "the upload and its dry run", body = Uploaded), ErrorResponses))]
pub(crate) async fn upload(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Params(p): Params<UploadParams>,
    body: Body,
) -> Result<Json<Uploaded>, ApiError> {
    let dataset = p
        .dataset
        .ok_or_else(|| ApiError::bad("dataset: which dataset the file is for 请选择数据集"))?;
    // The token and the grant first: nobody's body is read before they are known.
    let (department, session) = may_import(&state, &caller, &dataset).await?;
    let body: Bytes = axum::body::to_bytes(body, MAX_UPLOAD).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("文件过大 the file is larger than {} MB", MAX_UPLOAD >> 20),
        )
    })?;
    let name = p
        .filename
        .map(|f| {
            std::path::Path::new(&f)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::bad("filename: the file's name (its extension says its kind)"))?;
    let ext = std::path::Path::new(&name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if !dangan_ingest::supported_extensions().contains(&ext.as_str()) {
        return Err(ApiError::bad(format!(
            "{name}: 只能导入 xlsx、xls、csv 文件 (supported: {})",
            dangan_ingest::supported_extensions().join(", ")
        )));
    }
    if body.is_empty() {
        return Err(ApiError::bad("the file is empty 文件为空"));
    }
    let id = format!(
        "{}-{}",
        chrono::Local::now().format("%Y%m%dT%H%M%S"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    clean_uploads(&uploads(&state), kept(&state));
    let dir = uploads(&state).join(&id);
    std::fs::create_dir_all(&dir).map_err(internal)?;
    let file = dir.join(&name);
    std::fs::write(&file, &body).map_err(internal)?;
    let meta = Meta {
        department,
        dataset,
        file: name,
        uploaded_at: chrono::Local::now().to_rfc3339(),
        run_id: None,
    };
    write_meta(&dir, &meta)?;
    let started = std::time::Instant::now();
    let report = run_import(&state, &meta, file, true).await;
    audit_import(&session, &meta, "preview", started, &report);
    let report = report?;
    Ok(Json(Uploaded {
        upload: id,
        dataset: meta.dataset,
        file: meta.file,
        preview: report,
    }))
}

/// Import the checked upload: one atomic commit under the lake's lock, then the index.
#[utoipa::path(post, path = "/imports/{id}/commit", tag = "imports", operation_id = "commit_upload",
    params(("id" = String, Path, description = "the upload id")),
    responses((status = 200, description = "the import report", body = Committed), ErrorResponses))]
pub(crate) async fn commit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Committed>, ApiError> {
    let (dir, mut meta) = read_meta(&state, &id)?;
    let (department, session) = may_import(&state, &caller, &meta.dataset).await?;
    if department != meta.department {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no upload `{id}`"),
        ));
    }
    if let Some(run) = &meta.run_id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_imported",
            format!("这个文件已导入 (imported already, run {run})"),
        ));
    }
    let what = format!("web import {} by {}", meta.dataset, meta.department);
    let lock =
        dangan_datasets::LakeLock::acquire(&state.lake, &what, Duration::from_secs(120), |_| {})
            .await
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string()))?;
    let started = std::time::Instant::now();
    let report = run_import(&state, &meta, dir.join(&meta.file), false).await;
    audit_import(&session, &meta, "import", started, &report);
    let report = report?;
    drop(lock);
    // What was just written shows at once (the run list, the department's queries).
    state.refresh_sessions().await;
    meta.run_id = Some(report.run_id.clone());
    write_meta(&dir, &meta)?;
    // An encrypted lake keeps no plaintext copy: the rows are in the lake now, sealed (the
    // rejected ones in the quarantine, which the fixes workbook is made from).
    if state.lake.config().encryption.is_some() {
        let _ = std::fs::remove_file(dir.join(&meta.file));
    }
    Ok(Json(Committed { upload: id, report }))
}

/// The rejected rows of a confirmed upload, with what to fix, as a workbook.
#[utoipa::path(get, path = "/imports/{id}/fixes.xlsx", tag = "imports", operation_id = "upload_fixes",
    params(("id" = String, Path, description = "the upload id")),
    responses((status = 200, description = "xlsx", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), ErrorResponses))]
pub(crate) async fn fixes(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (dir, meta) = read_meta(&state, &id)?;
    let department = caller.department.clone();
    if department != meta.department {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no upload `{id}`"),
        ));
    }
    let Some(run) = &meta.run_id else {
        return Err(ApiError::bad(
            "not imported yet: confirm it first 尚未确认导入",
        ));
    };
    let rows = dangan_ingest::quarantine::rejected_rows(&state.lake, Some(run))
        .await
        .map_err(ingest_error)?;
    if rows.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "没有被隔离的行 (no rejected rows)",
        ));
    }
    crate::quarantine::fixes_download(&dir, &rows)
}

/// The dataset's import template (导入模板): Chinese headers, drop-down lists of the allowed
/// values and the lake's branches, validations, hints, a 填写说明 sheet — for a department
/// that may import into it.
#[utoipa::path(get, path = "/datasets/{name}/template.xlsx", tag = "imports",
    params(("name" = String, Path, description = "the dataset")),
    responses((status = 200, description = "xlsx", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), ErrorResponses))]
pub(crate) async fn template(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(dataset): Path<String>,
) -> Result<Response, ApiError> {
    let (_, session) = may_import(&state, &caller, &dataset).await?;
    let spec = state
        .lake
        .registry()
        .get(&dataset)
        .map_err(|e| ApiError::bad(e.to_string()))?
        .clone();
    let choices = dangan_ingest::template_choices(&state.lake, &spec)
        .await
        .map_err(internal)?;
    let bytes = dangan_ingest::template::template(&spec, &choices).map_err(internal)?;
    session.record(&format!("web template {dataset}"), 0, 0, "ok");
    let name = format!("{}导入模板.xlsx", spec.label);
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{dataset}-template.xlsx\"; filename*=UTF-8''{encoded}"
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}
