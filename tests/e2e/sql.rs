//! `dangan sql` outputs: an Excel workbook with the Chinese labels as headers and a Parquet
//! file, both of which import back into a lake as they are; formats that need a file say so.

use std::path::Path;

use crate::support::*;

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/slt/data")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn xlsx_and_parquet_outputs_import_back() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for lake in [&a, &b] {
        ok(lake, &["init"]);
        ok(
            lake,
            &[
                "import",
                "organizations",
                &data("organizations.csv"),
                "--no-index",
            ],
        );
    }
    ok(
        &a,
        &["import", "members", &data("members.csv"), "--no-index"],
    );

    // The workbook's headers are the spec's Chinese labels (even through an alias), so the
    // importer maps them back by its aliases.
    let xlsx = dir.path().join("党员.xlsx");
    let o = dangan(
        &a,
        &[
            "sql",
            "select m.* from members m order by member_id",
            "--out",
            xlsx.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("6 rows"), "{}", stderr(&o));
    let out = ok(
        &b,
        &["import", "members", xlsx.to_str().unwrap(), "--no-index"],
    );
    assert!(out.contains('6'), "{out}");
    assert_eq!(
        sql(&b, "select * from members order by member_id"),
        sql(&a, "select * from members order by member_id")
    );

    // Parquet keeps the types; the same rows come back.
    let pq = dir.path().join("members.parquet");
    ok(
        &a,
        &[
            "sql",
            "select * from members",
            "--out",
            pq.to_str().unwrap(),
        ],
    );
    let c = dir.path().join("c");
    ok(&c, &["init"]);
    ok(
        &c,
        &["import", "members", pq.to_str().unwrap(), "--no-index"],
    );
    assert_eq!(
        sql(&c, "select count(*) as n, min(id_number) as i from members"),
        sql(&a, "select count(*) as n, min(id_number) as i from members")
    );

    // Saved views: kept in the lake, usable in later sessions, checked before they are kept.
    ok(
        &a,
        &[
            "view",
            "save",
            "women",
            "select member_id, name from members where gender = '女'",
        ],
    );
    assert_eq!(sql(&a, "select count(*) as n from women")[0]["n"], 3);
    let o = dangan(&a, &["view", "save", "broken", "select nope from members"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("broken"), "{}", stderr(&o));
    let o = dangan(&a, &["view", "save", "members", "select 1"]);
    assert!(stderr(&o).contains("同名"), "{}", stderr(&o));
    let list = ok(&a, &["view", "list"]);
    assert!(list.contains("women") && !list.contains("broken"), "{list}");
    ok(&a, &["view", "drop", "women"]);
    assert!(!ok(&a, &["view", "list"]).contains("women"));
    // Typed at parse: a scope or personal value that does not exist is refused by clap.
    let o = dangan(&a, &["access", "grant", "x", "members", "--scope", "every"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("org:<ORG_ID>"), "{}", stderr(&o));
    assert_eq!(
        dangan(&a, &["sql", "select * from women"]).status.code(),
        Some(1)
    );

    // A file format without a file is a clear error.
    let o = dangan(&a, &["sql", "select 1", "--format", "xlsx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--out"), "{}", stderr(&o));
}

#[test]
fn members_as_of_a_time_come_from_the_history_upserts_keep() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    ok(&lake, &["init"]);
    ok(
        &lake,
        &[
            "import",
            "organizations",
            &data("organizations.csv"),
            "--no-index",
        ],
    );
    ok(
        &lake,
        &["import", "members", &data("members.csv"), "--no-index"],
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let before = chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // M01 moves from D111 (教育局) to D121 (卫健委).
    let moved = dir.path().join("moved.csv");
    let roster = std::fs::read_to_string(data("members.csv")).unwrap();
    let header = roster.lines().next().unwrap();
    let m01 = roster.lines().find(|l| l.starts_with("M01,")).unwrap();
    std::fs::write(
        &moved,
        format!("{header}\n{}\n", m01.replace(",D111,", ",D121,")),
    )
    .unwrap();
    ok(
        &lake,
        &[
            "import",
            "members",
            moved.to_str().unwrap(),
            "--mode",
            "upsert",
            "--no-index",
        ],
    );
    let org_of = |q: &str| sql(&lake, q)[0]["org_id"].as_str().unwrap().to_string();
    assert_eq!(
        org_of("select org_id from members where member_id = 'M01'"),
        "D121"
    );
    assert_eq!(
        org_of(&format!(
            "select org_id from members_asof('{before}') where member_id = 'M01'"
        )),
        "D111"
    );
    // A date is the end of that day: today is after the move; long ago there were no rows.
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        org_of(&format!(
            "select org_id from asof('members', '{today}') where member_id = 'M01'"
        )),
        "D121"
    );
    assert_eq!(
        sql(
            &lake,
            "select count(*) as n from members_asof('2000-01-01')"
        )[0]["n"],
        0
    );
    // A department sees the old rows with today's scope and masks.
    ok(&lake, &["access", "department", "add", "教育局"]);
    ok(&lake, &["access", "grant", "教育局", "members"]);
    let r: serde_json::Value = serde_json::from_str(&ok(
        &lake,
        &[
            "sql",
            "--as",
            "教育局",
            "--format",
            "json",
            &format!("select member_id, phone from members_asof('{before}') order by member_id"),
        ],
    ))
    .unwrap();
    let ids: Vec<&str> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["member_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["M01", "M02", "M03"], "{r}");
    assert_eq!(r[0]["phone"], "138****5678");
    let o = dangan(
        &lake,
        &[
            "sql",
            "--as",
            "教育局",
            "select * from asof('appraisals', '2025-01-01')",
        ],
    );
    assert!(stderr(&o).contains("未授权"), "{}", stderr(&o));
    let o = dangan(&lake, &["sql", "select * from members_asof('去年')"]);
    assert!(stderr(&o).contains("YYYY-MM-DD"), "{}", stderr(&o));
}
