//! `dangan sql`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use dangan_datasets::Lake;
use dangan_query::{OutputFormat, QueryEngine, write_batches};

use crate::cli::SqlFormat;

pub async fn run(
    lake: &Lake,
    sql: &str,
    format: SqlFormat,
    out: Option<&Path>,
    department: Option<&str>,
) -> Result<ExitCode> {
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
    let format = match format {
        SqlFormat::Table => OutputFormat::Table,
        SqlFormat::Csv => OutputFormat::Csv,
        SqlFormat::Json => OutputFormat::Json,
        SqlFormat::Ndjson => OutputFormat::Ndjson,
    };
    match out {
        Some(path) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            );
            write_batches(&mut f, &result.schema, &result.batches, format)?;
            f.flush()?;
            eprintln!("{} rows → {}", result.rows, path.display());
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            write_batches(&mut lock, &result.schema, &result.batches, format)?;
            lock.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
