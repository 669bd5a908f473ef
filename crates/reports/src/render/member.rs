//! One member's archive (the JSON `dangan_query::archive::archive` builds) as text for a
//! terminal and as a printable HTML page, beside the reports' renderers.

use dangan_datasets::DatasetSpec;
use serde_json::Value;

use super::html::esc;

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A member's archive (`dangan_query::archive::archive`) as text; `people` is the spec whose
/// columns label the profile.
pub fn member_text(people: Option<&DatasetSpec>, a: &Value) -> String {
    let mut out = String::new();
    let m = &a["member"];
    let members = people;
    out.push_str(&format!(
        "党员档案 member archive: {} ({})\n  所在组织 org: {} {}\n",
        cell(m.get("name")),
        cell(m.get("member_id")),
        cell(m.get("org_id")),
        cell(a.get("org_name"))
    ));
    if let Some(spec) = members {
        for c in &spec.columns {
            if let Some(v) = m.get(&c.name).filter(|v| !v.is_null()) {
                out.push_str(&format!("  {}: {}\n", c.label, cell(Some(v))));
            }
        }
    }
    for s in a["sections"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n== {} {} ({}) ==\n",
            cell(s.get("label")),
            cell(s.get("dataset")),
            s["total"]
        ));
        let cols: Vec<String> = s["columns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect();
        if let Some(rows) = s["rows"].as_array() {
            for r in rows {
                let vals: Vec<String> = cols
                    .iter()
                    .map(|c| cell(r.get(c)))
                    .filter(|v| !v.is_empty())
                    .collect();
                out.push_str(&format!("  {}\n", vals.join(" | ")));
            }
        } else if let Some(sum) = s.get("summary") {
            out.push_str(&format!(
                "  {} 条 rows, {} — {}\n",
                cell(sum.get("n")),
                cell(sum.get("first")),
                cell(sum.get("last"))
            ));
        }
    }
    out
}

/// A member's archive as one printable HTML page (no network), labelled like [`member_text`].
pub fn member_html(people: Option<&DatasetSpec>, a: &Value) -> String {
    let m = &a["member"];
    let mut h = String::from(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>党员档案</title>\
         <style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;width:100%;margin-bottom:1.5em}\
         td,th{border:1px solid #999;padding:.3em .5em;text-align:left;vertical-align:top}th{background:#f3f3f3}\
         h1{border-bottom:3px solid #b00}@media print{body{margin:0}}</style></head><body>",
    );
    h.push_str(&format!(
        "<h1>党员档案：{}（{}）</h1><p>所在组织：{} {}</p><table>",
        esc(&cell(m.get("name"))),
        esc(&cell(m.get("member_id"))),
        esc(&cell(m.get("org_id"))),
        esc(&cell(a.get("org_name")))
    ));
    if let Some(spec) = people {
        for c in &spec.columns {
            if let Some(v) = m.get(&c.name).filter(|v| !v.is_null()) {
                h.push_str(&format!(
                    "<tr><th>{}</th><td>{}</td></tr>",
                    esc(&c.label),
                    esc(&cell(Some(v)))
                ));
            }
        }
    }
    h.push_str("</table>");
    for s in a["sections"].as_array().into_iter().flatten() {
        h.push_str(&format!(
            "<h2>{}（{}）</h2>",
            esc(&cell(s.get("label"))),
            s["total"]
        ));
        let cols: Vec<(String, String)> = s["columns"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| (cell(c.get("name")), cell(c.get("label"))))
            .collect();
        if let Some(rows) = s["rows"].as_array() {
            h.push_str("<table><tr>");
            for (_, label) in &cols {
                h.push_str(&format!("<th>{}</th>", esc(label)));
            }
            h.push_str("</tr>");
            for r in rows {
                h.push_str("<tr>");
                for (name, _) in &cols {
                    h.push_str(&format!("<td>{}</td>", esc(&cell(r.get(name)))));
                }
                h.push_str("</tr>");
            }
            h.push_str("</table>");
        } else if let Some(sum) = s.get("summary") {
            h.push_str(&format!(
                "<p>共 {} 条，{} 至 {}</p>",
                esc(&cell(sum.get("n"))),
                esc(&cell(sum.get("first"))),
                esc(&cell(sum.get("last")))
            ));
        }
    }
    h.push_str("</body></html>\n");
    h
}
