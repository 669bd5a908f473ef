//! Files no one here wrote (`tests/fixtures/real/`, sources and licences in its SOURCES.md),
//! imported through the binary: every test asserts the values stored, the rows quarantined and
//! why, and the exit code — the classes of issue 24, each on a file of that class.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

fn real(path: &str) -> PathBuf {
    fixture("real").join(path)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A lake with the fixture organizations (T01, T0101, T0102).
fn lake() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["init"]);
    ok(
        dir.path(),
        &["import", "organizations", s(&fixture("orgs_bom.csv"))],
    );
    dir
}

/// Add a dataset of string columns `c1…cN` whose headers are `headers`.
fn text_dataset(lake: &Path, name: &str, headers: &[&str]) {
    let mut spec = format!("name = \"{name}\"\nmode = \"append\"\nkey = [\"c1\"]\n");
    for (i, h) in headers.iter().enumerate() {
        spec.push_str(&format!(
            "\n[[columns]]\nname = \"c{}\"\ntype = \"string\"\nlabel = {h:?}\naliases = [{h:?}]\n",
            i + 1
        ));
    }
    std::fs::create_dir_all(lake.join("datasets")).unwrap();
    std::fs::write(lake.join("datasets").join(format!("{name}.toml")), spec).unwrap();
}

fn quarantine(lake: &Path, run: &Value) -> Vec<serde_json::Map<String, Value>> {
    sql(
        lake,
        &format!(
            "select row, sheet, header, value, reason, message from system_quarantine where run_id = '{}' order by sheet, row, reason",
            run.as_str().unwrap()
        ),
    )
}

#[test]
fn csv_spectrum_every_value_as_the_corpus_expects() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    ok(lake, &["init"]);
    let folder = real("csv-spectrum");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    names.sort();
    assert!(names.len() >= 12, "the corpus is there");
    for csv in &names {
        let stem = csv.file_stem().unwrap().to_str().unwrap();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(folder.join(format!("{stem}.json"))).unwrap(),
        )
        .unwrap();
        // location_coordinates.json is one object, not a list, and its phone number is not the
        // one in its CSV (the corpus's own slip): the CSV is the truth there.
        let expected: Vec<serde_json::Map<String, Value>> = match expected {
            Value::Array(rows) => rows
                .into_iter()
                .map(|r| r.as_object().unwrap().clone())
                .collect(),
            Value::Object(mut row) => {
                row.insert("Contact Phone Number".into(), "2095257564".into());
                vec![row]
            }
            _ => unreachable!(),
        };
        let text = std::fs::read_to_string(csv).unwrap();
        let headers: Vec<String> = text
            .lines()
            .next()
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect();
        let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let name = format!("spectrum_{stem}");
        text_dataset(lake, &name, &refs);
        let (code, report, err) = import(lake, &[&name, s(csv)]);
        assert_eq!(code, Some(0), "{stem}: {err}\n{report}");
        let cols: Vec<String> = (1..=headers.len()).map(|i| format!("c{i}")).collect();
        let rows = sql(lake, &format!("select {} from {name}", cols.join(", ")));
        assert_eq!(rows.len(), expected.len(), "{stem}");
        for (row, want) in rows.iter().zip(&expected) {
            for (i, h) in headers.iter().enumerate() {
                let got = row.get(&cols[i]).and_then(Value::as_str).unwrap_or("");
                let want = want
                    .get(h)
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{stem}: no {h:?} in {want:?}"));
                // An empty cell is stored as NULL: "" in the corpus.
                assert_eq!(got, want.trim(), "{stem}: column {h}");
            }
        }
    }
}

/// The `c1, c2, c3` of a dataset made by [`text_dataset`] with headers a, b, c, in order.
fn abc_rows(lake: &Path, name: &str) -> Vec<Vec<String>> {
    texts(
        lake,
        &format!("select c1, c2, c3 from {name} order by c1, c2"),
        &["c1", "c2", "c3"],
    )
}

