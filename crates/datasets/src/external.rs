//! Other departments' databases declared in `lake.toml` (`[external.<name>]`): what kind of
//! database, where, where its password comes from (never the lake), which tables it exposes,
//! and, per table, the columns the access policy needs — the organization (row scope), the
//! member (scope through the register of people) and the personal columns (masks).
//!
//! ```toml
//! [external.cadre]
//! kind = "postgres"
//! url = "postgres://reader@10.0.0.5:5432/cadres"
//! password_env = "CADRE_PASSWORD"
//!
//! [external.cadre.tables.cadres]
//! org_column = "org_id"
//! personal = { id_card = "id_number", mobile = "phone" }
//! ```
//!
//! In SQL the source is a schema: `cadre.cadres`; in grants the same name is the dataset.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::spec::Mask;

/// One external database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSource {
    pub kind: ExternalKind,
    /// `postgres://user@host:port/db?sslmode=…`, `mysql://user@host:port/db`, or the path of
    /// a SQLite file. Never a password.
    pub url: String,
    /// The environment variable that holds the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// A file whose first line is the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// Longest wait, in seconds, for the database to connect or to send the next rows.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Every table of the database is exposed, those of `tables` with their mapping (a source
    /// with no `tables` at all exposes every table too).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub every_table: bool,
    /// The tables exposed (all of them when `every_table`), by the name the database knows
    /// them (`t` or `schema.t`), with what the access policy needs to know of each.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<String, ExternalTable>,
}

fn default_timeout() -> u64 {
    30
}

/// The kinds of database dangan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExternalKind {
    Postgres,
    Mysql,
    Sqlite,
}

impl std::fmt::Display for ExternalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExternalKind::Postgres => "postgres",
            ExternalKind::Mysql => "mysql",
            ExternalKind::Sqlite => "sqlite",
        })
    }
}

impl std::str::FromStr for ExternalKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<ExternalKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Ok(ExternalKind::Postgres),
            "mysql" => Ok(ExternalKind::Mysql),
            "sqlite" => Ok(ExternalKind::Sqlite),
            other => Err(Error::Invalid(format!(
                "external kind `{other}`: expected postgres, mysql or sqlite"
            ))),
        }
    }
}

/// What the access policy needs to know of an external table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalTable {
    /// The column holding the organization (`org_id` of the archive): a department's scope
    /// keeps the rows of its organizations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_column: Option<String>,
    /// The column holding the member id: scoped through the register of people when there is
    /// no organization column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_column: Option<String>,
    /// Personal columns and how a department without the personal grant sees them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub personal: BTreeMap<String, Mask>,
}

impl ExternalSource {
    /// Whether the source exposes its table `table`.
    pub fn exposes(&self, table: &str) -> bool {
        self.exposes_every_table() || self.tables.contains_key(table)
    }

    /// Whether every table of the database is exposed (not only those `tables` names).
    pub fn exposes_every_table(&self) -> bool {
        self.every_table || self.tables.is_empty()
    }

    /// The password, from its variable or file; `None` when none is configured.
    pub fn password(&self, name: &str) -> Result<Option<String>> {
        if let Some(var) = &self.password_env {
            return std::env::var(var).map(Some).map_err(|_| {
                Error::Invalid(format!(
                    "external source `{name}`: the environment variable {var} (its password) is not set"
                ))
            });
        }
        if let Some(file) = &self.password_file {
            let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
            return Ok(Some(text.lines().next().unwrap_or("").to_string()));
        }
        Ok(None)
    }

    /// Check what `add` would store: a name usable as a SQL schema, a URL of the kind with no
    /// password in it.
    pub fn validate(&self, name: &str) -> Result<()> {
        let ok_name = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok_name || ["public", "information_schema", "system", "datafusion"].contains(&name) {
            return Err(Error::Invalid(format!(
                "external source name `{name}`: expected lower-case letters, digits and _ (it is the schema in SQL), not a reserved name"
            )));
        }
        if self.password_env.is_some() && self.password_file.is_some() {
            return Err(Error::Invalid(format!(
                "external source `{name}`: give the password by a variable or a file, not both"
            )));
        }
        match self.kind {
            ExternalKind::Sqlite => {
                if self.url.contains("://") && !self.url.starts_with("file://") {
                    return Err(Error::Invalid(format!(
                        "external source `{name}`: a SQLite source is the path of its file, not `{}`",
                        self.url
                    )));
                }
            }
            kind => {
                let url = url::Url::parse(&self.url)
                    .map_err(|e| Error::Invalid(format!("external source `{name}`: url: {e}")))?;
                let schemes: &[&str] = match kind {
                    ExternalKind::Postgres => &["postgres", "postgresql"],
                    _ => &["mysql"],
                };
                if !schemes.contains(&url.scheme()) {
                    return Err(Error::Invalid(format!(
                        "external source `{name}`: a {kind} url starts with {}://",
                        schemes[0]
                    )));
                }
                if url.password().is_some() {
                    return Err(Error::Invalid(format!(
                        "external source `{name}`: the url holds a password; give it with --password-env or --password-file instead (it is never stored in the lake)"
                    )));
                }
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(Error::Invalid(format!(
                        "external source `{name}`: the url names no host"
                    )));
                }
            }
        }
        for (table, t) in &self.tables {
            if t.org_column.is_some() && t.member_column.is_some() {
                return Err(Error::Invalid(format!(
                    "external table `{name}.{table}`: an organization column or a member column, not both (the organization decides)"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(toml_text: &str) -> ExternalSource {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn a_source_exposes_its_listed_tables_or_every_table() {
        let listed = source("kind = \"mysql\"\nurl = \"mysql://r@h/db\"\n[tables.a]\n");
        assert!(listed.exposes("a") && !listed.exposes("b"));
        // Written before `every_table` existed: no tables at all is every table.
        let old = source("kind = \"mysql\"\nurl = \"mysql://r@h/db\"\n");
        assert!(old.exposes("b") && old.exposes_every_table());
        // Every table, one of them mapped: the others stay exposed.
        let mapped = source(
            "kind = \"mysql\"\nurl = \"mysql://r@h/db\"\nevery_table = true\n\
             [tables.a]\norg_column = \"org\"\n",
        );
        assert!(mapped.exposes("a") && mapped.exposes("b"));
        let text = toml::to_string(&mapped).unwrap();
        assert!(text.contains("every_table = true"), "{text}");
        assert!(
            toml::from_str::<ExternalSource>("kind = \"mysql\"\nurl = \"x\"\nevry = 1").is_err()
        );
    }
}
