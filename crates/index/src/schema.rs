//! The index schema: one document per row that has searchable text (and one per member, for
//! names), with what is needed to filter, facet, rank and join back to SQL.

use chrono::NaiveDate;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

pub const JIEBA: &str = "jieba";
pub const BIGRAM: &str = "bigram";

/// Handles of every field.
#[derive(Clone, Copy)]
pub struct Fields {
    /// The two halves of `uid::uid_of(dataset, key)`: what a document is deleted by.
    pub uid: (Field, Field),
    pub dataset: Field,
    pub key: Field,
    pub member_id: Field,
    pub org_id: Field,
    pub category: Field,
    /// Days since 1970-01-01 (fast: range filters and the newer-first tie-break).
    pub day: Field,
    pub year: Field,
    /// The text shown in results (stored, not indexed).
    pub body: Field,
    /// The same text, jieba's search-mode words that are not bigram terms (three or more
    /// characters: `tokenizer::ranks_as_word`; frequencies, no positions).
    pub words: Field,
    /// The same text, bigrams with positions.
    pub grams: Field,
    /// Pinyin keys of a member's name.
    pub pinyin: Field,
}

pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str, option: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(option),
        )
    };
    let fields = Fields {
        uid: (
            b.add_u64_field(crate::uid::HI, FAST),
            b.add_u64_field(crate::uid::LO, FAST),
        ),
        // With frequencies, so that a search limited to one dataset can rank inside it (the
        // dataset's term joins the words' pruned intersection; every document of the dataset
        // gets the same share of the score).
        dataset: b.add_text_field(
            "dataset",
            text("raw", IndexRecordOption::WithFreqs) | STORED | FAST,
        ),
        // Shown, never searched: stored only (two terms a document fewer to index).
        key: b.add_text_field("key", STORED),
        member_id: b.add_text_field("member_id", STORED),
        org_id: b.add_text_field("org_id", STRING | STORED | FAST),
        category: b.add_text_field("category", STRING | STORED),
        day: b.add_i64_field("day", INDEXED | STORED | FAST),
        year: b.add_i64_field("year", FAST),
        body: b.add_text_field("body", STORED),
        // Words rank (frequencies); phrases are matched on the bigrams' positions.
        words: b.add_text_field("words", text(JIEBA, IndexRecordOption::WithFreqs)),
        grams: b.add_text_field(
            "grams",
            text(BIGRAM, IndexRecordOption::WithFreqsAndPositions),
        ),
        // Keys with their frequencies, so that a name's pinyin ranks with the words (BM25).
        pinyin: b.add_text_field(
            "pinyin",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        ),
    };
    (b.build(), fields)
}

/// The day number the index keeps for a date (days since 1970-01-01, chrono's epoch days).
pub(crate) fn day_of(d: NaiveDate) -> i64 {
    i64::from(d.to_epoch_days())
}

/// The date of a day number the index keeps.
pub(crate) fn date_of(day: i64) -> Option<NaiveDate> {
    i32::try_from(day).ok().and_then(NaiveDate::from_epoch_days)
}
