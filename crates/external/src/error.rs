//! What can go wrong with another database, always naming the source.

use std::fmt::Display;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("external source `{source_name}`: {message}")]
    Config {
        source_name: String,
        message: String,
    },
    #[error("external source `{source_name}` cannot be reached: {message}")]
    Connect {
        source_name: String,
        message: String,
    },
    #[error(
        "external source `{source_name}` did not answer within {seconds} s ({doing}); its `timeout_seconds` in lake.toml sets the wait"
    )]
    Timeout {
        source_name: String,
        doing: String,
        seconds: u64,
    },
    #[error("external source `{source_name}`, table `{table}`: {message}")]
    Table {
        source_name: String,
        table: String,
        message: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn config(name: &str, message: impl Display) -> Error {
        Error::Config {
            source_name: name.to_string(),
            message: message.to_string(),
        }
    }

    pub(crate) fn connect(
        name: &str,
        e: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Connect {
            source_name: name.to_string(),
            message: chain(e.into().as_ref()),
        }
    }
}

/// An error and its causes, on one line (the providers' own messages are short and their
/// causes carry the database's words).
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    // Some providers' messages run over several lines (advice after the cause): one line.
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
