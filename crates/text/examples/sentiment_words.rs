//! The lexicon words whose sign disagrees with the labels of the texts they are found in more
//! often than not (at least three times): where to look for look-alikes, degree adverbs and
//! topic words the lists weigh by mistake (BENCHMARKS.md, issue 26). Run on half A only:
//!
//! ```sh
//! cargo run --release -p dangan-text --example sentiment_words -- /tmp/evalhalves/A/*.tsv
//! ```

use std::collections::HashMap;

use dangan_text::sentiment::{Label, explain, parse_labelled};

fn main() {
    // word → (its contribution as first seen, agreeing, disagreeing)
    let mut found: HashMap<String, (f64, u32, u32)> = HashMap::new();
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for (label, t) in parse_labelled(&text) {
            let side = match label {
                Label::Positive => 1.0,
                Label::Negative => -1.0,
                Label::Neutral => continue,
            };
            for (w, v) in explain(t) {
                let e = found.entry(w).or_insert((v, 0, 0));
                if v * side > 0.0 {
                    e.1 += 1;
                } else {
                    e.2 += 1;
                }
            }
        }
    }
    let mut words: Vec<_> = found
        .into_iter()
        .filter(|(_, e)| e.2 >= 3 && e.2 > 2 * e.1)
        .collect();
    words.sort_by_key(|(w, e)| (std::cmp::Reverse(e.2), w.clone()));
    for (w, (v, agree, disagree)) in words {
        println!("{w}\t{v:.2}\tagree {agree}\tdisagree {disagree}");
    }
}
