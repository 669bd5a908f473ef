//! Running a pipeline once: take the lake's lock, run the steps in order, record every step
//! in `system_pipeline_runs`, stop at the first failure (earlier steps stay committed; the
//! next run retries what failed: the file ledger skips what is already in) and run the
//! failure hook.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;
use dangan_datasets::{Lake, LakeLock};
use dangan_ingest::{FileStatus, ImportOptions, ReadOptions};

use crate::error::{Error, Result};
use crate::history;
use crate::outcome::{PipelineRun, Status, StepRun, Trigger};
use crate::spec::{ImportStep, PipelineSpec, Processed, Step};
use crate::upkeep;

/// Told of each step as it starts: its number and description.
pub type OnStep = Arc<dyn Fn(usize, &str) + Send + Sync>;

/// How to run.
#[derive(Clone)]
pub struct RunOptions {
    pub trigger: Trigger,
    /// Set (by SIGTERM) to stop between steps.
    pub stop: Arc<AtomicBool>,
    /// How long to wait for the lake's lock.
    pub lock_wait: Duration,
    /// Called as each step starts (index, description), for progress lines.
    pub on_step: Option<OnStep>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            trigger: Trigger::Manual,
            stop: Arc::new(AtomicBool::new(false)),
            lock_wait: Duration::from_secs(600),
            on_step: None,
        }
    }
}

fn new_run_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "P{}-{}",
        chrono::Local::now().format("%Y%m%dT%H%M%S"),
        &id[..8]
    )
}

/// Run `spec` once now.
pub async fn run(lake: &Lake, spec: &PipelineSpec, opts: &RunOptions) -> Result<PipelineRun> {
    let what = format!("pipeline {}", spec.name);
    let lock = LakeLock::acquire(lake, &what, opts.lock_wait, |h| {
        tracing::info!(holder = %h, "waiting for the lake lock 等待数据湖锁");
    })
    .await?;
    let recovered_lock = lock.recovered.as_ref().map(|h| h.to_string());
    if let Some(h) = &recovered_lock {
        tracing::warn!(holder = %h, "took over a lock left by a process that ended without releasing it 接管遗留锁");
    }
    let run_id = new_run_id();
    let started_at = Utc::now();
    tracing::info!(pipeline = %spec.name, run_id = %run_id, trigger = opts.trigger.as_str(), "run started 开始运行");
    let mut steps = Vec::new();
    let mut failed = None;
    for (i, step) in spec.steps.iter().enumerate() {
        let detail = step.describe();
        let began = Utc::now();
        if opts.stop.load(Ordering::SeqCst) || failed.is_some() {
            let why = if failed.is_some() {
                "not run: an earlier step failed 前一步失败，未运行"
            } else {
                "not run: the scheduler was asked to stop 收到停止信号，未运行"
            };
            steps.push(StepRun {
                index: i + 1,
                kind: step.kind().into(),
                detail,
                started_at: began,
                ..empty_step(Status::Stopped, why.into())
            });
            continue;
        }
        if let Some(f) = &opts.on_step {
            f(i + 1, &detail);
        }
        let clock = Instant::now();
        let mut result = run_step(lake, spec, step)
            .await
            .unwrap_or_else(|e| empty_step(Status::Failed, e.to_string()));
        result.index = i + 1;
        result.kind = step.kind().into();
        result.detail = detail;
        result.started_at = began;
        result.millis = clock.elapsed().as_millis();
        tracing::info!(
            pipeline = %spec.name, step = i + 1, kind = step.kind(), status = result.status.as_str(),
            rows = result.rows_written, ms = result.millis as u64, message = %result.message,
            "step finished 步骤完成"
        );
        if result.status == Status::Failed {
            failed = Some((i + 1, result.message.clone()));
        }
        steps.push(result);
    }
    // An index left behind its tables (an import killed in its index step, a spec without an
    // `index` step, an import with `--no-index`) is brought in step at the end of a run that
    // went through, as one more step of its history.
    if failed.is_none()
        && !opts.stop.load(Ordering::SeqCst)
        && let Some(mut caught_up) = catch_up_index(lake).await
    {
        caught_up.index = spec.steps.len() + 1;
        steps.push(caught_up);
    }
    let status = steps.iter().map(|s| s.status).max().unwrap_or(Status::Ok);
    let run = PipelineRun {
        run_id,
        pipeline: spec.name.clone(),
        trigger: opts.trigger,
        started_at,
        finished_at: Utc::now(),
        status,
        steps,
        recovered_lock,
    };
    history::record(lake, &run).await?;
    drop(lock);
    if let (Some((step, message)), Some(hook)) = (&failed, &spec.on_failure) {
        run_hook(&hook.command, &run, *step, message);
    }
    tracing::info!(pipeline = %spec.name, run_id = %run.run_id, status = run.status.as_str(), "run finished 运行结束");
    Ok(run)
}

