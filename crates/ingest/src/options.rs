//! What an import run is asked to do (`ImportOptions`), and the `--mapping` file of extra
//! header aliases.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use dangan_datasets::ImportMode;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::reader::ReadOptions;

/// What to import and how.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub dataset: String,
    /// Files and directories (searched recursively for supported files).
    pub paths: Vec<PathBuf>,
    /// Default: the dataset's mode from its spec.
    pub mode: Option<ImportMode>,
    pub read: ReadOptions,
    /// `--mapping FILE`: extra header → column aliases.
    pub mapping: Option<PathBuf>,
    /// Check and report, write nothing.
    pub dry_run: bool,
    /// Import files even if their content was imported before.
    pub force: bool,
    pub survey_id: Option<String>,
    pub survey_title: Option<String>,
    /// Who runs the import (recorded in the run table).
    pub user: Option<String>,
    /// `--replace-anyway`: replace the table even when most rows were rejected.
    pub replace_anyway: bool,
    /// `--set column=value`: a value for every row, for a column the files do not have.
    pub set: Vec<(String, String)>,
    /// Sheets of a workbook already imported by an earlier `--sheet` run, left out of this
    /// one (filled by the run itself from the table's markers).
    pub already_imported_sheets: HashMap<PathBuf, Vec<String>>,
}

/// `--mapping` file: `[aliases]` of header → column.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    aliases: BTreeMap<String, String>,
}

/// The header → column aliases of a `--mapping` file.
pub(crate) fn mapping_aliases(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let m: MappingFile = toml::from_str(&text).map_err(|e| Error::Mapping {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(m.aliases.into_iter().collect())
}
