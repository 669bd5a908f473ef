//! The runs table (`system_pipeline_runs`): one row per step of every run, written in one
//! commit at the end of the run; read back for `pipeline history` and for the scheduler's
//! catch-up after downtime.

use chrono::{DateTime, Utc};
use dangan_datasets::{Lake, PipelineRunRow, SystemTable};
use serde::Serialize;

use crate::error::Result;
use crate::outcome::PipelineRun;

/// Record a run.
pub async fn record(lake: &Lake, run: &PipelineRun) -> Result<()> {
    let table = SystemTable::PipelineRuns;
    let name = table.table_name();
    lake.ensure_table(&name, &table.schema()).await?;
    let host = dangan_datasets::lock::host_name();
    let at = |t: DateTime<Utc>| Some(t.naive_utc());
    let rows: Vec<PipelineRunRow> = run
        .steps
        .iter()
        .map(|s| PipelineRunRow {
            run_id: Some(run.run_id.clone()),
            pipeline: Some(run.pipeline.clone()),
            trigger: Some(run.trigger.as_str().to_string()),
            run_started_at: at(run.started_at),
            run_finished_at: at(run.finished_at),
            run_status: Some(run.status.as_str().to_string()),
            step: Some(s.index as i64),
            kind: Some(s.kind.clone()),
            detail: Some(s.detail.clone()),
            started_at: at(s.started_at),
            duration_ms: Some(s.millis as i64),
            status: Some(s.status.as_str().to_string()),
            files: Some(s.files as i64),
            waiting: Some(s.waiting as i64),
            rows_written: Some(s.rows_written as i64),
            rows_quarantined: Some(s.rows_quarantined as i64),
            message: Some(s.message.clone()),
            host: Some(host.clone()),
        })
        .collect();
    lake.write(&name, vec![table.batch(&rows)?], Default::default())
        .await?;
    Ok(())
}

/// One step as the history shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    pub run_id: String,
    pub pipeline: String,
    pub trigger: String,
    pub run_started_at: String,
    pub run_status: String,
    pub step: i64,
    pub kind: String,
    pub detail: String,
    pub status: String,
    pub duration_ms: i64,
    pub files: i64,
    pub rows_written: i64,
    pub rows_quarantined: i64,
    pub message: String,
}

/// Every recorded step, oldest run first (optionally of one pipeline).
pub async fn read(lake: &Lake, pipeline: Option<&str>) -> Result<Vec<HistoryRow>> {
    let name = SystemTable::PipelineRuns.table_name();
    if !lake.table_exists(&name).await? {
        return Ok(Vec::new());
    }
    let columns = [
        "run_id",
        "pipeline",
        "trigger",
        "run_started_at",
        "run_status",
        "step",
        "kind",
        "detail",
        "status",
        "duration_ms",
        "files",
        "rows_written",
        "rows_quarantined",
        "message",
    ];
    let batches = lake.scan(&name, &columns).await?;
    let mut rows = Vec::new();
    for r in SystemTable::PipelineRuns.rows::<PipelineRunRow>(&batches)? {
        let row = HistoryRow {
            run_id: r.run_id.unwrap_or_default(),
            pipeline: r.pipeline.unwrap_or_default(),
            trigger: r.trigger.unwrap_or_default(),
            // ISO 8601 (sorts as it reads).
            run_started_at: r
                .run_started_at
                .map(|t| format!("{t:?}"))
                .unwrap_or_default(),
            run_status: r.run_status.unwrap_or_default(),
            step: r.step.unwrap_or_default(),
            kind: r.kind.unwrap_or_default(),
            detail: r.detail.unwrap_or_default(),
            status: r.status.unwrap_or_default(),
            duration_ms: r.duration_ms.unwrap_or_default(),
            files: r.files.unwrap_or_default(),
            rows_written: r.rows_written.unwrap_or_default(),
            rows_quarantined: r.rows_quarantined.unwrap_or_default(),
            message: r.message.unwrap_or_default(),
        };
        if pipeline.is_none_or(|p| p == row.pipeline) {
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| {
        (&a.run_started_at, &a.run_id, a.step).cmp(&(&b.run_started_at, &b.run_id, b.step))
    });
    Ok(rows)
}

/// When the pipeline last ran (started), if ever.
pub async fn last_run(lake: &Lake, pipeline: &str) -> Result<Option<DateTime<Utc>>> {
    let name = SystemTable::PipelineRuns.table_name();
    if !lake.table_exists(&name).await? {
        return Ok(None);
    }
    let batches = lake.scan(&name, &["pipeline", "run_started_at"]).await?;
    let last = SystemTable::PipelineRuns
        .rows::<PipelineRunRow>(&batches)?
        .into_iter()
        .filter(|r| r.pipeline.as_deref() == Some(pipeline))
        .filter_map(|r| r.run_started_at)
        .max();
    Ok(last.map(|t| t.and_utc()))
}
