//! One sheet → typed Arrow columns plus quarantine entries, row by row.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use dangan_datasets::{ColumnType, DatasetSpec};

use crate::header::HeaderMatch;
use crate::reader::{RawCell, RawSheet};
use crate::value::{Problem, Value, convert};

/// A row that failed a check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QuarantineEntry {
    pub file: String,
    pub sheet: String,
    /// The row number the user sees in Excel (1-based).
    pub row: i64,
    pub column: String,
    pub header: String,
    pub value: String,
    pub reason: String,
    pub message: String,
    /// The whole row as `{header: value}` JSON, so that nothing is lost.
    pub raw: String,
}

/// Known ids and names of a referenced dataset (organizations by default).
#[derive(Debug, Clone, Default)]
pub struct ReferenceIndex {
    pub ids: HashSet<String>,
    /// Normalized name → id.
    pub names: HashMap<String, String>,
}

impl ReferenceIndex {
    pub fn normalize_name(s: &str) -> String {
        let t: String = dangan_text::fold_width(s)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        t.strip_prefix("中共").unwrap_or(&t).to_string()
    }

    /// The id for a value given as id or as name.
    pub fn resolve(&self, v: &str) -> Option<String> {
        if self.ids.contains(v) {
            return Some(v.to_string());
        }
        self.names.get(&Self::normalize_name(v)).cloned()
    }
}

enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Bool(BooleanBuilder),
}

const UNIX_EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

impl Builder {
    fn new(ty: ColumnType, cap: usize) -> Self {
        match ty {
            ColumnType::String => Builder::Str(StringBuilder::with_capacity(cap, cap * 8)),
            ColumnType::Int => Builder::Int(Int64Builder::with_capacity(cap)),
            ColumnType::Float => Builder::Float(Float64Builder::with_capacity(cap)),
            ColumnType::Date => Builder::Date(Date32Builder::with_capacity(cap)),
            ColumnType::Timestamp => Builder::Ts(TimestampMicrosecondBuilder::with_capacity(cap)),
            ColumnType::Bool => Builder::Bool(BooleanBuilder::with_capacity(cap)),
        }
    }

    fn push(&mut self, v: &Value) {
        match (self, v) {
            (Builder::Str(b), Value::Str(s)) => b.append_value(s),
            (Builder::Int(b), Value::Int(i)) => b.append_value(*i),
            (Builder::Float(b), Value::Float(f)) => b.append_value(*f),
            (Builder::Float(b), Value::Int(i)) => b.append_value(*i as f64),
            (Builder::Date(b), Value::Date(d)) => {
                b.append_value((*d - UNIX_EPOCH).num_days() as i32)
            }
            (Builder::Ts(b), Value::Timestamp(t)) => b.append_value(t.and_utc().timestamp_micros()),
            (Builder::Bool(b), Value::Bool(x)) => b.append_value(*x),
            (b, _) => b.push_null(),
        }
    }

