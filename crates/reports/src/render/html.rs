//! HTML: one self-contained page (no network: styles inline, charts as inline SVG) that an
//! organizer can open offline or print for a meeting.

use std::fmt::Write;

use crate::Report;

/// Rows of a table shown on the page (the xlsx has them all).
const ROWS: usize = 100;

pub use dangan_text::escape_html as esc;

const STYLE: &str = r#"
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#b71c1c;color:#fff;padding:24px 40px}
header h1{margin:0 0 6px;font-size:26px}
header p{margin:0;opacity:.9}
main{padding:20px 40px;max-width:1200px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 16px}
.card{background:#fff;border:1px solid #e0e0e0;border-top:3px solid #b71c1c;padding:10px 16px;min-width:160px}
.card b{display:block;font-size:13px;color:#666;font-weight:normal}
.card span{font-size:20px}
section{background:#fff;border:1px solid #e0e0e0;margin:16px 0;padding:12px 20px}
h2{font-size:18px;border-left:4px solid #b71c1c;padding-left:8px}
.note{color:#555;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th{background:#f7e4e4;text-align:left}
th,td{border:1px solid #ddd;padding:3px 8px;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fcfcfc}
.more{color:#888;font-size:12px}
footer{color:#999;font-size:12px;padding:10px 40px 30px}
svg text{font-family:inherit}
@media print{body{background:#fff}header{background:#fff;color:#000;border-bottom:3px solid #b71c1c}section{break-inside:avoid;border:none}}
"#;

pub fn render(report: &Report) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>{STYLE}</style></head><body>\
         <header><h1>{t}</h1><p>{sub}</p></header><main>",
        t = esc(&report.title),
        sub = esc(&report.subtitle)
    );
    if !report.highlights.is_empty() {
        s.push_str("<div class=\"cards\">");
        for (k, v) in &report.highlights {
            let _ = write!(
                s,
                "<div class=\"card\"><b>{}</b><span>{}</span></div>",
                esc(k),
                esc(v)
            );
        }
        s.push_str("</div>");
    }
    for section in &report.sections {
        let _ = write!(s, "<section><h2>{}</h2>", esc(&section.title));
        if let Some(note) = &section.note {
            let _ = write!(s, "<p class=\"note\">{}</p>", esc(note));
        }
        if let Some(chart) = &section.chart
            && section.table.height() > 0
        {
            s.push_str(&super::svg::chart(section, chart));
        }
        if section.table.height() == 0 {
            s.push_str("<p class=\"note\">（无）</p></section>");
            continue;
        }
        s.push_str("<table><thead><tr>");
        for h in super::headers(section) {
            let _ = write!(s, "<th>{}</th>", esc(&h));
        }
        s.push_str("</tr></thead><tbody>");
        for row in super::rows(section, ROWS) {
            s.push_str("<tr>");
            for v in &row {
                let class = if v.number().is_some() {
                    " class=\"n\""
                } else {
                    ""
                };
                let _ = write!(s, "<td{class}>{}</td>", esc(&v.text()));
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table>");
        if section.table.height() > ROWS {
            let _ = write!(
                s,
                "<p class=\"more\">仅显示前 {ROWS} 行，共 {} 行；完整数据见 xlsx 或 json 格式。</p>",
                section.table.height()
            );
        }
        s.push_str("</section>");
    }
    let m = &report.metrics;
    let _ = writeln!(
        s,
        "</main><footer>dangan 档案 · 报表 {} · 查询 {} ms，计算 {} ms{}</footer></body></html>",
        esc(&report.name),
        m.query_ms,
        m.compute_ms,
        m.department
            .as_ref()
            .map(|d| format!(" · 部门 {}", esc(d)))
            .unwrap_or_default()
    );
    s
}
