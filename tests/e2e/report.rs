//! Reports through the binary on a small archive whose answers are known
//! (`tests/fixtures/reports/`): exact figures, a department's scope, the formats.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

const AS_OF: &str = "2026-11-30";

fn setup(lake: &Path) {
    ok(lake, &["init"]);
    for ds in [
        "organizations",
        "members",
        "engagement_events",
        "feedback",
        "meetings",
    ] {
        let file = fixture(&format!("reports/{ds}.csv"));
        ok(lake, &["import", ds, file.to_str().unwrap(), "--no-index"]);
    }
}

fn report(lake: &Path, args: &[&str]) -> Value {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--as-of", AS_OF, "--format", "json"]);
    let out = ok(lake, &all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("json from {args:?}: {e}\n{out}"))
}

fn section<'a>(r: &'a Value, title: &str) -> &'a Vec<Value> {
    r["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["title"].as_str().unwrap().contains(title))
        .unwrap_or_else(|| panic!("no section {title} in {r}"))["table"]
        .as_array()
        .unwrap()
}

fn ids(rows: &[Value], key: &str) -> Vec<String> {
    rows.iter()
        .map(|r| r[key].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn reports_give_the_known_answers_and_respect_a_departments_scope() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.as_path();
    setup(lake);

    // engagement: R02 and R05 never used a platform, R03 last did in May; R07 died (not counted).
    let e = report(lake, &["engagement"]);
    let inactive = section(&e, "未活跃党员名单");
    let mut who = ids(inactive, "member_id");
    who.sort();
    assert_eq!(who, ["R02", "R03", "R05"], "{inactive:?}");
    let bands = section(&e, "按年龄段");
    let band = |b: &str| bands.iter().find(|r| r["age_band"] == b).cloned();
    let old = band("70岁及以上").expect("70+ band");
    assert_eq!(
        (old["members"].as_i64(), old["inactive"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(band("60–69岁").unwrap()["inactive"].as_i64(), Some(1));
    let months = section(&e, "每月活跃党员");
    assert_eq!(months.len(), 12, "every month of the period: {months:?}");
    let nov = months.iter().find(|r| r["month"] == "2026-11").unwrap();
    assert_eq!(nov["active"].as_i64(), Some(3));
    assert_eq!(nov["members"].as_i64(), Some(6));

    // The same report for a department sees only its own organizations' members.
    ok(lake, &["access", "department", "add", "教育局"]);
    for ds in ["members", "engagement_events", "organizations", "feedback"] {
        ok(lake, &["access", "grant", "教育局", ds]);
    }
    let d = report(lake, &["engagement", "--as", "教育局"]);
    let mut who = ids(section(&d, "未活跃党员名单"), "member_id");
    who.sort();
    assert_eq!(who, ["R02", "R03"], "scope own = 教育局's branches only");
    assert_eq!(d["metrics"]["department"], "教育局");
    // --org narrows to a sub-tree.
    let o = report(lake, &["engagement", "--org", "D12"]);
    let mut who = ids(section(&o, "未活跃党员名单"), "member_id");
    who.sort();
    assert_eq!(who, ["R05"]);

    // sentiment: September's praise, October's complaints — the fall is flagged, with the
    // complaints behind it and their words among the negative keywords.
    let s = report(lake, &["sentiment"]);
    let flags = section(&s, "显著下降");
    assert!(
        flags
            .iter()
            .any(|f| f["scope"] == "全部" && f["month"] == "2026-10"),
        "{flags:?}"
    );
    let behind = section(&s, "下降背后的条目");
    assert!(!behind.is_empty() && behind.len() <= 10);
    assert!(behind.iter().all(
        |r| r["score"].as_f64().unwrap() < -0.1 && r["date"].as_str().unwrap() >= "2026-10-01"
    ));
    let words = ids(section(&s, "负面条目关键词"), "word");
    assert!(words.contains(&"失望".to_string()), "{words:?}");
    // A department granted feedback but not growth records or surveys: those are left out,
    // and the report says so.
    let ds = report(lake, &["sentiment", "--as", "教育局"]);
    assert!(
        ds["subtitle"].as_str().unwrap().contains("未授权"),
        "{}",
        ds["subtitle"]
    );
    let items = section(&ds, "按来源");
    assert_eq!(items[0]["items"].as_i64(), Some(10), "only D111's feedback");

    // meetings: D111 held everything in Q3, D121 one 支委会 only.
    let m = report(
        lake,
        &["meetings", "--from", "2026-07-01", "--to", "2026-09-30"],
    );
    let branches = section(&m, "各支部落实率");
    let pct = |org: &str| {
        branches
            .iter()
            .find(|r| r["org_id"] == org)
            .and_then(|r| r["compliance_pct"].as_f64())
    };
    assert_eq!(pct("D111"), Some(100.0));
    assert_eq!(pct("D121"), Some(12.5));
    let breaches = section(&m, "未达标明细");
    assert_eq!(breaches.len(), 7, "{breaches:?}");
    assert!(breaches.iter().all(|b| b["org_id"] == "D121"));

    // membership: R07 (died) is not counted.
    let mb = report(lake, &["membership"]);
    let cats = section(&mb, "按人员类别");
    let total: i64 = cats.iter().map(|r| r["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 6);

    // Files: html is one self-contained page with charts; xlsx is a workbook.
    let html = dir.path().join("engagement.html");
    ok(
        lake,
        &[
            "report",
            "engagement",
            "--as-of",
            AS_OF,
            "--out",
            html.to_str().unwrap(),
        ],
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("党员平台活跃度报告") && page.contains("<svg"));
    // Nothing fetched from the network: no external scripts, styles, images or fonts.
    for needle in ["src=\"http", "href=\"http", "https://", "url(http"] {
        assert!(!page.contains(needle), "{needle} in the page");
    }
    let xlsx = dir.path().join("sentiment.xlsx");
    ok(
        lake,
        &[
            "report",
            "sentiment",
            "--as-of",
            AS_OF,
            "--out",
            xlsx.to_str().unwrap(),
        ],
    );
    assert_eq!(&std::fs::read(&xlsx).unwrap()[..2], b"PK");

    // Mistakes get clear errors.
    let bad = dangan(lake, &["report", "nosuch"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("engagement"), "{}", stderr(&bad));
    let bad = dangan(lake, &["report", "engagement", "--org", "D999"]);
    assert!(!bad.status.success() && stderr(&bad).contains("D999"));
    let bad = dangan(lake, &["report", "engagement", "--format", "xlsx"]);
    assert!(!bad.status.success() && stderr(&bad).contains("--out"));
}
