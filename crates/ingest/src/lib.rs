//! The importer: readers for every file format branches send, header mapping, value
//! normalizers and checks, wide survey exports, quarantine, and the atomic commit of a run.

mod convert;
mod dedupe;
mod error;
#[cfg(test)]
mod fuzz;
mod header;
mod import;
mod keyed;
mod options;
pub mod quarantine;
pub mod reader;
mod records;
mod report;
mod sheets;
mod stream;
pub mod survey;
pub mod template;
mod unpivot;
pub mod value;

pub use convert::{QuarantineEntry, ReferenceIndex};
pub use error::{Error, Result, describe};
pub use header::{AliasMap, HeaderMatch, find_header};
pub use import::{collect_files, file_marker, import, template_choices};
pub use options::ImportOptions;
pub use reader::{RawCell, RawSheet, ReadOptions, read_sheets, supported_extensions};
pub use report::{FileReport, FileStatus, ImportReport};
