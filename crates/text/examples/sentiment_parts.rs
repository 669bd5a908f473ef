//! Each labelled text's parts, so that ways of adding them up can be compared on half A of the
//! development sets without a build per try (BENCHMARKS.md, issue 26):
//!
//! ```sh
//! cargo run --release -p dangan-text --example sentiment_parts -- /tmp/evalhalves/A/*.tsv > parts.tsv
//! ```
//!
//! One line per text: file, label (1, −1, 0 for neutral), the lexicon's sum, its part from
//! dangan's own words, the learned model's log-odds, the register, and the score.

use dangan_text::sentiment::{Label, parse_labelled, parts, sentiment};

fn main() {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for (label, t) in parse_labelled(&text) {
            let p = parts(t);
            let label = match label {
                Label::Positive => 1,
                Label::Negative => -1,
                Label::Neutral => 0,
            };
            println!(
                "{path}\t{label}\t{}\t{}\t{}\t{}\t{}",
                p.lexicon.all,
                p.lexicon.ours,
                p.log_odds,
                p.register,
                sentiment(t)
            );
        }
    }
}
