//! The lake's internal tables (import runs, file ledger, quarantine, audit, access, saved views): Delta tables under
//! `system/`, seen in SQL as `system_<name>`.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDateTime;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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

impl SystemTable {
    /// `rows` as a batch of this table: each row a struct whose fields are the table's
    /// columns (serde_arrow against [`SystemTable::schema`]), not columns built by position.
    pub fn batch<R: Serialize>(self, rows: &[R]) -> Result<RecordBatch> {
        serde_arrow::to_record_batch(self.schema().fields(), &rows).map_err(|source| Error::Rows {
            table: self.table_name(),
            source,
        })
    }

    /// The rows of batches read from this table (every column, or those `R` names), as
    /// structs.
    pub fn rows<R: DeserializeOwned>(self, batches: &[RecordBatch]) -> Result<Vec<R>> {
        let mut out = Vec::new();
        for b in batches {
            out.extend(
                serde_arrow::from_record_batch::<Vec<R>>(b).map_err(|source| Error::Rows {
                    table: self.table_name(),
                    source,
                })?,
            );
        }
        Ok(out)
    }
}

/// A row of `system_import_runs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportRunRow {
    pub run_id: Option<String>,
    pub dataset: Option<String>,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub mode: Option<String>,
    pub files_read: Option<i64>,
    pub files_skipped: Option<i64>,
    pub files_failed: Option<i64>,
    pub rows_read: Option<i64>,
    pub rows_written: Option<i64>,
    pub rows_quarantined: Option<i64>,
    pub table_version: Option<i64>,
    pub status: Option<String>,
    pub message: Option<String>,
}

/// A row of `system_file_ledger`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileLedgerRow {
    pub sha256: Option<String>,
    pub path: Option<String>,
    pub file_name: Option<String>,
    pub size_bytes: Option<i64>,
    pub dataset: Option<String>,
    pub run_id: Option<String>,
    pub sheet: Option<String>,
    pub rows_read: Option<i64>,
    pub rows_written: Option<i64>,
    pub rows_quarantined: Option<i64>,
    pub table_version: Option<i64>,
    pub imported_at: Option<NaiveDateTime>,
}

/// A row of `system_quarantine`: one problem with one cell of a rejected row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuarantineRow {
    pub run_id: Option<String>,
    pub dataset: Option<String>,
    pub file: Option<String>,
    pub sheet: Option<String>,
    pub row: Option<i64>,
    pub column: Option<String>,
    pub header: Option<String>,
    pub value: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
    /// The row as it was: a JSON object of header → value.
    pub raw: Option<String>,
    pub quarantined_at: Option<NaiveDateTime>,
}

/// A row of `system_audit`: one query made on behalf of a department.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub at: Option<NaiveDateTime>,
    pub department: Option<String>,
    pub sql: Option<String>,
    pub rows: Option<i64>,
    pub duration_ms: Option<i64>,
    pub status: Option<String>,
}

/// A row of `system_access`: a department added or removed, a grant given or taken.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessRow {
    pub kind: Option<String>,
    pub department: Option<String>,
    pub dataset: Option<String>,
    pub scope: Option<String>,
    pub personal: Option<String>,
    pub orgs: Option<String>,
    pub at: Option<NaiveDateTime>,
}

/// A row of `system_views`: a view saved (or dropped: no SQL).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewRow {
    pub name: Option<String>,
    pub sql: Option<String>,
    pub saved_by: Option<String>,
    pub saved_at: Option<NaiveDateTime>,
}

/// A row of `system_pipeline_runs`: one step of a pipeline run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineRunRow {
    pub run_id: Option<String>,
    pub pipeline: Option<String>,
    pub trigger: Option<String>,
    pub run_started_at: Option<NaiveDateTime>,
    pub run_finished_at: Option<NaiveDateTime>,
    pub run_status: Option<String>,
    pub step: Option<i64>,
    pub kind: Option<String>,
    pub detail: Option<String>,
    pub started_at: Option<NaiveDateTime>,
    pub duration_ms: Option<i64>,
    pub status: Option<String>,
    pub files: Option<i64>,
    pub waiting: Option<i64>,
    pub rows_written: Option<i64>,
    pub rows_quarantined: Option<i64>,
    pub message: Option<String>,
    pub host: Option<String>,
}

/// A row of `system_tokens`: a token created or revoked (by its hash).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: Option<String>,
    pub department: Option<String>,
    pub sha256: Option<String>,
    pub action: Option<String>,
    pub at: Option<NaiveDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row struct fits its table's schema both ways: every column named, every type
    /// accepted, a timestamp kept to the microsecond.
    #[test]
    fn every_row_struct_round_trips_through_its_schema() {
        fn check<R: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug + Default>(
            table: SystemTable,
            row: R,
        ) {
            let rows = vec![row, R::default()];
            let batch = table.batch(&rows).unwrap();
            assert_eq!(batch.schema(), table.schema(), "{table:?}");
            assert_eq!(table.rows::<R>(&[batch]).unwrap(), rows, "{table:?}");
        }
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 5)
            .unwrap()
            .and_hms_micro_opt(21, 30, 1, 123_456);
        let s = |v: &str| Some(v.to_string());
        check(
            SystemTable::ImportRuns,
            ImportRunRow {
                run_id: s("r1"),
                started_at: at,
                files_read: Some(2),
                table_version: Some(7),
                ..Default::default()
            },
        );
        check(
            SystemTable::FileLedger,
            FileLedgerRow {
                sha256: s("ab"),
                size_bytes: Some(10),
                imported_at: at,
                ..Default::default()
            },
        );
        check(
            SystemTable::Quarantine,
            QuarantineRow {
                run_id: s("r1"),
                row: Some(3),
                raw: s("{\"姓名\":\"张伟\"}"),
                quarantined_at: at,
                ..Default::default()
            },
        );
        check(
            SystemTable::Audit,
            AuditRow {
                at,
                department: s("教育局"),
                rows: Some(1),
                ..Default::default()
            },
        );
        check(
            SystemTable::Access,
            AccessRow {
                kind: s("grant"),
                at,
                ..Default::default()
            },
        );
        check(
            SystemTable::Views,
            ViewRow {
                name: s("v"),
                saved_at: at,
                ..Default::default()
            },
        );
        check(
            SystemTable::PipelineRuns,
            PipelineRunRow {
                run_id: s("p1"),
                step: Some(1),
                started_at: at,
                ..Default::default()
            },
        );
        check(
            SystemTable::Tokens,
            TokenRow {
                id: s("t1"),
                at,
                ..Default::default()
            },
        );
    }
}
