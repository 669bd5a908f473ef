//! What can go wrong with the index.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("search index at {path}: {source}")]
    Tantivy {
        path: PathBuf,
        #[source]
        source: tantivy::TantivyError,
    },
    #[error("查询有误 bad query: {0}")]
    Query(String),
    #[error(transparent)]
    Lake(#[from] dangan_datasets::Error),
    #[error("reading table `{table}` for the index: {message}")]
    Read { table: String, message: String },
    #[error("name table {path}: {message}")]
    Names { path: PathBuf, message: String },
    #[error("search index state {path}: {message}")]
    State { path: PathBuf, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
