//! `membership`: who the members are — counts by category, gender, ethnicity, education, age
//! band and party age, overall and per organization; members admitted and made full members
//! per year; the yearly reconciliation of the counts (`reconcile`).

use polars::prelude::*;

use crate::util::{GONE, age_band_sql, round, sql_date};
use crate::{Chart, Inputs, Params, Report, ReportDef, Result, Section};

pub struct Membership;

/// Party-age bands (years since joining).
const PARTY_AGE_BANDS: [&str; 6] = [
    "5年以下",
    "5–9年",
    "10–19年",
    "20–29年",
    "30–49年",
    "50年及以上",
];

fn party_age_band_sql(e: &str) -> String {
    let b = PARTY_AGE_BANDS;
    format!(
        "CASE WHEN {e} IS NULL THEN '未入党' WHEN {e} < 5 THEN '{}' WHEN {e} < 10 THEN '{}' \
         WHEN {e} < 20 THEN '{}' WHEN {e} < 30 THEN '{}' WHEN {e} < 50 THEN '{}' ELSE '{}' END",
        b[0], b[1], b[2], b[3], b[4], b[5]
    )
}

/// The dimensions counted, with their Chinese names.
const DIMENSIONS: [(&str, &str); 6] = [
    ("category", "人员类别"),
    ("gender", "性别"),
    ("ethnicity", "民族"),
    ("education", "学历"),
    ("age_band", "年龄段"),
    ("party_age_band", "党龄"),
];

