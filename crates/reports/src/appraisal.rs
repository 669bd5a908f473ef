//! `appraisal`: how 民主评议 results develop — the grade distribution per year and
//! organization, the members whose grade fell two years running or who were rated 基本合格 or
//! 不合格, and the branches whose distribution departs from the rest (a chi-square test).

use crate::table::{self, Table};
use crate::{Chart, Inputs, Params, Report, ReportDef, Result, Section};
use chrono::Datelike;

pub struct Appraisal;

const GRADES: [&str; 4] = ["优秀", "合格", "基本合格", "不合格"];
const GRADE_COLS: [&str; 4] = ["excellent", "qualified", "basic", "unqualified"];
/// Chi-square critical value for 2 degrees of freedom at p = 0.01 (优秀 / 合格 / 基本合格及以下).
const CHI2_CRITICAL: f64 = 9.21;
/// Branches need this many appraisals in the year to be tested.
const MIN_BRANCH: f64 = 20.0;

fn grade_rank_sql(e: &str) -> String {
    format!(
        "CASE {e} WHEN '优秀' THEN 4 WHEN '合格' THEN 3 WHEN '基本合格' THEN 2 WHEN '不合格' THEN 1 END"
    )
}

#[async_trait::async_trait]
impl ReportDef for Appraisal {
    fn name(&self) -> &'static str {
        "appraisal"
    }

    fn title(&self) -> &'static str {
        "民主评议结果分析报告"
    }

    fn queries(&self, p: &Params) -> Vec<(&'static str, String)> {
        let (y1, y2) = years(p);
        let org = p.org_filter("a.org_id");
        let counts: Vec<String> = GRADES
            .iter()
            .zip(GRADE_COLS)
            .map(|(g, c)| format!("sum(CASE WHEN a.grade = '{g}' THEN 1 ELSE 0 END) AS {c}"))
            .collect();
        vec![
            (
                "by_org_year",
                format!(
                    "SELECT a.year, a.org_id, COALESCE(o.name, a.org_id) AS org_name, count(*) AS n, {} \
                     FROM appraisals a LEFT JOIN organizations o ON a.org_id = o.org_id \
                     WHERE a.year BETWEEN {y1} AND {y2}{org} GROUP BY a.year, a.org_id, o.name",
                    counts.join(", ")
                ),
            ),
            (
                // One row per member with a grade rank per year (a hash aggregate, no sort),
                // only the members with something to look at.
                "attention",
                {
                    let rank = grade_rank_sql("a.grade");
                    let per_year: Vec<String> = (y1 - 2..=y2)
                        .map(|y| format!("max(CASE WHEN a.year = {y} THEN {rank} END) AS g{y}"))
                        .collect();
                    let conditions: Vec<String> = (y1..=y2)
                        .map(|y| {
                            format!(
                                "g.g{y} <= 2 OR (g.g{y} < g.g{p1} AND g.g{p1} < g.g{p2})",
                                p1 = y - 1,
                                p2 = y - 2
                            )
                        })
                        .collect();
                    format!(
                        "WITH g AS (SELECT a.member_id, max(a.org_id) AS org_id, {} \
                         FROM appraisals a WHERE a.year BETWEEN {} AND {y2}{org} GROUP BY a.member_id) \
                         SELECT g.*, m.name, COALESCE(o.name, g.org_id) AS org_name FROM g \
                         LEFT JOIN members m ON g.member_id = m.member_id \
                         LEFT JOIN organizations o ON g.org_id = o.org_id WHERE {}",
                        per_year.join(", "),
                        y1 - 2,
                        conditions.join(" OR ")
                    )
                },
            ),
        ]
    }

    async fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let (y1, y2) = years(p);
        let pct = |c: &str| {
            format!("round(CAST({c} AS DOUBLE) / CAST(n AS DOUBLE) * 100.0, 1) AS {c}_pct")
        };
        let pcts = [pct("excellent"), pct("basic"), pct("unqualified")].join(", ");
        let sums = GRADE_COLS
            .iter()
            .map(|c| format!("sum({c}) AS {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let yearly = input
            .sql(&format!(
                "SELECT *, {pcts} FROM (SELECT \"year\", sum(n) AS n, {sums} FROM by_org_year \
                 GROUP BY \"year\") ORDER BY \"year\""
            ))
            .await?;
        let per_org = input
            .sql(&format!(
                "SELECT *, {pcts} FROM by_org_year ORDER BY org_id NULLS FIRST, \"year\""
            ))
            .await?;

        // Branches whose latest-year distribution departs from everyone else's.
        let latest = input
            .sql(&format!("SELECT * FROM by_org_year WHERE \"year\" = {y2}"))
            .await?;
        let outliers = chi_square(&latest)?;
        let attention = attention_rows(input.table("attention")?, y1, y2)?;
        let falling = attention
            .strings("reason")?
            .iter()
            .filter(|r| r.starts_with("连续"))
            .count();

        let total_latest: f64 = latest.floats("n")?.iter().sum();
        let excellent_latest: f64 = latest.floats("excellent")?.iter().sum();
        let highlights = vec![
            (format!("{y2}年参评"), format!("{total_latest:.0} 人")),
            (
                format!("{y2}年优秀率"),
                if total_latest > 0.0 {
                    format!("{:.1}%", excellent_latest / total_latest * 100.0)
                } else {
                    "—".into()
                },
            ),
            ("需关注党员".into(), format!("{} 人次", attention.height())),
            ("连续两年下降".into(), format!("{falling} 人")),
            ("分布异常的支部".into(), format!("{} 个", outliers.height())),
        ];
        let grade_labels: Vec<(&str, &str)> = [
            ("year", "年度"),
            ("org_id", "组织编号"),
            ("org_name", "组织名称"),
            ("n", "参评人数"),
            ("excellent_pct", "优秀率(%)"),
            ("basic_pct", "基本合格率(%)"),
            ("unqualified_pct", "不合格率(%)"),
        ]
        .into_iter()
        .chain(GRADE_COLS.iter().copied().zip(GRADES))
        .collect();
        let sections = vec![
            Section::new("各年度等次分布", yearly, &grade_labels)
                .chart(Chart::Stacked {
                    x: "year".into(),
                    stacks: GRADE_COLS.iter().map(|c| c.to_string()).collect(),
                }),
            Section::new(
                "需关注的党员",
                attention,
                &[
                    ("org_id", "组织编号"),
                    ("org_name", "所在组织"),
                    ("member_id", "党员编号"),
                    ("name", "姓名"),
                    ("year", "年度"),
                    ("prev2", "前年等次"),
                    ("prev1", "上年等次"),
                    ("grade", "本年等次"),
                    ("reason", "原因"),
                ],
            )
            .note("评为基本合格、不合格的，以及等次连续两年下降（如 优秀→合格→基本合格）的党员。"),
            Section::new(
                format!("{y2}年分布异常的支部"),
                outliers,
                &[
                    ("org_id", "组织编号"),
                    ("org_name", "组织名称"),
                    ("n", "参评人数"),
                    ("excellent_pct", "优秀率(%)"),
                    ("rest_excellent_pct", "其他支部优秀率(%)"),
                    ("low_pct", "基本合格及以下(%)"),
                    ("rest_low_pct", "其他支部基本合格及以下(%)"),
                    ("chi2", "卡方值"),
                ],
            )
            .note(format!(
                "把每个支部（至少 {MIN_BRANCH:.0} 人参评）的 优秀 / 合格 / 基本合格及以下 人数与其他所有支部比较，\
                 卡方检验（自由度 2）卡方值大于 {CHI2_CRITICAL}（p < 0.01）即列出，按卡方值从大到小。"
            )),
            Section::new("各组织逐年等次分布", per_org, &grade_labels),
        ];
        Ok(Report::new(
            self,
            format!("评议年度 {y1}–{y2}{}", crate::util::org_note(p)),
            sections,
            highlights,
        ))
    }
}

