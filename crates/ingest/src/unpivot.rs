//! Wide sheets of a dataset with `[unpivot]` in its spec: a 党员发展 ledger kept as one row
//! per person with a date column per stage (递交入党申请书时间, 确定为入党积极分子时间, …) becomes
//! one row per filled stage cell — the header names the stage, the cell is its date — as the
//! dataset stores it. Row numbers of the original are kept for the quarantine.

use dangan_datasets::DatasetSpec;

use crate::header::AliasMap;
use crate::reader::{RawCell, RawSheet};
use crate::value::normalize_enum;

/// How many rows from the top are searched for the wide header.
const HEADER_SEARCH_ROWS: usize = 30;

/// The value of the enum column a wide header stands for: the header itself, or with a
/// trailing 时间 / 日期 / 年月 / 时间（年月日） dropped.
fn header_value<'a>(spec: &'a DatasetSpec, column: usize, header: &str) -> Option<&'a str> {
    let col = &spec.columns[column];
    let h = dangan_text::normalize_header(header);
    let mut candidates = vec![h.clone()];
    for suffix in ["时间", "日期", "年月", "年月日"] {
        if let Some(stripped) = h.strip_suffix(suffix)
            && !stripped.is_empty()
        {
            candidates.push(stripped.to_string());
        }
    }
    candidates.iter().find_map(|c| normalize_enum(col, c).ok())
}

/// If `sheet` is wide for `spec` (no column of the unpivoted name, and at least two headers
/// that are its values), the long sheet (header row first) and, per long row, the row of
/// `sheet` it comes from. `None` when the sheet is not wide.
pub fn to_long(
    sheet: &RawSheet,
    spec: &DatasetSpec,
    aliases: &AliasMap,
) -> Option<(RawSheet, Vec<usize>)> {
    let u = spec.unpivot.as_ref()?;
    let name_col = spec.column_index(&u.name)?;
    let value_col = spec.column_index(&u.value)?;
    let (hr, wide) = sheet
        .rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .find_map(|(r, row)| {
            let texts: Vec<String> = row.iter().map(RawCell::display).collect();
            // A long sheet names the column itself.
            if texts
                .iter()
                .any(|t| matches!(aliases.lookup(t), Some(i) if i == name_col || i == value_col))
            {
                return None;
            }
            let wide: Vec<(usize, &str)> = texts
                .iter()
                .enumerate()
                .filter(|(_, t)| aliases.lookup(t).is_none())
                .filter_map(|(c, t)| header_value(spec, name_col, t).map(|v| (c, v)))
                .collect();
            (wide.len() >= 2).then_some((r, wide))
        })?;
    let header = &sheet.rows[hr];
    let kept: Vec<usize> = (0..header.len())
        .filter(|c| !wide.iter().any(|(w, _)| w == c))
        .collect();
    let mut head: Vec<RawCell> = kept.iter().map(|&c| header[c].clone()).collect();
    head.push(RawCell::Text(u.name.clone()));
    head.push(RawCell::Text(u.value.clone()));
    let mut rows = vec![head];
    let mut source_rows = vec![hr];
    for (r, row) in sheet.rows.iter().enumerate().skip(hr + 1) {
        if row.iter().all(RawCell::is_empty) {
            continue;
        }
        let base: Vec<RawCell> = kept
            .iter()
            .map(|&c| row.get(c).cloned().unwrap_or(RawCell::Empty))
            .collect();
        let mut any = false;
        for (c, value) in &wide {
            let cell = row.get(*c).cloned().unwrap_or(RawCell::Empty);
            if cell.is_empty() {
                continue;
            }
            any = true;
            let mut long = base.clone();
            long.push(RawCell::Text(value.to_string()));
            long.push(cell);
            rows.push(long);
            source_rows.push(r);
        }
        // A person with no stage filled is kept, to be quarantined as such — not dropped.
        if !any {
            let mut long = base;
            long.push(RawCell::Empty);
            long.push(RawCell::Empty);
            rows.push(long);
            source_rows.push(r);
        }
    }
    Some((
        RawSheet {
            name: sheet.name.clone(),
            rows,
            encoding: sheet.encoding,
        },
        source_rows,
    ))
}
