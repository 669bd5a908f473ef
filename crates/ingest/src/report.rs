//! What an import run reports: each file's outcome and the run's metrics.

use std::path::PathBuf;

use serde::Serialize;

use crate::convert::QuarantineEntry;

/// What happened to one file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum FileStatus {
    Imported,
    /// Same content was imported before (by an earlier run or earlier in this one).
    Skipped(String),
    Failed(String),
}

/// What one file gave.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    pub sha256: String,
    pub size_bytes: u64,
    pub sheet: Option<String>,
    /// 1-based row of the header in the sheet.
    pub header_row: Option<usize>,
    pub rows_read: usize,
    pub rows_written: usize,
    pub rows_quarantined: usize,
    /// Rows that repeat an earlier row of the run exactly (same key, same values): one is kept.
    pub rows_merged: usize,
    pub unknown_headers: Vec<String>,
    /// Headers that repeat a column another header already feeds (left out).
    pub duplicate_headers: Vec<String>,
    /// The text encoding a CSV was read in.
    pub encoding: Option<String>,
    /// Sheets of a workbook that were not imported, each with why.
    pub sheets_left: Vec<String>,
    /// What a filled import template tells (one from an older spec).
    pub template_note: Option<String>,
    /// The names of the sheets imported (for the markers).
    #[serde(skip)]
    pub sheets_imported: Vec<String>,
    #[serde(flatten)]
    pub status: FileStatus,
}

impl FileReport {
    /// A file about to be read: imported unless planning finds it was before.
    pub(crate) fn new(path: PathBuf, sha256: String, size_bytes: u64) -> Self {
        FileReport {
            path,
            sha256,
            size_bytes,
            sheet: None,
            header_row: None,
            rows_read: 0,
            rows_written: 0,
            rows_quarantined: 0,
            rows_merged: 0,
            unknown_headers: Vec::new(),
            duplicate_headers: Vec::new(),
            encoding: None,
            sheets_left: Vec::new(),
            template_note: None,
            sheets_imported: Vec::new(),
            status: FileStatus::Imported,
        }
    }
}

/// The metrics of an import run.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub run_id: String,
    pub dataset: String,
    pub mode: String,
    pub dry_run: bool,
    pub files: Vec<FileReport>,
    pub files_read: usize,
    pub files_skipped: usize,
    pub files_failed: usize,
    pub rows_read: usize,
    pub rows_written: usize,
    pub rows_quarantined: usize,
    pub rows_merged: usize,
    /// An upsert's outcome in the table: rows new, changed, unchanged (`None` for other modes
    /// and dry runs).
    pub upsert: Option<dangan_datasets::UpsertCounts>,
    /// Why the run wrote nothing although files were read (a replace that would have emptied
    /// the table); the CLI exits 1 with it.
    pub refused: Option<String>,
    /// Table version after the commit (`None` when nothing was committed).
    pub table_version: Option<i64>,
    pub duration_ms: u128,
    /// A few quarantine entries, for the CLI to show.
    pub quarantine_sample: Vec<QuarantineEntry>,
}

impl ImportReport {
    /// True when everything that was read went in.
    pub fn clean(&self) -> bool {
        self.files_failed == 0 && self.rows_quarantined == 0 && self.refused.is_none()
    }
}
