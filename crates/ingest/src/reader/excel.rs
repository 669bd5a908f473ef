//! Excel workbooks, `.xlsx`, `.xlsm`, `.xlsb`, the old `.xls`, and `.ods`, through calamine.
//!
//! Only worksheets are read (chart, dialog and macro sheets are skipped), only the one asked
//! for when `--sheet` names it, dates of a workbook saved in Excel's 1904 date system (Mac
//! Excel) are moved to the 1900 system every other part of dangan reads, and formula errors
//! (`#DIV/0!`) stay errors, for the checks to quarantine.

use std::io::Cursor;
use std::path::Path;

use calamine::{
    Data, Ods, OdsError, Reader as _, SheetType, Sheets, Xls, XlsError, Xlsb, XlsbError, Xlsx,
    XlsxError, open_workbook_from_rs,
};

use super::{RawCell, RawSheet, ReadOptions, Reader};
use crate::error::{Error, Result};

pub struct ExcelReader;

/// Days from 1899-12-30 (the 1900 system's day 0) to 1904-01-01 (the 1904 system's).
const DAYS_1900_TO_1904: f64 = 1462.0;

type Workbook<'a> = Sheets<Cursor<&'a [u8]>>;

/// Open a workbook of any of the formats, telling a password apart from a broken file.
fn open<'a>(path: &Path, bytes: &'a [u8]) -> Result<Workbook<'a>> {
    let data = Cursor::new(bytes);
    let mut password = false;
    let mut errors = Vec::new();
    match open_workbook_from_rs::<Xlsx<_>, _>(data.clone()) {
        Ok(w) => return Ok(Sheets::Xlsx(w)),
        Err(XlsxError::Password) => password = true,
        Err(e) => errors.push(format!("xlsx: {e}")),
    }
    match open_workbook_from_rs::<Xls<_>, _>(data.clone()) {
        Ok(w) => return Ok(Sheets::Xls(w)),
        Err(XlsError::Password) => password = true,
        Err(e) => errors.push(format!("xls: {e}")),
    }
    match open_workbook_from_rs::<Xlsb<_>, _>(data.clone()) {
        Ok(w) => return Ok(Sheets::Xlsb(w)),
        Err(XlsbError::Password) => password = true,
        Err(e) => errors.push(format!("xlsb: {e}")),
    }
    match open_workbook_from_rs::<Ods<_>, _>(data) {
        Ok(w) => return Ok(Sheets::Ods(w)),
        Err(OdsError::Password) => password = true,
        Err(e) => errors.push(format!("ods: {e}")),
    }
    // A BIFF2–4 workbook (Excel 2.x to 4.0, before 1993) is a bare record stream starting
    // with its BOF record, not a compound file: no reader here takes it.
    let old_biff = matches!(bytes, [0x09, 0x00 | 0x02 | 0x04, ..]);
    let message = if old_biff {
        "an Excel 2.x–4.0 workbook (a format from before 1993, which no reader here takes): open \
         it in Excel, WPS or LibreOffice and save it as .xlsx, then import that"
            .to_string()
    } else if password {
        "the workbook is password-protected (工作簿设置了打开密码): open it in Excel, \
         save a copy without a password (文件 → 信息 → 保护工作簿 → 用密码进行加密, clear it) \
         and import that copy"
            .to_string()
    } else {
        format!(
            "not a readable workbook (none of xlsx, xls, xlsb, ods: {})",
            errors.join("; ")
        )
    };
    Err(Error::File {
        path: path.to_path_buf(),
        message,
    })
}

/// The names of a workbook's sheets, in tab order (as `--sheet N` counts them).
pub fn sheet_names(path: &Path, bytes: &[u8]) -> Result<Vec<String>> {
    let wb = open(path, bytes)?;
    Ok(wb
        .sheets_metadata()
        .iter()
        .map(|s| s.name.clone())
        .collect())
}

