//! `dangan text`: the sentiment of sentences and the keywords of a dataset's texts, for
//! analysts who want the pieces the reports are made of.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use dangan_query::QueryEngine;
use dangan_text::sentiment;

use crate::cli::{TextCommand, TextFormat};

pub async fn run(lake_dir: &Path, command: TextCommand) -> Result<ExitCode> {
    match command {
        TextCommand::Sentiment {
            texts,
            explain,
            format,
        } => {
            // The lake's own words count when there is a lake.
            if let Ok(lake) = super::open(lake_dir) {
                dangan_query::udf::load_user_words(&lake);
            }
            let texts: Vec<String> = if texts.is_empty() {
                std::io::stdin().lock().lines().collect::<Result<_, _>>()?
            } else {
                texts
            };
            for t in texts.iter().filter(|t| !t.trim().is_empty()) {
                // One scoring of the text: the score is shaped from its parts.
                let (lexicon, model) = sentiment::parts(t);
                let score = sentiment::shape(lexicon, model);
                let label = if score < sentiment::NEGATIVE {
                    "负面"
                } else if score > sentiment::POSITIVE {
                    "正面"
                } else {
                    "中性"
                };
                let words = if explain {
                    sentiment::explain(t)
                } else {
                    Vec::new()
                };
                if format == TextFormat::Json {
                    let mut v = serde_json::json!({"text": t, "score": score, "label": label});
                    if explain {
                        v["lexicon"] = lexicon.all.into();
                        v["lexicon_ours"] = lexicon.ours.into();
                        v["model_log_odds"] = model.into();
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
                        "{score:+.3}\t{label}\t{t}\n        词典 lexicon {:+.2} [{}]; 模型 model log-odds {model:+.2}",
                        lexicon.all,
                        found.join(", ")
                    );
                } else {
                    println!("{score:+.3}\t{label}\t{t}");
                }
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
                let tree = dangan_query::policy::OrgTree::load(&lake).await?;
                if !tree.knows(org) {
                    bail!("no organization `{org}` 没有该组织");
                }
                let list: Vec<String> = tree
                    .sub_trees([org])
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
            let result = engine.sql(&sql).await;
            engine.flush_audit().await?;
            let result = result?;
            let texts =
                dangan_reports::frame::column_strings(&result.schema, &result.batches, "text")?;
            let groups: Vec<Option<usize>> = texts
                .iter()
                .map(|t| match only.as_deref() {
                    None => Some(0),
                    Some(which) => {
                        let s = sentiment::sentiment(t);
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
                let rows = dangan_reports::render::json::frame_rows(&words);
                println!(
                    "{}",
                    serde_json::json!({"dataset": dataset, "column": column, "texts": n, "keywords": rows})
                );
            } else {
                println!("{dataset}.{column}: {n} texts 条");
                println!("排名\t关键词\t次数\t条目\t权重");
                for row in dangan_reports::render::json::frame_rows(&words) {
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
