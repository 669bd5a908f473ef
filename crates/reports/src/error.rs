//! The error type of the `reports` crate.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Query(#[from] dangan_query::Error),
    #[error(transparent)]
    Lake(#[from] dangan_datasets::Error),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The report's own computation over its inputs failed (a bug of the report).
    #[error("computing the report: {0}")]
    Compute(#[from] datafusion::error::DataFusionError),
    #[error("report table: {0}")]
    Frame(String),
    #[error("writing {path}: {message}")]
    Write {
        path: std::path::PathBuf,
        message: String,
    },
    /// A report name that does not exist.
    #[error("没有报表 `{name}` (no report named `{name}`; there are: {known})")]
    NoSuchReport { name: String, known: String },
    /// `--org` names an organization the lake does not have.
    #[error("没有组织 `{id}` (no organization `{id}` in the lake)")]
    NoSuchOrg { id: String },
    /// A query of the report was refused by the caller's access policy.
    #[error(
        "报表 {title} 需要读取的数据未授权 (report `{report}` reads data this department was not granted): {refusal}"
    )]
    Refused {
        report: &'static str,
        title: &'static str,
        #[source]
        refusal: dangan_query::Refusal,
    },
    /// A report asked for an input its definition does not query (a bug of the report).
    #[error("report input `{0}` was not queried")]
    MissingInput(String),
    /// A format or parameter that does not fit.
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
