//! Finding the header row (even below a title row) and matching its cells to spec columns by
//! name or alias, after trimming and full-width folding.

use std::collections::HashMap;

use dangan_datasets::{DatasetSpec, header_forms};
use dangan_text::normalize_header;

use crate::reader::{RawCell, RawSheet};

/// How many rows from the top are searched for the header.
const HEADER_SEARCH_ROWS: usize = 30;

/// Normalized header → spec column index, for one dataset (plus `--mapping` additions).
#[derive(Debug, Clone)]
pub struct AliasMap {
    /// Normalized header → (column, whether a `--mapping` entry says so).
    map: HashMap<String, (usize, bool)>,
}

impl AliasMap {
    pub fn new(spec: &DatasetSpec, extra: &[(String, String)]) -> Result<Self, String> {
        let mut map = HashMap::new();
        for (i, col) in spec.columns.iter().enumerate() {
            for form in header_forms(col) {
                map.entry(form).or_insert((i, false));
            }
        }
        // `--mapping` entries win over the spec.
        for (header, column) in extra {
            let i = spec.column_index(column).ok_or_else(|| {
                format!(
                    "mapping names column `{column}`, which dataset `{}` does not have",
                    spec.name
                )
            })?;
            map.insert(normalize_header(header), (i, true));
        }
        Ok(AliasMap { map })
    }

    pub fn lookup(&self, header: &str) -> Option<usize> {
        self.map.get(&normalize_header(header)).map(|(i, _)| *i)
    }

    /// Whether `header` is matched by a `--mapping` entry.
    fn mapped(&self, header: &str) -> bool {
        self.map
            .get(&normalize_header(header))
            .is_some_and(|(_, user)| *user)
    }
}

/// The header row of a sheet and what each of its columns maps to.
#[derive(Debug, Clone)]
pub struct HeaderMatch {
    /// 0-based index of the header row in the sheet.
    pub row: usize,
    /// For each sheet column: the spec column it feeds, if any.
    pub columns: Vec<Option<usize>>,
    /// Headers that match no column (reported once, kept out).
    pub unknown: Vec<String>,
    /// Headers that repeat a column already matched (the first one wins).
    pub duplicates: Vec<String>,
}

/// Pick the row among the first rows whose cells match the most spec columns.
pub fn find_header(sheet: &RawSheet, aliases: &AliasMap) -> Option<HeaderMatch> {
    let mut best: Option<(usize, usize)> = None;
    for (r, row) in sheet.rows.iter().take(HEADER_SEARCH_ROWS).enumerate() {
        let mut seen = std::collections::HashSet::new();
        for cell in row {
            if let Some(i) = aliases.lookup(&cell.display()) {
                seen.insert(i);
            }
        }
        let hits = seen.len();
        if hits > 0 && best.is_none_or(|(_, b)| hits > b) {
            best = Some((r, hits));
        }
    }
    let (row, _) = best?;
    Some(match_header_row(
        row,
        sheet.rows[row].iter().map(RawCell::display),
        aliases,
    ))
}

/// Match the cells of the header row `row` to spec columns.
pub fn match_header_row(
    row: usize,
    cells: impl IntoIterator<Item = String>,
    aliases: &AliasMap,
) -> HeaderMatch {
    let cells: Vec<String> = cells.into_iter().collect();
    let mut columns = Vec::new();
    let mut unknown = Vec::new();
    let mut duplicates = Vec::new();
    // The user's `--mapping` entries take their columns first, wherever they stand in the row;
    // then the spec's names and aliases, left to right.
    let mut taken = std::collections::HashSet::new();
    let mut by_mapping = std::collections::HashSet::new();
    for (at, text) in cells.iter().enumerate() {
        if aliases.mapped(text)
            && let Some(i) = aliases.lookup(text)
            && taken.insert(i)
        {
            by_mapping.insert(at);
        }
    }
    for (at, text) in cells.into_iter().enumerate() {
        match aliases.lookup(&text) {
            Some(i) if by_mapping.contains(&at) => columns.push(Some(i)),
            Some(i) if taken.insert(i) => columns.push(Some(i)),
            Some(_) => {
                duplicates.push(text);
                columns.push(None);
            }
            None => {
                if !dangan_text::is_blank(&text) {
                    unknown.push(text);
                }
                columns.push(None);
            }
        }
    }
    HeaderMatch {
        row,
        columns,
        unknown,
        duplicates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dangan_datasets::Registry;

    fn t(s: &str) -> RawCell {
        RawCell::Text(s.into())
    }

    #[test]
    fn header_below_a_title_row_with_aliases_and_full_width() {
        let reg = Registry::builtin().unwrap();
        let spec = reg.get("members").unwrap();
        let aliases = AliasMap::new(spec, &[]).unwrap();
        let sheet = RawSheet {
            name: "s".into(),
            encoding: None,
            rows: vec![
                vec![t("第一党支部党员花名册"), RawCell::Empty],
                vec![
                    t("人员编号"),
                    t(" 姓　名 "),
                    t("公民身份号码"),
                    t("入党日期"),
                    t("备注"),
                    t("所在党支部"),
                ],
                vec![t("M1"), t("张伟"), t("x"), t("2020-01-01"), t(""), t("O1")],
            ],
        };
        let m = find_header(&sheet, &aliases).unwrap();
        assert_eq!(m.row, 1);
        let names: Vec<Option<&str>> = m
            .columns
            .iter()
            .map(|c| c.map(|i| spec.columns[i].name.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                Some("member_id"),
                Some("name"),
                Some("id_number"),
                Some("join_date"),
                None,
                Some("org_id")
            ]
        );
        assert_eq!(m.unknown, vec!["备注".to_string()]);
    }

    #[test]
    fn the_users_mapping_wins_over_an_alias_earlier_in_the_row() {
        let reg = Registry::builtin().unwrap();
        let spec = reg.get("members").unwrap();
        let mapping = [("真实姓名".to_string(), "name".to_string())];
        let aliases = AliasMap::new(spec, &mapping).unwrap();
        let m = match_header_row(
            0,
            ["党员编号", "姓名", "真实姓名", "姓名"].map(String::from),
            &aliases,
        );
        let name = spec.column_index("name");
        assert_eq!(m.columns[1], None);
        assert_eq!(m.columns[2], name);
        assert_eq!(m.columns[3], None);
        // Every repeat is reported, not only the first.
        assert_eq!(m.duplicates, vec!["姓名".to_string(), "姓名".to_string()]);
    }
}
