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
    /// An index written by another version of dangan.
    #[error(
        "search index at {path} has format {found}, this dangan reads format {expected}: `dangan index rebuild` recreates it from the tables 索引格式不符，请运行 dangan index rebuild",
        path = path.display()
    )]
    Format {
        path: PathBuf,
        found: String,
        expected: u32,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
