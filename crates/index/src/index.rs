//! The index itself: open (or create) it under the lake and answer searches. Bringing it in
//! step with the tables is `sync`, what a request becomes `plan`, its best matches `top_k`,
//! recent results `cache`, what is asked and answered `request`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dangan_datasets::Lake;
use dangan_datasets::arrow::array::{Array, RecordBatch};
use tantivy::columnar::Column;
use tantivy::directory::MmapDirectory;
use tantivy::schema::Value;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, Score, TantivyDocument};

use crate::cache::ResultCache;
use crate::error::{Error, Result};
use crate::names::{self, NameQuery, NameSet, NameTable};
use crate::plan::Plan;
use crate::query::Item;
use crate::query::squeeze;
use crate::request::{Facets, Hit, SearchRequest, SearchResult, Warmed};
use crate::schema::{self, BIGRAM, Fields, JIEBA, date_of};
use crate::sources::Source;
use crate::sync::{NameCache, State};
use crate::tokenizer::{BigramTokenizer, JiebaTokenizer};

/// The file of the index's state (see `sync::State`).
pub(crate) const STATE_FILE: &str = "dangan-state.json";
/// The layout of the index this version writes and reads: the tantivy schema, the name
/// tables and the state file. 2: the member → branch fingerprint is xxh3 (stable), the state
/// names its format. 3: a document's uid is a 128-bit hash in two fast columns (`uid`), no
/// longer a string term. An older format is recreated empty for the next sync to fill from
/// the tables; a newer one is refused with what to do.
pub const FORMAT: u32 = 3;
/// Where the people datasets' name tables are kept, under the index.
pub(crate) const NAMES_DIR: &str = "names";
/// Memory for the index writer, shared by its threads.
pub(crate) const WRITER_BUDGET: usize = 256 << 20;

/// The search index of a lake.
pub struct SearchIndex {
    pub(crate) dir: PathBuf,
    pub(crate) index: Index,
    pub(crate) fields: Fields,
    pub(crate) reader: IndexReader,
    pub(crate) jieba: JiebaTokenizer,
    pub(crate) cache: std::sync::Mutex<ResultCache>,
    /// Day columns by segment (see [`SearchIndex::day_column`]).
    pub(crate) days: std::sync::Mutex<HashMap<tantivy::index::SegmentId, Option<Column<i64>>>>,
    /// The people datasets' name tables (see `names`).
    pub(crate) names: std::sync::RwLock<Option<Arc<NameSet>>>,
    /// See [`SearchIndex::upgraded_from`].
    upgraded_from: Option<u32>,
}

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

/// The live documents `query` matches, up to `cap` (`None`: all): the count and whether it
/// is every match. Walks each segment's matches and stops at the cap, where tantivy's `Count`
/// collector goes through them all.
fn count_matches(
    searcher: &tantivy::Searcher,
    query: &dyn tantivy::query::Query,
    cap: Option<usize>,
) -> tantivy::Result<(u64, bool)> {
    use tantivy::query::EnableScoring;
    use tantivy::{DocSet, TERMINATED};
    let Some(cap) = cap.map(|c| c as u64) else {
        return Ok((query.count(searcher)? as u64, true));
    };
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut n = 0u64;
    for reader in searcher.segment_readers() {
        let alive = reader.alive_bitset();
        let mut matches = weight.scorer(reader, 1.0)?;
        let mut doc = matches.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                if n == cap {
                    return Ok((n, false));
                }
                n += 1;
            }
            doc = matches.advance();
        }
    }
    Ok((n, true))
}

pub(crate) fn tantivy_err(dir: &Path) -> impl Fn(tantivy::TantivyError) -> Error + '_ {
    move |source| Error::Tantivy {
        path: dir.to_path_buf(),
        source,
    }
}

impl SearchIndex {
    /// Open the index under the lake, creating it when there is none. An index of an older
    /// `FORMAT` is recreated empty for the next sync to fill ([`SearchIndex::upgraded_from`]);
    /// one of a newer format (a newer dangan wrote it) is refused with what to do:
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