/// Run the failure hook (its own failure is logged, not raised).
fn run_hook(command: &[String], run: &PipelineRun, step: usize, message: &str) {
    let fill = |s: &String| {
        s.replace("{pipeline}", &run.pipeline)
            .replace("{run_id}", &run.run_id)
            .replace("{step}", &step.to_string())
            .replace("{message}", message)
    };
    let Some((program, args)) = command.split_first() else {
        return;
    };
    match std::process::Command::new(fill(program))
        .args(args.iter().map(fill))
        .status()
    {
        Ok(s) if s.success() => tracing::info!(hook = %program, "failure hook ran 失败通知已执行"),
        Ok(s) => tracing::warn!(hook = %program, status = %s, "failure hook failed"),
        Err(e) => tracing::warn!(hook = %program, error = %e, "failure hook could not start"),
    }
}

fn empty_step(status: Status, message: String) -> StepRun {
    StepRun {
        index: 0,
        kind: String::new(),
        detail: String::new(),
        status,
        started_at: Utc::now(),
        millis: 0,
        files: 0,
        waiting: 0,
        rows_written: 0,
        rows_quarantined: 0,
        message,
    }
}

/// A path in a spec: relative ones are relative to the lake.
fn resolve(lake: &Lake, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        lake.dir().join(path)
    }
}

/// `{date}`, `{month}`, `{time}` of now (local time).
pub fn fill_placeholders(s: &str) -> String {
    let now = chrono::Local::now();
    s.replace("{date}", &now.format("%Y-%m-%d").to_string())
        .replace("{month}", &now.format("%Y-%m").to_string())
        .replace("{time}", &now.format("%Y%m%dT%H%M%S").to_string())
}

/// When the search index is behind a table, bring it in step: the step that did, or `None`
/// when it was in step (or there is no index to look at).
async fn catch_up_index(lake: &Lake) -> Option<StepRun> {
    let began = Utc::now();
    let clock = Instant::now();
    let index = dangan_index::SearchIndex::open(lake).ok()?;
    if index.in_step(lake).await.unwrap_or(true) {
        return None;
    }
    let mut step = match index.sync(lake, false, &|_, _| {}).await {
        Ok(r) => StepRun {
            rows_written: r.documents as usize,
            ..empty_step(
                Status::Ok,
                format!(
                    "the index was behind its tables: {} documents brought in step 索引落后于数据表，已补齐",
                    r.documents
                ),
            )
        },
        Err(e) => empty_step(Status::Failed, format!("bringing the index in step: {e}")),
    };
    step.kind = "index".into();
    step.detail = "index catch-up (automatic)".into();
    step.started_at = began;
    step.millis = clock.elapsed().as_millis();
    tracing::info!(message = %step.message, "index caught up 索引已补齐");
    Some(step)
}

async fn run_step(lake: &Lake, spec: &PipelineSpec, step: &Step) -> Result<StepRun> {
    match step {
        Step::Import(import) => import_step(lake, spec, import).await,
        Step::Index {} => {
            let index = dangan_index::SearchIndex::open(lake)?;
            let r = index.sync(lake, false, &|_, _| {}).await?;
            Ok(StepRun {
                rows_written: r.documents as usize,
                ..empty_step(
                    Status::Ok,
                    format!("{} documents brought in step 索引已同步", r.documents),
                )
            })
        }
        Step::Report(r) => {
            use dangan_reports::render::Format;
            let def = dangan_reports::find(&r.name)?;
            let path = resolve(lake, &fill_placeholders(&r.out));
            let format = r
                .format
                .unwrap_or_else(|| Format::from_path(&path).unwrap_or(Format::Html));
            let mut params = dangan_reports::Params::new(chrono::Local::now().date_naive());
            params.org = r.org.clone();
            let report =
                dangan_reports::run_as(lake, r.as_department.as_deref(), None, def, &params)
                    .await?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            // Written beside and renamed: a reader never sees half a report.
            let partial = path.with_extension(format!("{}.partial", format.extension()));
            dangan_reports::render::write(&report, format, &partial)?;
            std::fs::rename(&partial, &path).map_err(|e| Error::io(&path, e))?;
            Ok(empty_step(
                Status::Ok,
                format!("{} written 已生成", path.display()),
            ))
        }
        Step::Optimize { tables } => {
            let r = upkeep::optimize(lake, tables).await?;
            Ok(empty_step(Status::Ok, r.summary()))
        }
        Step::Vacuum { retain_days } => {
            let r = upkeep::vacuum(lake, *retain_days, false).await?;
            Ok(empty_step(Status::Ok, r.summary()))
        }
        Step::Check {} => {
            let r = upkeep::check(lake).await?;
            let status = if r.problems.is_empty() {
                Status::Ok
            } else {
                Status::Failed
            };
            Ok(empty_step(status, r.summary()))
        }
    }
}

