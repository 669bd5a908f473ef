//! `pipeline serve`: the long-running scheduler. It reads the specs of a folder (again before
//! every wake-up, so a new or changed spec needs no restart), runs each pipeline when its
//! schedule fires — one run at a time, under the lake's lock — catches up **one** missed run
//! of a pipeline that ran before and missed its schedule while the scheduler was down, and
//! stops cleanly on SIGTERM or Ctrl-C: between steps, never inside a commit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use dangan_datasets::Lake;

use crate::error::{Error, Result};
use crate::history;
use crate::outcome::{PipelineRun, Trigger};
use crate::run::RunOptions;
use crate::spec::PipelineSpec;

/// The spec files of a folder (`*.toml`), sorted.
pub fn spec_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(dir, e)),
    };
    files.sort();
    Ok(files)
}

/// Every spec of a folder, each loaded or with the reason it does not load.
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Result<PipelineSpec>)>> {
    Ok(spec_files(dir)?
        .into_iter()
        .map(|p| {
            let spec = PipelineSpec::load(&p);
            (p, spec)
        })
        .collect())
}

/// The scheduled time a pipeline missed while no scheduler ran: the last time its schedule
/// fired, if that is after its last run. One time at most, however many were missed; a
/// pipeline that never ran has missed nothing (it starts on its schedule).
pub fn missed_run(
    schedule: &crate::spec::Schedule,
    last_run: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    Ok(match (schedule.last_at_or_before(now)?, last_run) {
        (Some(fired), Some(ran)) if ran < fired => Some(fired),
        _ => None,
    })
}

/// Set `stop` on SIGTERM or Ctrl-C.
pub fn stop_on_signals(stop: Arc<AtomicBool>) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!(
            "stop requested: finishing the current step 收到停止信号，当前步骤完成后退出"
        );
        stop.store(true, Ordering::SeqCst);
    });
}

/// Run the scheduler until `stop` is set. `on_run` hears of every finished run.
pub async fn serve(
    lake: &Lake,
    dir: &Path,
    stop: Arc<AtomicBool>,
    on_run: &(dyn Fn(&PipelineRun) + Sync),
) -> Result<()> {
    // Next due time per pipeline name (the spec is re-read at every wake-up).
    let mut due: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let mut reported: BTreeMap<PathBuf, String> = BTreeMap::new();
    tracing::info!(dir = %dir.display(), "scheduler started 调度器已启动");
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let now = Utc::now();
        let mut specs = Vec::new();
        for (path, spec) in load_dir(dir)? {
            match spec {
                Ok(s) => {
                    reported.remove(&path);
                    specs.push(s);
                }
                Err(e) => {
                    // Said once per change, not at every wake-up.
                    let msg = e.to_string();
                    if reported.get(&path) != Some(&msg) {
                        tracing::error!(spec = %path.display(), error = %msg, "spec does not load; skipped 配置有误，已跳过");
                        reported.insert(path, msg);
                    }
                }
            }
        }
        let mut next_wake = now + chrono::Duration::seconds(30);
        let mut to_run: Vec<(PipelineSpec, Trigger)> = Vec::new();
        for spec in specs {
            let Some(schedule) = &spec.schedule else {
                continue;
            };
            let next = match due.get(&spec.name) {
                Some(t) => *t,
                None => {
                    // First sight: catch up one missed run if it has run before.
                    let missed =
                        missed_run(schedule, history::last_run(lake, &spec.name).await?, now)?;
                    match missed {
                        Some(fired) => {
                            tracing::info!(pipeline = %spec.name, missed = %fired, "catching up one missed run 补运行一次");
                            to_run.push((spec.clone(), Trigger::CatchUp));
                            due.insert(spec.name.clone(), schedule.next_after(now)?.unwrap_or(now));
                            continue;
                        }
                        None => {
                            let t = schedule
                                .next_after(now)?
                                .unwrap_or(now + chrono::Duration::days(3650));
                            due.insert(spec.name.clone(), t);
                            tracing::info!(pipeline = %spec.name, next = %t, "scheduled 已排程");
                            t
                        }
                    }
                }
            };
            if next <= now {
                to_run.push((spec.clone(), Trigger::Schedule));
            } else if next < next_wake {
                next_wake = next;
            }
        }
        for (spec, trigger) in to_run {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let opts = RunOptions {
                trigger,
                stop: stop.clone(),
                ..RunOptions::default()
            };
            match crate::run::run(lake, &spec, &opts).await {
                Ok(run) => on_run(&run),
                Err(e) => {
                    tracing::error!(pipeline = %spec.name, error = %e, "run could not start 运行失败")
                }
            }
            // The next time after now: runs missed while this one ran are not piled up.
            if let Some(s) = &spec.schedule {
                let t = s
                    .next_after(Utc::now())?
                    .unwrap_or(Utc::now() + chrono::Duration::days(3650));
                due.insert(spec.name.clone(), t);
                if t < next_wake {
                    next_wake = t;
                }
            }
        }
        // Sleep until the next run, waking to notice a stop request.
        while Utc::now() < next_wake && !stop.load(Ordering::SeqCst) {
            let left = (next_wake - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(Duration::from_millis(200));
            tokio::time::sleep(left).await;
        }
    }
    tracing::info!("scheduler stopped 调度器已停止");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Schedule;
    use chrono::TimeZone;

    fn at(s: &str) -> DateTime<Utc> {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    }

    #[test]
    fn one_catch_up_after_downtime_none_otherwise() {
        // 02:00 Beijing time = 18:00 UTC the day before.
        let nightly = Schedule {
            cron: "0 2 * * *".into(),
            timezone: "Asia/Shanghai".into(),
        };
        let now = at("2026-11-29 15:00");
        assert_eq!(
            nightly.last_at_or_before(now).unwrap(),
            Some(at("2026-11-28 18:00"))
        );
        assert_eq!(
            nightly.next_after(now).unwrap(),
            Some(Utc.with_ymd_and_hms(2026, 11, 29, 18, 0, 0).unwrap())
        );
        // Down for three nights: one run, for the last night.
        assert_eq!(
            missed_run(&nightly, Some(at("2026-11-25 18:00")), now).unwrap(),
            Some(at("2026-11-28 18:00"))
        );
        // Ran last night: nothing missed.
        assert_eq!(
            missed_run(&nightly, Some(at("2026-11-28 18:00")), now).unwrap(),
            None
        );
        // Never ran: it starts on its schedule.
        assert_eq!(missed_run(&nightly, None, now).unwrap(), None);
        // Six fields: seconds first; every two seconds looks back only a little.
        let often = Schedule {
            cron: "*/2 * * * * *".into(),
            timezone: "UTC".into(),
        };
        assert_eq!(
            often.last_at_or_before(at("2026-11-29 15:00")).unwrap(),
            Some(at("2026-11-29 15:00"))
        );
        let bad = Schedule {
            cron: "every night".into(),
            timezone: "Asia/Shanghai".into(),
        };
        assert!(bad.parse().is_err());
        let bad_zone = Schedule {
            cron: "0 2 * * *".into(),
            timezone: "Beijing".into(),
        };
        assert!(
            bad_zone
                .parse()
                .unwrap_err()
                .to_string()
                .contains("time zone")
        );
    }
}
