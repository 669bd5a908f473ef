//! The lake's adaptation of the sentiment analyzer (`dangan text train`), kept versioned under
//! `<lake>/text/sentiment/`: every trained model as `vN.tsv` (never rewritten) beside the
//! labelled texts it was fitted on (`vN.items.tsv`, so that `dangan text train --refit` can fit
//! it again when a new dangan ships another revision of the analyzer), the one in use named in
//! `active` (`shipped` after a reset), and one JSON line per training or reset in
//! `history.jsonl`. Every session the lake opens holds the lake's [`analyzer`] (its words and what `active`
//! names), so `sentiment()`, `dangan text eval`, the reports, the page and the API all score
//! with it — and a process that opens two lakes scores each with its own.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use dangan_datasets::Lake;
use dangan_text::sentiment::{Analyzer, Label, adapt::Adapted};

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

    /// Where the labelled texts a version was fitted on are kept (`label<TAB>text`).
    pub fn items_path(&self, version: &str) -> PathBuf {
        self.dir.join(format!("{version}.items.tsv"))
    }

    /// Keep `model` as its version's file, with the labelled `items` it was fitted on, and put
    /// it in use; `record` goes to the history. A version's file is never replaced: two
    /// trainings that picked the same name at once leave the first one's, and the second is
    /// refused (run it again for the next name).
    pub fn keep(
        &self,
        model: &Adapted,
        items: &[(Label, String)],
        record: serde_json::Value,
    ) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        // The texts first: a model is never in use without them. A tab or a line break inside
        // a text would cut its line; a space reads the same to the analyzer.
        let mut tsv = String::from("label\ttext\n");
        for (label, text) in items {
            let text = text.replace(['\t', '\n', '\r'], " ");
            tsv.push_str(&format!("{}\t{text}\n", label.name()));
        }
        let items_path = self.items_path(&model.version);
        let items_tmp = items_path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&items_tmp, tsv)?;
        let path = self.dir.join(format!("{}.tsv", model.version));
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&tmp, model.to_tsv())?;
        // A hard link is made whole or not at all, and never over an existing file.
        let linked = std::fs::hard_link(&tmp, &path);
        std::fs::remove_file(&tmp)?;
        match &linked {
            Ok(()) => std::fs::rename(&items_tmp, &items_path)?,
            Err(_) => std::fs::remove_file(&items_tmp)?,
        }
        if let Err(e) = linked {
            return Err(Error::TextModel {
                path,
                reason: format!(
                    "another training kept {} at the same time ({e}); run `dangan text train` again",
                    model.version
                ),
            });
        }
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

/// What a lake's analyzer was built from: its words file (length and change time) and the
/// version `active` names. A session reuses the analyzer built for the same stamp.
#[derive(Clone, PartialEq, Eq)]
struct Stamp {
    words: Option<(u64, std::time::SystemTime)>,
    active: Option<String>,
}

/// Analyzers built, by lake folder: the sessions of one lake (the server opens one per
/// department every few seconds) share one, and each lake has its own.
static BUILT: Mutex<Vec<(PathBuf, Stamp, Analyzer)>> = Mutex::new(Vec::new());

/// The lake's own analyzer: the shipped one with the lake's words (`<lake>/text/lexicon.txt`,
/// `word<TAB>weight`) and the adapted model `active` names. Built again only when either
/// changed. A model file that cannot be read is reported on standard error and the lake's
/// words are used without it.
pub fn analyzer(lake: &Lake) -> Analyzer {
    analyzer_at(lake.dir())
}

