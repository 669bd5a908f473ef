//! A pipeline spec: one TOML file per pipeline (`<lake>/pipelines/*.toml` or a path) with a
//! schedule, the steps to run in order and what to run when one fails.
//!
//! ```toml
//! name = "nightly"
//! schedule = { cron = "0 2 * * *", timezone = "Asia/Shanghai" }
//! settle_seconds = 60
//!
//! [[step]]
//! kind = "import"
//! dataset = "members"
//! source = "inbox/members/*"
//! processed = "move"
//!
//! [[step]]
//! kind = "index"
//!
//! [[step]]
//! kind = "report"
//! name = "engagement"
//! format = "html"
//! out = "reports/{date}/engagement.html"
//! ```

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use dangan_datasets::ImportMode;
use dangan_reports::render::Format;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

fn default_settle() -> u64 {
    60
}

fn default_timezone() -> String {
    "Asia/Shanghai".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// The pipeline's name (its runs are recorded under it).
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// When `pipeline serve` runs it; without one it only runs by hand.
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// A file modified less than this many seconds ago may still be being written: it waits
    /// for the next run.
    #[serde(default = "default_settle")]
    pub settle_seconds: u64,
    /// Run when a step fails (after the failure is recorded).
    #[serde(default)]
    pub on_failure: Option<Hook>,
    /// The steps, in order.
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// A cron expression: five fields (`min hour day month weekday`) or six with seconds first.
    pub cron: String,
    /// IANA time zone the expression is read in.
    #[serde(default = "default_timezone")]
    pub timezone: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// The program and its arguments; `{pipeline}`, `{run_id}`, `{step}` and `{message}` are
    /// replaced.
    pub command: Vec<String>,
}

/// What to do with a file once its content is in the lake.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Processed {
    /// Move it into a `processed/` folder beside it.
    #[default]
    Move,
    /// Leave it (the file ledger still skips it next time).
    Leave,
}

/// Import the files matching `source` (a glob, relative to the lake) into `dataset`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportStep {
    pub dataset: String,
    pub source: String,
    /// The dataset spec's mode when absent; a word that is not a mode fails when the spec is
    /// read (`pipeline validate` says so).
    #[serde(default)]
    pub mode: Option<ImportMode>,
    #[serde(default)]
    pub mapping: Option<PathBuf>,
    #[serde(default)]
    pub encoding: Option<String>,
    #[serde(default)]
    pub sheet: Option<String>,
    #[serde(default)]
    pub processed: Processed,
}

/// Write a report; `out` (relative to the lake) may hold `{date}`, `{month}`, `{time}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportStep {
    pub name: String,
    /// By `out`'s extension when absent (HTML if it has none).
    #[serde(default)]
    pub format: Option<Format>,
    pub out: String,
    #[serde(default)]
    pub org: Option<String>,
    /// Run it as this department (its grants apply).
    #[serde(default, rename = "as")]
    pub as_department: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    Import(ImportStep),
    /// Bring the search index in step with the tables.
    Index {},
    Report(ReportStep),
    /// Compact the small files nightly imports leave (every table, or these).
    Optimize {
        #[serde(default)]
        tables: Vec<String>,
    },
    /// Delete files no version younger than `retain_days` needs.
    Vacuum {
        retain_days: u32,
    },
    /// Check that every table reads and the index is in step.
    Check {},
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Import(_) => "import",
            Step::Index {} => "index",
            Step::Report(_) => "report",
            Step::Optimize { .. } => "optimize",
            Step::Vacuum { .. } => "vacuum",
            Step::Check {} => "check",
        }
    }

    /// The step in a few words (`import members ← inbox/members/*`).
    pub fn describe(&self) -> String {
        match self {
            Step::Import(s) => format!("import {} ← {}", s.dataset, s.source),
            Step::Index {} => "index sync".into(),
            Step::Report(s) => format!("report {} → {}", s.name, s.out),
            Step::Optimize { tables } if tables.is_empty() => "optimize all tables".into(),
            Step::Optimize { tables } => format!("optimize {}", tables.join(", ")),
            Step::Vacuum { retain_days } => format!("vacuum, keeping {retain_days} days"),
            Step::Check {} => "lake check".into(),
        }
    }
}

impl Schedule {
    /// The parsed expression and time zone.
    pub fn parse(&self) -> Result<(cron::Schedule, chrono_tz::Tz)> {
        let fields = self.cron.split_whitespace().count();
        let expr = match fields {
            5 => format!("0 {}", self.cron),
            6 | 7 => self.cron.clone(),
            _ => {
                return Err(Error::Spec(format!(
                    "schedule.cron `{}`: give five fields (min hour day month weekday) or six \
                     (seconds first) 定时表达式应为 5 或 6 段",
                    self.cron
                )));
            }
        };
        let schedule = cron::Schedule::from_str(&expr)
            .map_err(|e| Error::Spec(format!("schedule.cron `{}`: {e}", self.cron)))?;
        let tz = chrono_tz::Tz::from_str(&self.timezone).map_err(|_| {
            Error::Spec(format!(
                "schedule.timezone `{}` is not an IANA time zone (e.g. Asia/Shanghai)",
                self.timezone
            ))
        })?;
        Ok((schedule, tz))
    }

    /// The first time the schedule fires after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let (s, tz) = self.parse()?;
        Ok(s.after(&t.with_timezone(&tz))
            .next()
            .map(|d| d.with_timezone(&Utc)))
    }

    /// The last time the schedule fired at or before `t` (looking back up to 400 days, in
    /// growing windows so that a schedule firing every few seconds is not walked for days).
    pub fn last_at_or_before(&self, t: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let (s, tz) = self.parse()?;
        for back in [
            chrono::Duration::minutes(2),
            chrono::Duration::hours(2),
            chrono::Duration::days(2),
            chrono::Duration::days(40),
            chrono::Duration::days(400),
        ] {
            let last = s
                .after(&(t - back).with_timezone(&tz))
                .map(|d| d.with_timezone(&Utc))
                .take_while(|d| *d <= t)
                .last();
            if last.is_some() {
                return Ok(last);
            }
        }
        Ok(None)
    }
}

impl PipelineSpec {
    /// Read and check a spec file.
    pub fn load(path: &Path) -> Result<PipelineSpec> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let spec: PipelineSpec = toml::from_str(&text).map_err(|e| {
            Error::Spec(format!("{}: {}", path.display(), e.to_string().trim_end()))
        })?;
        spec.check()
            .map_err(|e| Error::Spec(format!("{}: {e}", path.display())))?;
        Ok(spec)
    }

    /// What can be checked without running beyond what reading it checked (modes, formats):
    /// names, schedule, sources, reports.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.name.trim().is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "name `{}`: letters, digits, `-` and `_` only 名称只能含字母、数字、-、_",
                self.name
            ));
        }
        if let Some(s) = &self.schedule {
            s.parse().map_err(|e| e.to_string())?;
        }
        if self.steps.is_empty() {
            return Err("no [[step]]: a pipeline needs at least one step".into());
        }
        for (i, step) in self.steps.iter().enumerate() {
            let at = |m: String| format!("step {} ({}): {m}", i + 1, step.kind());
            match step {
                Step::Import(s) => {
                    glob::Pattern::new(&s.source)
                        .map_err(|e| at(format!("source `{}`: {e}", s.source)))?;
                }
                Step::Report(s) => {
                    dangan_reports::find(&s.name).map_err(|e| at(e.to_string()))?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}
