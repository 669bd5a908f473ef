//! Chinese text helpers shared by import, search and reports: full-width folding, trimming,
//! header normalization, the normalized form for search (traditional → simplified), jieba
//! segmentation with a party-work user dictionary, and pinyin keys for names.
//!
//! Sentiment of short texts from a lexicon and a model trained on labelled review sentences
//! (`sentiment.rs`); nothing here depends on an engine.

pub mod error;
mod html;
mod normalize;
mod pinyin;
mod segment;
pub mod sentiment;
pub(crate) mod width;

pub use error::{Error, Result};
pub use html::{escape_html, push_html_escaped};
pub use normalize::{is_cjk, normalize_char, normalize_for_search};
pub use pinyin::{name_keys, name_pinyin, pinyin_query};
pub use segment::{PARTY_TERMS, is_word, jieba, segment, segment_for_search};
pub use sentiment::{SENTIMENT_LEXICON, sentiment};
pub use width::{fold_width, is_blank, normalize_header, trim_all};
