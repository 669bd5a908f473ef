//! Chinese word segmentation with jieba: one shared dictionary for the process (loading it
//! costs ~100 ms and ~30 MB; every caller borrows the one copy — no reference count that
//! the cores would fight over for each text), extended by
//! a user dictionary of party-work terms (`data/party_terms.txt`) that jieba's own dictionary
//! would split (三会一课, 主题党日, 两学一做, …).

use std::sync::OnceLock;

use jieba_rs::Jieba;

/// Party-work terms, one `word frequency tag` per line (jieba's dictionary format).
pub const PARTY_TERMS: &str = include_str!("../data/party_terms.txt");

/// The shared segmenter.
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(|| {
        let mut j = Jieba::new();
        let mut terms = std::io::BufReader::new(PARTY_TERMS.as_bytes());
        // The list is ours and well-formed; a failure here would be a build defect.
        j.load_dict(&mut terms)
            .expect("data/party_terms.txt is a valid jieba dictionary");
        j
    })
}

/// Words of `text` (precise mode), without spaces and punctuation.
pub fn segment(text: &str) -> Vec<String> {
    jieba()
        .cut(text, true)
        .into_iter()
        .map(|w| w.word)
        .filter(|w| is_word(w))
        .map(str::to_string)
        .collect()
}

/// Words of `text` in search mode: long words and the shorter words inside them
/// (中华人民共和国 → 中华, 华人, 人民, 共和, 共和国, 中华人民共和国), as `(word, byte start)`.
pub fn segment_for_search(jieba: &Jieba, text: &str) -> Vec<(String, usize)> {
    jieba
        .cut_for_search(text, true)
        .into_iter()
        .filter(|t| is_word(t.word))
        .map(|t| (t.word.to_string(), t.byte_start))
        .collect()
}

/// A token worth indexing: has a letter, digit or ideograph.
pub fn is_word(w: &str) -> bool {
    // Ideographs first: `is_alphanumeric` on them is a slow table lookup.
    w.chars().any(|c| crate::is_cjk(c) || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_terms_stay_whole_and_search_mode_finds_inner_words() {
        let words = segment("支部按时召开三会一课和主题党日活动");
        assert!(words.contains(&"三会一课".to_string()), "{words:?}");
        assert!(words.contains(&"主题党日".to_string()), "{words:?}");
        let j = jieba();
        let search: Vec<String> = segment_for_search(j, "安装简单，积极参加志愿服务")
            .into_iter()
            .map(|(w, _)| w)
            .collect();
        assert!(search.contains(&"简单".to_string()), "{search:?}");
        assert!(search.contains(&"志愿".to_string()), "{search:?}");
    }
}
