//! The tables a report reads and shows: one Arrow record batch (strings as `Utf8`, numbers as
//! 64-bit where a query gave decimals), with helpers to read its columns, to build new ones,
//! and to turn a cell into what the renderers write.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{
    DataType, Date32Type, Field, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use chrono::NaiveDate;

use crate::error::{Error, Result};

/// A table: named columns of equal length.
#[derive(Debug, Clone)]
pub struct Table {
    batch: RecordBatch,
}

/// One cell, as the renderers see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(&'a str),
    /// Days since 1970-01-01.
    Date(i32),
    /// A time of day with its date, shown `YYYY-MM-DD HH:MM:SS`.
    DateTime(chrono::NaiveDateTime),
    /// Anything else, as Arrow displays it.
    Other(String),
}

/// The type a column is kept in: strings as `Utf8`, decimals as `Float64`, dictionaries
/// as their values (so the readers below have one case each).
fn kept_type(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Utf8View | DataType::LargeUtf8 => Some(DataType::Utf8),
        DataType::Dictionary(_, v) => Some(kept_type(v).unwrap_or_else(|| v.as_ref().clone())),
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => Some(DataType::Float64),
        _ => None,
    }
}

impl Default for Table {
    fn default() -> Self {
        Table::empty()
    }
}

impl Table {
    /// A table without columns or rows.
    pub fn empty() -> Self {
        Table {
            batch: RecordBatch::new_empty(Arc::new(Schema::empty())),
        }
    }

    /// A query result as one table (its batches put together).
    pub fn from_batches(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Self> {
        let one = concat_batches(schema, batches)?;
        let mut fields = Vec::with_capacity(one.num_columns());
        let mut columns = Vec::with_capacity(one.num_columns());
        for (field, column) in schema.fields().iter().zip(one.columns()) {
            match kept_type(field.data_type()) {
                Some(t) => {
                    columns.push(cast(column, &t)?);
                    fields.push(Field::new(field.name(), t, true));
                }
                None => {
                    columns.push(column.clone());
                    fields.push(Field::new(field.name(), field.data_type().clone(), true));
                }
            }
        }
        Ok(Table {
            batch: RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?,
        })
    }

    /// A table of these columns (each of the same length).
    pub fn build(columns: Vec<(&str, ArrayRef)>) -> Result<Self> {
        if columns.is_empty() {
            return Ok(Table::empty());
        }
        let schema = Schema::new(
            columns
                .iter()
                .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
                .collect::<Vec<_>>(),
        );
        Ok(Table {
            batch: RecordBatch::try_new(
                Arc::new(schema),
                columns.into_iter().map(|(_, a)| a).collect(),
            )?,
        })
    }

    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    pub fn height(&self) -> usize {
        self.batch.num_rows()
    }

    /// The column names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect()
    }

    pub fn column(&self, name: &str) -> Result<&ArrayRef> {
        self.batch.column_by_name(name).ok_or_else(|| {
            Error::Frame(format!(
                "no column `{name}` (there are: {})",
                self.names().join(", ")
            ))
        })
    }

    /// A column's values as text (null as ""), numbers as the tables show them.
    pub fn strings(&self, name: &str) -> Result<Vec<String>> {
        let c = self.column(name)?;
        Ok((0..c.len()).map(|i| cell(c, i).text()).collect())
    }

    /// A numeric column's values as f64 (null as NaN).
    pub fn floats(&self, name: &str) -> Result<Vec<f64>> {
        let c = cast(self.column(name)?, &DataType::Float64)?;
        Ok(c.as_primitive::<Float64Type>()
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect())
    }

    /// A numeric column's values as i64 (null as `None`).
    pub fn ints(&self, name: &str) -> Result<Vec<Option<i64>>> {
        let c = cast(self.column(name)?, &DataType::Int64)?;
        Ok(c.as_primitive::<Int64Type>().iter().collect())
    }

    /// A date column's values (`None` for nulls and for what is not a date).
    pub fn dates(&self, name: &str) -> Result<Vec<Option<NaiveDate>>> {
        let c = self.column(name)?;
        let c = match c.data_type() {
            DataType::Date32 => c.clone(),
            _ => cast(&cast(c, &DataType::Utf8)?, &DataType::Date32)?,
        };
        Ok(c.as_primitive::<Date32Type>()
            .iter()
            .map(|v| v.and_then(NaiveDate::from_epoch_days))
            .collect())
    }

