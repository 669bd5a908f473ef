//! Markdown: title, highlights, then each section's note and table (long tables cut, with a
//! line saying so).

use std::fmt::Write;

use crate::Report;

/// Rows of a table shown in Markdown.
const ROWS: usize = 200;

pub fn render(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n\n{}\n", report.title, report.subtitle);
    for (k, v) in &report.highlights {
        let _ = writeln!(s, "- **{k}**：{v}");
    }
    for section in &report.sections {
        let _ = writeln!(s, "\n## {}\n", section.title);
        if let Some(note) = &section.note {
            let _ = writeln!(s, "{note}\n");
        }
        if section.table.height() == 0 {
            let _ = writeln!(s, "（无）");
            continue;
        }
        let headers = super::headers(section);
        let _ = writeln!(s, "| {} |", headers.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(headers.len()));
        for row in super::rows(section, ROWS) {
            let cells: Vec<String> = row
                .iter()
                .map(|v| v.text().replace('|', "\\|").replace('\n', " "))
                .collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
        if section.table.height() > ROWS {
            let _ = writeln!(
                s,
                "\n仅显示前 {ROWS} 行，共 {} 行；完整数据请用 `--format xlsx` 或 `json`。",
                section.table.height()
            );
        }
    }
    s
}
