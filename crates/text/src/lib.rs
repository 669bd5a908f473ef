//! Chinese text helpers shared by import, search and reports: full-width folding, trimming,
//! header normalization.
//!
//! Segmentation (jieba), pinyin and sentiment join this crate as the search and report issues
//! land; everything here is pure, allocation-light and has no engine dependencies.

mod width;

pub use width::{fold_width, is_blank, normalize_header, trim_all};
