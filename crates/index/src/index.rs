//! The index itself: open (or create) it under the lake, bring it in step with the tables
//! (`sync`), report where it stands (`status`) and answer queries (`search`).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use dangan_datasets::Lake;
use dangan_datasets::arrow::array::BooleanArray;
use dangan_datasets::arrow::array::StringBuilder;
use dangan_datasets::arrow::array::{Array, AsArray, RecordBatch};
use dangan_datasets::arrow::compute::{cast, filter, filter_record_batch};
use dangan_datasets::arrow::datatypes::{DataType, Date32Type, Int64Type};
use futures::StreamExt;
use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::columnar::Column;
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    BooleanQuery, ConstScoreQuery, EnableScoring, Occur, PhraseQuery, Query, RangeQuery,
    RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, DocId, DocSet, Index, IndexReader, ReloadPolicy, Score, SeekDangerResult,
    TantivyDocument, Term,
};

use crate::error::{Error, Result};
use crate::names::{self, NameQuery, NameSet, NameTable};
use crate::query::{Item, Parsed, parse};
use crate::schema::{self, BIGRAM, Fields, JIEBA};
use crate::sources::{DateColumn, Source, sources};
use crate::tokenizer::{BigramTokenizer, JiebaTokenizer, bigrams};

const STATE_FILE: &str = "dangan-state.json";
/// The layout of the index this version writes and reads: the tantivy schema, the name
/// tables and the state file. 2: the member → branch fingerprint is xxh3 (stable), the state
/// names its format. Another format is refused with what to do, never wiped silently.
pub const FORMAT: u32 = 2;
/// Where the people datasets' name tables are kept, under the index.
const NAMES_DIR: &str = "names";
/// Memory for the index writer, shared by its threads.
const WRITER_BUDGET: usize = 256 << 20;

use crate::request::Scopes;

/// The search index of a lake.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    fields: Fields,
    reader: IndexReader,
    jieba: JiebaTokenizer,
    cache: std::sync::Mutex<ResultCache>,
    /// Day columns by segment (see [`SearchIndex::day_column`]).
    days: std::sync::Mutex<HashMap<tantivy::index::SegmentId, Option<Column<i64>>>>,
    /// The people datasets' name tables (see `names`).
    names: std::sync::RwLock<Option<Arc<NameSet>>>,
}

/// The search form and pinyin keys of names already met in one sync (bounded: a roster of
/// unique names does not grow it past [`NameCache::MAX`]).
#[derive(Default)]
struct NameCache(HashMap<String, (String, String)>);

impl NameCache {
    const MAX: usize = 200_000;

    /// A name's search form (`names::compact`) and its pinyin keys as the name table holds
    /// them (` zhangwei zw `).
    fn get(&mut self, name: &str) -> &(String, String) {
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
type LastStates = HashMap<String, (i64, Option<(usize, usize)>)>;

/// A match: a document of the index, or a row of a name table (table, row).
enum Found {
    Doc(DocAddress),
    Name(usize, usize),
}

/// A person found in a name table, as a result.
fn name_hit(table: &NameTable, row: usize, score: f32, needles: &[String]) -> Hit {
    Hit {
        dataset: table.dataset.clone(),
        key: table.cell(names::KEY, row).unwrap_or_default().to_string(),
        member_id: table.cell(names::MEMBER, row).map(str::to_string),
        org_id: table.cell(names::ORG, row).map(str::to_string),
        date: table.day_at(row).and_then(date_of).map(|d| d.to_string()),
        score,
        snippet: crate::snippet::snippet(table.cell(names::BODY, row).unwrap_or_default(), needles),
    }
}

/// The cells of a batch the index reads (see `SearchIndex::cells`).
struct Cells {
    keys: Vec<String>,
    texts: Vec<Option<Arc<dyn Array>>>,
    member: Option<Arc<dyn Array>>,
    org: Option<Arc<dyn Array>>,
    category: Option<Arc<dyn Array>>,
    name: Option<Arc<dyn Array>>,
    days: Option<Vec<Option<i64>>>,
}

/// Row `i` of a string column cast to `Utf8`, if the column is there and the value not null.
fn text_at(a: &Option<Arc<dyn Array>>, i: usize) -> Option<&str> {
    let s = a.as_ref()?.as_string::<i32>();
    (!s.is_null(i)).then(|| s.value(i))
}

/// What a searcher sees: its segments and their deletes (a reload that found nothing new
/// keeps it; a commit changes it).
fn contents(searcher: &tantivy::Searcher) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (id, opstamp) in searcher.generation().segments() {
        id.uuid_string().hash(&mut h);
        opstamp.hash(&mut h);
    }
    h.finish()
}

/// Results of recent searches, valid while the index holds what it held when they were
/// computed (see `contents`). The first-in goes first when full.
#[derive(Default)]
struct ResultCache {
    capacity: usize,
    map: HashMap<SearchRequest, (u64, SearchResult)>,
    order: std::collections::VecDeque<SearchRequest>,
}

impl ResultCache {
    fn get(&self, key: &SearchRequest, generation: u64) -> Option<SearchResult> {
        self.map
            .get(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, r)| r.clone())
    }

    fn put(&mut self, key: SearchRequest, generation: u64, result: &SearchResult) {
        if self.capacity == 0 {
            return;
        }
        if self
            .map
            .insert(key.clone(), (generation, result.clone()))
            .is_none()
        {
            self.order.push_back(key);
        }
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }
}

