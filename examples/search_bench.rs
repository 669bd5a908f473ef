//! The search benchmark's Rust side (run by `bench/search_vs_fts5.py`): builds an index of N
//! generated growth-record texts and N/10 people's names (segmentation and pinyin included),
//! times 200 queries, and writes the documents, their jieba segmentation and the queries for
//! SQLite FTS5 to use the same ones.
//!
//!     cargo run --release --example search_bench -- --docs 1000000 --out /tmp/sb

use std::io::Write;
use std::time::Instant;

use dangan_index::{SearchIndex, SearchRequest};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let docs: usize = arg("--docs").map_or(Ok(100_000), |s| s.parse())?;
    let out = std::path::PathBuf::from(arg("--out").unwrap_or_else(|| "/tmp/search-bench".into()));
    std::fs::create_dir_all(&out)?;
    let texts = dangan_generate::growth_texts(docs, 2026);
    let names = dangan_generate::names(docs / 10, 2026);
    let bytes: usize = texts.iter().chain(&names).map(String::len).sum();
    let name_pairs: Vec<(String, String)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("P{i}"), n.clone()))
        .collect();
    let pairs: Vec<(String, String)> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (i.to_string(), t.clone()))
        .collect();
    let dir = out.join("index");
    // `--reuse`: query the index a previous run built (to time query changes alone).
    let reuse = args.iter().any(|a| a == "--reuse") && dir.join("meta.json").exists();
    if !reuse {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let index = SearchIndex::open_at(&dir)?;
    let t = Instant::now();
    if !reuse {
        index.add_texts(&pairs)?;
        index.add_names(&name_pairs)?;
    }
    let build = t.elapsed().as_secs_f64();
    let size: u64 = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();

    // 200 queries: 70 words, 40 two-word queries, 50 quoted phrases from the texts; 20 names
    // and 20 pinyin (10 full, 5 spaced, 5 initials) from the names.
    let jieba = dangan_text::jieba();
    let mut words: Vec<String> = Vec::new();
    for t in texts.iter().step_by((docs / 500).max(1)) {
        for w in jieba.cut(t, true) {
            let w = w.word;
            if w.chars().count() >= 2
                && w.chars().all(dangan_text::is_cjk)
                && !words.iter().any(|x| x == w)
            {
                words.push(w.to_string());
            }
        }
    }
    let mut queries: Vec<(String, &str)> = Vec::new();
    for w in words.iter().take(70) {
        queries.push((w.clone(), "word"));
    }
    for i in 0..40 {
        let (a, b) = (
            &words[(i * 7) % words.len()],
            &words[(i * 13 + 5) % words.len()],
        );
        queries.push((format!("{a} {b}"), "two words"));
    }
    for i in 0..50 {
        let chars: Vec<char> = texts[(i * 7919) % texts.len()].chars().collect();
        let len = 3 + i % 3;
        let start = (i * 31) % chars.len().saturating_sub(len).max(1);
        let p: String = chars[start..(start + len).min(chars.len())]
            .iter()
            .collect();
        if p.chars().all(dangan_text::is_cjk) {
            queries.push((format!("\"{p}\""), "phrase"));
        } else {
            queries.push((words[i % words.len()].clone(), "word"));
        }
    }
    let step = (names.len() / 40).max(1);
    for (i, n) in names.iter().step_by(step).take(40).enumerate() {
        if i < 20 {
            queries.push((n.clone(), "name"));
            continue;
        }
        let keys = dangan_text::name_keys(n);
        let full = keys
            .iter()
            .max_by_key(|k| k.len())
            .cloned()
            .unwrap_or_default();
        let q = match i % 4 {
            0 => keys
                .iter()
                .min_by_key(|k| k.len())
                .cloned()
                .unwrap_or_default(),
            1 => {
                let spaced: Vec<String> = n
                    .chars()
                    .map(|c| dangan_text::name_pinyin(&c.to_string()))
                    .collect();
                if keys.contains(&spaced.concat()) {
                    spaced.join(" ")
                } else {
                    full
                }
            }
            _ => full,
        };
        queries.push((q, "pinyin"));
    }
    // The same queries with the total count and facets (what `dangan search` shows).
    let mut lat_facets = Vec::new();
    for (q, _) in &queries {
        let t = Instant::now();
        index.search(&SearchRequest {
            query: q.clone(),
            limit: 10,
            facets: true,
            ..Default::default()
        })?;
        lat_facets.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    lat_facets.sort_by(|a, b| a.total_cmp(b));
    // `--profile N`: run the top-10 queries N more times first (for `perf`, not reported).
    let profile: usize = arg("--profile").map_or(Ok(0), |s| s.parse())?;
    for _ in 0..profile {
        for (q, _) in &queries {
            index.search(&SearchRequest {
                query: q.clone(),
                limit: 10,
                ..Default::default()
            })?;
        }
    }
    let mut lat = Vec::new();
    let mut qf = std::io::BufWriter::new(std::fs::File::create(out.join("queries.tsv"))?);
    for (q, kind) in &queries {
        let t = Instant::now();
        let r = index.search(&SearchRequest {
            query: q.clone(),
            limit: 10,
            ..Default::default()
        })?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        lat.push(ms);
        let plain = q.trim_matches('"');
        let seg: Vec<String> = if *kind == "pinyin" {
            // FTS5 holds a name's pinyin keys as words (see texts.tsv).
            vec![plain.replace(' ', "")]
        } else {
            plain
                .split_whitespace()
                .map(|p| dangan_text::segment(p).join(" "))
                .collect()
        };
        writeln!(
            qf,
            "{kind}\t{plain}\t{}\t{}\t{ms:.3}",
            seg.join(" "),
            r.total
        )?;
    }
    qf.flush()?;
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    if !reuse {
        let mut tf = std::io::BufWriter::new(std::fs::File::create(out.join("texts.tsv"))?);
        for t in &texts {
            let seg = dangan_text::segment(t).join(" ");
            writeln!(tf, "{}\t{}", t.replace(['\t', '\n'], " "), seg)?;
        }
        // A name with its pinyin keys as words, for both FTS5 tables.
        for n in &names {
            let keys = dangan_text::name_keys(n).join(" ");
            writeln!(
                tf,
                "{n} {keys}\t{} {keys}",
                dangan_text::segment(n).join(" ")
            )?;
        }
        tf.flush()?;
    }
    println!(
        "{}",
        serde_json::json!({
            "docs": docs + names.len(),
            "text_mb": bytes as f64 / 1e6,
            "build_s": build,
            "docs_per_s": docs as f64 / build,
            "mb_per_s": bytes as f64 / 1e6 / build,
            "index_mb": size as f64 / 1e6,
            "queries": queries.len(),
            "p50_ms": pct(0.5),
            "p99_ms": pct(0.99),
            "facets_p50_ms": lat_facets[lat_facets.len() / 2],
            "facets_p99_ms": lat_facets[((lat_facets.len() as f64 - 1.0) * 0.99).round() as usize],
        })
    );
    Ok(())
}
