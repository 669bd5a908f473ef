//! Reading the quarantine back: runs with rejected rows, the rows of a run, and the fixes
//! workbook a branch gets back to correct and send again.

use std::collections::BTreeMap;
use std::path::Path;

use dangan_datasets::sheet::{Cell, Sheet, write_xlsx};
use dangan_datasets::{ImportRunRow, Lake, QuarantineRow, SystemTable};
use serde::Serialize;

use crate::error::Result;

/// One problem with one cell.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub column: String,
    pub header: String,
    pub value: String,
    pub reason: String,
    pub message: String,
}

/// A source row that was rejected, with all of its problems.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedRow {
    pub run_id: String,
    pub dataset: String,
    pub file: String,
    pub sheet: String,
    pub row: i64,
    pub problems: Vec<Problem>,
    /// The row as it was: (header, value) in the file's column order.
    pub raw: Vec<(String, String)>,
}

/// Runs that left rows in quarantine.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub dataset: String,
    pub rows: usize,
    pub problems: usize,
    pub files: usize,
    /// False when the run died before its commit (its files are retried by the next run).
    pub completed: bool,
}

/// Every rejected row, of one run or of all runs, in file and row order.
pub async fn rejected_rows(lake: &Lake, run: Option<&str>) -> Result<Vec<RejectedRow>> {
    let cols = [
        "run_id", "dataset", "file", "sheet", "row", "column", "header", "value", "reason",
        "message", "raw",
    ];
    let table = SystemTable::Quarantine;
    let batches = lake.scan(&table.table_name(), &cols).await?;
    let mut rows: BTreeMap<(String, String, i64), RejectedRow> = BTreeMap::new();
    for q in table.rows::<QuarantineRow>(&batches)? {
        let run_id = q.run_id.unwrap_or_default();
        if run.is_some_and(|r| r != run_id) {
            continue;
        }
        let file = q.file.unwrap_or_default();
        let row = q.row.unwrap_or_default();
        let entry = rows
            .entry((run_id.clone(), file.clone(), row))
            .or_insert_with(|| RejectedRow {
                run_id,
                dataset: q.dataset.unwrap_or_default(),
                file,
                sheet: q.sheet.unwrap_or_default(),
                row,
                problems: Vec::new(),
                raw: raw_cells(q.raw.as_deref().unwrap_or_default()),
            });
        entry.problems.push(Problem {
            column: q.column.unwrap_or_default(),
            header: q.header.unwrap_or_default(),
            value: q.value.unwrap_or_default(),
            reason: q.reason.unwrap_or_default(),
            message: q.message.unwrap_or_default(),
        });
    }
    Ok(rows.into_values().collect())
}

/// The row as it was, from its `{header: value}` JSON, in the file's column order.
fn raw_cells(raw: &str) -> Vec<(String, String)> {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw)
        .map(|m| {
            m.into_iter()
                .map(|(k, v)| {
                    let v = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    (k, v)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One line per run that quarantined rows.
pub async fn runs(lake: &Lake) -> Result<Vec<RunSummary>> {
    let rows = rejected_rows(lake, None).await?;
    let runs = SystemTable::ImportRuns;
    let done = lake.scan(&runs.table_name(), &["run_id"]).await?;
    let completed: std::collections::HashSet<String> = runs
        .rows::<ImportRunRow>(&done)?
        .into_iter()
        .filter_map(|r| r.run_id)
        .collect();
    let mut out: BTreeMap<String, (RunSummary, std::collections::HashSet<String>)> =
        BTreeMap::new();
    for r in rows {
        let (sum, files) = out.entry(r.run_id.clone()).or_insert_with(|| {
            (
                RunSummary {
                    run_id: r.run_id.clone(),
                    dataset: r.dataset.clone(),
                    rows: 0,
                    problems: 0,
                    files: 0,
                    completed: completed.contains(&r.run_id),
                },
                Default::default(),
            )
        });
        sum.rows += 1;
        sum.problems += r.problems.len();
        files.insert(r.file.clone());
        sum.files = files.len();
    }
    Ok(out.into_values().map(|(s, _)| s).collect())
}

/// The fixes workbook: the rejected rows with their original headers and values, then the
/// problems in Chinese. Correct the cells, delete the two problem columns or not (they are
/// reported as unknown and left out), and import the file again.
pub fn export_fixes(rows: &[RejectedRow], out: &Path) -> Result<usize> {
    let mut headers: Vec<String> = Vec::new();
    for r in rows {
        for (h, _) in &r.raw {
            if !headers.contains(h) {
                headers.push(h.clone());
            }
        }
    }
    let mut all: Vec<&str> = headers.iter().map(String::as_str).collect();
    all.extend([
        "问题所在列 problem column",
        "问题说明 what is wrong",
        "来源 source",
    ]);
    let mut sheet = Sheet::new(&all);
    for r in rows {
        let mut cells: Vec<Cell> = headers
            .iter()
            .map(|h| {
                r.raw
                    .iter()
                    .find(|(k, _)| k == h)
                    .map(|(_, v)| Cell::Str(v.clone()))
                    .unwrap_or(Cell::Empty)
            })
            .collect();
        cells.push(Cell::Str(
            r.problems
                .iter()
                .map(|p| {
                    if p.header.is_empty() {
                        p.column.clone()
                    } else {
                        p.header.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join("；"),
        ));
        cells.push(Cell::Str(
            r.problems
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("；"),
        ));
        let file = Path::new(&r.file)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        cells.push(Cell::Str(format!("{file} 第{}行", r.row)));
        sheet.push(cells);
    }
    write_xlsx(out, "待修正", &sheet, None)?;
    Ok(rows.len())
}
