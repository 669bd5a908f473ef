//! A request made into tantivy queries: what matches (unscored, with filters and scopes) and how
//! matches rank.

use std::ops::Bound;

use chrono::NaiveDate;
use tantivy::Term;
use tantivy::columnar::Column;
use tantivy::query::{
    BooleanQuery, Occur, PhraseQuery, Query, RangeQuery, RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::IndexRecordOption;

use crate::error::{Error, Result};
use crate::index::SearchIndex;
use crate::query::{Item, Parsed, parse, regex_escape, squeeze};
use crate::request::Scopes;
use crate::request::SearchRequest;
use crate::schema::day_of;
use crate::tokenizer::{bigrams, ranks_as_word};

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

impl SearchIndex {
    /// The substring query for normalized text: its bigrams as a phrase.
    pub(crate) fn grams_query(&self, norm: &str) -> Option<Box<dyn Query>> {
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
            many => {
                let grams: Vec<(usize, Term)> = many
                    .iter()
                    .map(|(t, p)| (*p, Term::from_field_text(field, t)))
                    .collect();
                // A word of three or more ideographs: where jieba kept it as a word of the
                // text, the word vouches for the phrase (`vouched.rs`).
                if norm.chars().count() >= 3 && norm.chars().all(dangan_text::is_cjk) {
                    Some(Box::new(crate::vouched::VouchedPhrase {
                        grams,
                        word: Term::from_field_text(self.fields.words, norm),
                    }))
                } else {
                    Some(Box::new(PhraseQuery::new_with_offset(grams)))
                }
            }
        }
    }

    /// What an item matches: the text holds it (its bigrams as a phrase); a word of Latin
    /// letters may also be the pinyin of a name.
    pub(crate) fn item_query(&self, item: &Item) -> Option<Box<dyn Query>> {
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

    /// The terms an item is ranked by: its bigrams, its jieba words the bigrams do not hold
    /// (`ranks_as_word`) and the pinyin key of a Latin word; `None` when a text can match the
    /// item without holding any of them (one Chinese character, found by a pattern).
    pub(crate) fn item_rank_terms(&self, item: &Item, out: &mut Vec<Term>) -> Option<()> {
        let (norm, grams) = ranked_grams(item)?;
        let f = &self.fields;
        out.extend(grams.iter().map(|(t, _)| Term::from_field_text(f.grams, t)));
        out.extend(
            dangan_text::segment(&norm)
                .iter()
                .filter(|w| ranks_as_word(w))
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
    pub(crate) fn exclusion_query(&self, item: &Item) -> Option<Box<dyn Query>> {
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

    pub(crate) fn pinyin_query(&self, py: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(self.fields.pinyin, py),
            IndexRecordOption::Basic,
        ))
    }

    /// The documents of one dataset.
    pub(crate) fn dataset_query(&self, dataset: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(self.fields.dataset, dataset),
            IndexRecordOption::Basic,
        ))
    }

    /// What a request matches, unscored: every group, no exclusion, every filter.
    pub(crate) fn match_query(
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
    pub(crate) fn scopes_pass_all(&self, searcher: &tantivy::Searcher, scopes: &Scopes) -> bool {
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
    pub(crate) fn day_column(&self, reader: &tantivy::SegmentReader) -> Option<Column<i64>> {
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
    pub(crate) fn rank_query(
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
                let (_, grams) = ranked_grams(item)?;
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
}

/// An item's normalized text and its query bigrams, or `None` when it is one Chinese
/// character (found by a pattern, so no term of it need be in a matching text: it cannot rank).
fn ranked_grams(item: &Item) -> Option<(String, Vec<crate::tokenizer::Gram>)> {
    let norm = dangan_text::normalize_for_search(&squeeze(item.text()));
    let grams = bigrams(&norm, true);
    if let [(t, _)] = grams.as_slice()
        && t.chars().count() == 1
        && t.chars().all(dangan_text::is_cjk)
    {
        return None;
    }
    Some((norm, grams))
}
