//! A phrase of bigrams that a jieba word can vouch for. A query word of three or more
//! ideographs (志愿服务) is matched as its bigrams at adjacent positions — exact, but a common
//! word makes the match read the positions of three bigrams in every text that holds them (a
//! million texts: 160–240 ms). The `words` field holds jieba's words of the same normalized
//! text, so a text whose words include the query word holds it as a substring: there the
//! positions need not be read. Only a text that holds every bigram without that word (jieba
//! cut it otherwise: 志愿服务队) has its positions checked. The matches are exactly the
//! phrase's.

use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, TERMINATED, Term};

/// The phrase of `grams` (each with its offset in the phrase), vouched for by `word`.
#[derive(Clone, Debug)]
pub(crate) struct VouchedPhrase {
    pub grams: Vec<(usize, Term)>,
    pub word: Term,
}

impl Query for VouchedPhrase {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for (_, t) in &self.grams {
            visitor(t, true);
        }
    }
}

impl Weight for VouchedPhrase {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let Some((_, first)) = self.grams.first() else {
            return Ok(Box::new(EmptyScorer));
        };
        let grams_index = reader.inverted_index(first.field())?;
        let last = self.grams.iter().map(|(o, _)| *o).max().unwrap_or(0);
        let mut grams = Vec::with_capacity(self.grams.len());
        for (offset, term) in &self.grams {
            match grams_index.read_postings(term, IndexRecordOption::WithFreqsAndPositions)? {
                Some(p) => grams.push(((last - offset) as u32, p)),
                None => return Ok(Box::new(EmptyScorer)),
            }
        }
        // The rarest bigram leads the intersection.
        grams.sort_by_key(|(_, p)| p.doc_freq());
        let word = reader
            .inverted_index(self.word.field())?
            .read_postings(&self.word, IndexRecordOption::Basic)?;
        let mut scorer = VouchedScorer {
            grams,
            word,
            doc: 0,
            here: Vec::new(),
            next: Vec::new(),
        };
        scorer.doc = scorer.next_match(0);
        Ok(Box::new(scorer))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("VouchedPhrase", 1.0))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )))
        }
    }
}

struct VouchedScorer {
    /// Each bigram's postings, with what aligns its positions to the phrase's end.
    grams: Vec<(u32, SegmentPostings)>,
    /// The word's postings (`None`: no text of this segment has it).
    word: Option<SegmentPostings>,
    doc: DocId,
    here: Vec<u32>,
    next: Vec<u32>,
}

impl VouchedScorer {
    /// The first document from `target` on that holds every bigram (every postings list
    /// standing on it), or `TERMINATED`.
    fn align(&mut self, mut target: DocId) -> DocId {
        'again: loop {
            if target >= TERMINATED {
                return TERMINATED;
            }
            for (_, p) in self.grams.iter_mut() {
                let d = at_least(p, target);
                if d > target {
                    target = d;
                    continue 'again;
                }
            }
            return target;
        }
    }

    /// Whether `doc`, on which every bigram stands, holds the phrase: the word vouches for
    /// it, or the bigrams stand at adjacent positions.
    fn holds(&mut self, doc: DocId) -> bool {
        if let Some(w) = self.word.as_mut()
            && at_least(w, doc) == doc
        {
            return true;
        }
        let Some(((first_offset, first), rest)) = self.grams.split_first_mut() else {
            return false;
        };
        first.positions_with_offset(*first_offset, &mut self.here);
        for (offset, p) in rest {
            p.positions_with_offset(*offset, &mut self.next);
            let next = &self.next;
            let mut j = 0;
            self.here.retain(|x| {
                while j < next.len() && next[j] < *x {
                    j += 1;
                }
                j < next.len() && next[j] == *x
            });
            if self.here.is_empty() {
                return false;
            }
        }
        true
    }

    fn next_match(&mut self, mut target: DocId) -> DocId {
        loop {
            let doc = self.align(target);
            if doc == TERMINATED || self.holds(doc) {
                return doc;
            }
            target = doc + 1;
        }
    }
}

/// The first document of `p` from `target` on (`p` never moves back).
fn at_least(p: &mut SegmentPostings, target: DocId) -> DocId {
    if p.doc() < target {
        p.seek(target)
    } else {
        p.doc()
    }
}

