//! The error type of the `datasets` crate.

use std::path::{Path, PathBuf};

/// Everything that can go wrong with specs, the lake and the generator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{file}: line {line}: {message}")]
    Spec {
        file: String,
        line: usize,
        message: String,
    },
    #[error("unknown dataset `{name}` (known: {known})")]
    UnknownDataset { name: String, known: String },
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a dangan lake (no lake.toml); create one with `dangan init --lake {path}`"
    )]
    NotALake { path: PathBuf },
    #[error("湖正被占用 the lake is busy: {holder} holds {path}; try again when it has finished")]
    Locked { path: PathBuf, holder: String },
    #[error("storage {url}: {message}")]
    Storage { url: String, message: String },
    #[error("lake config {path}: {message}")]
    LakeConfig { path: PathBuf, message: String },
    #[error("table `{table}`")]
    Delta {
        table: String,
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
    #[error("query: {0}")]
    DataFusion(Box<deltalake::datafusion::error::DataFusionError>),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("rows of `{table}`: {source}")]
    Rows {
        table: String,
        #[source]
        source: serde_arrow::Error,
    },
    #[error("writing {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
    /// The lake's key: missing, wrong, or a sealed value that does not open.
    #[error("encryption: {0}")]
    Key(String),
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn delta(table: &str, source: deltalake::DeltaTableError) -> Self {
        Error::Delta {
            table: table.to_string(),
            source: Box::new(source),
        }
    }
}

impl From<deltalake::datafusion::error::DataFusionError> for Error {
    fn from(e: deltalake::datafusion::error::DataFusionError) -> Self {
        Error::DataFusion(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
