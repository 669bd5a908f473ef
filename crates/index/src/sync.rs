//! Bringing the index in step with the tables: the state file, re-reading changed datasets (whole
//! or by their change feed), documents and name tables.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use dangan_datasets::Lake;
use dangan_datasets::arrow::array::BooleanArray;
use dangan_datasets::arrow::array::StringBuilder;
use dangan_datasets::arrow::array::{Array, AsArray, RecordBatch};
use dangan_datasets::arrow::compute::{cast, filter, filter_record_batch};
use dangan_datasets::arrow::datatypes::{DataType, Date32Type, Int64Type};
use futures::StreamExt;
use tantivy::collector::Count;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{TantivyDocument, Term};

use crate::error::{Error, Result};
use crate::index::{FORMAT, NAMES_DIR, STATE_FILE, SearchIndex, WRITER_BUDGET, tantivy_err};
use crate::names::{self, NameSet, NameTable};
use crate::request::{DatasetStatus, DatasetSync, SyncReport};
use crate::schema::{date_of, day_of};
use crate::sources::{DateColumn, Source, sources};
use crate::uid;

/// The search form and pinyin keys of names already met in one sync (bounded: a roster of
/// unique names does not grow it past [`NameCache::MAX`]).
#[derive(Default)]
pub(crate) struct NameCache(HashMap<String, (String, String)>);

impl NameCache {
    const MAX: usize = 200_000;

    /// A name's search form (`names::compact`) and its pinyin keys as the name table holds
    /// them (` zhangwei zw `).
    pub(crate) fn get(&mut self, name: &str) -> &(String, String) {
        if !self.0.contains_key(name) {
            if self.0.len() >= Self::MAX {
                self.0.clear();
            }
            let made = (
                names::compact(&dangan_text::normalize_for_search(name)),
                names::pinyin_cell(&dangan_text::name_keys(name)),
            );
            self.0.insert(name.to_string(), made);
        }
        &self.0[name]
    }
}

/// key → (commit version, its last state: (batch, row), or `None` when deleted).
pub(crate) type LastStates = HashMap<String, (i64, Option<(usize, usize)>)>;

/// The cells of a batch the index reads (see `SearchIndex::cells`).
pub(crate) struct Cells {
    pub(crate) keys: Vec<String>,
    pub(crate) texts: Vec<Option<Arc<dyn Array>>>,
    pub(crate) member: Option<Arc<dyn Array>>,
    pub(crate) org: Option<Arc<dyn Array>>,
    pub(crate) category: Option<Arc<dyn Array>>,
    pub(crate) name: Option<Arc<dyn Array>>,
    pub(crate) days: Option<Vec<Option<i64>>>,
}

/// Row `i` of a string column cast to `Utf8`, if the column is there and the value not null.
pub(crate) fn text_at(a: &Option<Arc<dyn Array>>, i: usize) -> Option<&str> {
    let s = a.as_ref()?.as_string::<i32>();
    (!s.is_null(i)).then(|| s.value(i))
}

/// The table versions the index was last brought to.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct State {
    /// [`FORMAT`] of the index that wrote it (0: before formats were written).
    #[serde(default)]
    pub(crate) format: u32,
    pub(crate) versions: BTreeMap<String, i64>,
    /// A fingerprint of every member's branch when documents last borrowed it (documents
    /// without a branch of their own are re-read when a member moves).
    #[serde(default)]
    pub(crate) member_orgs: Option<u64>,
    /// The name table of each people dataset: its file under `names/` (see `names`).
    #[serde(default)]
    pub(crate) names: BTreeMap<String, String>,
    /// The rows of each name table (what `status` says without reading it).
    #[serde(default)]
    pub(crate) name_rows: BTreeMap<String, u64>,
}

impl State {
    /// Whether the name table the state names for a dataset is there.
    pub(crate) fn holds_names(&self, dataset: &str, names_dir: &Path) -> bool {
        self.names
            .get(dataset)
            .is_some_and(|f| names_dir.join(f).exists())
    }

    /// Whether the index holds a dataset's table as it is (see `versions_in_step`), a people
    /// dataset's name table included.
    pub(crate) fn in_step(&self, src: &Source, table: Option<i64>, names_dir: &Path) -> bool {
        let indexed = self.versions.get(&src.dataset).copied();
        versions_in_step(table, indexed)
            && (!src.name_only() || indexed.is_none() || self.holds_names(&src.dataset, names_dir))
    }
}

/// Whether the index holds a table as it is: built from its version, or the table is the
/// empty one `init` made (version 0) and the index never saw it.
pub(crate) fn versions_in_step(table: Option<i64>, indexed: Option<i64>) -> bool {
    table == indexed || (indexed.is_none() && table.is_none_or(|v| v == 0))
}

