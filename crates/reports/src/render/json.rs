//! JSON: the report as one object; each table's rows as objects keyed by column name, with
//! the Chinese labels beside.

use polars::prelude::{AnyValue, DataFrame};
use serde::Serializer;
use serde::ser::{SerializeMap, SerializeSeq};

use crate::Report;
use crate::error::{Error, Result};

pub fn render(report: &Report) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(report).map_err(|e| Error::Frame(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// A cell as a JSON value.
pub fn value(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        AnyValue::String(_) | AnyValue::StringOwned(_) => Value::String(super::text(v)),
        v => match super::number(v) {
            Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => Value::from(f as i64),
            Some(f) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            None => Value::String(super::text(v)),
        },
    }
}

/// A data frame as `[{column: value, ...}, ...]`.
pub fn serialize_frame<S: Serializer>(df: &DataFrame, s: S) -> Result<S::Ok, S::Error> {
    let names = df.get_column_names();
    let columns = df.columns();
    let mut seq = s.serialize_seq(Some(df.height()))?;
    for i in 0..df.height() {
        let row: Vec<(&str, serde_json::Value)> = names
            .iter()
            .zip(columns)
            .map(|(n, c)| (n.as_str(), value(&c.get(i).unwrap_or(AnyValue::Null))))
            .collect();
        seq.serialize_element(&Row(row))?;
    }
    seq.end()
}

struct Row<'a>(Vec<(&'a str, serde_json::Value)>);

impl serde::Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A data frame's rows as JSON objects keyed by column name.
pub fn frame_rows(df: &DataFrame) -> Vec<serde_json::Value> {
    let names = df.get_column_names();
    let columns = df.columns();
    (0..df.height())
        .map(|i| {
            serde_json::Value::Object(
                names
                    .iter()
                    .zip(columns)
                    .map(|(n, c)| (n.to_string(), value(&c.get(i).unwrap_or(AnyValue::Null))))
                    .collect(),
            )
        })
        .collect()
}
