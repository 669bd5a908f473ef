//! Recall against plain substring matching on generated archive text: every 2–4 character
//! query must find (nearly) every text that contains it, however jieba cuts the text.

use std::collections::HashSet;

use crate::{SearchIndex, SearchRequest};

/// An index in a temporary folder holding `texts` as documents `R0`, `R1`, …
pub(crate) fn index_of(texts: &[String]) -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open_at(dir.path()).unwrap();
    let docs: Vec<(String, String)> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("R{i}"), t.clone()))
        .collect();
    index.add_texts(&docs).unwrap();
    (dir, index)
}

#[test]
fn recall_of_two_to_four_character_queries_against_substring_matching() {
    let texts = dangan_generate::growth_texts(2_000, 11);
    let (_dir, index) = index_of(&texts);
    let norm: Vec<Vec<char>> = texts
        .iter()
        .map(|t| dangan_text::normalize_for_search(t).chars().collect())
        .collect();

    // 300 queries: substrings of 2, 3 and 4 Chinese characters cut at arbitrary places (so
    // most cross jieba's word boundaries), from texts spread over the corpus.
    let mut queries: Vec<String> = Vec::new();
    let mut k = 0usize;
    while queries.len() < 300 {
        k += 1;
        let chars = &norm[(k * 7919) % norm.len()];
        let len = 2 + k % 3;
        if chars.len() <= len {
            continue;
        }
        let start = (k * 104_729) % (chars.len() - len);
        let q: String = chars[start..start + len].iter().collect();
        if q.chars().all(dangan_text::is_cjk) && !queries.contains(&q) {
            queries.push(q);
        }
    }
    let (mut expected_total, mut found_total) = (0usize, 0usize);
    let mut worst: Vec<(String, usize, usize)> = Vec::new();
    for q in &queries {
        let qc: Vec<char> = q.chars().collect();
        let expected: HashSet<String> = norm
            .iter()
            .enumerate()
            .filter(|(_, t)| t.windows(qc.len()).any(|w| w == qc.as_slice()))
            .map(|(i, _)| format!("R{i}"))
            .collect();
        let got: HashSet<String> = keys(
            &index,
            &SearchRequest {
                query: q.clone(),
                limit: texts.len(),
                facets: true,
                ..Default::default()
            },
        )
        .into_iter()
        .collect();
        let found = expected.intersection(&got).count();
        expected_total += expected.len();
        found_total += found;
        if found < expected.len() {
            worst.push((q.clone(), found, expected.len()));
        }
    }
    let recall = found_total as f64 / expected_total as f64;
    eprintln!(
        "recall over {} queries: {recall:.4} ({found_total} of {expected_total}); misses: {:?}",
        queries.len(),
        &worst[..worst.len().min(10)]
    );
    assert!(expected_total > 1000, "the queries match something");

    // The fast top-k (ranked candidates checked one by one) gives what scoring every match
    // gives: the same scores in the same order, for the first page and a later one.
    let searcher = index.searcher();
    let mut fast_used = 0;
    let extra = ["三会一课 学习".to_string(), "\"思想上\" -组织".to_string()];
    for q in queries.iter().take(120).chain(&extra) {
        for (need, datasets) in [(10, vec![]), (40, vec![]), (10, vec!["test".to_string()])] {
            // Limited to one dataset, the ranking holds the dataset's term too.
            let req = SearchRequest {
                query: q.clone(),
                limit: need,
                datasets,
                ..Default::default()
            };
            let crate::plan::Plan {
                matcher, ranker, ..
            } = index.plan(&searcher, &req).unwrap();
            fast_used += usize::from(ranker.is_some());
            let fast = index
                .top_matches(&searcher, matcher.as_ref(), ranker.as_ref(), need, true)
                .unwrap();
            let full = index
                .top_matches(&searcher, matcher.as_ref(), ranker.as_ref(), need, false)
                .unwrap();
            // (Sums of the same terms in another order may differ in the last bits.)
            assert_eq!(fast.len(), full.len(), "query {q}, top {need}");
            for (a, b) in fast.iter().zip(&full) {
                assert!(
                    (a.0 - b.0).abs() < 1e-3 && a.1 == b.1,
                    "query {q}, top {need}: {fast:?} vs {full:?}"
                );
            }
        }
    }
    assert!(
        fast_used > 200,
        "the fast path is what is tested ({fast_used})"
    );
    assert!(
        recall >= 0.98,
        "recall {recall:.4} < 0.98; misses {worst:?}"
    );
}

/// The keys of a search's hits, in rank order.
fn keys(index: &SearchIndex, req: &SearchRequest) -> Vec<String> {
    index
        .search(req)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.key)
        .collect()
}

/// The keys of the top 10 hits of `q`, sorted.
fn sorted_keys(index: &SearchIndex, q: &str) -> Vec<String> {
    let mut k = keys(
        index,
        &SearchRequest {
            query: q.into(),
            limit: 10,
            ..Default::default()
        },
    );
    k.sort();
    k
}

