//! Readers turn a file into sheets of raw cells; which reader runs is decided by the file's
//! extension through [`READERS`]. Adding a format is adding a module and one line there.

pub(crate) mod csv;
pub(crate) mod excel;
pub(crate) mod jsonl;
mod parquet;
mod xlsx_merged;

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

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
    /// A formula's error value, as Excel shows it (`#DIV/0!`, `#NAME?`).
    Error(String),
}

impl RawCell {
    pub fn is_empty(&self) -> bool {
        self.as_ref().is_empty()
    }

    /// The cell as text, the way a person would read it in the sheet.
    pub fn display(&self) -> String {
        self.as_ref().display()
    }
}

/// A cell borrowed from wherever the rows live (a sheet's cells or a CSV chunk's buffer): what
/// the converter reads, so that no cell text is copied on the way to the Arrow builders.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellRef<'a> {
    Empty,
    Text(&'a str),
    Number(f64),
    DateTime(f64),
    Bool(bool),
    Error(&'a str),
}

impl<'a> CellRef<'a> {
    pub fn is_empty(&self) -> bool {
        match self {
            CellRef::Empty => true,
            CellRef::Text(s) => dangan_text::is_blank(s),
            _ => false,
        }
    }

    /// The cell as text, the way a person would read it in the sheet.
    pub fn display(&self) -> String {
        match self {
            CellRef::Empty => String::new(),
            CellRef::Text(s) => s.to_string(),
            CellRef::Number(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", *v as i64),
            CellRef::Number(v) => v.to_string(),
            CellRef::DateTime(v) => serial_to_datetime(*v)
                .map(|t| {
                    if t.time() == chrono::NaiveTime::MIN {
                        t.date().to_string()
                    } else {
                        t.to_string()
                    }
                })
                .unwrap_or_else(|| v.to_string()),
            CellRef::Bool(b) => b.to_string(),
            CellRef::Error(e) => e.to_string(),
        }
    }
}

impl RawCell {
    pub fn as_ref(&self) -> CellRef<'_> {
        match self {
            RawCell::Empty => CellRef::Empty,
            RawCell::Text(s) => CellRef::Text(s),
            RawCell::Number(v) => CellRef::Number(*v),
            RawCell::DateTime(v) => CellRef::DateTime(*v),
            RawCell::Bool(b) => CellRef::Bool(*b),
            RawCell::Error(e) => CellRef::Error(e),
        }
    }
}

/// Rows of cells, however they are stored.
pub trait Rows: Sync {
    fn row_count(&self) -> usize;
    /// Number of cells in row `r`.
    fn width(&self, r: usize) -> usize;
    /// Cell `c` of row `r` (`Empty` past the row's end).
    fn cell(&self, r: usize, c: usize) -> CellRef<'_>;
    fn row_is_empty(&self, r: usize) -> bool {
        (0..self.width(r)).all(|c| self.cell(r, c).is_empty())
    }
}

impl Rows for RawSheet {
    fn row_count(&self) -> usize {
        self.rows.len()
    }
    fn width(&self, r: usize) -> usize {
        self.rows[r].len()
    }
    fn cell(&self, r: usize, c: usize) -> CellRef<'_> {
        self.rows[r].get(c).map_or(CellRef::Empty, RawCell::as_ref)
    }
}

/// Rows of text cells in one buffer (a streamed CSV chunk): one allocation per chunk instead of
/// one per cell.
#[derive(Debug, Default)]
pub struct TextRows {
    buf: String,
    /// End offset in `buf` of every cell.
    cell_ends: Vec<u32>,
    /// End index in `cell_ends` of every row.
    row_ends: Vec<u32>,
}

