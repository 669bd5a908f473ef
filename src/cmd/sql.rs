//! `dangan sql`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use dangan_datasets::Lake;
use dangan_query::{OutputFormat, QueryEngine, write_batches};

use crate::cli::SqlOutput;

pub async fn run(
    lake: &Lake,
    sql: &str,
    format: Option<SqlOutput>,
    out: Option<&Path>,
    department: Option<&str>,
) -> Result<ExitCode> {
    let by_extension = out
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
        .and_then(|e| match e.to_ascii_lowercase().as_str() {
            "csv" => Some(SqlOutput::Csv),
            "json" => Some(SqlOutput::Json),
            "ndjson" | "jsonl" => Some(SqlOutput::Ndjson),
            "parquet" => Some(SqlOutput::Parquet),
            "xlsx" => Some(SqlOutput::Xlsx),
            _ => None,
        });
    let format = format.or(by_extension).unwrap_or(SqlOutput::Table);
    if matches!(format, SqlOutput::Parquet | SqlOutput::Xlsx) && out.is_none() {
        anyhow::bail!(
            "--format {} writes a file: give it with --out <FILE> 请用 --out 指定文件",
            if format == SqlOutput::Parquet {
                "parquet"
            } else {
                "xlsx"
            }
        );
    }
    if sql.to_lowercase().contains("search(") {
        // search(...) reads the index: bring it in step first, as `dangan search` does.
        let index = dangan_index::SearchIndex::open(lake)?;
        if !index.in_step(lake).await? {
            super::search::sync_quietly(lake).await?;
        }
    }
    let engine = QueryEngine::open_as(lake, department).await?;
    let result = engine.sql(sql).await;
    engine.flush_audit().await?;
    let result = result?;
    let text = match format {
        SqlOutput::Table => OutputFormat::Table,
        SqlOutput::Csv => OutputFormat::Csv,
        SqlOutput::Json => OutputFormat::Json,
        SqlOutput::Ndjson => OutputFormat::Ndjson,
        SqlOutput::Parquet | SqlOutput::Xlsx => {
            let path = out.unwrap_or(Path::new("out"));
            if format == SqlOutput::Parquet {
                dangan_query::files::write_parquet(path, &result.schema, &result.batches)?;
            } else {
                let headers: Vec<String> = result
                    .schema
                    .fields()
                    .iter()
                    .zip(&result.labels)
                    .map(|(f, l)| l.clone().unwrap_or_else(|| f.name().clone()))
                    .collect();
                dangan_query::files::write_xlsx(path, &headers, &result.schema, &result.batches)?;
            }
            eprintln!("{} rows → {}", result.rows, path.display());
            return Ok(ExitCode::SUCCESS);
        }
    };
    match out {
        Some(path) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            );
            write_batches(&mut f, &result.schema, &result.batches, text)?;
            f.flush()?;
            eprintln!("{} rows → {}", result.rows, path.display());
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            write_batches(&mut lock, &result.schema, &result.batches, text)?;
            lock.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `dangan sql --save-view <name> "SELECT …"`: check that the query plans, then keep it.
pub async fn save_view(lake: &Lake, name: &str, sql: &str) -> Result<ExitCode> {
    let engine = QueryEngine::open(lake).await?;
    let planned = engine.sql(&format!("EXPLAIN {sql}")).await;
    engine.flush_audit().await?;
    planned.with_context(|| format!("view `{name}`: the query does not run 查询有误"))?;
    let v = dangan_datasets::views::save(
        lake,
        dangan_datasets::views::SavedView {
            name: name.to_string(),
            sql: sql.to_string(),
            saved_by: whoami(),
        },
    )
    .await?;
    println!("view 视图 {name} saved (system_views version {v}): SELECT … FROM {name}");
    Ok(ExitCode::SUCCESS)
}

/// `dangan sql --drop-view <name> ""`.
pub async fn drop_view(lake: &Lake, name: &str) -> Result<ExitCode> {
    if !dangan_datasets::views::drop(lake, name).await? {
        anyhow::bail!("no saved view `{name}` 没有这个视图");
    }
    println!("view 视图 {name} dropped");
    Ok(ExitCode::SUCCESS)
}

fn whoami() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_default()
}
