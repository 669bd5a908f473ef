//! `dangan report`: run a report as the administrator or a department and write it.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use dangan_datasets::Lake;
use dangan_reports::render::{self, Format};

use crate::cli::ReportArgs;

pub async fn run(lake: &Lake, a: ReportArgs) -> Result<ExitCode> {
    if a.list {
        for r in dangan_reports::REPORTS {
            println!("{:<12} {}", r.name(), r.title());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let name = a.name.as_deref().unwrap_or_default();
    let def = dangan_reports::find(name)?;
    let format = match a.format {
        Some(f) => f,
        None => a
            .out
            .as_deref()
            .and_then(Format::from_path)
            .unwrap_or(Format::Md),
    };
    if format == Format::Xlsx && a.out.is_none() {
        anyhow::bail!("--format xlsx writes a file: give it with --out <FILE> 请用 --out 指定文件");
    }
    let mut params =
        dangan_reports::Params::new(a.as_of.unwrap_or_else(|| chrono::Local::now().date_naive()));
    params.from = a.from;
    params.to = a.to;
    params.org = a.org.clone();
    params.inactive_days = a.inactive_days;
    if let (Some(f), Some(t)) = (params.from, params.to)
        && f > t
    {
        anyhow::bail!("--from {f} is after --to {t} 开始日期晚于结束日期");
    }
    let cluster = a
        .cluster
        .as_deref()
        .map(dangan_cluster::Cluster::new)
        .transpose()?;
    let report = dangan_reports::run_as(
        lake,
        a.as_department.as_deref(),
        cluster.as_ref().map(|c| c as &dyn dangan_query::Runner),
        def,
        &params,
    )
    .await
    .with_context(|| format!("report {name}"))?;
    match &a.out {
        Some(path) => {
            render::write(&report, format, path)?;
            eprintln!(
                "report 报表 {} ({}): {} sections, {} written; query {} ms, compute {} ms",
                report.name,
                report.title,
                report.sections.len(),
                path.display(),
                report.metrics.query_ms,
                report.metrics.compute_ms
            );
        }
        None => {
            let bytes = render::render(&report, format)?;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    if !report.metrics.skipped.is_empty() {
        eprintln!(
            "note 注意: left out (not granted) 未授权未纳入: {}",
            report.metrics.skipped.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
