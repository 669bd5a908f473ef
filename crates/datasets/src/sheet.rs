//! Writing tables the way branches send and receive them: `.xlsx` with an optional merged title
//! row, and CSV in GBK (Excel on Chinese Windows) or UTF-8 with a BOM.

use std::path::Path;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, Workbook};

use crate::error::{Error, Result};

/// One cell of a generated table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Str(String),
    Int(i64),
    Float(f64),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Str(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Str(s)
    }
}
impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}
impl From<NaiveDate> for Cell {
    fn from(v: NaiveDate) -> Self {
        Cell::Date(v)
    }
}
impl From<NaiveDateTime> for Cell {
    fn from(v: NaiveDateTime) -> Self {
        Cell::DateTime(v)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Cell::Empty)
    }
}

/// How dates are spelled in a text file (each branch's export has its habit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    Iso,
    Slash,
    Dot,
    Chinese,
}

impl DateStyle {
    pub const ALL: [DateStyle; 4] = [
        DateStyle::Iso,
        DateStyle::Slash,
        DateStyle::Dot,
        DateStyle::Chinese,
    ];

    pub fn date(self, d: NaiveDate) -> String {
        match self {
            DateStyle::Iso => d.format("%Y-%m-%d").to_string(),
            DateStyle::Slash => format!("{}/{}/{}", d.year(), d.month(), d.day()),
            DateStyle::Dot => d.format("%Y.%m.%d").to_string(),
            DateStyle::Chinese => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        }
    }

    pub fn datetime(self, t: NaiveDateTime) -> String {
        match self {
            DateStyle::Chinese => format!(
                "{}年{}月{}日 {:02}:{:02}",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute()
            ),
            DateStyle::Slash => format!(
                "{}/{}/{} {}:{:02}",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute()
            ),
            _ => format!("{} {}", self.date(t.date()), t.format("%H:%M:%S")),
        }
    }
}

/// A table to write: an optional title line, the header row, the rows.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub title: Option<String>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Sheet {
    pub fn new(headers: &[&str]) -> Self {
        Sheet {
            title: None,
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.headers.len());
        self.rows.push(row);
    }
}

fn werr(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Write an `.xlsx` workbook with one sheet. Dates become real Excel dates unless
/// `dates_as_text` spells them out (as some branches type them).
pub fn write_xlsx(
    path: &Path,
    sheet_name: &str,
    sheet: &Sheet,
    dates_as_text: Option<DateStyle>,
) -> Result<()> {
    let mut w = SheetWriter::xlsx(
        path,
        sheet_name,
        &sheet.headers,
        sheet.title.as_deref(),
        dates_as_text,
    )?;
    for row in &sheet.rows {
        w.push(row)?;
    }
    w.finish().map(|_| ())
}

/// Text encodings a CSV is saved in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvEncoding {
    Gbk,
    Utf8Bom,
}

/// Write a CSV the way Excel on Chinese Windows saves it.
pub fn write_csv(
    path: &Path,
    sheet: &Sheet,
    encoding: CsvEncoding,
    dates: DateStyle,
) -> Result<()> {
    let mut w = SheetWriter::csv(
        path,
        &sheet.headers,
        sheet.title.as_deref(),
        encoding,
        dates,
    )?;
    for row in &sheet.rows {
        w.push(row)?;
    }
    w.finish().map(|_| ())
}

/// A table being written row by row, so that a file of millions of rows never sits in memory:
/// `.xlsx` in the writer's constant-memory mode (rows stream to a temporary file), CSV encoded
/// line by line.
pub struct SheetWriter {
    path: std::path::PathBuf,
    rows: usize,
    kind: Kind,
}

enum Kind {
    Xlsx {
        wb: Box<Workbook>,
        row: u32,
        dates_as_text: Option<DateStyle>,
        date_fmt: Format,
        dt_fmt: Format,
    },
    Csv {
        out: std::io::BufWriter<std::fs::File>,
        csv: csv::Writer<LineBuf>,
        line: LineBuf,
        encoding: CsvEncoding,
        dates: DateStyle,
        fields: Vec<String>,
    },
}

