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
            "sql",
            "--save-view",
            "women",
            "select member_id, name from members where gender = '女'",
        ],
    );
    assert_eq!(sql(&a, "select count(*) as n from women")[0]["n"], 3);
    let o = dangan(
        &a,
        &["sql", "--save-view", "broken", "select nope from members"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("broken"), "{}", stderr(&o));
    let o = dangan(&a, &["sql", "--save-view", "members", "select 1"]);
    assert!(stderr(&o).contains("同名"), "{}", stderr(&o));
    ok(&a, &["sql", "--drop-view", "women", ""]);
    assert_eq!(
        dangan(&a, &["sql", "select * from women"]).status.code(),
        Some(1)
    );

    // A file format without a file is a clear error.
    let o = dangan(&a, &["sql", "select 1", "--format", "xlsx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--out"), "{}", stderr(&o));
}
