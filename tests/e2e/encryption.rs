//! Personal values at rest (issue 29, part 2): an encrypted lake holds no ID number or phone
//! in plaintext anywhere — Parquet values and footers, the Delta log, the search index, the
//! quarantine, the audit and its journal — yet answers every query as an unencrypted lake
//! does, for the administrator, a `visible` department and a `masked` one; Python's
//! `deltalake` sees ciphertext only; a key rotation keeps every answer; a missing key serves
//! everything but the personal values; an existing lake encrypted with `--vacuum` keeps no
//! old copy.

use std::path::{Path, PathBuf};

use dangan_datasets::arrow::array::{Array, StringArray};
use dangan_datasets::arrow::compute::cast;
use dangan_datasets::arrow::datatypes::DataType;
use dangan_datasets::deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::support::*;

/// A roster with two rows the importer rejects: their ID numbers and phone go to the
/// quarantine, which must keep them sealed too.
const BAD_ROSTER: &str = "党员编号,姓名,性别,民族,出生日期,身份证号,联系电话,学历,所在党支部,人员类别,入党时间,转正时间,工作单位,职务,党籍状态\n\
M0009001,王测试,女,汉族,1980.08.29,320812198008296805,13912345678,大学专科,D010301,正式党员,2005.05.14,2006.05.14,幸福社区,主任,正常\n\
M0009002,李测试,男,汉族,1970.01.01,110105197001011234,1391234,大学专科,D010301,正式党员,2005.05.14,2006.05.14,幸福社区,主任,正常\n";
const BAD_VALUES: [&str; 4] = [
    "320812198008296805",
    "13912345678",
    "110105197001011234",
    "1391234",
];

/// What the three readers are asked, in both lakes.
fn questions(id: &str) -> Vec<String> {
    vec![
        "select member_id, id_number, phone, birth_date from members order by member_id".into(),
        "select org_id, count(*) as n, min(birth_date) as oldest, count(distinct phone) as phones, \
         max(id_number) as top from members group by org_id order by org_id"
            .into(),
        format!("select member_id, phone from members where id_number = '{id}'"),
        "select count(*) as n from appraisals a join members m on a.member_id = m.member_id \
         where m.birth_date < date '1960-01-01'"
            .into(),
    ]
}

fn answers(lake: &Path, department: Option<&str>, id: &str) -> Vec<String> {
    questions(id)
        .iter()
        .map(|q| {
            let mut args = vec!["sql", q.as_str(), "--format", "json"];
            if let Some(d) = department {
                args.extend(["--as", d]);
            }
            ok(lake, &args)
        })
        .collect()
}

/// A lake made by the demo (the path a newcomer runs), with two departments and a rejected
/// roster; encrypted first with `key` when given.
fn demo_lake(root: &Path, name: &str, key: Option<&Path>) -> (PathBuf, String) {
    let lake = root.join(name);
    ok(&lake, &["init"]);
    if let Some(key) = key {
        let out = ok(
            &lake,
            &["lake", "encrypt", "--key-file", key.to_str().unwrap()],
        );
        assert!(out.contains("个人信息已加密"), "{out}");
    }
    ok(&lake, &["demo", "--members", "300", "--seed", "21"]);
    for (d, personal) in [("med", "visible"), ("hr", "masked")] {
        ok(&lake, &["access", "department", "add", d]);
        ok(
            &lake,
            &[
                "access",
                "grant",
                d,
                "members",
                "--scope",
                "all",
                "--personal",
                personal,
            ],
        );
        ok(
            &lake,
            &[
                "access",
                "grant",
                d,
                "appraisals",
                "--scope",
                "all",
                "--personal",
                personal,
            ],
        );
    }
    let bad = root.join(format!("{name}-bad"));
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("bad.csv"), BAD_ROSTER).unwrap();
    let (_, report, _) = import(&lake, &["members", bad.to_str().unwrap()]);
    assert_eq!(report["rows_quarantined"].as_i64(), Some(2), "{report}");
    (lake, report["run_id"].as_str().unwrap().to_string())
}

/// Every file under `lake` (but the demo's inbox: the branches' own files) that holds one of
/// `secrets`: raw bytes everywhere, and every value of every Parquet file read back (pages
/// are compressed, so bytes alone could miss one).
fn plaintext_hits(lake: &Path, secrets: &[String]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![lake.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "inbox") {
                    stack.push(path);
                }
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            for s in secrets {
                if text.contains(s.as_str()) {
                    hits.push(format!("{}: {s} (bytes)", path.display()));
                }
            }
            if path.extension().is_some_and(|x| x == "parquet") {
                let reader =
                    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
                        .unwrap()
                        .build()
                        .unwrap();
                for batch in reader {
                    let batch = batch.unwrap();
                    for col in batch.columns() {
                        let Ok(col) = cast(col, &DataType::Utf8) else {
                            continue;
                        };
                        let col = col.as_any().downcast_ref::<StringArray>().unwrap();
                        for v in col.iter().flatten() {
                            if let Some(s) = secrets.iter().find(|s| v.contains(s.as_str())) {
                                hits.push(format!("{}: {s} (value)", path.display()));
                            }
                        }
                    }
                }
            }
        }
    }
    hits
}

