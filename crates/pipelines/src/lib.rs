//! Pipelines: imports that run unattended on a schedule. A spec (`spec.rs`) names the steps —
//! import a folder's new files, sync the index, write reports, lake upkeep (`upkeep.rs`) —
//! `run.rs` runs them once under the lake's lock and records every step (`history.rs`),
//! `schedule.rs` is the long-running scheduler.

mod error;
pub mod history;
pub mod import;
pub mod outcome;
pub mod run;
pub mod schedule;
pub mod spec;
pub mod upkeep;

pub use error::{Error, Result};
pub use outcome::{PipelineRun, Status, StepRun, Trigger};
pub use run::RunOptions;
pub use spec::{ImportStep, PipelineSpec, ReportStep, Step};
