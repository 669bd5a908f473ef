//! `dangan quarantine list|show|export`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use dangan_datasets::Lake;
use dangan_ingest::quarantine;

use crate::cli::{QuarantineCommand, TextFormat};

pub async fn run(lake: &Lake, command: QuarantineCommand) -> Result<ExitCode> {
    match command {
        QuarantineCommand::List { format } => {
            let runs = quarantine::runs(lake).await?;
            if format == TextFormat::Json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
            } else if runs.is_empty() {
                println!("quarantine is empty 隔离区为空");
            } else {
                println!(
                    "{:<28} {:<18} {:>6} {:>8} {:>5}",
                    "run 批次", "dataset", "rows", "problems", "files"
                );
                for r in runs {
                    let note = if r.completed {
                        ""
                    } else {
                        "  (run did not complete; its files are retried)"
                    };
                    println!(
                        "{:<28} {:<18} {:>6} {:>8} {:>5}{note}",
                        r.run_id, r.dataset, r.rows, r.problems, r.files
                    );
                }
            }
        }
        QuarantineCommand::Show { run, format } => {
            let rows = quarantine::rejected_rows(lake, Some(&run)).await?;
            if rows.is_empty() {
                bail!("no quarantined rows for run `{run}` (see `dangan quarantine list`)");
            }
            if format == TextFormat::Json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for r in rows {
                    println!("{} row {} ({})", r.file, r.row, r.sheet);
                    for p in r.problems {
                        println!(
                            "  {} [{}] “{}”: {}",
                            if p.header.is_empty() {
                                &p.column
                            } else {
                                &p.header
                            },
                            p.reason,
                            p.value,
                            p.message
                        );
                    }
                }
            }
        }
        QuarantineCommand::Export { run, out } => {
            let rows = quarantine::rejected_rows(lake, Some(&run)).await?;
            if rows.is_empty() {
                bail!("no quarantined rows for run `{run}` (see `dangan quarantine list`)");
            }
            let n = quarantine::export_fixes(&rows, &out)?;
            println!("{n} rows to fix 待修正 → {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
