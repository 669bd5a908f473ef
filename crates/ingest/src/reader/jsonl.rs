//! JSON Lines: one object per line; keys are the headers (in order of first appearance).

use std::path::Path;

use super::{RawCell, RawSheet, ReadOptions, Reader};
use crate::error::{Error, Result};

pub struct JsonlReader;

impl Reader for JsonlReader {
    fn extensions(&self) -> &'static [&'static str] {
        &["jsonl", "ndjson"]
    }

    fn read(&self, path: &Path, bytes: &[u8], opts: &ReadOptions) -> Result<Vec<RawSheet>> {
        let (text, _) = super::csv::decode(path, bytes, opts.encoding.as_deref())?;
        let mut headers: Vec<String> = Vec::new();
        let mut records: Vec<Vec<(usize, RawCell)>> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
                .map_err(|e| Error::File {
                    path: path.to_path_buf(),
                    message: format!("line {}: not a JSON object: {e}", n + 1),
                })?;
            let mut rec = Vec::with_capacity(obj.len());
            for (k, v) in obj {
                let i = match headers.iter().position(|h| *h == k) {
                    Some(i) => i,
                    None => {
                        headers.push(k);
                        headers.len() - 1
                    }
                };
                let cell = match v {
                    serde_json::Value::Null => RawCell::Empty,
                    serde_json::Value::Bool(b) => RawCell::Bool(b),
                    serde_json::Value::Number(x) => x
                        .as_f64()
                        .map(RawCell::Number)
                        .unwrap_or(RawCell::Text(x.to_string())),
                    serde_json::Value::String(s) => RawCell::Text(s),
                    other => RawCell::Text(other.to_string()),
                };
                rec.push((i, cell));
            }
            records.push(rec);
        }
        let mut rows = vec![
            headers
                .iter()
                .map(|h| RawCell::Text(h.clone()))
                .collect::<Vec<_>>(),
        ];
        for rec in records {
            let mut row = vec![RawCell::Empty; headers.len()];
            for (i, c) in rec {
                row[i] = c;
            }
            rows.push(row);
        }
        let name = super::file_sheet_name(path);
        Ok(vec![RawSheet { name, rows }])
    }
}