#[test]
fn csvkit_line_ends_encodings_and_stray_cells() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    ok(lake, &["init"]);
    let kit = |f: &str| real(&format!("csvkit/{f}"));
    for name in ["mac", "latin1", "utf16le", "utf16be", "nul"] {
        text_dataset(lake, name, &["a", "b", "c"]);
    }
    text_dataset(lake, "bad", &["column_a", "column_b", "column_c"]);
    text_dataset(lake, "bom", &["foo", "bar", "baz"]);

    // Old Mac "CSV (Macintosh)": records end in a lone CR (it read as 0 rows, exit 0).
    let (code, report, err) = import(lake, &["mac", s(&kit("mac_newlines.csv"))]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(report["rows_written"], 2, "{report}");
    assert_eq!(
        abc_rows(lake, "mac"),
        [["1", "2", "3"], ["Once upon\ra time", "5", "6"]]
    );

    // Latin-1: é, not 閑; the report says which encoding was read.
    let (code, report, err) = import(lake, &["latin1", s(&kit("test_latin1.csv"))]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(report["files"][0]["encoding"], "windows-1252", "{report}");
    assert_eq!(abc_rows(lake, "latin1"), [["1", "2", "3"], ["4", "5", "©"]]);

    // UTF-16 both ways and UTF-8 with a BOM.
    for (name, file) in [
        ("utf16le", "test_utf16_little.csv"),
        ("utf16be", "test_utf16_big.csv"),
        ("bom", "test_utf8_bom.csv"),
    ] {
        let (code, _, err) = import(lake, &[name, s(&kit(file))]);
        assert_eq!(code, Some(0), "{file}: {err}");
        let rows = abc_rows(lake, name);
        assert_eq!(rows[0], ["1", "2", "3"], "{file}");
        assert_eq!(rows[1][..2], ["4", "5"], "{file}");
        assert!(!rows[1][2].is_empty(), "{file}: {rows:?}");
    }

    // A cell right of the last header: the row goes to quarantine, not in without it.
    let (code, report, _) = import(lake, &["bad", s(&kit("bad.csv"))]);
    assert_eq!(code, Some(3), "{report}");
    assert_eq!(
        (
            report["rows_read"].as_i64(),
            report["rows_written"].as_i64()
        ),
        (Some(3), Some(1))
    );
    let q = quarantine(lake, &report["run_id"]);
    // Row 3 has no value in the key column: that is its own reason.
    assert_eq!(q.len(), 2, "{q:?}");
    assert_eq!(
        (&q[1]["reason"], &q[1]["row"]),
        (&"required".into(), &3.into())
    );
    assert_eq!(q[0]["reason"], "extra_cell");
    assert_eq!(q[0]["row"], 2);
    assert_eq!(q[0]["value"], "I'm too long!");
    assert!(q[0]["message"].as_str().unwrap().contains("D"), "{q:?}");

    // A NUL byte is padding, not a value; quoted numbers are text; an extra header is named;
    // NA / NULL / . are kept as typed (a department may mean them).
    let (code, report, _) = import(lake, &["nul", s(&kit("null_byte.csv"))]);
    assert_eq!(code, Some(3), "{report}");
    let q = quarantine(lake, &report["run_id"]);
    assert_eq!(
        (&q[0]["reason"], &q[0]["row"]),
        (&"required".into(), &2.into()),
        "the key is empty"
    );
    text_dataset(lake, "quoted", &["a", "b", "c"]);
    ok(
        lake,
        &["import", "quoted", s(&kit("optional_quote_characters.csv"))],
    );
    assert_eq!(abc_rows(lake, "quoted"), [["1", "2", "3"]]);
    text_dataset(lake, "extra_header", &["a", "b", "c"]);
    let (code, report, _) = import(lake, &["extra_header", s(&kit("test_extra_header.csv"))]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        report["files"][0]["unknown_headers"],
        serde_json::json!(["d"])
    );
    text_dataset(lake, "blanks", &["b", "c", "d"]);
    ok(lake, &["import", "blanks", s(&kit("blanks.csv"))]);
    assert_eq!(abc_rows(lake, "blanks"), [["NA", "N/A", "NONE"]]);

    // A decimal comma (1,7) and dotted thousands (200.000.000) are not numbers read wrong.
    std::fs::write(
        lake.join("datasets/locale.toml"),
        "name = \"locale\"\nmode = \"append\"\nkey = [\"k\"]\n\n[[columns]]\nname = \"k\"\ntype = \"string\"\nlabel = \"c\"\naliases = [\"c\"]\n\n[[columns]]\nname = \"x\"\ntype = \"float\"\nlabel = \"a\"\naliases = [\"a\"]\n\n[[columns]]\nname = \"y\"\ntype = \"float\"\nlabel = \"b\"\naliases = [\"b\"]\n",
    )
    .unwrap();
    let (code, report, _) = import(lake, &["locale", s(&kit("test_locale.csv"))]);
    assert_eq!(code, Some(3), "{report}");
    let q = quarantine(lake, &report["run_id"]);
    let values: Vec<&str> = q.iter().map(|r| r["value"].as_str().unwrap()).collect();
    assert!(
        values.contains(&"1,7") && values.contains(&"200.000.000"),
        "{q:?}"
    );

    // Excel: rows above the header, a value right of the last header, several sheets (an
    // empty one first), the old .xls.
    std::fs::write(
        lake.join("datasets/papers.toml"),
        "name = \"papers\"\nmode = \"append\"\nkey = [\"text\"]\n\n[[columns]]\nname = \"text\"\ntype = \"string\"\nlabel = \"text\"\naliases = [\"text\"]\n\n[[columns]]\nname = \"date\"\ntype = \"date\"\nlabel = \"date\"\naliases = [\"date\"]\n\n[[columns]]\nname = \"integer\"\ntype = \"int\"\nlabel = \"integer\"\naliases = [\"integer\"]\n\n[[columns]]\nname = \"float\"\ntype = \"float\"\nlabel = \"float\"\naliases = [\"float\"]\n",
    )
    .unwrap();
    for file in ["test.xlsx", "test_skip_lines.xlsx"] {
        let (code, report, _) = import(lake, &["papers", s(&kit(file)), "--force"]);
        assert_eq!(code, Some(3), "{file}: {report}");
        let q = quarantine(lake, &report["run_id"]);
        assert_eq!(q.len(), 1, "{file}: {q:?}");
        assert_eq!(q[0]["reason"], "extra_cell");
        assert_eq!(q[0]["value"], "Extra data beyond headers will be trimmed");
    }
    let papers = sql(
        lake,
        "select distinct text, date, integer, float from papers where integer is not null order by integer",
    );
    assert_eq!(papers.len(), 2, "{papers:?}");
    assert_eq!(
        (
            &papers[0]["text"],
            &papers[0]["date"],
            &papers[0]["integer"],
            &papers[0]["float"]
        ),
        (
            &"Chicago Reader".into(),
            &"1971-01-01".into(),
            &40.into(),
            &1.0.into()
        )
    );
    assert_eq!(papers[1]["float"], 41800000.01);
    text_dataset(lake, "sheets", &["a", "b", "c"]);
    let (code, report, err) = import(lake, &["sheets", s(&kit("sheets.xlsx"))]);
    assert_eq!(code, Some(0), "{err}\n{report}");
    assert_eq!(report["files"][0]["sheet"], "ʤ", "{report}");
    assert!(
        report["files"][0]["sheets_left"][0]
            .as_str()
            .unwrap()
            .starts_with("data"),
        "{report}"
    );
    assert_eq!(abc_rows(lake, "sheets"), [["1", "2", "3"]]);
    text_dataset(lake, "old_xls", &["a", "b", "c"]);
    ok(lake, &["import", "old_xls", s(&kit("dummy.xls"))]);
    assert_eq!(abc_rows(lake, "old_xls"), [["1", "2", "3"]]);
}

#[test]
fn excel_1904_date_system_errors_chart_sheets_and_passwords() {
    let dir = lake();
    let lake = dir.path();
    // The same roster saved in Mac Excel's 1904 date system, as xlsx and as xls: the dates are
    // the dates typed (they landed 4 years and 1 day early).
    for file in ["built/roster_1904.xlsx", "built/roster_1904.xls"] {
        let (code, report, err) = import(
            lake,
            &["members", s(&real(file)), "--mode", "upsert", "--force"],
        );
        assert_eq!(code, Some(0), "{file}: {err}\n{report}");
        let got = texts(
            lake,
            "select member_id, birth_date, join_date from members where member_id like 'T0002%' order by member_id",
            &["member_id", "birth_date", "join_date"],
        );
        assert_eq!(
            got,
            [
                ["T000201", "1988-04-12", "2012-07-01"],
                ["T000202", "1979-11-30", "2003-06-18"],
                ["T000203", "1995-02-28", "2024-12-20"],
            ],
            "{file}"
        );
    }

    // A password-protected workbook says so, and how to fix it.
    for file in [
        "calamine/pass_protected.xlsx",
        "calamine/pass_protected.xlsb",
    ] {
        let (code, report, err) = import(lake, &["members", s(&real(file))]);
        assert_eq!(code, Some(1), "{file}: {report}");
        let msg = report["files"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string()
            + &err;
        assert!(msg.contains("password"), "{file}: {msg}");
    }

    // Chart sheets are skipped: the workbook's worksheets still read, with --sheet too.
    text_dataset(lake, "sheets_any", &["a"]);
    for file in [
        "calamine/any_sheets.xlsx",
        "calamine/any_sheets.xlsb",
        "calamine/any_sheets.xls",
    ] {
        // What a dry run of one sheet of the workbook prints.
        let sheet = |name: &str| {
            let path = real(file);
            let o = dangan(
                lake,
                &[
                    "import",
                    "sheets_any",
                    s(&path),
                    "--sheet",
                    name,
                    "--dry-run",
                ],
            );
            stdout(&o) + &stderr(&o)
        };
        let text = sheet("Visible");
        assert!(!text.contains("cannot be read"), "{file}: {text}");
        let text = sheet("Chart");
        assert!(text.contains("not a worksheet"), "{file}: {text}");
    }
}

#[test]
fn rosters_as_branches_keep_them_year_month_sheets_errors() {
    let dir = lake();
    let lake = dir.path();
    let (code, report, err) = import(lake, &["members", s(&real("built/roster_branches.xlsx"))]);
    assert_eq!(code, Some(3), "{err}\n{report}");
    // Both branch sheets, not only the first; the notes sheet is named as left out.
    let file = &report["files"][0];
    assert_eq!(file["sheet"], "第一党支部, 第二党支部", "{report}");
    assert!(
        file["sheets_left"][0]
            .as_str()
            .unwrap()
            .starts_with("填表说明"),
        "{report}"
    );
    assert_eq!(report["rows_read"], 9, "{report}");
    assert_eq!(report["rows_written"], 6, "{report}");
    let got = texts(
        lake,
        "select member_id, birth_date, join_date from members where member_id like 'T0003%' order by member_id",
        &["member_id", "birth_date", "join_date"],
    );
    let want = [
        // 1985.1 typed as a number beside an ID number born in October: October, the ID's day.
        ["T000301", "1985-10-03", "2010-07-01"],
        // 1968.12 as a number, and as text: the month agrees with the ID number.
        ["T000302", "1968-12-05", "1995-06-01"],
        ["T000303", "1968-12-21", "1990-07-01"],
        ["T000304", "1990-05-15", "2015-07-01"],
        ["T000307", "1985-10-26", "2008-11-01"],
        ["T000309", "1975-03-09", "2001-07-01"],
    ];
    assert_eq!(got, want);
    let q = quarantine(lake, &report["run_id"]);
    let reasons: Vec<(String, i64, String)> = q
        .iter()
        .map(|r| {
            (
                r["sheet"].as_str().unwrap().to_string(),
                r["row"].as_i64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            // 入党年月 2012.1 with nothing to tell January from October.
            ("第一党支部".to_string(), 7, "ambiguous_date".to_string()),
            // A note typed right of the last header.
            ("第二党支部".to_string(), 3, "extra_cell".to_string()),
            // #DIV/0!: an error value of its own, shown once (not ##DIV/0!).
            ("第二党支部".to_string(), 5, "excel_error".to_string()),
        ]
    );
    assert!(q[2]["value"] == "#DIV/0!", "{q:?}");
    assert!(
        q[0]["message"].as_str().unwrap().contains("2012年10月"),
        "{q:?}"
    );

    // A file's identity is (content, sheet): a sheet that went in is skipped, by name or by
    // its tab number; the notes sheet, which did not, is not "already imported".
    for sheet in ["第二党支部", "2"] {
        let (code, report, _) = import(
            lake,
            &[
                "members",
                s(&real("built/roster_branches.xlsx")),
                "--sheet",
                sheet,
            ],
        );
        assert_eq!(code, Some(0), "{report}");
        assert!(
            report["files"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("already imported"),
            "{sheet}: {report}"
        );
    }
    let (code, report, _) = import(
        lake,
        &[
            "members",
            s(&real("built/roster_branches.xlsx")),
            "--sheet",
            "填表说明",
        ],
    );
    assert_eq!(code, Some(1), "{report}");
    assert!(
        !report["files"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("already imported"),
        "{report}"
    );

    // One sheet first, then the whole file: the sheet already in stays out of the second run.
    let dir = self::lake();
    let fresh = dir.path();
    let (code, report, _) = import(
        fresh,
        &[
            "members",
            s(&real("built/roster_branches.xlsx")),
            "--sheet",
            "第二党支部",
        ],
    );
    assert_eq!(code, Some(3), "{report}");
    assert_eq!(report["files"][0]["sheet"], "第二党支部");
    let (_, report, _) = import(fresh, &["members", s(&real("built/roster_branches.xlsx"))]);
    assert_eq!(report["files"][0]["sheet"], "第一党支部", "{report}");
    assert!(
        report["files"][0]["sheets_left"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l
                .as_str()
                .unwrap()
                .starts_with("第二党支部 (already imported")),
        "{report}"
    );
    assert_eq!(count(fresh, "select count(*) from members"), 6);
}

#[test]
fn encodings_line_ends_duplicates_decimal_commas() {
    let dir = lake();
    let lake = dir.path();
    // A GBK "CSV (Macintosh)" with CR line ends.
    let (code, report, err) = import(lake, &["members", s(&real("built/roster_mac_gbk.csv"))]);
    assert_eq!(code, Some(0), "{err}\n{report}");
    assert_eq!(report["rows_written"], 3, "{report}");
    assert_eq!(report["files"][0]["encoding"], "gb18030", "{report}");
    assert_eq!(
        count(
            lake,
            "select count(*) from members where name in ('钱进', '孙丽', '周全')"
        ),
        3
    );

    // Read in the wrong encoding, the headers match nothing: the message says --encoding.
    let o = dangan(
        lake,
        &[
            "import",
            "members",
            s(&real("built/roster_big5.csv")),
            "--encoding",
            "shift_jis",
            "--dry-run",
        ],
    );
    let text = stdout(&o) + &stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("--encoding"), "{text}");

    // Big5 and Latin-1 are detected, not read as GB18030.
    let (code, report, err) = import(lake, &["members", s(&real("built/roster_big5.csv"))]);
    assert_eq!(code, Some(0), "{err}\n{report}");
    assert_eq!(report["files"][0]["encoding"], "Big5", "{report}");
    let (code, report, err) = import(lake, &["members", s(&real("built/roster_latin1.csv"))]);
    assert_eq!(code, Some(0), "{err}\n{report}");
    assert_eq!(report["files"][0]["encoding"], "windows-1252", "{report}");
    let names: Vec<String> = sql(
        lake,
        "select name from members where member_id in ('T000501', 'T000502', 'T000601', 'T000602') order by member_id",
    )
    .iter()
    .map(|r| r["name"].as_str().unwrap().to_string())
    .collect();
    assert_eq!(names, ["陳美麗", "黃國強", "Renée Müller", "José Ñúñez"]);

    // The same member twice: an exact repeat is merged, one with other values is quarantined
    // naming the row kept (the last); the counts add up and the table holds what they say.
    let before = count(lake, "select count(*) from members");
    let (code, report, _) = import(lake, &["members", s(&real("built/roster_duplicates.csv"))]);
    assert_eq!(code, Some(3), "{report}");
    let (read, written, quarantined, merged) = (
        report["rows_read"].as_i64().unwrap(),
        report["rows_written"].as_i64().unwrap(),
        report["rows_quarantined"].as_i64().unwrap(),
        report["rows_merged"].as_i64().unwrap(),
    );
    assert_eq!(
        (read, written, quarantined, merged),
        (6, 3, 2, 1),
        "{report}"
    );
    assert_eq!(count(lake, "select count(*) from members"), before + 3);
    let q = quarantine(lake, &report["run_id"]);
    assert_eq!(
        q.iter()
            .map(|r| (r["row"].as_i64().unwrap(), r["reason"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [(2, "duplicate_key"), (3, "duplicate_key")]
    );
    assert!(q[0]["message"].as_str().unwrap().contains("第4行"), "{q:?}");
    // The kept rows are the later ones.
    let kept = sql(
        lake,
        "select member_id, category, org_id from members where member_id in ('T000701', 'T000702') order by member_id",
    );
    assert_eq!(kept[0]["category"], "正式党员");
    assert_eq!(kept[1]["org_id"], "T0102");

    // A decimal comma is never a thousands separator: 8,5 is not 85.
    let (code, report, _) = import(
        lake,
        &["appraisals", s(&real("built/appraisals_decimal_comma.csv"))],
    );
    assert_eq!(code, Some(3), "{report}");
    let scores: Vec<(String, f64)> = sql(
        lake,
        "select member_id, score from appraisals where member_id like 'T0007%' order by year, member_id",
    )
    .iter()
    .map(|r| (r["member_id"].as_str().unwrap().to_string(), r["score"].as_f64().unwrap()))
    .collect();
    assert_eq!(scores, [("T000701".to_string(), 88.0)]);
    let q = quarantine(lake, &report["run_id"]);
    assert_eq!(q.len(), 3, "{q:?}");
    assert!(
        q.iter()
            .all(|r| r["reason"] == "type" || r["reason"] == "range"),
        "{q:?}"
    );
    assert!(
        q[1]["message"].as_str().unwrap().contains("千位分隔符"),
        "{q:?}"
    );
}

#[test]
fn replace_refuses_to_empty_a_table_and_dry_runs_exit_as_real_runs() {
    let dir = lake();
    let lake = dir.path();
    ok(
        lake,
        &["import", "members", s(&real("built/roster_mac_gbk.csv"))],
    );
    // Every row of the Latin-1 roster names its branch by id, so make them all fail: a
    // replace with a file of unknown branches.
    let bad = lake.join("bad_branches.csv");
    std::fs::write(
        &bad,
        "党员编号,姓名,所在党支部\nT000901,甲,不存在的支部\nT000902,乙,不存在的支部\nT000903,丙,T0101\n",
    )
    .unwrap();
    let before = count(lake, "select count(*) from members");
    for dry in [true, false] {
        let mut args = vec!["import", "members", s(&bad), "--mode", "replace"];
        if dry {
            args.push("--dry-run");
        }
        let o = dangan(lake, &args);
        assert_eq!(o.status.code(), Some(1), "dry run {dry}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("only 1 of 3 rows") && err.contains("--replace-anyway"),
            "{err}"
        );
        assert_eq!(count(lake, "select count(*) from members"), before);
    }
    let (code, _, err) = import(
        lake,
        &["members", s(&bad), "--mode", "replace", "--replace-anyway"],
    );
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(count(lake, "select count(*) from members"), 1);

    // A file that fails exits 1 as a dry run and as a real run alike.
    let broken = lake.join("no_header.csv");
    std::fs::write(&broken, "x,y\n1,2\n").unwrap();
    for dry in [true, false] {
        let mut args = vec!["import", "members", s(&broken)];
        if dry {
            args.push("--dry-run");
        }
        assert_eq!(dangan(lake, &args).status.code(), Some(1), "dry run {dry}");
    }
}

#[test]
fn headers_mapping_wins_duplicates_reported_closest_named() {
    let dir = lake();
    let lake = dir.path();
    let file = lake.join("roster.csv");
    std::fs::write(
        &file,
        "学工号,姓名,真实姓名,所在党支部,姓名\nT000801,小名,王真名,T0101,别名\n",
    )
    .unwrap();
    let mapping = lake.join("mapping.toml");
    std::fs::write(&mapping, "[aliases]\n\"真实姓名\" = \"name\"\n").unwrap();
    let (code, report, err) = import(lake, &["members", s(&file), "--mapping", s(&mapping)]);
    assert_eq!(code, Some(0), "{err}\n{report}");
    assert_eq!(
        report["files"][0]["duplicate_headers"],
        serde_json::json!(["姓名", "姓名"])
    );
    assert_eq!(
        sql(lake, "select name from members where member_id = 'T000801'")[0]["name"],
        "王真名"
    );
    // A missing column names the closest header and --mapping.
    let near = lake.join("near.csv");
    std::fs::write(&near, "党员号,姓名,所在党支部\nT1,甲,T0101\n").unwrap();
    let o = dangan(lake, &["import", "members", s(&near)]);
    let text = stdout(&o) + &stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("“党员号”") && text.contains("--mapping"),
        "{text}"
    );
}

/// Run tests/e2e/template_check.py; `None` (the test then says it skipped) without openpyxl.
fn template_check(args: &[&str]) -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/template_check.py");
    let have = std::process::Command::new("python3")
        .args(["-c", "import openpyxl"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        crate::support::peer_missing(
            "template check: python3 with openpyxl (pip install openpyxl)",
        );
        return None;
    }
    let o = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn templates_carry_the_specs_rules_and_a_filled_one_imports_as_typed() {
    let dir = lake();
    let lake = dir.path();
    let specs: Value =
        serde_json::from_str(&ok(lake, &["datasets", "list", "--format", "json"])).unwrap();
    for spec in specs.as_array().unwrap() {
        let name = spec["name"].as_str().unwrap();
        let out = lake.join(format!("{name}.xlsx"));
        ok(lake, &["datasets", "template", name, "--out", s(&out)]);
        let Some(text) = template_check(&[s(&out)]) else {
            return;
        };
        let t: Value = serde_json::from_str(&text).unwrap();
        let show: Value =
            serde_json::from_str(&ok(lake, &["datasets", "show", name, "--format", "json"]))
                .unwrap();
        let columns = show["columns"].as_array().unwrap();
        assert_eq!(
            t["headers"].as_array().unwrap().len(),
            columns.len(),
            "{name}"
        );
        assert_eq!(t["freeze"], "A2", "{name}: the header row is frozen");
        let sheets: Vec<&str> = t["sheets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert!(sheets.contains(&"填写说明"), "{name}: {sheets:?}");
        // Every enum column's drop-down holds exactly the spec's values.
        for (i, c) in columns.iter().enumerate() {
            let values: Vec<&str> = c["values"]
                .as_array()
                .map(|v| v.iter().map(|x| x.as_str().unwrap()).collect())
                .unwrap_or_default();
            let letter = (b'A' + i as u8) as char;
            let dv = t["validations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| {
                    d["sqref"]
                        .as_str()
                        .unwrap()
                        .starts_with(&format!("{letter}2:"))
                })
                .unwrap_or_else(|| panic!("{name}: no validation on column {letter}"));
            if !values.is_empty() {
                assert_eq!(dv["type"], "list", "{name}.{}", c["name"]);
                let got: Vec<&str> = dv["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap())
                    .collect();
                assert_eq!(got, values, "{name}.{}", c["name"]);
            }
            if c["references"] == "organizations.org_id" {
                // The lake's branches, by name.
                let got: Vec<&str> = dv["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap())
                    .collect();
                assert!(got.contains(&"中共测试街道第一党支部"), "{name}: {got:?}");
            }
            if c["type"] == "date" {
                assert_eq!(dv["type"], "date", "{name}.{}", c["name"]);
            }
            assert!(
                dv["prompt"].as_str().is_some_and(|p| !p.is_empty()),
                "{name}.{}: a hint",
                c["name"]
            );
        }
    }

    // A filled roster template imports with exit 0 and the values as typed.
    let template = lake.join("members.xlsx");
    let filled = lake.join("filled.xlsx");
    let rows = serde_json::json!([
        {"党员编号": "T001001", "姓名": "许嵩", "性别": "男", "出生日期": "1986-06-02",
         "身份证号": "110105198606020030", "组织编号": "中共测试街道第一党支部",
         "人员类别": "正式党员", "入党时间": "2010-07-01", "联系电话": "13912345678"},
        {"党员编号": "T001002", "姓名": "程雪", "性别": "女",
         "组织编号": "中共测试街道第二党支部", "人员类别": "预备党员"}
    ]);
    if template_check(&[s(&template), s(&filled), &rows.to_string()]).is_none() {
        return;
    }
    let (code, report, err) = import(lake, &["members", s(&filled)]);
    assert_eq!(code, Some(0), "{err}\n{report}");
    assert_eq!(report["rows_written"], 2, "{report}");
    assert!(
        report["files"][0]["sheets_left"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{report}"
    );
    let got = sql(
        lake,
        "select member_id, name, org_id, birth_date, id_number, phone, category from members where member_id like 'T0010%' order by member_id",
    );
    assert_eq!(got[0]["org_id"], "T0101");
    assert_eq!(got[0]["birth_date"], "1986-06-02");
    assert_eq!(got[0]["id_number"], "110105198606020030");
    assert_eq!(got[0]["phone"], "13912345678");
    assert_eq!(got[1]["org_id"], "T0102");
    assert_eq!(got[1]["category"], "预备党员");

    // A template from an older spec (a column added since) still imports, and says so.
    let spec_dir = lake.join("datasets");
    std::fs::create_dir_all(&spec_dir).unwrap();
    std::fs::write(
        spec_dir.join("members_extra.toml"),
        "name = \"members\"\n\n[[columns]]\nname = \"hobby\"\ntype = \"string\"\nlabel = \"特长\"\naliases = [\"特长\"]\n",
    )
    .unwrap();
    let (code, report, err) = import(lake, &["members", s(&filled), "--force"]);
    assert_eq!(code, Some(0), "{err}\n{report}");
    let note = report["files"][0]["template_note"]
        .as_str()
        .unwrap_or_default();
    assert!(note.contains("特长"), "{report}");

    // --set gives a column the file lacks (the 评议结果 template has no 年度).
    let appraisals = lake.join("评议结果.csv");
    std::fs::write(
        &appraisals,
        "党员编号,评议等次,组织编号\nT001001,优秀,T0101\n",
    )
    .unwrap();
    let (code, report, err) = import(lake, &["appraisals", s(&appraisals), "--set", "year=2024"]);
    assert_eq!(code, Some(0), "{err}\n{report}");
    assert_eq!(
        count(
            lake,
            "select year from appraisals where member_id = 'T001001'"
        ),
        2024
    );
    let o = dangan(
        lake,
        &[
            "import",
            "appraisals",
            s(&appraisals),
            "--set",
            "year=去年",
            "--force",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--set year=去年"), "{}", stderr(&o));
}

#[test]
fn wide_development_ledgers_and_merged_cells() {
    let dir = lake();
    let lake = dir.path();
    ok(
        lake,
        &["import", "members", s(&real("built/roster_mac_gbk.csv"))],
    );
    // One row per person with a date column per stage: one row per filled stage; the branch
    // merged down beside its people reaches each of them; a person with no stage is kept in
    // quarantine, not dropped.
    let (code, report, err) = import(
        lake,
        &["development", s(&real("built/development_wide.xlsx"))],
    );
    assert_eq!(code, Some(3), "{err}\n{report}");
    assert_eq!(report["rows_written"], 7, "{report}");
    let rows = texts(
        lake,
        "select member_id, stage, stage_date, org_id from development order by member_id, stage_date",
        &["member_id", "stage", "stage_date", "org_id"],
    );
    // The branch, merged down beside both people, reaches each of their rows.
    let want = [
        ["T000401", "入党申请人", "2019-03-05", "T0101"],
        ["T000401", "入党积极分子", "2019-09-10", "T0101"],
        ["T000401", "发展对象", "2020-09-01", "T0101"],
        ["T000401", "预备党员", "2021-06-28", "T0101"],
        ["T000401", "正式党员", "2022-06-30", "T0101"],
        ["T000402", "入党申请人", "2021-04-01", "T0101"],
        ["T000402", "入党积极分子", "2021-10-08", "T0101"],
    ];
    assert_eq!(rows, want);
    let q = quarantine(lake, &report["run_id"]);
    assert!(
        q.iter().all(|r| r["row"] == 5 && r["reason"] == "required"),
        "{q:?}"
    );

    // A two-level header and a branch merged down: every member gets the branch.
    let (code, report, err) = import(lake, &["members", s(&real("built/roster_merged.xlsx"))]);
    assert_eq!(code, Some(0), "{err}\n{report}");
    assert_eq!(report["files"][0]["header_row"], 2, "{report}");
    let orgs: Vec<String> = sql(
        lake,
        "select org_id from members where member_id like 'T0008%' order by member_id",
    )
    .iter()
    .map(|r| r["org_id"].as_str().unwrap().to_string())
    .collect();
    assert_eq!(orgs, ["T0101", "T0101", "T0101", "T0102"]);
}

#[test]
fn xlrd_samples_ragged_rows_several_sheets_and_an_excel_4_file() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    ok(lake, &["init"]);
    let xl = |f: &str| real(&format!("xlrd/{f}"));
    // Rows of different lengths; the values past the last header quarantine their rows.
    text_dataset(lake, "ragged", &["a", "b", "c"]);
    let (code, report, _) = import(lake, &["ragged", s(&xl("ragged.xls"))]);
    assert_eq!(code, Some(3), "{report}");
    assert_eq!(abc_rows(lake, "ragged"), [["d", "e", ""], ["f", "", ""]]);
    let q = quarantine(lake, &report["run_id"]);
    assert_eq!(
        q.iter()
            .map(|r| (r["row"].as_i64().unwrap(), r["value"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [(4, "j"), (5, "l")]
    );
    // Several sheets: the two whose header has PROFIL go in, the others are named.
    std::fs::write(
        lake.join("datasets/profiles.toml"),
        "name = \"profiles\"\nmode = \"append\"\nkey = [\"profil\"]\n\n[[columns]]\nname = \"profil\"\ntype = \"string\"\nlabel = \"PROFIL\"\naliases = [\"PROFIL\"]\n\n[[columns]]\nname = \"d\"\ntype = \"float\"\nlabel = \"d\"\naliases = [\"d\"]\n",
    )
    .unwrap();
    let (code, report, err) = import(lake, &["profiles", s(&xl("profiles.xls"))]);
    assert_eq!(code, Some(0), "{err}\n{report}");
    let file = &report["files"][0];
    assert!(
        file["sheet"]
            .as_str()
            .unwrap()
            .contains("PROFILEDEF, AXISDEF"),
        "{report}"
    );
    assert!(
        file["sheets_left"][0]
            .as_str()
            .unwrap()
            .starts_with("TRAVERSALCHAINAGE"),
        "{report}"
    );
    let unknown: Vec<&str> = file["unknown_headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut distinct = unknown.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        unknown.len(),
        distinct.len(),
        "each unknown header once: {unknown:?}"
    );
    assert_eq!(
        count(
            lake,
            "select count(*) from profiles where profil = 'P8.2' and d = 103"
        ),
        1
    );
    // Excel 4.0: what it is and what to do, not a list of parser errors.
    text_dataset(lake, "biff", &["ID", "MAIN", "SUB"]);
    let o = dangan(
        lake,
        &["import", "biff", s(&xl("biff4_no_format_no_window2.xls"))],
    );
    let text = stdout(&o) + &stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Excel 2.x–4.0") && text.contains(".xlsx"),
        "{text}"
    );
}