/// The appraisal years of the period: by default the five years before the as-of year.
fn years(p: &Params) -> (i32, i32) {
    let to = p.to.map(|d| d.year()).unwrap_or(p.as_of.year() - 1);
    let from = p.from.map(|d| d.year()).unwrap_or(to - 4);
    (from, to.max(from))
}

/// Each branch's (优秀, 合格, 基本合格及以下) against all other branches': 2×3 chi-square.
fn chi_square(latest: &Table) -> Result<Table> {
    let ids = latest.strings("org_id")?;
    let names = latest.strings("org_name")?;
    let n = latest.floats("n")?;
    let ex = latest.floats("excellent")?;
    let ok = latest.floats("qualified")?;
    let low: Vec<f64> = latest
        .floats("basic")?
        .iter()
        .zip(latest.floats("unqualified")?)
        .map(|(a, b)| a + b)
        .collect();
    let total = [
        ex.iter().sum::<f64>(),
        ok.iter().sum::<f64>(),
        low.iter().sum::<f64>(),
    ];
    let mut rows: Vec<(usize, f64, [f64; 3], [f64; 3])> = Vec::new();
    for i in 0..ids.len() {
        if n[i] < MIN_BRANCH {
            continue;
        }
        let mine = [ex[i], ok[i], low[i]];
        let rest = [total[0] - mine[0], total[1] - mine[1], total[2] - mine[2]];
        let (nm, nr) = (mine.iter().sum::<f64>(), rest.iter().sum::<f64>());
        if nr <= 0.0 {
            continue;
        }
        let mut chi2 = 0.0;
        for k in 0..3 {
            let col_total = mine[k] + rest[k];
            for (obs, row_total) in [(mine[k], nm), (rest[k], nr)] {
                let expected = row_total * col_total / (nm + nr);
                if expected > 0.0 {
                    chi2 += (obs - expected).powi(2) / expected;
                }
            }
        }
        if chi2 > CHI2_CRITICAL {
            rows.push((i, chi2, mine, rest));
        }
    }
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let share = |v: &[f64; 3], k: usize| {
        let s: f64 = v.iter().sum();
        if s > 0.0 {
            (v[k] / s * 1000.0).round() / 10.0
        } else {
            0.0
        }
    };
    Table::build(vec![
        (
            "org_id",
            table::strs(rows.iter().map(|r| ids[r.0].as_str())),
        ),
        (
            "org_name",
            table::strs(rows.iter().map(|r| names[r.0].as_str())),
        ),
        ("n", table::ints(rows.iter().map(|r| n[r.0] as i64))),
        (
            "excellent_pct",
            table::floats(rows.iter().map(|r| share(&r.2, 0))),
        ),
        (
            "rest_excellent_pct",
            table::floats(rows.iter().map(|r| share(&r.3, 0))),
        ),
        (
            "low_pct",
            table::floats(rows.iter().map(|r| share(&r.2, 2))),
        ),
        (
            "rest_low_pct",
            table::floats(rows.iter().map(|r| share(&r.3, 2))),
        ),
        (
            "chi2",
            table::floats(rows.iter().map(|r| (r.1 * 10.0).round() / 10.0)),
        ),
    ])
}

