//! Excel workbooks, `.xlsx` and the old `.xls`, through calamine.

use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Reader as _, open_workbook_auto_from_rs};

use super::{RawCell, RawSheet, ReadOptions, Reader};
use crate::error::{Error, Result};

pub struct ExcelReader;

impl Reader for ExcelReader {
    fn extensions(&self) -> &'static [&'static str] {
        &["xlsx", "xlsm", "xls", "xlsb", "ods"]
    }

    fn read(&self, path: &Path, bytes: &[u8], _opts: &ReadOptions) -> Result<Vec<RawSheet>> {
        let bad = |e: &dyn std::fmt::Display| Error::File {
            path: path.to_path_buf(),
            message: format!("not a readable workbook: {e}"),
        };
        let mut wb = open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| bad(&e))?;
        let mut out = Vec::new();
        for name in wb.sheet_names() {
            let range = wb.worksheet_range(&name).map_err(|e| bad(&e))?;
            // Rows and columns before the used range's start are empty in the sheet.
            let (r0, c0) = range.start().unwrap_or((0, 0));
            let mut rows: Vec<Vec<RawCell>> = (0..r0).map(|_| Vec::new()).collect();
            for row in range.rows() {
                let mut cells: Vec<RawCell> = (0..c0).map(|_| RawCell::Empty).collect();
                cells.extend(row.iter().map(convert));
                rows.push(cells);
            }
            out.push(RawSheet { name, rows });
        }
        Ok(out)
    }
}

fn convert(d: &Data) -> RawCell {
    match d {
        Data::Empty => RawCell::Empty,
        Data::Error(e) => RawCell::Text(format!("#{e}")),
        Data::String(s) => RawCell::Text(s.clone()),
        Data::Int(i) => RawCell::Number(*i as f64),
        Data::Float(f) => RawCell::Number(*f),
        Data::Bool(b) => RawCell::Bool(*b),
        Data::DateTime(dt) => RawCell::DateTime(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => RawCell::Text(s.clone()),
    }
}
