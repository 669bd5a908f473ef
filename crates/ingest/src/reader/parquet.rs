//! Parquet files: column names are the headers; values are read through Arrow.

use std::path::Path;

use arrow::array::Array;
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{RawCell, RawSheet, ReadOptions, Reader};
use crate::error::{Error, Result};

pub struct ParquetReader;

impl Reader for ParquetReader {
    fn extensions(&self) -> &'static [&'static str] {
        &["parquet"]
    }

    fn read(&self, path: &Path, bytes: &[u8], _opts: &ReadOptions) -> Result<Vec<RawSheet>> {
        let bad = |e: &dyn std::fmt::Display| Error::File {
            path: path.to_path_buf(),
            message: format!("not a readable Parquet file: {e}"),
        };
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(bytes))
            .map_err(|e| bad(&e))?
            .build()
            .map_err(|e| bad(&e))?;
        let mut rows: Vec<Vec<RawCell>> = Vec::new();
        for batch in reader {
            let batch = batch.map_err(|e| bad(&e))?;
            if rows.is_empty() {
                rows.push(
                    batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| RawCell::Text(f.name().clone()))
                        .collect(),
                );
            }
            let opts = FormatOptions::default();
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            for r in 0..batch.num_rows() {
                let row = batch
                    .columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(c, f)| {
                        if c.is_null(r) {
                            return RawCell::Empty;
                        }
                        let text = f.value(r).to_string();
                        match c.data_type() {
                            DataType::Boolean => RawCell::Bool(text == "true"),
                            t if t.is_numeric() => text
                                .parse()
                                .map(RawCell::Number)
                                .unwrap_or(RawCell::Text(text)),
                            _ => RawCell::Text(text),
                        }
                    })
                    .collect();
                rows.push(row);
            }
        }
        let name = super::file_sheet_name(path);
        Ok(vec![RawSheet {
            name,
            rows,
            encoding: None,
        }])
    }
}
