//! `dangan text eval`: the analyzer checked on a labelled file, in the shapes organizers have
//! (a `label<TAB>text` TSV, a GBK CSV with Chinese labels, an xlsx), and bad labels refused
//! with the file, row and column named. `dangan text train`: trained on half A of each
//! labelled set in `shared/eval/`, judged on its half B; a training that does not help is
//! not kept; `--reset` goes back.

use crate::support::{dangan, fixture, ok, stderr, stdout};

fn eval_json(lake: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["text", "eval"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = ok(lake, &all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("json: {e}\n{out}"))
}

/// The fixture's items as (label in Chinese, text).
fn items() -> Vec<(&'static str, String)> {
    let text = std::fs::read_to_string(fixture("text/labelled.tsv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let (label, t) = l.split_once('\t').unwrap();
            let zh = match label {
                "positive" => "正面",
                "negative" => "负面",
                _ => "中性",
            };
            (zh, t.to_string())
        })
        .collect()
}

#[test]
fn eval_reads_tsv_gbk_csv_and_xlsx_alike() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("no-lake");
    let tsv = fixture("text/labelled.tsv");
    let e = eval_json(&lake, &[tsv.to_str().unwrap()]);
    assert_eq!(e["n"], 20);
    assert_eq!(e["classes"]["positive"]["support"], 8);
    assert_eq!(e["classes"]["neutral"]["support"], 4);
    let labels = ["positive", "negative", "neutral"];
    let mut confusion = 0;
    for l in labels {
        for v in labels {
            confusion += e["confusion"][l][v].as_u64().unwrap();
        }
    }
    assert_eq!(confusion, 20);
    // Clear sentences of the analyzer's own domain: a floor that a broken analyzer misses.
    let ba = e["balanced_accuracy"].as_f64().unwrap();
    assert!(ba >= 0.85, "{e}");
    assert!(e["neutral_recall"].as_f64().unwrap() >= 0.75, "{e}");
    assert!(e["model"].as_str().unwrap().starts_with("dangan-sentiment"));

    // The same items as a GBK CSV with Chinese headers and labels, and as an xlsx.
    let mut csv = String::from("序号,内容,情感\n");
    for (i, (label, t)) in items().iter().enumerate() {
        csv.push_str(&format!("{},{t},{label}\n", i + 1));
    }
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let csv_path = dir.path().join("意见.csv");
    std::fs::write(&csv_path, &gbk).unwrap();
    let from_csv = eval_json(&lake, &[csv_path.to_str().unwrap()]);
    assert_eq!(from_csv["n"], 20);
    assert_eq!(from_csv["balanced_accuracy"], e["balanced_accuracy"]);
    assert_eq!(from_csv["confusion"], e["confusion"]);

    let xlsx_path = dir.path().join("意见.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write(0, 0, "评论").unwrap();
    sheet.write(0, 1, "标签").unwrap();
    for (i, (label, t)) in items().iter().enumerate() {
        sheet.write(i as u32 + 1, 0, t.as_str()).unwrap();
        sheet.write(i as u32 + 1, 1, *label).unwrap();
    }
    book.save(&xlsx_path).unwrap();
    let from_xlsx = eval_json(&lake, &[xlsx_path.to_str().unwrap()]);
    assert_eq!(from_xlsx["confusion"], e["confusion"]);

    // The text report names its parts in Chinese and English.
    let text = ok(
        &lake,
        &["text", "eval", tsv.to_str().unwrap(), "--examples", "3"],
    );
    for want in [
        "平衡准确率 balanced accuracy",
        "混淆表",
        "判为中性",
        "中性召回率",
    ] {
        assert!(text.contains(want), "{want} in\n{text}");
    }
}

#[test]
fn eval_refuses_an_unknown_label_by_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("no-lake");
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, "text,label\n很好,正面\n太差,负面\n一般般,还行\n").unwrap();
    let o = dangan(&lake, &["text", "eval", path.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    for want in [
        "bad.csv",
        "row 4",
        "`label`",
        "`还行`",
        "positive, negative or neutral",
    ] {
        assert!(err.contains(want), "{want} in {err}");
    }
    // A file without a label column says which columns it has and how to name one.
    std::fs::write(&path, "内容,分数\n很好,5\n").unwrap();
    let o = dangan(&lake, &["text", "eval", path.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("--label-column") && err.contains("分数"),
        "{err}"
    );
    // A TSV whose header is not `label<TAB>text` is read as a sheet, with its columns named.
    let tsv = dir.path().join("x.tsv");
    std::fs::write(&tsv, "标签\t文本\n负面\t服务太差\n").unwrap();
    let e = eval_json(&lake, &[tsv.to_str().unwrap()]);
    assert_eq!(e["n"], 1);
}

/// The development sets in `shared/eval/` (beside the repository; evaluation only, never
/// copied into it).
fn eval_dir() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval");
    dir.join("weibo_covid.tsv").exists().then_some(dir)
}

/// A set's half (`A` or `B`) as the README of `shared/eval/` fixes it: half A when the first
/// byte of the text's MD5 is even.
fn half(set: &std::path::Path, which: char, out: &std::path::Path) {
    use md5::{Digest, Md5};
    let text = std::fs::read_to_string(set).unwrap();
    let mut lines = text.lines();
    let mut kept = vec![lines.next().unwrap().to_string()];
    for l in lines {
        let t = l.split_once('\t').unwrap().1;
        let even = Md5::digest(t.as_bytes())[0] % 2 == 0;
        if even == (which == 'A') {
            kept.push(l.to_string());
        }
    }
    std::fs::write(out, kept.join("\n") + "\n").unwrap();
}

fn balanced_accuracy(lake: &std::path::Path, file: &std::path::Path) -> (f64, String) {
    let e = eval_json(lake, &[file.to_str().unwrap()]);
    (
        e["balanced_accuracy"].as_f64().unwrap(),
        e["model"].as_str().unwrap().to_string(),
    )
}

#[test]
fn train_on_half_a_lifts_half_b_of_every_set() {
    let Some(dir) = eval_dir() else {
        eprintln!("skipped: ../shared/eval/ is not beside the repository");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    // Per set: the shipped analyzer's floor on half B and the trained one's, just under the
    // figures reached (BENCHMARKS.md, issue 26); the review sets reach the 0.85 the issue asks
    // of them after training (`review_waimai` 0.851, since training leaves out the items its
    // own cross-validation finds mislabelled).
    for (set, shipped_floor, trained_floor) in [
        ("weibo_covid", 0.83, 0.88),
        ("weibo_nlpcc", 0.75, 0.80),
        ("finance_stockforum", 0.75, 0.80),
        ("review_hotel", 0.86, 0.88),
        ("review_waimai", 0.82, 0.85),
        ("review_shop_mengniu", 0.86, 0.93),
        ("review_shop_fruit", 0.91, 0.92),
        ("review_shop_shampoo", 0.90, 0.92),
    ] {
        let (a, b) = (
            tmp.path().join(format!("{set}_A.tsv")),
            tmp.path().join(format!("{set}_B.tsv")),
        );
        half(&dir.join(format!("{set}.tsv")), 'A', &a);
        half(&dir.join(format!("{set}.tsv")), 'B', &b);
        let lake = tmp.path().join(set);
        ok(&lake, &["init"]);
        let (before, shipped) = balanced_accuracy(&lake, &b);
        let out = ok(
            &lake,
            &["text", "train", a.to_str().unwrap(), "--format", "json"],
        );
        let t: serde_json::Value = serde_json::from_str(&out).unwrap();
        let (after, adapted) = balanced_accuracy(&lake, &b);
        report.push(format!(
            "{set}: {before:.3} -> {after:.3} (kept: {})",
            t["kept"]
        ));
        assert_eq!(t["kept"], true, "{set}: {out}");
        assert!(
            adapted.ends_with("lake v1") && !shipped.contains("lake"),
            "{adapted}"
        );
        assert!(after > before, "{set}: {before} -> {after}");
        assert!(before >= shipped_floor, "{set}: shipped {before}");
        assert!(after >= trained_floor, "{set}: trained {after}");
    }
    eprintln!("{}", report.join("\n"));
}

/// A labelled file of 200 positive and 200 negative batches of goods: `第{i}批货物` and the
/// ending each side says.
fn batches_file(path: &std::path::Path, positive: &str, negative: &str) {
    let mut tsv = String::from("label\ttext\n");
    for i in 0..200 {
        tsv.push_str(&format!(
            "positive\t第{i}批货物{positive}\nnegative\t第{i}批货物{negative}\n"
        ));
    }
    std::fs::write(path, tsv).unwrap();
}

/// `dangan text sentiment` of an orange-labelled batch in the lake: its score, and what the
/// command said on standard error.
fn orange_score(lake: &std::path::Path) -> (f64, String) {
    let o = dangan(
        lake,
        &[
            "text",
            "sentiment",
            "第500批货物检验结论为橙标",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    (v["score"].as_f64().unwrap(), stderr(&o))
}

#[test]
fn training_that_does_not_help_is_not_kept_and_reset_goes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    ok(&lake, &["init"]);
    // Clear sentences the shipped analyzer already scores right, every one: no candidate can
    // do better on the texts it was not fitted on, so nothing is kept.
    let file = tmp.path().join("codes.tsv");
    batches_file(&file, "质量很好，非常满意", "质量太差，非常失望");
    let out = ok(&lake, &["text", "train", file.to_str().unwrap()]);
    assert!(
        out.contains("没有提高") && out.contains("nothing was changed"),
        "{out}"
    );
    assert!(!lake.join("text/sentiment/active").exists());
    let history = std::fs::read_to_string(lake.join("text/sentiment/history.jsonl")).unwrap();
    assert!(history.contains("\"kept\":false"), "{history}");

    // Codes that mean the same everywhere: kept, used by `text sentiment` and SQL, then reset.
    batches_file(&file, "检验结论为蓝标", "检验结论为橙标");
    let out = ok(
        &lake,
        &["text", "train", file.to_str().unwrap(), "--format", "json"],
    );
    let t: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(t["kept"], true, "{out}");
    assert_eq!(t["version"], "v1");
    let score = |lake: &std::path::Path| orange_score(lake).0;
    // SQL (and so the reports, the page and the API, which query through the same sessions)
    // scores with the lake's model too.
    let in_sql = |lake: &std::path::Path| -> f64 {
        let rows = crate::support::sql(lake, "SELECT sentiment('第500批货物检验结论为橙标') AS s");
        rows[0]["s"].as_f64().unwrap()
    };
    assert!(score(&lake) < -0.5);
    assert!((in_sql(&lake) - score(&lake)).abs() < 1e-9);
    let out = ok(&lake, &["text", "train", "--reset"]);
    assert!(out.contains("shipped"), "{out}");
    assert!(score(&lake) > -0.5);
    assert!(in_sql(&lake) > -0.5);
    assert_eq!(
        std::fs::read_to_string(lake.join("text/sentiment/active"))
            .unwrap()
            .trim(),
        "shipped"
    );
    // The history lists every training and reset, and what is in use.
    let h: serde_json::Value = serde_json::from_str(&ok(
        &lake,
        &["text", "train", "--history", "--format", "json"],
    ))
    .unwrap();
    let actions: Vec<&str> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["train", "train", "reset"]);
    assert_eq!(h["model"], dangan_text::sentiment::MODEL_VERSION);
    let text = ok(&lake, &["text", "train", "--history"]);
    assert!(
        text.contains("在用 in use") && text.contains("v1"),
        "{text}"
    );
    // A new training gets the next version; the old file stays.
    ok(&lake, &["text", "train", file.to_str().unwrap()]);
    assert!(
        lake.join("text/sentiment/v1.tsv").exists() && lake.join("text/sentiment/v2.tsv").exists()
    );
    assert_eq!(
        std::fs::read_to_string(lake.join("text/sentiment/active"))
            .unwrap()
            .trim(),
        "v2"
    );
    // A model fitted beside the previous shipped analyzer (its header names no `shipped=`
    // revision) is not used beside this one: a warning that says what to do, and the shipped
    // analyzer's score.
    let adapted = score(&lake);
    let v2 = lake.join("text/sentiment/v2.tsv");
    let model = std::fs::read_to_string(&v2).unwrap();
    let revision = format!(" shipped={}", dangan_text::sentiment::MODEL_REVISION);
    assert!(model.contains(&revision), "{model}");
    std::fs::write(&v2, model.replace(&revision, "")).unwrap();
    let o = dangan(
        &lake,
        &[
            "text",
            "sentiment",
            "第500批货物检验结论为橙标",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("dangan-sentiment 2") && stderr(&o).contains("text train"),
        "{}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let shipped = dangan_text::sentiment("第500批货物检验结论为橙标");
    assert!((v["score"].as_f64().unwrap() - shipped).abs() < 1e-9, "{v}");
    assert!((adapted - shipped).abs() > 0.1);
    std::fs::write(&v2, model).unwrap();

    // Too few labelled texts: a clear error, nothing written.
    std::fs::write(&file, "label\ttext\npositive\t很好\nnegative\t很差\n").unwrap();
    let o = dangan(&lake, &["text", "train", file.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("at least 20"), "{}", stderr(&o));
}

/// A lake's model fitted beside another revision of the analyzer (what an upgrade of dangan
/// leaves): scored with the shipped analyzer and said so, then fitted again from the labelled
/// texts the lake kept beside it.
#[test]
fn a_model_of_another_revision_is_set_aside_and_refitted_from_its_kept_texts() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    ok(&lake, &["init"]);
    // Nothing to fit again while the shipped analyzer is in use.
    let o = dangan(&lake, &["text", "train", "--refit"]);
    assert!(
        !o.status.success() && stderr(&o).contains("内置模型"),
        "{}",
        stderr(&o)
    );
    let file = tmp.path().join("codes.tsv");
    batches_file(&file, "检验结论为蓝标", "检验结论为橙标");
    ok(&lake, &["text", "train", file.to_str().unwrap()]);
    let kept = lake.join("text/sentiment/v1.items.tsv");
    assert_eq!(std::fs::read_to_string(&kept).unwrap().lines().count(), 401);
    let score = orange_score;
    assert!(score(&lake).0 < -0.5);
    // The model as an older dangan would have written it: fitted beside revision 3.
    let model = lake.join("text/sentiment/v1.tsv");
    let text = std::fs::read_to_string(&model).unwrap();
    let revision = format!("shipped={}", dangan_text::sentiment::MODEL_REVISION);
    assert!(text.contains(&revision), "{text}");
    std::fs::write(&model, text.replace(&revision, "shipped=3")).unwrap();
    let (s, warning) = score(&lake);
    assert!(s > -0.5, "{s}");
    assert!(
        warning.contains("dangan-sentiment 3") && warning.contains("--refit"),
        "{warning}"
    );
    let out = ok(&lake, &["text", "train", "--refit", "--format", "json"]);
    let t: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&t["action"], &t["kept"], &t["version"]),
        (&"refit".into(), &true.into(), &"v2".into()),
        "{out}"
    );
    let (s, warning) = score(&lake);
    assert!(s < -0.5 && warning.is_empty(), "{s} {warning}");
    // A model trained before its texts were kept says how to go on.
    std::fs::remove_file(lake.join("text/sentiment/v2.items.tsv")).unwrap();
    let o = dangan(&lake, &["text", "train", "--refit"]);
    assert!(
        !o.status.success() && stderr(&o).contains("text train FILE"),
        "{}",
        stderr(&o)
    );
}