/// Member-years to look at, from one row per member with a grade rank per year: rated
/// 基本合格/不合格 that year, or fallen two years running up to it.
fn attention_rows(df: &Table, y1: i32, y2: i32) -> Result<Table> {
    let label = |r: Option<f64>| match r.map(|r| r as i64) {
        Some(4) => "优秀",
        Some(3) => "合格",
        Some(2) => "基本合格",
        Some(1) => "不合格",
        _ => "",
    };
    let ids = df.strings("member_id")?;
    let names = df.strings("name")?;
    let orgs = df.strings("org_id")?;
    let org_names = df.strings("org_name")?;
    let mut ranks = std::collections::HashMap::new();
    for y in y1 - 2..=y2 {
        let v: Vec<Option<f64>> = df
            .floats(&format!("g{y}"))?
            .into_iter()
            .map(|f| (!f.is_nan()).then_some(f))
            .collect();
        ranks.insert(y, v);
    }
    let mut rows: Vec<(i32, usize, &'static str)> = Vec::new();
    let rank = |y: i32, i: usize| ranks.get(&y).and_then(|v| v.get(i).copied()).flatten();
    for i in 0..df.height() {
        for y in (y1..=y2).rev() {
            let (r0, r1, r2) = (rank(y, i), rank(y - 1, i), rank(y - 2, i));
            let falling = matches!((r0, r1, r2), (Some(a), Some(b), Some(c)) if a < b && b < c);
            if falling {
                rows.push((y, i, "连续两年下降"));
            } else if r0.is_some_and(|r| r <= 2.0) {
                rows.push((y, i, "基本合格或不合格"));
            }
        }
    }
    rows.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(orgs[a.1].cmp(&orgs[b.1]))
            .then(ids[a.1].cmp(&ids[b.1]))
    });
    Table::build(vec![
        (
            "org_id",
            table::strs(rows.iter().map(|r| orgs[r.1].as_str())),
        ),
        (
            "org_name",
            table::strs(rows.iter().map(|r| org_names[r.1].as_str())),
        ),
        (
            "member_id",
            table::strs(rows.iter().map(|r| ids[r.1].as_str())),
        ),
        (
            "name",
            table::strs(rows.iter().map(|r| names[r.1].as_str())),
        ),
        ("year", table::ints(rows.iter().map(|r| i64::from(r.0)))),
        (
            "prev2",
            table::strs(rows.iter().map(|r| label(ranks[&(r.0 - 2)][r.1]))),
        ),
        (
            "prev1",
            table::strs(rows.iter().map(|r| label(ranks[&(r.0 - 1)][r.1]))),
        ),
        (
            "grade",
            table::strs(rows.iter().map(|r| label(ranks[&r.0][r.1]))),
        ),
        ("reason", table::strs(rows.iter().map(|r| r.2))),
    ])
}