impl SheetWriter {
    /// Start an `.xlsx` file: the optional merged title row, then the bold header row.
    pub fn xlsx(
        path: &Path,
        sheet_name: &str,
        headers: &[String],
        title: Option<&str>,
        dates_as_text: Option<DateStyle>,
    ) -> Result<Self> {
        let mut wb = Box::new(Workbook::new());
        // A fixed creation time keeps the bytes the same for the same input.
        let created = ExcelDateTime::from_ymd(2026, 1, 1).map_err(|e| werr(path, e))?;
        wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
        let ws = wb
            .add_worksheet_with_constant_memory()
            .map_err(|e| werr(path, e))?;
        ws.set_name(sheet_name).map_err(|e| werr(path, e))?;
        let last = headers.len().saturating_sub(1) as u16;
        ws.set_column_range_width(0, last, 14.0)
            .map_err(|e| werr(path, e))?;
        let bold = Format::new().set_bold();
        let mut r: u32 = 0;
        if let Some(title) = title {
            let tf = Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center);
            if last > 0 {
                ws.merge_range(0, 0, 0, last, title, &tf)
                    .map_err(|e| werr(path, e))?;
            } else {
                ws.write_string_with_format(0, 0, title, &tf)
                    .map_err(|e| werr(path, e))?;
            }
            r = 1;
        }
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(r, c as u16, h, &bold)
                .map_err(|e| werr(path, e))?;
        }
        Ok(SheetWriter {
            path: path.to_path_buf(),
            rows: 0,
            kind: Kind::Xlsx {
                wb,
                row: r,
                dates_as_text,
                date_fmt: Format::new().set_num_format("yyyy-mm-dd"),
                dt_fmt: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            },
        })
    }

    /// Start a CSV file (CRLF line ends, as Excel saves them); a title goes on a line of its own.
    pub fn csv(
        path: &Path,
        headers: &[String],
        title: Option<&str>,
        encoding: CsvEncoding,
        dates: DateStyle,
    ) -> Result<Self> {
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        if encoding == CsvEncoding::Utf8Bom {
            std::io::Write::write_all(&mut out, &[0xEF, 0xBB, 0xBF])
                .map_err(|e| Error::io(path, e))?;
        }
        let line = LineBuf::default();
        let csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(line.clone());
        let mut w = SheetWriter {
            path: path.to_path_buf(),
            rows: 0,
            kind: Kind::Csv {
                out,
                csv,
                line,
                encoding,
                dates,
                fields: Vec::with_capacity(headers.len()),
            },
        };
        if let Some(title) = title {
            let mut first = vec![Cell::Str(title.to_string())];
            first.resize(headers.len(), Cell::Empty);
            w.push_raw(&first)?;
        }
        let header_cells: Vec<Cell> = headers.iter().map(|h| Cell::Str(h.clone())).collect();
        w.push_raw(&header_cells)?;
        Ok(w)
    }

    /// Data rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Append one data row.
    pub fn push(&mut self, row: &[Cell]) -> Result<()> {
        self.push_raw(row)?;
        self.rows += 1;
        Ok(())
    }

    fn push_raw(&mut self, row: &[Cell]) -> Result<()> {
        let path = &self.path;
        match &mut self.kind {
            Kind::Xlsx {
                wb,
                row: r,
                dates_as_text,
                date_fmt,
                dt_fmt,
            } => {
                *r += 1;
                let r = *r;
                let ws = wb.worksheet_from_index(0).map_err(|e| werr(path, e))?;
                for (c, cell) in row.iter().enumerate() {
                    let c = c as u16;
                    let res = match cell {
                        Cell::Empty => Ok(&mut *ws),
                        Cell::Str(s) => ws.write_string(r, c, s),
                        Cell::Int(v) => ws.write_number(r, c, *v as f64),
                        Cell::Float(v) => ws.write_number(r, c, *v),
                        Cell::Date(d) => match dates_as_text {
                            Some(style) => ws.write_string(r, c, style.date(*d)),
                            None => {
                                let x = ExcelDateTime::from_ymd(
                                    d.year() as u16,
                                    d.month() as u8,
                                    d.day() as u8,
                                )
                                .map_err(|e| werr(path, e))?;
                                ws.write_datetime_with_format(r, c, &x, date_fmt)
                            }
                        },
                        Cell::DateTime(t) => match dates_as_text {
                            Some(style) => ws.write_string(r, c, style.datetime(*t)),
                            None => {
                                let x = ExcelDateTime::from_ymd(
                                    t.year() as u16,
                                    t.month() as u8,
                                    t.day() as u8,
                                )
                                .and_then(|x| {
                                    x.and_hms(t.hour() as u16, t.minute() as u8, t.second() as f64)
                                })
                                .map_err(|e| werr(path, e))?;
                                ws.write_datetime_with_format(r, c, &x, dt_fmt)
                            }
                        },
                    };
                    res.map_err(|e| werr(path, e))?;
                }
                Ok(())
            }
            Kind::Csv {
                out,
                csv,
                line,
                encoding,
                dates,
                fields,
            } => {
                fields.clear();
                fields.extend(row.iter().map(|c| match c {
                    Cell::Empty => String::new(),
                    Cell::Str(s) => s.clone(),
                    Cell::Int(v) => v.to_string(),
                    Cell::Float(v) => format!("{v}"),
                    Cell::Date(d) => dates.date(*d),
                    Cell::DateTime(t) => dates.datetime(*t),
                }));
                csv.write_record(&*fields).map_err(|e| werr(path, e))?;
                csv.flush().map_err(|e| werr(path, e))?;
                let mut line = line.0.lock().map_err(|e| werr(path, e))?;
                let res = match encoding {
                    CsvEncoding::Utf8Bom => std::io::Write::write_all(out, &line),
                    CsvEncoding::Gbk => {
                        let text = std::str::from_utf8(&line).map_err(|e| werr(path, e))?;
                        let (enc, _, unmappable) = encoding_rs::GBK.encode(text);
                        if unmappable {
                            return Err(werr(
                                path,
                                format!(
                                    "row {}: text has characters GBK cannot hold",
                                    self.rows + 1
                                ),
                            ));
                        }
                        std::io::Write::write_all(out, &enc)
                    }
                };
                line.clear();
                res.map_err(|e| Error::io(path, e))
            }
        }
    }

    /// Save the file; returns how many data rows it holds.
    pub fn finish(self) -> Result<usize> {
        let path = self.path;
        match self.kind {
            Kind::Xlsx { mut wb, .. } => wb.save(&path).map_err(|e| werr(&path, e))?,
            Kind::Csv { mut out, .. } => {
                std::io::Write::flush(&mut out).map_err(|e| Error::io(&path, e))?
            }
        }
        Ok(self.rows)
    }
}

/// The CSV writer's output for one row, shared so that the row can be re-encoded (GBK) before
/// it goes to the file.
#[derive(Clone, Default)]
struct LineBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LineBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
