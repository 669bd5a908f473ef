//! The quarantine of an import run, as a department sees it: `GET /runs/{run}/quarantine`
//! (every rejected row with its problems and the row as it was) and
//! `GET /runs/{run}/fixes.xlsx` (the workbook a branch corrects and sends again). Rejected
//! rows may lack a valid organization, so no row scope can apply to them: only a department
//! granted the run's dataset with scope `all` sees them (the rule for importing), and personal
//! values are masked unless its grant makes them visible — by the column a header feeds and,
//! for headers no alias knows (a one-off `--mapping`), by what the value looks like.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dangan_datasets::Mask;
use dangan_datasets::access::{Access, Personal};
use dangan_ingest::quarantine::RejectedRow;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorResponses, internal};
use crate::extract::{Caller, may_import};
use crate::state::AppState;

/// A value that looks like an ID number (15 or 18 characters, digits and a final X) or a
/// mobile phone number (11 digits starting with 1).
fn looks_personal(v: &str) -> Option<Mask> {
    let v = v.trim();
    let digits = v.chars().filter(|c| c.is_ascii_digit()).count();
    let n = v.chars().count();
    if (n == 15 || n == 18) && (digits == n || digits == n - 1 && v.ends_with(['X', 'x'])) {
        return Some(Mask::IdNumber);
    }
    if n == 11 && digits == 11 && v.starts_with('1') {
        return Some(Mask::Phone);
    }
    None
}

/// The mask for a value of `column` (a personal column of the dataset) or of a value that
/// looks personal; `None`: shown as it is.
fn mask_for(
    spec: &dangan_datasets::DatasetSpec,
    column: Option<&str>,
    value: &str,
) -> Option<Mask> {
    match column.and_then(|c| spec.column(c)).and_then(|c| c.mask()) {
        Some(m) => Some(m),
        None => looks_personal(value),
    }
}

/// Dates written `YYYY-MM-DD` in a message, their month and day hidden (the ID-number check
/// quotes the birth date it found in the number).
fn mask_dates(m: &str) -> String {
    let chars: Vec<char> = m.chars().collect();
    let mut out = String::with_capacity(m.len());
    let mut i = 0;
    while i < chars.len() {
        let date = chars.len() - i >= 10
            && (0..10).all(|k| {
                let c = chars[i + k];
                if k == 4 || k == 7 {
                    c == '-'
                } else {
                    c.is_ascii_digit()
                }
            })
            && (i == 0 || !chars[i - 1].is_ascii_digit());
        if date {
            out.extend(&chars[i..i + 5]);
            out.push_str("**-**");
            i += 10;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Masks the personal values of one dataset's rejected rows.
pub(crate) struct Masker<'a> {
    spec: &'a dangan_datasets::DatasetSpec,
    aliases: Option<dangan_ingest::AliasMap>,
    /// Values hidden so far (trimmed original, masked), for the messages that quote them.
    hidden: Vec<(String, String)>,
}

impl<'a> Masker<'a> {
    pub(crate) fn new(spec: &'a dangan_datasets::DatasetSpec) -> Self {
        Masker {
            spec,
            aliases: dangan_ingest::AliasMap::new(spec, &[]).ok(),
            hidden: Vec::new(),
        }
    }

    /// The value of `column` (or of a header, resolved to its column), masked if personal.
    fn value(&mut self, column: Option<&str>, header: Option<&str>, v: &mut String) {
        let from_header = header
            .and_then(|h| self.aliases.as_ref()?.lookup(h))
            .map(|i| self.spec.columns[i].name.clone());
        let column = column.map(str::to_string).or(from_header);
        if let Some(m) = mask_for(self.spec, column.as_deref(), v) {
            let masked = dangan_query::udf::mask_text(m, v);
            if !v.trim().is_empty() {
                self.hidden.push((v.trim().to_string(), masked.clone()));
            }
            *v = masked;
        }
    }

    /// A message with every value hidden so far masked where it quotes one.
    fn message(&self, m: &mut String) {
        for (v, masked) in &self.hidden {
            if m.contains(v.as_str()) {
                *m = m.replace(v.as_str(), masked);
            }
        }
        if self
            .spec
            .columns
            .iter()
            .any(|c| c.mask() == Some(Mask::Year))
        {
            *m = mask_dates(m);
        }
    }

    /// Rows of the quarantine: the raw row, the problems' values, the messages.
    pub(crate) fn rows(&mut self, rows: &mut [RejectedRow]) {
        for r in rows {
            for (h, v) in &mut r.raw {
                self.value(None, Some(h), v);
            }
            for p in &mut r.problems {
                self.value(Some(&p.column), None, &mut p.value);
            }
            for p in &mut r.problems {
                self.message(&mut p.message);
            }
        }
    }

    /// An import report's sample of rejected cells (its raw row is `{header: value}` JSON).
    pub(crate) fn sample(&mut self, entries: &mut [dangan_ingest::QuarantineEntry]) {
        for e in entries.iter_mut() {
            if let Ok(serde_json::Value::Object(mut raw)) = serde_json::from_str(&e.raw) {
                for (h, v) in raw.iter_mut() {
                    if let serde_json::Value::String(s) = v {
                        self.value(None, Some(h), s);
                    }
                }
                e.raw = serde_json::Value::Object(raw).to_string();
            }
            self.value(Some(&e.column), None, &mut e.value);
        }
        for e in entries.iter_mut() {
            self.message(&mut e.message);
        }
    }
}

/// Whether the department's grant of the dataset shows personal values as they are.
pub(crate) async fn personal_visible(
    state: &AppState,
    department: &str,
    dataset: &str,
) -> Result<bool, ApiError> {
    let access = Access::load(&state.lake).await.map_err(internal)?;
    Ok(access
        .grant_for(department, dataset)
        .is_some_and(|g| g.personal == Personal::Visible))
}

/// A file as a department sees it: its name (the server's path is not its business).
pub(crate) fn file_name(path: &mut String) {
    if let Some(name) = std::path::Path::new(path.as_str()).file_name() {
        *path = name.to_string_lossy().into_owned();
    }
}

/// The run's rejected rows as the asking department may see them.
async fn rows_for(
    state: &AppState,
    caller: &Caller,
    run: &str,
) -> Result<(String, Vec<RejectedRow>), ApiError> {
    let department = caller.department.clone();
    let rows = dangan_ingest::quarantine::rejected_rows(&state.lake, Some(run))
        .await
        .map_err(|e| ApiError::bad(e.to_string()))?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("批次 {run} 没有被隔离的行 (run `{run}` has no quarantined rows)"),
        )
    };
    let Some(dataset) = rows.first().map(|r| r.dataset.clone()) else {
        return Err(not_found());
    };
    may_import(state, caller, &dataset).await?;
    let visible = personal_visible(state, &department, &dataset).await?;
    let mut rows = rows;
    for r in &mut rows {
        file_name(&mut r.file);
    }
    if !visible {
        let spec = state
            .lake
            .registry()
            .get(&dataset)
            .map_err(|e| ApiError::bad(e.to_string()))?;
        Masker::new(spec).rows(&mut rows);
    }
    Ok((dataset, rows))
}

