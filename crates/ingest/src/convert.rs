//! One sheet → typed Arrow columns plus quarantine entries, row by row.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::record_batch::RecordBatch;
use chrono::Datelike;
use dangan_datasets::{ColumnType, DatasetSpec};

use crate::header::HeaderMatch;
use crate::reader::{CellRef, RawCell, RawSheet, Rows};
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
            (Builder::Date(b), Value::Date(d) | Value::Month(d, _)) => {
                b.append_value(d.to_epoch_days())
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
    /// The file row (1-based, as Excel shows it) of each row of `batch`.
    pub file_rows: Vec<i64>,
    pub rows_read: usize,
    pub quarantine: Vec<QuarantineEntry>,
}

impl Converted {
    /// Several conversions (the sheets of one workbook) as one.
    pub fn concat(parts: Vec<Converted>) -> Result<Converted, arrow::error::ArrowError> {
        let mut parts = parts.into_iter();
        let Some(mut all) = parts.next() else {
            return Err(arrow::error::ArrowError::InvalidArgumentError(
                "nothing to concatenate".into(),
            ));
        };
        let mut batches = vec![all.batch.clone()];
        for p in parts {
            batches.push(p.batch);
            all.file_rows.extend(p.file_rows);
            all.rows_read += p.rows_read;
            all.quarantine.extend(p.quarantine);
        }
        if batches.len() > 1 {
            all.batch = arrow::compute::concat_batches(&all.batch.schema(), &batches)?;
        }
        Ok(all)
    }
}

/// Inputs of a conversion that do not change from file to file.
pub struct ConvertContext<'a> {
    pub spec: &'a DatasetSpec,
    /// Per spec column: the index of the dataset it references, if loaded.
    pub references: Vec<Option<&'a ReferenceIndex>>,
    /// Per spec column: the value `--set column=value` gives every row (for a column the
    /// file does not have).
    pub constants: Vec<Option<String>>,
    /// The ID-number column and the columns checked against it.
    id_column: Option<usize>,
    birth_column: Option<usize>,
    gender_column: Option<usize>,
}

impl<'a> ConvertContext<'a> {
    pub fn new(spec: &'a DatasetSpec, references: Vec<Option<&'a ReferenceIndex>>) -> Self {
        ConvertContext {
            spec,
            references,
            constants: vec![None; spec.columns.len()],
            id_column: spec
                .columns
                .iter()
                .position(|c| c.check == Some(dangan_datasets::Check::CnIdCard)),
            birth_column: spec.column_index("birth_date"),
            gender_column: spec.column_index("gender"),
        }
    }
}

/// How the rows of a conversion map back to the rows of the file the user sees.
#[derive(Clone, Copy)]
pub enum RowNumbers<'a> {
    /// Row `r` is file row `r` (0-based).
    Same,
    /// The first data row is file row `offset`, the next `offset + 1`, … (a part of a streamed
    /// file).
    Offset(usize),
    /// Row `r` is file row `map[r]` (wide surveys turned long).
    Map(&'a [usize]),
}

impl RowNumbers<'_> {
    /// The 1-based row number shown in Excel.
    fn file_row(&self, r: usize, data_from: usize) -> i64 {
        let zero_based = match self {
            RowNumbers::Same => r,
            RowNumbers::Offset(o) => o + r - data_from,
            RowNumbers::Map(m) => m.get(r).copied().unwrap_or(r),
        };
        zero_based as i64 + 1
    }
}

/// What a conversion reads: rows (from `data_from` on) under a matched header.
pub struct RowSource<'a> {
    pub sheet: &'a str,
    pub rows: &'a dyn Rows,
    pub data_from: usize,
    /// The header cells as the user wrote them (for quarantine messages).
    pub headers: &'a [String],
    pub header: &'a HeaderMatch,
    pub numbers: RowNumbers<'a>,
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
    let headers: Vec<String> = sheet.rows[header.row]
        .iter()
        .map(RawCell::display)
        .collect();
    convert_rows(
        ctx,
        file,
        &RowSource {
            sheet: &sheet.name,
            rows: sheet,
            data_from: header.row + 1,
            headers: &headers,
            header,
            numbers: source_rows.map_or(RowNumbers::Same, RowNumbers::Map),
        },
    )
}