    fn push_null(&mut self) {
        match self {
            Builder::Str(b) => b.append_null(),
            Builder::Int(b) => b.append_null(),
            Builder::Float(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Ts(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Ts(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
        }
    }
}

/// What converting one sheet produced.
pub struct Converted {
    pub batch: RecordBatch,
    pub rows_read: usize,
    pub quarantine: Vec<QuarantineEntry>,
}

/// Inputs of a conversion that do not change from file to file.
pub struct ConvertContext<'a> {
    pub spec: &'a DatasetSpec,
    /// Per spec column: the index of the dataset it references, if loaded.
    pub references: Vec<Option<&'a ReferenceIndex>>,
}

/// Convert the rows below the header. `source_rows` maps sheet rows back to the rows of the
/// original file (wide surveys); otherwise the sheet row is the file row.
pub fn convert_sheet(
    ctx: &ConvertContext,
    file: &str,
    sheet: &RawSheet,
    header: &HeaderMatch,
    source_rows: Option<&[usize]>,
) -> Result<Converted, arrow::error::ArrowError> {
    let spec = ctx.spec;
    let n = sheet.rows.len().saturating_sub(header.row + 1);
    let mut builders: Vec<Builder> = spec.columns.iter().map(|c| Builder::new(c.ty, n)).collect();
    // Sheet column feeding each spec column.
    let mut source_of: Vec<Option<usize>> = vec![None; spec.columns.len()];
    for (sc, target) in header.columns.iter().enumerate() {
        if let Some(t) = target {
            source_of[*t] = Some(sc);
        }
    }
    let headers: Vec<String> = sheet.rows[header.row]
        .iter()
        .map(RawCell::display)
        .collect();
    let mut quarantine = Vec::new();
    let mut rows_read = 0;
    let mut values: Vec<Value> = Vec::with_capacity(spec.columns.len());
    let empty = RawCell::Empty;
    for (r, row) in sheet.rows.iter().enumerate().skip(header.row + 1) {
        if row.iter().all(RawCell::is_empty) {
            continue;
        }
        rows_read += 1;
        values.clear();
        let mut problems: Vec<(usize, Problem)> = Vec::new();
        for (ci, col) in spec.columns.iter().enumerate() {
            let cell = source_of[ci].and_then(|sc| row.get(sc)).unwrap_or(&empty);
            // A referenced id may be given by name (a branch by its name): resolve first.
            let outcome = match (ctx.references[ci], cell) {
                (Some(index), RawCell::Text(t)) if !cell.is_empty() => {
                    let t = dangan_text::fold_width(dangan_text::trim_all(t));
                    index.resolve(&t).map(Value::Str).ok_or_else(|| {
                        let target = col.references.as_ref().map(|r| r.dataset.as_str()).unwrap_or("");
                        Problem { reason: "reference", message: format!("“{t}”在{target}中既不是编号也不是名称 (unknown id or name in {target})") }
                    })
                }
                _ => convert(col, cell),
            };
            let v = match outcome {
                Ok(Value::Null) if col.required => {
                    problems.push((
                        ci,
                        Problem {
                            reason: "required",
                            message: format!("必填项“{}”为空 (required value is empty)", col.label),
                        },
                    ));
                    Value::Null
                }
                Ok(v) => v,
                Err(p) => {
                    problems.push((ci, p));
                    Value::Null
                }
            };
            values.push(v);
        }
        cross_check(spec, &mut values, &mut problems);
        let file_row = source_rows.and_then(|s| s.get(r).copied()).unwrap_or(r) as i64 + 1;
        if problems.is_empty() {
            for (b, v) in builders.iter_mut().zip(&values) {
                b.push(v);
            }
        } else {
            let raw = raw_json(&headers, row);
            for (ci, p) in problems {
                let col = &spec.columns[ci];
                let sc = source_of[ci];
                quarantine.push(QuarantineEntry {
                    file: file.to_string(),
                    sheet: sheet.name.clone(),
                    row: file_row,
                    column: col.name.clone(),
                    header: sc.and_then(|i| headers.get(i).cloned()).unwrap_or_default(),
                    value: sc
                        .and_then(|i| row.get(i))
                        .map(RawCell::display)
                        .unwrap_or_default(),
                    reason: p.reason.to_string(),
                    message: p.message,
                    raw: raw.clone(),
                });
            }
        }
    }
    let arrays: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
    let batch = RecordBatch::try_new(spec.arrow_schema(), arrays)?;
    Ok(Converted {
        batch,
        rows_read,
        quarantine,
    })
}

/// Checks across columns: the birth date and gender inside an ID number must agree with the
/// birth date and gender columns (filled from the number when empty).
fn cross_check(spec: &DatasetSpec, values: &mut [Value], problems: &mut Vec<(usize, Problem)>) {
    let Some(id_i) = spec
        .columns
        .iter()
        .position(|c| c.check == Some(dangan_datasets::Check::CnIdCard))
    else {
        return;
    };
    let Value::Str(id) = &values[id_i] else {
        return;
    };
    let Ok(parsed) = dangan_datasets::idcard::parse(id) else {
        return;
    };
    if let Some(bi) = spec.column_index("birth_date") {
        match &values[bi] {
            Value::Date(d) if *d != parsed.birth_date => problems.push((
                bi,
                Problem {
                    reason: "id_mismatch",
                    message: format!("出生日期{d}与身份证号中的{}不一致 (birth date disagrees with the ID number)", parsed.birth_date),
                },
            )),
            Value::Null => values[bi] = Value::Date(parsed.birth_date),
            _ => {}
        }
    }
    if let Some(gi) = spec.column_index("gender") {
        let from_id = if parsed.male { "男" } else { "女" };
        match &values[gi] {
            Value::Str(g) if g != from_id => problems.push((
                gi,
                Problem {
                    reason: "id_mismatch",
                    message: format!("性别“{g}”与身份证号所示的“{from_id}”不一致 (gender disagrees with the ID number)"),
                },
            )),
            Value::Null => values[gi] = Value::Str(from_id.to_string()),
            _ => {}
        }
    }
}

fn raw_json(headers: &[String], row: &[RawCell]) -> String {
    let mut m = serde_json::Map::new();
    for (i, cell) in row.iter().enumerate() {
        if cell.is_empty() {
            continue;
        }
        let key = headers
            .get(i)
            .filter(|h| !h.is_empty())
            .cloned()
            .unwrap_or_else(|| format!("column {}", i + 1));
        m.insert(key, serde_json::Value::String(cell.display()));
    }
    serde_json::Value::Object(m).to_string()
}
