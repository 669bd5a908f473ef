//! Rows for the lake's internal tables: quarantine, file ledger, import runs.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDateTime;
use dangan_datasets::SystemTable;

use crate::convert::QuarantineEntry;
use crate::report::{FileReport, FileStatus, ImportReport};

fn s<I: IntoIterator<Item = Option<String>>>(it: I) -> ArrayRef {
    Arc::new(StringArray::from_iter(it))
}
fn i<I: IntoIterator<Item = Option<i64>>>(it: I) -> ArrayRef {
    Arc::new(Int64Array::from_iter(it))
}
fn ts<I: IntoIterator<Item = Option<NaiveDateTime>>>(it: I) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter(
        it.into_iter()
            .map(|t| t.map(|t| t.and_utc().timestamp_micros())),
    ))
}

pub fn quarantine_batch(
    run_id: &str,
    dataset: &str,
    q: &[QuarantineEntry],
    now: NaiveDateTime,
) -> arrow::error::Result<RecordBatch> {
    let n = q.len();
    RecordBatch::try_new(
        SystemTable::Quarantine.schema(),
        vec![
            s((0..n).map(|_| Some(run_id.to_string()))),
            s((0..n).map(|_| Some(dataset.to_string()))),
            s(q.iter().map(|e| Some(e.file.clone()))),
            s(q.iter().map(|e| Some(e.sheet.clone()))),
            i(q.iter().map(|e| Some(e.row))),
            s(q.iter().map(|e| Some(e.column.clone()))),
            s(q.iter().map(|e| Some(e.header.clone()))),
            s(q.iter().map(|e| Some(e.value.clone()))),
            s(q.iter().map(|e| Some(e.reason.clone()))),
            s(q.iter().map(|e| Some(e.message.clone()))),
            s(q.iter().map(|e| Some(e.raw.clone()))),
            ts((0..n).map(|_| Some(now))),
        ],
    )
}

pub fn ledger_batch(
    run_id: &str,
    dataset: &str,
    files: &[&FileReport],
    version: i64,
    now: NaiveDateTime,
) -> arrow::error::Result<RecordBatch> {
    let n = files.len();
    RecordBatch::try_new(
        SystemTable::FileLedger.schema(),
        vec![
            s(files.iter().map(|f| Some(f.sha256.clone()))),
            s(files.iter().map(|f| Some(f.path.display().to_string()))),
            s(files
                .iter()
                .map(|f| f.path.file_name().map(|n| n.to_string_lossy().into_owned()))),
            i(files.iter().map(|f| Some(f.size_bytes as i64))),
            s((0..n).map(|_| Some(dataset.to_string()))),
            s((0..n).map(|_| Some(run_id.to_string()))),
            s(files.iter().map(|f| f.sheet.clone())),
            i(files.iter().map(|f| Some(f.rows_read as i64))),
            i(files.iter().map(|f| Some(f.rows_written as i64))),
            i(files.iter().map(|f| Some(f.rows_quarantined as i64))),
            i((0..n).map(|_| Some(version))),
            ts((0..n).map(|_| Some(now))),
        ],
    )
}

pub fn run_batch(
    r: &ImportReport,
    started: NaiveDateTime,
    finished: NaiveDateTime,
    user: Option<&str>,
) -> arrow::error::Result<RecordBatch> {
    let status = if r.files_read == 0 && r.files_failed == 0 {
        "nothing_new"
    } else if r.clean() {
        "ok"
    } else {
        "ok_with_rejects"
    };
    let user = user
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok());
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string());
    let failed: Vec<String> = r
        .files
        .iter()
        .filter_map(|f| match &f.status {
            FileStatus::Failed(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    RecordBatch::try_new(
        SystemTable::ImportRuns.schema(),
        vec![
            s([Some(r.run_id.clone())]),
            s([Some(r.dataset.clone())]),
            ts([Some(started)]),
            ts([Some(finished)]),
            s([user]),
            s([host]),
            s([Some(r.mode.clone())]),
            i([Some(r.files_read as i64)]),
            i([Some(r.files_skipped as i64)]),
            i([Some(r.files_failed as i64)]),
            i([Some(r.rows_read as i64)]),
            i([Some(r.rows_written as i64)]),
            i([Some(r.rows_quarantined as i64)]),
            i([r.table_version]),
            s([Some(status.to_string())]),
            s([(!failed.is_empty()).then(|| failed.join("\n"))]),
        ],
    )
}
