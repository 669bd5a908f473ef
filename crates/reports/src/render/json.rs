//! JSON: the report as one object; each table's rows as objects keyed by column name, with
//! the Chinese labels beside.

use serde::Serializer;
use serde::ser::{SerializeMap, SerializeSeq};

use crate::error::{Error, Result};
use crate::{Report, Table};

pub fn render(report: &Report) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(report).map_err(|e| Error::Frame(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// A table as `[{column: value, ...}, ...]`.
pub fn serialize_table<S: Serializer>(t: &Table, s: S) -> Result<S::Ok, S::Error> {
    let names = t.names();
    let mut seq = s.serialize_seq(Some(t.height()))?;
    for i in 0..t.height() {
        let row: Vec<(&str, serde_json::Value)> = names
            .iter()
            .enumerate()
            .map(|(c, n)| (*n, t.cell(c, i).json()))
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

/// A table's rows as JSON objects keyed by column name.
pub fn table_rows(t: &Table) -> Vec<serde_json::Value> {
    let names = t.names();
    (0..t.height())
        .map(|i| {
            serde_json::Value::Object(
                names
                    .iter()
                    .enumerate()
                    .map(|(c, n)| (n.to_string(), t.cell(c, i).json()))
                    .collect(),
            )
        })
        .collect()
}
