//! Dataset specs, the lake and its Delta tables, and the synthetic archive generator: the
//! bottom of the stack that every other crate builds on.

pub mod access;
mod error;
pub mod external;
pub mod idcard;
mod lake;
pub mod lease;
pub mod lock;
mod log_cache;
pub mod markers;
mod merge;
mod registry;
pub mod seal;
pub mod sheet;
mod spec;
pub mod storage;
mod system;
pub mod tokens;
pub mod views;
mod write;

pub use error::{Error, Result};
pub use lake::{InitReport, LAKE_FILE, Lake, LakeConfig, ResealReport, TableAppender, TableStatus};
pub use lock::{Holder, LakeLock};
pub use merge::{UpsertCounts, key_converter, key_rows};
pub use registry::{BUILTIN_SPECS, Registry};
pub use spec::{
    Check, ColumnSpec, ColumnType, DatasetSpec, ImportMode, Mask, Reference, Role, Shape, Unpivot,
    header_forms,
};
pub use system::{
    AccessRow, AuditRow, FileLedgerRow, ImportRunRow, PipelineRunRow, QuarantineRow, SystemTable,
    TokenRow, ViewRow,
};
pub use write::WriteOptions;

/// Re-exported so that every crate writes against the one Arrow and deltalake of the lake.
pub use arrow;
pub use deltalake;