/// The keys of a search's hits, sorted, with the counts asked for: the total is the hits.
fn counted_keys(index: &SearchIndex, req: SearchRequest) -> Vec<String> {
    let r = index
        .search(&SearchRequest {
            facets: true,
            ..req
        })
        .unwrap();
    let mut k: Vec<String> = r.hits.iter().map(|h| h.key.clone()).collect();
    k.sort();
    assert_eq!(r.total, k.len(), "{:?}", r.facets);
    k
}

#[test]
fn words_inside_longer_words_and_traditional_characters() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open_at(dir.path()).unwrap();
    index
        .add_texts(&[
            ("a".into(), "这个软件安装简单，使用方便。".into()),
            ("b".into(), "积极参加社区志愿服务活动。".into()),
            ("c".into(), "全體黨員參加主題黨日。".into()),
            ("d".into(), "按时参加三会一课，从不请假。".into()),
            ("e".into(), "三会一课因事请假一次。".into()),
        ])
        .unwrap();
    let keys = |q: &str| sorted_keys(&index, q);
    assert_eq!(keys("简单"), vec!["a"]);
    assert_eq!(keys("志愿"), vec!["b"]);
    assert_eq!(keys("党员"), vec!["c"]);
    assert_eq!(keys("黨員 主题党日"), vec!["c"]);
    assert_eq!(keys("三会一课"), vec!["d", "e"]);
    assert_eq!(keys("\"三会一课\" -\"因事请假\""), vec!["d"]);
    assert_eq!(keys("简单 OR 志愿"), vec!["a", "b"]);
    assert!(keys("火星").is_empty());
    let r = index
        .search(&SearchRequest {
            query: "志愿服务".into(),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.hits[0].snippet, "积极参加社区<mark>志愿服务</mark>活动。");
    assert!(matches!(
        index.search(&SearchRequest {
            query: "\"未闭合".into(),
            limit: 10,
            ..Default::default()
        }),
        Err(crate::Error::Query(_))
    ));
}

#[test]
fn cached_results_last_only_while_the_index_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open_at(dir.path()).unwrap();
    index.set_cache_capacity(2);
    index
        .add_texts(&[("a".into(), "积极参加社区志愿服务活动。".into())])
        .unwrap();
    let keys = |q: &str| sorted_keys(&index, q);
    let req = |q: &str| SearchRequest {
        query: q.into(),
        limit: 10,
        ..Default::default()
    };
    let cached = |q: &str| index.cached(&req(q)).map(|r| r.hits.len());
    assert_eq!(cached("志愿"), None, "nothing searched yet");
    assert_eq!(keys("志愿"), vec!["a"]);
    assert_eq!(keys("志愿"), vec!["a"], "from the cache");
    assert_eq!(cached("志愿"), Some(1));
    // A commit is a new generation: the cached answer is not used.
    index
        .add_texts(&[("b".into(), "组织志愿者清扫街道。".into())])
        .unwrap();
    assert_eq!(cached("志愿"), None, "the index changed");
    assert_eq!(keys("志愿"), vec!["a", "b"]);
    assert_eq!(cached("志愿"), Some(2));
    // More distinct searches than the capacity: the oldest go, answers stay right.
    for q in ["社区", "街道", "活动", "志愿"] {
        assert!(!keys(q).is_empty(), "{q}");
    }
    index.set_cache_capacity(0);
    assert_eq!(keys("街道"), vec!["b"]);
    assert_eq!(cached("街道"), None, "no cache");
}

#[test]
fn limited_to_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open_at(dir.path()).unwrap();
    index
        .add_texts(&[
            ("a".into(), "王芳参加社区志愿服务。".into()),
            ("b".into(), "组织学习党史。".into()),
        ])
        .unwrap();
    index.add_names(&[("p".into(), "王芳".into())]).unwrap();
    let keys = |datasets: &[&str]| {
        counted_keys(
            &index,
            SearchRequest {
                query: "王芳".into(),
                limit: 10,
                datasets: datasets.iter().map(|d| d.to_string()).collect(),
                ..Default::default()
            },
        )
    };
    assert_eq!(keys(&[]), vec!["a", "p"]);
    assert_eq!(keys(&["test"]), vec!["a"]);
    assert_eq!(keys(&["test-people"]), vec!["p"]);
    assert_eq!(keys(&["test", "test-people"]), vec!["a", "p"]);
    assert!(keys(&["members"]).is_empty());
}