impl TextRows {
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        TextRows {
            buf: String::with_capacity(bytes),
            cell_ends: Vec::with_capacity(rows * 16),
            row_ends: Vec::with_capacity(rows),
        }
    }

    pub fn push_row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) {
        for c in cells {
            self.buf.push_str(c);
            self.cell_ends.push(self.buf.len() as u32);
        }
        self.row_ends.push(self.cell_ends.len() as u32);
    }

    /// Append one cell whose text `write` puts at the end of the buffer.
    pub fn push_cell_with(&mut self, write: impl FnOnce(&mut String)) {
        write(&mut self.buf);
        self.cell_ends.push(self.buf.len() as u32);
    }

    /// Close the row whose cells were pushed since the last one.
    pub fn end_row(&mut self) {
        self.row_ends.push(self.cell_ends.len() as u32);
    }

    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    fn cells(&self, r: usize) -> std::ops::Range<usize> {
        let start = if r == 0 {
            0
        } else {
            self.row_ends[r - 1] as usize
        };
        start..self.row_ends[r] as usize
    }

    /// The rows as an ordinary sheet (for header detection).
    pub fn to_sheet(&self, name: String) -> RawSheet {
        let rows = (0..self.row_count())
            .map(|r| {
                (0..self.width(r))
                    .map(|c| match self.cell(r, c) {
                        CellRef::Text(s) if !s.is_empty() => RawCell::Text(s.to_string()),
                        _ => RawCell::Empty,
                    })
                    .collect()
            })
            .collect();
        RawSheet {
            name,
            rows,
            encoding: None,
        }
    }
}

impl Rows for TextRows {
    fn row_count(&self) -> usize {
        self.row_ends.len()
    }
    fn width(&self, r: usize) -> usize {
        self.cells(r).len()
    }
    fn cell(&self, r: usize, c: usize) -> CellRef<'_> {
        let cells = self.cells(r);
        if c >= cells.len() {
            return CellRef::Empty;
        }
        let i = cells.start + c;
        let start = if i == 0 {
            0
        } else {
            self.cell_ends[i - 1] as usize
        };
        let s = &self.buf[start..self.cell_ends[i] as usize];
        if s.is_empty() {
            CellRef::Empty
        } else {
            CellRef::Text(s)
        }
    }
}

/// One sheet of a file (a CSV has one, named after the file).
#[derive(Debug, Clone, Default)]
pub struct RawSheet {
    pub name: String,
    pub rows: Vec<Vec<RawCell>>,
    /// The text encoding it was decoded from (text formats only).
    pub encoding: Option<&'static str>,
}

impl RawSheet {
    pub fn has_data(&self) -> bool {
        self.rows.iter().any(|r| r.iter().any(|c| !c.is_empty()))
    }
}

/// The sheet name of a one-sheet format (CSV, JSONL, Parquet): the file's stem.
pub(crate) fn file_sheet_name(path: &Path) -> String {
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
    /// Whether [`Reader::read`] itself returns only the sheet `--sheet` names (a workbook,
    /// which then reads no other sheet).
    fn selects_sheet(&self) -> bool {
        false
    }
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

/// A file's extension in lower case (`""` when it has none): what picks its reader.
pub(crate) fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}

/// Read `path` (whose bytes are `bytes`): the sheet named by `--sheet`, or every sheet that
/// has data, in workbook order (the importer takes the first whose header fits the dataset).
pub fn read_sheets(path: &Path, bytes: &[u8], opts: &ReadOptions) -> Result<Vec<RawSheet>> {
    let ext = extension(path);
    let reader = READERS
        .iter()
        .find(|r| r.extensions().contains(&ext.as_str()))
        .ok_or_else(|| Error::UnsupportedFormat {
            path: path.to_path_buf(),
            supported: supported_extensions().join(", "),
        })?;
    let sheets = reader.read(path, bytes, opts)?;
    let wanted = opts.sheet.as_deref().filter(|_| !reader.selects_sheet());
    pick_sheets(path, sheets, wanted)
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

const EXCEL_EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1899, 12, 30) {
    Some(d) => d,
    None => panic!("valid epoch"),
};

/// An Excel serial number (days since 1899-12-30, fraction = time of day) as a date-time.
pub fn serial_to_datetime(serial: f64) -> Option<NaiveDateTime> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let days = serial.trunc() as i64;
    let secs = ((serial - serial.trunc()) * 86_400.0).round() as i64;
    let date = EXCEL_EPOCH.checked_add_signed(chrono::Duration::days(days))?;
    date.and_time(NaiveTime::MIN)
        .checked_add_signed(chrono::Duration::seconds(secs))
}
