//! What a pipeline run did: how it was started, each step's result, the run's status and
//! its exit code.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How a run was started.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Manual,
    Schedule,
    CatchUp,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Schedule => "schedule",
            Trigger::CatchUp => "catch_up",
        }
    }
}

/// The outcome of a step or a run, worst last.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Done, nothing to complain about.
    Ok,
    /// Done, but rows went to quarantine.
    Rejects,
    /// Not run: the run was stopped (SIGTERM) before it.
    Stopped,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Rejects => "rejects",
            Status::Stopped => "stopped",
            Status::Failed => "failed",
        }
    }
}

/// One step's result.
#[derive(Debug, Clone, Serialize)]
pub struct StepRun {
    pub index: usize,
    pub kind: String,
    pub detail: String,
    pub status: Status,
    pub started_at: DateTime<Utc>,
    pub millis: u128,
    /// Files imported (import steps).
    pub files: usize,
    /// Files that wait: still being written, or younger than the settle time.
    pub waiting: usize,
    pub rows_written: usize,
    pub rows_quarantined: usize,
    /// The table version or output the step produced, and anything worth saying.
    pub message: String,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineRun {
    pub run_id: String,
    pub pipeline: String,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub status: Status,
    pub steps: Vec<StepRun>,
    /// A lock left by a process that was killed, taken over by this run.
    pub recovered_lock: Option<String>,
}

impl PipelineRun {
    /// The exit code, as the importer's: 0 clean (files still settling are no fault), 3 rows
    /// quarantined,
    /// 1 a step failed, 4 stopped before the end.
    pub fn exit_code(&self) -> u8 {
        match self.status {
            Status::Ok => 0,
            Status::Rejects => 3,
            Status::Stopped => 4,
            Status::Failed => 1,
        }
    }
}
