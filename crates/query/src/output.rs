//! Query results as a text table, CSV, a JSON array of row objects, or NDJSON.

use std::io::Write;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::Result;

/// Output formats of `dangan sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Ndjson,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "table" => OutputFormat::Table,
            "csv" => OutputFormat::Csv,
            "json" => OutputFormat::Json,
            "ndjson" => OutputFormat::Ndjson,
            other => {
                return Err(format!(
                    "unknown format `{other}` (table, csv, json, ndjson)"
                ));
            }
        })
    }
}

/// Write `batches` to `out` in `format`. An empty result still gets its header (table, CSV)
/// or `[]` (JSON).
pub fn write_batches(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: OutputFormat,
) -> Result<()> {
    match format {
        OutputFormat::Table => {
            let shown = if batches.iter().all(|b| b.num_rows() == 0) {
                vec![RecordBatch::new_empty(schema.clone())]
            } else {
                batches.to_vec()
            };
            writeln!(
                out,
                "{}",
                arrow::util::pretty::pretty_format_batches(&shown)?
            )?;
        }
        OutputFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            if batches.is_empty() {
                w.write(&RecordBatch::new_empty(schema.clone()))?;
            }
            for b in batches {
                w.write(b)?;
            }
        }
        OutputFormat::Json => {
            let mut w = arrow::json::ArrayWriter::new(&mut *out);
            // An empty batch would open (and finish would close) an array of its own.
            for b in batches.iter().filter(|b| b.num_rows() > 0) {
                w.write(b)?;
            }
            // (finish writes `[]` when there were no rows.)
            w.finish()?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut *out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    #[test]
    fn json_is_one_array_whatever_the_batches() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batch = |v: Vec<i64>| {
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(v))]).unwrap()
        };
        let json = |batches: &[RecordBatch]| {
            let mut out = Vec::new();
            write_batches(&mut out, &schema, batches, OutputFormat::Json).unwrap();
            serde_json::from_slice::<serde_json::Value>(&out).unwrap()
        };
        assert_eq!(
            json(&[batch(vec![]), batch(vec![1]), batch(vec![]), batch(vec![2])])
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(json(&[batch(vec![]), batch(vec![])]), serde_json::json!([]));
        assert_eq!(json(&[]), serde_json::json!([]));
    }
}
