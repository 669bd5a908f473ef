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

use dangan_reports::render::member::{member_html, member_text};

use crate::cli::MemberFormat;

/// The spec whose columns label a member's profile.
fn people(lake: &Lake) -> Option<&dangan_datasets::DatasetSpec> {
    lake.registry().people().map(|s| &**s)
}

/// The text archive of a member (for the demo tour).
pub async fn archive_text(lake: &Lake, who: &str) -> Result<String> {
    let engine = QueryEngine::open(lake).await?;
    let id = resolve(lake, &engine, who).await?;
    let text = member_text(people(lake), &archive(lake, &engine, &id).await?);
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
        MemberFormat::Text => member_text(people(lake), &a),
        MemberFormat::Html => member_html(people(lake), &a),
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
