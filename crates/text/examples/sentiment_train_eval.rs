//! Adapting, set by set, as `dangan text train` and `dangan text eval` do it through a lake:
//! train on half A of a development set, score half B with the shipped and the trained
//! analyzer (BENCHMARKS.md, issue 26):
//!
//! ```sh
//! cargo run --release -p dangan-text --example sentiment_train_eval -- /tmp/evalhalves weibo_covid review_waimai
//! ```

use dangan_text::sentiment::evaluation::{evaluate_labelled, parse_tsv};
use dangan_text::sentiment::{Analyzer, adapt};

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some((halves, sets)) = args[1..].split_first() else {
        eprintln!("usage: sentiment_train_eval HALVES_DIR SET...");
        std::process::exit(2);
    };
    println!("set\thalf B shipped\tafter training\tcross-validated before\tafter\tkept");
    for set in sets {
        let (a, b) = (
            read(&format!("{halves}/A/{set}.tsv")),
            read(&format!("{halves}/B/{set}.tsv")),
        );
        let (a, b) = (
            parse_tsv(&a).expect("half A"),
            parse_tsv(&b).expect("half B"),
        );
        let shipped = Analyzer::shipped();
        let t = adapt::train(&a, shipped, "v1", 0).expect("training");
        let trained = shipped.with_adapted(Some(t.model.clone()));
        let before = evaluate_labelled(&b, |x| shipped.score(x), 0).balanced_accuracy;
        let after = evaluate_labelled(&b, |x| trained.score(x), 0).balanced_accuracy;
        println!(
            "{set}\t{before:.3}\t{after:.3}\t{:.3}\t{:.3}\t{}",
            t.before.balanced_accuracy,
            t.after.balanced_accuracy,
            t.improved()
        );
    }
}
