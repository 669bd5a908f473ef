//! Search through the binary: the index built by the demo, names and pinyin, filters, facets,
//! the index following an upsert, status, and bad queries.

use crate::support::*;

fn search(lake: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["search"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    serde_json::from_str(&ok(lake, &all)).unwrap()
}

fn keys(v: &serde_json::Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn search_names_pinyin_filters_and_the_index_follows_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.as_path();
    let tour = ok(lake, &["demo", "--members", "150", "--seed", "5"]);
    assert!(tour.contains("documents indexed"), "{tour}");

    // Words find growth records, with marked snippets, facets and the json shape of the issue.
    let r = search(lake, &["志愿", "--limit", "3"]);
    assert!(r["total"].as_u64().unwrap() > 0, "{r}");
    let hit = &r["hits"][0];
    for f in [
        "dataset",
        "key",
        "member_id",
        "org_id",
        "date",
        "score",
        "snippet",
    ] {
        assert!(hit.get(f).is_some(), "hit has {f}: {hit}");
    }
    assert!(
        hit["snippet"].as_str().unwrap().contains("<mark>志愿"),
        "{hit}"
    );
    let per_dataset: u64 = r["facets"]["dataset"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(per_dataset, r["total"].as_u64().unwrap());
    // Each organization's count is the same in a search within it (names read from the
    // column dictionaries in one walk: the right name with the right count), and the counts
    // of a search within it add up to its total.
    let orgs = r["facets"]["org"].as_object().unwrap();
    assert!(orgs.len() > 2, "{r}");
    for (org, n) in orgs {
        let within = search(lake, &["志愿", "--org", org, "--limit", "1"]);
        assert_eq!(within["facets"]["org"][org], *n, "{org}: {within}");
        let sum: u64 = within["facets"]["org"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(sum, within["total"].as_u64().unwrap(), "{org}: {within}");
    }

    // A member by name, by full pinyin, spaced pinyin and initials.
    let m = sql(
        lake,
        "select member_id, name, org_id from members order by member_id limit 1",
    );
    let (id, name) = (
        m[0]["member_id"].as_str().unwrap(),
        m[0]["name"].as_str().unwrap(),
    );
    let keys_of = |q: &str| keys(&search(lake, &[q, "--dataset", "members", "--limit", "50"]));
    assert!(keys_of(name).contains(&id.to_string()), "name {name}");
    let py = dangan_text::name_keys(name);
    let full = py.iter().max_by_key(|k| k.len()).unwrap().clone();
    let initials = py.iter().min_by_key(|k| k.len()).unwrap().clone();
    assert!(
        keys_of(&full).contains(&id.to_string()),
        "pinyin {full} for {name}"
    );
    assert!(
        keys_of(&initials).contains(&id.to_string()),
        "initials {initials} for {name}"
    );

    // Filters: dataset, org sub-tree (the root holds everything), dates.
    let all = search(lake, &["党员", "--limit", "1"])["total"]
        .as_u64()
        .unwrap();
    let root = sql(
        lake,
        "select org_id from organizations where parent_id is null limit 1",
    );
    let root = root[0]["org_id"].as_str().unwrap();
    let in_tree = search(lake, &["党员", "--org", root, "--limit", "1"])["total"]
        .as_u64()
        .unwrap();
    assert!(in_tree > 0 && in_tree <= all);
    let gr = search(
        lake,
        &[
            "党员",
            "--dataset",
            "growth_records",
            "--from",
            "2025-01-01",
            "--limit",
            "100",
        ],
    );
    for h in gr["hits"].as_array().unwrap() {
        assert_eq!(h["dataset"], "growth_records");
        assert!(h["date"].as_str().unwrap() >= "2025-01-01", "{h}");
    }

    // The index follows an upsert: the old text disappears, the new one is found.
    let rec = sql(
        lake,
        "select record_id, member_id, date from growth_records order by record_id limit 1",
    );
    let (rid, mid, date) = (
        rec[0]["record_id"].as_str().unwrap(),
        rec[0]["member_id"].as_str().unwrap(),
        rec[0]["date"].as_str().unwrap(),
    );
    // The record re-sent with another content, upserted (with more arguments, if any).
    let csv = dir.path().join("fix.csv");
    let resend = |content: &str, more: &[&str]| {
        std::fs::write(
            &csv,
            format!("record_id,member_id,date,category,title,content\n{rid},{mid},{date},思想汇报,更正,{content}\n"),
        )
        .unwrap();
        let csv = csv.to_str().unwrap();
        let mut args = vec!["import", "growth_records", csv, "--mode", "upsert"];
        args.extend(more);
        ok(lake, &args)
    };
    let out = resend("本人参加了鸿雁传书读书会", &[]);
    // Only the changed row is applied (the change data feed), not the dataset re-read.
    assert!(out.contains("1 changed rows applied"), "{out}");
    assert_eq!(
        keys(&search(lake, &["鸿雁传书读书会"])),
        vec![rid.to_string()]
    );
    let old_gone = search(
        lake,
        &["鸿雁传书读书会 OR 更正", "--dataset", "growth_records"],
    );
    assert_eq!(
        keys(&old_gone),
        vec![rid.to_string()],
        "one document per row"
    );
    // A member moving to another branch re-reads the documents that borrow the branch.
    let orgs = sql(lake, "select org_id from organizations order by org_id");
    let member = sql(
        lake,
        &format!("select * from members where member_id = '{mid}'"),
    );
    let now = member[0]["org_id"].as_str().unwrap();
    let other = orgs
        .iter()
        .map(|o| o["org_id"].as_str().unwrap())
        .find(|o| *o != now)
        .unwrap();
    let roster = dir.path().join("move.csv");
    let cols: Vec<&str> = member[0].keys().map(String::as_str).collect();
    let vals: Vec<String> = cols
        .iter()
        .map(|c| match *c {
            "org_id" => other.to_string(),
            c => match &member[0][c] {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            },
        })
        .collect();
    std::fs::write(&roster, format!("{}\n{}\n", cols.join(","), vals.join(","))).unwrap();
    let out = ok(
        lake,
        &[
            "import",
            "members",
            roster.to_str().unwrap(),
            "--mode",
            "upsert",
        ],
    );
    assert!(
        out.contains("growth_records") && out.contains("re-read"),
        "{out}"
    );
    let moved = search(lake, &["鸿雁传书读书会", "--org", other]);
    assert_eq!(keys(&moved), vec![rid.to_string()], "{out}");
    assert!(index_in_step(lake));
    // A search that finds the index behind (an import with --no-index) catches it up and
    // answers from the caught-up index, not from what it had read before.
    resend("本人参加了青松翠柏研学会", &["--no-index"]);
    assert!(!index_in_step(lake));
    assert_eq!(
        keys(&search(lake, &["青松翠柏研学会"])),
        vec![rid.to_string()]
    );
    assert!(keys(&search(lake, &["鸿雁传书读书会"])).is_empty());

    // A member's whole archive: json by id, a printable page, and by name or pinyin.
    let a: serde_json::Value =
        serde_json::from_str(&ok(lake, &["member", id, "--format", "json"])).unwrap();
    assert_eq!(a["member"]["member_id"], id);
    assert_eq!(a["member"]["name"], name);
    let sections: Vec<&str> = a["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["dataset"].as_str().unwrap())
        .collect();
    assert!(
        sections.contains(&"appraisals") || sections.contains(&"growth_records"),
        "{sections:?}"
    );
    let page = dir.path().join("archive.html");
    ok(
        lake,
        &[
            "member",
            id,
            "--format",
            "html",
            "--out",
            page.to_str().unwrap(),
        ],
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("党员档案") && html.contains(name), "{html}");
    let by_pinyin = dangan(lake, &["member", &full]);
    if by_pinyin.status.success() {
        assert!(stdout(&by_pinyin).contains(id));
    } else {
        // Several members share the name: they are listed, with ids to choose from.
        assert!(stderr(&by_pinyin).contains(id), "{}", stderr(&by_pinyin));
    }
    assert!(tour.contains("dangan member"), "the tour shows an archive");
    let o = dangan(lake, &["member", "没有这个人"]);
    assert_eq!(o.status.code(), Some(1));

    // Bad queries: a clear message and exit code 2, never a panic.
    let o = dangan(lake, &["search", "\"未闭合"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("引号"), "{}", stderr(&o));
    let o = dangan(lake, &["search", "党员", "--org", "NO_SUCH_ORG"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("NO_SUCH_ORG"));

    // An index an older dangan wrote (an older format) is rebuilt from the tables by the
    // first command that needs it, which says so; one a newer dangan wrote is refused with
    // what to do, never wiped; `index rebuild` recreates it.
    let state = lake.join("index/dangan-state.json");
    let text = std::fs::read_to_string(&state).unwrap();
    let n = search(lake, &["志愿", "--limit", "3"])["total"]
        .as_u64()
        .unwrap();
    let mut written: serde_json::Value = serde_json::from_str(&text).unwrap();
    let format = written["format"].as_u64().unwrap();
    written["format"] = 1.into();
    std::fs::write(&state, written.to_string()).unwrap();
    let o = dangan(
        lake,
        &["search", "志愿", "--limit", "3", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("format 1 by an older dangan"),
        "{}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["total"].as_u64(), Some(n));
    let text = std::fs::read_to_string(&state).unwrap();
    let mut written: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(written["format"].as_u64(), Some(format));
    written["format"] = (format + 1).into();
    std::fs::write(&state, written.to_string()).unwrap();
    let o = dangan(lake, &["search", "志愿"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stderr(&o).contains("index rebuild"), "{}", stderr(&o));
    ok(lake, &["index", "rebuild"]);
    assert_eq!(
        search(lake, &["志愿", "--limit", "3"])["total"].as_u64(),
        Some(n)
    );
}

/// An import killed after its commit but before its index step leaves the index behind; its
/// re-run finds the file already imported — and still brings the index in step (here the
/// first import skipped the index on purpose, which leaves the same state).
#[test]
fn a_rerun_of_an_imported_file_still_brings_the_index_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    ok(lake, &["init"]);
    ok(
        lake,
        &[
            "import",
            "organizations",
            fixture("orgs_bom.csv").to_str().unwrap(),
            "--no-index",
        ],
    );
    let roster = fixture("real/built/roster_mac_gbk.csv");
    ok(
        lake,
        &["import", "members", roster.to_str().unwrap(), "--no-index"],
    );
    assert!(!index_in_step(lake), "behind after --no-index");
    let out = ok(lake, &["import", "members", roster.to_str().unwrap()]);
    assert!(out.contains("already imported"), "{out}");
    assert!(index_in_step(lake), "{out}");
}
