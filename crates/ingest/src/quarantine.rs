//! Reading the quarantine back: runs with rejected rows, the rows of a run, and the fixes
//! workbook a branch gets back to correct and send again.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, Int64Array, StringArray};
use arrow::datatypes::DataType;
use dangan_datasets::sheet::{Cell, Sheet, write_xlsx};
use dangan_datasets::{Lake, SystemTable};
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

fn strings(b: &arrow::record_batch::RecordBatch, i: usize) -> Result<StringArray> {
    let c = arrow::compute::cast(b.column(i), &DataType::Utf8)?;
    Ok(c.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .unwrap_or_else(|| StringArray::from(Vec::<Option<String>>::new())))
}

/// Every rejected row, of one run or of all runs, in file and row order.
pub async fn rejected_rows(lake: &Lake, run: Option<&str>) -> Result<Vec<RejectedRow>> {
    let cols = [
        "run_id", "dataset", "file", "sheet", "row", "column", "header", "value", "reason",
        "message", "raw",
    ];
    let batches = lake
        .scan(&SystemTable::Quarantine.table_name(), &cols)
        .await?;
    let mut rows: BTreeMap<(String, String, i64), RejectedRow> = BTreeMap::new();
    for b in &batches {
        let s: Vec<StringArray> = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10]
            .iter()
            .map(|i| strings(b, *i))
            .collect::<Result<_>>()?;
        let row = arrow::compute::cast(b.column(4), &DataType::Int64)?;
        let row = row
            .as_any()
            .downcast_ref::<Int64Array>()
            .cloned()
            .unwrap_or_else(|| Int64Array::from(Vec::<i64>::new()));
        let get = |a: &StringArray, i: usize| {
            if a.is_null(i) {
                String::new()
            } else {
                a.value(i).to_string()
            }
        };
        for i in 0..b.num_rows() {
            let run_id = get(&s[0], i);
            if run.is_some_and(|r| r != run_id) {
                continue;
            }
            let key = (run_id.clone(), get(&s[2], i), row.value(i));
            let entry = rows.entry(key).or_insert_with(|| RejectedRow {
                run_id,
                dataset: get(&s[1], i),
                file: get(&s[2], i),
                sheet: get(&s[3], i),
                row: row.value(i),
                problems: Vec::new(),
                raw: serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&get(
                    &s[9], i,
                ))
                .map(|m| {
                    m.into_iter()
                        .map(|(k, v)| {
                            (
                                k,
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            });
            entry.problems.push(Problem {
                column: get(&s[4], i),
                header: get(&s[5], i),
                value: get(&s[6], i),
                reason: get(&s[7], i),
                message: get(&s[8], i),
            });
        }
    }
    Ok(rows.into_values().collect())
}

/// One line per run that quarantined rows.
pub async fn runs(lake: &Lake) -> Result<Vec<RunSummary>> {
    let rows = rejected_rows(lake, None).await?;
    let done = lake
        .scan(&SystemTable::ImportRuns.table_name(), &["run_id"])
        .await?;
    let mut completed = std::collections::HashSet::new();
    for b in &done {
        let a = strings(b, 0)?;
        completed.extend(
            (0..a.len())
                .filter(|i| !a.is_null(*i))
                .map(|i| a.value(i).to_string()),
        );
    }
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