/// The table versions the index was last brought to.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct State {
    /// [`FORMAT`] of the index that wrote it (0: before formats were written).
    #[serde(default)]
    format: u32,
    versions: BTreeMap<String, i64>,
    /// A fingerprint of every member's branch when documents last borrowed it (documents
    /// without a branch of their own are re-read when a member moves).
    #[serde(default)]
    member_orgs: Option<u64>,
    /// The name table of each people dataset: its file under `names/` (see `names`).
    #[serde(default)]
    names: BTreeMap<String, String>,
    /// The rows of each name table (what `status` says without reading it).
    #[serde(default)]
    name_rows: BTreeMap<String, u64>,
}

impl State {
    /// Whether the name table the state names for a dataset is there.
    fn holds_names(&self, dataset: &str, names_dir: &Path) -> bool {
        self.names
            .get(dataset)
            .is_some_and(|f| names_dir.join(f).exists())
    }

    /// Whether the index holds a dataset's table as it is (see `versions_in_step`), a people
    /// dataset's name table included.
    fn in_step(&self, src: &Source, table: Option<i64>, names_dir: &Path) -> bool {
        let indexed = self.versions.get(&src.dataset).copied();
        versions_in_step(table, indexed)
            && (!src.name_only() || indexed.is_none() || self.holds_names(&src.dataset, names_dir))
    }
}

/// What one dataset's sync did.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetSync {
    pub dataset: String,
    pub from_version: Option<i64>,
    pub to_version: i64,
    /// Documents written (re-read whole) or rows changed (incremental).
    pub documents: u64,
    /// Only the rows changed since `from_version` were applied (the change data feed).
    pub incremental: bool,
}

/// A request made into queries: what it matches (unscored) and how matches rank.
pub(crate) struct Plan {
    pub parsed: Parsed,
    pub matcher: Box<dyn Query>,
    pub ranker: Option<Ranking>,
}

/// How matches rank: a flat query of terms (see `rank_query`).
pub(crate) struct Ranking {
    pub query: Box<dyn Query>,
    /// The ranking's best documents are expected to fail the match often (a filter left out
    /// of it): check each as it comes rather than a pool after.
    pub check_as_ranked: bool,
}

/// What `sync` did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SyncReport {
    pub datasets: Vec<DatasetSync>,
    pub documents: u64,
    pub millis: u64,
}

/// Where one dataset's part of the index stands.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetStatus {
    pub dataset: String,
    pub table_version: Option<i64>,
    pub indexed_version: Option<i64>,
    pub documents: u64,
    pub in_step: bool,
}

/// Whether the index holds a table as it is: built from its version, or the table is the
/// empty one `init` made (version 0) and the index never saw it.
fn versions_in_step(table: Option<i64>, indexed: Option<i64>) -> bool {
    table == indexed || (indexed.is_none() && table.is_none_or(|v| v == 0))
}

/// A search, as the CLI, SQL and the API ask it (and the key of its cached result).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SearchRequest {
    pub query: String,
    /// Only these datasets (empty: all).
    pub datasets: Vec<String>,
    /// Only rows of these organizations (a sub-tree, resolved by the caller).
    pub orgs: Option<Vec<String>>,
    /// What a department may read: only these datasets, each limited to the rows of these
    /// organizations (`None`: all its rows). `None`: everything (the administrator).
    pub scopes: Option<Scopes>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub category: Option<String>,
    pub limit: usize,
    pub offset: usize,
    /// Compute the facets (reads the fast fields of every match); without them the matches are
    /// still counted for `total`, and only the top hits are ranked (block-max pruning).
    pub facets: bool,
}

/// One result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub dataset: String,
    pub key: String,
    pub member_id: Option<String>,
    pub org_id: Option<String>,
    pub date: Option<String>,
    pub score: f32,
    /// HTML: escaped text with the matches in `<mark>`.
    pub snippet: String,
}

/// Counts of all matches (not only the page shown), per dataset, organization and year.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Facets {
    pub dataset: BTreeMap<String, u64>,
    pub org: BTreeMap<String, u64>,
    pub year: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    pub total: usize,
    pub hits: Vec<Hit>,
    pub facets: Facets,
}

fn tantivy_err(dir: &Path) -> impl Fn(tantivy::TantivyError) -> Error + '_ {
    move |source| Error::Tantivy {
        path: dir.to_path_buf(),
        source,
    }
}

/// The day number the index keeps for a date (days since 1970-01-01, chrono's epoch days).
pub(crate) fn day_of(d: NaiveDate) -> i64 {
    i64::from(d.to_epoch_days())
}

/// The date of a day number the index keeps.
pub(crate) fn date_of(day: i64) -> Option<NaiveDate> {
    i32::try_from(day).ok().and_then(NaiveDate::from_epoch_days)
}

impl SearchIndex {
    /// Open the index under the lake, creating it when there is none. An index of another
    /// `FORMAT` (written by another version of dangan) is refused with what to do:
    /// [`SearchIndex::recreate`] (`dangan index rebuild`).
    pub fn open(lake: &Lake) -> Result<SearchIndex> {
        let dir = lake.dir().join("index");
        Self::open_dir(&dir)
    }

