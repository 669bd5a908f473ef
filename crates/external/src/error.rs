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
    tidy(&out)
}

/// A provider's message as a user reads it: on one line (some run over several, advice after
/// the cause), without the lines that send the reader to the providers' bug tracker or a
/// database manual's index page.
pub(crate) fn tidy(message: &str) -> String {
    const ADVICE: [&str; 3] = [
        "Report a bug to request support",
        "For further information, refer to the MySQL manual",
        "For details, refer to the MySQL manual",
    ];
    message
        .lines()
        .map(|l| {
            let cut = ADVICE.iter().filter_map(|a| l.find(a)).min();
            l[..cut.unwrap_or(l.len())].trim()
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_providers_message_is_one_line_without_its_advertisements() {
        let m = "Failed to execute query.\nFailed to convert query result to Arrow.\n\
                 Failed to get a row value for date: error deserializing column 1\n\
                 Report a bug to request support: https://github.com/datafusion-contrib/datafusion-table-providers/issues";
        assert_eq!(
            super::tidy(m),
            "Failed to execute query. Failed to convert query result to Arrow. \
             Failed to get a row value for date: error deserializing column 1"
        );
        let m = "MySQL connection failed.\nDriver error: `x'\nFor further information, refer to the MySQL manual: https://dev.mysql.com/doc/";
        assert_eq!(super::tidy(m), "MySQL connection failed. Driver error: `x'");
        let m = "Unable to get schema: Unsupported data type 'year(4)' for field 'y'. Report a bug to request support: https://github.com/x";
        assert_eq!(
            super::tidy(m),
            "Unable to get schema: Unsupported data type 'year(4)' for field 'y'."
        );
    }
}
