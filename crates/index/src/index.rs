//! The index itself: open (or create) it under the lake, bring it in step with the tables
//! (`sync`), report where it stands (`status`) and answer queries (`search`).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use dangan_datasets::Lake;
use dangan_datasets::arrow::array::{Array, AsArray, RecordBatch};
use dangan_datasets::arrow::compute::cast;
use dangan_datasets::arrow::datatypes::{DataType, Date32Type, Int64Type};
use futures::StreamExt;
use serde::Serialize;
use tantivy::aggregation::AggregationCollector;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery, RegexQuery,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

use crate::error::{Error, Result};
use crate::query::{Item, parse};
use crate::schema::{self, BIGRAM, Fields, JIEBA};
use crate::sources::{DateColumn, Source, sources};
use crate::tokenizer::{BigramTokenizer, JiebaTokenizer, bigrams};

const STATE_FILE: &str = "dangan-state.json";
/// Memory for the index writer, shared by its threads.
const WRITER_BUDGET: usize = 256 << 20;

/// The search index of a lake.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    fields: Fields,
    reader: IndexReader,
    jieba: JiebaTokenizer,
}

/// The table versions the index was last brought to.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct State {
    versions: BTreeMap<String, i64>,
}

/// What one dataset's sync did.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetSync {
    pub dataset: String,
    pub from_version: Option<i64>,
    pub to_version: i64,
    pub documents: u64,
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

/// A search, as the CLI, SQL and the API ask it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: String,
    /// Only these datasets (empty: all).
    pub datasets: Vec<String>,
    /// Only rows of these organizations (a sub-tree, resolved by the caller).
    pub orgs: Option<Vec<String>>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub category: Option<String>,
    pub limit: usize,
    pub offset: usize,
    /// Count every match and compute the facets (costs a pass over all matches); without it
    /// only the top hits are ranked (block-max pruning) and `total` is the number returned.
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

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

fn day_of(d: NaiveDate) -> i64 {
    (d - EPOCH).num_days()
}

impl SearchIndex {
    /// Open the index under the lake, creating it when there is none. An index written by an
    /// older layout is recreated empty (the next sync fills it).
    pub fn open(lake: &Lake) -> Result<SearchIndex> {
        let dir = lake.dir().join("index");
        Self::open_dir(&dir)
    }

