//! The error type of the `cluster` crate.

/// What can go wrong starting or reaching a cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cluster address `{address}`: {message}")]
    Address { address: String, message: String },
    #[error("ballista: {0}")]
    Ballista(#[from] ballista_core::error::BallistaError),
    #[error(transparent)]
    Lake(#[from] dangan_datasets::Error),
    #[error("query: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
}

pub type Result<T> = std::result::Result<T, Error>;
