//! The error type of the `query` crate.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Lake(#[from] dangan_datasets::Error),
    #[error("{0}")]
    DataFusion(Box<datafusion::error::DataFusionError>),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing xlsx: {0}")]
    Xlsx(String),
    /// What was asked for is not there (a member, say).
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Index(#[from] dangan_index::Error),
    /// Refused by the access policy (a table not granted, a statement that is not a query).
    #[error(transparent)]
    Refused(#[from] crate::Refusal),
    /// Over the statement budget (`guard.rs`): refused before planning.
    #[error("{0}")]
    TooComplex(String),
    /// The lake's adapted sentiment model cannot be read.
    #[error(
        "{}: {reason}; `dangan text train --reset` returns to the shipped analyzer 可用 dangan text train --reset 恢复内置模型",
        path.display()
    )]
    TextModel {
        path: std::path::PathBuf,
        reason: String,
    },
    /// A panic inside the engine while answering, caught: the process and every other
    /// request go on.
    #[error("内部错误 internal error while answering the query: {0}")]
    Panic(String),
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        // A refusal raised inside planning (a table function's) stays a refusal.
        let refusal = match e.find_root() {
            datafusion::error::DataFusionError::External(inner) => inner
                .downcast_ref::<crate::Refusal>()
                .cloned()
                .or_else(|| match inner.downcast_ref() {
                    Some(Error::Refused(r)) => Some(r.clone()),
                    _ => None,
                }),
            _ => None,
        };
        match refusal {
            Some(r) => Error::Refused(r),
            None => Error::DataFusion(Box::new(e)),
        }
    }
}

/// What kind of failure an [`Error`] is, for the channels that answer with a status (the API,
/// Flight SQL): decided here once, by an exhaustive match, so a new variant must be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The access policy refused it.
    Refused,
    /// What was asked for is not there.
    NotFound,
    /// The statement is wrong (it does not parse or plan).
    BadStatement,
    /// The statement is over the budget.
    TooComplex,
    /// The server's own failure.
    Internal,
}

impl Error {
    pub fn kind(&self) -> Kind {
        match self {
            Error::Refused(_) => Kind::Refused,
            Error::NotFound(_) => Kind::NotFound,
            Error::DataFusion(_) => Kind::BadStatement,
            Error::TooComplex(_) => Kind::TooComplex,
            Error::Lake(_)
            | Error::Arrow(_)
            | Error::Io(_)
            | Error::Xlsx(_)
            | Error::Index(_)
            | Error::TextModel { .. }
            | Error::Panic(_) => Kind::Internal,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
