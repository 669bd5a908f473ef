//! The runs table (`system_pipeline_runs`): one row per step of every run, written in one
//! commit at the end of the run; read back for `pipeline history` and for the scheduler's
//! catch-up after downtime.

use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use chrono::{DateTime, Utc};
use dangan_datasets::{Lake, SystemTable};
use serde::Serialize;

use crate::error::Result;
use crate::outcome::PipelineRun;

/// Record a run.
pub async fn record(lake: &Lake, run: &PipelineRun) -> Result<()> {
    let table = SystemTable::PipelineRuns;
    let name = table.table_name();
    let schema = table.schema();
    lake.ensure_table(&name, &schema).await?;
    let n = run.steps.len();
    let host = dangan_datasets::lock::host_name();
    let same = |s: &str| Arc::new(StringArray::from(vec![s; n])) as Arc<dyn Array>;
    let at = |t: DateTime<Utc>| t.timestamp_micros();
    let steps = &run.steps;
    let batch = RecordBatch::try_new(
        schema,
        vec![
            same(&run.run_id),
            same(&run.pipeline),
            same(run.trigger.as_str()),
            Arc::new(TimestampMicrosecondArray::from(vec![at(run.started_at); n])),
            Arc::new(TimestampMicrosecondArray::from(vec![
                at(run.finished_at);
                n
            ])),
            same(run.status.as_str()),
            Arc::new(Int64Array::from_iter_values(
                steps.iter().map(|s| s.index as i64),
            )),
            Arc::new(StringArray::from_iter_values(steps.iter().map(|s| &s.kind))),
            Arc::new(StringArray::from_iter_values(
                steps.iter().map(|s| &s.detail),
            )),
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                steps.iter().map(|s| at(s.started_at)),
            )),
            Arc::new(Int64Array::from_iter_values(
                steps.iter().map(|s| s.millis as i64),
            )),
            Arc::new(StringArray::from_iter_values(
                steps.iter().map(|s| s.status.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(
                steps.iter().map(|s| s.files as i64),
            )),
            Arc::new(Int64Array::from_iter_values(
                steps.iter().map(|s| s.waiting as i64),
            )),
            Arc::new(Int64Array::from_iter_values(
                steps.iter().map(|s| s.rows_written as i64),
            )),
            Arc::new(Int64Array::from_iter_values(
                steps.iter().map(|s| s.rows_quarantined as i64),
            )),
            Arc::new(StringArray::from_iter_values(
                steps.iter().map(|s| &s.message),
            )),
            same(&host),
        ],
    )?;
    lake.write(&name, vec![batch], Default::default()).await?;
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

/// Every column of a batch as text (cast once per batch, not per cell).
fn text_columns(b: &RecordBatch) -> Result<Vec<StringArray>> {
    b.columns()
        .iter()
        .map(|c| {
            Ok(arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8)?
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .unwrap_or_else(|| StringArray::from(vec![None::<&str>; b.num_rows()])))
        })
        .collect()
}

fn cell(a: &StringArray, row: usize) -> String {
    if a.is_valid(row) {
        a.value(row).to_string()
    } else {
        String::new()
    }
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
    for b in &batches {
        let c = text_columns(b)?;
        let t = |i: usize, r: usize| cell(&c[i], r);
        let n = |i: usize, r: usize| t(i, r).parse().unwrap_or_default();
        for r in 0..b.num_rows() {
            let row = HistoryRow {
                run_id: t(0, r),
                pipeline: t(1, r),
                trigger: t(2, r),
                run_started_at: t(3, r),
                run_status: t(4, r),
                step: n(5, r),
                kind: t(6, r),
                detail: t(7, r),
                status: t(8, r),
                duration_ms: n(9, r),
                files: n(10, r),
                rows_written: n(11, r),
                rows_quarantined: n(12, r),
                message: t(13, r),
            };
            if pipeline.is_none_or(|p| p == row.pipeline) {
                rows.push(row);
            }
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
    let mut last: Option<i64> = None;
    for b in &batches {
        let p = &text_columns(b)?[0];
        let Some(t) = b
            .column(1)
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
        else {
            continue;
        };
        for r in 0..b.num_rows() {
            if p.is_valid(r) && p.value(r) == pipeline && t.is_valid(r) {
                last = Some(last.map_or(t.value(r), |l| l.max(t.value(r))));
            }
        }
    }
    Ok(last.and_then(DateTime::from_timestamp_micros))
}
