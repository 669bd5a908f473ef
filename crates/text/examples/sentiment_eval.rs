//! Accuracy of `sentiment()` on labelled sets and its throughput:
//! `cargo run --release -p dangan-text --example sentiment_eval [FILE …]` — each FILE a
//! `label<TAB>text` TSV (labels positive/negative/neutral, 正面/负面/中性 or 1/0); without
//! one, the shipped set. `SENTIMENT_TEXTS='a|b'` shows the parts of single texts instead.

use std::time::Instant;

use dangan_text::sentiment;

fn main() {
    if let Ok(text) = std::env::var("SENTIMENT_TEXTS") {
        for t in text.split('|') {
            let p = sentiment::parts(t);
            println!(
                "{t}: {:.3} (lexicon {:.2}, ours {:.2}, model log-odds {:.2}, register {:.2}) {:?} {:?}",
                sentiment::shape(&p),
                p.lexicon.all,
                p.lexicon.ours,
                p.log_odds,
                p.register,
                sentiment::model_features(t),
                sentiment::explain(t)
            );
        }
        return;
    }
    let mut paths: Vec<String> = std::env::args().skip(1).collect();
    // `--dump`: each text's label and parts (set, label, lexicon, ours, log-odds, score), for
    // comparing designs on half A outside Rust.
    if paths.first().is_some_and(|p| p == "--dump") {
        for path in &paths[1..] {
            let text = std::fs::read_to_string(path).expect("the evaluation file");
            let name = std::path::Path::new(path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            for (label, t) in sentiment::parse_labelled(&text) {
                let p = sentiment::parts(t);
                println!(
                    "{name}\t{}\t{:.4}\t{:.4}\t{:.4}\t{:.4}\t{:.3}",
                    label.name(),
                    p.lexicon.all,
                    p.lexicon.ours,
                    p.log_odds,
                    sentiment::shape(&p),
                    p.register
                );
            }
        }
        return;
    }
    if paths.is_empty() {
        paths.push(concat!(env!("CARGO_MANIFEST_DIR"), "/data/eval/sentiment_eval.tsv").into());
    }
    // The model is built on first use: not part of the throughput.
    let loading = Instant::now();
    sentiment::sentiment("加载");
    eprintln!(
        "model built in {:.0} ms",
        loading.elapsed().as_secs_f64() * 1000.0
    );
    println!("set\tn\tBA\tsign BA\tF1+\tF1-\tundecided\tneutral recall\tsentences/s");
    let (mut worst, mut sum, mut sets) = (f64::INFINITY, 0.0, 0);
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("the evaluation file");
        let set = sentiment::parse_labelled(&text);
        let started = Instant::now();
        let e = sentiment::evaluate(&set);
        let per_s = set.len() as f64 / started.elapsed().as_secs_f64();
        let name = std::path::Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "{name}\t{}\t{:.4}\t{:.4}\t{:.3}\t{:.3}\t{:.1}%\t{}\t{per_s:.0}",
            e.n,
            e.balanced_accuracy,
            e.sign_balanced_accuracy,
            e.classes[0].f1,
            e.classes[1].f1,
            e.undecided_share * 100.0,
            e.neutral_recall()
                .map(|r| format!("{r:.3}"))
                .unwrap_or_else(|| "-".into())
        );
        if !name.starts_with("chat") {
            worst = worst.min(e.balanced_accuracy);
            sum += e.balanced_accuracy;
            sets += 1;
        }
    }
    // Throughput as the reports see it: `sentiment()` alone, ten passes over the first set.
    let text = std::fs::read_to_string(&paths[0]).expect("the evaluation file");
    let set = sentiment::parse_labelled(&text);
    let passes = 10;
    let started = Instant::now();
    let mut checksum = 0.0;
    for _ in 0..passes {
        for (_, t) in &set {
            checksum += sentiment::sentiment(t);
        }
    }
    let secs = started.elapsed().as_secs_f64() / f64::from(passes);
    println!(
        "throughput: {:.0} sentences/s on one core ({} sentences × {passes}; checksum {checksum:.3})",
        set.len() as f64 / secs,
        set.len()
    );
    if sets > 1 {
        println!(
            "worst {worst:.4}, mean {:.4} (chat_* aside)",
            sum / sets as f64
        );
    }
}
