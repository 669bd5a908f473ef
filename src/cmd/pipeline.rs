//! `dangan pipeline` (run, validate, list, history, serve) and `dangan lake` (optimize,
//! vacuum, check, new-key, encrypt, rotate-key).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use dangan_datasets::Lake;
use dangan_pipelines::schedule;
use dangan_pipelines::{PipelineRun, PipelineSpec, RunOptions, Step};

use crate::cli::{LakeCommand, PipelineCommand, TextFormat};

/// The lake's pipelines folder.
fn default_dir(lake: &Lake) -> PathBuf {
    lake.dir().join("pipelines")
}

/// A spec argument: a path, or the name of a spec in the lake's pipelines folder.
fn spec_path(lake: &Lake, spec: &str) -> Result<PathBuf> {
    let p = PathBuf::from(spec);
    if p.is_file() {
        return Ok(p);
    }
    let named = default_dir(lake).join(format!("{spec}.toml"));
    if named.is_file() {
        return Ok(named);
    }
    bail!(
        "no pipeline spec `{spec}`: neither a file nor {} 找不到流水线配置",
        named.display()
    )
}

/// Checks that need the lake: datasets and mapping files exist, the department exists.
fn check_against_lake(lake: &Lake, spec: &PipelineSpec) -> Result<()> {
    for (i, step) in spec.steps.iter().enumerate() {
        if let Step::Import(import) = step {
            let (dataset, mapping) = (&import.dataset, &import.mapping);
            lake.registry()
                .get(dataset)
                .with_context(|| format!("step {} (import)", i + 1))?;
            if let Some(m) = mapping {
                let path = if m.is_absolute() {
                    m.clone()
                } else {
                    lake.dir().join(m)
                };
                if !path.is_file() {
                    bail!(
                        "step {} (import): mapping file {} not found",
                        i + 1,
                        path.display()
                    );
                }
            }
        }
    }
    Ok(())
}

fn load(lake: &Lake, spec: &str) -> Result<PipelineSpec> {
    let path = spec_path(lake, spec)?;
    let s = PipelineSpec::load(&path)?;
    check_against_lake(lake, &s).with_context(|| path.display().to_string())?;
    Ok(s)
}

fn print_run(run: &PipelineRun) {
    println!(
        "pipeline 流水线 {} run {} ({}): {}",
        run.pipeline,
        run.run_id,
        run.trigger.as_str(),
        run.status.as_str()
    );
    if let Some(h) = &run.recovered_lock {
        println!("  took over the lock left by {h} 已接管遗留锁");
    }
    for s in &run.steps {
        println!(
            "  {}. {:<8} {:<8} {:>6} ms  {} — {}",
            s.index,
            s.kind,
            s.status.as_str(),
            s.millis,
            s.detail,
            s.message
        );
    }
}

