//! The lake's adaptation of the sentiment analyzer (`dangan text train`), kept versioned under
//! `<lake>/text/sentiment/`: every trained model as `vN.tsv` (never rewritten), the one in use
//! named in `active` (`shipped` after a reset), and one JSON line per training or reset in
//! `history.jsonl`. Every session the lake opens loads what `active` names, so `sentiment()`,
//! `dangan text eval`, the reports, the page and the API all score with it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use dangan_datasets::Lake;
use dangan_text::sentiment::{self, adapt::Adapted};

use crate::error::{Error, Result};

/// What `active` holds when the shipped analyzer is in use.
pub const SHIPPED: &str = "shipped";

/// The lake's store of adapted models.
pub struct ModelStore {
    dir: PathBuf,
}

impl ModelStore {
    pub fn of(lake: &Lake) -> Self {
        Self::at(lake.dir())
    }

    /// The store of the lake at `lake_dir`.
    pub fn at(lake_dir: &Path) -> Self {
        ModelStore {
            dir: lake_dir.join("text").join("sentiment"),
        }
    }

    /// The version in use (`v3`), or `None` for the shipped analyzer.
    pub fn active_version(&self) -> Option<String> {
        let v = std::fs::read_to_string(self.dir.join("active")).ok()?;
        let v = v.trim();
        (!v.is_empty() && v != SHIPPED).then(|| v.to_string())
    }

    /// The model in use, read from its file.
    pub fn active(&self) -> Result<Option<Adapted>> {
        let Some(version) = self.active_version() else {
            return Ok(None);
        };
        self.read(&version).map(Some)
    }

    fn read(&self, version: &str) -> Result<Adapted> {
        let path = self.dir.join(format!("{version}.tsv"));
        let bad = |reason: String| Error::TextModel {
            path: path.clone(),
            reason,
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| bad(format!("the model {version} in use cannot be read: {e}")))?;
        Adapted::from_tsv(&text).map_err(|e| bad(e.to_string()))
    }

    /// The name the next trained model gets: one past the highest kept.
    pub fn next_version(&self) -> String {
        let highest = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix('v')?
                    .strip_suffix(".tsv")?
                    .parse::<u32>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        format!("v{}", highest + 1)
    }

    /// Keep `model` as its version's file and put it in use; `record` goes to the history.
    pub fn keep(&self, model: &Adapted, record: serde_json::Value) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        write_atomically(
            &self.dir.join(format!("{}.tsv", model.version)),
            &model.to_tsv(),
        )?;
        self.activate(&model.version, record)
    }

    /// Put the shipped analyzer back in use (the trained models stay on disk).
    pub fn reset(&self, record: serde_json::Value) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        self.activate(SHIPPED, record)
    }

    /// Add a line to the history without changing what is in use (a training that did not
    /// improve on the held-out texts).
    pub fn note(&self, record: serde_json::Value) -> Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(&self.dir)?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("history.jsonl"))?;
        writeln!(f, "{record}")?;
        Ok(())
    }

    /// Every line of the history, oldest first.
    pub fn history(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join("history.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn activate(&self, version: &str, record: serde_json::Value) -> Result<()> {
        write_atomically(&self.dir.join("active"), &format!("{version}\n"))?;
        self.note(record)
    }
}

/// Write a whole file or nothing: a temporary file renamed over the old one.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// The version loaded in this process (`None`: shipped), so that opening a session does not
/// read the model again unless `active` changed.
static LOADED: Mutex<Option<Option<String>>> = Mutex::new(None);

/// Score with the lake's adaptation in this process from now on (the shipped analyzer if it
/// has none); read again only when the lake's `active` names another version. A model file
/// that cannot be read is reported on standard error and the shipped analyzer used.
pub fn load(lake: &Lake) {
    let store = ModelStore::of(lake);
    let version = store.active_version();
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if loaded.as_ref() == Some(&version) {
        return;
    }
    match store.active() {
        Ok(model) => sentiment::use_adapted(model),
        Err(e) => {
            eprintln!("warning: {e}; scoring with the shipped analyzer");
            sentiment::use_adapted(None);
        }
    }
    *loaded = Some(version);
}