    /// An empty index in place of whatever is under the lake (any format), for a rebuild.
    pub fn recreate(lake: &Lake) -> Result<SearchIndex> {
        let dir = lake.dir().join("index");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| tantivy_err(&dir)(e.into()))?;
        }
        Self::open_dir(&dir)
    }

    fn open_dir(dir: &Path) -> Result<SearchIndex> {
        let err = tantivy_err(dir);
        let format_of = |found: String| Error::Format {
            path: dir.to_path_buf(),
            found,
            expected: FORMAT,
        };
        if let Ok(text) = std::fs::read_to_string(dir.join(STATE_FILE)) {
            let found = serde_json::from_str::<State>(&text).map_or(0, |s| s.format);
            if found != FORMAT {
                return Err(format_of(found.to_string()));
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| err(e.into()))?;
        let (schema, fields) = schema::build();
        let mut index = MmapDirectory::open(dir)
            .map_err(|e| err(e.into()))
            .and_then(|d| Index::open_or_create(d, schema.clone()).map_err(&err))
            .map_err(|e| format_of(format!("unreadable ({e})")))?;
        // Searches run over the segments on every core.
        index.set_default_multithread_executor().map_err(&err)?;
        index
            .tokenizers()
            .register(JIEBA, TextAnalyzer::from(JiebaTokenizer));
        index
            .tokenizers()
            .register(BIGRAM, TextAnalyzer::from(BigramTokenizer));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(&err)?;
        let index = SearchIndex {
            dir: dir.to_path_buf(),
            index,
            fields,
            reader,
            jieba: JiebaTokenizer,
            cache: std::sync::Mutex::new(ResultCache::default()),
            days: std::sync::Mutex::new(HashMap::new()),
            names: Default::default(),
        };
        Ok(index)
    }

    fn state(&self) -> Result<State> {
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

    fn save_state(&self, state: &mut State) -> Result<()> {
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
    async fn write_names(
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
    fn write_name_table(&self, dataset: &str, parts: &[RecordBatch], file: &str) -> Result<u64> {
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
    fn merge_worn_segments(&self) {
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
    fn load_names(&self, state: &State) {
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
    fn name_set(&self) -> Arc<NameSet> {
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
    fn last_states(&self, src: &Source, changes: &[RecordBatch]) -> Result<LastStates> {
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
    fn apply_changes(
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
        for (key, (_, row)) in &last {
            if holds_any {
                writer.delete_term(Term::from_field_text(
                    self.fields.uid,
                    &format!("{}\u{1f}{key}", src.dataset),
                ));
            }
            if let Some((b, i)) = row {
                keep[*b][*i] = true;
            }
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
    fn row_keys(&self, src: &Source, batch: &RecordBatch) -> Result<Vec<String>> {
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
    fn cells(&self, src: &Source, batch: &RecordBatch) -> Result<Cells> {
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
    fn days(&self, src: &Source, batch: &RecordBatch) -> Result<Option<Vec<Option<i64>>>> {
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
    fn name_rows(
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
    fn name_rows_on_every_core(
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
    fn documents(
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
            doc.add_text(f.uid, format!("{}\u{1f}{key}", src.dataset));
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

    /// Whether every indexed table is at the version the index was built from.
    pub async fn in_step(&self, lake: &Lake) -> Result<bool> {
        let state = self.state()?;
        let names_dir = self.dir.join(NAMES_DIR);
        for src in sources(lake.registry()) {
            let table = lake.table_version(&src.dataset).await?;
            if !state.in_step(&src, table, &names_dir) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The substring query for normalized text: its bigrams as a phrase.
    fn grams_query(&self, norm: &str) -> Option<Box<dyn Query>> {
        let grams = bigrams(norm, true);
        let field = self.fields.grams;
        match grams.as_slice() {
            [] => None,
            [(t, _)] if t.chars().count() == 1 && t.chars().all(dangan_text::is_cjk) => {
                // One character: any pair that starts with it, or it ending a run.
                RegexQuery::from_pattern(&format!("{}.?", regex_escape(t)), field)
                    .ok()
                    .map(|q| Box::new(q) as Box<dyn Query>)
            }
            [(t, _)] => Some(Box::new(TermQuery::new(
                Term::from_field_text(field, t),
                IndexRecordOption::WithFreqs,
            ))),
            many => Some(Box::new(PhraseQuery::new_with_offset(
                many.iter()
                    .map(|(t, p)| (*p, Term::from_field_text(field, t)))
                    .collect(),
            ))),
        }
    }

    /// What an item matches: the text holds it (its bigrams as a phrase); a word of Latin
    /// letters may also be the pinyin of a name.
    fn item_query(&self, item: &Item) -> Option<Box<dyn Query>> {
        let norm = dangan_text::normalize_for_search(&squeeze(item.text()));
        let exact = self.grams_query(&norm)?;
        match item {
            Item::Phrase(_) => Some(exact),
            Item::Word(w) => match dangan_text::pinyin_query(w) {
                Some(py) => Some(Box::new(BooleanQuery::union(vec![
                    exact,
                    self.pinyin_query(&py),
                ]))),
                None => Some(exact),
            },
        }
    }

    /// The terms an item is ranked by: its jieba words and its bigrams (and the pinyin key
    /// of a Latin word), or `None` when a text can match the item without holding any of
    /// them (one Chinese character, found by a pattern).
    fn item_rank_terms(&self, item: &Item, out: &mut Vec<Term>) -> Option<()> {
        let norm = dangan_text::normalize_for_search(&squeeze(item.text()));
        let grams = bigrams(&norm, true);
        if let [(t, _)] = grams.as_slice()
            && t.chars().count() == 1
            && t.chars().all(dangan_text::is_cjk)
        {
            return None;
        }
        let f = &self.fields;
        out.extend(grams.iter().map(|(t, _)| Term::from_field_text(f.grams, t)));
        out.extend(
            dangan_text::segment(&norm)
                .iter()
                .map(|w| Term::from_field_text(f.words, w)),
        );
        if let Item::Word(w) = item
            && let Some(py) = dangan_text::pinyin_query(w)
        {
            out.push(Term::from_field_text(f.pinyin, &py));
        }
        Some(())
    }

    /// An excluded item: texts holding every bigram of it. (Not a phrase: tantivy's exclusion
    /// seeks a phrase scorer backwards, which it does not support; for the short words people
    /// exclude, every bigram present is as good as the substring.)
    fn exclusion_query(&self, item: &Item) -> Option<Box<dyn Query>> {
        let norm = dangan_text::normalize_for_search(&squeeze(item.text()));
        let grams = bigrams(&norm, true);
        if grams.len() <= 1 {
            return self.grams_query(&norm);
        }
        Some(Box::new(BooleanQuery::intersection(
            grams
                .iter()
                .map(|(t, _)| {
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.grams, t),
                        IndexRecordOption::Basic,
                    )) as Box<dyn Query>
                })
                .collect(),
        )))
    }

    fn pinyin_query(&self, py: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(self.fields.pinyin, py),
            IndexRecordOption::Basic,
        ))
    }

    /// The documents of one dataset.
    fn dataset_query(&self, dataset: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(self.fields.dataset, dataset),
            IndexRecordOption::Basic,
        ))
    }

    /// What a request matches, unscored: every group, no exclusion, every filter.
    fn match_query(
        &self,
        searcher: &tantivy::Searcher,
        parsed: &Parsed,
        req: &SearchRequest,
    ) -> Result<Box<dyn Query>> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for group in &parsed.groups {
            let alts: Vec<Box<dyn Query>> =
                group.iter().filter_map(|i| self.item_query(i)).collect();
            if alts.is_empty() {
                return Err(Error::Query(format!(
                    "“{}”中没有可查找的字词 (nothing searchable in it)",
                    group
                        .iter()
                        .map(Item::text)
                        .collect::<Vec<_>>()
                        .join(" OR ")
                )));
            }
            clauses.push((Occur::Must, Box::new(BooleanQuery::union(alts))));
        }
        for item in &parsed.excluded {
            if let Some(q) = self.exclusion_query(item) {
                clauses.push((Occur::MustNot, q));
            }
        }
        let mut main: Box<dyn Query> = Box::new(BooleanQuery::new(clauses));
        // `zhang wei`: the words together are a name's pinyin.
        if parsed.groups.len() > 1
            && let Some(py) = dangan_text::pinyin_query(&req.query)
        {
            main = Box::new(BooleanQuery::union(vec![main, self.pinyin_query(&py)]));
        }
        let mut all: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, main)];
        if !req.datasets.is_empty() {
            // Term queries, not a term set: a term set's scorer first marks every document
            // of its terms in a bitset (3M for growth records: 40% of a two-word search), a
            // term query's postings are read only where the other clauses lead.
            let mut datasets: Vec<Box<dyn Query>> =
                req.datasets.iter().map(|d| self.dataset_query(d)).collect();
            let datasets = match datasets.len() {
                1 => datasets.remove(0),
                _ => Box::new(BooleanQuery::union(datasets)),
            };
            all.push((Occur::Must, datasets));
        }
        if let Some(scopes) = req
            .scopes
            .as_ref()
            .filter(|s| !self.scopes_pass_all(searcher, s))
        {
            let per_dataset: Vec<Box<dyn Query>> = scopes
                .iter()
                .map(|scope| {
                    let dataset = self.dataset_query(&scope.dataset);
                    match &scope.orgs {
                        None => dataset,
                        Some(orgs) => Box::new(BooleanQuery::intersection(vec![
                            dataset,
                            Box::new(TermSetQuery::new(
                                orgs.iter().map(|o| Term::from_field_text(f.org_id, o)),
                            )),
                        ])),
                    }
                })
                .collect();
            all.push((
                Occur::Must,
                if per_dataset.is_empty() {
                    Box::new(tantivy::query::EmptyQuery)
                } else {
                    Box::new(BooleanQuery::union(per_dataset))
                },
            ));
        }
        if let Some(orgs) = &req.orgs {
            all.push((
                Occur::Must,
                Box::new(TermSetQuery::new(
                    orgs.iter().map(|o| Term::from_field_text(f.org_id, o)),
                )),
            ));
        }
        if req.from.is_some() || req.to.is_some() {
            let bound = |d: Option<NaiveDate>| match d {
                Some(d) => Bound::Included(Term::from_field_i64(f.day, day_of(d))),
                None => Bound::Unbounded,
            };
            all.push((
                Occur::Must,
                Box::new(RangeQuery::new(bound(req.from), bound(req.to))),
            ));
        }
        if let Some(c) = &req.category {
            all.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.category, c),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        Ok(Box::new(BooleanQuery::new(all)))
    }

    /// Whether a department's scopes let every document of the index through (scope all on
    /// every dataset the searcher's segments hold): then they filter nothing, and checking
    /// each candidate against a union of every dataset's term would be work for nothing.
    fn scopes_pass_all(&self, searcher: &tantivy::Searcher, scopes: &Scopes) -> bool {
        let open: std::collections::HashSet<&str> = scopes
            .iter()
            .filter(|s| s.reads_all())
            .map(|s| s.dataset.as_str())
            .collect();
        searcher.segment_readers().iter().all(|reader| {
            let Ok(inverted) = reader.inverted_index(self.fields.dataset) else {
                return false;
            };
            let Ok(mut terms) = inverted.terms().stream() else {
                return false;
            };
            while terms.advance() {
                if !std::str::from_utf8(terms.key()).is_ok_and(|d| open.contains(d)) {
                    return false;
                }
            }
            true
        })
    }

    /// A segment's day column (opening one reads the headers of its blocks: kept per
    /// segment while the segment lives).
    fn day_column(&self, reader: &tantivy::SegmentReader) -> Option<Column<i64>> {
        let id = reader.segment_id();
        let mut days = self.days.lock().ok()?;
        if let Some(c) = days.get(&id) {
            return c.clone();
        }
        if days.len() > 256 {
            days.clear();
        }
        let column = reader.fast_fields().i64("day").ok();
        days.insert(id, column.clone());
        column
    }

    /// The ranking of a request, a flat query of terms that tantivy ranks with block-max
    /// pruning. When every group is one item without alternatives (the usual query), every
    /// match holds every item: the ranking is the intersection of each item's rarest bigram,
    /// BM25 of how often a text holds each item. Otherwise it is the union of every
    /// item's bigrams, jieba words and pinyin keys. `None` when some match might hold none
    /// of the terms (one Chinese character, found by a pattern).
    fn rank_query(
        &self,
        searcher: &tantivy::Searcher,
        parsed: &Parsed,
        req: &SearchRequest,
    ) -> Option<Ranking> {
        let f = &self.fields;
        let spelled = parsed.groups.len() > 1 && dangan_text::pinyin_query(&req.query).is_some();
        let plain = !spelled
            && parsed.groups.iter().all(|g| match g.as_slice() {
                [Item::Phrase(_)] => true,
                [Item::Word(w)] => dangan_text::pinyin_query(w).is_none(),
                _ => false,
            });
        let mut terms = Vec::new();
        // The documents that hold the rarest term of a plain ranking.
        let mut rarest = u64::MAX;
        if plain {
            let mut items: Vec<(u64, Term)> = Vec::new();
            for item in parsed.positive() {
                let norm = dangan_text::normalize_for_search(&squeeze(item.text()));
                let grams = bigrams(&norm, true);
                if let [(t, _)] = grams.as_slice()
                    && t.chars().count() == 1
                    && t.chars().all(dangan_text::is_cjk)
                {
                    return None;
                }
                // Every match holds the item, so each of its bigrams at least as often as the
                // item: its rarest bigram is the item's own BM25 term (how often the text
                // holds the item, for its length). Summing every bigram would count the item
                // once per bigram and add the other places its commoner bigrams stand (志愿者,
                // 服务中心) — and make block-max pruning walk the commonest bigram's blocks.
                let bigram = grams
                    .iter()
                    .map(|(t, _)| Term::from_field_text(f.grams, t))
                    .map(|t| (searcher.doc_freq(&t).unwrap_or(u64::MAX), t))
                    .min_by_key(|(df, _)| *df);
                items.extend(bigram);
            }
            // An item in over a third of all texts (idf below ln 3: 学习) still has to match,
            // but beside a rarer item it does not weigh in the order — as a common term in
            // Lucene's CommonTermsQuery — and the pruning need not step through its blocks.
            rarest = items.iter().map(|(df, _)| *df).min().unwrap_or(u64::MAX);
            let common = searcher.num_docs() / 3;
            terms.extend(
                items
                    .into_iter()
                    .filter(|(df, _)| *df <= common || *df == rarest)
                    .map(|(_, t)| t),
            );
        } else {
            for item in parsed.positive() {
                self.item_rank_terms(item, &mut terms)?;
            }
            if spelled && let Some(py) = dangan_text::pinyin_query(&req.query) {
                terms.push(Term::from_field_text(f.pinyin, &py));
            }
        }
        terms.sort();
        terms.dedup();
        // Limited to one dataset rarer than the terms: its term leads the ranking, which then
        // walks that dataset's documents only. A larger dataset's term would add a posting
        // list to step through (block-max pruning steps through the blocks of every term):
        // the ranking checks each document against the filter as it comes instead.
        let mut check_as_ranked = false;
        if plain
            && !terms.is_empty()
            && let [d] = req.datasets.as_slice()
        {
            let dataset = Term::from_field_text(f.dataset, d);
            if searcher.doc_freq(&dataset).unwrap_or(u64::MAX) < rarest {
                terms.push(dataset);
            } else {
                check_as_ranked = true;
            }
        }
        let term = |t: Term| -> Box<dyn Query> {
            Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs))
        };
        let query: Option<Box<dyn Query>> = match terms.len() {
            0 => None,
            1 => terms.pop().map(term),
            _ if plain => Some(Box::new(BooleanQuery::intersection(
                terms.into_iter().map(term).collect(),
            ))),
            _ => Some(Box::new(BooleanQuery::union(
                terms.into_iter().map(term).collect(),
            ))),
        };
        query.map(|query| Ranking {
            query,
            check_as_ranked,
        })
    }

    /// The best `need` matches, best first: `(score, day, address)`.
    ///
    /// Fast path: the ranking's top candidates (block-max WAND, which skips whole blocks of
    /// documents that cannot make the top) are checked against the match query one by one
    /// (`seek_danger`: only the candidate's own postings and positions are read); when
    /// enough of them match, they are exactly the top matches, because any other match ranks
    /// below the last candidate. When too few do, the ranking runs again checking each
    /// document that would make its top as it comes, so that only matches raise the bar: one
    /// exact pass (every match holds the ranking's terms). Without a ranking (one Chinese
    /// character) every match is scored. `fast: false` skips the fast path (tests compare).
    pub(crate) fn top_matches(
        &self,
        searcher: &tantivy::Searcher,
        matcher: &dyn Query,
        ranker: Option<&Ranking>,
        need: usize,
        fast: bool,
    ) -> tantivy::Result<Vec<(Score, i64, DocAddress)>> {
        if let Some(ranking) = ranker.filter(|_| fast) {
            let weight = matcher.weight(EnableScoring::disabled_from_searcher(searcher))?;
            let rank_weight = ranking
                .query
                .weight(EnableScoring::enabled_from_searcher(searcher))?;
            let dated = |(score, a): (Score, DocAddress)| {
                let days = self.day_column(searcher.segment_reader(a.segment_ord));
                let day = days.and_then(|c| c.first(a.doc_id));
                (score, day.unwrap_or(i64::MIN), a)
            };
            // A few more than needed, so that equal scores at the edge can go newer first.
            let want = need + 10;
            let mut found = Vec::new();
            let mut exhausted = false;
            // Usually the best-ranked documents match: rank a pool, then check it.
            if !ranking.check_as_ranked {
                let pool = want.max(32);
                let top = top_scored(searcher, rank_weight.as_ref(), pool, None)?;
                exhausted = top.len() < pool;
                let mut by_segment: BTreeMap<u32, Vec<(Score, DocId)>> = BTreeMap::new();
                for (score, a) in top {
                    by_segment
                        .entry(a.segment_ord)
                        .or_default()
                        .push((score, a.doc_id));
                }
                for (seg, mut docs) in by_segment {
                    docs.sort_by_key(|&(_, d)| d);
                    let reader = searcher.segment_reader(seg);
                    let mut check = Checker::new(weight.scorer(reader, 1.0)?);
                    for (score, doc) in docs {
                        if check.matches(doc) {
                            found.push(dated((score, DocAddress::new(seg, doc))));
                        }
                    }
                }
            }
            // Too few of them did: rank again, checking each document as it comes.
            if found.len() < want && !exhausted {
                found = top_scored(searcher, rank_weight.as_ref(), want, Some(weight.as_ref()))?
                    .into_iter()
                    .map(dated)
                    .collect();
            }
            found.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
            found.truncate(need);
            return Ok(found);
        }
        // Every match scored: the ranking as an optional part of the match.
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(ConstScoreQuery::new(matcher.box_clone(), 0.0)),
        )];
        if let Some(r) = ranker {
            clauses.push((Occur::Should, r.query.box_clone()));
        }
        let query = BooleanQuery::new(clauses);
        let top = TopDocs::with_limit(need).tweak_score(move |segment: &tantivy::SegmentReader| {
            let day = segment
                .fast_fields()
                .i64("day")
                .ok()
                .map(|c| c.first_or_default_col(i64::MIN));
            move |doc: DocId, score: Score| {
                (score, day.as_ref().map_or(i64::MIN, |c| c.get_val(doc)))
            }
        });
        Ok(searcher
            .search(&query, &top)?
            .into_iter()
            .map(|((score, day), a)| (score, day, a))
            .collect())
    }

    /// A request's parsed query, what it matches and how it is ranked.
    pub(crate) fn plan(&self, searcher: &tantivy::Searcher, req: &SearchRequest) -> Result<Plan> {
        let parsed = parse(&req.query).map_err(Error::Query)?;
        let matcher = self.match_query(searcher, &parsed, req)?;
        let ranker = self.rank_query(searcher, &parsed, req);
        Ok(Plan {
            parsed,
            matcher,
            ranker,
        })
    }

    #[cfg(test)]
    pub(crate) fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    /// Keep the results of the last `capacity` distinct searches (0: none, the default) for
    /// as long as the index does not change: a server answers a repeated search — the same
    /// words, filters and scope — without searching again.
    pub fn set_cache_capacity(&self, capacity: usize) {
        if let Ok(mut c) = self.cache.lock() {
            c.capacity = capacity;
            if capacity == 0 {
                c.map.clear();
                c.order.clear();
            }
        }
    }

    /// See documents committed since the index was opened or last synced here (by another
    /// process: a pipeline's `index` step).
    pub fn refresh(&self) -> Result<()> {
        self.reader.reload().map_err(tantivy_err(&self.dir))?;
        self.load_names(&self.state()?);
        Ok(())
    }

    /// Where a request's result is kept for what the searcher holds: its key and the
    /// searcher's contents (`None`: no cache — the CLI — so no key, no fingerprint).
    fn cache_slot(
        &self,
        searcher: &tantivy::Searcher,
        req: &SearchRequest,
    ) -> Option<(SearchRequest, u64)> {
        if self.cache.lock().map_or(true, |c| c.capacity == 0) {
            return None;
        }
        Some((req.clone(), contents(searcher) ^ self.name_set().generation))
    }

    /// The result of a search if the cache holds it for what the index holds now (no search
    /// is run): a server answers it at once instead of waiting for a turn to search.
    pub fn cached(&self, req: &SearchRequest) -> Option<SearchResult> {
        let (key, contents) = self.cache_slot(&self.reader.searcher(), req)?;
        self.cache.lock().ok()?.get(&key, contents)
    }

    /// Run a search.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResult> {
        let searcher = self.reader.searcher();
        let Some((key, contents)) = self.cache_slot(&searcher, req) else {
            return self.search_with(&searcher, req);
        };
        if let Some(r) = self.cache.lock().ok().and_then(|c| c.get(&key, contents)) {
            return Ok(r);
        }
        let result = self.search_with(&searcher, req)?;
        if let Ok(mut c) = self.cache.lock() {
            c.put(key, contents, &result);
        }
        Ok(result)
    }

    fn search_with(
        &self,
        searcher: &tantivy::Searcher,
        req: &SearchRequest,
    ) -> Result<SearchResult> {
        let Plan {
            parsed,
            matcher,
            ranker,
        } = self.plan(searcher, req)?;
        let err = tantivy_err(&self.dir);
        let need = req.offset + req.limit.max(1);
        let top = self
            .top_matches(searcher, matcher.as_ref(), ranker.as_ref(), need, true)
            .map_err(&err)?;
        // Every match is counted (the total is never the page's size); the facets only when
        // asked for (they read the fast fields of every match).
        let mut counts = if req.facets {
            searcher
                .search(&matcher, &crate::facets::FacetCounts)
                .map_err(&err)?
        } else {
            crate::facets::Counts {
                total: searcher
                    .search(&matcher, &tantivy::collector::Count)
                    .map_err(&err)? as u64,
                ..Default::default()
            }
        };
        // People found by name, ranked with the texts.
        let names = self.name_set();
        let mut ranked: Vec<(Score, i64, Found)> = top
            .into_iter()
            .map(|(s, d, a)| (s, d, Found::Doc(a)))
            .collect();
        if !names.tables.is_empty() {
            let q = NameQuery::new(&parsed, &req.query);
            let docs = searcher.num_docs() + names.rows();
            for (t, table) in names.tables.iter().enumerate() {
                let (mut found, c) = table.search(&q, req, docs, req.facets);
                counts.add(c);
                if !req.facets {
                    counts.total += found.len() as u64;
                }
                let by_rank = |a: &(f32, i64, u32), b: &(f32, i64, u32)| {
                    b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2))
                };
                if found.len() > need {
                    found.select_nth_unstable_by(need, by_rank);
                    found.truncate(need);
                }
                ranked.extend(
                    found
                        .into_iter()
                        .map(|(s, d, row)| (s, d, Found::Name(t, row as usize))),
                );
            }
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
            ranked.truncate(need);
        }
        let (total, facets) = counts.finish();
        let facets = if req.facets {
            facets
        } else {
            Facets::default()
        };

        let needles: Vec<String> = parsed
            .positive()
            .flat_map(|i| {
                let norm = dangan_text::normalize_for_search(&squeeze(i.text()));
                let mut v = vec![norm.clone()];
                if matches!(i, Item::Word(_)) {
                    v.extend(dangan_text::segment(&norm));
                }
                v
            })
            .collect();
        let mut hits = Vec::with_capacity(ranked.len());
        for (score, _, found) in ranked.into_iter().skip(req.offset) {
            hits.push(match found {
                Found::Doc(addr) => self.hit(searcher, addr, score, &needles).map_err(&err)?,
                Found::Name(t, row) => name_hit(&names.tables[t], row, score, &needles),
            });
        }
        Ok(SearchResult {
            total,
            hits,
            facets,
        })
    }

    fn hit(
        &self,
        searcher: &tantivy::Searcher,
        addr: DocAddress,
        score: f32,
        needles: &[String],
    ) -> tantivy::Result<Hit> {
        let f = &self.fields;
        let doc: TantivyDocument = searcher.doc(addr)?;
        let s = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let date = doc
            .get_first(f.day)
            .and_then(|v| v.as_i64())
            .and_then(date_of)
            .map(|d| d.to_string());
        Ok(Hit {
            dataset: s(f.dataset).unwrap_or_default(),
            key: s(f.key).unwrap_or_default(),
            member_id: s(f.member_id),
            org_id: s(f.org_id),
            date,
            score,
            snippet: crate::snippet::snippet(&s(f.body).unwrap_or_default(), needles),
        })
    }

    /// Index plain texts as documents of a dataset `test`, outside any lake (tests and the
    /// search benchmark, which measure the analyzers and the index without reading tables).
    pub fn add_texts(&self, texts: &[(String, String)]) -> Result<()> {
        self.add_test_documents(texts)
    }

    /// Index names as people of a dataset `test-people` (found by name and pinyin), as
    /// [`SearchIndex::add_texts`] does texts.
    pub fn add_names(&self, names: &[(String, String)]) -> Result<()> {
        use dangan_datasets::arrow::array::StringArray;
        let dataset = "test-people";
        let src = Source {
            dataset: dataset.into(),
            key: vec!["key".into()],
            text: vec!["name".into()],
            name: Some("name".into()),
            member_id: None,
            org_id: None,
            category: None,
            date: None,
        };
        let read_err = |e: dangan_datasets::arrow::error::ArrowError| Error::Read {
            table: dataset.into(),
            message: e.to_string(),
        };
        let batch = RecordBatch::try_from_iter([
            (
                "key",
                Arc::new(
                    names
                        .iter()
                        .map(|(k, _)| Some(k.as_str()))
                        .collect::<StringArray>(),
                ) as Arc<dyn Array>,
            ),
            (
                "name",
                Arc::new(
                    names
                        .iter()
                        .map(|(_, n)| Some(n.as_str()))
                        .collect::<StringArray>(),
                ),
            ),
        ])
        .map_err(read_err)?;
        let rows = self.name_rows(&src, &batch, &HashMap::new(), &mut NameCache::default())?;
        let mut parts: Vec<RecordBatch> = self
            .name_set()
            .tables
            .iter()
            .filter(|t| t.dataset == dataset)
            .map(|t| t.batch().clone())
            .collect();
        parts.push(rows);
        let file = format!("{dataset}-{}.arrow", parts.len());
        let rows = self.write_name_table(dataset, &parts, &file)?;
        let mut state = self.state()?;
        state.names.insert(dataset.into(), file);
        state.name_rows.insert(dataset.into(), rows);
        self.save_state(&mut state)?;
        self.load_names(&state);
        Ok(())
    }

    fn add_test_documents(&self, texts: &[(String, String)]) -> Result<()> {
        let err = tantivy_err(&self.dir);
        let f = &self.fields;
        let dataset = "test";
        let mut writer: tantivy::IndexWriter<TantivyDocument> =
            self.index.writer(WRITER_BUDGET).map_err(&err)?;
        for (key, text) in texts {
            let mut doc = TantivyDocument::default();
            doc.add_text(f.uid, format!("{dataset}\u{1f}{key}"));
            doc.add_text(f.dataset, dataset);
            doc.add_text(f.key, key);
            let norm = dangan_text::normalize_for_search(text);
            doc.add_text(f.words, &norm);
            doc.add_text(f.grams, &norm);
            doc.add_text(f.body, text);
            writer.add_document(doc).map_err(&err)?;
        }
        writer.commit().map_err(&err)?;
        // As `sync` does: the merges it started are part of the build (and of its size).
        writer.wait_merging_threads().map_err(&err)?;
        self.reader.reload().map_err(&err)?;
        Ok(())
    }

    /// An index in a directory of its own (see [`SearchIndex::add_texts`]).
    pub fn open_at(dir: &Path) -> Result<SearchIndex> {
        Self::open_dir(dir)
    }

    /// jieba words of a text, as the index cuts it (for tests and the SQL `segment()`).
    pub fn words(&self, text: &str) -> Vec<String> {
        self.jieba.words(text)
    }
}

/// Checks documents, in increasing order, against a scorer without scoring the documents in
/// between: `seek_danger` reads only the target's postings; after a miss the scorer may be
/// in an invalid state, and only `seek_danger` with a larger target may follow, never a
/// target below the lower bound it returned (or below the document it stands on).
struct Checker {
    scorer: Box<dyn tantivy::query::Scorer>,
    /// No match below this.
    next_possible: DocId,
    /// The scorer stands on a match (`doc()` is valid).
    valid: bool,
}

impl Checker {
    fn new(scorer: Box<dyn tantivy::query::Scorer>) -> Checker {
        Checker {
            scorer,
            next_possible: 0,
            valid: true,
        }
    }

    fn matches(&mut self, target: DocId) -> bool {
        if self.valid {
            let doc = self.scorer.doc();
            if doc >= target {
                return doc == target;
            }
        } else if target < self.next_possible {
            return false;
        }
        match self.scorer.seek_danger(target) {
            SeekDangerResult::Found => {
                self.valid = true;
                true
            }
            SeekDangerResult::SeekLowerBound(lower) => {
                self.valid = false;
                self.next_possible = lower;
                false
            }
        }
    }
}

/// The `k` best-scored documents of a weight that pass the filter, best first (equal scores:
/// the lower address).
///
/// A document is checked against the filter only when its score would make the top so far
/// (`seek_danger`: only its own postings are read), and one that fails does not raise the
/// bar: the top k are exact in one pass, however many of the best-ranked fail.
///
/// Like tantivy's `TopDocs`, with block-max pruning, except that the threshold carries from
/// one segment to the next: `TopDocs` starts every segment from nothing, so a common word
/// scores the blocks of every segment until that segment's own k-th best is found, although
/// the earlier segments already set a bar that most of them cannot pass.
fn top_scored(
    searcher: &tantivy::Searcher,
    weight: &dyn tantivy::query::Weight,
    k: usize,
    filter: Option<&dyn tantivy::query::Weight>,
) -> tantivy::Result<Vec<(Score, DocAddress)>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    if k == 0 {
        return Ok(Vec::new());
    }
    // A min-heap on (score, later address first): its top is the entry to drop.
    let mut heap: BinaryHeap<Reverse<(Ranked, Reverse<DocAddress>)>> = BinaryHeap::new();
    let bar = |heap: &BinaryHeap<Reverse<(Ranked, Reverse<DocAddress>)>>| {
        if heap.len() < k {
            Score::MIN
        } else {
            heap.peek().map_or(Score::MIN, |Reverse((s, _))| s.0)
        }
    };
    for (ord, reader) in searcher.segment_readers().iter().enumerate() {
        let alive = reader.alive_bitset();
        let mut check = match filter {
            Some(f) => Some(Checker::new(f.scorer(reader, 1.0)?)),
            None => None,
        };
        let threshold = bar(&heap);
        weight.for_each_pruning(threshold, reader, &mut |doc, score| {
            if alive.is_none_or(|a| a.is_alive(doc))
                && check.as_mut().is_none_or(|c| c.matches(doc))
            {
                // Called only past the threshold: within a segment, documents come in order,
                // so a tie never displaces an earlier one.
                heap.push(Reverse((
                    Ranked(score),
                    Reverse(DocAddress::new(ord as u32, doc)),
                )));
                if heap.len() > k {
                    heap.pop();
                }
            }
            bar(&heap)
        })?;
    }
    let mut top: Vec<(Score, DocAddress)> = heap
        .into_iter()
        .map(|Reverse((s, Reverse(a)))| (s.0, a))
        .collect();
    top.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    Ok(top)
}

/// A score ordered totally (BM25 scores are never NaN).
#[derive(Clone, Copy, PartialEq)]
struct Ranked(Score);

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Spaces next to a Chinese character are dropped (`"志愿 服务"` is the phrase 志愿服务).
pub(crate) fn squeeze(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, c) in chars.iter().enumerate() {
        if c.is_whitespace() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p));
            let next = chars.get(i + 1);
            if prev.is_some_and(|p| dangan_text::is_cjk(*p))
                || next.is_some_and(|n| dangan_text::is_cjk(*n))
            {
                continue;
            }
        }
        out.push(*c);
    }
    out
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~\"@<>".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// Every member and branch pair of the register of people (rows without either are passed
/// over).
async fn each_member_org(lake: &Lake, mut f: impl FnMut(&str, &str)) -> Result<()> {
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
async fn member_orgs_print(lake: &Lake) -> Result<u64> {
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
async fn member_orgs(lake: &Lake) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    each_member_org(lake, |m, o| {
        out.insert(m.to_string(), o.to_string());
    })
    .await?;
    Ok(out)
}