/// Convert rows into one batch plus the quarantine entries of the rows that failed a check.
pub fn convert_rows(
    ctx: &ConvertContext,
    file: &str,
    src: &RowSource,
) -> Result<Converted, arrow::error::ArrowError> {
    let spec = ctx.spec;
    let rows = src.rows;
    let n = rows.row_count().saturating_sub(src.data_from);
    let mut builders: Vec<Builder> = spec.columns.iter().map(|c| Builder::new(c.ty, n)).collect();
    // Sheet column feeding each spec column.
    let mut source_of: Vec<Option<usize>> = vec![None; spec.columns.len()];
    for (sc, target) in src.header.columns.iter().enumerate() {
        if let Some(t) = target {
            source_of[*t] = Some(sc);
        }
    }
    let mut quarantine = Vec::new();
    let mut file_rows = Vec::with_capacity(n);
    let mut rows_read = 0;
    let mut values: Vec<Value> = Vec::with_capacity(spec.columns.len());
    let mut problems: Vec<(usize, Problem)> = Vec::new();
    // Cells right of the last header have no column to go to: such a row is quarantined
    // rather than stored without them.
    let header_end = src
        .headers
        .iter()
        .rposition(|h| !dangan_text::is_blank(h))
        .map_or(0, |i| i + 1);
    for r in src.data_from..rows.row_count() {
        if rows.row_is_empty(r) {
            continue;
        }
        let extra: Vec<(usize, String)> = (header_end..rows.width(r))
            .filter_map(|c| {
                let cell = rows.cell(r, c);
                (!cell.is_empty()).then(|| (c, cell.display()))
            })
            .collect();
        rows_read += 1;
        values.clear();
        problems.clear();
        for (ci, col) in spec.columns.iter().enumerate() {
            let cell = match (source_of[ci], &ctx.constants[ci]) {
                (Some(sc), _) => rows.cell(r, sc),
                (None, Some(v)) => CellRef::Text(v),
                (None, None) => CellRef::Empty,
            };
            // A referenced id may be given by name (a branch by its name): resolve first.
            let outcome = match (ctx.references[ci], cell) {
                (Some(index), CellRef::Text(t)) if !cell.is_empty() => {
                    let t = dangan_text::trim_all(t);
                    if index.ids.contains(t) {
                        Ok(Value::Str(Cow::Borrowed(t)))
                    } else {
                        let t = dangan_text::fold_width(t);
                        index.resolve(&t).map(|v| Value::Str(Cow::Owned(v))).ok_or_else(|| {
                            let target = col.references.as_ref().map(|r| r.dataset.as_str()).unwrap_or("");
                            Problem { reason: "reference", message: format!("“{t}”在{target}中既不是编号也不是名称 (unknown id or name in {target})") }
                        })
                    }
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
        cross_check(ctx, &mut values, &mut problems);
        for (ci, v) in values.iter().enumerate() {
            if let Value::Month(d, true) = v {
                problems.push((ci, crate::value::ambiguous_month(*d)));
            }
        }
        if problems.is_empty() && extra.is_empty() {
            for (b, v) in builders.iter_mut().zip(&values) {
                b.push(v);
            }
            file_rows.push(src.numbers.file_row(r, src.data_from));
        } else {
            let raw = raw_json(src.headers, rows, r);
            for (c, value) in &extra {
                let letter = column_letter(*c);
                quarantine.push(QuarantineEntry {
                    file: file.to_string(),
                    sheet: src.sheet.to_string(),
                    row: src.numbers.file_row(r, src.data_from),
                    column: String::new(),
                    header: format!("({letter}列，无表头)"),
                    value: value.clone(),
                    reason: "extra_cell".into(),
                    message: format!(
                        "第{letter}列有值“{value}”，但该列没有表头，无处存放；请补上表头或删除该值 (a value in column {letter}, right of the last header: no column to store it in)"
                    ),
                    raw: raw.clone(),
                });
            }
            for (ci, p) in problems.drain(..) {
                let col = &spec.columns[ci];
                let sc = source_of[ci];
                quarantine.push(QuarantineEntry {
                    file: file.to_string(),
                    sheet: src.sheet.to_string(),
                    row: src.numbers.file_row(r, src.data_from),
                    column: col.name.clone(),
                    header: sc
                        .and_then(|i| src.headers.get(i).cloned())
                        .unwrap_or_default(),
                    value: sc.map(|i| rows.cell(r, i).display()).unwrap_or_default(),
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
        file_rows,
        rows_read,
        quarantine,
    })
}

/// Checks across columns: the birth date and gender inside an ID number must agree with the
/// birth date and gender columns (filled from the number when empty).
fn cross_check(ctx: &ConvertContext, values: &mut [Value], problems: &mut Vec<(usize, Problem)>) {
    let Some(id_i) = ctx.id_column else {
        return;
    };
    let Value::Str(id) = &values[id_i] else {
        return;
    };
    let Ok(parsed) = dangan_datasets::idcard::parse(id) else {
        return;
    };
    if let Some(bi) = ctx.birth_column {
        let born = parsed.birth_date;
        match &values[bi] {
            // A month (`1968.12` in a 出生年月 column) agrees when year and month do; the ID
            // number then gives the day. `1985.1` is January or October: the number decides.
            Value::Month(d, ambiguous)
                if d.year() == born.year()
                    && (d.month() == born.month() || (*ambiguous && born.month() == 10)) =>
            {
                values[bi] = Value::Date(born)
            }
            Value::Month(d, ambiguous) => {
                let given = if *ambiguous {
                    format!("{}年1月或10月", d.year())
                } else {
                    format!("{}年{}月", d.year(), d.month())
                };
                problems.push((
                    bi,
                    Problem {
                        reason: "id_mismatch",
                        message: format!(
                            "出生年月{given}与身份证号中的{}年{}月不一致 (birth month disagrees with the ID number)",
                            born.year(),
                            born.month()
                        ),
                    },
                ));
                // Reported once, as a mismatch.
                values[bi] = Value::Null;
            }
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
    if let Some(gi) = ctx.gender_column {
        let from_id = if parsed.male { "男" } else { "女" };
        match &values[gi] {
            Value::Str(g) if g != from_id => problems.push((
                gi,
                Problem {
                    reason: "id_mismatch",
                    message: format!("性别“{g}”与身份证号所示的“{from_id}”不一致 (gender disagrees with the ID number)"),
                },
            )),
            Value::Null => values[gi] = Value::Str(Cow::Borrowed(from_id)),
            _ => {}
        }
    }
}

/// Excel's name of a 0-based column: A … Z, AA, AB, …
pub(crate) fn column_letter(mut c: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn raw_json(headers: &[String], rows: &dyn Rows, r: usize) -> String {
    let mut m = serde_json::Map::new();
    for i in 0..rows.width(r) {
        let cell = rows.cell(r, i);
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
