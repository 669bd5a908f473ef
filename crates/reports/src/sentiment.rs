//! `sentiment`: how members' and the masses' feelings move — feedback, survey free text and
//! 思想汇报 growth records scored by the `text` crate's lexicon; a sentiment index per org and
//! month, the share of negative items, significant drops flagged (with the items behind them),
//! and the top keywords of negative and positive items (TF-IDF over jieba words).

use crate::table::{self, Table};
use crate::util::sql_ts;
use crate::{Chart, Inputs, Params, Report, ReportDef, Result, Section};
use chrono::Duration;

pub struct Sentiment;

// The scorer's own band: below NEGATIVE an item counts as negative, above POSITIVE positive.
use dangan_text::sentiment::{NEGATIVE, POSITIVE};
/// A month-on-month fall of the mean score is flagged when it is at least this large and
/// significant (two-sample z below -1.96, p < 0.05), with at least `MIN_ITEMS` items in each
/// of the two months.
const MIN_DROP: f64 = 0.05;
const Z: f64 = -1.96;
const MIN_ITEMS: usize = 8;
/// Items listed behind each flag.
const ITEMS_PER_FLAG: usize = 10;

/// The sources, each its own query so that a department granted only some of them still gets
/// a report (the note says which were left out).
const SOURCES: [(&str, &str); 3] = [
    ("feedback", "意见反馈"),
    ("survey_responses", "问卷意见"),
    ("growth_records", "思想汇报"),
];

