//! `dangan sql`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use dangan_datasets::Lake;
use dangan_query::{OutputFormat, QueryEngine, write_batches};

use crate::cli::{Output, TextFormat, ViewCommand};

pub async fn run(
    lake: &Lake,
    sql: &str,
    format: Option<Output>,
    out: Option<&Path>,
    department: Option<&str>,
    cluster: Option<&dyn dangan_query::Runner>,
    timeout: Option<std::time::Duration>,
) -> Result<ExitCode> {
    let format = format
        .or_else(|| out.and_then(Output::from_extension))
        .unwrap_or(Output::Table);
    if format.text().is_none() && out.is_none() {
        anyhow::bail!(
            "--format {} writes a file: give it with --out <FILE> 请用 --out 指定文件",
            clap::ValueEnum::to_possible_value(&format)
                .map(|v| v.get_name().to_string())
                .unwrap_or_default()
        );
    }
    if sql.to_lowercase().contains("search(") {
        // search(...) reads the index: bring it in step first, as `dangan search` does.
        let index = crate::steps::open_index(lake)?;
        if !index.in_step(lake).await? {
            crate::steps::sync_after_change(lake).await?;
        }
    }
    let engine = QueryEngine::open_on(lake, department, cluster).await?;
    let result = match timeout {
        None => engine.sql(sql).await,
        Some(limit) => match tokio::time::timeout(limit, engine.sql(sql)).await {
            Ok(r) => r,
            Err(_) => {
                engine.flush_audit().await?;
                anyhow::bail!(
                    "the query ran longer than --timeout {} s and was stopped 查询超时已停止",
                    limit.as_secs()
                );
            }
        },
    };
    engine.flush_audit().await?;
    let result = result?;
    let text: OutputFormat = match format.text() {
        Some(text) => text,
        None => {
            let path = out.unwrap_or(Path::new("out"));
            if format == Output::Parquet {
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

/// `dangan view save|drop|list`.
pub async fn view(lake: &Lake, command: ViewCommand) -> Result<ExitCode> {
    match command {
        ViewCommand::Save { name, sql } => save_view(lake, &name, &sql).await,
        ViewCommand::Drop { name } => drop_view(lake, &name).await,
        ViewCommand::List { format } => {
            let views = dangan_datasets::views::load(lake).await?;
            if format == TextFormat::Json {
                let list: Vec<serde_json::Value> = views
                    .iter()
                    .map(|v| serde_json::json!({"name": v.name, "sql": v.sql, "saved_by": v.saved_by}))
                    .collect();
                println!("{}", serde_json::Value::from(list));
            } else if views.is_empty() {
                println!("no saved view 没有保存的视图 (dangan view save NAME \"SELECT …\")");
            } else {
                for v in &views {
                    println!("{}\t{}\t{}", v.name, v.saved_by, v.sql);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `dangan view save <name> "SELECT …"`: check that the query plans, then keep it.
async fn save_view(lake: &Lake, name: &str, sql: &str) -> Result<ExitCode> {
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

/// `dangan view drop <name>`.
async fn drop_view(lake: &Lake, name: &str) -> Result<ExitCode> {
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
