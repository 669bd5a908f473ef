//! xlsx: an overview sheet (title, period, highlights), then one sheet per table with Chinese
//! headers, a frozen header row and column widths fitted to the content.

use crate::table::Cell;
use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use crate::Report;
use crate::error::{Error, Result};

/// Data rows per sheet (Excel's limit is 1,048,576 with the header).
const MAX_ROWS: usize = 1_048_000;

fn xerr(e: XlsxError) -> Error {
    Error::Frame(format!("xlsx: {e}"))
}

/// Display width of text in Excel's units (CJK characters take two).
fn width(s: &str) -> f64 {
    s.chars()
        .map(|c| if (c as u32) < 0x2E80 { 1.0 } else { 2.0 })
        .sum::<f64>()
}

/// A sheet name Excel accepts, unique in the workbook.
fn sheet_name(title: &str, used: &mut Vec<String>) -> String {
    let clean: String = title
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(28)
        .collect();
    let mut name = clean.clone();
    let mut k = 2;
    while used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
        name = format!("{clean}{k}");
        k += 1;
    }
    used.push(name.clone());
    name
}

pub fn render(report: &Report) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let title_fmt = Format::new().set_bold().set_font_size(16);
    let header = Format::new()
        .set_bold()
        .set_background_color("#F2DCDB")
        .set_border_bottom(rust_xlsxwriter::FormatBorder::Thin);
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    let mut used = vec!["概览".to_string()];

    let ws = wb.add_worksheet();
    ws.set_name("概览").map_err(xerr)?;
    ws.write_string_with_format(0, 0, &report.title, &title_fmt)
        .map_err(xerr)?;
    ws.write_string(1, 0, &report.subtitle).map_err(xerr)?;
    let mut r = 3;
    for (k, v) in &report.highlights {
        ws.write_string_with_format(r, 0, k, &bold).map_err(xerr)?;
        ws.write_string(r, 1, v).map_err(xerr)?;
        r += 1;
    }
    r += 1;
    ws.write_string_with_format(r, 0, "工作表", &bold)
        .map_err(xerr)?;
    ws.write_string_with_format(r, 1, "行数", &bold)
        .map_err(xerr)?;
    let mut names = Vec::new();
    for section in &report.sections {
        let name = sheet_name(&section.title, &mut used);
        r += 1;
        ws.write_string(r, 0, &name).map_err(xerr)?;
        ws.write_number(r, 1, section.table.height() as f64)
            .map_err(xerr)?;
        names.push(name);
    }
    ws.set_column_width(0, 28).map_err(xerr)?;
    ws.set_column_width(1, 40).map_err(xerr)?;

    for (section, name) in report.sections.iter().zip(names) {
        let ws = wb.add_worksheet();
        ws.set_name(&name).map_err(xerr)?;
        let headers = super::headers(section);
        let mut widths: Vec<f64> = headers.iter().map(|h| width(h) + 2.0).collect();
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &header)
                .map_err(xerr)?;
        }
        ws.set_freeze_panes(1, 0).map_err(xerr)?;
        for (i, row) in super::rows(section, MAX_ROWS).iter().enumerate() {
            let r = i as u32 + 1;
            for (c, v) in row.iter().enumerate() {
                let col = c as u16;
                match v {
                    Cell::Null => {}
                    Cell::Date(days) => {
                        let d = NaiveDate::from_epoch_days(*days);
                        match d.and_then(|d| {
                            ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                                .ok()
                        }) {
                            Some(x) => {
                                ws.write_datetime_with_format(r, col, &x, &date_fmt)
                                    .map_err(xerr)?;
                            }
                            None => {
                                ws.write_string(r, col, v.text()).map_err(xerr)?;
                            }
                        }
                        widths[c] = widths[c].max(12.0);
                    }
                    v => match v.number() {
                        Some(f) => {
                            ws.write_number(r, col, f).map_err(xerr)?;
                            widths[c] = widths[c].max(v.text().len() as f64 + 2.0);
                        }
                        None => {
                            let t = v.text();
                            widths[c] = widths[c].max(width(&t) + 2.0);
                            ws.write_string(r, col, t).map_err(xerr)?;
                        }
                    },
                }
            }
        }
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, w.min(60.0)).map_err(xerr)?;
        }
    }
    wb.save_to_buffer().map_err(xerr)
}
