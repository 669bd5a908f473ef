//! The error type of the `pipelines` crate.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("pipeline spec 流水线配置有误: {0}")]
    Spec(String),
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Lake(#[from] dangan_datasets::Error),
    #[error(transparent)]
    Ingest(#[from] dangan_ingest::Error),
    #[error(transparent)]
    Index(#[from] dangan_index::Error),
    #[error(transparent)]
    Query(#[from] dangan_query::Error),
    #[error(transparent)]
    Report(#[from] dangan_reports::Error),
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
