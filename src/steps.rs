//! What several commands run, written once: the lake's one-writer lock taken with a message,
//! the search index brought in step with a spinner, an import (and its index step) with a
//! progress bar. Commands call these, never each other.

use anyhow::{Context, Result};
use dangan_datasets::{Lake, LakeLock};
use dangan_index::{DatasetSync, SearchIndex, SyncReport};
use dangan_ingest::ImportOptions;
use dangan_pipelines::import::InStep;
use indicatif::{ProgressBar, ProgressStyle};

/// The lake's one-writer lock for `what`, waiting up to `wait` and saying who holds it (and
/// whose lock it took over, when its holder ended without releasing it).
pub async fn lake_lock(lake: &Lake, what: &str, wait: std::time::Duration) -> Result<LakeLock> {
    let lock = LakeLock::acquire(lake, what, wait, |h| {
        eprintln!("waiting for the lake 等待数据湖: {h}")
    })
    .await?;
    if let Some(h) = &lock.recovered {
        eprintln!("took over the lock left by {h}, which ended without releasing it 已接管遗留锁");
    }
    Ok(lock)
}

fn index_spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} index 索引 {prefix}: {pos} documents")
            .expect("valid template"),
    );
    bar
}

/// Open the lake's search index; when it replaced one an older dangan wrote, say that the
/// next sync reads every table again.
pub fn open_index(lake: &Lake) -> Result<SearchIndex> {
    let index = SearchIndex::open(lake)?;
    say_if_upgraded(&index);
    Ok(index)
}

fn say_if_upgraded(index: &SearchIndex) {
    if let Some(notice) = index.upgrade_notice() {
        eprintln!("{notice}");
    }
}

/// Sync the index (or rebuild it) with a spinner on a terminal.
pub async fn sync_index(lake: &Lake, rebuild: bool) -> Result<SyncReport> {
    // A rebuild starts again from the tables; an index of another format is recreated empty
    // for it (anything else refuses one with what to do).
    let index = match SearchIndex::open(lake) {
        Err(dangan_index::Error::Format { .. }) if rebuild => SearchIndex::recreate(lake)?,
        opened => {
            let index = opened?;
            say_if_upgraded(&index);
            index
        }
    };
    let bar = index_spinner();
    let progress = |dataset: &str, n: u64| {
        bar.set_prefix(dataset.to_string());
        bar.set_position(n);
    };
    let report = index.sync(lake, rebuild, &progress).await;
    bar.finish_and_clear();
    Ok(report?)
}

/// Sync after a change, with what to do if it fails.
pub async fn sync_after_change(lake: &Lake) -> Result<SyncReport> {
    sync_index(lake, false)
        .await
        .context("bringing the search index in step (run `dangan index rebuild` if it persists)")
}

/// One dataset's sync, in a line: versions, and what was read.
pub fn describe(d: &DatasetSync) -> String {
    format!(
        "{:<18} version {} → {}: {}",
        d.dataset,
        d.from_version.map_or("-".into(), |v| v.to_string()),
        d.to_version,
        if d.incremental {
            format!("{} changed rows applied 增量更新", d.documents)
        } else {
            format!("{} documents re-read 全量重建", d.documents)
        }
    )
}

/// [`dangan_pipelines::import::import_in_step`] with a bar over the files and a spinner over
/// the index step. The caller holds the lake's lock.
pub async fn import(lake: &Lake, opts: &ImportOptions, index: bool) -> Result<InStep> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {wide_msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(opts.dataset.clone());
    let progress = |i: usize, n: usize, p: &std::path::Path| {
        bar.set_length(n as u64);
        bar.set_position(i as u64);
        bar.set_message(
            p.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    };
    let spinner = index_spinner();
    let index_progress = |dataset: &str, n: u64| {
        bar.finish_and_clear();
        spinner.set_prefix(dataset.to_string());
        spinner.set_position(n);
    };
    let index = if index && !opts.dry_run {
        Some(open_index(lake)?)
    } else {
        None
    };
    let done = dangan_pipelines::import::import_in_step(
        lake,
        opts,
        index.as_ref(),
        &progress,
        &index_progress,
    )
    .await;
    bar.finish_and_clear();
    spinner.finish_and_clear();
    Ok(done?)
}
