//! `dangan member <member_id | name | pinyin>`: one member's whole archive — profile, then every
//! dataset that holds rows about members (appraisals, development stages, cadre changes, growth
//! records as a timeline, …; engagement as a summary when long), as text, JSON or a printable
//! HTML page. Which datasets appear is derived from the specs (a `member_id` column).

use std::process::ExitCode;

use anyhow::{Result, bail};
use dangan_datasets::{ColumnType, DatasetSpec, Lake};
use dangan_index::{SearchIndex, SearchRequest};
use dangan_query::{OutputFormat, QueryEngine, write_batches};
use serde_json::{Map, Value, json};

use crate::cli::MemberFormat;

/// Sections longer than this are summarized, not listed.
const LIST_LIMIT: i64 = 200;

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

async fn rows(engine: &QueryEngine, sql: &str) -> Result<Vec<Map<String, Value>>> {
    let r = engine.sql(sql).await?;
    let mut buf = Vec::new();
    write_batches(&mut buf, &r.schema, &r.batches, OutputFormat::Ndjson)?;
    let mut out = Vec::new();
    for line in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        if let Value::Object(m) = serde_json::from_slice(line)? {
            out.push(m);
        }
    }
    Ok(out)
}

/// The member the user means: an id, else one member found by name or pinyin.
async fn resolve(lake: &Lake, engine: &QueryEngine, who: &str) -> Result<String> {
    let by_id = rows(
        engine,
        &format!(
            "SELECT member_id FROM members WHERE member_id = {}",
            quote(who)
        ),
    )
    .await?;
    if !by_id.is_empty() {
        return Ok(who.to_string());
    }
    let index = SearchIndex::open(lake)?;
    if !index.in_step(lake).await? {
        super::search::sync_quietly(lake).await?;
    }
    let found = index.search(&SearchRequest {
        query: who.to_string(),
        datasets: vec!["members".into()],
        limit: 20,
        ..Default::default()
    })?;
    if found.hits.is_empty() {
        bail!("no member `{who}` 没有找到这名党员 (try an id, a name or its pinyin)");
    }
    // Through SQL, so that a department only ever sees the members in its scope.
    let ids: Vec<String> = found.hits.iter().map(|h| quote(&h.key)).collect();
    let list = rows(
        engine,
        &format!(
            "SELECT member_id, name, birth_date, org_id FROM members \
             WHERE member_id IN ({}) ORDER BY member_id",
            ids.join(",")
        ),
    )
    .await?;
    let s = |r: &Map<String, Value>, k: &str| {
        r.get(k).and_then(Value::as_str).unwrap_or("").to_string()
    };
    match list.as_slice() {
        [] => bail!("no member `{who}` 没有找到这名党员 (try an id, a name or its pinyin)"),
        [one] => Ok(s(one, "member_id")),
        many => {
            let lines: Vec<String> = many
                .iter()
                .map(|r| {
                    format!(
                        "  {}  {}  {}  {}",
                        s(r, "member_id"),
                        s(r, "name"),
                        s(r, "birth_date"),
                        s(r, "org_id"),
                    )
                })
                .collect();
            bail!(
                "`{who}` matches {} members 有多名党员符合, give the id 请用编号:\n{}",
                many.len(),
                lines.join("\n")
            )
        }
    }
}

fn date_column(spec: &DatasetSpec) -> Option<&str> {
    spec.columns
        .iter()
        .find(|c| {
            matches!(c.ty, ColumnType::Date | ColumnType::Timestamp) && c.name != "birth_date"
        })
        .or_else(|| spec.column("year"))
        .map(|c| c.name.as_str())
}

/// The archive as JSON: `{"member": {...}, "org_name", "sections": [{dataset, label, total,
/// columns, rows | summary}]}`.
async fn archive(lake: &Lake, engine: &QueryEngine, id: &str) -> Result<Value> {
    let member = rows(
        engine,
        &format!("SELECT * FROM members WHERE member_id = {}", quote(id)),
    )
    .await?
    .into_iter()
    .next()
    .unwrap_or_default();
    let org_name = match member.get("org_id").and_then(Value::as_str) {
        Some(o) if engine.may_read("organizations") => rows(
            engine,
            &format!("SELECT name FROM organizations WHERE org_id = {}", quote(o)),
        )
        .await?
        .first()
        .and_then(|r| r.get("name").cloned())
        .unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let mut sections = Vec::new();
    for ds in lake.registry().import_order() {
        let spec = lake.registry().get(&ds)?;
        if spec.name == "members" || spec.column("member_id").is_none() || !engine.may_read(&ds) {
            continue;
        }
        let filter = format!("FROM {} WHERE member_id = {}", spec.name, quote(id));
        let total = rows(engine, &format!("SELECT count(*) AS n {filter}"))
            .await?
            .first()
            .and_then(|r| r.get("n").and_then(Value::as_i64))
            .unwrap_or(0);
        if total == 0 {
            continue;
        }
        let date = date_column(spec);
        let columns: Vec<Value> = spec
            .columns
            .iter()
            .filter(|c| c.name != "member_id")
            .map(|c| json!({"name": c.name, "label": c.label}))
            .collect();
        let mut section = json!({
            "dataset": spec.name, "label": spec.label, "total": total, "columns": columns,
        });
        if total <= LIST_LIMIT {
            let order = date.map(|d| format!(" ORDER BY {d}")).unwrap_or_default();
            section["rows"] = Value::Array(
                rows(engine, &format!("SELECT * {filter}{order}"))
                    .await?
                    .into_iter()
                    .map(Value::Object)
                    .collect(),
            );
        } else if let Some(d) = date {
            section["summary"] = rows(
                engine,
                &format!("SELECT min({d}) AS first, max({d}) AS last, count(*) AS n {filter}"),
            )
            .await?
            .into_iter()
            .next()
            .map(Value::Object)
            .unwrap_or(Value::Null);
        }
        sections.push(section);
    }
    Ok(json!({"member": member, "org_name": org_name, "sections": sections}))
}

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