    fn open_dir(dir: &Path) -> Result<SearchIndex> {
        let err = tantivy_err(dir);
        std::fs::create_dir_all(dir).map_err(|e| err(e.into()))?;
        let (schema, fields) = schema::build();
        let index = match MmapDirectory::open(dir)
            .map_err(|e| err(e.into()))
            .and_then(|d| Index::open_or_create(d, schema.clone()).map_err(&err))
        {
            Ok(i) => i,
            Err(_) => {
                // A different schema (or a broken index): start again.
                std::fs::remove_dir_all(dir).map_err(|e| err(e.into()))?;
                std::fs::create_dir_all(dir).map_err(|e| err(e.into()))?;
                let d = MmapDirectory::open(dir).map_err(|e| err(e.into()))?;
                Index::open_or_create(d, schema).map_err(&err)?
            }
        };
        index
            .tokenizers()
            .register(JIEBA, TextAnalyzer::from(JiebaTokenizer::default()));
        index
            .tokenizers()
            .register(BIGRAM, TextAnalyzer::from(BigramTokenizer));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(&err)?;
        Ok(SearchIndex {
            dir: dir.to_path_buf(),
            index,
            fields,
            reader,
            jieba: JiebaTokenizer::default(),
        })
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

    fn save_state(&self, state: &State) -> Result<()> {
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
        let mut todo = Vec::new();
        for src in sources(lake.registry()) {
            let version = lake.table_version(&src.dataset).await?;
            let indexed = state.versions.get(&src.dataset).copied();
            match version {
                Some(v) if Some(v) != indexed => todo.push((src, indexed)),
                None if indexed.is_some() => todo.push((src, indexed)),
                _ => {}
            }
        }
        let mut report = SyncReport::default();
        if todo.is_empty() && !rebuild {
            return Ok(report);
        }
        let err = tantivy_err(&self.dir);
        let mut writer: tantivy::IndexWriter<TantivyDocument> =
            self.index.writer(WRITER_BUDGET).map_err(&err)?;
        if rebuild {
            writer.delete_all_documents().map_err(&err)?;
        }
        // Datasets without an org column (growth records) take the member's branch.
        let needs_orgs = todo
            .iter()
            .any(|(s, _)| s.org_id.is_none() && s.member_id.is_some());
        let member_orgs = if needs_orgs {
            member_orgs(lake).await?
        } else {
            HashMap::new()
        };
        for (src, indexed) in &todo {
            writer.delete_term(Term::from_field_text(self.fields.dataset, &src.dataset));
            let cols = src.columns();
            let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
            let Some((version, mut stream)) = lake.scan_stream(&src.dataset, &cols).await? else {
                state.versions.remove(&src.dataset);
                continue;
            };
            let mut n = 0u64;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::Read {
                    table: src.dataset.clone(),
                    message: e.to_string(),
                })?;
                for doc in self.documents(src, &batch, &member_orgs)? {
                    writer.add_document(doc).map_err(&err)?;
                    n += 1;
                }
                progress(&src.dataset, n);
            }
            state.versions.insert(src.dataset.clone(), version);
            report.documents += n;
            report.datasets.push(DatasetSync {
                dataset: src.dataset.clone(),
                from_version: *indexed,
                to_version: version,
                documents: n,
            });
        }
        writer.commit().map_err(&err)?;
        writer.wait_merging_threads().map_err(&err)?;
        self.save_state(&state)?;
        self.reader.reload().map_err(&err)?;
        report.millis = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// The documents of one batch of a source's rows.
    fn documents(
        &self,
        src: &Source,
        batch: &RecordBatch,
        member_orgs: &HashMap<String, String>,
    ) -> Result<Vec<TantivyDocument>> {
        let f = &self.fields;
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
        let text_of = |a: &Option<Arc<dyn Array>>, i: usize| -> Option<String> {
            let a = a.as_ref()?;
            let s = a.as_string::<i32>();
            (!s.is_null(i)).then(|| s.value(i).to_string())
        };
        let keys: Vec<Option<Arc<dyn Array>>> =
            src.key.iter().map(|k| strings(k)).collect::<Result<_>>()?;
        let texts: Vec<Option<Arc<dyn Array>>> =
            src.text.iter().map(|k| strings(k)).collect::<Result<_>>()?;
        let optional = |c: &Option<String>| -> Result<Option<Arc<dyn Array>>> {
            Ok(c.as_deref().map(strings).transpose()?.flatten())
        };
        let member = optional(&src.member_id)?;
        let org = optional(&src.org_id)?;
        let category = optional(&src.category)?;
        let name = optional(&src.name)?;
        let days: Option<Vec<Option<i64>>> = match &src.date {
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
        };
        let mut docs = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            let body: Vec<String> = texts
                .iter()
                .filter_map(|t| text_of(t, i))
                .filter(|t| !t.trim().is_empty())
                .collect();
            if body.is_empty() {
                continue;
            }
            let body = body.join("\n");
            let key: Vec<String> = keys
                .iter()
                .map(|k| text_of(k, i).unwrap_or_default())
                .collect();
            let key = key.join("/");
            let mut doc = TantivyDocument::default();
            doc.add_text(f.uid, format!("{}\u{1f}{key}", src.dataset));
            doc.add_text(f.dataset, &src.dataset);
            doc.add_text(f.key, &key);
            let member_id = text_of(&member, i);
            if let Some(m) = &member_id {
                doc.add_text(f.member_id, m);
            }
            let org_id = text_of(&org, i)
                .or_else(|| member_id.as_ref().and_then(|m| member_orgs.get(m).cloned()));
            if let Some(o) = &org_id {
                doc.add_text(f.org_id, o);
            }
            if let Some(c) = text_of(&category, i) {
                doc.add_text(f.category, c);
            }
            if let Some(day) = days.as_ref().and_then(|d| d[i]) {
                doc.add_i64(f.day, day);
                let year = EPOCH
                    .checked_add_signed(chrono::Duration::days(day))
                    .map_or(0, |d| d.year() as i64);
                doc.add_i64(f.year, year);
            }
            if let Some(n) = text_of(&name, i) {
                for k in dangan_text::name_keys(&n) {
                    doc.add_text(f.pinyin, k);
                }
            }
            let norm = dangan_text::normalize_for_search(&body);
            doc.add_text(f.words, &norm);
            doc.add_text(f.grams, &norm);
            doc.add_text(f.body, body);
            docs.push(doc);
        }
        Ok(docs)
    }

    /// Indexed versus table version, and documents, per indexed dataset.
    pub async fn status(&self, lake: &Lake) -> Result<Vec<DatasetStatus>> {
        let state = self.state()?;
        let searcher = self.reader.searcher();
        let err = tantivy_err(&self.dir);
        let mut out = Vec::new();
        for src in sources(lake.registry()) {
            let table_version = lake.table_version(&src.dataset).await?;
            let indexed_version = state.versions.get(&src.dataset).copied();
            let q = TermQuery::new(
                Term::from_field_text(self.fields.dataset, &src.dataset),
                IndexRecordOption::Basic,
            );
            let documents = searcher.search(&q, &Count).map_err(&err)? as u64;
            out.push(DatasetStatus {
                in_step: table_version == indexed_version,
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
        for src in sources(lake.registry()) {
            if lake.table_version(&src.dataset).await? != state.versions.get(&src.dataset).copied()
            {
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

    fn item_query(&self, item: &Item) -> Option<Box<dyn Query>> {
        let norm = dangan_text::normalize_for_search(&squeeze(item.text()));
        let exact: Box<dyn Query> = Box::new(BoostQuery::new(self.grams_query(&norm)?, 3.0));
        match item {
            Item::Phrase(_) => Some(exact),
            Item::Word(w) => {
                let mut alts = vec![exact];
                let words: Vec<String> = dangan_text::segment(&norm);
                if words.len() >= 2 {
                    alts.push(Box::new(BooleanQuery::intersection(
                        words
                            .iter()
                            .map(|w| {
                                Box::new(TermQuery::new(
                                    Term::from_field_text(self.fields.words, w),
                                    IndexRecordOption::WithFreqs,
                                )) as Box<dyn Query>
                            })
                            .collect(),
                    )));
                }
                if let Some(py) = dangan_text::pinyin_query(w) {
                    alts.push(self.pinyin_query(&py));
                }
                Some(Box::new(BooleanQuery::union(alts)))
            }
        }
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
        Box::new(BoostQuery::new(
            Box::new(TermQuery::new(
                Term::from_field_text(self.fields.pinyin, py),
                IndexRecordOption::Basic,
            )),
            4.0,
        ))
    }

    /// Run a search.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResult> {
        let parsed = parse(&req.query).map_err(Error::Query)?;
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
        let filter = |q: Box<dyn Query>| {
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(q, 0.0)) as Box<dyn Query>,
            )
        };
        if !req.datasets.is_empty() {
            all.push(filter(Box::new(TermSetQuery::new(
                req.datasets
                    .iter()
                    .map(|d| Term::from_field_text(f.dataset, d)),
            ))));
        }
        if let Some(orgs) = &req.orgs {
            all.push(filter(Box::new(TermSetQuery::new(
                orgs.iter().map(|o| Term::from_field_text(f.org_id, o)),
            ))));
        }
        if req.from.is_some() || req.to.is_some() {
            let bound = |d: Option<NaiveDate>| match d {
                Some(d) => Bound::Included(Term::from_field_i64(f.day, day_of(d))),
                None => Bound::Unbounded,
            };
            all.push(filter(Box::new(RangeQuery::new(
                bound(req.from),
                bound(req.to),
            ))));
        }
        if let Some(c) = &req.category {
            all.push(filter(Box::new(TermQuery::new(
                Term::from_field_text(f.category, c),
                IndexRecordOption::Basic,
            ))));
        }
        let query = BooleanQuery::new(all);

        let err = tantivy_err(&self.dir);
        let searcher = self.reader.searcher();
        let limit = req.limit.max(1);
        let top = TopDocs::with_limit(limit)
            .and_offset(req.offset)
            .tweak_score(move |segment: &tantivy::SegmentReader| {
                let day = segment
                    .fast_fields()
                    .i64("day")
                    .ok()
                    .map(|c| c.first_or_default_col(i64::MIN));
                move |doc: tantivy::DocId, score: tantivy::Score| {
                    (score, day.as_ref().map_or(i64::MIN, |c| c.get_val(doc)))
                }
            });
        let aggs: Aggregations = serde_json::from_value(serde_json::json!({
            "dataset": {"terms": {"field": "dataset", "size": 100}},
            "org": {"terms": {"field": "org_id", "size": 30}},
            "year": {"terms": {"field": "year", "size": 100}},
        }))
        .map_err(|e| Error::Query(e.to_string()))?;
        let agg = AggregationCollector::from_aggs(aggs, Default::default());
        let (top, total, facets) = if req.facets {
            let (top, total, aggs) = searcher.search(&query, &(top, Count, agg)).map_err(&err)?;
            (top, Some(total), facets(&aggs))
        } else {
            (
                searcher.search(&query, &top).map_err(&err)?,
                None,
                Facets::default(),
            )
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
        let mut hits = Vec::with_capacity(top.len());
        for ((score, _), addr) in top {
            hits.push(self.hit(&searcher, addr, score, &needles).map_err(&err)?);
        }
        Ok(SearchResult {
            total: total.unwrap_or(req.offset + hits.len()),
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
            .and_then(|d| EPOCH.checked_add_signed(chrono::Duration::days(d)))
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
        let err = tantivy_err(&self.dir);
        let f = &self.fields;
        let mut writer: tantivy::IndexWriter<TantivyDocument> =
            self.index.writer(WRITER_BUDGET).map_err(&err)?;
        for (key, text) in texts {
            let mut doc = TantivyDocument::default();
            doc.add_text(f.uid, format!("test\u{1f}{key}"));
            doc.add_text(f.dataset, "test");
            doc.add_text(f.key, key);
            let norm = dangan_text::normalize_for_search(text);
            doc.add_text(f.words, &norm);
            doc.add_text(f.grams, &norm);
            doc.add_text(f.body, text);
            writer.add_document(doc).map_err(&err)?;
        }
        writer.commit().map_err(&err)?;
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

/// Spaces next to a Chinese character are dropped (`"志愿 服务"` is the phrase 志愿服务).
fn squeeze(s: &str) -> String {
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

fn facets(aggs: &tantivy::aggregation::agg_result::AggregationResults) -> Facets {
    let v = serde_json::to_value(aggs).unwrap_or_default();
    let buckets = |name: &str| -> BTreeMap<String, u64> {
        v.get(name)
            .and_then(|a| a.get("buckets"))
            .and_then(|b| b.as_array())
            .map(|b| {
                b.iter()
                    .filter_map(|x| {
                        let key = match x.get("key")? {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Number(n) => n
                                .as_f64()
                                .map_or_else(|| n.to_string(), |f| format!("{}", f as i64)),
                            other => other.to_string(),
                        };
                        Some((key, x.get("doc_count")?.as_u64()?))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Facets {
        dataset: buckets("dataset"),
        org: buckets("org"),
        year: buckets("year"),
    }
}

/// member_id → org_id from the members table.
async fn member_orgs(lake: &Lake) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    let Some((_, mut stream)) = lake
        .scan_stream("members", &["member_id", "org_id"])
        .await?
    else {
        return Ok(out);
    };
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| Error::Read {
            table: "members".into(),
            message: e.to_string(),
        })?;
        let conv = |i: usize| cast(batch.column(i), &DataType::Utf8);
        let (Ok(m), Ok(o)) = (conv(0), conv(1)) else {
            continue;
        };
        let (m, o) = (m.as_string::<i32>(), o.as_string::<i32>());
        for i in 0..batch.num_rows() {
            if !m.is_null(i) && !o.is_null(i) {
                out.insert(m.value(i).to_string(), o.value(i).to_string());
            }
        }
    }
    Ok(out)
}
