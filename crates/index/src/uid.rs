//! What a document is deleted by: a 128-bit hash of `dataset \u{1f} key` in two u64 fast
//! columns, and the query that finds the documents of a set of such hashes. An indexed term
//! per document (the uid as a string term, as before format 3) put one unique term per
//! document into the term dictionary: sorting, encoding and a postings list for each cost a
//! tenth of an index build, for lookups that only an incremental sync makes.

use std::collections::HashSet;
use std::sync::Arc;

use tantivy::query::{
    BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::Field;
use tantivy::{DocId, Score, SegmentReader, TantivyDocument, TantivyError};

/// The two columns a document's uid is kept in.
pub(crate) const HI: &str = "uid_hi";
pub(crate) const LO: &str = "uid_lo";

/// The uid of a dataset's row key (xxh3-128: specified output, so an index written by one
/// build is updated by the next). `buf` is reused between calls.
pub(crate) fn uid_of(buf: &mut String, dataset: &str, key: &str) -> u128 {
    buf.clear();
    buf.push_str(dataset);
    buf.push('\u{1f}');
    buf.push_str(key);
    xxhash_rust::xxh3::xxh3_128(buf.as_bytes())
}

/// Add a uid to a document.
pub(crate) fn add_uid(doc: &mut TantivyDocument, (hi, lo): (Field, Field), uid: u128) {
    doc.add_u64(hi, (uid >> 64) as u64);
    doc.add_u64(lo, uid as u64);
}

/// The documents whose uid is in a set (a delete's target; every match scores 1).
#[derive(Clone, Debug)]
pub(crate) struct UidSetQuery {
    uids: Arc<HashSet<u128>>,
}

impl UidSetQuery {
    pub(crate) fn new(uids: HashSet<u128>) -> UidSetQuery {
        UidSetQuery {
            uids: Arc::new(uids),
        }
    }
}

impl Query for UidSetQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(UidSetWeight {
            uids: self.uids.clone(),
        }))
    }
}

struct UidSetWeight {
    uids: Arc<HashSet<u128>>,
}

impl UidSetWeight {
    /// Whether each document of a segment is in the set, one pass over both columns.
    fn matches(&self, reader: &SegmentReader) -> tantivy::Result<tantivy::BitSet> {
        let max_doc = reader.max_doc();
        let mut found = tantivy::BitSet::with_max_value(max_doc);
        if self.uids.is_empty() {
            return Ok(found);
        }
        let fast = reader.fast_fields();
        let (hi, lo) = (fast.u64(HI)?, fast.u64(LO)?);
        for doc in 0..max_doc {
            if self.holds(hi.first(doc), lo.first(doc)) {
                found.insert(doc);
            }
        }
        Ok(found)
    }

    /// Whether a document's two uid halves make a uid of the set.
    fn holds(&self, hi: Option<u64>, lo: Option<u64>) -> bool {
        matches!((hi, lo), (Some(h), Some(l)) if self.uids.contains(&(u128::from(h) << 64 | u128::from(l))))
    }
}

impl Weight for UidSetWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let found = self.matches(reader)?;
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(found), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let fast = reader.fast_fields();
        if self.holds(fast.u64(HI)?.first(doc), fast.u64(LO)?.first(doc)) {
            Ok(Explanation::new("uid in the set", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document {doc} has no uid of the set"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::Count;
    use tantivy::query::AllQuery;
    use tantivy::schema::{FAST, STORED, Schema, Value};

    #[test]
    fn a_set_deletes_exactly_its_documents_in_every_segment() {
        let mut b = Schema::builder();
        let uid = (b.add_u64_field(HI, FAST), b.add_u64_field(LO, FAST));
        let key = b.add_text_field("key", STORED);
        let index = tantivy::Index::create_in_ram(b.build());
        let mut writer: tantivy::IndexWriter<TantivyDocument> = index.writer(15_000_000).unwrap();
        let mut buf = String::new();
        // Two commits: two segments.
        for part in [0..50, 50..100] {
            for i in part {
                let mut doc = TantivyDocument::default();
                add_uid(
                    &mut doc,
                    uid,
                    uid_of(&mut buf, "growth_records", &i.to_string()),
                );
                doc.add_text(key, i.to_string());
                writer.add_document(doc).unwrap();
            }
            writer.commit().unwrap();
        }
        // Keys 0, 7, 63 and 99 of this dataset; key 8 of another dataset matches nothing.
        let mut gone: HashSet<u128> = [0, 7, 63, 99]
            .iter()
            .map(|i: &i32| uid_of(&mut buf, "growth_records", &i.to_string()))
            .collect();
        gone.insert(uid_of(&mut buf, "appraisals", "8"));
        writer
            .delete_query(Box::new(UidSetQuery::new(gone)))
            .unwrap();
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(searcher.search(&AllQuery, &Count).unwrap(), 96);
        let mut left = Vec::new();
        for reader in searcher.segment_readers() {
            let store = reader.get_store_reader(1).unwrap();
            for doc in reader.doc_ids_alive() {
                let d: TantivyDocument = store.get(doc).unwrap();
                left.push(
                    d.get_first(key)
                        .and_then(|v| v.as_str())
                        .unwrap()
                        .to_string(),
                );
            }
        }
        for k in ["0", "7", "63", "99"] {
            assert!(!left.iter().any(|l| l == k), "{k} left");
        }
        assert!(left.iter().any(|l| l == "8"));
        // The hash is the specified xxh3-128 of `dataset \u{1f} key` (an index written by one
        // build is updated by another).
        assert_eq!(
            uid_of(&mut buf, "a", "b"),
            283_654_905_696_190_662_172_264_200_377_062_636_473
        );
    }
}
