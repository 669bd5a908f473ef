//! Importing the committed fixtures: title rows, aliases, GBK, full-width digits, branch
//! names, bad values in quarantine with reasons, never the same file twice.

use crate::support::*;

fn lake_with_orgs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["init"]);
    ok(
        dir.path(),
        &[
            "import",
            "organizations",
            fixture("orgs_bom.csv").to_str().unwrap(),
        ],
    );
    dir
}

#[test]
fn roster_with_title_row_and_gbk_csv_import_with_quarantine() {
    let dir = lake_with_orgs();
    let lake = dir.path();
    let o = dangan(
        lake,
        &[
            "import",
            "members",
            fixture("roster_title.xlsx").to_str().unwrap(),
            fixture("roster_gbk.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(3),
        "rows were quarantined: exit 3\n{}",
        stderr(&o)
    );
    let out = stdout(&o);
    assert!(out.contains("11 read, 6 written, 5 quarantined"), "{out}");
    assert!(out.contains("备注"), "unknown column reported: {out}");

    // Good rows, normalized.
    let rows = sql(
        lake,
        "select member_id, name, org_id, id_number, phone, birth_date, gender, category, status from members order by member_id",
    );
    let get = |id: &str, col: &str| {
        rows.iter()
            .find(|r| r["member_id"] == id)
            .map(|r| r[col].clone())
            .unwrap_or_default()
    };
    assert_eq!(rows.len(), 6);
    assert_eq!(get("T000001", "name"), "张伟", "trimmed");
    assert_eq!(get("T000001", "phone"), "13812345678");
    assert_eq!(
        get("T000002", "id_number"),
        "320106199003151242",
        "full-width digits folded"
    );
    assert_eq!(
        get("T000002", "org_id"),
        "T0101",
        "branch given by name resolved"
    );
    assert_eq!(
        get("T000003", "id_number"),
        "32010619920211118X",
        "canonical upper-case X"
    );
    assert_eq!(
        get("T000003", "birth_date"),
        "1992-02-11",
        "birth date filled from the ID number"
    );
    assert_eq!(
        get("T000003", "category"),
        "入党积极分子",
        "variant normalized"
    );
    assert_eq!(get("T000101", "birth_date"), "1962-03-01", "2021年7月 form");
    assert_eq!(get("T000102", "status"), "流动");
    assert_eq!(get("T000102", "phone"), "13900001111");
    assert_eq!(get("T000103", "gender"), "男");

    // Bad rows: in quarantine, with the Excel row number and a reason.
    let q = sql(
        lake,
        "select row, \"column\", reason, message, raw from system_quarantine order by row",
    );
    let got: Vec<(i64, &str, &str)> = q
        .iter()
        .map(|r| {
            (
                r["row"].as_i64().unwrap(),
                r["column"].as_str().unwrap(),
                r["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (6, "id_number", "id_card"),
            (7, "gender", "enum"),
            (8, "org_id", "reference"),
            (9, "join_date", "date"),
            (10, "birth_date", "id_mismatch")
        ]
    );
    assert!(
        q[1]["message"].as_str().unwrap().contains("男、女"),
        "allowed values named"
    );
    assert!(
        q[0]["raw"].as_str().unwrap().contains("刘洋"),
        "the whole row is kept"
    );

    // The same files again: skipped, table unchanged.
    let v = table_version(lake, "members");
    let o = dangan(
        lake,
        &[
            "import",
            "members",
            fixture("roster_title.xlsx").to_str().unwrap(),
            fixture("roster_gbk.csv").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("2 skipped"), "{}", stdout(&o));
    assert_eq!(table_version(lake, "members"), v);
    assert_eq!(count(lake, "select count(*) from members"), 6);
    // Every run is recorded.
    assert_eq!(
        count(
            lake,
            "select count(*) from system_import_runs where dataset = 'members'"
        ),
        2
    );
    assert_eq!(
        count(
            lake,
            "select count(*) from system_file_ledger where dataset = 'members'"
        ),
        2
    );
}

#[test]
fn wide_survey_export_becomes_long_rows() {
    let dir = lake_with_orgs();
    let lake = dir.path();
    ok(
        lake,
        &[
            "import",
            "survey_responses",
            fixture("survey_wide.xlsx").to_str().unwrap(),
            "--survey-id",
            "SAT2024",
        ],
    );
    let rows = sql(
        lake,
        "select response_id, member_id, org_id, question_id, answer_score, answer_text from survey_responses order by response_id, question_id",
    );
    assert_eq!(rows.len(), 8, "3 + 3 + 2 answered questions");
    assert_eq!(rows[0]["org_id"], "T0101");
    assert_eq!(rows[0]["member_id"], "T000001");
    let score = |i: usize| rows[i].get("answer_score").cloned().unwrap_or_default();
    assert_eq!(score(0), 5);
    assert_eq!(score(2), serde_json::Value::Null, "free text has no score");
    assert_eq!(rows[2]["answer_text"], "希望多组织线下学习");
    assert_eq!(score(4), 1);
    assert!(
        rows[3].get("member_id").is_none_or(|v| v.is_null()),
        "anonymous response"
    );
    assert_eq!(
        count(
            lake,
            "select count(distinct survey_id) from survey_responses where survey_id = 'SAT2024'"
        ),
        1
    );
}

#[test]
fn errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    // Not a lake yet.
    let o = dangan(lake, &["sql", "select 1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("dangan init"), "{}", stderr(&o));
    ok(lake, &["init"]);
    // Unknown dataset.
    let o = dangan(
        lake,
        &["import", "nope", fixture("orgs_bom.csv").to_str().unwrap()],
    );
    assert!(
        stderr(&o).contains("unknown dataset `nope`") && stderr(&o).contains("members"),
        "{}",
        stderr(&o)
    );
    // A file without the required columns fails by itself and names them.
    let o = dangan(
        lake,
        &[
            "import",
            "appraisals",
            fixture("orgs_bom.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "nothing committed");
    assert!(stderr(&o).contains("nothing committed"), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("no header row") || stdout(&o).contains("missing required"),
        "{}",
        stdout(&o)
    );
    // A malformed user spec names file and line.
    std::fs::write(lake.join("datasets/visits.toml"), "name = \"visits\"\nkey = [\"visit_id\"]\n[[columns]]\nname = \"visit_id\"\ntype = \"text\"\n").unwrap();
    let o = dangan(lake, &["datasets", "list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("visits.toml: line 5"), "{}", stderr(&o));
    // A valid user spec adds a dataset without recompiling.
    std::fs::write(lake.join("datasets/visits.toml"), "name = \"visits\"\nkey = [\"visit_id\"]\n[[columns]]\nname = \"visit_id\"\ntype = \"string\"\naliases = [\"走访编号\"]\n[[columns]]\nname = \"member_id\"\n").unwrap();
    assert!(ok(lake, &["datasets", "list"]).contains("visits"));
    // Bad SQL is an error, not a panic.
    let o = dangan(lake, &["sql", "select nope from members"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nope"), "{}", stderr(&o));
}

#[test]
fn lake_flag_works_before_and_after_the_subcommand_and_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("l");
    let o = std::process::Command::new(bin())
        .args(["init", "--lake"])
        .arg(&lake)
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = std::process::Command::new(bin())
        .args(["status"])
        .env("DANGAN_LAKE", &lake)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("members"));
}

#[test]
fn upsert_replaces_changed_rows_and_keeps_their_history() {
    let dir = lake_with_orgs();
    let lake = dir.path();
    ok(
        lake,
        &[
            "import",
            "members",
            fixture("roster_gbk.csv").to_str().unwrap(),
        ],
    );
    let v1 = table_version(lake, "members").unwrap();
    // The branch sends a corrected roster: 孙建国 moved to T0101, a new member joined.
    let fixed = dir.path().join("roster_fixed.csv");
    std::fs::write(
        &fixed,
        "党员编号,姓名,性别,所在党支部,人员类别,身份证号\n\
         T000101,孙建国,男,T0101,正式党员,320106196203011216\n\
         T000104,钱小红,女,T0102,预备党员,\n",
    )
    .unwrap();
    ok(lake, &["import", "members", fixed.to_str().unwrap()]);
    assert_eq!(
        count(lake, "select count(*) from members"),
        4,
        "one new, one replaced"
    );
    let rows = sql(
        lake,
        "select member_id, org_id from members where member_id = 'T000101'",
    );
    assert_eq!(rows[0]["org_id"], "T0101");
    assert_eq!(table_version(lake, "members"), Some(v1 + 1), "one commit");
    // The row as it was stays in the Delta change data feed (read by the "as of" queries).
    let cdc = std::fs::read_dir(lake.join("tables/members/_change_data"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(cdc > 0, "change data written");
    // Unchanged rows are not rewritten: importing the same content under another name changes nothing.
    let again = dir.path().join("roster_again.csv");
    std::fs::copy(&fixed, &again).unwrap();
    std::fs::write(&again, std::fs::read_to_string(&fixed).unwrap() + "\n").unwrap();
    ok(lake, &["import", "members", again.to_str().unwrap()]);
    assert_eq!(count(lake, "select count(*) from members"), 4);
}

#[test]
fn quarantine_list_show_and_a_fixes_workbook_that_imports_again() {
    let dir = lake_with_orgs();
    let lake = dir.path();
    let o = dangan(
        lake,
        &[
            "import",
            "members",
            fixture("roster_title.xlsx").to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let run = report["run_id"].as_str().unwrap().to_string();
    for key in [
        "dataset",
        "run_id",
        "files",
        "rows_read",
        "rows_written",
        "rows_quarantined",
        "files_skipped",
        "table_version",
    ] {
        assert!(report.get(key).is_some(), "json report has {key}");
    }
    assert_eq!(
        report["rows_read"].as_i64().unwrap(),
        report["rows_written"].as_i64().unwrap() + report["rows_quarantined"].as_i64().unwrap()
    );
    assert!(ok(lake, &["quarantine", "list"]).contains(&run));
    let shown = ok(lake, &["quarantine", "show", &run]);
    assert!(
        shown.contains("row 6") && shown.contains("id_card"),
        "{shown}"
    );
    let fixes = dir.path().join("fixes.xlsx");
    ok(
        lake,
        &[
            "quarantine",
            "export",
            &run,
            "--out",
            fixes.to_str().unwrap(),
        ],
    );
    // The branch's file comes back with the same headers: it imports (and the still-wrong
    // rows are quarantined again for the same reasons).
    let o = dangan(
        lake,
        &[
            "import",
            "members",
            fixes.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["rows_read"], 5);
    assert_eq!(r["rows_quarantined"], 5);
}

#[test]
fn jsonl_and_parquet_files_import_too() {
    let dir = lake_with_orgs();
    let lake = dir.path();
    ok(
        lake,
        &[
            "import",
            "members",
            fixture("roster_gbk.csv").to_str().unwrap(),
        ],
    );
    let jsonl = dir.path().join("members.jsonl");
    ok(
        lake,
        &[
            "sql",
            "select * from members",
            "--format",
            "ndjson",
            "--out",
            jsonl.to_str().unwrap(),
        ],
    );
    let parquet = std::fs::read_dir(lake.join("tables/members"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    for (i, file) in [jsonl, parquet].iter().enumerate() {
        let other = dir.path().join(format!("other{i}"));
        ok(&other, &["init"]);
        ok(
            &other,
            &[
                "import",
                "organizations",
                fixture("orgs_bom.csv").to_str().unwrap(),
            ],
        );
        ok(&other, &["import", "members", file.to_str().unwrap()]);
        assert_eq!(
            sql(&other, "select * from members order by member_id"),
            sql(lake, "select * from members order by member_id"),
            "{} round-trips",
            file.display()
        );
    }
}

#[test]
fn old_xls_with_a_note_sheet_first_and_a_title_row() {
    let dir = lake_with_orgs();
    let lake = dir.path();
    let o = dangan(
        lake,
        &[
            "import",
            "appraisals",
            fixture("appraisals_2024.xls").to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(row_counts(&r), (Some(5), Some(3), Some(2)));
    assert_eq!(
        r["files"][0]["sheet"], "评议结果",
        "the sheet whose header fits, not the note sheet"
    );
    let rows = sql(
        lake,
        "select member_id, year, grade, score, org_id from appraisals order by member_id",
    );
    assert_eq!(rows[1]["year"], 2024, "full-width digits");
    assert_eq!(rows[2]["grade"], "合格", "variant 称职");
    assert_eq!(rows[2]["org_id"], "T0102", "branch by name");
    let q = sql(
        lake,
        "select row, reason from system_quarantine order by row",
    );
    assert_eq!(
        q.iter()
            .map(|r| (
                r["row"].as_i64().unwrap(),
                r["reason"].as_str().unwrap().to_string()
            ))
            .collect::<Vec<_>>(),
        vec![(6, "enum".to_string()), (7, "range".to_string())]
    );
}

/// `dangan import engagement_events FILE` of `read` rows of which `bad` are quarantined (exit
/// 3, the counts checked): the quarantined rows' numbers, in order.
fn quarantined_rows_of_an_import(
    lake: &std::path::Path,
    file: &std::path::Path,
    read: i64,
    bad: i64,
) -> Vec<i64> {
    let o = dangan(
        lake,
        &[
            "import",
            "engagement_events",
            file.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(row_counts(&r), (Some(read), Some(read - bad), Some(bad)));
    sql(lake, "select row from system_quarantine order by row")
        .iter()
        .map(|r| r["row"].as_i64().unwrap())
        .collect()
}

#[test]
fn a_large_csv_streams_in_chunks_with_exact_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    ok(lake, &["init"]);
    // 120,000 events (three chunks), GBK, with two bad rows far apart.
    let mut text = String::from("事件编号,党员编号,发生时间,活动类型,时长(分钟)\n");
    for i in 0..120_000 {
        let kind = match i {
            7 => "跳舞",
            110_000 => "潜水",
            _ => "学习",
        };
        text.push_str(&format!(
            "E{i:07},M{:05},2026-03-01 08:{:02}:00,{kind},{}\n",
            i % 5000,
            i % 60,
            i % 90
        ));
    }
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let file = dir.path().join("events.csv");
    std::fs::write(&file, &gbk).unwrap();
    let rows = quarantined_rows_of_an_import(lake, &file, 120_000, 2);
    assert_eq!(rows, vec![9, 110_002], "Excel row numbers: header is row 1");
    assert_eq!(
        count(
            lake,
            "select count(*) from engagement_events where event_type = 'study'"
        ),
        119_998
    );
    assert_eq!(
        count(
            lake,
            "select sum(duration_minutes) from engagement_events where event_id = 'E0119999'"
        ),
        119_999 % 90
    );
}

/// A workbook is parsed on a thread of its own and its rows converted part by part (4,096
/// rows each): the row numbers of quarantined rows stay Excel's across the parts' edges,
/// empty rows and a title row included.
#[test]
fn a_large_xlsx_streams_in_parts_with_exact_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    ok(lake, &["init"]);
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "2026年第一季度活动记录").unwrap();
    for (c, h) in ["事件编号", "党员编号", "发生时间", "活动类型", "时长(分钟)"]
        .iter()
        .enumerate()
    {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    let mut row = 1u32;
    let mut bad_rows = Vec::new();
    for i in 0..10_000u32 {
        // Three empty rows across the first part's edge.
        row += if i == 4_090 { 4 } else { 1 };
        let kind = match i {
            7 | 9_000 => {
                bad_rows.push(i64::from(row) + 1);
                "跳舞"
            }
            _ => "学习",
        };
        ws.write_string(row, 0, format!("E{i:07}")).unwrap();
        ws.write_string(row, 1, format!("M{:05}", i % 5000))
            .unwrap();
        ws.write_string(row, 2, format!("2026-03-01 08:{:02}:00", i % 60))
            .unwrap();
        ws.write_string(row, 3, kind).unwrap();
        ws.write_number(row, 4, f64::from(i % 90)).unwrap();
    }
    let file = dir.path().join("events.xlsx");
    wb.save(&file).unwrap();
    let rows = quarantined_rows_of_an_import(lake, &file, 10_000, 2);
    assert_eq!(rows, bad_rows, "Excel row numbers: the title is row 1");
    assert_eq!(bad_rows, vec![10, 9_006]);
    assert_eq!(
        count(
            lake,
            "select sum(duration_minutes) from engagement_events where event_id = 'E0009999'"
        ),
        9_999 % 90
    );
    assert_eq!(
        count(
            lake,
            "select count(distinct event_id) from engagement_events"
        ),
        9_998
    );
}

#[test]
fn a_large_jsonl_streams_in_blocks_with_exact_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    ok(lake, &["init"]);
    // 150,000 events (about 17 MB: three blocks parsed on the helper threads), with two bad
    // lines far apart, a blank line, and key order that changes half-way.
    let mut text = String::new();
    for i in 0..150_000 {
        let kind = match i {
            7 => "跳舞",
            140_000 => "潜水",
            _ => "学习",
        };
        if i == 100 {
            text.push('\n');
        }
        if i < 75_000 {
            text.push_str(&format!(
                "{{\"event_id\":\"E{i:07}\",\"member_id\":\"M{:05}\",\"occurred_at\":\"2026-03-01 08:{:02}:00\",\"event_type\":\"{kind}\",\"duration_minutes\":{},\"note\":\"padding padding padding\"}}\n",
                i % 5000,
                i % 60,
                i % 90
            ));
        } else {
            text.push_str(&format!(
                "{{\"duration_minutes\":{},\"event_type\":\"{kind}\",\"occurred_at\":\"2026-03-01T08:{:02}:00\",\"member_id\":\"M{:05}\",\"event_id\":\"E{i:07}\"}}\n",
                i % 90,
                i % 60,
                i % 5000
            ));
        }
    }
    let file = dir.path().join("events.jsonl");
    std::fs::write(&file, &text).unwrap();
    let rows = quarantined_rows_of_an_import(lake, &file, 150_000, 2);
    // Line numbers: event i is on line i + 1, one more after the blank line.
    assert_eq!(rows, vec![8, 140_002]);
    assert_eq!(
        count(
            lake,
            "select sum(duration_minutes) from engagement_events where event_id = 'E0149999'"
        ),
        149_999 % 90
    );
}
