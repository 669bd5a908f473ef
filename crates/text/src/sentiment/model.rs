//! The learned part of `sentiment()`: ten scores of a text — naive Bayes over its character
//! 1–5-grams, naive Bayes over its jieba words, the lexicon's score, linear SVMs over the
//! TF-IDF of its character 1–4-grams and of its words, its length, and the character naive
//! Bayes of its first and last clause and of its most negative and most positive one —
//! combined by gradient-boosted trees into one log-odds. Trained by `train/train_sentiment.py`
//! (scikit-learn) on the features that `examples/sentiment_features.rs` writes with the
//! functions below, so that training and scoring see the same n-grams and words; the model
//! files are in `data/sentiment/`.

use rustc_hash::FxHashMap as HashMap;

// The two big tables are embedded compressed (6.6 and 1.8 MB of text → ~2 MB) and decoded
// once, when the model is first asked, into a buffer dropped after parsing.
include_flate::flate!(static GRAMS: IFlate from "data/sentiment/model_grams.tsv" with zstd);
include_flate::flate!(static WORDS: IFlate from "data/sentiment/model_words.tsv" with zstd);
const TREES: &str = include_str!("../../data/sentiment/model_trees.tsv");

/// Longest character n-gram (the naive Bayes part's; the SVM's vocabulary stops at 4).
const MAX_GRAM: usize = 5;
/// Words that negate what follows them within a clause (`!` marks the next three words).
const NEGATORS: &[&str] = &[
    "不",
    "没",
    "没有",
    "未",
    "无",
    "别",
    "非",
    "莫",
    "勿",
    "毫无",
    "并非",
    "不是",
    "不太",
    "不够",
    "不怎么",
];
const NEGATED_WORDS: u8 = 3;
/// Punctuation (after `normalize_for_search`) that ends a negation's reach.
const CLAUSE_ENDS: &[&str] = &["，", "。", "！", "？", ",", ".", "!", "?", "；", ";"];

/// A feature's weights: naive Bayes log-odds (0 if not in its vocabulary) and the SVM's
/// inverse document frequency and weight (idf 0 if not in its vocabulary).
#[derive(Clone, Copy, Default)]
struct Weights {
    nb: f32,
    idf: f32,
    w: f32,
}

struct Table {
    /// Each feature's weights by a 64-bit hash of the feature ([`hash`]), held in the
    /// table itself (single precision, as written): the table is a few megabytes, and each
    /// pointer followed from it (to the key's string, to the weights) cost a cache miss
    /// per look-up — a third of the scoring time. Two of the model's features with one
    /// hash would be found when it is built (a debug assertion, the tests); a text's
    /// n-gram outside the model taken for one inside it has a chance of about 10⁻¹⁴ per
    /// look-up.
    index: HashMap<u64, Weights>,
    /// The SVM's intercept.
    bias: f64,
}

#[derive(Clone, Copy)]
struct Node {
    /// `None` for a leaf.
    split: Option<(usize, f64)>,
    left: usize,
    right: usize,
    value: f64,
}

pub(crate) struct Learned {
    grams: Table,
    words: Table,
    baseline: f64,
    trees: Vec<Vec<Node>>,
}

/// The inputs of the trees, in the order they were trained with (`grams`: how many
/// character n-grams the text has, its length; `clause_*`: the character naive Bayes of
/// the first, the last, the lowest and the highest scoring clause — a review's verdict is
/// often one clause of several: 房间不错，但是服务太差).
pub const FEATURES: [&str; 10] = [
    "nb_chars",
    "nb_words",
    "lexicon",
    "svm_chars",
    "svm_words",
    "grams",
    "clause_first",
    "clause_last",
    "clause_min",
    "clause_max",
];

/// Characters (after `normalize_for_search`) between the clauses of a text for the
/// clause scores: punctuation (an n-gram with it belongs to no clause) and white space
/// (which no n-gram holds; reviews often part their clauses with a space).
fn ends_clause(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ',' | '.' | '!' | '?' | ';' | '~' | '，' | '。' | '！' | '？' | '；' | '～' | '…'
        )
}

fn header_value(text: &str, key: &str) -> f64 {
    text.lines()
        .filter_map(|l| l.strip_prefix("# "))
        .flat_map(str::split_whitespace)
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn parse_table(text: &str) -> Table {
    let field = |v: Option<&str>| v.and_then(|v| v.parse::<f32>().ok()).unwrap_or(0.0);
    let mut index = HashMap::default();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let mut f = l.split('\t');
        let Some(key) = f.next() else { continue };
        let (nb, idf, w) = (field(f.next()), field(f.next()), field(f.next()));
        if index.insert(hash(key), Weights { nb, idf, w }).is_some() {
            // Not so with the shipped model; were it to happen, the later feature wins.
            debug_assert!(false, "two sentiment features with one hash: {key}");
        }
    }
    Table {
        index,
        bias: header_value(text, "bias"),
    }
}

