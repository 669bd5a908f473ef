//! `membership`: who the members are — counts by category, gender, ethnicity, education, age
//! band and party age, overall and per organization; members admitted and made full members
//! per year; the yearly reconciliation of the counts (`reconcile`).

use crate::util::{AGE_BANDS, GONE, age_band_sql, order_sql, sql_date};
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

#[async_trait::async_trait]
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

    async fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let members = input.table("members")?;
        let total = members.height();
        let mut sections = Vec::new();
        let mut highlights = vec![("党员总数".to_string(), total.to_string())];

        for (dim, label) in DIMENSIONS {
            // Bands in their natural order, the other dimensions by count.
            let order = match dim {
                "age_band" => format!("{}, \"value\"", order_sql("\"value\"", &AGE_BANDS)),
                "party_age_band" => {
                    format!("{}, \"value\"", order_sql("\"value\"", &PARTY_AGE_BANDS))
                }
                _ => "\"count\" DESC, \"value\"".to_string(),
            };
            let counts = input
                .sql(&format!(
                    "SELECT {dim} AS \"value\", count(*) AS \"count\", \
                     round(CAST(count(*) AS DOUBLE) / {n}.0 * 100.0, 1) AS pct \
                     FROM members GROUP BY {dim} ORDER BY {order}",
                    n = total.max(1),
                ))
                .await?;
            if dim == "age_band" {
                let bands = counts.strings("value")?;
                let pct = counts.floats("pct")?;
                let older: f64 = bands
                    .iter()
                    .zip(&pct)
                    .filter(|(b, _)| b.starts_with("60") || b.starts_with("70"))
                    .map(|(_, p)| p)
                    .sum();
                highlights.push(("60岁及以上".into(), format!("{older:.1}%")));
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
        let from_year = p.from.map(|d| i64::from(chrono::Datelike::year(&d)));
        let to_year = i64::from(chrono::Datelike::year(&p.to.unwrap_or(p.as_of)));
        let from_year = from_year.unwrap_or(to_year - 9);
        let yearly = input
            .sql(&format!(
                "WITH j AS (SELECT join_year AS y, count(*) AS n FROM members \
                   WHERE join_year IS NOT NULL GROUP BY join_year), \
                 f AS (SELECT full_year AS y, count(*) AS n FROM members \
                   WHERE full_year IS NOT NULL GROUP BY full_year) \
                 SELECT COALESCE(j.y, f.y) AS \"year\", COALESCE(j.n, 0) AS joined, \
                   COALESCE(f.n, 0) AS made_full \
                 FROM j FULL JOIN f ON j.y = f.y \
                 WHERE COALESCE(j.y, f.y) BETWEEN {from_year} AND {to_year} ORDER BY 1"
            ))
            .await?;
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
        let orgs = input.table("orgs")?;
        let names: std::collections::HashMap<String, String> = orgs
            .strings("org_id")?
            .into_iter()
            .zip(orgs.strings("name")?)
            .collect();
        let reconciled = crate::reconcile::sections(input.table("snapshots")?, &names, p)?;
        if let Some(yearly) = reconciled.first() {
            let checks = yearly.table.strings("check")?;
            let years = yearly.table.strings("year")?;
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
        let per_org = input
            .sql(
                "SELECT org_id, org_name, count(*) AS members, \
                 sum(CASE WHEN category = '正式党员' THEN 1 ELSE 0 END) AS full_members, \
                 sum(CASE WHEN category = '预备党员' THEN 1 ELSE 0 END) AS probationary, \
                 sum(CASE WHEN gender = '女' THEN 1 ELSE 0 END) AS women, \
                 sum(CASE WHEN ethnicity <> '汉族' AND ethnicity <> '未填' THEN 1 ELSE 0 END) AS minorities, \
                 sum(CASE WHEN education IN ('大学本科', '硕士研究生', '博士研究生') THEN 1 ELSE 0 END) AS degree, \
                 sum(CASE WHEN age_band IN ('60–69岁', '70岁及以上') THEN 1 ELSE 0 END) AS over_60 \
                 FROM members GROUP BY org_id, org_name ORDER BY org_id NULLS FIRST, org_name",
            )
            .await?;
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
