//! The lake's internal tables (import runs, file ledger, quarantine, audit, access, saved views): Delta tables under
//! `system/`, seen in SQL as `system_<name>`.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// One internal table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemTable {
    /// One row per import run: who, when, what, counts, resulting version.
    ImportRuns,
    /// One row per imported file: its SHA-256, size, run and counts.
    FileLedger,
    /// Rows that failed a check, with file, sheet, row, column, value and reason.
    Quarantine,
    /// One row per query made on behalf of a department.
    Audit,
    /// Departments and their grants (see `access.rs`).
    Access,
    /// Views saved with `dangan view save` (see `views.rs`).
    Views,
    /// One row per step of every pipeline run (see the `pipelines` crate).
    PipelineRuns,
    /// API tokens: created and revoked, by hash (see `tokens.rs`).
    Tokens,
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

fn s(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn i(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}

impl SystemTable {
    pub const ALL: &'static [SystemTable] = &[
        SystemTable::ImportRuns,
        SystemTable::FileLedger,
        SystemTable::Quarantine,
        SystemTable::Audit,
        SystemTable::Access,
        SystemTable::Views,
        SystemTable::PipelineRuns,
        SystemTable::Tokens,
    ];

    /// Directory name under `system/`.
    pub fn short_name(self) -> &'static str {
        match self {
            SystemTable::ImportRuns => "import_runs",
            SystemTable::FileLedger => "file_ledger",
            SystemTable::Quarantine => "quarantine",
            SystemTable::Audit => "audit",
            SystemTable::Access => "access",
            SystemTable::Views => "views",
            SystemTable::PipelineRuns => "pipeline_runs",
            SystemTable::Tokens => "tokens",
        }
    }

    /// Name used for the table in the lake API and in SQL.
    pub fn table_name(self) -> String {
        format!("system_{}", self.short_name())
    }

    pub fn from_table_name(name: &str) -> Option<SystemTable> {
        let short = name.strip_prefix("system_")?;
        Self::ALL.iter().copied().find(|t| t.short_name() == short)
    }

    pub fn schema(self) -> SchemaRef {
        let fields = match self {
            SystemTable::ImportRuns => vec![
                s("run_id"),
                s("dataset"),
                Field::new("started_at", ts(), true),
                Field::new("finished_at", ts(), true),
                s("user"),
                s("host"),
                s("mode"),
                i("files_read"),
                i("files_skipped"),
                i("files_failed"),
                i("rows_read"),
                i("rows_written"),
                i("rows_quarantined"),
                i("table_version"),
                s("status"),
                s("message"),
            ],
            SystemTable::FileLedger => vec![
                s("sha256"),
                s("path"),
                s("file_name"),
                i("size_bytes"),
                s("dataset"),
                s("run_id"),
                s("sheet"),
                i("rows_read"),
                i("rows_written"),
                i("rows_quarantined"),
                i("table_version"),
                Field::new("imported_at", ts(), true),
            ],
            SystemTable::Quarantine => vec![
                s("run_id"),
                s("dataset"),
                s("file"),
                s("sheet"),
                i("row"),
                s("column"),
                s("header"),
                s("value"),
                s("reason"),
                s("message"),
                s("raw"),
                Field::new("quarantined_at", ts(), true),
            ],
            SystemTable::Audit => vec![
                Field::new("at", ts(), true),
                s("department"),
                s("sql"),
                i("rows"),
                i("duration_ms"),
                s("status"),
            ],
            SystemTable::Views => vec![
                s("name"),
                s("sql"),
                s("saved_by"),
                Field::new("saved_at", ts(), true),
            ],
            SystemTable::PipelineRuns => vec![
                s("run_id"),
                s("pipeline"),
                s("trigger"),
                Field::new("run_started_at", ts(), true),
                Field::new("run_finished_at", ts(), true),
                s("run_status"),
                i("step"),
                s("kind"),
                s("detail"),
                Field::new("started_at", ts(), true),
                i("duration_ms"),
                s("status"),
                i("files"),
                i("waiting"),
                i("rows_written"),
                i("rows_quarantined"),
                s("message"),
                s("host"),
            ],
            SystemTable::Tokens => vec![
                s("id"),
                s("department"),
                s("sha256"),
                s("action"),
                Field::new("at", ts(), true),
            ],
            SystemTable::Access => vec![
                s("kind"),
                s("department"),
                s("dataset"),
                s("scope"),
                s("personal"),
                s("orgs"),
                Field::new("at", ts(), true),
            ],
        };
        Arc::new(Schema::new(fields))
    }
}
