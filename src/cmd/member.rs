//! `dangan member <member_id | name | pinyin>`: one member's whole archive — profile, then every
//! dataset that holds rows about members (appraisals, development stages, cadre changes, growth
//! records as a timeline, …; engagement as a summary when long), as text, JSON or a printable
//! HTML page. Which datasets appear is derived from the specs (a `member_id` column).

use std::process::ExitCode;

use anyhow::Result;
use dangan_datasets::Lake;
use dangan_query::QueryEngine;
use dangan_query::archive::{archive, resolve};
use serde_json::Value;

use crate::cli::MemberFormat;

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn to_text(lake: &Lake, a: &Value) -> String {
    let mut out = String::new();
    let m = &a["member"];
    let members = lake.registry().get("members").ok();
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

fn to_html(lake: &Lake, a: &Value) -> String {
    let m = &a["member"];
    let mut h = String::from(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>党员档案</title>\
         <style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;width:100%;margin-bottom:1.5em}\
         td,th{border:1px solid #999;padding:.3em .5em;text-align:left;vertical-align:top}th{background:#f3f3f3}\
         h1{border-bottom:3px solid #b00}@media print{body{margin:0}}</style></head><body>",
    );
    h.push_str(&format!(
        "<h1>党员档案：{}（{}）</h1><p>所在组织：{} {}</p><table>",
        html_escape(&cell(m.get("name"))),
        html_escape(&cell(m.get("member_id"))),
        html_escape(&cell(m.get("org_id"))),
        html_escape(&cell(a.get("org_name")))
    ));
    if let Ok(spec) = lake.registry().get("members") {
        for c in &spec.columns {
            if let Some(v) = m.get(&c.name).filter(|v| !v.is_null()) {
                h.push_str(&format!(
                    "<tr><th>{}</th><td>{}</td></tr>",
                    html_escape(&c.label),
                    html_escape(&cell(Some(v)))
                ));
            }
        }
    }
    h.push_str("</table>");
    for s in a["sections"].as_array().into_iter().flatten() {
        h.push_str(&format!(
            "<h2>{}（{}）</h2>",
            html_escape(&cell(s.get("label"))),
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
                h.push_str(&format!("<th>{}</th>", html_escape(label)));
            }
            h.push_str("</tr>");
            for r in rows {
                h.push_str("<tr>");
                for (name, _) in &cols {
                    h.push_str(&format!("<td>{}</td>", html_escape(&cell(r.get(name)))));
                }
                h.push_str("</tr>");
            }
            h.push_str("</table>");
        } else if let Some(sum) = s.get("summary") {
            h.push_str(&format!(
                "<p>共 {} 条，{} 至 {}</p>",
                html_escape(&cell(sum.get("n"))),
                html_escape(&cell(sum.get("first"))),
                html_escape(&cell(sum.get("last")))
            ));
        }
    }
    h.push_str("</body></html>\n");
    h
}

/// The text archive of a member (for the demo tour).
pub async fn archive_text(lake: &Lake, who: &str) -> Result<String> {
    let engine = QueryEngine::open(lake).await?;
    let id = resolve(lake, &engine, who).await?;
    let text = to_text(lake, &archive(lake, &engine, &id).await?);
    engine.flush_audit().await?;
    Ok(text)
}

pub async fn run(
    lake: &Lake,
    who: &str,
    format: MemberFormat,
    out: Option<&std::path::Path>,
    department: Option<&str>,
) -> Result<ExitCode> {
    let engine = QueryEngine::open_as(lake, department).await?;
    let found = resolve(lake, &engine, who).await;
    let a = match &found {
        Ok(id) => archive(lake, &engine, id).await,
        Err(_) => Ok(Value::Null),
    };
    engine.flush_audit().await?;
    let (id, a) = (found?, a?);
    let text = match format {
        MemberFormat::Json => serde_json::to_string_pretty(&a)? + "\n",
        MemberFormat::Text => to_text(lake, &a),
        MemberFormat::Html => to_html(lake, &a),
    };
    match out {
        Some(p) => {
            std::fs::write(p, text)?;
            eprintln!("{id} → {}", p.display());
        }
        None => {
            use std::io::Write as _;
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
