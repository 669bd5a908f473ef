//! The demo end to end: generate, import, SQL; Python's `deltalake` reads what we wrote; the
//! generator is deterministic.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::*;

#[test]
fn demo_imports_everything_and_python_deltalake_reads_the_same_counts() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.as_path();
    let out = ok(lake, &["demo", "--members", "400", "--seed", "7"]);
    assert!(out.contains("试一试"), "tour printed: {out}");
    // The tour writes the engagement and sentiment reports and says where.
    for f in [
        "engagement.html",
        "engagement.xlsx",
        "sentiment.html",
        "sentiment.xlsx",
    ] {
        let path = lake.join("reports").join(f);
        assert!(path.exists(), "{} written", path.display());
        assert!(out.contains(f), "the tour names {f}: {out}");
    }

    // Real counts per branch, adding up to the roster.
    let per_org = sql(
        lake,
        "select org_id, count(*) as n from members group by org_id order by org_id",
    );
    assert!(per_org.len() >= 2, "{per_org:?}");
    let total: i64 = per_org.iter().map(|r| r["n"].as_i64().unwrap()).sum();
    let members = count(lake, "select count(*) from members");
    assert_eq!(total, members);
    assert!(
        members >= 395,
        "nearly every generated member imported: {members}"
    );
    // Every dataset got rows, and the quarantine holds only a handful of real typos.
    for ds in [
        "organizations",
        "appraisals",
        "growth_records",
        "development",
        "cadre_changes",
        "survey_responses",
        "feedback",
        "engagement_events",
        "meetings",
        "publications",
    ] {
        assert!(
            count(lake, &format!("select count(*) from {ds}")) > 0,
            "{ds} is empty"
        );
    }
    assert!(count(lake, "select count(*) from system_quarantine") < 20);
    // Branch names in rosters and surveys resolved to ids.
    assert_eq!(
        count(
            lake,
            "select count(*) from members m left join organizations o using (org_id) where o.org_id is null"
        ),
        0
    );
    // Older members are markedly less active (the article's concern).
    let rate = sql(
        lake,
        "select case when date_part('year', birth_date) < 1961 then 'old' else 'young' end as band, \
         cast(count(e.event_id) as double) / count(distinct m.member_id) as per_member \
         from members m left join engagement_events e using (member_id) group by 1 order by 1",
    );
    let per = |b: &str| {
        rate.iter()
            .find(|r| r["band"] == b)
            .and_then(|r| r["per_member"].as_f64())
            .unwrap_or(0.0)
    };
    assert!(
        per("old") * 2.5 < per("young"),
        "older members less active: {rate:?}"
    );

    // A second demo run imports nothing new and changes no table.
    let before = ok(lake, &["status", "--format", "json"]);
    ok(lake, &["demo", "--members", "400", "--seed", "7"]);
    let after = ok(lake, &["status", "--format", "json"]);
    let versions = |s: &str| -> BTreeMap<String, i64> {
        let v: serde_json::Value = serde_json::from_str(s).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .filter(|t| !t["name"].as_str().unwrap().starts_with("system_"))
            .map(|t| {
                (
                    t["name"].as_str().unwrap().to_string(),
                    t["version"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        versions(&before),
        versions(&after),
        "re-running the demo is idempotent"
    );

    python_reads_same_counts(lake);
}

fn python_reads_same_counts(lake: &Path) {
    let Some(out) = python_deltalake("read_lake.py", &[lake.to_str().unwrap()]) else {
        return;
    };
    let theirs: BTreeMap<String, i64> = serde_json::from_str(&out).unwrap();
    assert_eq!(
        theirs.len(),
        19,
        "11 datasets + 8 internal tables: {theirs:?}"
    );
    for (table, n) in &theirs {
        let ours = count(lake, &format!("select count(*) from {table}"));
        if table == "system_audit" {
            // Every query is audited, these counts included: the table only grows.
            assert!(
                ours >= *n,
                "system_audit: dangan {ours}, python deltalake {n}"
            );
            continue;
        }
        assert_eq!(
            ours, *n,
            "row count of {table}: dangan {ours}, python deltalake {n}"
        );
    }
}

#[test]
fn same_seed_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let o = std::process::Command::new(bin())
            .args(["generate", "--members", "250", "--seed", "3", "--out"])
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let mut files = 0;
    for entry in walk(&a) {
        let rel = entry.strip_prefix(&a).unwrap();
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            std::fs::read(b.join(rel)).unwrap(),
            "{} differs",
            rel.display()
        );
        files += 1;
    }
    assert!(files > 10);
    // GBK CSV and xlsx are both there, and the GBK file really is GBK.
    let all = walk(&a);
    assert!(
        all.iter()
            .any(|p| p.extension().is_some_and(|e| e == "xlsx"))
    );
    let csv = all
        .iter()
        .find(|p| {
            p.to_string_lossy().contains("feedback") && p.extension().is_some_and(|e| e == "csv")
        })
        .expect("feedback csv");
    let bytes = std::fs::read(csv).unwrap();
    assert!(std::str::from_utf8(&bytes).is_err(), "GBK, not UTF-8");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
