//! `meetings`: 三会一课 compliance — for every branch and quarter, whether each required meeting
//! was held as often as the rules ask (支部党员大会 and 党课 once a quarter, 支委会 and 党小组会
//! once a month), the breaches listed, and the share held online.

use std::collections::{BTreeMap, HashMap};

use crate::table::{self, Table};
use crate::util::sql_ts;
use crate::{Chart, Inputs, Params, Report, ReportDef, Result, Section};
use chrono::{Datelike, Duration, NaiveDate};

pub struct Meetings;

/// A meeting type and how often it is required: `true` = every month, `false` = every quarter.
const RULES: [(&str, bool); 4] = [
    ("支部党员大会", false),
    ("支委会", true),
    ("党小组会", true),
    ("党课", false),
];

#[async_trait::async_trait]
impl ReportDef for Meetings {
    fn name(&self) -> &'static str {
        "meetings"
    }

    fn title(&self) -> &'static str {
        "三会一课落实情况报告"
    }

    fn queries(&self, p: &Params) -> Vec<(&'static str, String)> {
        let (from, to) = period(p);
        vec![
            (
                "branches",
                format!(
                    "SELECT org_id, name AS org_name, established_date FROM organizations \
                     WHERE org_type = '党支部'{}",
                    p.org_filter("org_id")
                ),
            ),
            (
                "held",
                format!(
                    "SELECT org_id, meeting_type, to_char(held_at, '%Y-%m') AS month, \
                     count(*) AS held, sum(CASE WHEN mode = '线上' THEN 1 ELSE 0 END) AS online \
                     FROM meetings WHERE held_at >= {} AND held_at < {}{} \
                     GROUP BY org_id, meeting_type, to_char(held_at, '%Y-%m')",
                    sql_ts(from),
                    sql_ts(to + Duration::days(1)),
                    p.org_filter("org_id")
                ),
            ),
        ]
    }

    async fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let (from, to) = period(p);
        let branches = input.table("branches")?;
        let held = input.table("held")?;
        let ids = branches.strings("org_id")?;
        let names = branches.strings("org_name")?;
        let established = branches.dates("established_date")?;

        // Meetings held per (branch, type, month).
        let mut count: HashMap<(String, String, String), (i64, i64)> = HashMap::new();
        let (h_org, h_type, h_month) = (
            held.strings("org_id")?,
            held.strings("meeting_type")?,
            held.strings("month")?,
        );
        let h_n = held.floats("held")?;
        let h_online = held.floats("online")?;
        let mut total_held = 0i64;
        let mut total_online = 0i64;
        let mut online_by_org: HashMap<String, (i64, i64)> = HashMap::new();
        for i in 0..h_org.len() {
            let (n, on) = (h_n[i] as i64, h_online[i] as i64);
            let e = count
                .entry((h_org[i].clone(), h_type[i].clone(), h_month[i].clone()))
                .or_default();
            e.0 += n;
            e.1 += on;
            total_held += n;
            total_online += on;
            let o = online_by_org.entry(h_org[i].clone()).or_default();
            o.0 += n;
            o.1 += on;
        }

        // Whole months and quarters of the period.
        let months = crate::util::month_keys(from, to);
        let mut quarters: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for m in &months {
            quarters.entry(quarter_of(m)).or_default().push(m.clone());
        }

        let mut q_rows: Vec<(String, String, String, [i64; 4], i64, i64)> = Vec::new();
        let mut breaches: Vec<(String, String, String, String, i64, i64)> = Vec::new();
        let mut per_branch: BTreeMap<String, (String, i64, i64)> = BTreeMap::new();
        for (bi, org) in ids.iter().enumerate() {
            for (q, q_months) in &quarters {
                // Months before the branch existed are not asked of it.
                let due_months: Vec<&String> = q_months
                    .iter()
                    .filter(|m| {
                        established[bi]
                            .is_none_or(|e| format!("{:04}-{:02}", e.year(), e.month()) <= **m)
                    })
                    .collect();
                if due_months.is_empty() {
                    continue;
                }
                let mut counts = [0i64; 4];
                let mut required = 0i64;
                let mut met = 0i64;
                for (k, (kind, monthly)) in RULES.iter().enumerate() {
                    let per_month: Vec<(String, i64)> = due_months
                        .iter()
                        .map(|m| {
                            let n = count
                                .get(&(org.clone(), kind.to_string(), (*m).clone()))
                                .map(|c| c.0)
                                .unwrap_or(0);
                            ((*m).clone(), n)
                        })
                        .collect();
                    counts[k] = per_month.iter().map(|(_, n)| n).sum();
                    if *monthly {
                        for (m, n) in &per_month {
                            required += 1;
                            if *n >= 1 {
                                met += 1;
                            } else {
                                breaches.push((
                                    org.clone(),
                                    names[bi].clone(),
                                    m.clone(),
                                    kind.to_string(),
                                    1,
                                    0,
                                ));
                            }
                        }
                    } else {
                        required += 1;
                        if counts[k] >= 1 {
                            met += 1;
                        } else {
                            breaches.push((
                                org.clone(),
                                names[bi].clone(),
                                q.clone(),
                                kind.to_string(),
                                1,
                                0,
                            ));
                        }
                    }
                }
                let e = per_branch
                    .entry(org.clone())
                    .or_insert((names[bi].clone(), 0, 0));
                e.1 += required;
                e.2 += met;
                q_rows.push((
                    org.clone(),
                    names[bi].clone(),
                    q.clone(),
                    counts,
                    required,
                    met,
                ));
            }
        }

        let pct = |met: i64, req: i64| {
            if req > 0 {
                (met as f64 / req as f64 * 1000.0).round() / 10.0
            } else {
                0.0
            }
        };
        let quarter_table = Table::build(vec![
            ("org_id", table::strs(q_rows.iter().map(|r| r.0.as_str()))),
            ("org_name", table::strs(q_rows.iter().map(|r| r.1.as_str()))),
            ("quarter", table::strs(q_rows.iter().map(|r| r.2.as_str()))),
            ("general", table::ints(q_rows.iter().map(|r| r.3[0]))),
            ("committee", table::ints(q_rows.iter().map(|r| r.3[1]))),
            ("group", table::ints(q_rows.iter().map(|r| r.3[2]))),
            ("lecture", table::ints(q_rows.iter().map(|r| r.3[3]))),
            (
                "compliance_pct",
                table::floats(q_rows.iter().map(|r| pct(r.5, r.4))),
            ),
        ])?;
        let mut branch_rows: Vec<(&String, &(String, i64, i64))> = per_branch.iter().collect();
        branch_rows.sort_by(|a, b| {
            pct(a.1.2, a.1.1)
                .total_cmp(&pct(b.1.2, b.1.1))
                .then(a.0.cmp(b.0))
        });
        let branch_table = Table::build(vec![
            (
                "org_id",
                table::strs(branch_rows.iter().map(|r| r.0.as_str())),
            ),
            (
                "org_name",
                table::strs(branch_rows.iter().map(|r| r.1.0.as_str())),
            ),
            ("required", table::ints(branch_rows.iter().map(|r| r.1.1))),
            ("met", table::ints(branch_rows.iter().map(|r| r.1.2))),
            (
                "compliance_pct",
                table::floats(branch_rows.iter().map(|r| pct(r.1.2, r.1.1))),
            ),
            (
                "online_pct",
                table::floats(branch_rows.iter().map(|r| {
                    let (n, on) = online_by_org.get(r.0).copied().unwrap_or((0, 0));
                    pct(on, n)
                })),
            ),
        ])?;
        let breach_table = Table::build(vec![
            ("org_id", table::strs(breaches.iter().map(|r| r.0.as_str()))),
            (
                "org_name",
                table::strs(breaches.iter().map(|r| r.1.as_str())),
            ),
            ("period", table::strs(breaches.iter().map(|r| r.2.as_str()))),
            (
                "meeting_type",
                table::strs(breaches.iter().map(|r| r.3.as_str())),
            ),
            ("required", table::ints(breaches.iter().map(|r| r.4))),
            ("held", table::ints(breaches.iter().map(|r| r.5))),
        ])?;

        let all_req: i64 = per_branch.values().map(|v| v.1).sum();
        let all_met: i64 = per_branch.values().map(|v| v.2).sum();
        let full_branches = per_branch.values().filter(|v| v.1 == v.2).count();
        let highlights = vec![
            ("党支部".to_string(), ids.len().to_string()),
            (
                "总体落实率".to_string(),
                format!("{:.1}%", pct(all_met, all_req)),
            ),
            ("全部达标的支部".to_string(), format!("{full_branches} 个")),
            ("未达标次数".to_string(), breaches.len().to_string()),
            (
                "线上会议占比".to_string(),
                format!("{:.1}%", pct(total_online, total_held)),
            ),
        ];
        let q_labels: &[(&str, &str)] = &[
            ("org_id", "组织编号"),
            ("org_name", "党支部"),
            ("quarter", "季度"),
            ("general", "支部党员大会"),
            ("committee", "支委会"),
            ("group", "党小组会"),
            ("lecture", "党课"),
            ("compliance_pct", "落实率(%)"),
        ];
        let sections = vec![
            Section::new(
                "各支部落实率",
                branch_table,
                &[
                    ("org_id", "组织编号"),
                    ("org_name", "党支部"),
                    ("required", "应开（次）"),
                    ("met", "达标（次）"),
                    ("compliance_pct", "落实率(%)"),
                    ("online_pct", "线上占比(%)"),
                ],
            )
            .note(
                "要求：支部党员大会、党课每季度至少一次；支委会、党小组会每月至少一次。\
                 落实率 = 达标的要求数 ÷ 应达到的要求数；按落实率从低到高排列。",
            )
            .chart(Chart::Bars {
                label: "org_name".into(),
                value: "compliance_pct".into(),
            }),
            Section::new("各支部逐季度情况", quarter_table, q_labels)
                .note("表中为各类会议在该季度召开的次数。")
                .chart(Chart::Heatmap {
                    row: "org_name".into(),
                    col: "quarter".into(),
                    value: "compliance_pct".into(),
                }),
            Section::new(
                "未达标明细",
                breach_table,
                &[
                    ("org_id", "组织编号"),
                    ("org_name", "党支部"),
                    ("period", "期间"),
                    ("meeting_type", "会议类型"),
                    ("required", "应开"),
                    ("held", "实开"),
                ],
            )
            .note("每月的支委会、党小组会和每季度的支部党员大会、党课，未开的逐条列出。"),
        ];
        Ok(Report::new(
            self,
            crate::subtitle(p, from, to) + "；出勤率：会议记录未含签到数据，未统计",
            sections,
            highlights,
        ))
    }
}

/// Default period: the four whole quarters before the as-of day's quarter, plus it up to the
/// last whole month.
fn period(p: &Params) -> (NaiveDate, NaiveDate) {
    let q_start_month = (p.as_of.month() - 1) / 3 * 3 + 1;
    let this_quarter = NaiveDate::from_ymd_opt(p.as_of.year(), q_start_month, 1).unwrap_or(p.as_of);
    let from = this_quarter
        .checked_sub_months(chrono::Months::new(12))
        .unwrap_or(this_quarter);
    // The month in progress is not over: it is not yet asked of anyone.
    let last_whole = p
        .as_of
        .with_day(1)
        .map(|d| d - Duration::days(1))
        .unwrap_or(p.as_of);
    let (f, t) = p.period(from);
    (f, if p.to.is_some() { t } else { last_whole })
}

/// `YYYY-Qn` of a `YYYY-MM` month.
fn quarter_of(month: &str) -> String {
    let (y, m) = month.split_once('-').unwrap_or((month, "1"));
    let m: u32 = m.parse().unwrap_or(1);
    format!("{y}年Q{}", (m - 1) / 3 + 1)
}