impl DocSet for VouchedScorer {
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            self.doc = self.next_match(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if target > self.doc {
            self.doc = self.next_match(target);
        }
        self.doc
    }

    /// Whether `target` matches, reading only its own postings and positions.
    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        if target >= TERMINATED {
            return SeekDangerResult::SeekLowerBound(TERMINATED);
        }
        for (_, p) in self.grams.iter_mut() {
            let d = at_least(p, target);
            if d > target {
                return SeekDangerResult::SeekLowerBound(d);
            }
        }
        if self.holds(target) {
            self.doc = target;
            SeekDangerResult::Found
        } else {
            SeekDangerResult::SeekLowerBound(target + 1)
        }
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.grams
            .iter()
            .map(|(_, p)| p.size_hint())
            .min()
            .unwrap_or(0)
    }
}

impl Scorer for VouchedScorer {
    fn score(&mut self) -> Score {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::DocSetCollector;
    use tantivy::query::{EnableScoring, PhraseQuery, Query};

    use super::*;
    use crate::tokenizer::bigrams;

    /// The same documents as the plain phrase, through a full walk and through checks of
    /// single documents (`seek_danger`, as the ranked top-k does), on generated texts and on
    /// texts where jieba cuts the word otherwise or not at all.
    #[test]
    fn the_vouched_phrase_matches_exactly_what_the_phrase_matches() {
        let mut texts = dangan_generate::growth_texts(1_500, 5);
        texts.extend(
            [
                "组建青年志愿服务队，开展志愿服务。",
                "参加志愿服务队的活动。",
                "志愿服务站今天开放",
                "志愿 服务",
                "他志愿服务社区十年",
                "三会一课制度落实，按时参加三会一课",
                "三会一课",
            ]
            .map(String::from),
        );
        let (_dir, index) = crate::recall::index_of(&texts);
        let searcher = index.searcher();
        let mut queries: Vec<String> = [
            "志愿服务",
            "志愿服务队",
            "三会一课",
            "理论学习",
            "思想汇报",
            "服务群众",
            "学习贯彻",
        ]
        .map(String::from)
        .to_vec();
        for (k, t) in texts.iter().enumerate().step_by(7) {
            let chars: Vec<char> = dangan_text::normalize_for_search(t).chars().collect();
            let len = 3 + k % 3;
            if chars.len() > len {
                let start = (k * 7919) % (chars.len() - len);
                let q: String = chars[start..start + len].iter().collect();
                if q.chars().all(dangan_text::is_cjk) {
                    queries.push(q);
                }
            }
        }
        let mut vouched_somewhere = 0;
        for q in &queries {
            let norm = dangan_text::normalize_for_search(q);
            let grams: Vec<(usize, Term)> = bigrams(&norm, true)
                .iter()
                .map(|(t, p)| (*p, Term::from_field_text(index.fields.grams, t)))
                .collect();
            let word = Term::from_field_text(index.fields.words, &norm);
            vouched_somewhere += usize::from(searcher.doc_freq(&word).unwrap() > 0);
            let plain = PhraseQuery::new_with_offset(grams.clone());
            let vouched = VouchedPhrase { grams, word };
            let want = searcher.search(&plain, &DocSetCollector).unwrap();
            let got = searcher.search(&vouched, &DocSetCollector).unwrap();
            assert_eq!(got, want, "{q}");
            // Single documents checked in increasing order, matches and misses alike.
            let weight = vouched
                .weight(EnableScoring::disabled_from_searcher(&searcher))
                .unwrap();
            for (seg, reader) in searcher.segment_readers().iter().enumerate() {
                let mut check = crate::top_k::Checker::new(weight.scorer(reader, 1.0).unwrap());
                for doc in (0..reader.max_doc()).step_by(3) {
                    let address = tantivy::DocAddress::new(seg as u32, doc);
                    assert_eq!(check.matches(doc), want.contains(&address), "{q} {doc}");
                }
            }
        }
        assert!(queries.len() > 100, "{}", queries.len());
        assert!(
            vouched_somewhere >= 4,
            "the words vouch ({vouched_somewhere})"
        );
    }
}
