//! The error type of the `ingest` crate. Problems with single values are not errors: they send
//! the row to quarantine. Errors stop a file (or the run) and name the file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{path}: unsupported file type (supported: {supported})")]
    UnsupportedFormat { path: PathBuf, supported: String },
    #[error("{path}: no header row found in the first rows; expected headers such as {expected}")]
    NoHeader { path: PathBuf, expected: String },
    #[error(
        "{path}: missing required column(s) {missing}; the file's headers are {found}. If one of them is that column under another name, say so with --mapping FILE ([aliases] \"header\" = \"column\")"
    )]
    MissingColumns {
        path: PathBuf,
        missing: String,
        found: String,
    },
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("mapping file {path}: {message}")]
    Mapping { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("no files to import in {0}")]
    NoFiles(String),
    #[error(transparent)]
    Lake(#[from] dangan_datasets::Error),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error with its causes, `a: b: c`, for reports that keep it as text.
pub fn describe(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}