/// [`analyzer`] of the lake at `lake_dir`.
pub fn analyzer_at(lake_dir: &Path) -> Analyzer {
    let words_path = lake_dir.join("text").join("lexicon.txt");
    let store = ModelStore::at(lake_dir);
    let stamp = Stamp {
        words: std::fs::metadata(&words_path)
            .ok()
            .map(|m| (m.len(), m.modified().unwrap_or(std::time::UNIX_EPOCH))),
        active: store.active_version(),
    };
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, a)) = built
        .iter()
        .find(|(dir, s, _)| dir == lake_dir && *s == stamp)
    {
        return a.clone();
    }
    let words = std::fs::read_to_string(&words_path).unwrap_or_default();
    let base = Analyzer::with_user_words(&words);
    let analyzer = match store.active() {
        Ok(model) => base.with_adapted(model),
        Err(e) => {
            let refit = store
                .active_version()
                .filter(|v| store.items_path(v).exists())
                .map(|v| {
                    format!(
                        " (its labelled texts are kept: `dangan text train --refit` fits {v} again 重新拟合)"
                    )
                })
                .unwrap_or_default();
            eprintln!("warning: {e}; scoring with the shipped analyzer{refit}");
            base
        }
    };
    built.retain(|(dir, _, _)| dir != lake_dir);
    built.push((lake_dir.to_path_buf(), stamp, analyzer.clone()));
    analyzer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<(Label, String)> {
        (0..30)
            .flat_map(|i| {
                [
                    (Label::Positive, format!("第{i}批蓝标")),
                    (Label::Negative, format!("第{i}批橙标")),
                ]
            })
            .collect()
    }

    fn model(version: &str) -> Adapted {
        dangan_text::sentiment::adapt::fit(&items(), Analyzer::shipped(), version).unwrap()
    }

    #[test]
    fn each_lake_scores_with_its_own_words_and_model_in_one_process() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for (dir, weight) in [(&a, "2"), (&b, "-2")] {
            std::fs::create_dir_all(dir.path().join("text")).unwrap();
            std::fs::write(
                dir.path().join("text/lexicon.txt"),
                format!("蓝标\t{weight}\n"),
            )
            .unwrap();
        }
        let text = "本批次评为蓝标";
        let (in_a, in_b) = (analyzer_at(a.path()), analyzer_at(b.path()));
        assert!(in_a.score(text) > 0.1, "{}", in_a.score(text));
        assert!(in_b.score(text) < -0.1, "{}", in_b.score(text));
        assert!(Analyzer::shipped().score(text).abs() < in_a.score(text).abs());
        // Opening a lake again does not change the other's, and a changed file is read again.
        assert_eq!(analyzer_at(a.path()).score(text), in_a.score(text));
        std::fs::write(a.path().join("text/lexicon.txt"), "蓝标\t-2\n# changed\n").unwrap();
        assert!(analyzer_at(a.path()).score(text) < -0.1);
        assert!(analyzer_at(b.path()).score(text) < -0.1);
        // A lake's adapted model is its own too.
        ModelStore::at(b.path())
            .keep(&model("v1"), &items(), serde_json::json!({}))
            .unwrap();
        let shipped = dangan_text::sentiment::MODEL_VERSION;
        assert_eq!(
            analyzer_at(b.path()).version(),
            format!("{shipped} + lake v1")
        );
        assert_eq!(analyzer_at(a.path()).version(), shipped);
    }

    #[test]
    fn versions_kept_never_replaced_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::at(dir.path());
        assert_eq!(store.active_version(), None);
        assert_eq!(store.next_version(), "v1");
        store
            .keep(&model("v1"), &items(), serde_json::json!({"n": 1}))
            .unwrap();
        assert_eq!(store.active_version().as_deref(), Some("v1"));
        assert_eq!(store.active().unwrap().unwrap().version, "v1");
        assert_eq!(store.next_version(), "v2");
        // The same name again (a training that raced another): refused, the first file kept.
        let before = std::fs::read_to_string(dir.path().join("text/sentiment/v1.tsv")).unwrap();
        let e = store
            .keep(&model("v1"), &items(), serde_json::json!({}))
            .unwrap_err();
        assert!(e.to_string().contains("at the same time"), "{e}");
        let after = std::fs::read_to_string(dir.path().join("text/sentiment/v1.tsv")).unwrap();
        assert_eq!(before, after);
        // Its labelled texts are kept beside it, as `dangan text eval` and `train` read them.
        let kept = std::fs::read_to_string(store.items_path("v1")).unwrap();
        assert!(kept.starts_with("label\ttext\npositive\t第0批蓝标\nnegative\t第0批橙标\n"));
        assert_eq!(kept.lines().count(), 61);
        store.reset(serde_json::json!({"n": 2})).unwrap();
        assert_eq!(store.active_version(), None);
        assert_eq!(store.history().len(), 2);
        // A broken model file in use is an error naming it and the way back.
        store
            .keep(&model("v2"), &items(), serde_json::json!({}))
            .unwrap();
        std::fs::write(dir.path().join("text/sentiment/v2.tsv"), "# version=v2\n").unwrap();
        let e = store.active().unwrap_err().to_string();
        assert!(e.contains("v2.tsv") && e.contains("--reset"), "{e}");
    }
}