fn uses_1904(wb: &Workbook) -> bool {
    match wb {
        Sheets::Xlsx(w) => w.has_1904_epoch(),
        Sheets::Xls(w) => w.has_1904_epoch(),
        Sheets::Xlsb(w) => w.has_1904_epoch(),
        Sheets::Ods(_) => false,
    }
}

impl Reader for ExcelReader {
    fn extensions(&self) -> &'static [&'static str] {
        &["xlsx", "xlsm", "xls", "xlsb", "ods"]
    }

    fn selects_sheet(&self) -> bool {
        true
    }

    fn read(&self, path: &Path, bytes: &[u8], opts: &ReadOptions) -> Result<Vec<RawSheet>> {
        let mut wb = open(path, bytes)?;
        let shift = if uses_1904(&wb) {
            DAYS_1900_TO_1904
        } else {
            0.0
        };
        let sheets = wb.sheets_metadata().to_vec();
        let worksheets: Vec<&str> = sheets
            .iter()
            .filter(|s| s.typ == SheetType::WorkSheet)
            .map(|s| s.name.as_str())
            .collect();
        // `--sheet` by name or by its number among all sheets (as Excel's tabs count them).
        let wanted: Vec<&str> = match opts.sheet.as_deref() {
            None => worksheets.clone(),
            Some(w) => {
                let by_name = sheets.iter().find(|s| s.name == w);
                let by_number = w
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=sheets.len()).contains(n))
                    .map(|n| &sheets[n - 1]);
                match by_name.or(by_number) {
                    Some(s) if s.typ == SheetType::WorkSheet => vec![s.name.as_str()],
                    Some(s) => {
                        return Err(Error::File {
                            path: path.to_path_buf(),
                            message: format!(
                                "sheet `{}` is a {:?}, not a worksheet with rows (worksheets: {})",
                                s.name,
                                s.typ,
                                worksheets.join(", ")
                            ),
                        });
                    }
                    None => {
                        return Err(Error::File {
                            path: path.to_path_buf(),
                            message: format!(
                                "no sheet `{w}` (sheets: {})",
                                sheets
                                    .iter()
                                    .map(|s| s.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        });
                    }
                }
            }
        };
        let mut out = Vec::new();
        for name in wanted {
            let range = wb.worksheet_range(name).map_err(|e| Error::File {
                path: path.to_path_buf(),
                message: format!("sheet `{name}` cannot be read: {e}"),
            })?;
            // Rows and columns before the used range's start are empty in the sheet.
            let (r0, c0) = range.start().unwrap_or((0, 0));
            let mut rows: Vec<Vec<RawCell>> = (0..r0).map(|_| Vec::new()).collect();
            for row in range.rows() {
                let mut cells: Vec<RawCell> = (0..c0).map(|_| RawCell::Empty).collect();
                cells.extend(row.iter().map(|d| convert(d, shift)));
                rows.push(cells);
            }
            let merged = merged_regions(&mut wb, bytes, name);
            fill_merged_down(&mut rows, &merged);
            out.push(RawSheet {
                name: name.to_string(),
                rows,
                encoding: None,
            });
        }
        Ok(out)
    }
}

/// The merged regions of a sheet, as (first row, first column, last row, last column); none
/// where the format does not say (xlsb, ods).
fn merged_regions(
    wb: &mut Workbook,
    bytes: &[u8],
    name: &str,
) -> Vec<(usize, usize, usize, usize)> {
    let dims = match wb {
        // Found in the sheet's XML without parsing it again; calamine when that fails.
        Sheets::Xlsx(w) => match super::xlsx_merged::merged_regions(bytes, name) {
            Some(found) => return found,
            None => w.merge_cells_by_sheet_name(name).unwrap_or_default(),
        },
        Sheets::Xls(w) => w.merge_cells_by_sheet_name(name).unwrap_or_default(),
        Sheets::Xlsb(_) | Sheets::Ods(_) => Vec::new(),
    };
    dims.iter()
        .map(|d| {
            (
                d.start.0 as usize,
                d.start.1 as usize,
                d.end.0 as usize,
                d.end.1 as usize,
            )
        })
        .collect()
}