#[async_trait::async_trait]
impl ReportDef for Sentiment {
    fn name(&self) -> &'static str {
        "sentiment"
    }

    fn title(&self) -> &'static str {
        "党员群众思想动态与情感分析报告"
    }

    fn optional(&self) -> &'static [&'static str] {
        &["feedback", "survey_responses", "growth_records", "orgs"]
    }

    fn queries(&self, p: &Params) -> Vec<(&'static str, String)> {
        let (from, to) = crate::util::months_period(p);
        let (a, b) = (sql_ts(from), sql_ts(to + Duration::days(1)));
        vec![
            (
                "feedback",
                format!(
                    "SELECT 'feedback' AS source, feedback_id AS item_id, CAST(received_at AS DATE) AS date, \
                     to_char(received_at, '%Y-%m') AS month, org_id, category, content AS text, \
                     sentiment(content) AS score FROM feedback \
                     WHERE content IS NOT NULL AND received_at >= {a} AND received_at < {b}{org}",
                    org = p.org_filter("org_id")
                ),
            ),
            (
                "survey_responses",
                format!(
                    "SELECT 'survey_responses' AS source, response_id || '/' || question_id AS item_id, \
                     CAST(submitted_at AS DATE) AS date, to_char(submitted_at, '%Y-%m') AS month, org_id, \
                     question_text AS category, answer_text AS text, sentiment(answer_text) AS score \
                     FROM survey_responses WHERE answer_text IS NOT NULL AND answer_score IS NULL \
                     AND char_length(trim(answer_text)) > 2 AND submitted_at >= {a} AND submitted_at < {b}{org}",
                    org = p.org_filter("org_id")
                ),
            ),
            (
                "growth_records",
                format!(
                    "SELECT 'growth_records' AS source, g.record_id AS item_id, g.date AS date, \
                     to_char(g.date, '%Y-%m') AS month, m.org_id, g.category, g.content AS text, \
                     sentiment(g.content) AS score FROM growth_records g \
                     JOIN members m ON g.member_id = m.member_id \
                     WHERE g.category = '思想汇报' AND g.content IS NOT NULL \
                     AND g.date >= {} AND g.date <= {}{org}",
                    crate::util::sql_date(from),
                    crate::util::sql_date(to),
                    org = p.org_filter("m.org_id")
                ),
            ),
            (
                "orgs",
                "SELECT org_id, name AS org_name FROM organizations".to_string(),
            ),
        ]
    }

    async fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let (from, to) = crate::util::months_period(p);
        let mut parts = Vec::new();
        let mut left_out = Vec::new();
        for (name, label) in SOURCES {
            match input.optional(name) {
                Some(_) => parts.push(format!(
                    "SELECT source, item_id, date, month, CAST(org_id AS VARCHAR) AS org_id, \
                     category, text, score FROM {name}"
                )),
                None => left_out.push(label),
            }
        }
        let items = if parts.is_empty() {
            Table::empty()
        } else {
            let name = match input.optional("orgs") {
                Some(_) => "COALESCE(o.org_name, i.org_id, '未知')",
                None => "COALESCE(i.org_id, '未知')",
            };
            let join = match input.optional("orgs") {
                Some(_) => " LEFT JOIN orgs o ON i.org_id = o.org_id",
                None => "",
            };
            input
                .sql(&format!(
                    "SELECT i.*, {name} AS org_name FROM ({}) i{join}",
                    parts.join(" UNION ALL ")
                ))
                .await?
        };
        input.register("items", &items)?;

        let mut sections = Vec::new();
        let mut highlights = Vec::new();
        if items.height() == 0 {
            highlights.push(("条目数".into(), "0".into()));
        } else {
            // Neither side: counted on their own, never as negative or positive.
            let summary = |by: &str, order: &str| {
                format!(
                    "SELECT *, round(50.0 * (1.0 + mean), 1) AS \"index\", \
                     items - negatives - positives AS neutrals, \
                     round(CAST(negatives AS DOUBLE) / CAST(items AS DOUBLE) * 100.0, 1) AS negative_pct \
                     FROM (SELECT {by}, count(*) AS items, avg(score) AS mean, var_samp(score) AS var, \
                       sum(CASE WHEN score < {NEGATIVE:?} THEN 1 ELSE 0 END) AS negatives, \
                       sum(CASE WHEN score > {POSITIVE:?} THEN 1 ELSE 0 END) AS positives \
                       FROM items GROUP BY {by}) ORDER BY {order}"
                )
            };
            let monthly = input.sql(&summary("month", "month NULLS FIRST")).await?;
            let by_org_month = input
                .sql(&summary(
                    "org_id, org_name, month",
                    "org_id NULLS FIRST, month NULLS FIRST, org_name",
                ))
                .await?;
            let by_source = input.sql(&summary("source", "source NULLS FIRST")).await?;

            // Significant drops, overall and per organization.
            let mut flags = drops(&monthly, None)?;
            flags.extend(drops(&by_org_month, Some(("org_id", "org_name")))?);
            let scores = items.floats("score")?;
            let mean_all = scores.iter().sum::<f64>() / items.height() as f64;
            let neg_all = scores.iter().filter(|s| **s < NEGATIVE).count();
            highlights.push(("条目数".into(), items.height().to_string()));
            highlights.push((
                "情感指数".into(),
                format!("{:.1}（0–100，50为中性）", 50.0 * (1.0 + mean_all)),
            ));
            let pos_all = scores.iter().filter(|s| **s > POSITIVE).count();
            let share = |n: usize| format!("{:.1}%", n as f64 / items.height() as f64 * 100.0);
            highlights.push(("负面占比".into(), share(neg_all)));
            highlights.push(("正面占比".into(), share(pos_all)));
            highlights.push(("中性占比".into(), share(items.height() - neg_all - pos_all)));
            highlights.push(("评分模型".into(), input.sentiment_model().to_string()));
            highlights.push(("显著下降".into(), format!("{} 处", flags.len())));

            let flag_table = flags_table(&flags)?;
            let behind = items_behind(&items, &flags)?;
            let texts = items.strings("text")?;
            let groups: Vec<Option<usize>> = scores
                .iter()
                .map(|s| {
                    if *s < NEGATIVE {
                        Some(0)
                    } else if *s > POSITIVE {
                        Some(1)
                    } else {
                        None
                    }
                })
                .collect();
            let mut kw = crate::keywords::top_words(&texts, &groups, 2, 20)?;
            let pos_kw = kw.pop().unwrap_or_default();
            let neg_kw = kw.pop().unwrap_or_default();

            let month_labels: &[(&str, &str)] = &[
                ("month", "月份"),
                ("org_id", "组织编号"),
                ("org_name", "组织名称"),
                ("source", "来源"),
                ("items", "条目数"),
                ("index", "情感指数"),
                ("negative_pct", "负面占比(%)"),
                ("negatives", "负面条目"),
                ("positives", "正面条目"),
                ("neutrals", "中性条目"),
            ];
            let tidy = |t: Table, keys: &[&str]| -> Result<Table> {
                let mut columns: Vec<(&str, arrow::array::ArrayRef)> = Vec::new();
                for k in keys.iter().chain(&[
                    "items",
                    "index",
                    "negatives",
                    "negative_pct",
                    "positives",
                    "neutrals",
                ]) {
                    columns.push((k, t.column(k)?.clone()));
                }
                Table::build(columns)
            };
            sections.push(
                Section::new(
                    "情感指数月度走势",
                    tidy(monthly, &["month"])?,
                    month_labels,
                )
                .note(format!(
                    "情感指数 = 50 × (1 + 平均得分)，得分在 −1（负面）到 1（正面）之间；负面：得分低于 {NEGATIVE}，正面：高于 {POSITIVE}，其间为中性（单独计数）。评分模型：{}。",
                    input.sentiment_model()
                ))
                .chart(Chart::Line {
                    x: "month".into(),
                    ys: vec!["index".into(), "negative_pct".into()],
                }),
            );
            sections.push(
                Section::new(
                    "显著下降",
                    flag_table,
                    &[
                        ("scope", "范围"),
                        ("org_id", "组织编号"),
                        ("month", "月份"),
                        ("previous_index", "上月指数"),
                        ("index", "本月指数"),
                        ("change", "变化"),
                        ("z", "z 值"),
                        ("items", "本月条目"),
                    ],
                )
                .note(format!(
                    "与上月相比平均得分下降至少 {MIN_DROP}，且双样本 z 检验 z < {Z}（p < 0.05），两月各至少 {MIN_ITEMS} 条。"
                )),
            );
            sections.push(
                Section::new(
                    "下降背后的条目",
                    behind,
                    &[
                        ("flag", "对应下降"),
                        ("source", "来源"),
                        ("item_id", "编号"),
                        ("date", "日期"),
                        ("org_name", "组织"),
                        ("score", "得分"),
                        ("text", "内容"),
                    ],
                )
                .note(format!(
                    "每处下降列出当月最负面的至多 {ITEMS_PER_FLAG} 条。"
                )),
            );
            sections.push(
                Section::new("负面条目关键词", neg_kw, KEYWORD_LABELS)
                    .note("TF-IDF：词在负面条目中的出现次数 × ln(全部条目数 ÷ 含该词条目数)。")
                    .chart(Chart::Bars {
                        label: "word".into(),
                        value: "weight".into(),
                    }),
            );
            sections.push(
                Section::new("正面条目关键词", pos_kw, KEYWORD_LABELS).chart(Chart::Bars {
                    label: "word".into(),
                    value: "weight".into(),
                }),
            );
            sections.push(Section::new(
                "按来源",
                tidy(by_source, &["source"])?,
                month_labels,
            ));
            sections.push(Section::new(
                "各组织逐月情感指数",
                tidy(by_org_month, &["org_id", "org_name", "month"])?,
                month_labels,
            ));
        }
        let mut subtitle = crate::subtitle(p, from, to);
        if !left_out.is_empty() {
            subtitle.push_str(&format!("；未授权、未纳入：{}", left_out.join("、")));
        }
        Ok(Report::new(self, subtitle, sections, highlights))
    }
}

