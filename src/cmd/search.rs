//! `dangan search` and `dangan index`: full-text search over the lake, and keeping its index in
//! step with the tables.

use std::process::ExitCode;

use anyhow::{Context, Result};
use dangan_datasets::Lake;
use dangan_index::SearchRequest;

use crate::cli::{IndexCommand, SearchArgs, TextFormat};
use dangan_query::OutputFormat;

pub async fn index(lake: &Lake, command: IndexCommand) -> Result<ExitCode> {
    match command {
        IndexCommand::Sync | IndexCommand::Rebuild => {
            let rebuild = matches!(command, IndexCommand::Rebuild);
            let r = crate::steps::sync_index(lake, rebuild).await?;
            if r.datasets.is_empty() {
                println!("index 索引: already in step with every table 已是最新");
            }
            for d in &r.datasets {
                println!("index 索引 {}", crate::steps::describe(d));
            }
            if !r.datasets.is_empty() {
                println!("{} documents in {} ms", r.documents, r.millis);
            }
        }
        IndexCommand::Status { format } => {
            let index = crate::steps::open_index(lake)?;
            let status = index.status(lake).await?;
            if format == TextFormat::Json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                println!(
                    "{:<18} {:>8} {:>8} {:>10}  in step",
                    "dataset", "table", "indexed", "documents"
                );
                for s in status {
                    let v = |v: Option<i64>| v.map_or("-".into(), |v| v.to_string());
                    println!(
                        "{:<18} {:>8} {:>8} {:>10}  {}",
                        s.dataset,
                        v(s.table_version),
                        v(s.indexed_version),
                        s.documents,
                        if s.in_step {
                            "yes 是"
                        } else {
                            "no 否 (dangan index sync)"
                        }
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The organization and every organization under it, from `organizations.parent_id`.
pub async fn org_subtree(lake: &Lake, root: &str) -> Result<Vec<String>> {
    dangan_query::policy::OrgTree::load(lake)
        .await?
        .sub_tree(root)
        .with_context(|| {
            format!(
                "no organization `{root}` 没有这个组织 (see: dangan sql \"select org_id, name from organizations\")"
            )
        })
}

pub async fn run(lake: &Lake, a: SearchArgs) -> Result<ExitCode> {
    for d in &a.datasets {
        lake.registry().get(d)?;
    }
    let index = crate::steps::open_index(lake)?;
    if !index.in_step(lake).await? {
        // Never show a row the table no longer has — nor answer from what this handle read
        // before the sync.
        crate::steps::sync_index(lake, false).await?;
        index.refresh()?;
    }
    let orgs = match &a.org {
        Some(o) => Some(org_subtree(lake, o).await?),
        None => None,
    };
    // A department searches only what it may read, and the search is audited.
    let session = match &a.as_department {
        Some(d) => Some(dangan_query::QueryEngine::open_as(lake, Some(d)).await?),
        None => None,
    };
    if let Some(s) = &session
        && let Some(d) = a.datasets.iter().find(|d| !s.may_read(d))
    {
        return Err(dangan_query::Refusal::NotGranted {
            dataset: d.clone(),
            department: a.as_department.clone().unwrap_or_default(),
        }
        .into());
    }
    let started = std::time::Instant::now();
    let req = SearchRequest {
        query: a.query.clone(),
        datasets: a.datasets.clone(),
        scopes: session.as_ref().and_then(|s| s.search_scopes()),
        orgs,
        from: a.from,
        to: a.to,
        category: a.category.clone(),
        limit: a.limit,
        offset: a.offset,
        // The terminal shows every count.
        facets: true,
        count_to: None,
    };
    let found = index.search(&req);
    if let Some(s) = &session {
        let (rows, status) = match &found {
            Ok(r) => (r.total as i64, "ok".to_string()),
            Err(e) => (0, format!("error: {e}")),
        };
        s.record(
            &format!("search: {}", a.query),
            rows,
            started.elapsed().as_millis() as i64,
            &status,
        );
        s.flush_audit().await?;
    }
    let result = match found {
        Ok(r) => r,
        Err(dangan_index::Error::Query(m)) => {
            eprintln!("错误 error: 查询有误 bad query: {m}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    let mut buf = String::new();
    {
        use std::fmt::Write as _;
        match a.format {
            OutputFormat::Json => writeln!(buf, "{}", serde_json::to_string_pretty(&result)?)?,
            OutputFormat::Ndjson => {
                for h in &result.hits {
                    writeln!(buf, "{}", serde_json::to_string(h)?)?;
                }
            }
            OutputFormat::Csv => {
                let mut w = csv::Writer::from_writer(std::io::stdout());
                w.write_record([
                    "dataset",
                    "key",
                    "member_id",
                    "org_id",
                    "date",
                    "score",
                    "snippet",
                ])?;
                for h in &result.hits {
                    w.write_record([
                        h.dataset.as_str(),
                        &h.key,
                        h.member_id.as_deref().unwrap_or(""),
                        h.org_id.as_deref().unwrap_or(""),
                        h.date.as_deref().unwrap_or(""),
                        &format!("{:.3}", h.score),
                        &dangan_index::snippet::snippet_for_terminal(&h.snippet),
                    ])?;
                }
                w.flush()?;
            }
            OutputFormat::Table => {
                writeln!(
                    buf,
                    "“{}”: {} 条结果 hits{}",
                    a.query,
                    result.total,
                    if result.total > a.offset + result.hits.len() {
                        format!(
                            " (showing {}–{}; --offset for more)",
                            a.offset + 1,
                            a.offset + result.hits.len()
                        )
                    } else {
                        String::new()
                    }
                )?;
                for (n, h) in result.hits.iter().enumerate() {
                    let label = lake
                        .registry()
                        .get(&h.dataset)
                        .map(|s| s.label.clone())
                        .unwrap_or_else(|_| h.dataset.clone());
                    writeln!(
                        buf,
                        "{:>3}. [{}] {} {} {} {} (score {:.2})",
                        a.offset + n + 1,
                        label,
                        h.key,
                        h.member_id.as_deref().unwrap_or(""),
                        h.org_id.as_deref().unwrap_or(""),
                        h.date.as_deref().unwrap_or(""),
                        h.score
                    )?;
                    writeln!(
                        buf,
                        "     {}",
                        dangan_index::snippet::snippet_for_terminal(&h.snippet)
                    )?;
                }
                if result.total > 0 {
                    writeln!(buf, "facets 分面:")?;
                    for (name, m) in [
                        ("dataset 数据集", &result.facets.dataset),
                        ("org 组织", &result.facets.org),
                        ("year 年份", &result.facets.year),
                    ] {
                        if !m.is_empty() {
                            let mut v: Vec<_> = m.iter().collect();
                            v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                            let items: Vec<String> =
                                v.iter().take(12).map(|(k, c)| format!("{k} {c}")).collect();
                            writeln!(buf, "  {name}: {}", items.join(" · "))?;
                        }
                    }
                }
            }
        }
    }
    {
        use std::io::Write as _;
        std::io::stdout().lock().write_all(buf.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}
