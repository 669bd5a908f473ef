//! The default import of a roster (upsert) on a file large enough to be converted in parts on
//! both cores, and the same roster re-sent a month later with some members changed and some
//! new: the last row of a repeated key wins whatever part it was in, the re-send rewrites only
//! what changed and says so, and the table and the search index (fed by the change feed)
//! agree, and Python's deltalake reads the same rows and change feed.

use std::fmt::Write as _;
use std::path::Path;

use crate::support::*;

const ROWS: usize = 120_000;

/// A roster of `ROWS` members of branch T01 (about 5 MB: several parts); members whose number
/// is divisible by `changed_every` get another phone; `extra` members are added at the end.
fn roster(path: &Path, changed_every: usize, extra: usize) {
    let mut out = String::from("党员编号,姓名,所在党支部,联系电话\n");
    for i in 0..ROWS + extra {
        let phone = if changed_every > 0 && i % changed_every == 0 {
            13900000000u64 + i as u64
        } else {
            13800000000u64 + i as u64
        };
        writeln!(out, "U{i:07},成员{i},T01,{phone}").unwrap();
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_roster_upserted_in_parts_and_resent_with_changes() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    ok(lake, &["init"]);
    ok(
        lake,
        &[
            "import",
            "organizations",
            fixture("orgs_bom.csv").to_str().unwrap(),
        ],
    );
    // Member U0000005 again as the file's last row, with another phone: the last row is kept
    // although it was converted in another part than the first.
    let first = lake.join("roster.csv");
    roster(&first, 0, 0);
    // Member U0000007 again, the same in every column: merged, not quarantined. (The table is
    // empty: the rows stream to its files and the earlier rows of a repeated key are taken
    // back out before the commit.)
    let mut text = std::fs::read_to_string(&first).unwrap();
    text.push_str("U0000005,成员5,T01,13711112222\n");
    text.push_str("U0000007,成员7,T01,13800000007\n");
    std::fs::write(&first, text).unwrap();
    let (code, report, err) = import(lake, &["members", first.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{err}\n{report}");
    assert_eq!(report["rows_read"], ROWS as i64 + 2, "{report}");
    assert_eq!(report["rows_written"], ROWS as i64, "{report}");
    assert_eq!(report["rows_quarantined"], 1, "{report}");
    assert_eq!(report["rows_merged"], 1, "{report}");
    assert_eq!(report["upsert"]["inserted"], ROWS as i64, "{report}");
    let q = &report["quarantine_sample"][0];
    assert_eq!(
        (q["row"].as_i64(), q["reason"].as_str()),
        (Some(7), Some("duplicate_key")),
        "{q}"
    );
    assert!(
        q["message"]
            .as_str()
            .unwrap()
            .contains(&format!("第{}行", ROWS + 2)),
        "{q}"
    );
    assert_eq!(count(lake, "select count(*) from members"), ROWS as i64);
    assert_eq!(
        count(lake, "select count(distinct member_id) from members"),
        ROWS as i64
    );
    let phone = texts(
        lake,
        "select phone from members where member_id = 'U0000005'",
        &["phone"],
    );
    assert_eq!(phone, [["13711112222"]]);
    assert!(index_in_step(lake));

    // A month later: every 100th member has a new phone, 50 members are new.
    let second = lake.join("roster-next.csv");
    roster(&second, 100, 50);
    let before = table_version(lake, "members").unwrap();
    let (code, report, err) = import(lake, &["members", second.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}\n{report}");
    let changed = ROWS.div_ceil(100) as i64;
    let u = &report["upsert"];
    // U0000005 goes back to the roster's phone: one more change.
    assert_eq!(u["updated"], changed + 1, "{report}");
    assert_eq!(u["inserted"], 50, "{report}");
    assert_eq!(u["unchanged"], ROWS as i64 - changed - 1, "{report}");
    assert_eq!(
        count(lake, "select count(*) from members"),
        ROWS as i64 + 50
    );
    assert_eq!(
        count(lake, "select count(*) from members where phone like '139%'"),
        (ROWS + 50).div_ceil(100) as i64
    );
    assert_eq!(
        table_version(lake, "members"),
        Some(before + 1),
        "one commit"
    );
    // Another Delta reader (Python's deltalake) sees the same rows and each change once in
    // the change data feed: before and after images of the changed members, the new ones.
    if let Some(out) = python_deltalake(
        "read_cdf.py",
        &[
            lake.join("tables/members").to_str().unwrap(),
            &(before + 1).to_string(),
        ],
    ) {
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["rows"], ROWS as i64 + 50, "{v}");
        assert_eq!(v["changes"]["insert"], 50, "{v}");
        assert_eq!(v["changes"]["update_preimage"], changed + 1, "{v}");
        assert_eq!(v["changes"]["update_postimage"], changed + 1, "{v}");
    }
    // The index followed: a new member is found by name.
    assert!(index_in_step(lake));
    let found = ok(lake, &["search", "成员120049"]);
    assert!(found.contains("U0120049"), "{found}");
    // Each member once: the changed ones replaced in the name table, none left out.
    let status = ok(lake, &["index", "status", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let members = status
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dataset"] == "members")
        .unwrap();
    assert_eq!(members["documents"], ROWS as i64 + 50, "{status}");
    let found = ok(
        lake,
        &[
            "search",
            "\"成员1200\"",
            "--dataset",
            "members",
            "--limit",
            "100",
            "--format",
            "json",
        ],
    );
    // 成员1200, 成员12000–12009 and the new 成员120000–120049, each once.
    let v: serde_json::Value = serde_json::from_str(&found).unwrap();
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 61, "{found}");
    assert_eq!(
        hits.iter().filter(|h| h["key"] == "U0001200").count(),
        1,
        "{found}"
    );
}
