//! Writing a computed [`Report`]: JSON (for programs and the API), Markdown, an xlsx workbook
//! (one sheet per table) and one self-contained HTML file with SVG charts.

mod html;
pub mod json;
mod md;
pub mod member;
mod svg;
mod xlsx;

use std::path::Path;

use crate::error::{Error, Result};
use crate::table::Cell;
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

/// The rows of a section's table as cells (at most `limit` rows).
pub(crate) fn rows(section: &Section, limit: usize) -> Vec<Vec<Cell<'_>>> {
    let t = &section.table;
    let n = t.height().min(limit);
    let width = t.names().len();
    (0..n)
        .map(|i| (0..width).map(|c| t.cell(c, i)).collect())
        .collect()
}

/// The headers of a section's table (Chinese labels where given).
pub(crate) fn headers(section: &Section) -> Vec<String> {
    section
        .table
        .names()
        .iter()
        .map(|c| section.label(c).to_string())
        .collect()
}
