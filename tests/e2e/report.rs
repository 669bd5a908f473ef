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
        "appraisals",
        "publications",
        "survey_responses",
        "development",
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
    // Five days into December, before December's events are exported: the month is labelled
    // partial and left empty (no data), not drawn as 0 % active or averaged in.
    let out = ok(
        lake,
        &[
            "report",
            "engagement",
            "--as-of",
            "2026-12-05",
            "--format",
            "json",
        ],
    );
    let early: Value = serde_json::from_str(&out).unwrap();
    let months = section(&early, "每月活跃党员");
    let dec = months.last().unwrap();
    assert_eq!(dec["month"], "2026-12（至5日）", "{dec}");
    assert!(
        dec["active"].is_null() && dec["rate_pct"].is_null(),
        "{dec}"
    );
    let nov = months.iter().find(|r| r["month"] == "2026-11").unwrap();
    assert_eq!(nov["active"].as_i64(), Some(3));
    let lowest = section(&e, "活跃度最低的组织");
    assert_eq!(
        ids(lowest, "org_id"),
        ["D121", "D111"],
        "lowest first: {lowest:?}"
    );

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
    // Neutral items are counted on their own, and the report names the analyzer.
    for row in section(&s, "情感指数月度走势") {
        let n = |k: &str| row[k].as_i64().unwrap();
        assert_eq!(
            n("negatives") + n("positives") + n("neutrals"),
            n("items"),
            "{row:?}"
        );
    }
    let text = s.to_string();
    assert!(
        text.contains("评分模型") && text.contains("dangan-sentiment"),
        "{text}"
    );
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

    // appraisal: R01 fell two years running (优秀→合格→基本合格), R05 was 不合格 in 2025.
    let a = report(lake, &["appraisal"]);
    let attention = section(&a, "需关注的党员");
    let reasons: Vec<(String, String)> = attention
        .iter()
        .map(|r| {
            (
                r["member_id"].as_str().unwrap().to_string(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        reasons.contains(&("R01".into(), "连续两年下降".into())),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&("R05".into(), "基本合格或不合格".into())),
        "{reasons:?}"
    );
    assert_eq!(attention.len(), 2, "{reasons:?}");
    let years = section(&a, "各年度等次分布");
    let y2025 = years.iter().find(|r| r["year"] == 2025).unwrap();
    assert_eq!(
        (
            y2025["n"].as_i64(),
            y2025["qualified"].as_i64(),
            y2025["unqualified"].as_i64()
        ),
        (Some(6), Some(4), Some(1))
    );

    // feedback: October's ten complaints are still open after more than 15 days; one of
    // September's was closed late (20 days); the 举报 stands on its own.
    let f = report(lake, &["feedback"]);
    let mut overdue = ids(section(&f, "超期未办结清单"), "feedback_id");
    overdue.sort();
    assert_eq!(overdue.len(), 10, "{overdue:?}");
    assert!(
        overdue
            .iter()
            .all(|id| ("F011"..="F020").contains(&id.as_str()))
    );
    assert_eq!(ids(section(&f, "举报件"), "feedback_id"), ["F021"]);
    // The 举报 figure counts the reports of wrongdoing, not every item (it counted all 21).
    let tips = f["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "举报")
        .cloned();
    assert_eq!(tips, Some(serde_json::json!(["举报", "1 件，未办结 1"])));
    let praise = section(&f, "按类别")
        .iter()
        .find(|r| r["category"] == "表扬")
        .cloned()
        .unwrap();
    assert_eq!(praise["median_days"].as_f64(), Some(2.0));
    assert_eq!(praise["on_time_pct"].as_f64(), Some(90.0));

    // operators: 王宣 published one post in 2 h and one in 30 h; 李运 one in 5 h.
    let op = report(lake, &["operators"]);
    let ranking = section(&op, "运营人员排名");
    assert_eq!(ids(ranking, "operator"), ["李运", "王宣"]);
    let wang = &ranking[1];
    assert_eq!(wang["posts"].as_i64(), Some(2));
    assert_eq!(wang["median_delay_h"].as_f64(), Some(16.0));
    assert_eq!(wang["within_24h_pct"].as_f64(), Some(50.0));
    assert_eq!(wang["interaction_pct"].as_f64(), Some(8.57));

    // survey: per-question means; the older respondents rate the online platform lower;
    // "无" is not a comment; response rate over the 6 current members.
    let sv = report(lake, &["survey"]);
    let q = section(&sv, "各题得分分布");
    let q2 = q.iter().find(|r| r["question_id"] == "Q2").unwrap();
    assert_eq!(q2["mean"].as_f64(), Some(2.75));
    assert_eq!(q2["answers"].as_i64(), Some(4));
    let by_age = section(&sv, "按年龄段");
    let q2_old = by_age
        .iter()
        .find(|r| r["question_id"] == "Q2" && r["age_band"] == "70岁及以上")
        .unwrap();
    assert_eq!(q2_old["mean"].as_f64(), Some(1.5));
    let words = ids(section(&sv, "文字意见关键词"), "word");
    assert!(words.contains(&"复杂".to_string()), "{words:?}");
    let rate = sv["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "参与率")
        .unwrap()[1]
        .as_str()
        .unwrap()
        .to_string();
    assert!(rate.starts_with("66.7%"), "{rate}");

    // development: one breach of each kind, named with the member.
    let dv = report(lake, &["development"]);
    let mut found: Vec<(String, String)> = section(&dv, "违规明细")
        .iter()
        .map(|r| {
            (
                r["member_id"].as_str().unwrap().to_string(),
                r["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    let expected: Vec<(String, String)> = [
        ("R04", "预备期超过两年"),
        ("R06", "积极分子培养期不足一年"),
        ("X02", "预备期满两年仍未转正"),
        ("X03", "阶段顺序颠倒"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(found, expected);
    let funnel = section(&dv, "发展漏斗");
    let stage = |s: &str| funnel.iter().find(|r| r["stage"] == s).unwrap().clone();
    assert_eq!(stage("入党申请人")["reached"].as_i64(), Some(6));
    assert_eq!(
        stage("预备党员")["current"].as_i64(),
        Some(2),
        "R06 and X02"
    );

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

#[test]
fn text_sentiment_and_keywords_for_analysts() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.as_path();
    setup(lake);
    // The lake's own words count.
    std::fs::create_dir_all(lake.join("text")).unwrap();
    std::fs::write(
        lake.join("text/lexicon.txt"),
        "# 本单位用语\n打卡留痕\t-2\n",
    )
    .unwrap();
    let out = ok(
        lake,
        &[
            "text",
            "sentiment",
            "活动内容丰富，非常满意",
            "今天下午三点开会",
            "学习变成了打卡留痕",
            "--explain",
            "--format",
            "json",
        ],
    );
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let labels: Vec<&str> = rows.iter().map(|r| r["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["正面", "中性", "负面"], "{out}");
    assert!(
        rows[2]["words"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["word"] == "打卡留痕"),
        "{out}"
    );
    // The lake's words are its own: they count in the lexicon and move the model's side.
    assert_eq!(rows[2]["lexicon_ours"], -2.0, "{out}");
    assert!(rows[2]["model_log_odds"].is_f64(), "{out}");

    let out = ok(
        lake,
        &[
            "text",
            "keywords",
            "--dataset",
            "feedback",
            "--only",
            "negative",
            "--format",
            "json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["column"], "content");
    let words: Vec<&str> = v["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["word"].as_str().unwrap())
        .collect();
    assert!(
        words.contains(&"失望") && !words.contains(&"满意"),
        "{words:?}"
    );
    // A department sees the keywords of its own organizations' texts only.
    ok(lake, &["access", "department", "add", "卫健委"]);
    ok(lake, &["access", "grant", "卫健委", "feedback"]);
    let out = ok(
        lake,
        &[
            "text",
            "keywords",
            "--dataset",
            "feedback",
            "--as",
            "卫健委",
            "--format",
            "json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["texts"], 11, "D121's ten plus its 举报: {out}");
    let bad = dangan(lake, &["text", "keywords", "--dataset", "organizations"]);
    assert!(!bad.status.success() && stderr(&bad).contains("--column"));
}

/// Import a roster and date its commit back to `day`, as if the lake had lived through the
/// years (`members_asof` reads the commit times).
fn roster_of(lake: &Path, file: &str, mode: &str, day: &str) {
    let file = fixture(&format!("reports/{file}"));
    ok(
        lake,
        &[
            "import",
            "members",
            file.to_str().unwrap(),
            "--mode",
            mode,
            "--no-index",
        ],
    );
    let log = lake.join("tables/members/_delta_log");
    let mut commits: Vec<_> = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    commits.sort();
    let at = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc();
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(at.timestamp() as u64);
    std::fs::File::options()
        .write(true)
        .open(commits.last().unwrap())
        .unwrap()
        .set_modified(at)
        .unwrap();
}

#[test]
fn membership_reconciles_each_year_against_the_roster_history() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.as_path();
    ok(lake, &["init"]);
    let orgs = fixture("reports/organizations.csv");
    ok(
        lake,
        &[
            "import",
            "organizations",
            orgs.to_str().unwrap(),
            "--no-index",
        ],
    );
    // End of 2024: nine people, R06 an activist. End of 2025 (a full roster): R03 moved from
    // D121 to D111, R09 transferred out, R10 came from outside, R08 is simply not there any
    // more. 2026 (an update): R06 admitted, R07 died.
    roster_of(lake, "members_2024.csv", "replace", "2024-12-15");
    roster_of(lake, "members_2025.csv", "replace", "2025-12-15");
    roster_of(lake, "members.csv", "upsert", "2026-06-15");

    let r = report(lake, &["membership"]);
    let years = section(&r, "年度党员数对账");
    let row = |y: i64| {
        let r = years
            .iter()
            .find(|r| r["year"] == y)
            .unwrap_or_else(|| panic!("no {y} in {years:?}"));
        [
            "opening",
            "joined",
            "transferred_in",
            "transferred_out",
            "expelled",
            "died",
            "unexplained",
            "closing",
        ]
        .map(|c| r[c].as_i64().unwrap())
    };
    assert_eq!(
        years.len(),
        2,
        "2022-2024 have no roster before them: {years:?}"
    );
    assert_eq!(row(2025), [8, 0, 1, 1, 0, 0, 1, 7]);
    assert_eq!(row(2026), [7, 1, 0, 0, 0, 1, 0, 7]);
    assert!(years[0]["check"].as_str().unwrap().starts_with("不符"));
    assert_eq!(years[1]["check"], "相符");
    let behind = section(&r, "对账差异名单");
    assert_eq!(ids(behind, "member_id"), ["R08"]);
    let h = r["highlights"].to_string();
    assert!(h.contains("2025 年不符"), "{h}");

    // A sub-tree: R03's move to D111 is a transfer out of D12.
    let r = report(
        lake,
        &["membership", "--org", "D12", "--from", "2025-01-01"],
    );
    let years = section(&r, "年度党员数对账");
    let y2025 = &years[0];
    assert_eq!(
        (
            y2025["opening"].as_i64(),
            y2025["transferred_out"].as_i64(),
            y2025["closing"].as_i64(),
            y2025["check"].as_str()
        ),
        (Some(5), Some(2), Some(3), Some("相符"))
    );
    assert!(section(&r, "对账差异名单").is_empty());
}

/// Every report's JSON on the fixture archive against its golden file
/// (`tests/fixtures/reports/golden/<name>.json`; timings left out). A change of any figure,
/// label or section shows in the diff; `DANGAN_UPDATE_GOLDEN=1` writes the files anew after
/// a change that is meant.
#[test]
fn every_report_matches_its_golden_json() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.as_path();
    setup(lake);
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports/golden");
    let update = std::env::var_os("DANGAN_UPDATE_GOLDEN").is_some();
    let list = ok(lake, &["report", "--list"]);
    let names: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.len() >= 9, "{list}");
    let mut differ = Vec::new();
    for name in names {
        let mut r = report(lake, &[name]);
        // Timings change from run to run; what was read and skipped does not.
        if let Some(m) = r["metrics"].as_object_mut() {
            m.retain(|k, _| !k.ends_with("_ms"));
        }
        let text = serde_json::to_string_pretty(&r).unwrap() + "\n";
        let file = golden.join(format!("{name}.json"));
        if update {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&file, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (DANGAN_UPDATE_GOLDEN=1 cargo test --test e2e golden writes it)",
                file.display()
            )
        });
        if want != text {
            let at = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            differ.push(format!(
                "{name}: line {}: want {:?}, got {:?}",
                at + 1,
                want.lines().nth(at).unwrap_or(""),
                text.lines().nth(at).unwrap_or("")
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "reports differ from their golden JSON:\n{}",
        differ.join("\n")
    );
}