    /// The cell of column `col` (by position) in row `row`.
    pub fn cell(&self, col: usize, row: usize) -> Cell<'_> {
        cell(self.batch.column(col), row)
    }

    /// The first value of a column as the tables show it ("" when there is none).
    pub fn first_text(&self, name: &str) -> String {
        match self.column(name) {
            Ok(c) if !c.is_empty() => cell(c, 0).text(),
            _ => String::new(),
        }
    }

    /// The table with one more column (or a column replaced), as the last one.
    pub fn with_column(&self, name: &str, column: ArrayRef) -> Result<Table> {
        let mut columns: Vec<(&str, ArrayRef)> = self
            .names()
            .into_iter()
            .zip(self.batch.columns().iter().cloned())
            .filter(|(n, _)| *n != name)
            .collect();
        columns.push((name, column));
        Table::build(columns)
    }

    /// The column `name`, a list of numbers per row (SQL's `array_agg`), replaced in place by
    /// the `q` quantile of each list's numbers (nulls left out), linearly interpolated between
    /// the closest ranks and rounded to `digits` decimals; null for a list without numbers.
    /// (DataFusion's `percentile_cont` truncates the interpolation weight to six decimals,
    /// which moves a value sitting on a rounding boundary: 12.45 became 12.4.)
    pub fn quantile_of_lists(&self, name: &str, q: f64, digits: i32) -> Result<Table> {
        let lists = self.column(name)?;
        let lists = lists.as_list_opt::<i32>().ok_or_else(|| {
            Error::Frame(format!(
                "column `{name}` is not a list: {}",
                lists.data_type()
            ))
        })?;
        let scale = 10f64.powi(digits);
        let mut out = Vec::with_capacity(lists.len());
        for i in 0..lists.len() {
            let mut v: Vec<f64> = if lists.is_null(i) {
                Vec::new()
            } else {
                cast(&lists.value(i), &DataType::Float64)?
                    .as_primitive::<Float64Type>()
                    .iter()
                    .flatten()
                    .filter(|x| !x.is_nan())
                    .collect()
            };
            v.sort_by(f64::total_cmp);
            out.push(quantile_linear(&v, q).map(|x| (x * scale).round() / scale));
        }
        let position = self.names().iter().position(|n| *n == name).unwrap_or(0);
        let mut columns: Vec<(&str, ArrayRef)> = self
            .names()
            .into_iter()
            .zip(self.batch.columns().iter().cloned())
            .collect();
        columns[position].1 = opt_floats(out);
        Table::build(columns)
    }

    /// The rows at `rows` (in that order).
    pub fn take(&self, rows: &[usize]) -> Result<Table> {
        let idx = arrow::array::UInt64Array::from_iter_values(rows.iter().map(|r| *r as u64));
        let columns = self
            .batch
            .columns()
            .iter()
            .map(|c| arrow::compute::take(c, &idx, None))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Table {
            batch: RecordBatch::try_new(self.batch.schema(), columns)?,
        })
    }
}

/// Column builders for tables computed in Rust.
pub fn strs<S: AsRef<str>>(v: impl IntoIterator<Item = S>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}

pub fn opt_strs<S: AsRef<str>>(v: impl IntoIterator<Item = Option<S>>) -> ArrayRef {
    Arc::new(v.into_iter().collect::<StringArray>())
}

pub fn ints(v: impl IntoIterator<Item = i64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(v))
}

pub fn opt_ints(v: impl IntoIterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(v.into_iter().collect::<Int64Array>())
}

pub fn floats(v: impl IntoIterator<Item = f64>) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(v))
}

pub fn opt_floats(v: impl IntoIterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(v.into_iter().collect::<Float64Array>())
}

pub fn bools(v: impl IntoIterator<Item = bool>) -> ArrayRef {
    Arc::new(v.into_iter().map(Some).collect::<BooleanArray>())
}

