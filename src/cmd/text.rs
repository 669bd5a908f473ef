//! `dangan text`: the sentiment of sentences and the keywords of a dataset's texts, for
//! analysts who want the pieces the reports are made of.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use dangan_query::QueryEngine;
use dangan_query::text_model::ModelStore;
use dangan_text::sentiment::{self, Analyzer, adapt, evaluation, evaluation::Label};

use crate::cli::{LabelledColumns, TextCommand, TextFormat};

pub async fn run(lake_dir: &Path, command: TextCommand) -> Result<ExitCode> {
    match command {
        TextCommand::Sentiment {
            texts,
            explain,
            format,
        } => {
            let analyzer = lake_analyzer(lake_dir);
            let texts: Vec<String> = if texts.is_empty() {
                std::io::stdin().lock().lines().collect::<Result<_, _>>()?
            } else {
                texts
            };
            for t in texts.iter().filter(|t| !t.trim().is_empty()) {
                // One scoring of the text: the score is shaped from its parts.
                let parts = analyzer.parts(t);
                let score = analyzer.score(t);
                let label = if score < sentiment::NEGATIVE {
                    "负面"
                } else if score > sentiment::POSITIVE {
                    "正面"
                } else {
                    "中性"
                };
                let words = if explain {
                    analyzer.explain(t)
                } else {
                    Vec::new()
                };
                if format == TextFormat::Json {
                    let mut v = serde_json::json!({"text": t, "score": score, "label": label});
                    if explain {
                        v["lexicon"] = parts.lexicon.all.into();
                        v["lexicon_ours"] = parts.lexicon.ours.into();
                        v["model_log_odds"] = parts.log_odds.into();
                        v["register"] = parts.register.into();
                        v["words"] = words
                            .iter()
                            .map(|(w, s)| serde_json::json!({"word": w, "weight": s}))
                            .collect();
                    }
                    println!("{v}");
                } else if explain {
                    let found: Vec<String> =
                        words.iter().map(|(w, s)| format!("{w} {s:+.1}")).collect();
                    println!(
                        "{score:+.3}\t{label}\t{t}\n        词典 lexicon {:+.2} [{}]; 模型 model log-odds {:+.2}; 语体 register {:+.2} (opinion weight {:.2})",
                        parts.lexicon.all,
                        found.join(", "),
                        parts.log_odds,
                        parts.register,
                        sentiment::register::opinion_weight(parts.register)
                    );
                } else {
                    println!("{score:+.3}\t{label}\t{t}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TextCommand::Eval {
            file,
            columns,
            examples,
            format,
        } => {
            let analyzer = lake_analyzer(lake_dir);
            let items = read_labelled(&file, columns)?;
            if items.is_empty() {
                bail!("{}: no labelled text 没有带标签的文本", file.display());
            }
            let e = evaluation::evaluate_labelled(&items, |t| analyzer.score(t), examples);
            let model = analyzer.version();
            if format == TextFormat::Json {
                println!("{}", eval_json(&file, &e, &model));
            } else {
                print_eval(&file, &e, &model);
            }
            Ok(ExitCode::SUCCESS)
        }
        TextCommand::Train {
            file,
            reset,
            refit,
            history,
            columns,
            format,
        } => {
            let lake = super::open(lake_dir).context(
                "text train keeps the adapted model in a lake: give --lake or run dangan init 需要数据湖",
            )?;
            let analyzer = dangan_query::text_model::analyzer(&lake);
            let store = ModelStore::of(&lake);
            if history {
                print_history(&store, format, &analyzer.version());
                return Ok(ExitCode::SUCCESS);
            }
            let at = chrono::Local::now().to_rfc3339();
            if reset {
                let before = analyzer.version();
                store.reset(serde_json::json!({"at": at, "action": "reset", "was": before}))?;
                let now = analyzer.with_adapted(None).version();
                if format == TextFormat::Json {
                    println!(
                        "{}",
                        serde_json::json!({"action": "reset", "was": before, "model": now})
                    );
                } else {
                    println!(
                        "已恢复内置模型 back to the shipped analyzer ({now}); it was {before}"
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            let file = if refit {
                // The texts the model in use was fitted on, kept beside it.
                let version = store.active_version().context(
                    "no lake model is in use to fit again: the shipped analyzer is 当前使用内置模型，无需重新拟合",
                )?;
                let kept = store.items_path(&version);
                if !kept.exists() {
                    bail!(
                        "{version} was trained before dangan kept its labelled texts ({} is missing): run `dangan text train FILE` on the labelled file 请用标注文件重新训练",
                        kept.display()
                    );
                }
                kept
            } else {
                file.context("a labelled file to train on 请给出标注文件")?
            };
            let items = read_labelled(&file, columns)?;
            let current = analyzer.version();
            let version = store.next_version();
            let t = adapt::train(&items, &analyzer, &version, 0)?;
            let (positive, negative) = t.model.fitted_on;
            let neutral = items.len() - positive - negative;
            let record = serde_json::json!({
                "at": at,
                "action": if refit { "refit" } else { "train" },
                "version": version,
                "file": file.display().to_string(),
                "items": items.len(),
                "positive": positive,
                "negative": negative,
                "neutral_not_fitted": neutral,
                "held_out": t.held_out,
                "before": {"model": current, "balanced_accuracy": t.before.balanced_accuracy},
                "after": {"model": t.model.name(), "balanced_accuracy": t.after.balanced_accuracy},
                "kept": t.improved(),
            });
            let in_use = if t.improved() {
                store.keep(&t.model, &items, record.clone())?;
                t.model.name()
            } else {
                store.note(record.clone())?;
                current.clone()
            };
            if format == TextFormat::Json {
                let mut v = record;
                v["before"]["evaluation"] = eval_json(&file, &t.before, &current);
                v["after"]["evaluation"] = eval_json(&file, &t.after, &t.model.name());
                v["model"] = in_use.into();
                println!("{v}");
            } else {
                print_training(&file, &t, &current, neutral);
            }
            Ok(ExitCode::SUCCESS)
        }
        TextCommand::Keywords {
            dataset,
            column,
            org,
            only,
            top,
            as_department,
            format,
        } => {
            let lake = super::open(lake_dir)?;
            let spec = lake.registry().get(&dataset)?;
            let column = match column {
                Some(c) => {
                    if spec.column(&c).is_none() {
                        bail!("{dataset} has no column `{c}` 数据集没有该列");
                    }
                    c
                }
                None => match spec.columns.iter().find(|c| c.text) {
                    Some(c) => c.name.clone(),
                    None => bail!(
                        "{dataset} has no full-text column: give one with --column 请用 --column 指定文本列"
                    ),
                },
            };
            let mut sql = format!(
                "SELECT \"{column}\" AS text FROM \"{dataset}\" WHERE \"{column}\" IS NOT NULL"
            );
            if let Some(org) = &org {
                let list: Vec<String> = dangan_query::policy::OrgTree::load(&lake)
                    .await?
                    .sub_tree(org)
                    .with_context(|| format!("no organization `{org}` 没有该组织"))?
                    .iter()
                    .map(|o| format!("'{}'", o.replace('\'', "''")))
                    .collect();
                if spec.column("org_id").is_some() {
                    sql.push_str(&format!(" AND org_id IN ({})", list.join(", ")));
                } else if spec.column("member_id").is_some() {
                    sql.push_str(&format!(
                        " AND member_id IN (SELECT member_id FROM members WHERE org_id IN ({}))",
                        list.join(", ")
                    ));
                } else {
                    bail!("{dataset} has no org_id or member_id to filter by --org");
                }
            }
            let engine = QueryEngine::open_as(&lake, as_department.as_deref()).await?;
            let analyzer = engine.analyzer();
            let result = engine.sql(&sql).await;
            engine.flush_audit().await?;
            let result = result?;
            let texts = dangan_reports::Table::from_batches(&result.schema, &result.batches)?
                .strings("text")?;
            let groups: Vec<Option<usize>> = texts
                .iter()
                .map(|t| match only.as_deref() {
                    None => Some(0),
                    Some(which) => {
                        let s = analyzer.score(t);
                        let keep = if which == "negative" {
                            s < sentiment::NEGATIVE
                        } else {
                            s > sentiment::POSITIVE
                        };
                        keep.then_some(0)
                    }
                })
                .collect();
            let words = dangan_reports::keywords::top_words(&texts, &groups, 1, top)?
                .pop()
                .unwrap_or_default();
            let n = groups.iter().filter(|g| g.is_some()).count();
            if format == TextFormat::Json {
                let rows = dangan_reports::render::json::table_rows(&words);
                println!(
                    "{}",
                    serde_json::json!({"dataset": dataset, "column": column, "texts": n, "keywords": rows})
                );
            } else {
                println!("{dataset}.{column}: {n} texts 条");
                println!("排名\t关键词\t次数\t条目\t权重");
                for row in dangan_reports::render::json::table_rows(&words) {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        row["rank"],
                        row["word"].as_str().unwrap_or_default(),
                        row["count"],
                        row["items"],
                        row["weight"]
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The lake's analyzer (its own words and adapted model) when there is a lake; without one,
/// the shipped analyzer.
fn lake_analyzer(lake_dir: &Path) -> Analyzer {
    match super::open(lake_dir) {
        Ok(lake) => dangan_query::text_model::analyzer(&lake),
        Err(_) => Analyzer::shipped().clone(),
    }
}

/// Header names taken for the label and the text column when none is given.
const LABEL_COLUMNS: &[&str] = &[
    "label",
    "labels",
    "标签",
    "情感",
    "情感倾向",
    "倾向",
    "极性",
    "情绪",
    "sentiment",
    "polarity",
    "class",
    "类别",
];
const TEXT_COLUMNS: &[&str] = &[
    "text", "文本", "内容", "评论", "意见", "留言", "反馈", "content", "review", "comment",
    "sentence", "句子",
];

/// A labelled file's items: a `label<TAB>text` TSV line by line, anything else through the
/// importer's readers (CSV in any encoding, xlsx, …) with a label and a text column.
fn read_labelled(path: &Path, columns: LabelledColumns) -> Result<Vec<(Label, String)>> {
    let LabelledColumns {
        label_column,
        text_column,
        sheet,
    } = columns;
    let (label_column, text_column) = (label_column.as_deref(), text_column.as_deref());
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let tsv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    if tsv
        && label_column.is_none()
        && text_column.is_none()
        && let Ok(text) = std::str::from_utf8(&bytes)
        && text
            .lines()
            .next()
            .is_some_and(|h| h.trim_start_matches('\u{feff}').trim() == "label\ttext")
    {
        return match evaluation::parse_tsv(text) {
            Ok(items) => Ok(items.into_iter().map(|(l, t)| (l, t.to_string())).collect()),
            Err((line, why)) => bail!("{}: line {line}: {why}", path.display()),
        };
    }
    let opts = dangan_ingest::ReadOptions {
        sheet,
        ..Default::default()
    };
    let sheets = dangan_ingest::read_sheets(path, &bytes, &opts)?;
    let Some(sheet) = sheets.into_iter().find(|s| s.has_data()) else {
        bail!("{}: no data 文件没有数据", path.display());
    };
    let Some((header_at, header)) = sheet
        .rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.iter().any(|c| !c.is_empty()))
    else {
        bail!("{}: no header row 没有表头", path.display());
    };
    let names: Vec<String> = header
        .iter()
        .map(|c| c.display().trim().to_string())
        .collect();
    let find = |given: Option<&str>, candidates: &[&str], what: &str| -> Result<usize> {
        let found = match given {
            Some(g) => names.iter().position(|n| n == g),
            None => candidates
                .iter()
                .find_map(|c| names.iter().position(|n| n.eq_ignore_ascii_case(c))),
        };
        found.with_context(|| {
            format!(
                "{}: no {what} column{} among [{}]; name it with --{what}-column 请用 --{what}-column 指定{}列",
                path.display(),
                given.map(|g| format!(" `{g}`")).unwrap_or_default(),
                names.join(", "),
                if what == "label" { "标签" } else { "文本" }
            )
        })
    };
    let (label_at, text_at) = (
        find(label_column, LABEL_COLUMNS, "label")?,
        find(text_column, TEXT_COLUMNS, "text")?,
    );
    let mut items = Vec::new();
    for (i, row) in sheet.rows.iter().enumerate().skip(header_at + 1) {
        let cell = |k: usize| row.get(k).map(|c| c.display()).unwrap_or_default();
        let (label, text) = (cell(label_at), cell(text_at));
        if text.trim().is_empty() && label.trim().is_empty() {
            continue;
        }
        let Some(label) = Label::parse(&label) else {
            bail!(
                "{}: row {}, column `{}`: {}",
                path.display(),
                i + 1,
                names[label_at],
                evaluation::unknown_label(&label)
            );
        };
        if !text.trim().is_empty() {
            items.push((label, text));
        }
    }
    Ok(items)
}

fn eval_json(file: &Path, e: &evaluation::Evaluation, model: &str) -> serde_json::Value {
    let classes: serde_json::Map<String, serde_json::Value> = Label::ALL
        .iter()
        .zip(e.classes.iter())
        .map(|(l, c)| {
            (
                l.name().to_string(),
                serde_json::json!({"precision": c.precision, "recall": c.recall, "f1": c.f1, "support": c.support}),
            )
        })
        .collect();
    let confusion: serde_json::Map<String, serde_json::Value> = Label::ALL
        .iter()
        .zip(e.confusion.iter())
        .map(|(l, row)| {
            (
                l.name().to_string(),
                Label::ALL
                    .iter()
                    .zip(row.iter())
                    .map(|(v, n)| (v.name().to_string(), serde_json::json!(n)))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            )
        })
        .collect();
    serde_json::json!({
        "file": file.display().to_string(),
        "model": model,
        "n": e.n,
        "balanced_accuracy": e.balanced_accuracy,
        "sign_balanced_accuracy": e.sign_balanced_accuracy,
        "classes": classes,
        "confusion": confusion,
        "neutral_share": e.neutral_share,
        "undecided_share": e.undecided_share,
        "neutral_recall": e.neutral_recall(),
        "worst": e.worst.iter().map(|s| serde_json::json!({"label": s.label.name(), "score": s.score, "text": s.text})).collect::<Vec<_>>(),
    })
}

fn print_eval(file: &Path, e: &evaluation::Evaluation, model: &str) {
    let counts: Vec<String> = Label::ALL
        .iter()
        .map(|l| format!("{} {}", l.chinese(), e.count(*l)))
        .collect();
    println!(
        "{}: {} 条 texts ({}); 模型 model {}",
        file.display(),
        e.n,
        counts.join(", "),
        model
    );
    println!(
        "平衡准确率 balanced accuracy (positive vs negative, neutral verdicts wrong): {:.4}",
        e.balanced_accuracy
    );
    println!(
        "  by the score's sign alone 仅按正负号: {:.4}",
        e.sign_balanced_accuracy
    );
    println!("\n类别 class\t精确率 precision\t召回率 recall\tF1\t条数 support");
    for (l, c) in Label::ALL.iter().zip(e.classes.iter()) {
        if c.support == 0 && *l == Label::Neutral {
            continue;
        }
        println!(
            "{} {}\t{:.4}\t{:.4}\t{:.4}\t{}",
            l.chinese(),
            l.name(),
            c.precision,
            c.recall,
            c.f1,
            c.support
        );
    }
    println!("\n混淆表 confusion (行 rows: label 标签, 列 columns: verdict 判定)");
    println!("\t正面\t负面\t中性");
    for (l, row) in Label::ALL.iter().zip(e.confusion.iter()) {
        if row.iter().sum::<usize>() == 0 {
            continue;
        }
        println!("{}\t{}\t{}\t{}", l.chinese(), row[0], row[1], row[2]);
    }
    println!(
        "\n判为中性 scored neutral: {:.1} % of all, {:.1} % of the positive and negative texts",
        e.neutral_share * 100.0,
        e.undecided_share * 100.0
    );
    if let Some(r) = e.neutral_recall() {
        println!("中性召回率 neutral recall: {r:.4}");
    }
    if !e.worst.is_empty() {
        println!("\n判错最远的例子 worst-scored examples:");
        for s in &e.worst {
            let text: String = s.text.chars().take(80).collect();
            println!("{:+.3}\t标签 {}\t{text}", s.score, s.label.chinese());
        }
    }
}

fn print_training(file: &Path, t: &adapt::Training, current: &str, neutral: usize) {
    let (positive, negative) = t.model.fitted_on;
    println!(
        "{}: 正面 {positive}, 负面 {negative} 条 labelled texts{}; judged by five-fold cross-validation 五折交叉检验 (each of five candidates fitted on {} texts, every one of the {} texts scored by a candidate that did not see it)",
        file.display(),
        if neutral > 0 {
            format!(" ({neutral} neutral 中性 not fitted on, counted in the evaluation)")
        } else {
            String::new()
        },
        t.fitted,
        t.held_out
    );
    let version = &t.model.version;
    println!(
        "\n未参与拟合的评分 texts scored unseen\t之前 before ({current})\t之后 after (lake {version})"
    );
    let row = |name: &str, a: f64, b: f64| println!("{name}\t{a:.4}\t{b:.4}");
    row(
        "平衡准确率 balanced accuracy",
        t.before.balanced_accuracy,
        t.after.balanced_accuracy,
    );
    row("正面 F1", t.before.classes[0].f1, t.after.classes[0].f1);
    row("负面 F1", t.before.classes[1].f1, t.after.classes[1].f1);
    row(
        "判为中性 scored neutral",
        t.before.neutral_share,
        t.after.neutral_share,
    );
    if t.improved() {
        println!(
            "\n已启用 now in use: {} — sentiment(), the reports, the page and the API of this lake score with it; `dangan text train --reset` returns to the shipped analyzer",
            t.model.name()
        );
    } else {
        println!(
            "\n没有提高 not better on the texts it was not fitted on ({:.4} ≤ {:.4}): the analyzer in use stays ({current}); nothing was changed 保留原模型",
            t.after.balanced_accuracy, t.before.balanced_accuracy
        );
    }
}

fn print_history(store: &ModelStore, format: TextFormat, in_use: &str) {
    let lines = store.history();
    if format == TextFormat::Json {
        println!("{}", serde_json::json!({"model": in_use, "history": lines}));
        return;
    }
    println!("在用 in use: {in_use}");
    if lines.is_empty() {
        println!("no training yet 尚未训练");
        return;
    }
    println!("时间 at\t操作 action\t版本 version\t启用 kept\t之前 before\t之后 after\t文件 file");
    let num = |v: &serde_json::Value| v.as_f64().map(|x| format!("{x:.4}")).unwrap_or_default();
    for l in &lines {
        let s = |k: &str| l[k].as_str().unwrap_or_default().to_string();
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            s("at"),
            s("action"),
            s("version"),
            l["kept"]
                .as_bool()
                .map(|k| if k { "是" } else { "否" })
                .unwrap_or("-"),
            num(&l["before"]["balanced_accuracy"]),
            num(&l["after"]["balanced_accuracy"]),
            s("file")
        );
    }
}