impl SearchIndex {
    pub(crate) fn state(&self) -> Result<State> {
        let path = self.dir.join(STATE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(s) => serde_json::from_str(&s).map_err(|e| Error::State {
                path,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(Error::State {
                path,
                message: e.to_string(),
            }),
        }
    }

    pub(crate) fn save_state(&self, state: &mut State) -> Result<()> {
        state.format = FORMAT;
        let path = self.dir.join(STATE_FILE);
        let tmp = self.dir.join(format!("{STATE_FILE}.tmp"));
        let err = |e: std::io::Error| Error::State {
            path: path.clone(),
            message: e.to_string(),
        };
        let text = serde_json::to_string_pretty(state).map_err(|e| Error::State {
            path: path.clone(),
            message: e.to_string(),
        })?;
        std::fs::write(&tmp, text).map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)
    }

    /// Bring the index in step with the tables: every dataset whose table moved to a new
    /// version since the last sync is re-read and its documents replaced, in one index commit
    /// (a crash leaves the previous index and state). `rebuild`: every dataset, from nothing.
    pub async fn sync(
        &self,
        lake: &Lake,
        rebuild: bool,
        progress: &(dyn Fn(&str, u64) + Sync),
    ) -> Result<SyncReport> {
        let started = std::time::Instant::now();
        let mut state = if rebuild {
            State::default()
        } else {
            self.state()?
        };
        // (source, indexed version, read whole)
        let mut todo: Vec<(Source, Option<i64>, bool)> = Vec::new();
        let mut rest = Vec::new();
        let names_dir = self.dir.join(NAMES_DIR);
        for src in sources(lake.registry()) {
            let version = lake.table_version(&src.dataset).await?;
            let indexed = state.versions.get(&src.dataset).copied();
            // A people dataset without its name table (an index made before name tables, or
            // a file lost) is read again.
            let no_table = src.name_only() && !state.holds_names(&src.dataset, &names_dir);
            match version {
                Some(v) if Some(v) != indexed || no_table => todo.push((src, indexed, rebuild)),
                None if indexed.is_some() => todo.push((src, indexed, rebuild)),
                _ => rest.push((src, indexed)),
            }
        }
        if todo.is_empty() && !rebuild {
            return Ok(SyncReport::default());
        }
        // Texts to cut: the dictionary (~100 ms) loads while the tables are opened and read,
        // not on the first indexing thread with the others waiting for it.
        // (A thread that cannot be started leaves the load to the first text.)
        if todo.iter().any(|(s, _, _)| !s.name_only()) {
            let _ = std::thread::Builder::new()
                .name("jieba-load".into())
                .spawn(dangan_text::jieba);
        }
        // Datasets without an org column (growth records) take the member's branch; when a
        // member moved, they are re-read whole.
        let borrows_org = |s: &Source| s.org_id.is_none() && s.member_id.is_some();
        let people = lake.registry().people().map(|p| p.name.clone());
        let members_changed = todo
            .iter()
            .any(|(s, _, _)| Some(&s.dataset) == people.as_ref());
        if members_changed {
            let print = member_orgs_print(lake).await?;
            if state.member_orgs.is_some_and(|p| p != print) {
                for t in todo.iter_mut().filter(|t| borrows_org(&t.0)) {
                    t.2 = true;
                }
                for (src, indexed) in rest {
                    if borrows_org(&src) && indexed.is_some() {
                        todo.push((src, indexed, true));
                    }
                }
            }
            state.member_orgs = Some(print);
        } else if todo.iter().any(|(s, _, _)| borrows_org(s)) && state.member_orgs.is_none() {
            state.member_orgs = Some(member_orgs_print(lake).await?);
        }
        // The member → branch map, read when the first row that borrows a branch comes.
        let mut orgs: Option<HashMap<String, String>> = None;
        let no_orgs = HashMap::new();
        let mut report = SyncReport::default();
        let err = tantivy_err(&self.dir);
        let mut writer: tantivy::IndexWriter<TantivyDocument> =
            self.index.writer(WRITER_BUDGET).map_err(&err)?;
        if rebuild {
            writer.delete_all_documents().map_err(&err)?;
        }
        for (src, indexed, whole) in &todo {
            let cols = src.columns();
            let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
            let (version, n, incremental) = if src.name_only() {
                // Its documents in an index made before name tables go.
                writer.delete_term(Term::from_field_text(self.fields.dataset, &src.dataset));
                let since = indexed.filter(|_| !whole);
                let previous = state.names.get(&src.dataset).cloned();
                if borrows_org(src) && orgs.is_none() {
                    orgs = Some(member_orgs(lake).await?);
                }
                let member_orgs = orgs.as_ref().unwrap_or(&no_orgs);
                let made = self
                    .write_names(lake, src, &cols, member_orgs, progress, since, previous)
                    .await?;
                match made {
                    Some((version, n, file, rows, incremental)) => {
                        state.names.insert(src.dataset.clone(), file);
                        state.name_rows.insert(src.dataset.clone(), rows);
                        (version, n, incremental)
                    }
                    None => {
                        state.names.remove(&src.dataset);
                        state.name_rows.remove(&src.dataset);
                        state.versions.remove(&src.dataset);
                        continue;
                    }
                }
            } else if let Some(from) = indexed.filter(|_| !whole)
                && let Some((version, changes)) =
                    lake.changes_since(&src.dataset, from, &cols).await?
            {
                if borrows_org(src) && orgs.is_none() && changes.iter().any(|b| b.num_rows() > 0) {
                    orgs = Some(member_orgs(lake).await?);
                }
                let member_orgs = orgs.as_ref().unwrap_or(&no_orgs);
                let n = self.apply_changes(&mut writer, src, &changes, member_orgs)?;
                (version, n, true)
            } else {
                writer.delete_term(Term::from_field_text(self.fields.dataset, &src.dataset));
                let Some((version, mut stream)) = lake.scan_stream(&src.dataset, &cols).await?
                else {
                    state.versions.remove(&src.dataset);
                    continue;
                };
                let mut n = 0u64;
                let mut names = NameCache::default();
                while let Some(batch) = stream.next().await {
                    let batch = batch.map_err(|e| Error::Read {
                        table: src.dataset.clone(),
                        message: e.to_string(),
                    })?;
                    if borrows_org(src) && orgs.is_none() && batch.num_rows() > 0 {
                        orgs = Some(member_orgs(lake).await?);
                    }
                    let member_orgs = orgs.as_ref().unwrap_or(&no_orgs);
                    for doc in self.documents(src, &batch, member_orgs, &mut names)? {
                        writer.add_document(doc).map_err(&err)?;
                        n += 1;
                    }
                    progress(&src.dataset, n);
                }
                (version, n, false)
            };
            progress(&src.dataset, n);
            state.versions.insert(src.dataset.clone(), version);
            report.documents += n;
            report.datasets.push(DatasetSync {
                dataset: src.dataset.clone(),
                from_version: *indexed,
                to_version: version,
                documents: n,
                incremental,
            });
        }
        writer.commit().map_err(&err)?;
        writer.wait_merging_threads().map_err(&err)?;
        self.merge_worn_segments();
        self.save_state(&mut state)?;
        self.reader.reload().map_err(&err)?;
        self.load_names(&state);
        // Name tables no state names any more (a crash between a table's write and the
        // state's leaves one too).
        if let Ok(files) = std::fs::read_dir(&names_dir) {
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().to_string();
                if !state.names.values().any(|kept| *kept == name) {
                    let _ = std::fs::remove_file(f.path());
                }
            }
        }
        report.millis = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// A people dataset's new name table file: its version, rows read (or keys changed),
    /// file name, rows held and whether only the changes were read; `None` when the table is gone. With
    /// `since` and the `previous` table's file, the rows changed since that version replace
    /// theirs in a copy of it (the change data feed); otherwise the table is read whole.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn write_names(
        &self,
        lake: &Lake,
        src: &Source,
        cols: &[&str],
        member_orgs: &HashMap<String, String>,
        progress: &(dyn Fn(&str, u64) + Sync),
        since: Option<i64>,
        previous: Option<String>,
    ) -> Result<Option<(i64, u64, String, u64, bool)>> {
        let dir = self.dir.join(NAMES_DIR);
        let read_err = |message: String| Error::Read {
            table: src.dataset.clone(),
            message,
        };
        let mut parts = Vec::new();
        // The previous table: as this process holds it, else from its file.
        let old = previous.and_then(|file| {
            let loaded = self.names.read().ok().and_then(|n| n.clone());
            let held = loaded.filter(|l| l.files.get(&src.dataset) == Some(&file));
            match held.and_then(|l| l.tables.iter().find(|t| t.dataset == src.dataset).cloned()) {
                Some(t) => Some(t),
                None => NameTable::read(&src.dataset, &dir.join(&file))
                    .ok()
                    .map(Arc::new),
            }
        });
        // From the change feed when there is a table to change (into an empty one, reading
        // the table whole costs less than keeping track of every key).
        let changed = match (since, old) {
            (Some(from), Some(old)) if old.rows() > 0 => lake
                .changes_since(&src.dataset, from, cols)
                .await?
                .map(|c| (c, old)),
            _ => None,
        };
        let (version, n, incremental) = if let Some(((version, changes), old)) = changed {
            let last = self.last_states(src, &changes)?;
            let keys = old.text(names::KEY);
            let untouched: BooleanArray = (0..old.rows())
                .map(|r| Some(!last.contains_key(keys.value(r))))
                .collect();
            parts.push(
                filter_record_batch(old.batch(), &untouched)
                    .map_err(|e| read_err(e.to_string()))?,
            );
            let mut keep: Vec<Vec<bool>> =
                changes.iter().map(|b| vec![false; b.num_rows()]).collect();
            for (b, i) in last.values().filter_map(|(_, row)| *row) {
                keep[b][i] = true;
            }
            let mut last_rows = Vec::new();
            for (batch, keep) in changes.iter().zip(keep) {
                last_rows.push(
                    filter_record_batch(batch, &BooleanArray::from(keep))
                        .map_err(|e| read_err(e.to_string()))?,
                );
            }
            parts.extend(self.name_rows_on_every_core(src, &last_rows, member_orgs)?);
            progress(&src.dataset, last.len() as u64);
            (version, last.len() as u64, true)
        } else {
            let Some((version, mut stream)) = lake.scan_stream(&src.dataset, cols).await? else {
                return Ok(None);
            };
            let mut read = Vec::new();
            while let Some(batch) = stream.next().await {
                read.push(batch.map_err(|e| read_err(e.to_string()))?);
            }
            parts = self.name_rows_on_every_core(src, &read, member_orgs)?;
            let n = parts.iter().map(|p| p.num_rows() as u64).sum();
            progress(&src.dataset, n);
            (version, n, false)
        };
        let file = format!(
            "{}-{version}-{}.arrow",
            src.dataset,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let rows = self.write_name_table(&src.dataset, &parts, &file)?;
        Ok(Some((version, n, file, rows, incremental)))
    }

    /// Write a dataset's name table made of `parts` as `file` under `names/`: its rows.
    pub(crate) fn write_name_table(
        &self,
        dataset: &str,
        parts: &[RecordBatch],
        file: &str,
    ) -> Result<u64> {
        let dir = self.dir.join(NAMES_DIR);
        let path = dir.join(file);
        let names_err = |message: String| Error::Names {
            path: path.clone(),
            message,
        };
        let table = NameTable::new(dataset, parts).map_err(names_err)?;
        std::fs::create_dir_all(&dir)
            .and_then(|_| table.write(&path))
            .map_err(|e| names_err(e.to_string()))?;
        Ok(table.rows() as u64)
    }

    /// Merge the segments whose documents are more than a quarter deleted (a dataset re-read
    /// whole, people moved to a name table): a search steps over a deleted document's
    /// postings as over a live one, and tantivy's merge policy leaves such segments as they
    /// are. Best effort: a merge that fails leaves the index as committed.
    pub(crate) fn merge_worn_segments(&self) {
        let worn: Vec<tantivy::index::SegmentId> = match self.index.searchable_segment_metas() {
            Ok(metas) => metas
                .into_iter()
                .filter(|m| m.max_doc() > 0 && m.num_deleted_docs() * 4 > m.max_doc())
                .map(|m| m.id())
                .collect(),
            Err(_) => return,
        };
        if worn.is_empty() {
            return;
        }
        let merged = self
            .index
            .writer::<TantivyDocument>(WRITER_BUDGET)
            .and_then(|mut w| {
                w.merge(&worn).wait()?;
                w.wait_merging_threads()
            });
        if let Err(e) = merged {
            tracing::warn!("merging {} worn index segments: {e}", worn.len());
        }
    }

    /// Bring the name tables read so far to those the state names (those that did not change
    /// are kept). Tables not read yet are read by the first search (`name_set`).
    pub(crate) fn load_names(&self, state: &State) {
        let Ok(mut names) = self.names.write() else {
            return;
        };
        if let Some(loaded) = names.as_ref()
            && loaded.files != state.names
        {
            let fresh = NameSet::load(&self.dir.join(NAMES_DIR), &state.names, loaded);
            *names = Some(Arc::new(fresh));
        }
    }

    /// The name tables, read on first use (a process that only imports and syncs never reads
    /// them). A state that cannot be read names no table: searches find no people until the
    /// next sync, which says what is wrong with it.
    pub(crate) fn name_set(&self) -> Arc<NameSet> {
        if let Some(n) = self.names.read().ok().and_then(|n| n.clone()) {
            return n;
        }
        let files = self.state().map(|s| s.names).unwrap_or_default();
        let set = Arc::new(NameSet::load(
            &self.dir.join(NAMES_DIR),
            &files,
            &NameSet::default(),
        ));
        if let Ok(mut n) = self.names.write() {
            *n = Some(set.clone());
        }
        set
    }

    /// Each key a change feed touches, with the commit version and row of its last state
    /// ((batch, row) of an insert or update post-image; `None`: deleted). In one commit a
    /// row's new image wins over its old one.
    pub(crate) fn last_states(&self, src: &Source, changes: &[RecordBatch]) -> Result<LastStates> {
        let read_err = |message: String| Error::Read {
            table: src.dataset.clone(),
            message,
        };
        let mut last: HashMap<String, (i64, Option<(usize, usize)>)> = HashMap::new();
        for (b, batch) in changes.iter().enumerate() {
            let keys = self.row_keys(src, batch)?;
            let kind = batch
                .column_by_name("_change_type")
                .and_then(|c| cast(c, &DataType::Utf8).ok())
                .ok_or_else(|| read_err("change feed without _change_type".into()))?;
            let kind = kind.as_string::<i32>();
            let version = batch
                .column_by_name("_commit_version")
                .and_then(|c| cast(c, &DataType::Int64).ok())
                .ok_or_else(|| read_err("change feed without _commit_version".into()))?;
            let version = version.as_primitive::<Int64Type>();
            for (i, key) in keys.into_iter().enumerate() {
                let v = version.value(i);
                let row = match kind.value(i) {
                    "insert" | "update_postimage" => Some((b, i)),
                    _ => None,
                };
                let entry = last.entry(key).or_insert((v, row));
                if v > entry.0 || (v == entry.0 && row.is_some()) {
                    *entry = (v, row);
                }
            }
        }
        Ok(last)
    }

    /// Apply a table's row changes (see `Lake::changes_since`): every key touched loses its
    /// document; the key's last state, when it is a row, gets a new one. In one commit a
    /// row's new image wins over its old one (an overwrite deletes and inserts the same key).
    /// Returns the number of keys touched.
    pub(crate) fn apply_changes(
        &self,
        writer: &mut tantivy::IndexWriter<TantivyDocument>,
        src: &Source,
        changes: &[RecordBatch],
        member_orgs: &HashMap<String, String>,
    ) -> Result<u64> {
        let read_err = |message: String| Error::Read {
            table: src.dataset.clone(),
            message,
        };
        let last = self.last_states(src, changes)?;
        // An index that holds no document of the dataset yet (its first rows, imported since
        // `init`) has nothing to delete: a million delete terms for keys never indexed cost
        // more than the documents themselves. (Looked at after the writer is held, so no
        // other process's commit is missed.)
        self.reader.reload().map_err(tantivy_err(&self.dir))?;
        let searcher = self.reader.searcher();
        let holds_any = searcher
            .search(
                &TermQuery::new(
                    Term::from_field_text(self.fields.dataset, &src.dataset),
                    IndexRecordOption::Basic,
                ),
                &Count,
            )
            .map_err(tantivy_err(&self.dir))?
            > 0;
        let mut keep: Vec<Vec<bool>> = changes.iter().map(|b| vec![false; b.num_rows()]).collect();
        let mut gone = HashSet::new();
        let mut buf = String::new();
        for (key, (_, row)) in &last {
            if holds_any {
                gone.insert(uid::uid_of(&mut buf, &src.dataset, key));
            }
            if let Some((b, i)) = row {
                keep[*b][*i] = true;
            }
        }
        // One delete for every key touched, before their new documents (a delete reaches
        // only documents added before it).
        if !gone.is_empty() {
            writer
                .delete_query(Box::new(uid::UidSetQuery::new(gone)))
                .map_err(tantivy_err(&self.dir))?;
        }
        let mut names = NameCache::default();
        for (batch, keep) in changes.iter().zip(keep) {
            let rows = dangan_datasets::arrow::compute::filter_record_batch(
                batch,
                &dangan_datasets::arrow::array::BooleanArray::from(keep),
            )
            .map_err(|e| read_err(e.to_string()))?;
            for doc in self.documents(src, &rows, member_orgs, &mut names)? {
                writer.add_document(doc).map_err(tantivy_err(&self.dir))?;
            }
        }
        Ok(last.len() as u64)
    }

    /// The document key of each row: the key columns joined by `/`.
    pub(crate) fn row_keys(&self, src: &Source, batch: &RecordBatch) -> Result<Vec<String>> {
        let keys: Vec<Option<Arc<dyn Array>>> = src
            .key
            .iter()
            .map(|k| {
                batch
                    .column_by_name(k)
                    .map(|c| cast(c, &DataType::Utf8))
                    .transpose()
                    .map_err(|e| Error::Read {
                        table: src.dataset.clone(),
                        message: format!("column {k}: {e}"),
                    })
            })
            .collect::<Result<_>>()?;
        if let [one] = keys.as_slice() {
            return Ok((0..batch.num_rows())
                .map(|i| text_at(one, i).unwrap_or("").to_string())
                .collect());
        }
        Ok((0..batch.num_rows())
            .map(|i| {
                keys.iter()
                    .map(|k| text_at(k, i).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect())
    }

    /// The cells of one batch of a source's rows that the index reads, as text (and days).
    pub(crate) fn cells(&self, src: &Source, batch: &RecordBatch) -> Result<Cells> {
        let read_err = |message: String| Error::Read {
            table: src.dataset.clone(),
            message,
        };
        let strings = |name: &str| -> Result<Option<Arc<dyn Array>>> {
            match batch.column_by_name(name) {
                None => Ok(None),
                Some(c) => cast(c, &DataType::Utf8)
                    .map(Some)
                    .map_err(|e| read_err(format!("column {name}: {e}"))),
            }
        };
        let optional = |c: &Option<String>| -> Result<Option<Arc<dyn Array>>> {
            Ok(c.as_deref().map(strings).transpose()?.flatten())
        };
        let days = self.days(src, batch)?;
        Ok(Cells {
            keys: self.row_keys(src, batch)?,
            texts: src.text.iter().map(|k| strings(k)).collect::<Result<_>>()?,
            member: optional(&src.member_id)?,
            org: optional(&src.org_id)?,
            category: optional(&src.category)?,
            name: optional(&src.name)?,
            days,
        })
    }

    /// Each row's day (days since 1970-01-01) by the source's date column, if it has one.
    pub(crate) fn days(
        &self,
        src: &Source,
        batch: &RecordBatch,
    ) -> Result<Option<Vec<Option<i64>>>> {
        let read_err = |message: String| Error::Read {
            table: src.dataset.clone(),
            message,
        };
        Ok(match &src.date {
            None => None,
            Some(DateColumn::Date(c)) => batch
                .column_by_name(c)
                .map(|a| {
                    cast(a, &DataType::Date32)
                        .map(|d| {
                            let d = d.as_primitive::<Date32Type>();
                            (0..d.len())
                                .map(|i| (!d.is_null(i)).then(|| d.value(i) as i64))
                                .collect()
                        })
                        .map_err(|e| read_err(format!("column {c}: {e}")))
                })
                .transpose()?,
            Some(DateColumn::Year(c)) => batch
                .column_by_name(c)
                .map(|a| {
                    cast(a, &DataType::Int64)
                        .map(|y| {
                            let y = y.as_primitive::<Int64Type>();
                            (0..y.len())
                                .map(|i| {
                                    (!y.is_null(i))
                                        .then(|| NaiveDate::from_ymd_opt(y.value(i) as i32, 12, 31))
                                        .flatten()
                                        .map(day_of)
                                })
                                .collect()
                        })
                        .map_err(|e| read_err(format!("column {c}: {e}")))
                })
                .transpose()?,
        })
    }

    /// The rows of a people dataset's name table made from one batch (see `names`): rows
    /// without a name are left out, as they make no document.
    pub(crate) fn name_rows(
        &self,
        src: &Source,
        batch: &RecordBatch,
        member_orgs: &HashMap<String, String>,
        cache: &mut NameCache,
    ) -> Result<RecordBatch> {
        let read_err = |e: dangan_datasets::arrow::error::ArrowError| Error::Read {
            table: src.dataset.clone(),
            message: e.to_string(),
        };
        let strings = |c: &Option<String>| -> Result<Option<Arc<dyn Array>>> {
            c.as_deref()
                .and_then(|c| batch.column_by_name(c))
                .map(|a| cast(a, &DataType::Utf8).map_err(read_err))
                .transpose()
        };
        let Some(name) = strings(&src.name)? else {
            return Ok(RecordBatch::new_empty(names::schema()));
        };
        // Rows without a name make no row.
        let names_in = name.as_string::<i32>();
        let named: BooleanArray = names_in
            .iter()
            .map(|n| Some(n.is_some_and(|n| !n.trim().is_empty())))
            .collect();
        let keep = |a: &dyn Array| filter(a, &named).map_err(read_err);
        let key: Arc<dyn Array> = match src.key.as_slice() {
            [one] => strings(&Some(one.clone()))?.unwrap_or_else(|| {
                Arc::new(dangan_datasets::arrow::array::StringArray::new_null(
                    batch.num_rows(),
                ))
            }),
            _ => Arc::new(dangan_datasets::arrow::array::StringArray::from(
                self.row_keys(src, batch)?,
            )),
        };
        let member = strings(&src.member_id)?;
        let mut org = strings(&src.org_id)?;
        if org.is_none()
            && let Some(m) = &member
        {
            // The member's branch, for a people dataset without one of its own.
            let m = m.as_string::<i32>();
            org = Some(Arc::new(
                m.iter()
                    .map(|m| m.and_then(|m| member_orgs.get(m)).map(String::as_str))
                    .collect::<dangan_datasets::arrow::array::StringArray>(),
            ));
        }
        let category = strings(&src.category)?;
        let days: Arc<dyn Array> = Arc::new(
            self.days(src, batch)?
                .unwrap_or_else(|| vec![None; batch.num_rows()])
                .into_iter()
                .collect::<dangan_datasets::arrow::array::Int64Array>(),
        );
        let null = |a: Option<Arc<dyn Array>>| -> Arc<dyn Array> {
            a.unwrap_or_else(|| {
                Arc::new(dangan_datasets::arrow::array::StringArray::new_null(
                    batch.num_rows(),
                ))
            })
        };
        let mut norm = StringBuilder::new();
        let mut pinyin = StringBuilder::new();
        for n in names_in.iter().flatten().filter(|n| !n.trim().is_empty()) {
            let (compact, keys) = cache.get(n);
            norm.append_value(compact);
            pinyin.append_value(keys);
        }
        RecordBatch::try_new(
            names::schema(),
            vec![
                keep(&key)?,
                keep(&null(member))?,
                keep(&null(org))?,
                keep(&null(category))?,
                keep(&days)?,
                keep(&name)?,
                Arc::new(norm.finish()),
                Arc::new(pinyin.finish()),
            ],
        )
        .map_err(read_err)
    }

    /// The name table rows of a table read whole, made on every core: the rows cut into one
    /// run per core (a name's pinyin keys are most of the work when the names are distinct),
    /// each run with its own cache, the runs' rows kept in table order.
    pub(crate) fn name_rows_on_every_core(
        &self,
        src: &Source,
        batches: &[RecordBatch],
        member_orgs: &HashMap<String, String>,
    ) -> Result<Vec<RecordBatch>> {
        let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per_run = total.div_ceil(cores.clamp(1, 8)).max(1);
        let mut runs: Vec<Vec<RecordBatch>> = vec![Vec::new()];
        let mut in_run = 0;
        for batch in batches {
            let mut at = 0;
            while at < batch.num_rows() {
                if in_run == per_run {
                    runs.push(Vec::new());
                    in_run = 0;
                }
                let take = (batch.num_rows() - at).min(per_run - in_run);
                if let Some(run) = runs.last_mut() {
                    run.push(batch.slice(at, take));
                }
                at += take;
                in_run += take;
            }
        }
        let made: Vec<Result<Vec<RecordBatch>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = runs
                .iter()
                .map(|run| {
                    scope.spawn(move || {
                        let mut cache = NameCache::default();
                        run.iter()
                            .map(|b| self.name_rows(src, b, member_orgs, &mut cache))
                            .collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::Read {
                            table: src.dataset.clone(),
                            message: "a thread making name rows failed".into(),
                        })
                    })
                })
                .collect()
        });
        let mut out = Vec::new();
        for run in made {
            out.extend(run?);
        }
        Ok(out)
    }

    /// The documents of one batch of a source's rows. `names`: the search form and pinyin
    /// keys of the names met so far (a roster repeats names; both are costly to make).
    pub(crate) fn documents(
        &self,
        src: &Source,
        batch: &RecordBatch,
        member_orgs: &HashMap<String, String>,
        names: &mut NameCache,
    ) -> Result<Vec<TantivyDocument>> {
        let f = &self.fields;
        let Cells {
            keys,
            texts,
            member,
            org,
            category,
            name,
            days,
        } = self.cells(src, batch)?;
        let mut docs = Vec::with_capacity(batch.num_rows());
        let mut parts: Vec<&str> = Vec::with_capacity(texts.len());
        let mut buf = String::new();
        for i in 0..batch.num_rows() {
            parts.clear();
            parts.extend(
                texts
                    .iter()
                    .filter_map(|t| text_at(t, i))
                    .filter(|t| !t.trim().is_empty()),
            );
            let body = match parts.as_slice() {
                [] => continue,
                [one] => std::borrow::Cow::Borrowed(*one),
                more => std::borrow::Cow::Owned(more.join("\n")),
            };
            let key = &keys[i];
            let mut doc = TantivyDocument::default();
            uid::add_uid(&mut doc, f.uid, uid::uid_of(&mut buf, &src.dataset, key));
            doc.add_text(f.dataset, &src.dataset);
            doc.add_text(f.key, key);
            let member_id = text_at(&member, i);
            if let Some(m) = member_id {
                doc.add_text(f.member_id, m);
            }
            let org_id = text_at(&org, i).or_else(|| {
                member_id
                    .and_then(|m| member_orgs.get(m))
                    .map(String::as_str)
            });
            if let Some(o) = org_id {
                doc.add_text(f.org_id, o);
            }
            if let Some(c) = text_at(&category, i) {
                doc.add_text(f.category, c);
            }
            if let Some(day) = days.as_ref().and_then(|d| d[i]) {
                doc.add_i64(f.day, day);
                let year = date_of(day).map_or(0, |d| d.year() as i64);
                doc.add_i64(f.year, year);
            }
            if let Some(n) = text_at(&name, i) {
                for k in names.get(n).1.split_whitespace() {
                    doc.add_text(f.pinyin, k);
                }
            }
            let norm = dangan_text::normalize_for_search(&body);
            doc.add_text(f.words, &norm);
            doc.add_text(f.grams, norm);
            doc.add_text(f.body, body);
            docs.push(doc);
        }
        Ok(docs)
    }

    /// Indexed versus table version, and documents, per indexed dataset.
    pub async fn status(&self, lake: &Lake) -> Result<Vec<DatasetStatus>> {
        let state = self.state()?;
        let names_dir = self.dir.join(NAMES_DIR);
        let searcher = self.reader.searcher();
        let err = tantivy_err(&self.dir);
        let mut out = Vec::new();
        for src in sources(lake.registry()) {
            let table_version = lake.table_version(&src.dataset).await?;
            let indexed_version = state.versions.get(&src.dataset).copied();
            let documents = if src.name_only() {
                state.name_rows.get(&src.dataset).copied().unwrap_or(0)
            } else {
                let q = TermQuery::new(
                    Term::from_field_text(self.fields.dataset, &src.dataset),
                    IndexRecordOption::Basic,
                );
                searcher.search(&q, &Count).map_err(&err)? as u64
            };
            out.push(DatasetStatus {
                in_step: state.in_step(&src, table_version, &names_dir),
                dataset: src.dataset,
                table_version,
                indexed_version,
                documents,
            });
        }
        Ok(out)
    }

    /// The datasets whose table is not at the version the index was built from (what
    /// [`SearchIndex::status`] says, without counting documents: a server asks every few
    /// seconds).
    pub async fn behind(&self, lake: &Lake) -> Result<Vec<String>> {
        let state = self.state()?;
        let names_dir = self.dir.join(NAMES_DIR);
        let mut out = Vec::new();
        for src in sources(lake.registry()) {
            let table = lake.table_version(&src.dataset).await?;
            if !state.in_step(&src, table, &names_dir) {
                out.push(src.dataset);
            }
        }
        Ok(out)
    }

    /// Whether every indexed table is at the version the index was built from.
    pub async fn in_step(&self, lake: &Lake) -> Result<bool> {
        Ok(self.behind(lake).await?.is_empty())
    }
}

/// Every member and branch pair of the register of people (rows without either are passed
/// over).
pub(crate) async fn each_member_org(lake: &Lake, mut f: impl FnMut(&str, &str)) -> Result<()> {
    let Some(people) = lake.registry().people().map(|p| p.name.clone()) else {
        return Ok(());
    };
    let Some((_, mut stream)) = lake.scan_stream(&people, &["member_id", "org_id"]).await? else {
        return Ok(());
    };
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| Error::Read {
            table: people.clone(),
            message: e.to_string(),
        })?;
        let conv = |i: usize| cast(batch.column(i), &DataType::Utf8);
        let (Ok(m), Ok(o)) = (conv(0), conv(1)) else {
            continue;
        };
        for (m, o) in m.as_string::<i32>().iter().zip(o.as_string::<i32>()) {
            if let (Some(m), Some(o)) = (m, o) {
                f(m, o);
            }
        }
    }
    Ok(())
}

/// A fingerprint of the member → branch map: the sum of each pair's hash, read from the
/// members table without building the map (the order of the rows does not matter).
pub(crate) async fn member_orgs_print(lake: &Lake) -> Result<u64> {
    // xxh3: a hash whose output is specified, so a print written by one build is read by
    // the next.
    let mut print = 0u64;
    let mut pair = Vec::new();
    each_member_org(lake, |m, o| {
        pair.clear();
        pair.extend_from_slice(m.as_bytes());
        pair.push(0);
        pair.extend_from_slice(o.as_bytes());
        print = print.wrapping_add(xxhash_rust::xxh3::xxh3_64(&pair));
    })
    .await?;
    Ok(print)
}

/// member_id → org_id from the members table.
pub(crate) async fn member_orgs(lake: &Lake) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    each_member_org(lake, |m, o| {
        out.insert(m.to_string(), o.to_string());
    })
    .await?;
    Ok(out)
}