pub(crate) const KEYWORD_LABELS: &[(&str, &str)] = &[
    ("rank", "排名"),
    ("word", "关键词"),
    ("count", "出现次数"),
    ("items", "条目数"),
    ("weight", "权重"),
];

/// A flagged drop.
struct Flag {
    org: Option<(String, String)>,
    month: String,
    previous: f64,
    mean: f64,
    z: f64,
    items: usize,
}

impl Flag {
    fn label(&self) -> String {
        match &self.org {
            Some((_, name)) => format!("{name} {}", self.month),
            None => format!("全部 {}", self.month),
        }
    }
}

/// Month-on-month drops in a table of (group…, month, items, mean, var) sorted by group
/// then month.
fn drops(df: &Table, group: Option<(&str, &str)>) -> Result<Vec<Flag>> {
    let months = df.strings("month")?;
    let items = df.floats("items")?;
    let mean = df.floats("mean")?;
    let var = df.floats("var")?;
    let (ids, names) = match group {
        Some((id, name)) => (Some(df.strings(id)?), Some(df.strings(name)?)),
        None => (None, None),
    };
    let mut out = Vec::new();
    for i in 1..months.len() {
        if let Some(ids) = &ids
            && ids[i] != ids[i - 1]
        {
            continue;
        }
        let (n0, n1) = (items[i - 1], items[i]);
        if n0 < MIN_ITEMS as f64 || n1 < MIN_ITEMS as f64 || !next_month(&months[i - 1], &months[i])
        {
            continue;
        }
        let change = mean[i] - mean[i - 1];
        let se = (var[i - 1].max(1e-6) / n0 + var[i].max(1e-6) / n1).sqrt();
        let z = change / se;
        if change <= -MIN_DROP && z < Z {
            out.push(Flag {
                org: ids
                    .as_ref()
                    .zip(names.as_ref())
                    .map(|(a, b)| (a[i].clone(), b[i].clone())),
                month: months[i].clone(),
                previous: mean[i - 1],
                mean: mean[i],
                z,
                items: n1 as usize,
            });
        }
    }
    Ok(out)
}

