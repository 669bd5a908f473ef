//! Rows for the lake's internal tables: quarantine, file ledger, import runs (each row a
//! struct of `dangan_datasets`, made into a batch by its table).

use chrono::NaiveDateTime;
use dangan_datasets::{FileLedgerRow, ImportRunRow, QuarantineRow, SystemTable};

use crate::convert::QuarantineEntry;
use crate::report::{FileReport, FileStatus, ImportReport};

type Result<T> = std::result::Result<T, dangan_datasets::Error>;

pub fn quarantine_batch(
    run_id: &str,
    dataset: &str,
    q: &[QuarantineEntry],
    now: NaiveDateTime,
) -> Result<arrow::record_batch::RecordBatch> {
    let rows: Vec<QuarantineRow> = q
        .iter()
        .map(|e| QuarantineRow {
            run_id: Some(run_id.to_string()),
            dataset: Some(dataset.to_string()),
            file: Some(e.file.clone()),
            sheet: Some(e.sheet.clone()),
            row: Some(e.row),
            column: Some(e.column.clone()),
            header: Some(e.header.clone()),
            value: Some(e.value.clone()),
            reason: Some(e.reason.clone()),
            message: Some(e.message.clone()),
            raw: Some(e.raw.clone()),
            quarantined_at: Some(now),
        })
        .collect();
    SystemTable::Quarantine.batch(&rows)
}

pub fn ledger_batch(
    run_id: &str,
    dataset: &str,
    files: &[&FileReport],
    version: i64,
    now: NaiveDateTime,
) -> Result<arrow::record_batch::RecordBatch> {
    let rows: Vec<FileLedgerRow> = files
        .iter()
        .map(|f| FileLedgerRow {
            sha256: Some(f.sha256.clone()),
            path: Some(f.path.display().to_string()),
            file_name: f.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            size_bytes: Some(f.size_bytes as i64),
            dataset: Some(dataset.to_string()),
            run_id: Some(run_id.to_string()),
            sheet: f.sheet.clone(),
            rows_read: Some(f.rows_read as i64),
            rows_written: Some(f.rows_written as i64),
            rows_quarantined: Some(f.rows_quarantined as i64),
            table_version: Some(version),
            imported_at: Some(now),
        })
        .collect();
    SystemTable::FileLedger.batch(&rows)
}

pub fn run_batch(
    r: &ImportReport,
    started: NaiveDateTime,
    finished: NaiveDateTime,
    user: Option<&str>,
) -> Result<arrow::record_batch::RecordBatch> {
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
    SystemTable::ImportRuns.batch(&[ImportRunRow {
        run_id: Some(r.run_id.clone()),
        dataset: Some(r.dataset.clone()),
        started_at: Some(started),
        finished_at: Some(finished),
        user,
        host,
        mode: Some(r.mode.clone()),
        files_read: Some(r.files_read as i64),
        files_skipped: Some(r.files_skipped as i64),
        files_failed: Some(r.files_failed as i64),
        rows_read: Some(r.rows_read as i64),
        rows_written: Some(r.rows_written as i64),
        rows_quarantined: Some(r.rows_quarantined as i64),
        table_version: r.table_version,
        status: Some(status.to_string()),
        message: (!failed.is_empty()).then(|| failed.join("\n")),
    }])
}