    pub(crate) fn open_dir(dir: &Path) -> Result<SearchIndex> {
        let err = tantivy_err(dir);
        let format_of = |found: String| Error::Format {
            path: dir.to_path_buf(),
            found,
            expected: FORMAT,
        };
        let mut upgraded_from = None;
        if let Ok(text) = std::fs::read_to_string(dir.join(STATE_FILE)) {
            let found = serde_json::from_str::<State>(&text).map_err(|e| {
                format_of(format!(
                    "unreadable ({} {e})",
                    dir.join(STATE_FILE).display()
                ))
            })?;
            // An older format (this dangan's predecessor wrote it): the index is made from
            // the tables, so it is recreated empty and the next sync — an import's index step,
            // `serve`'s catch-up, a search that finds the index behind — reads them again. A
            // newer one is refused: an older dangan must not undo an upgrade.
            if found.format < FORMAT {
                std::fs::remove_dir_all(dir).map_err(|e| err(e.into()))?;
                upgraded_from = Some(found.format);
            } else if found.format != FORMAT {
                return Err(format_of(found.format.to_string()));
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
            upgraded_from,
        };
        Ok(index)
    }

    /// The `FORMAT` of the index this one replaced when it was opened (an older dangan wrote
    /// it): the caller says so, and the next sync reads every table again.
    pub fn upgraded_from(&self) -> Option<u32> {
        self.upgraded_from
    }

    /// What to tell the user when [`SearchIndex::upgraded_from`] is set.
    pub fn upgrade_notice(&self) -> Option<String> {
        self.upgraded_from.map(|older| {
            format!(
                "the search index was written in format {older} by an older dangan: it is rebuilt from the tables by the next sync 索引格式较旧，正在从数据表重建"
            )
        })
    }

    #[cfg(test)]
    pub(crate) fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    /// Read now what the first search would read before it could answer: jieba's
    /// dictionary, the name tables, each segment's term dictionaries and the fast fields that
    /// filters, ranking and facets use (their pages touched once, so that they are in memory).
    /// A server calls it in the background when it starts; it returns what it read.
    pub fn warm(&self) -> Result<Warmed> {
        let started = std::time::Instant::now();
        // jieba's dictionary loads at the first cut (a search cuts its words).
        let _ = dangan_text::segment("预热");
        let names = self.name_set();
        let searcher = self.reader.searcher();
        let err = tantivy_err(&self.dir);
        let f = &self.fields;
        for segment in searcher.segment_readers() {
            for field in [f.words, f.grams, f.pinyin] {
                segment.inverted_index(field).map_err(&err)?;
            }
            let _ = self.day_column(segment);
        }
        // The fast fields of every document, read as a count of every match reads them.
        let counts = searcher
            .search(&tantivy::query::AllQuery, &crate::facets::FacetCounts)
            .map_err(&err)?;
        Ok(Warmed {
            segments: searcher.segment_readers().len(),
            documents: counts.total,
            names: names.rows(),
            millis: started.elapsed().as_millis() as u64,
        })
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

    pub(crate) fn search_with(
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
        // The matches are counted (the total is never the page's size): all of them with the
        // facets (they read the fast fields of every match), else up to `count_to`.
        let (mut counts, total_exact) = if req.facets {
            let counts = searcher
                .search(&matcher, &crate::facets::FacetCounts)
                .map_err(&err)?;
            (counts, true)
        } else {
            let (total, exact) =
                count_matches(searcher, matcher.as_ref(), req.count_to).map_err(&err)?;
            let counts = crate::facets::Counts {
                total,
                ..Default::default()
            };
            (counts, exact)
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
        let (mut total, facets) = counts.finish();
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
        if !total_exact {
            total = total.max(req.offset + hits.len());
        }
        Ok(SearchResult {
            total,
            total_exact,
            hits,
            facets,
        })
    }

    pub(crate) fn hit(
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

    pub(crate) fn add_test_documents(&self, texts: &[(String, String)]) -> Result<()> {
        let err = tantivy_err(&self.dir);
        let f = &self.fields;
        let dataset = "test";
        let mut writer: tantivy::IndexWriter<TantivyDocument> =
            self.index.writer(WRITER_BUDGET).map_err(&err)?;
        let mut buf = String::new();
        for (key, text) in texts {
            let mut doc = TantivyDocument::default();
            crate::uid::add_uid(&mut doc, f.uid, crate::uid::uid_of(&mut buf, dataset, key));
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