/// A cell merged down over several rows is, to whoever reads the sheet, the value of each of
/// those rows (a branch written once beside all of its members; a header spanning the two
/// rows of a two-level header): its value is copied into the empty cells below it, in its
/// first column. Horizontal spans are one value and stay in their first cell.
fn fill_merged_down(rows: &mut [Vec<RawCell>], merged: &[(usize, usize, usize, usize)]) {
    for &(r0, c0, r1, _) in merged {
        if r1 <= r0 || r0 >= rows.len() {
            continue;
        }
        let Some(value) = rows[r0].get(c0).filter(|v| !v.is_empty()).cloned() else {
            continue;
        };
        for row in rows.iter_mut().take(r1 + 1).skip(r0 + 1) {
            if row.len() <= c0 {
                row.resize(c0 + 1, RawCell::Empty);
            }
            if row[c0].is_empty() {
                row[c0] = value.clone();
            }
        }
    }
}

fn convert(d: &Data, shift: f64) -> RawCell {
    match d {
        Data::Empty => RawCell::Empty,
        // calamine's display is Excel's own (`#DIV/0!`, `#N/A`).
        Data::Error(e) => RawCell::Error(e.to_string()),
        Data::String(s) => RawCell::Text(s.clone()),
        Data::Int(i) => RawCell::Number(*i as f64),
        Data::Float(f) => RawCell::Number(*f),
        Data::Bool(b) => RawCell::Bool(*b),
        Data::DateTime(dt) if dt.is_datetime() => RawCell::DateTime(dt.as_f64() + shift),
        // A duration (`[h]:mm`) is a number of days, not a date.
        Data::DateTime(dt) => RawCell::Number(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => RawCell::Text(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calamine(file: &str) -> Vec<RawSheet> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/real/calamine")
            .join(file);
        let bytes = std::fs::read(&path).unwrap();
        ExcelReader
            .read(&path, &bytes, &ReadOptions::default())
            .unwrap()
    }

    /// calamine's own test workbooks: the 1904 copies read as the same dates as the 1900
    /// ones, in every format (they read 4 years and 1 day early).
    #[test]
    fn the_1904_date_system_in_xls_xlsx_and_xlsb() {
        for ext in ["xls", "xlsx", "xlsb"] {
            let plain = calamine(&format!("date.{ext}"));
            let mac = calamine(&format!("date_1904.{ext}"));
            assert_eq!(plain[0].rows, mac[0].rows, "{ext}");
            assert_eq!(mac[0].rows[0][0].display(), "2021-01-01", "{ext}");
            assert_eq!(mac[0].rows[1][0].display(), "2021-01-02", "{ext}");
        }
    }

    #[test]
    fn error_values_stay_errors_and_chart_sheets_are_skipped() {
        let sheets = calamine("errors.xlsx");
        let shown: Vec<String> = sheets[0].rows.iter().map(|r| r[0].display()).collect();
        assert_eq!(
            shown,
            [
                "#DIV/0!", "#NAME?", "#VALUE!", "#NULL!", "#REF!", "#NUM!", "#N/A"
            ]
        );
        assert!(
            sheets[0]
                .rows
                .iter()
                .all(|r| matches!(r[0], RawCell::Error(_)))
        );
        for ext in ["xls", "xlsx", "xlsb"] {
            let names: Vec<String> = calamine(&format!("any_sheets.{ext}"))
                .into_iter()
                .map(|s| s.name)
                .collect();
            assert!(!names.iter().any(|n| n == "Chart"), "{ext}: {names:?}");
            assert!(names.iter().any(|n| n == "Visible"), "{ext}: {names:?}");
        }
    }
}