/// One cell of an array.
pub fn cell(a: &ArrayRef, i: usize) -> Cell<'_> {
    if a.is_null(i) {
        return Cell::Null;
    }
    match a.data_type() {
        DataType::Utf8 => Cell::Text(a.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Cell::Text(a.as_string::<i64>().value(i)),
        DataType::Utf8View => Cell::Text(a.as_string_view().value(i)),
        DataType::Boolean => Cell::Bool(a.as_boolean().value(i)),
        DataType::Int8 => Cell::Int(i64::from(a.as_primitive::<Int8Type>().value(i))),
        DataType::Int16 => Cell::Int(i64::from(a.as_primitive::<Int16Type>().value(i))),
        DataType::Int32 => Cell::Int(i64::from(a.as_primitive::<Int32Type>().value(i))),
        DataType::Int64 => Cell::Int(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Cell::UInt(u64::from(a.as_primitive::<UInt8Type>().value(i))),
        DataType::UInt16 => Cell::UInt(u64::from(a.as_primitive::<UInt16Type>().value(i))),
        DataType::UInt32 => Cell::UInt(u64::from(a.as_primitive::<UInt32Type>().value(i))),
        DataType::UInt64 => Cell::UInt(a.as_primitive::<UInt64Type>().value(i)),
        DataType::Float32 => Cell::Float(f64::from(a.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => Cell::Float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Date32 => Cell::Date(a.as_primitive::<Date32Type>().value(i)),
        DataType::Timestamp(unit, _) => {
            let t = match unit {
                TimeUnit::Second => a.as_primitive::<TimestampSecondType>().value_as_datetime(i),
                TimeUnit::Millisecond => a
                    .as_primitive::<TimestampMillisecondType>()
                    .value_as_datetime(i),
                TimeUnit::Microsecond => a
                    .as_primitive::<TimestampMicrosecondType>()
                    .value_as_datetime(i),
                TimeUnit::Nanosecond => a
                    .as_primitive::<TimestampNanosecondType>()
                    .value_as_datetime(i),
            };
            t.map(Cell::DateTime).unwrap_or(Cell::Other(
                arrow::util::display::array_value_to_string(a, i).unwrap_or_default(),
            ))
        }
        _ => Cell::Other(arrow::util::display::array_value_to_string(a, i).unwrap_or_default()),
    }
}

impl Cell<'_> {
    /// The cell as text, the way the tables show it.
    pub fn text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Text(s) => s.to_string(),
            Cell::Bool(b) => (if *b { "是" } else { "否" }).to_string(),
            Cell::Float(f) => float_text(*f),
            Cell::Int(i) => i.to_string(),
            Cell::UInt(u) => u.to_string(),
            Cell::Date(d) => NaiveDate::from_epoch_days(*d)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| d.to_string()),
            Cell::DateTime(t) => t.format("%Y-%m-%d %H:%M:%S%.f").to_string(),
            Cell::Other(s) => s.clone(),
        }
    }

    /// The cell as a number, if it is one.
    pub fn number(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::UInt(u) => Some(*u as f64),
            Cell::Float(f) => Some(*f).filter(|f| !f.is_nan()),
            _ => None,
        }
    }

    /// The cell as a JSON value (whole numbers as integers).
    pub fn json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Int(i) => Value::from(*i),
            Cell::UInt(u) => Value::from(*u),
            Cell::Float(_) => match self.number() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => Value::from(f as i64),
                Some(f) => serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
                None => Value::String(self.text()),
            },
            _ => Value::String(self.text()),
        }
    }
}

/// The `q` quantile of sorted numbers, interpolated linearly between the closest ranks (the
/// rule of polars' `Linear`, numpy's default and SQL's `percentile_cont`).
pub fn quantile_linear(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let at = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64))
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        String::new()
    } else if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        let s = format!("{f:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_the_tables_show_them() {
        let t = Table::build(vec![
            ("s", opt_strs([Some("甲"), None])),
            ("f", floats([2.0, 0.12345])),
            ("b", bools([true, false])),
        ])
        .unwrap();
        assert_eq!(t.strings("s").unwrap(), ["甲", ""]);
        assert_eq!(t.strings("f").unwrap(), ["2", "0.123"]);
        assert_eq!(t.strings("b").unwrap(), ["是", "否"]);
        assert_eq!(t.cell(1, 0).json(), serde_json::json!(2));
        assert_eq!(t.cell(1, 1).json(), serde_json::json!(0.12345));
        assert!(t.column("x").is_err());
        let stamp = arrow::array::TimestampMicrosecondArray::from(vec![1_700_000_000_000_000]);
        let a: ArrayRef = Arc::new(stamp);
        assert_eq!(cell(&a, 0).text(), "2023-11-14 22:13:20");
        assert_eq!(quantile_linear(&[1.0, 2.0, 3.0, 4.0], 0.9), Some(3.7));
        assert_eq!(quantile_linear(&[5.0], 0.9), Some(5.0));
        assert_eq!(quantile_linear(&[], 0.9), None);
    }
}