/// `GET /runs/{run}/quarantine`'s answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct Quarantined {
    run: String,
    dataset: String,
    rows: Vec<QuarantinedRow>,
}

/// A rejected source row, with all of its problems.
#[derive(Serialize, ToSchema)]
pub(crate) struct QuarantinedRow {
    /// The file's name (no folder).
    file: String,
    sheet: String,
    /// The row's number in the file (1-based, as a spreadsheet shows it).
    row: i64,
    /// Each problem: column, header, value, reason, message.
    #[schema(value_type = Vec<Object>)]
    problems: Vec<dangan_ingest::quarantine::Problem>,
    /// The row as it was: [header, value] pairs in the file's column order.
    raw: Vec<(String, String)>,
}

/// A run's quarantined rows (problems and the row as it was; personal values masked unless
/// granted); needs the dataset granted with scope all.
#[utoipa::path(get, path = "/runs/{run}/quarantine", tag = "imports", operation_id = "run_quarantine",
    params(("run" = String, Path, description = "the run id")),
    responses((status = 200, description = "the rejected rows", body = Quarantined), ErrorResponses))]
pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(run): Path<String>,
) -> Result<Json<Quarantined>, ApiError> {
    let (dataset, rows) = rows_for(&state, &caller, &run).await?;
    let rows = rows
        .into_iter()
        .map(|r| QuarantinedRow {
            file: r.file,
            sheet: r.sheet,
            row: r.row,
            problems: r.problems,
            raw: r.raw,
        })
        .collect();
    Ok(Json(Quarantined { run, dataset, rows }))
}

/// The fixes workbook of `rows` as a download.
pub(crate) fn fixes_download(
    dir: &std::path::Path,
    rows: &[RejectedRow],
) -> Result<Response, ApiError> {
    std::fs::create_dir_all(dir).map_err(internal)?;
    let out = dir.join(format!("待修正-{}.xlsx", uuid::Uuid::new_v4()));
    dangan_ingest::quarantine::export_fixes(rows, &out).map_err(internal)?;
    let bytes = std::fs::read(&out).map_err(internal);
    let _ = std::fs::remove_file(&out);
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"fixes.xlsx\"; filename*=UTF-8''%E5%BE%85%E4%BF%AE%E6%AD%A3.xlsx"),
        ],
        bytes?,
    )
        .into_response())
}

/// A run's quarantined rows with what to fix, as a workbook (masked as the rows are).
#[utoipa::path(get, path = "/runs/{run}/fixes.xlsx", tag = "imports", operation_id = "run_fixes",
    params(("run" = String, Path, description = "the run id")),
    responses((status = 200, description = "xlsx", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), ErrorResponses))]
pub(crate) async fn fixes(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(run): Path<String>,
) -> Result<Response, ApiError> {
    let (_, rows) = rows_for(&state, &caller, &run).await?;
    fixes_download(&state.lake.dir().join("uploads").join("fixes"), &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_look_personal_are_masked_whatever_their_header() {
        let masked = |v: &str| looks_personal(v).map(|m| dangan_query::udf::mask_text(m, v));
        assert_eq!(
            masked("11010119900101123X"),
            Some("11**************3X".to_string())
        );
        assert_eq!(masked("13812345678"), Some("138****5678".to_string()));
        for plain in ["2024-05-01", "M0000001", "张三", "1234567", "23812345678"] {
            assert!(looks_personal(plain).is_none(), "{plain}");
        }
    }

    #[test]
    fn messages_hide_the_month_and_day_of_dates() {
        assert_eq!(
            mask_dates("出生日期1980-01-02与身份证号中的1980-01-01不一致"),
            "出生日期1980-**-**与身份证号中的1980-**-**不一致"
        );
        assert_eq!(mask_dates("row 12, 2024-05"), "row 12, 2024-05");
    }
}