#[test]
fn an_encrypted_lake_keeps_no_personal_value_in_plaintext_and_answers_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let key = root.join("k1");
    ok(root, &["lake", "new-key", key.to_str().unwrap()]);
    // A key file is never overwritten.
    assert!(
        !dangan(root, &["lake", "new-key", key.to_str().unwrap()])
            .status
            .success()
    );
    let (plain, _) = demo_lake(root, "plain", None);
    let (sealed, run) = demo_lake(root, "sealed", Some(&key));

    // The secrets: every ID number and phone of the roster, and the rejected rows' values.
    let mut secrets: Vec<String> = texts(
        &plain,
        "select id_number, phone from members",
        &["id_number", "phone"],
    )
    .into_iter()
    .flatten()
    .filter(|v| !v.is_empty())
    .collect();
    assert!(secrets.len() > 500, "{}", secrets.len());
    let id = texts(&plain, "select min(id_number) as i from members", &["i"])[0][0].clone();
    // A query that quotes an ID number goes to the audit (and the journal) too.
    for lake in [&plain, &sealed] {
        ok(
            lake,
            &[
                "sql",
                &format!("select name from members where id_number = '{id}'"),
            ],
        );
    }
    secrets.extend(BAD_VALUES.iter().map(|s| s.to_string()));
    let before = plaintext_hits(&plain, &secrets);
    assert!(
        before.iter().any(|h| h.contains("tables/members"))
            && before.iter().any(|h| h.contains("quarantine")),
        "the check finds plaintext where there is some: {before:?}"
    );
    let hits = plaintext_hits(&sealed, &secrets);
    assert!(hits.is_empty(), "plaintext in the encrypted lake: {hits:?}");

    // The same answers: administrator, visible, masked.
    let admin = answers(&plain, None, &id);
    assert_eq!(admin, answers(&sealed, None, &id));
    assert!(
        admin[2].contains("member_id"),
        "the look-up finds the member: {}",
        admin[2]
    );
    assert_eq!(
        answers(&plain, Some("med"), &id),
        answers(&sealed, Some("med"), &id)
    );
    let masked = answers(&sealed, Some("hr"), &id);
    assert_eq!(answers(&plain, Some("hr"), &id), masked);
    assert!(
        masked[0].contains("**************"),
        "{}",
        &masked[0][..300]
    );
    // The quarantine reads back opened, for whoever may see it.
    let shown = ok(&sealed, &["quarantine", "show", &run]);
    assert!(shown.contains("320812198008296805"), "{shown}");
    // A member found by full ID number, through the keyed hash.
    let found = ok(&sealed, &["member", &id]);
    assert!(found.contains(&id), "{found}");

    // Python's deltalake sees ciphertext only.
    if let Some(out) = python_deltalake(
        "read_sealed.py",
        &[
            sealed.join("tables/members").to_str().unwrap(),
            "id_number",
            "phone",
            "birth_date",
        ],
    ) {
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        for c in ["id_number", "phone", "birth_date"] {
            let values = v[c].as_array().unwrap();
            assert!(values.len() >= 299, "{c}: {}", values.len());
            for x in values.iter().filter_map(|x| x.as_str()) {
                assert!(x.starts_with("dg1."), "{c} holds {x}");
            }
        }
        assert!(
            v["columns"].to_string().contains("id_number_hmac"),
            "{}",
            v["columns"]
        );
    }

    // A new key: every answer kept, the old key no longer needed.
    let key2 = root.join("k2");
    ok(root, &["lake", "new-key", key2.to_str().unwrap()]);
    let out = ok(
        &sealed,
        &[
            "lake",
            "rotate-key",
            "--key-file",
            key2.to_str().unwrap(),
            "--vacuum",
        ],
    );
    assert!(out.contains("已更换密钥"), "{out}");
    std::fs::remove_file(&key).unwrap();
    assert_eq!(admin, answers(&sealed, None, &id));
    assert_eq!(masked, answers(&sealed, Some("hr"), &id));
    assert!(plaintext_hits(&sealed, &secrets).is_empty());
    ok(&sealed, &["lake", "check"]);

    // The key gone: everything but the personal values still answers; no write goes in
    // plaintext.
    let away = root.join("k2.away");
    std::fs::rename(&key2, &away).unwrap();
    let o = dangan(
        &sealed,
        &[
            "sql",
            "select count(*) as n, count(id_number) as ids, count(name) as names from members",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["ids"], 0, "{v}");
    assert_eq!(v[0]["n"], v[0]["names"], "{v}");
    assert!(stderr(&o).contains("缺少密钥"), "{}", stderr(&o));
    let (code, _, err) = import(
        &sealed,
        &[
            "members",
            root.join("sealed-bad").to_str().unwrap(),
            "--force",
        ],
    );
    assert_ne!(code, Some(0));
    assert!(
        err.contains("k2"),
        "the error names the key's source: {err}"
    );
    std::fs::rename(&away, &key2).unwrap();
    assert!(plaintext_hits(&sealed, &secrets).is_empty());

    // An existing lake encrypted in place, its old files and log entries removed.
    let out = ok(
        &plain,
        &[
            "lake",
            "encrypt",
            "--key-file",
            key2.to_str().unwrap(),
            "--vacuum",
        ],
    );
    assert!(out.contains("已删除旧日志"), "{out}");
    let hits = plaintext_hits(&plain, &secrets);
    assert!(
        hits.is_empty(),
        "plaintext left after lake encrypt --vacuum: {hits:?}"
    );
    assert_eq!(admin, answers(&plain, None, &id));
    ok(&plain, &["lake", "check"]);
}