fn parse_trees(text: &str) -> Vec<Vec<Node>> {
    let mut trees: Vec<Vec<Node>> = Vec::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = l.split('\t').collect();
        let [tree, _node, leaf, feature, threshold, left, right, value] = f[..] else {
            continue;
        };
        let num = |s: &str| s.parse::<f64>().unwrap_or(0.0);
        let idx = |s: &str| s.parse::<usize>().unwrap_or(0);
        let tree = idx(tree);
        if trees.len() <= tree {
            trees.resize(tree + 1, Vec::new());
        }
        trees[tree].push(Node {
            split: (leaf == "0").then(|| (idx(feature), num(threshold))),
            left: idx(left),
            right: idx(right),
            value: num(value),
        });
    }
    trees
}

pub(crate) fn learned() -> &'static Learned {
    static LEARNED: std::sync::OnceLock<Learned> = std::sync::OnceLock::new();
    LEARNED.get_or_init(|| Learned {
        grams: parse_table(&super::embedded(&GRAMS)),
        words: parse_table(&super::embedded(&WORDS)),
        baseline: header_value(TREES, "baseline"),
        trees: parse_trees(TREES),
    })
}

/// The character 1–5-grams of a (normalized) text, with repeats, none with a space in it.
pub fn char_ngrams(text: &str) -> Vec<&str> {
    char_ngram_clauses(text)
        .into_iter()
        .map(|(g, _)| g)
        .collect()
}

/// [`char_ngrams`], each with the clause it lies in (counted from 0 by the clause ends
/// before it; `None`: it holds a clause end).
pub fn char_ngram_clauses(text: &str) -> Vec<(&str, Option<u32>)> {
    let mut out = Vec::with_capacity(text.len() * 2);
    for_each_char_ngram(text, 0, |g, _, clause, _| {
        out.push((g, clause));
        true
    });
    out
}

/// Calls `f` with each character n-gram (none with a space in it), its length in
/// characters, its clause, and whether the n-grams before it at that position were all
/// wanted; once `f` returns false, the longer n-grams at that position are offered only up
/// to `always` characters (with `false`), then not at all. Returns how many n-grams the text
/// has (offered or not).
pub(crate) fn for_each_char_ngram<'a>(
    text: &'a str,
    always: usize,
    mut f: impl FnMut(&'a str, usize, Option<u32>, bool) -> bool,
) -> usize {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let bound = |i: usize| chars.get(i).map_or(text.len(), |(b, _)| *b);
    let (mut count, mut clause) = (0, 0u32);
    for i in 0..chars.len() {
        let mut offer = true;
        let mut inside = true;
        for n in 1..=MAX_GRAM.min(chars.len() - i) {
            let last = chars[i + n - 1].1;
            if last.is_whitespace() {
                break;
            }
            inside = inside && !ends_clause(last);
            count += 1;
            if offer || n <= always {
                let wanted = f(
                    &text[bound(i)..bound(i + n)],
                    n,
                    inside.then_some(clause),
                    offer,
                );
                offer = offer && wanted;
            }
        }
        if ends_clause(chars[i].1) {
            clause += 1;
        }
    }
    count
}

/// The word features of a (normalized) text, with repeats: its jieba words (a word within
/// three words after a negator, in the same clause, marked `!`), and every pair of
/// neighbouring words (`a_b`, punctuation included).
pub fn word_features(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_word_feature(text, |w| out.push(w.to_string()));
    out
}

fn for_each_word_feature(text: &str, mut f: impl FnMut(&str)) {
    let jieba = crate::jieba();
    let words: Vec<&str> = jieba
        .cut(text, true)
        .into_iter()
        .map(|w| w.word)
        .filter(|w| !w.trim().is_empty())
        .collect();
    let mut key = String::with_capacity(32);
    let mut negated = 0u8;
    for w in &words {
        if CLAUSE_ENDS.contains(w) {
            negated = 0;
            continue;
        }
        if negated > 0 {
            key.clear();
            key.push('!');
            key.push_str(w);
            f(&key);
        } else {
            f(w);
        }
        if NEGATORS.contains(w) {
            negated = NEGATED_WORDS;
        } else {
            negated = negated.saturating_sub(1);
        }
    }
    for p in words.windows(2) {
        key.clear();
        key.push_str(p[0]);
        key.push('_');
        key.push_str(p[1]);
        f(&key);
    }
}

pub(crate) fn hash(feature: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(feature.as_bytes());
    h.finish()
}

/// A feature of a text found in the model: its hash, its weights, and for a character
/// n-gram the place of its clause among the text's clauses ([`NO_CLAUSE`]: in none).
type Found = (u64, Weights, u32);
const NO_CLAUSE: u32 = u32::MAX;