#[test]
fn scopes_filter_unless_they_pass_everything() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open_at(dir.path()).unwrap();
    index
        .add_texts(&[("a".into(), "王芳参加社区志愿服务。".into())])
        .unwrap();
    index.add_names(&[("p".into(), "王芳".into())]).unwrap();
    type Given<'a> = Vec<(&'a str, Option<Vec<&'a str>>)>;
    let keys = |scopes: Option<Given>| {
        let scopes = scopes.map(|s| {
            s.into_iter()
                .map(|(d, o)| crate::ResolvedScope {
                    dataset: d.to_string(),
                    orgs: o.map(|o| o.into_iter().map(str::to_string).collect()),
                })
                .collect()
        });
        counted_keys(
            &index,
            SearchRequest {
                query: "王芳".into(),
                limit: 10,
                scopes,
                ..Default::default()
            },
        )
    };
    // Scope all on every dataset the index holds: no filter, everything.
    assert_eq!(
        keys(Some(vec![("test", None), ("test-people", None)])),
        vec!["a", "p"]
    );
    // One dataset left out, or limited to organizations the texts are not of: filtered.
    assert_eq!(keys(Some(vec![("test", None)])), vec!["a"]);
    assert_eq!(
        keys(Some(vec![
            ("test", None),
            ("test-people", Some(vec!["D9"]))
        ])),
        vec!["a"]
    );
    assert!(keys(Some(vec![])).is_empty());
    assert_eq!(keys(None), vec!["a", "p"]);
}

#[test]
fn the_total_counts_every_match_with_or_without_facets() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open_at(dir.path()).unwrap();
    let texts: Vec<(String, String)> = (0..7)
        .map(|i| (format!("t{i}"), format!("第{i}次参加社区志愿服务。")))
        .collect();
    index.add_texts(&texts).unwrap();
    index
        .add_names(&[("p1".into(), "王志愿".into()), ("p2".into(), "李四".into())])
        .unwrap();
    for facets in [true, false] {
        for q in ["志愿", "志愿服务"] {
            let r = index
                .search(&SearchRequest {
                    query: q.into(),
                    limit: 2,
                    facets,
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(r.hits.len(), 2, "{q} facets={facets}");
            let want = if q == "志愿" { 8 } else { 7 };
            assert_eq!(
                r.total, want,
                "{q} facets={facets}: the total is not the page"
            );
            assert_eq!(r.facets.dataset.is_empty(), !facets);
            assert!(r.total_exact);
        }
    }
    // Counted up to a bound: a lower bound past it, never below the hits shown; exact under
    // it, and always with the facets.
    let search = |q: &str, count_to: usize, facets: bool, offset: usize| {
        index
            .search(&SearchRequest {
                query: q.into(),
                limit: 2,
                offset,
                facets,
                count_to: Some(count_to),
                ..Default::default()
            })
            .unwrap()
    };
    let r = search("志愿服务", 3, false, 0);
    assert_eq!((r.total, r.total_exact, r.hits.len()), (3, false, 2));
    let r = search("志愿服务", 7, false, 0);
    assert_eq!((r.total, r.total_exact), (7, true));
    let r = search("志愿服务", 100, false, 0);
    assert_eq!((r.total, r.total_exact), (7, true));
    let r = search("志愿服务", 0, false, 4);
    assert_eq!((r.total, r.total_exact, r.hits.len()), (6, false, 2));
    let r = search("志愿服务", 3, true, 0);
    assert_eq!((r.total, r.total_exact), (7, true));
    // The names found count beside a bounded count of the texts.
    let r = search("志愿", 3, false, 0);
    assert_eq!((r.total, r.total_exact), (4, false));
}

#[test]
fn an_older_format_is_recreated_and_a_newer_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("dangan-state.json");
    let current = format!("\"format\": {}", crate::index::FORMAT);
    let written_as = |format: u32| {
        let index = SearchIndex::open_at(dir.path()).unwrap();
        index.add_names(&[("p".into(), "王芳".into())]).unwrap();
        drop(index);
        let text = std::fs::read_to_string(&state).unwrap();
        assert!(text.contains(&current), "{text}");
        std::fs::write(
            &state,
            text.replace(&current, &format!("\"format\": {format}")),
        )
        .unwrap();
    };
    // A newer dangan wrote it: refused with what to do, nothing wiped.
    written_as(crate::index::FORMAT + 1);
    let e = SearchIndex::open_at(dir.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains(&format!("format {}", crate::index::FORMAT + 1)) && e.contains("index rebuild"),
        "{e}"
    );
    assert!(
        std::fs::read_to_string(&state)
            .unwrap()
            .contains(&format!("\"format\": {}", crate::index::FORMAT + 1))
    );
    std::fs::remove_dir_all(dir.path()).unwrap();
    // An older one: recreated empty (the next sync reads the tables again), and said so.
    written_as(1);
    let index = SearchIndex::open_at(dir.path()).unwrap();
    assert_eq!(index.upgraded_from(), Some(1));
    assert!(!state.exists());
    let found = index
        .search(&SearchRequest {
            query: "王芳".into(),
            limit: 5,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.total, 0);
    drop(index);
    // An unreadable state is refused, not taken for an old one.
    std::fs::write(&state, "{ not json").unwrap();
    let e = SearchIndex::open_at(dir.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains("unreadable") && e.contains("index rebuild"),
        "{e}"
    );
}
