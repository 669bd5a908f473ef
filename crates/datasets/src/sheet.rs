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
    let mut wb = Workbook::new();
    // A fixed creation time keeps the bytes the same for the same input.
    let created = ExcelDateTime::from_ymd(2026, 1, 1).map_err(|e| werr(path, e))?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name).map_err(|e| werr(path, e))?;
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    let dt_fmt = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let bold = Format::new().set_bold();
    let mut r: u32 = 0;
    if let Some(title) = &sheet.title {
        let last = sheet.headers.len().saturating_sub(1) as u16;
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
    for (c, h) in sheet.headers.iter().enumerate() {
        ws.write_string_with_format(r, c as u16, h, &bold)
            .map_err(|e| werr(path, e))?;
    }
    for row in &sheet.rows {
        r += 1;
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
                        ws.write_datetime_with_format(r, c, &x, &date_fmt)
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
                        ws.write_datetime_with_format(r, c, &x, &dt_fmt)
                    }
                },
            };
            res.map_err(|e| werr(path, e))?;
        }
    }
    ws.set_column_range_width(0, sheet.headers.len().saturating_sub(1) as u16, 14.0)
        .map_err(|e| werr(path, e))?;
    wb.save(path).map_err(|e| werr(path, e))?;
    Ok(())
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
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(sheet.rows.len() * 64));
    if let Some(title) = &sheet.title {
        let mut first = vec![title.clone()];
        first.resize(sheet.headers.len(), String::new());
        w.write_record(&first).map_err(|e| werr(path, e))?;
    }
    w.write_record(&sheet.headers).map_err(|e| werr(path, e))?;
    let mut buf: Vec<String> = Vec::with_capacity(sheet.headers.len());
    for row in &sheet.rows {
        buf.clear();
        buf.extend(row.iter().map(|c| match c {
            Cell::Empty => String::new(),
            Cell::Str(s) => s.clone(),
            Cell::Int(v) => v.to_string(),
            Cell::Float(v) => format!("{v}"),
            Cell::Date(d) => dates.date(*d),
            Cell::DateTime(t) => dates.datetime(*t),
        }));
        w.write_record(&buf).map_err(|e| werr(path, e))?;
    }
    let utf8 = w.into_inner().map_err(|e| werr(path, e))?;
    let bytes = match encoding {
        CsvEncoding::Utf8Bom => {
            let mut b = vec![0xEF, 0xBB, 0xBF];
            b.extend_from_slice(&utf8);
            b
        }
        CsvEncoding::Gbk => {
            let text = std::str::from_utf8(&utf8).map_err(|e| werr(path, e))?;
            let (enc, _, unmappable) = encoding_rs::GBK.encode(text);
            if unmappable {
                return Err(werr(path, "text has characters GBK cannot hold"));
            }
            enc.into_owned()
        }
    };
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}