/// Whether a file is ready: not modified for `settle` (a file still being written keeps
/// changing its size and time).
fn settled(path: &Path, settle: Duration) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    let Ok(modified) = meta.modified() else {
        return true;
    };
    SystemTime::now()
        .duration_since(modified)
        .map(|age| age >= settle)
        .unwrap_or(false)
}

async fn import_step(lake: &Lake, spec: &PipelineSpec, step: &ImportStep) -> Result<StepRun> {
    let source = &step.source;
    let pattern = resolve(lake, source);
    let pattern = pattern.to_string_lossy();
    let mut ready = Vec::new();
    let mut waiting = 0;
    let supported = dangan_ingest::supported_extensions();
    for entry in glob::glob(&pattern).map_err(|e| Error::Spec(format!("source `{source}`: {e}")))? {
        let path = entry.map_err(|e| Error::Other(e.to_string()))?;
        let ext_ok = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| supported.contains(&e.to_ascii_lowercase().as_str()));
        if !path.is_file() || !ext_ok || path.components().any(|c| c.as_os_str() == "processed") {
            continue;
        }
        if settled(&path, Duration::from_secs(spec.settle_seconds)) {
            ready.push(path);
        } else {
            waiting += 1;
        }
    }
    ready.sort();
    if ready.is_empty() {
        return Ok(StepRun {
            waiting,
            ..empty_step(
                Status::Ok,
                if waiting > 0 {
                    format!("{waiting} files still settling, next run 文件仍在写入，下次导入")
                } else {
                    "no new files 无新文件".into()
                },
            )
        });
    }
    let opts = ImportOptions {
        dataset: step.dataset.clone(),
        paths: ready.clone(),
        mode: step.mode,
        read: ReadOptions {
            encoding: step.encoding.clone(),
            sheet: step.sheet.clone(),
        },
        mapping: step
            .mapping
            .as_ref()
            .map(|m| resolve(lake, &m.to_string_lossy())),
        user: Some(format!("pipeline {}", spec.name)),
        ..ImportOptions::default()
    };
    // The index follows in the run's own steps (an `index` step, and the catch-up after the
    // last step), so this import leaves it.
    let report = crate::import::import_in_step(lake, &opts, None, &|_, _, _| {}, &|_, _| {})
        .await?
        .import;
    let mut failed = Vec::new();
    let mut moved = 0;
    for f in &report.files {
        match &f.status {
            FileStatus::Failed(m) => failed.push(m.clone()),
            FileStatus::Imported | FileStatus::Skipped(_) if step.processed == Processed::Move => {
                move_to_processed(&f.path)?;
                moved += 1;
            }
            _ => {}
        }
    }
    let status = if !failed.is_empty() {
        Status::Failed
    } else if report.rows_quarantined > 0 {
        Status::Rejects
    } else {
        Status::Ok
    };
    let mut message = format!(
        "{} files imported, {} already in, {} failed; {} rows written, {} quarantined; version {}",
        report.files_read,
        report.files_skipped,
        report.files_failed,
        report.rows_written,
        report.rows_quarantined,
        report
            .table_version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unchanged".into())
    );
    if moved > 0 {
        message.push_str(&format!("; {moved} moved to processed/"));
    }
    if waiting > 0 {
        message.push_str(&format!("; {waiting} still settling"));
    }
    if !failed.is_empty() {
        message.push_str(&format!("; {}", failed.join("; ")));
    }
    message.push_str(&format!("; import run {}", report.run_id));
    Ok(StepRun {
        files: report.files_read,
        waiting,
        rows_written: report.rows_written,
        rows_quarantined: report.rows_quarantined,
        ..empty_step(status, message)
    })
}

/// Move a file into `processed/` beside it (a name already there gets a time suffix).
fn move_to_processed(path: &Path) -> Result<()> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    let target_dir = dir.join("processed");
    std::fs::create_dir_all(&target_dir).map_err(|e| Error::io(&target_dir, e))?;
    let name = path.file_name().unwrap_or_default();
    let mut target = target_dir.join(name);
    if target.exists() {
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let ext = path
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        target = target_dir.join(format!(
            "{stem}.{}{ext}",
            chrono::Local::now().format("%Y%m%dT%H%M%S%.3f")
        ));
    }
    std::fs::rename(path, &target).map_err(|e| Error::io(path, e))
}