impl ReportDef for Membership {
    fn name(&self) -> &'static str {
        "membership"
    }

    fn title(&self) -> &'static str {
        "党员队伍统计报告"
    }

    fn queries(&self, p: &Params) -> Vec<(&'static str, String)> {
        let as_of = sql_date(p.as_of);
        let age = format!("age(m.birth_date, {as_of})");
        let party_age = format!("party_age(m.join_date, {as_of})");
        vec![
            ("snapshots", crate::reconcile::query(p)),
            ("orgs", "SELECT org_id, name FROM organizations".to_string()),
            (
                "members",
                format!(
                    "SELECT m.member_id, m.org_id, COALESCE(o.name, m.org_id) AS org_name, \
                 COALESCE(m.category, '未填') AS category, COALESCE(m.gender, '未填') AS gender, \
                 COALESCE(m.ethnicity, '未填') AS ethnicity, COALESCE(m.education, '未填') AS education, \
                 {ab} AS age_band, {pb} AS party_age_band, \
                 CAST(date_part('year', m.join_date) AS BIGINT) AS join_year, \
                 CAST(date_part('year', m.full_date) AS BIGINT) AS full_year \
                 FROM members m LEFT JOIN organizations o ON m.org_id = o.org_id \
                 WHERE (m.status IS NULL OR m.status NOT IN {GONE}){org}",
                    ab = age_band_sql(&age),
                    pb = party_age_band_sql(&party_age),
                    org = p.org_filter("m.org_id"),
                ),
            ),
        ]
    }

    fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let members = input.frame("members")?;
        let total = members.height() as f64;
        let mut sections = Vec::new();
        let mut highlights = vec![("党员总数".to_string(), members.height().to_string())];

        for (dim, label) in DIMENSIONS {
            let counts = members
                .clone()
                .lazy()
                .group_by([col(dim)])
                .agg([len().alias("count")])
                .with_column(
                    round(
                        col("count").cast(DataType::Float64) / lit(total.max(1.0)) * lit(100.0),
                        1,
                    )
                    .alias("pct"),
                )
                .rename([dim], ["value"], true)
                .collect()?;
            let counts = order(counts, dim)?;
            if dim == "category" || dim == "age_band" {
                let top = crate::util::strings(&counts, "value")?;
                let pct = crate::util::floats(&counts, "pct")?;
                if dim == "age_band" {
                    let older: f64 = top
                        .iter()
                        .zip(&pct)
                        .filter(|(b, _)| b.starts_with("60") || b.starts_with("70"))
                        .map(|(_, p)| p)
                        .sum();
                    highlights.push(("60岁及以上".into(), format!("{older:.1}%")));
                }
            }
            sections.push(
                Section::new(
                    format!("按{label}"),
                    counts,
                    &[("value", label), ("count", "人数"), ("pct", "占比(%)")],
                )
                .chart(Chart::Bars {
                    label: "value".into(),
                    value: "count".into(),
                }),
            );
        }

        // Admissions and full membership per year.
        let joined = members
            .clone()
            .lazy()
            .filter(col("join_year").is_not_null())
            .group_by([col("join_year").alias("year")])
            .agg([len().alias("joined")]);
        let full = members
            .clone()
            .lazy()
            .filter(col("full_year").is_not_null())
            .group_by([col("full_year").alias("year")])
            .agg([len().alias("made_full")]);
        let from_year = p.from.map(|d| i64::from(chrono::Datelike::year(&d)));
        let to_year = i64::from(chrono::Datelike::year(&p.to.unwrap_or(p.as_of)));
        let mut yearly = joined
            .join(
                full,
                [col("year")],
                [col("year")],
                JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
            )
            .with_columns([
                col("joined").fill_null(lit(0)),
                col("made_full").fill_null(lit(0)),
            ])
            .filter(col("year").lt_eq(lit(to_year)));
        if let Some(f) = from_year {
            yearly = yearly.filter(col("year").gt_eq(lit(f)));
        } else {
            yearly = yearly.filter(col("year").gt_eq(lit(to_year - 9)));
        }
        let yearly = yearly
            .sort(["year"], SortMultipleOptions::default())
            .collect()?;
        sections.push(
            Section::new(
                "历年发展与转正",
                yearly,
                &[
                    ("year", "年度"),
                    ("joined", "入党（预备党员）"),
                    ("made_full", "转为正式党员"),
                ],
            )
            .note("以现有党员的入党时间、转正时间统计（未含已转出、出党、去世人员）。")
            .chart(Chart::Line {
                x: "year".into(),
                ys: vec!["joined".into(), "made_full".into()],
            }),
        );

        // The yearly reconciliation.
        let orgs = input.frame("orgs")?;
        let names: std::collections::HashMap<String, String> =
            crate::util::strings(orgs, "org_id")?
                .into_iter()
                .zip(crate::util::strings(orgs, "name")?)
                .collect();
        let reconciled = crate::reconcile::sections(input.frame("snapshots")?, &names, p)?;
        if let Some(yearly) = reconciled.first() {
            let checks = crate::util::strings(&yearly.table, "check")?;
            let years = crate::util::strings(&yearly.table, "year")?;
            let off: Vec<String> = years
                .iter()
                .zip(&checks)
                .filter(|(_, c)| c.as_str() != "相符")
                .map(|(y, _)| y.clone())
                .collect();
            if !checks.is_empty() {
                highlights.push((
                    "年度对账".into(),
                    if off.is_empty() {
                        format!("{} 年均相符", years.join("、"))
                    } else {
                        format!("{} 年不符", off.join("、"))
                    },
                ));
            }
        }
        sections.extend(reconciled);

        // Per organization: size and make-up.
        let per_org = members
            .clone()
            .lazy()
            .group_by([col("org_id"), col("org_name")])
            .agg([
                len().alias("members"),
                col("category")
                    .eq(lit("正式党员"))
                    .sum()
                    .alias("full_members"),
                col("category")
                    .eq(lit("预备党员"))
                    .sum()
                    .alias("probationary"),
                col("gender").eq(lit("女")).sum().alias("women"),
                (col("ethnicity")
                    .neq(lit("汉族"))
                    .and(col("ethnicity").neq(lit("未填"))))
                .sum()
                .alias("minorities"),
                col("education")
                    .is_in(
                        lit(Series::new(
                            "e".into(),
                            ["大学本科", "硕士研究生", "博士研究生"],
                        ))
                        .implode(false),
                        false,
                    )
                    .sum()
                    .alias("degree"),
                col("age_band")
                    .is_in(
                        lit(Series::new("a".into(), ["60–69岁", "70岁及以上"])).implode(false),
                        false,
                    )
                    .sum()
                    .alias("over_60"),
            ])
            .sort(["org_id"], SortMultipleOptions::default())
            .collect()?;
        sections.push(Section::new(
            "各组织党员构成",
            per_org,
            &[
                ("org_id", "组织编号"),
                ("org_name", "组织名称"),
                ("members", "党员数"),
                ("full_members", "正式党员"),
                ("probationary", "预备党员"),
                ("women", "女性"),
                ("minorities", "少数民族"),
                ("degree", "大学本科及以上"),
                ("over_60", "60岁及以上"),
            ],
        ));

        Ok(Report::new(
            self,
            format!(
                "截至 {}{}",
                p.as_of.format("%Y-%m-%d"),
                crate::util::org_note(p)
            ),
            sections,
            highlights,
        ))
    }
}

/// Rows in the natural order of the dimension (bands in order, else by count).
fn order(df: DataFrame, dim: &str) -> Result<DataFrame> {
    match dim {
        "age_band" => {
            crate::util::sort_by_key(df, &[], "value", |v| i64::from(crate::util::band_order(v)))
        }
        "party_age_band" => crate::util::sort_by_key(df, &[], "value", |v| {
            PARTY_AGE_BANDS
                .iter()
                .position(|b| *b == v)
                .map(|i| i as i64)
                .unwrap_or(99)
        }),
        _ => Ok(df
            .lazy()
            .sort_by_exprs(
                [col("count"), col("value")],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .collect()?),
    }
}
