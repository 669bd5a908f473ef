//! The top matches of a plan: the ranking's best candidates checked against the match query, or
//! every match scored.

use std::collections::BTreeMap;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, ConstScoreQuery, EnableScoring, Occur, Query};
use tantivy::{DocAddress, DocId, DocSet, Score, SeekDangerResult};

use crate::index::SearchIndex;
use crate::plan::Ranking;

impl SearchIndex {
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
}

/// Checks documents, in increasing order, against a scorer without scoring the documents in
/// between: `seek_danger` reads only the target's postings; after a miss the scorer may be
/// in an invalid state, and only `seek_danger` with a larger target may follow, never a
/// target below the lower bound it returned (or below the document it stands on).
pub(crate) struct Checker {
    scorer: Box<dyn tantivy::query::Scorer>,
    /// No match below this.
    next_possible: DocId,
    /// The scorer stands on a match (`doc()` is valid).
    valid: bool,
}

impl Checker {
    pub(crate) fn new(scorer: Box<dyn tantivy::query::Scorer>) -> Checker {
        Checker {
            scorer,
            next_possible: 0,
            valid: true,
        }
    }

    pub(crate) fn matches(&mut self, target: DocId) -> bool {
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
pub(crate) fn top_scored(
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
pub(crate) struct Ranked(Score);

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