/// Whether `b` (`YYYY-MM`) is the month after `a`.
fn next_month(a: &str, b: &str) -> bool {
    let parse = |s: &str| {
        let (y, m) = s.split_once('-')?;
        Some(y.parse::<i32>().ok()? * 12 + m.parse::<i32>().ok()?)
    };
    matches!((parse(a), parse(b)), (Some(x), Some(y)) if y == x + 1)
}

fn flags_table(flags: &[Flag]) -> Result<Table> {
    let idx = |m: f64| (500.0 * (1.0 + m)).round() / 10.0;
    Table::build(vec![
        (
            "scope",
            table::strs(
                flags
                    .iter()
                    .map(|f| f.org.as_ref().map(|o| o.1.as_str()).unwrap_or("全部")),
            ),
        ),
        (
            "org_id",
            table::opt_strs(flags.iter().map(|f| f.org.as_ref().map(|o| o.0.as_str()))),
        ),
        ("month", table::strs(flags.iter().map(|f| f.month.as_str()))),
        (
            "previous_index",
            table::floats(flags.iter().map(|f| idx(f.previous))),
        ),
        ("index", table::floats(flags.iter().map(|f| idx(f.mean)))),
        (
            "change",
            table::floats(
                flags
                    .iter()
                    .map(|f| idx(f.mean) - idx(f.previous))
                    .map(|c| (c * 10.0).round() / 10.0),
            ),
        ),
        (
            "z",
            table::floats(flags.iter().map(|f| (f.z * 100.0).round() / 100.0)),
        ),
        ("items", table::ints(flags.iter().map(|f| f.items as i64))),
    ])
}

/// The most negative items of each flagged month and scope.
fn items_behind(items: &Table, flags: &[Flag]) -> Result<Table> {
    let months = items.strings("month")?;
    let orgs = items.strings("org_id")?;
    let scores = items.floats("score")?;
    let mut rows: Vec<(String, usize)> = Vec::new();
    for f in flags {
        let mut idx: Vec<usize> = (0..items.height())
            .filter(|&i| {
                months[i] == f.month
                    && scores[i] < NEGATIVE
                    && f.org.as_ref().is_none_or(|(id, _)| &orgs[i] == id)
            })
            .collect();
        idx.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
        rows.extend(idx.into_iter().take(ITEMS_PER_FLAG).map(|i| (f.label(), i)));
    }
    let picked = items.take(&rows.iter().map(|(_, i)| *i).collect::<Vec<_>>())?;
    let mut columns = vec![("flag", table::strs(rows.iter().map(|(l, _)| l.as_str())))];
    for c in ["source", "item_id", "date", "org_name"] {
        columns.push((c, picked.column(c)?.clone()));
    }
    columns.push((
        "score",
        table::floats(
            picked
                .floats("score")?
                .into_iter()
                .map(|s| (s * 1000.0).round() / 1000.0),
        ),
    ));
    columns.push(("text", picked.column("text")?.clone()));
    Table::build(columns)
}
