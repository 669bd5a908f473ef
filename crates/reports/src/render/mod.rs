//! Writing a computed [`Report`]: JSON (for programs and the API), Markdown, an xlsx workbook
//! (one sheet per table) and one self-contained HTML file with SVG charts.

mod html;
pub mod json;
mod md;
pub mod member;
mod svg;
mod xlsx;

use std::path::Path;

use polars::prelude::AnyValue;

use crate::error::{Error, Result};
use crate::{Report, Section};

/// The formats a report is written in; in a spec file by name (`json`, `md` or `markdown`,
/// `xlsx`, `html`), checked when the file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Format {
    Json,
    Md,
    Xlsx,
    Html,
}

impl TryFrom<String> for Format {
    type Error = Error;
    fn try_from(s: String) -> Result<Format> {
        Format::parse(&s)
    }
}

impl From<Format> for &'static str {
    fn from(f: Format) -> &'static str {
        f.extension()
    }
}

impl Format {
    pub const ALL: [(&'static str, Format); 4] = [
        ("json", Format::Json),
        ("md", Format::Md),
        ("xlsx", Format::Xlsx),
        ("html", Format::Html),
    ];

    pub fn parse(s: &str) -> Result<Format> {
        Format::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s) || (s == "markdown" && *n == "md"))
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "不支持的报表格式 `{s}` (report format `{s}`: json, md, xlsx or html)"
                ))
            })
    }

    /// The format a file name asks for by its extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "htm" => Some(Format::Html),
            "markdown" => Some(Format::Md),
            e => Format::parse(e).ok(),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Md => "md",
            Format::Xlsx => "xlsx",
            Format::Html => "html",
        }
    }
}

/// The report in `format`, as bytes.
pub fn render(report: &Report, format: Format) -> Result<Vec<u8>> {
    match format {
        Format::Json => json::render(report),
        Format::Md => Ok(md::render(report).into_bytes()),
        Format::Xlsx => xlsx::render(report),
        Format::Html => Ok(html::render(report).into_bytes()),
    }
}

/// Write the report to `path` (the whole file or nothing: written beside it, then renamed).
pub fn write(report: &Report, format: Format, path: &Path) -> Result<()> {
    let bytes = render(report, format)?;
    let werr = |e: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(werr)?;
    }
    let tmp = path.with_extension(format!("{}.partial", format.extension()));
    std::fs::write(&tmp, bytes).map_err(werr)?;
    std::fs::rename(&tmp, path).map_err(werr)
}

/// A cell as text, the way the tables show it.
pub(crate) fn text(v: &AnyValue) -> String {
    match v {
        AnyValue::Null => String::new(),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Boolean(b) => (if *b { "是" } else { "否" }).to_string(),
        AnyValue::Float64(f) => float_text(*f),
        AnyValue::Float32(f) => float_text(f64::from(*f)),
        other => {
            let s = other.to_string();
            s.trim_matches('"').to_string()
        }
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        String::new()
    } else if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        let s = format!("{f:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A cell as a number, if it is one.
pub(crate) fn number(v: &AnyValue) -> Option<f64> {
    match v {
        AnyValue::Int8(x) => Some(f64::from(*x)),
        AnyValue::Int16(x) => Some(f64::from(*x)),
        AnyValue::Int32(x) => Some(f64::from(*x)),
        AnyValue::Int64(x) => Some(*x as f64),
        AnyValue::UInt8(x) => Some(f64::from(*x)),
        AnyValue::UInt16(x) => Some(f64::from(*x)),
        AnyValue::UInt32(x) => Some(f64::from(*x)),
        AnyValue::UInt64(x) => Some(*x as f64),
        AnyValue::Float32(x) => Some(f64::from(*x)).filter(|f| !f.is_nan()),
        AnyValue::Float64(x) => Some(*x).filter(|f| !f.is_nan()),
        _ => None,
    }
}

/// The rows of a section's table as cells (at most `limit` rows).
pub(crate) fn rows(section: &Section, limit: usize) -> Vec<Vec<AnyValue<'_>>> {
    let df = &section.table;
    let n = df.height().min(limit);
    let columns = df.columns();
    (0..n)
        .map(|i| {
            columns
                .iter()
                .map(|c| c.get(i).unwrap_or(AnyValue::Null))
                .collect()
        })
        .collect()
}

/// The headers of a section's table (Chinese labels where given).
pub(crate) fn headers(section: &Section) -> Vec<String> {
    section
        .table
        .get_column_names()
        .iter()
        .map(|c| section.label(c.as_str()).to_string())
        .collect()
}