pub async fn run(lake: &Lake, command: PipelineCommand) -> Result<ExitCode> {
    match command {
        PipelineCommand::Run { spec, format } => {
            let spec = load(lake, &spec)?;
            let stop = Arc::new(AtomicBool::new(false));
            schedule::stop_on_signals(stop.clone());
            let opts = RunOptions {
                stop,
                ..RunOptions::default()
            };
            let run = dangan_pipelines::run::run(lake, &spec, &opts).await?;
            if format == TextFormat::Json {
                println!("{}", serde_json::to_string_pretty(&run)?);
            } else {
                print_run(&run);
            }
            Ok(ExitCode::from(run.exit_code()))
        }
        PipelineCommand::Validate { spec } => {
            let s = load(lake, &spec)?;
            println!("pipeline 流水线 {}: valid 配置有效", s.name);
            if let Some(sc) = &s.schedule {
                let next = sc.next_after(chrono::Utc::now())?;
                let tz = sc.parse()?.1;
                println!(
                    "  schedule {} ({}), next run {}",
                    sc.cron,
                    sc.timezone,
                    next.map(|t| t
                        .with_timezone(&tz)
                        .format("%Y-%m-%d %H:%M:%S %Z")
                        .to_string())
                        .unwrap_or_else(|| "never".into())
                );
            } else {
                println!("  no schedule: runs by hand only");
            }
            for (i, step) in s.steps.iter().enumerate() {
                println!("  {}. {}", i + 1, step.describe());
            }
            Ok(ExitCode::SUCCESS)
        }
        PipelineCommand::List { dir } => {
            let dir = dir.unwrap_or_else(|| default_dir(lake));
            let specs = schedule::load_dir(&dir)?;
            if specs.is_empty() {
                println!("no pipelines in {} 没有流水线", dir.display());
            }
            for (path, spec) in specs {
                match spec {
                    Ok(s) => {
                        let last = dangan_pipelines::history::last_run(lake, &s.name).await?;
                        let next = match &s.schedule {
                            Some(sc) => {
                                let tz = sc.parse()?.1;
                                sc.next_after(chrono::Utc::now())?
                                    .map(|t| {
                                        t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
                                    })
                                    .unwrap_or_else(|| "never".into())
                            }
                            None => "by hand".into(),
                        };
                        println!(
                            "{:<16} {:<22} steps {:<2} last run {:<32} next {}  ({})",
                            s.name,
                            s.schedule
                                .as_ref()
                                .map(|sc| sc.cron.clone())
                                .unwrap_or_else(|| "-".into()),
                            s.steps.len(),
                            last.map(|t| t.with_timezone(&chrono::Local).to_rfc3339())
                                .unwrap_or_else(|| "never".into()),
                            next,
                            path.display()
                        );
                    }
                    Err(e) => println!("{:<16} invalid 配置有误: {e}", path.display()),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PipelineCommand::History {
            pipeline,
            limit,
            format,
        } => {
            let rows = dangan_pipelines::history::read(lake, pipeline.as_deref()).await?;
            let mut runs: Vec<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
            runs.dedup();
            let keep: std::collections::HashSet<&str> =
                runs.iter().rev().take(limit).copied().collect();
            let rows: Vec<_> = rows
                .iter()
                .filter(|r| keep.contains(r.run_id.as_str()))
                .collect();
            if format == TextFormat::Json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(ExitCode::SUCCESS);
            }
            if rows.is_empty() {
                println!("no runs yet 尚无运行记录");
            }
            let mut last = "";
            for r in rows {
                if r.run_id != last {
                    println!(
                        "{} {} {} ({}): {}",
                        r.run_started_at, r.pipeline, r.run_id, r.trigger, r.run_status
                    );
                    last = &r.run_id;
                }
                println!(
                    "  {}. {:<8} {:<8} {:>6} ms files {:<4} rows {:<8} quarantined {:<5} {}",
                    r.step,
                    r.kind,
                    r.status,
                    r.duration_ms,
                    r.files,
                    r.rows_written,
                    r.rows_quarantined,
                    r.message
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        PipelineCommand::Serve { dir } => {
            let dir = dir.unwrap_or_else(|| default_dir(lake));
            if !dir.is_dir() {
                bail!(
                    "{} is not a folder of pipeline specs 不是流水线配置目录",
                    dir.display()
                );
            }
            let stop = Arc::new(AtomicBool::new(false));
            schedule::stop_on_signals(stop.clone());
            schedule::serve(lake, &dir, stop, &|run| print_run(run)).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

use crate::steps::lake_lock as lock;
/// How long an upkeep command waits for the lake's lock (a run in progress).
const TEN_MINUTES: std::time::Duration = std::time::Duration::from_secs(600);

pub async fn lake(lake: &Lake, command: LakeCommand) -> Result<ExitCode> {
    match command {
        LakeCommand::Optimize { tables } => {
            let _lock = lock(lake, "lake optimize", TEN_MINUTES).await?;
            let r = dangan_pipelines::upkeep::optimize(lake, &tables).await?;
            for t in &r.tables {
                if t.files_removed > 0 {
                    println!(
                        "  {:<28} {} files → {} (version {})",
                        t.table,
                        t.files_removed,
                        t.files_added,
                        t.version.unwrap_or_default()
                    );
                }
            }
            println!("{}", r.summary());
            Ok(ExitCode::SUCCESS)
        }
        LakeCommand::Vacuum { retain, dry_run } => {
            let _lock = lock(lake, "lake vacuum", TEN_MINUTES).await?;
            let r = dangan_pipelines::upkeep::vacuum(lake, retain, dry_run).await?;
            for t in r.tables.iter().filter(|t| t.files_removed > 0) {
                println!("  {:<28} {} files", t.table, t.files_removed);
            }
            println!("{}", r.summary());
            if dry_run {
                println!("dry run: nothing deleted 试运行，未删除");
            }
            Ok(ExitCode::SUCCESS)
        }
        LakeCommand::NewKey { file } => new_key(&file),
        LakeCommand::Encrypt { key, vacuum } => encrypt(lake, key, vacuum, false).await,
        LakeCommand::RotateKey { key, vacuum } => encrypt(lake, key, vacuum, true).await,
        LakeCommand::Check { format } => {
            let r = dangan_pipelines::upkeep::check(lake).await?;
            if format == TextFormat::Json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!("{}", r.summary());
                for o in r.orphans.iter().take(20) {
                    println!("  orphan 孤立文件: {o}");
                }
            }
            Ok(if r.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// Write a new key to `file` (created, never overwritten; mode 0600).
pub fn new_key(file: &std::path::Path) -> Result<ExitCode> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let key = dangan_datasets::seal::Key::generate()?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .with_context(|| {
            format!(
                "{} (an existing key file is never overwritten)",
                file.display()
            )
        })?;
    writeln!(f, "{key}").with_context(|| file.display().to_string())?;
    println!(
        "wrote a new key to {} 已生成密钥 — keep it outside the lake and its backups",
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `lake encrypt` / `lake rotate-key`.
async fn encrypt(
    lake: &Lake,
    key: crate::cli::KeyArgs,
    vacuum: bool,
    rotate: bool,
) -> Result<ExitCode> {
    let what = if rotate {
        "lake rotate-key"
    } else {
        "lake encrypt"
    };
    let _lock = lock(lake, what, TEN_MINUTES).await?;
    let mut lake = lake.clone();
    let r = dangan_pipelines::upkeep::encrypt(&mut lake, key.source(), rotate, vacuum, &|t| {
        eprintln!("  sealing {t} …")
    })
    .await?;
    for t in &r.tables {
        println!(
            "  {:<28} {} rows sealed (version {})",
            t.table, t.rows, t.version
        );
    }
    // The rewritten (and vacuumed) tables have new versions: the index follows them (nothing
    // in it changes).
    crate::steps::sync_after_change(&lake).await?;
    match &r.replaced_key {
        Some(old) => println!(
            "key {old} → {} 已更换密钥: {} tables rewritten ({} ms)",
            r.key_id,
            r.tables.len(),
            r.millis
        ),
        None => println!(
            "personal values sealed with key {} 个人信息已加密: {} tables rewritten ({} ms)",
            r.key_id,
            r.tables.len(),
            r.millis
        ),
    }
    match &r.vacuum {
        Some(v) => println!(
            "{}; {} earlier log entries removed (their statistics quoted old values; time travel \
             starts at the rewrite) 已删除旧日志",
            v.summary(),
            r.log_entries_removed
        ),
        None if r.tables.iter().any(|t| t.rows > 0) => println!(
            "note: the files from before, and the log's statistics of them, still hold the old \
             values: run this again with --vacuum to delete them (time travel then starts here) \
             旧文件在清理前仍含旧值"
        ),
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}
