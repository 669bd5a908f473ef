//! Accuracy of `sentiment()` on the shipped labelled set and its throughput:
//! `cargo run --release -p dangan-text --example sentiment_eval [FILE]`.

use std::time::Instant;

fn main() {
    if let Ok(text) = std::env::var("SENTIMENT_TEXTS") {
        for t in text.split('|') {
            let (lex, log_odds) = dangan_text::sentiment::parts(t);
            println!(
                "{t}: {:.3} (lexicon {:.2}, ours {:.2}, model log-odds {log_odds:.2}) {:?} {:?}",
                dangan_text::sentiment::shape(lex, log_odds),
                lex.all,
                lex.ours,
                dangan_text::sentiment::model_features(t),
                dangan_text::sentiment::explain(t)
            );
        }
        return;
    }
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/eval/sentiment_eval.tsv").to_string()
    });
    let text = std::fs::read_to_string(&path).expect("the evaluation file");
    let set = dangan_text::sentiment::parse_labelled(&text);
    // The model is built on first use: not part of the throughput.
    let loading = Instant::now();
    dangan_text::sentiment::sentiment("加载");
    eprintln!(
        "model built in {:.0} ms",
        loading.elapsed().as_secs_f64() * 1000.0
    );
    let e = dangan_text::sentiment::evaluate(&set);
    let passes = 10;
    let started = Instant::now();
    let mut checksum = 0.0;
    for _ in 0..passes {
        for (_, t) in &set {
            checksum += dangan_text::sentiment::sentiment(t);
        }
    }
    let secs = started.elapsed().as_secs_f64() / passes as f64;
    eprintln!("(checksum {checksum:.3})");
    // Each of the model's inputs alone (the sign of its score), then the whole.
    let features: Vec<(bool, [f64; dangan_text::sentiment::FEATURES.len()])> = set
        .iter()
        .map(|(l, t)| (*l, dangan_text::sentiment::model_features(t)))
        .collect();
    for (i, name) in dangan_text::sentiment::FEATURES.iter().enumerate().take(5) {
        let ok = features.iter().filter(|(l, f)| (f[i] > 0.0) == *l).count();
        println!(
            "  {name} alone: accuracy {:.4}",
            ok as f64 / features.len() as f64
        );
    }
    println!(
        "{} sentences ({} positive): accuracy {:.4}, F1 (positive) {:.4}, F1 (negative) {:.4}, undecided {}; {:.0} sentences/s on one core",
        e.n,
        e.positives,
        e.accuracy,
        e.f1_positive,
        e.f1_negative,
        e.undecided,
        e.n as f64 / secs
    );
}
