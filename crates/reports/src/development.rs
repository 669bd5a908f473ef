//! `development`: the pipeline from applicant to full member — the funnel per stage and
//! organization, the time spent in each stage, and every breach of the rules (stages out of
//! order or skipped, an activist period under a year, probation under a year, over two years,
//! or overdue without a decision), each with the member, the dates and the rule.

use crate::table::{self, Table};
use crate::util::sql_date;
use crate::{Chart, Inputs, Params, Report, ReportDef, Result, Section};
use chrono::{Duration, NaiveDate};

pub struct Development;

const STAGES: [&str; 5] = [
    "入党申请人",
    "入党积极分子",
    "发展对象",
    "预备党员",
    "正式党员",
];
const STAGE_COLS: [&str; 5] = ["applied", "activist", "candidate", "probation", "full"];

#[async_trait::async_trait]
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

    async fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let df = input.table("pipeline")?;
        let as_of = p.to.unwrap_or(p.as_of);
        let ids = df.strings("member_id")?;
        let names = df.strings("name")?;
        let org_ids = df.strings("org_id")?;
        let orgs = df.strings("org_name")?;
        let dates: Vec<Vec<Option<NaiveDate>>> = STAGE_COLS
            .iter()
            .map(|c| df.dates(c))
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
        let funnel = Table::build(vec![
            ("stage", table::strs(STAGES)),
            ("reached", table::ints(reached)),
            ("current", table::ints(now)),
            (
                "median_days_to_next",
                table::opt_floats((0..5).map(|k| if k < 4 { median(&waits[k]) } else { None })),
            ),
        ])?;
        // Per organization: how many stand at each stage now (organizations with someone
        // still in the pipeline).
        let mut stand: std::collections::BTreeMap<(&str, &str), [i64; 5]> = Default::default();
        for (i, cur) in current.iter().enumerate() {
            let e = stand.entry((&org_ids[i], &orgs[i])).or_default();
            if dates[*cur][i].is_some() {
                e[*cur] += 1;
            }
        }
        stand.retain(|_, v| v[..4].iter().sum::<i64>() > 0);
        let mut per_org = vec![
            ("org_id", table::strs(stand.keys().map(|k| k.0))),
            ("org_name", table::strs(stand.keys().map(|k| k.1))),
        ];
        for (k, c) in STAGE_COLS.iter().enumerate() {
            per_org.push((c, table::ints(stand.values().map(|v| v[k]))));
        }
        let per_org = Table::build(per_org)?;
        breaches
            .sort_by(|a, b| (&org_ids[a.0], &ids[a.0], a.1).cmp(&(&org_ids[b.0], &ids[b.0], b.1)));
        let breach_table = Table::build(vec![
            (
                "org_id",
                table::strs(breaches.iter().map(|b| org_ids[b.0].as_str())),
            ),
            (
                "org_name",
                table::strs(breaches.iter().map(|b| orgs[b.0].as_str())),
            ),
            (
                "member_id",
                table::strs(breaches.iter().map(|b| ids[b.0].as_str())),
            ),
            (
                "name",
                table::strs(breaches.iter().map(|b| names[b.0].as_str())),
            ),
            ("rule", table::strs(breaches.iter().map(|b| b.1))),
            ("detail", table::strs(breaches.iter().map(|b| b.2.as_str()))),
        ])?;
        let mut rules: std::collections::BTreeMap<&str, i64> = Default::default();
        for b in &breaches {
            *rules.entry(b.1).or_default() += 1;
        }
        let mut rules: Vec<(&str, i64)> = rules.into_iter().collect();
        // Ties in a fixed order: the same archive gives the same report.
        rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let by_rule = Table::build(vec![
            ("rule", table::strs(rules.iter().map(|r| r.0))),
            ("count", table::ints(rules.iter().map(|r| r.1))),
        ])?;

        let in_pipeline: i64 = funnel.floats("current")?.iter().take(4).sum::<f64>() as i64;
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
                    breaches
                        .iter()
                        .map(|b| b.1)
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