impl Table {
    /// The feature's hash and weights, if the model has it.
    fn find(&self, feature: &str) -> Option<(u64, Weights)> {
        let h = hash(feature);
        self.index.get(&h).map(|w| (h, *w))
    }

    /// Naive Bayes (each distinct feature once) and the SVM's decision (sublinear TF-IDF,
    /// L2-normalized, over the features it has an idf for) over a text's features found in
    /// the model, with repeats (features in neither vocabulary add nothing to either); adds
    /// each clause's naive Bayes (each distinct feature once per clause) to `clauses`.
    fn score(&self, found: &mut [Found], clauses: &mut [f64]) -> (f64, f64) {
        // One sort serves all three: by feature, and within a feature by clause.
        found.sort_unstable_by_key(|&(h, _, c)| (h, c));
        let (mut nb, mut dot, mut norm) = (0.0, 0.0, 0.0);
        for run in found.chunk_by(|a, b| a.0 == b.0) {
            let w = run[0].1;
            nb += f64::from(w.nb);
            if w.idf > 0.0 {
                let v = (1.0 + (run.len() as f64).ln()) * f64::from(w.idf);
                dot += v * f64::from(w.w);
                norm += v * v;
            }
            if !clauses.is_empty() {
                for same in run.chunk_by(|a, b| a.2 == b.2) {
                    if let Some(sum) = clauses.get_mut(same[0].2 as usize) {
                        *sum += f64::from(w.nb);
                    }
                }
            }
        }
        let svm = if norm > 0.0 { dot / norm.sqrt() } else { 0.0 };
        (nb, svm + self.bias)
    }
}

/// The first, the last, the lowest and the highest of the clauses' scores; all 0 for none.
fn clause_scores(sums: &[f64]) -> [f64; 4] {
    let (Some(&first), Some(&last)) = (sums.first(), sums.last()) else {
        return [0.0; 4];
    };
    let low = sums.iter().copied().fold(f64::INFINITY, f64::min);
    let high = sums.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    [first, last, low, high]
}

impl Learned {
    /// The inputs of the trees for a normalized text and its lexicon score.
    /// `register` gets the hashes of the text's 1–3-grams ([`super::register::of_hashes`]).
    pub fn features(
        &self,
        text: &str,
        lexicon: f64,
        register: &mut Vec<u64>,
    ) -> [f64; FEATURES.len()] {
        let mut found: Vec<Found> = Vec::with_capacity(text.len() * 2);
        // A naive Bayes sum for each clause with an n-gram (in the model or not), in order.
        let mut clauses: Vec<f64> = Vec::new();
        let mut current = None;
        // Every feature kept was in at least two training sentences, and so was every
        // shorter n-gram it starts with: an n-gram not in the table ends the ones after it.
        // The register's n-grams (1–3 characters, every one) come from the same walk, each
        // hashed once for both.
        let length = for_each_char_ngram(text, super::register::MAX_GRAM, |g, n, clause, alive| {
            if clause.is_some() && clause != current {
                current = clause;
                clauses.push(0.0);
            }
            let h = hash(g);
            if n <= super::register::MAX_GRAM {
                register.push(h);
            }
            if !alive {
                return false;
            }
            let Some(w) = self.grams.index.get(&h).copied() else {
                return false;
            };
            let place = match clause {
                Some(_) => clauses.len() as u32 - 1,
                None => NO_CLAUSE,
            };
            found.push((h, w, place));
            true
        });
        let (nb_chars, svm_chars) = self.grams.score(&mut found, &mut clauses);
        let [first, last, low, high] = clause_scores(&clauses);
        found.clear();
        for_each_word_feature(text, |w| {
            found.extend(self.words.find(w).map(|(h, w)| (h, w, NO_CLAUSE)))
        });
        let (nb_words, svm_words) = self.words.score(&mut found, &mut []);
        [
            nb_chars,
            nb_words,
            lexicon,
            svm_chars,
            svm_words,
            length as f64,
            first,
            last,
            low,
            high,
        ]
    }

    /// The trees' log-odds that the text is positive.
    pub fn log_odds(&self, features: &[f64; FEATURES.len()]) -> f64 {
        let mut sum = self.baseline;
        for tree in &self.trees {
            let mut at = 0;
            // At most one step per node: a malformed file cannot make it loop.
            for _ in 0..tree.len() {
                let Some(node) = tree.get(at) else { break };
                match node.split {
                    Some((f, threshold)) => {
                        at = if features.get(f).copied().unwrap_or(0.0) <= threshold {
                            node.left
                        } else {
                            node.right
                        }
                    }
                    None => {
                        sum += node.value;
                        break;
                    }
                }
            }
        }
        sum
    }
}
