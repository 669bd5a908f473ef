//! `development`: the pipeline from applicant to full member — the funnel per stage and
//! organization, the time spent in each stage, and every breach of the rules (stages out of
//! order or skipped, an activist period under a year, probation under a year, over two years,
//! or overdue without a decision), each with the member, the dates and the rule.

use chrono::{Duration, NaiveDate};
use polars::prelude::*;

use crate::util::{sql_date, strings};
use crate::{Chart, Inputs, Params, Report, ReportDef, Result, Section};

pub struct Development;

const STAGES: [&str; 5] = [
    "入党申请人",
    "入党积极分子",
    "发展对象",
    "预备党员",
    "正式党员",
];
const STAGE_COLS: [&str; 5] = ["applied", "activist", "candidate", "probation", "full"];

impl ReportDef for Development {
    fn name(&self) -> &'static str {
        "development"
    }

    fn title(&self) -> &'static str {
        "发展党员工作情况报告"
    }

    fn queries(&self, p: &Params) -> Vec<(&'static str, String)> {
        let stage_dates: Vec<String> = STAGES
            .iter()
            .zip(STAGE_COLS)
            .map(|(s, c)| format!("min(CASE WHEN d.stage = '{s}' THEN d.stage_date END) AS {c}"))
            .collect();
        vec![(
            "pipeline",
            format!(
                "SELECT d.member_id, max(m.name) AS name, max(COALESCE(m.org_id, d.org_id)) AS org_id, \
                 max(COALESCE(o.name, m.org_id, d.org_id)) AS org_name, {} \
                 FROM development d LEFT JOIN members m ON d.member_id = m.member_id \
                 LEFT JOIN organizations o ON COALESCE(m.org_id, d.org_id) = o.org_id \
                 WHERE d.stage_date <= {}{} GROUP BY d.member_id",
                stage_dates.join(", "),
                sql_date(p.to.unwrap_or(p.as_of)),
                p.org_filter("COALESCE(m.org_id, d.org_id)"),
            ),
        )]
    }

    fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let df = input.frame("pipeline")?;
        let as_of = p.to.unwrap_or(p.as_of);
        let ids = strings(df, "member_id")?;
        let names = strings(df, "name")?;
        let org_ids = strings(df, "org_id")?;
        let orgs = strings(df, "org_name")?;
        let dates: Vec<Vec<Option<NaiveDate>>> = STAGE_COLS
            .iter()
            .map(|c| crate::util::dates(df, c))
            .collect::<Result<_>>()?;
        let date = |k: usize, i: usize| dates[k][i];

        // Breaches: (member row, rule, detail).
        let mut breaches: Vec<(usize, &'static str, String)> = Vec::new();
        let mut waits: [Vec<f64>; 4] = Default::default();
        let mut current = vec![0usize; ids.len()];
        for (i, cur) in current.iter_mut().enumerate() {
            let present: Vec<usize> = (0..5).filter(|k| date(*k, i).is_some()).collect();
            let Some(&last) = present.last() else {
                continue;
            };
            *cur = last;
            // Out of order: a later stage dated before an earlier one.
            for w in present.windows(2) {
                if let (Some(a), Some(b)) = (date(w[0], i), date(w[1], i)) {
                    if b < a {
                        breaches.push((
                            i,
                            "阶段顺序颠倒",
                            format!("{} {a} 晚于 {} {b}", STAGES[w[0]], STAGES[w[1]]),
                        ));
                    } else if w[1] == w[0] + 1 {
                        waits[w[0]].push((b - a).num_days() as f64);
                    }
                }
            }
            // Skipped: a stage reached without the one before it (applicants may start anywhere
            // in older records, so only from 积极分子 on).
            for k in 2..=last {
                if date(k, i).is_some() && date(k - 1, i).is_none() {
                    breaches.push((
                        i,
                        "缺少前一阶段",
                        format!("有{}记录，无{}记录", STAGES[k], STAGES[k - 1]),
                    ));
                }
            }
            if let (Some(a), Some(c)) = (date(1, i), date(2, i))
                && c >= a
                && c < a + Duration::days(365)
            {
                breaches.push((
                    i,
                    "积极分子培养期不足一年",
                    format!("积极分子 {a} → 发展对象 {c}，{} 天", (c - a).num_days()),
                ));
            }
            match (date(3, i), date(4, i)) {
                (Some(pr), Some(f)) if f >= pr => {
                    let days = (f - pr).num_days();
                    if f < pr + Duration::days(365) {
                        breaches.push((
                            i,
                            "预备期不足一年",
                            format!("预备党员 {pr} → 正式党员 {f}，{days} 天"),
                        ));
                    } else if f > pr + Duration::days(365 * 2) {
                        breaches.push((
                            i,
                            "预备期超过两年",
                            format!("预备党员 {pr} → 正式党员 {f}，{days} 天（延长不超过一年）"),
                        ));
                    }
                }
                (Some(pr), None) if as_of > pr + Duration::days(365) => {
                    let days = (as_of - pr).num_days();
                    breaches.push((
                        i,
                        if days > 365 * 2 {
                            "预备期满两年仍未转正"
                        } else {
                            "预备期满一年未按期讨论转正"
                        },
                        format!("预备党员 {pr} 起至 {as_of} 已 {days} 天，无转正记录"),
                    ));
                }
                _ => {}
            }
        }

        // The funnel: how many reached each stage, and where people stand now.
        let reached: Vec<i64> = (0..5)
            .map(|k| dates[k].iter().filter(|d| d.is_some()).count() as i64)
            .collect();
        let now: Vec<i64> = (0..5)
            .map(|k| {
                current
                    .iter()
                    .zip(&dates[k])
                    .filter(|(c, d)| **c == k && d.is_some())
                    .count() as i64
            })
            .collect();
        let funnel = DataFrame::new_infer_height(vec![
            Column::new("stage".into(), STAGES.to_vec()),
            Column::new("reached".into(), reached),
            Column::new("current".into(), now),
            Column::new(
                "median_days_to_next".into(),
                (0..5)
                    .map(|k| if k < 4 { median(&waits[k]) } else { None })
                    .collect::<Vec<_>>(),
            ),
        ])?;
        let per_org = {
            let mut cols = vec![
                Column::new("org_id".into(), org_ids.clone()),
                Column::new("org_name".into(), orgs.clone()),
            ];
            for (k, c) in STAGE_COLS.iter().enumerate() {
                cols.push(Column::new(
                    (*c).into(),
                    current
                        .iter()
                        .zip(&dates[k])
                        .map(|(cur, d)| i64::from(*cur == k && d.is_some()))
                        .collect::<Vec<_>>(),
                ));
            }
            let sums: Vec<Expr> = STAGE_COLS.iter().map(|c| col(*c).sum()).collect();
            DataFrame::new_infer_height(cols)?
                .lazy()
                .group_by([col("org_id"), col("org_name")])
                .agg(sums)
                .filter(
                    (col("applied") + col("activist") + col("candidate") + col("probation"))
                        .gt(lit(0)),
                )
                .sort(["org_id"], SortMultipleOptions::default())
                .collect()?
        };
        let breach_table = DataFrame::new_infer_height(vec![
            Column::new(
                "org_id".into(),
                breaches
                    .iter()
                    .map(|b| org_ids[b.0].clone())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "org_name".into(),
                breaches
                    .iter()
                    .map(|b| orgs[b.0].clone())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "member_id".into(),
                breaches
                    .iter()
                    .map(|b| ids[b.0].clone())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "name".into(),
                breaches
                    .iter()
                    .map(|b| names[b.0].clone())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "rule".into(),
                breaches.iter().map(|b| b.1).collect::<Vec<_>>(),
            ),
            Column::new(
                "detail".into(),
                breaches.iter().map(|b| b.2.clone()).collect::<Vec<_>>(),
            ),
        ])?
        .lazy()
        .sort(
            ["org_id", "member_id", "rule"],
            SortMultipleOptions::default(),
        )
        .collect()?;
        let by_rule = breach_table
            .clone()
            .lazy()
            .group_by([col("rule")])
            .agg([len().alias("count")])
            // Ties in a fixed order: the same archive gives the same report.
            .sort(
                ["count", "rule"],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .collect()?;

        let in_pipeline: i64 = crate::util::floats(&funnel, "current")?
            .iter()
            .take(4)
            .sum::<f64>() as i64;
        let highlights = vec![
            (
                "发展中（申请人至预备党员）".to_string(),
                format!("{in_pipeline} 人"),
            ),
            (
                "违反规定".to_string(),
                format!("{} 处", breach_table.height()),
            ),
            (
                "预备期超期".to_string(),
                format!(
                    "{} 人",
                    strings(&breach_table, "rule")?
                        .iter()
                        .filter(|r| r.starts_with("预备期满"))
                        .count()
                ),
            ),
        ];
        let stage_labels: Vec<(&str, &str)> = [
            ("org_id", "组织编号"),
            ("org_name", "组织名称"),
            ("stage", "阶段"),
            ("reached", "到达人数"),
            ("current", "目前处于"),
            ("median_days_to_next", "到下一阶段天数(中位数)"),
        ]
        .into_iter()
        .chain(STAGE_COLS.iter().copied().zip(STAGES))
        .collect();
        let sections = vec![
            Section::new("发展漏斗", funnel, &stage_labels)
                .note("到达人数：有该阶段记录的人数；目前处于：最近一个阶段是该阶段的人数。")
                .chart(Chart::Bars {
                    label: "stage".into(),
                    value: "reached".into(),
                }),
            Section::new(
                "违规情况汇总",
                by_rule,
                &[("rule", "规则"), ("count", "处数")],
            ),
            Section::new(
                "违规明细",
                breach_table,
                &[
                    ("org_id", "组织编号"),
                    ("org_name", "所在组织"),
                    ("member_id", "党员编号"),
                    ("name", "姓名"),
                    ("rule", "违反的规定"),
                    ("detail", "日期与说明"),
                ],
            )
            .note(
                "规定：各阶段依次进行；入党积极分子培养一年以上方可列为发展对象；\
                 预备期一年，期满及时讨论转正，可延长一次（6至12个月），即最长两年。",
            ),
            Section::new("各组织发展中人员", per_org, &stage_labels)
                .note("各组织目前处于每个阶段的人数（只列有发展中人员的组织）。"),
        ];
        Ok(Report::new(
            self,
            format!("截至 {as_of}{}", crate::util::org_note(p)),
            sections,
            highlights,
        ))
    }
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}
