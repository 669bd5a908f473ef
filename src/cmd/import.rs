//! `dangan import`: run the importer with a progress bar, print its metrics.

use std::process::ExitCode;

use anyhow::{Context, Result};
use dangan_datasets::Lake;
use dangan_ingest::{FileStatus, ImportOptions, ImportReport, ReadOptions};

use crate::cli::{ImportArgs, TextFormat};

use super::EXIT_REJECTS;

pub async fn run(lake: &Lake, a: ImportArgs) -> Result<ExitCode> {
    let opts = ImportOptions {
        dataset: a.dataset,
        paths: a.paths,
        mode: a.mode,
        read: ReadOptions {
            encoding: a.encoding,
            sheet: a.sheet,
        },
        mapping: a.mapping,
        dry_run: a.dry_run,
        force: a.force,
        survey_id: a.survey_id,
        survey_title: a.survey_title,
        user: None,
        replace_anyway: a.replace_anyway,
        set: a.set,
        already_imported_sheets: Default::default(),
    };
    // One writer at a time: a scheduled pipeline and this import never interleave commits.
    let lock = if opts.dry_run {
        None
    } else {
        Some(
            crate::steps::lake_lock(
                lake,
                &format!("import {}", opts.dataset),
                std::time::Duration::from_secs(a.lock_wait),
            )
            .await?,
        )
    };
    // The index follows the lake: a search never shows a row the table no longer has.
    let done = crate::steps::import(lake, &opts, !a.no_index).await?;
    let report = done.import;
    if a.format == TextFormat::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    if let Some(synced) = done.index {
        let sync = synced.context(
            "bringing the search index in step (run `dangan index rebuild` if it persists)",
        )?;
        if a.format != TextFormat::Json && sync.documents > 0 {
            for d in &sync.datasets {
                println!("index 索引: {}", crate::steps::describe(d));
            }
            println!("index 索引: in step in {} ms", sync.millis);
        }
    }
    drop(lock);
    // The same exit for a dry run as for the real run it stands for.
    if let Some(why) = &report.refused {
        eprintln!("错误 error: {why}");
        return Ok(ExitCode::from(1));
    }
    if report.files_read == 0 && report.files_failed > 0 {
        eprintln!(
            "错误 error: nothing {} 未导入: every file that was not skipped failed (see above)",
            if report.dry_run {
                "would be committed"
            } else {
                "committed"
            }
        );
        return Ok(ExitCode::from(1));
    }
    Ok(if report.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REJECTS)
    })
}

/// Import with a progress bar on a terminal (nothing is drawn when stderr is not one).
pub fn print_report(r: &ImportReport) {
    let what = if r.dry_run {
        "checked (dry run) 试导入"
    } else {
        "imported 导入"
    };
    println!(
        "{what} {}: {} files read, {} skipped, {} failed; rows {} read, {} written, {} quarantined 隔离{}; version {}; {} ms; run {}",
        r.dataset,
        r.files_read,
        r.files_skipped,
        r.files_failed,
        r.rows_read,
        r.rows_written,
        r.rows_quarantined,
        if r.rows_merged > 0 {
            format!(
                ", {} merged 合并 (exact repeats of a kept row)",
                r.rows_merged
            )
        } else {
            String::new()
        },
        r.table_version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unchanged".into()),
        r.duration_ms,
        r.run_id
    );
    if let Some(u) = &r.upsert {
        println!(
            "  upsert 更新: {} new 新增, {} changed 变更, {} unchanged 未变 ({} files rewritten, {} untouched)",
            u.inserted, u.updated, u.unchanged, u.files_rewritten, u.files_untouched
        );
    }
    for f in &r.files {
        match &f.status {
            FileStatus::Failed(m) => println!("  failed 失败: {m}"),
            FileStatus::Skipped(why) => println!("  skipped 跳过 {}: {why}", f.path.display()),
            FileStatus::Imported => {
                if let Some(enc) = f.encoding.as_deref().filter(|e| *e != "UTF-8") {
                    println!("  {}: read as {enc} 编码", f.path.display());
                }
                if !f.unknown_headers.is_empty() {
                    println!(
                        "  {}: columns not in the spec, left out 未识别的列: {}",
                        f.path.display(),
                        f.unknown_headers.join(", ")
                    )
                }
                if let Some(note) = &f.template_note {
                    println!("  {}: {note}", f.path.display());
                }
                if !f.sheets_left.is_empty() {
                    println!(
                        "  {}: sheets left out 未导入的工作表: {}",
                        f.path.display(),
                        f.sheets_left.join("; ")
                    );
                }
                if !f.duplicate_headers.is_empty() {
                    println!(
                        "  {}: repeated columns, left out 重复的列（已有同名列）: {}",
                        f.path.display(),
                        f.duplicate_headers.join(", ")
                    )
                }
            }
        }
    }
    for q in r.quarantine_sample.iter().take(10) {
        println!(
            "  quarantined 隔离 {} row {} column {} ({}): {}",
            q.file, q.row, q.header, q.column, q.message
        );
    }
    if r.rows_quarantined > r.quarantine_sample.len().min(10) {
        println!(
            "  … see all: dangan sql \"select * from system_quarantine where run_id = '{}'\"",
            r.run_id
        );
    }
}
