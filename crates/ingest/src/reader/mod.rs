//! Readers turn a file into sheets of raw cells; which reader runs is decided by the file's
//! extension through [`READERS`]. Adding a format is adding a module and one line there.

pub(crate) mod csv;
mod excel;
mod jsonl;
mod parquet;

use std::path::Path;

use crate::error::{Error, Result};

/// A cell as the file holds it, before any typing.
#[derive(Debug, Clone, PartialEq)]
pub enum RawCell {
    Empty,
    Text(String),
    Number(f64),
    /// An Excel date/time cell, as its serial number (days since 1899-12-30).
    DateTime(f64),
    Bool(bool),
}

impl RawCell {
    pub fn is_empty(&self) -> bool {
        match self {
            RawCell::Empty => true,
            RawCell::Text(s) => dangan_text::is_blank(s),
            _ => false,
        }
    }

    /// The cell as text, the way a person would read it in the sheet.
    pub fn display(&self) -> String {
        match self {
            RawCell::Empty => String::new(),
            RawCell::Text(s) => s.clone(),
            RawCell::Number(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", *v as i64),
            RawCell::Number(v) => v.to_string(),
            RawCell::DateTime(v) => crate::value::serial_to_datetime(*v)
                .map(|t| {
                    if t.time() == chrono::NaiveTime::MIN {
                        t.date().to_string()
                    } else {
                        t.to_string()
                    }
                })
                .unwrap_or_else(|| v.to_string()),
            RawCell::Bool(b) => b.to_string(),
        }
    }
}

/// One sheet of a file (a CSV has one, named after the file).
#[derive(Debug, Clone)]
pub struct RawSheet {
    pub name: String,
    pub rows: Vec<Vec<RawCell>>,
}

impl RawSheet {
    pub fn has_data(&self) -> bool {
        self.rows.iter().any(|r| r.iter().any(|c| !c.is_empty()))
    }
}

/// The sheet name of a one-sheet format (CSV, JSONL, Parquet): the file's stem.
fn file_sheet_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Options that readers honour.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Force a text encoding (`gbk`, `gb18030`, `utf-8`, …) instead of detecting it.
    pub encoding: Option<String>,
    /// The sheet to read (name or 1-based number); default: the first that has data.
    pub sheet: Option<String>,
}

/// A file format.
pub trait Reader: Sync {
    /// Lower-case extensions this reader takes.
    fn extensions(&self) -> &'static [&'static str];
    /// Read the sheets of the file at `path` from its bytes.
    fn read(&self, path: &Path, bytes: &[u8], opts: &ReadOptions) -> Result<Vec<RawSheet>>;
}

/// Every reader, in the order they are tried.
pub static READERS: &[&dyn Reader] = &[
    &csv::CsvReader,
    &excel::ExcelReader,
    &jsonl::JsonlReader,
    &parquet::ParquetReader,
];

/// The extensions dangan can import.
pub fn supported_extensions() -> Vec<&'static str> {
    READERS
        .iter()
        .flat_map(|r| r.extensions().iter().copied())
        .collect()
}

/// Read `path` (whose bytes are `bytes`): the sheet named by `--sheet`, or every sheet that
/// has data, in workbook order (the importer takes the first whose header fits the dataset).
pub fn read_sheets(path: &Path, bytes: &[u8], opts: &ReadOptions) -> Result<Vec<RawSheet>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    let reader = READERS
        .iter()
        .find(|r| r.extensions().contains(&ext.as_str()))
        .ok_or_else(|| Error::UnsupportedFormat {
            path: path.to_path_buf(),
            supported: supported_extensions().join(", "),
        })?;
    let sheets = reader.read(path, bytes, opts)?;
    pick_sheets(path, sheets, opts.sheet.as_deref())
}

fn pick_sheets(path: &Path, sheets: Vec<RawSheet>, wanted: Option<&str>) -> Result<Vec<RawSheet>> {
    let names = || {
        sheets
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(w) => {
            if let Some(i) = sheets.iter().position(|s| s.name == w) {
                return Ok(sheets.into_iter().skip(i).take(1).collect());
            }
            if let Ok(n) = w.parse::<usize>()
                && n >= 1
                && n <= sheets.len()
            {
                return Ok(sheets.into_iter().skip(n - 1).take(1).collect());
            }
            Err(Error::File {
                path: path.to_path_buf(),
                message: format!("no sheet `{w}` (sheets: {})", names()),
            })
        }
        None => {
            let all = names();
            let with_data: Vec<RawSheet> = sheets.into_iter().filter(RawSheet::has_data).collect();
            if with_data.is_empty() {
                return Err(Error::File {
                    path: path.to_path_buf(),
                    message: format!("no sheet has any data (sheets: {all})"),
                });
            }
            Ok(with_data)
        }
    }
}
