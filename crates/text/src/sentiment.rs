//! Sentiment of short Chinese texts (feedback, survey comments, talk records): a score in
//! [-1, 1] from a lexicon of weighted words (`data/sentiment.txt`, written for dangan),
//! over jieba's words, with negation (不/没有/未 … in the two words before flips a word) and
//! degree words (非常/很/特别 … strengthen it).

use std::collections::HashMap;
use std::sync::OnceLock;

pub const SENTIMENT_LEXICON: &str = include_str!("../data/sentiment.txt");

const NEGATORS: &[&str] = &["不", "没", "没有", "未", "无", "并非", "毫无", "不是", "别"];
const DEGREE: &[(&str, f64)] = &[
    ("非常", 1.5),
    ("特别", 1.5),
    ("十分", 1.5),
    ("极其", 1.8),
    ("很", 1.3),
    ("太", 1.3),
    ("更加", 1.3),
    ("比较", 0.8),
    ("有点", 0.7),
    ("稍微", 0.6),
];

fn lexicon() -> &'static HashMap<&'static str, f64> {
    static LEXICON: OnceLock<HashMap<&'static str, f64>> = OnceLock::new();
    LEXICON.get_or_init(|| {
        SENTIMENT_LEXICON
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let (w, v) = l.split_once('\t')?;
                Some((w.trim(), v.trim().parse().ok()?))
            })
            .collect()
    })
}

/// The sentiment of a text: negative below 0, positive above, 0 when no word of the lexicon
/// is in it.
pub fn sentiment(text: &str) -> f64 {
    let lex = lexicon();
    let norm = crate::normalize_for_search(text);
    let words = crate::segment(&norm);
    let mut total = 0.0;
    for (i, w) in words.iter().enumerate() {
        let Some(&weight) = lex.get(w.as_str()) else {
            continue;
        };
        let before = &words[i.saturating_sub(2)..i];
        let mut v = weight;
        for b in before {
            if NEGATORS.contains(&b.as_str()) {
                v = -v * 0.8;
            }
            if let Some((_, k)) = DEGREE.iter().find(|(d, _)| d == b) {
                v *= k;
            }
        }
        total += v;
    }
    // Bounded like VADER's normalization: many strong words approach ±1, one mild word
    // is about ±0.45.
    total / (total * total + 4.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_negative_negated_and_neutral() {
        let pos = sentiment("这次主题党日活动内容丰富，非常满意，收获很大");
        let neg = sentiment("学习形式主义，走过场，群众有抱怨");
        let negated = sentiment("对这次安排不满意，也不方便");
        let flipped = sentiment("讲得不清楚");
        assert!(pos > 0.5, "{pos}");
        assert!(neg < -0.5, "{neg}");
        assert!(negated < -0.3, "{negated}");
        assert!(flipped < 0.0, "{flipped}");
        assert_eq!(sentiment("今天下午三点开会"), 0.0);
        assert!(sentiment("很好") > sentiment("好"));
        for t in ["满意".repeat(50), "失望".repeat(50)] {
            assert!(sentiment(&t).abs() <= 1.0);
        }
    }
}
