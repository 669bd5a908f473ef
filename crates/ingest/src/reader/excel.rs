//! Excel workbooks, `.xlsx`, `.xlsm`, `.xlsb`, the old `.xls`, and `.ods`, through calamine.
//!
//! Only worksheets are read (chart, dialog and macro sheets are skipped), only the one asked
//! for when `--sheet` names it, dates of a workbook saved in Excel's 1904 date system (Mac
//! Excel) are moved to the 1900 system every other part of dangan reads, and formula errors
//! (`#DIV/0!`) stay errors, for the checks to quarantine.

use std::io::Cursor;
use std::path::Path;

use calamine::{
    Data, DataRef, Ods, OdsError, Reader as _, SheetType, Sheets, Xls, XlsError, Xlsb, XlsbError,
    Xlsx, XlsxError, open_workbook_from_rs,
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
                cells.extend(row.iter().map(|d| convert(d.clone(), shift)));
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

fn convert(d: Data, shift: f64) -> RawCell {
    match d {
        Data::Empty => RawCell::Empty,
        // calamine's display is Excel's own (`#DIV/0!`, `#N/A`).
        Data::Error(e) => RawCell::Error(e.to_string()),
        Data::String(s) => RawCell::Text(s),
        Data::Int(i) => RawCell::Number(i as f64),
        Data::Float(f) => RawCell::Number(f),
        Data::Bool(b) => RawCell::Bool(b),
        Data::DateTime(dt) if dt.is_datetime() => RawCell::DateTime(dt.as_f64() + shift),
        // A duration (`[h]:mm`) is a number of days, not a date.
        Data::DateTime(dt) => RawCell::Number(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => RawCell::Text(s),
    }
}

/// [`convert`] of a cell as the streaming reader sees it, its text copied once.
fn convert_ref(d: &DataRef, shift: f64) -> RawCell {
    match d {
        DataRef::SharedString(s) => RawCell::Text((*s).to_string()),
        DataRef::String(s) => RawCell::Text(s.clone()),
        other => convert(Data::from(other.clone()), shift),
    }
}

/// Rows of a worksheet in each part [`stream_worksheet`] hands over.
const ROWS_PER_PART: usize = 4096;

/// What [`stream_worksheet`] hands over, in order.
pub(crate) enum Streamed {
    /// The workbook is not one to stream: read it whole ([`ExcelReader::read`]). Only ever the
    /// first message.
    Whole,
    /// A part of the worksheet: its rows, and the 0-based sheet row of the first (the first
    /// part starts at row 0, so its rows are the sheet's).
    Part(RawSheet, usize),
    /// Reading stopped part way.
    Failed(Error),
    /// The sheet was read to its end (sent by the caller of [`stream_worksheet`] once it
    /// returns: a reader that died part way never sends it, and the rows it would have read
    /// are then not taken for all of them).
    End,
}

/// Parse an xlsx workbook's one worksheet with data and hand its rows over part by part as
/// the XML is read (`send`: false to stop), so that the parts are converted on the other cores
/// while the rest is parsed — reading the sheet whole first left one core parsing while the
/// other waited (two thirds of a 100,000-row roster's import). The first message is
/// [`Streamed::Whole`] where the whole-sheet reading must decide instead: not an xlsx, more
/// than one worksheet with data, `--sheet` given, merged regions that cannot be looked up, or
/// no data in the first part. Cells merged down over rows (a branch written once beside its
/// members) are filled down part by part ([`MergedDown`]). Rows out of order in the sheet's
/// XML, which no spreadsheet writes, fail the file with what to do.
pub(crate) fn stream_worksheet(
    path: &Path,
    bytes: &[u8],
    opts: &ReadOptions,
    send: &dyn Fn(Streamed) -> bool,
) {
    let whole = || {
        send(Streamed::Whole);
    };
    if opts.sheet.is_some() {
        return whole();
    }
    let Ok(mut wb) = open_workbook_from_rs::<Xlsx<_>, _>(Cursor::new(bytes)) else {
        return whole();
    };
    let Some(name) = only_worksheet_with_data(&mut wb) else {
        return whole();
    };
    let shift = if wb.has_1904_epoch() {
        DAYS_1900_TO_1904
    } else {
        0.0
    };
    let failed = |e: &dyn std::fmt::Display| {
        Streamed::Failed(Error::File {
            path: path.to_path_buf(),
            message: format!("sheet `{name}` cannot be read: {e}"),
        })
    };
    std::thread::scope(|scope| {
        // The merged regions are found while the first part is parsed.
        let merged = scope.spawn(|| super::xlsx_merged::merged_regions(bytes, &name));
        let mut merged = Some(merged);
        let mut cells = match wb.worksheet_cells_reader(&name) {
            Ok(r) => r,
            Err(_) => return whole(),
        };
        let mut part: Vec<Vec<RawCell>> = Vec::new();
        // The sheet row of `part[0]`, and whether the first part went.
        let (mut first_row, mut started) = (0usize, false);
        let mut down = MergedDown::default();
        // A part goes with its cells merged down filled in; `next`: the sheet row the next
        // part starts at (`None` at the sheet's end).
        let mut hand_over = |mut part: Vec<Vec<RawCell>>,
                             first_row: usize,
                             next: Option<usize>,
                             started: &mut bool| {
            if !*started {
                // The merged regions, looked up beside the first part: a workbook whose parts
                // cannot be followed is read whole (calamine finds them there).
                let Some(merged) = merged.take().and_then(|m| m.join().ok()).flatten() else {
                    send(Streamed::Whole);
                    return false;
                };
                if !part.iter().any(|r| r.iter().any(|c| !c.is_empty())) {
                    send(Streamed::Whole);
                    return false;
                }
                down = MergedDown::new(&merged);
                *started = true;
            }
            down.fill(&mut part, first_row, next);
            let sheet = RawSheet {
                name: name.clone(),
                rows: part,
                encoding: None,
            };
            send(Streamed::Part(sheet, first_row))
        };
        loop {
            let cell = match cells.next_cell() {
                Ok(Some(cell)) => cell,
                Ok(None) => break,
                Err(e) => {
                    send(failed(&e));
                    return;
                }
            };
            if matches!(cell.get_value(), DataRef::Empty) {
                continue;
            }
            let (r, c) = (
                cell.get_position().0 as usize,
                cell.get_position().1 as usize,
            );
            if r < first_row {
                send(failed(&format_args!(
                    "row {} comes after row {} in the sheet's XML, which no spreadsheet program writes: open the workbook in Excel, WPS or LibreOffice, save it again and import that",
                    r + 1,
                    first_row + 1
                )));
                return;
            }
            if r >= first_row + ROWS_PER_PART {
                if !hand_over(std::mem::take(&mut part), first_row, Some(r), &mut started) {
                    return;
                }
                first_row = r;
            }
            let at = r - first_row;
            if part.len() <= at {
                part.resize_with(at + 1, Vec::new);
            }
            let row = &mut part[at];
            if row.len() <= c {
                row.resize(c + 1, RawCell::Empty);
            }
            row[c] = convert_ref(cell.get_value(), shift);
        }
        if !part.is_empty() || !started {
            hand_over(part, first_row, None, &mut started);
        }
    });
}

/// Cells merged down over rows, filled down part by part as [`fill_merged_down`] fills the
/// whole sheet: each region's first cell is kept until the part holding its last row has gone.
#[derive(Default)]
struct MergedDown {
    /// (first row, column, last row) of each region over more than one row.
    regions: Vec<(usize, usize, usize)>,
    /// The value of each region (by its place in `regions`) whose first row has been read.
    tops: rustc_hash::FxHashMap<usize, RawCell>,
}

impl MergedDown {
    fn new(merged: &[(usize, usize, usize, usize)]) -> Self {
        MergedDown {
            regions: merged
                .iter()
                .filter(|&&(r0, _, r1, _)| r1 > r0)
                .map(|&(r0, c0, r1, _)| (r0, c0, r1))
                .collect(),
            tops: Default::default(),
        }
    }

    /// Fill the part whose rows start at sheet row `first`. `next`: the row the next part
    /// starts at — the empty rows before it are rows of the sheet to the whole reading, so a
    /// region reaching into them adds them to this part, filled.
    fn fill(&mut self, part: &mut Vec<Vec<RawCell>>, first: usize, next: Option<usize>) {
        if self.regions.is_empty() {
            return;
        }
        if let Some(next) = next
            && let Some(last) = self
                .regions
                .iter()
                .filter(|&&(r0, _, r1)| r0 < next && r1 >= first)
                .map(|&(_, _, r1)| r1.min(next - 1))
                .max()
            && last >= first + part.len()
        {
            part.resize_with(last + 1 - first, Vec::new);
        }
        let end = first + part.len();
        for (i, &(r0, c0, r1)) in self.regions.iter().enumerate() {
            if r0 >= end || r1 < first {
                continue;
            }
            if r0 >= first
                && let Some(v) = part[r0 - first].get(c0).filter(|v| !v.is_empty())
            {
                self.tops.insert(i, v.clone());
            }
            let Some(value) = self.tops.get(&i) else {
                continue;
            };
            for row in part
                .iter_mut()
                .take(r1 + 1 - first)
                .skip((r0 + 1).saturating_sub(first))
            {
                if row.len() <= c0 {
                    row.resize(c0 + 1, RawCell::Empty);
                }
                if row[c0].is_empty() {
                    row[c0] = value.clone();
                }
            }
        }
        let regions = &self.regions;
        self.tops.retain(|&i, _| regions[i].2 >= end);
    }
}

/// The name of a workbook's only worksheet with data: its only worksheet, or the one whose
/// dimension spans more than a cell where every other has no data (the empty Sheet2 and
/// Sheet3 of an older Excel's new workbook). `None` when that cannot be told without reading
/// more than one sheet whole.
fn only_worksheet_with_data(wb: &mut Xlsx<Cursor<&[u8]>>) -> Option<String> {
    let worksheets: Vec<String> = wb
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    if let [one] = worksheets.as_slice() {
        return Some(one.clone());
    }
    let mut big = None;
    for name in &worksheets {
        let cells = wb.worksheet_cells_reader(name).ok()?.dimensions().len();
        if cells > 1 {
            if big.is_some() {
                return None;
            }
            big = Some(name.clone());
        } else if wb.worksheet_range(name).ok()?.used_cells().next().is_some() {
            return None;
        }
    }
    big
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

    /// What [`stream_worksheet`] hands over: `None` when it says to read the workbook whole,
    /// else the parts put back into one sheet's rows (trailing empty cells cut).
    fn streamed(path: &Path, bytes: &[u8]) -> Option<Vec<Vec<RawCell>>> {
        let got = std::sync::Mutex::new(Vec::new());
        stream_worksheet(path, bytes, &ReadOptions::default(), &|m| {
            got.lock().unwrap().push(m);
            true
        });
        let mut rows: Vec<Vec<RawCell>> = Vec::new();
        for m in got.into_inner().unwrap() {
            match m {
                Streamed::Whole => return None,
                Streamed::Failed(e) => panic!("{}: {e}", path.display()),
                Streamed::End => {}
                Streamed::Part(sheet, first) => {
                    assert!(first >= rows.len(), "parts in order");
                    rows.resize_with(first, Vec::new);
                    rows.extend(sheet.rows);
                }
            }
        }
        Some(rows.into_iter().map(trimmed).collect())
    }

    fn trimmed(mut row: Vec<RawCell>) -> Vec<RawCell> {
        while row.last().is_some_and(RawCell::is_empty) {
            row.pop();
        }
        row
    }

    /// Every workbook of the fixtures the streaming reader takes gives the rows the whole
    /// reading gives; those it turns down are the ones it must (several sheets with data,
    /// cells merged down).
    #[test]
    fn streamed_rows_are_the_whole_readings() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        let mut files = Vec::new();
        // More workbooks to compare on, from outside the repository (BENCHMARKS.md, item 26).
        let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("DANGAN_XLSX_CORPUS")
            .map(Into::into)
            .into_iter()
            .collect();
        dirs.push(root);
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "xlsx") {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut streamed_files = Vec::new();
        for path in &files {
            let bytes = std::fs::read(path).unwrap();
            let Some(rows) = streamed(path, &bytes) else {
                continue;
            };
            let whole = ExcelReader
                .read(path, &bytes, &ReadOptions::default())
                .unwrap();
            let with_data: Vec<&RawSheet> = whole.iter().filter(|s| s.has_data()).collect();
            assert_eq!(with_data.len(), 1, "{}", path.display());
            let mut want: Vec<Vec<RawCell>> =
                with_data[0].rows.iter().cloned().map(trimmed).collect();
            let mut got = rows;
            for r in [&mut want, &mut got] {
                while r.last().is_some_and(Vec::is_empty) {
                    r.pop();
                }
            }
            assert_eq!(got, want, "{}", path.display());
            streamed_files.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
        eprintln!("streamed like the whole reading: {streamed_files:?}");
        for name in [
            "roster_1904.xlsx",
            "date_1904.xlsx",
            "errors.xlsx",
            "test.xlsx",
            "no_cell_ids.xlsx",
            "namespace.xlsx",
            "skip_empty_lines.xlsx",
            "bad_dimensions.xlsx",
            "ragged.xlsx",
            "roster_merged.xlsx",
        ] {
            assert!(
                streamed_files.iter().any(|f| f == name),
                "{streamed_files:?}"
            );
        }
        // Several sheets with data are chosen among by the whole reading.
        let sheets = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/real/csvkit/sheets.xlsx");
        assert!(streamed(&sheets, &std::fs::read(&sheets).unwrap()).is_none());
    }

    /// A sheet of several parts, with empty rows inside the parts and at a part's edge, rows
    /// before the data and cells left of it, cells merged down (inside a part, across both
    /// edges, and down into the empty rows at an edge), and an empty second sheet: the same
    /// rows as the whole reading, each part's first row where it is in the sheet.
    #[test]
    fn a_sheet_of_many_parts_streams_whole() {
        let n = ROWS_PER_PART as u32;
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(2, 1, "姓名").unwrap();
        ws.write_string(2, 2, "入党日期").unwrap();
        // Empty rows: a run inside the first part, and the rows around its edge (the second
        // part then starts at n + 2).
        let empty = |r: u32| (1000..1007).contains(&r) || (n - 2..=n + 1).contains(&r);
        let last = 3 * n;
        for r in (3..=last).filter(|r| !empty(*r)) {
            ws.write_string(r, 1, format!("党员{r}")).unwrap();
            if r % 3 == 0 {
                ws.write_number(r, 2, 45000.0 + f64::from(r % 300)).unwrap();
            }
        }
        // A branch written once beside its members, merged down.
        let merged = [
            (10, 40),
            (n - 5, n + 3),
            (2 * n - 10, 2 * n + 10),
            (last - 3, last),
        ];
        let plain = rust_xlsxwriter::Format::new();
        for (i, (r0, r1)) in merged.into_iter().enumerate() {
            ws.merge_range(r0, 0, r1, 0, &format!("第{i}支部"), &plain)
                .unwrap();
        }
        wb.add_worksheet();
        let bytes = wb.save_to_buffer().unwrap();
        let path = Path::new("many.xlsx");
        let rows = streamed(path, &bytes).expect("streamed");
        let whole = ExcelReader
            .read(path, &bytes, &ReadOptions::default())
            .unwrap();
        let want: Vec<Vec<RawCell>> = whole[0].rows.iter().cloned().map(trimmed).collect();
        assert_eq!(rows.len(), want.len());
        assert_eq!(rows, want);
        let branch = |r: u32| rows[r as usize].first().cloned();
        let text = |t: &str| Some(RawCell::Text(t.into()));
        assert_eq!(branch(40), text("第0支部"));
        // Into the empty rows at the edge (rows of the sheet to the whole reading) and on.
        assert_eq!(branch(n), text("第1支部"));
        assert_eq!(branch(n + 3), text("第1支部"));
        assert_eq!(branch(2 * n + 10), text("第2支部"));
        assert_eq!(branch(last), text("第3支部"));
        assert_eq!(rows[last as usize][1], RawCell::Text(format!("党员{last}")));
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
