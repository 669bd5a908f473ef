//! `engagement`: who uses the platforms — monthly active members and rate, study minutes and
//! points per organization with a ranking, and the members inactive for N days broken down by
//! age band (the article's older members), with the list an organizer can act on.

use arrow::datatypes::{DataType, TimeUnit};
use chrono::{Datelike, Duration};

use crate::table::{self, Table};
use crate::util::{AGE_BANDS, GONE, age_band_sql, order_sql, sql_date, sql_ts};
use crate::{Chart, Inputs, Params, Report, ReportDef, Result, Section};

pub struct Engagement;

const ORG_LABELS: &[(&str, &str)] = &[
    ("rank", "排名"),
    ("org_id", "组织编号"),
    ("org_name", "组织名称"),
    ("members", "党员数"),
    ("avg_age", "平均年龄"),
    ("rate_pct", "月均活跃率(%)"),
    ("ever_active", "期间活跃人数"),
    ("minutes_per_member", "人均学习时长(分钟)"),
    ("points_per_member", "人均积分"),
];

#[async_trait::async_trait]
impl ReportDef for Engagement {
    fn name(&self) -> &'static str {
        "engagement"
    }

    fn title(&self) -> &'static str {
        "党员平台活跃度报告"
    }

    fn queries(&self, p: &Params) -> Vec<(&'static str, String)> {
        let (from, to) = crate::util::months_period(p);
        let as_of = p.as_of;
        let age = format!("age(m.birth_date, {})", sql_date(as_of));
        vec![
            (
                "members",
                format!(
                    "SELECT m.member_id, m.name, m.org_id, COALESCE(o.name, m.org_id) AS org_name, \
                     {age} AS age, {band} AS age_band \
                     FROM members m LEFT JOIN organizations o ON m.org_id = o.org_id \
                     WHERE (m.status IS NULL OR m.status NOT IN {GONE}){org}",
                    band = age_band_sql(&age),
                    org = p.org_filter("m.org_id"),
                ),
            ),
            (
                // One row per member (not per member and month: 64 million events group
                // into a million rows instead of twelve million), the months active as bits.
                "per_member",
                format!(
                    "SELECT member_id, count(*) AS events, \
                     COALESCE(sum(CASE WHEN event_type IN ('study', 'course') THEN duration_minutes END), 0) AS study_minutes, \
                     COALESCE(sum(points), 0) AS points, max(occurred_at) AS last_at, \
                     bit_or(CAST(1 AS BIGINT) << CAST((date_part('year', occurred_at) - {y0}) * 12 \
                       + date_part('month', occurred_at) - {m0} AS BIGINT)) AS months_mask \
                     FROM engagement_events WHERE occurred_at >= {a} AND occurred_at < {b} \
                     GROUP BY member_id",
                    y0 = from.year(),
                    m0 = from.month(),
                    a = sql_ts(from),
                    b = sql_ts(to + Duration::days(1)),
                ),
            ),
            (
                // Activity per month (events, minutes, points: of everyone in scope, members
                // who have since left included — their activity happened).
                "per_month",
                format!(
                    "SELECT date_trunc('month', occurred_at) AS month, count(*) AS events, \
                     COALESCE(sum(CASE WHEN event_type IN ('study', 'course') THEN duration_minutes END), 0) AS study_minutes, \
                     COALESCE(sum(points), 0) AS points \
                     FROM engagement_events WHERE occurred_at >= {a} AND occurred_at < {b}{org} \
                     GROUP BY date_trunc('month', occurred_at)",
                    a = sql_ts(from),
                    b = sql_ts(to + Duration::days(1)),
                    // A semi-join over every event costs more than the rest of the report:
                    // only a sub-tree needs one.
                    org = match &p.orgs {
                        None => String::new(),
                        Some(_) => format!(
                            " AND member_id IN (SELECT m.member_id FROM members m WHERE true{})",
                            p.org_filter("m.org_id")
                        ),
                    },
                ),
            ),
            (
                // The last activity before the period (the period's own comes with the months).
                "before",
                format!(
                    "SELECT member_id, max(occurred_at) AS last_at FROM engagement_events \
                     WHERE occurred_at < {} GROUP BY member_id",
                    sql_ts(from),
                ),
            ),
        ]
    }

    async fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let (from, to) = crate::util::months_period(p);
        let members = input.table("members")?;
        let keys = crate::util::month_keys(from, to);
        let months = keys.len();
        let n_members = members.height();

        if months > 62 {
            return Err(crate::Error::Invalid(format!(
                "活跃度报告一次最多统计 62 个月 (the engagement report covers at most 62 months; \
                 this period has {months}: give a shorter --from/--to)"
            )));
        }
        // Only activity of the members in the report (scope, --org, current members).
        let active_members = input
            .sql(
                "SELECT a.*, m.org_id FROM per_member a JOIN members m ON a.member_id = m.member_id",
            )
            .await?;
        let masks: Vec<i64> = active_members
            .ints("months_mask")?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect();
        let active_members = active_members.with_column(
            "member_months",
            table::ints(masks.iter().map(|m| i64::from(m.count_ones()))),
        )?;
        input.register("active_members", &active_members)?;
        // Active members per month: members with that month's bit. A month after the last
        // event the lake holds (the current month before its export arrives) has no data: it
        // is left empty, not drawn as 0 % active, and not averaged.
        let data_end = input
            .sql("SELECT CAST(max(last_at) AS DATE) AS d FROM per_member")
            .await?
            .dates("d")?
            .first()
            .copied()
            .flatten();
        let first = from.with_day(1).unwrap_or(from);
        let has_data: Vec<bool> = (0..months)
            .map(|i| {
                let start = first
                    .checked_add_months(chrono::Months::new(i as u32))
                    .unwrap_or(first);
                data_end.is_none_or(|end| start <= end)
            })
            .collect();
        let months_with_data = has_data.iter().filter(|h| **h).count().max(1);
        let mut active = vec![0i64; months];
        for m in &masks {
            for (i, a) in active.iter_mut().enumerate() {
                *a += (m >> i) & 1;
            }
        }
        let active: Vec<Option<i64>> = active
            .into_iter()
            .zip(&has_data)
            .map(|(a, has)| has.then_some(a))
            .collect();

        // Every month of the period, those without any activity too. The as-of month, when
        // the period stops inside it, says so.
        let mut labels = keys.clone();
        if let Some(last) = labels.last_mut()
            && to
                .with_day(1)
                .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
                != to.succ_opt()
        {
            last.push_str(&format!("（至{}日）", to.day()));
        }
        input.register(
            "all_months",
            &Table::build(vec![
                (
                    "key",
                    table::ints(
                        keys.iter()
                            .map(|k| k.replace('-', "").parse::<i64>().unwrap_or(0)),
                    ),
                ),
                ("label", table::strs(&labels)),
                ("active", table::opt_ints(active)),
            ])?,
        )?;
        let filled = |c: &str| {
            format!("CASE WHEN a.active IS NULL THEN m.{c} ELSE COALESCE(m.{c}, 0) END AS {c}")
        };
        let monthly = input
            .sql(&format!(
                "SELECT a.label AS month, CAST({n_members} AS BIGINT) AS members, a.active, \
                 round(CAST(a.active AS DOUBLE) / {n}.0 * 100.0, 1) AS rate_pct, \
                 {}, {}, {} FROM all_months a LEFT JOIN \
                 (SELECT CAST(date_part('year', month) * 100 + date_part('month', month) AS BIGINT) \
                   AS key, events, study_minutes, points FROM per_month) m ON a.key = m.key \
                 ORDER BY a.key",
                filled("events"),
                filled("study_minutes"),
                filled("points"),
                n = n_members.max(1),
            ))
            .await?;
        let rates: Vec<f64> = monthly
            .floats("rate_pct")?
            .into_iter()
            .filter(|r| !r.is_nan())
            .collect();
        let avg_rate = if rates.is_empty() {
            0.0
        } else {
            rates.iter().sum::<f64>() / rates.len() as f64
        };

        let orgs = input
            .sql(&format!(
                "WITH act AS (SELECT org_id, sum(member_months) AS member_months, \
                   count(*) AS ever_active, sum(study_minutes) AS study_minutes, \
                   sum(points) AS points FROM active_members GROUP BY org_id), \
                 o AS (SELECT org_id, org_name, count(*) AS members, \
                   round(avg(CAST(age AS DOUBLE)), 1) AS avg_age FROM members \
                   GROUP BY org_id, org_name), \
                 j AS (SELECT o.*, COALESCE(act.member_months, 0) AS member_months, \
                   COALESCE(act.ever_active, 0) AS ever_active, \
                   COALESCE(act.study_minutes, 0) AS study_minutes, \
                   COALESCE(act.points, 0) AS points FROM o LEFT JOIN act ON o.org_id = act.org_id), \
                 r AS (SELECT *, round(CAST(member_months AS DOUBLE) \
                     / (CAST(members AS DOUBLE) * {months_with_data}.0) * 100.0, 1) AS rate_pct, \
                   round(CAST(study_minutes AS DOUBLE) / CAST(members AS DOUBLE), 1) AS minutes_per_member, \
                   round(CAST(points AS DOUBLE) / CAST(members AS DOUBLE), 1) AS points_per_member FROM j) \
                 SELECT row_number() OVER (ORDER BY rate_pct DESC, org_id NULLS FIRST, org_name) \
                   AS \"rank\", org_id, org_name, members, avg_age, rate_pct, ever_active, \
                   minutes_per_member, points_per_member FROM r ORDER BY \"rank\""
            ))
            .await?;
        input.register("orgs", &orgs)?;
        let lowest = input
            .sql("SELECT * FROM orgs ORDER BY \"rank\" DESC LIMIT 20")
            .await?;

        // The last activity of each member: in the period (from the months) or before it.
        let day_unit: i64 = match input.table("per_member")?.column("last_at")?.data_type() {
            DataType::Timestamp(TimeUnit::Nanosecond, _) => 86_400_000_000_000,
            DataType::Timestamp(TimeUnit::Millisecond, _) => 86_400_000,
            DataType::Timestamp(TimeUnit::Second, _) => 86_400,
            _ => 86_400_000_000,
        };
        let stamp = |d: chrono::NaiveDate| i64::from(d.to_epoch_days()) * day_unit;
        let end = stamp(p.as_of + Duration::days(1));
        let cutoff = stamp(p.as_of - Duration::days(i64::from(p.inactive_days)));
        input.register(
            "seen",
            &input
                .sql(&format!(
                    "WITH t AS (SELECT member_id, CAST(last_at AS BIGINT) AS t FROM active_members \
                       UNION ALL SELECT member_id, CAST(last_at AS BIGINT) AS t FROM before), \
                     l AS (SELECT member_id, max(t) AS t FROM t WHERE t < {end} GROUP BY member_id) \
                     SELECT m.*, CAST(CAST(l.t / {day_unit} AS INT) AS DATE) AS last_date, \
                       ({end} - l.t) / {day_unit} AS days_since, \
                       COALESCE(l.t < {cutoff}, true) AS inactive \
                     FROM members m LEFT JOIN l ON m.member_id = l.member_id",
                ))
                .await?,
        )?;
        let by_band = input
            .sql(&format!(
                "SELECT age_band, count(*) AS members, \
                 sum(CASE WHEN inactive THEN 1 ELSE 0 END) AS inactive, \
                 sum(CASE WHEN last_date IS NULL THEN 1 ELSE 0 END) AS never, \
                 round(CAST(sum(CASE WHEN inactive THEN 1 ELSE 0 END) AS DOUBLE) \
                   / CAST(count(*) AS DOUBLE) * 100.0, 1) AS inactive_pct \
                 FROM seen GROUP BY age_band ORDER BY {}, age_band",
                order_sql("age_band", &AGE_BANDS)
            ))
            .await?;
        let inactive_list = input
            .sql(
                "SELECT org_id, org_name, member_id, name, age, age_band, last_date, days_since \
                 FROM seen WHERE inactive \
                 ORDER BY org_id NULLS FIRST, age DESC, member_id NULLS FIRST",
            )
            .await?;

        let inactive_total = inactive_list.height();
        let (mut older_members, mut older_inactive) = (0i64, 0i64);
        let bands = by_band.strings("age_band")?;
        let band_members = by_band.ints("members")?;
        let band_inactive = by_band.ints("inactive")?;
        for (i, b) in bands.iter().enumerate() {
            if b == AGE_BANDS[4] || b == AGE_BANDS[5] {
                older_members += band_members[i].unwrap_or(0);
                older_inactive += band_inactive[i].unwrap_or(0);
            }
        }
        let pct = |a: i64, b: i64| {
            if b > 0 {
                format!("{:.1}%", a as f64 / b as f64 * 100.0)
            } else {
                "—".into()
            }
        };
        let n = p.inactive_days;
        let highlights = vec![
            ("党员人数".into(), format!("{n_members}")),
            ("月均活跃率".into(), format!("{avg_rate:.1}%")),
            (
                format!("{n}天未活跃"),
                format!(
                    "{inactive_total} 人（{}）",
                    pct(inactive_total as i64, n_members as i64)
                ),
            ),
            (
                format!("60岁及以上{n}天未活跃"),
                format!(
                    "{older_inactive} 人（{}）",
                    pct(older_inactive, older_members)
                ),
            ),
        ];

        let sections = vec![
            Section::new(
                "每月活跃党员",
                monthly,
                &[
                    ("month", "月份"),
                    ("members", "党员数"),
                    ("active", "活跃人数"),
                    ("rate_pct", "活跃率(%)"),
                    ("events", "活动次数"),
                    ("study_minutes", "学习时长(分钟)"),
                    ("points", "积分"),
                ],
            )
            .note("活跃：当月在任一平台有一次及以上活动记录。活跃人数只计现有党员；活动次数、学习时长、积分含期间后来转出等人员当时的活动。")
            .chart(Chart::Line {
                x: "month".into(),
                ys: vec!["rate_pct".into()],
            }),
            Section::new(
                format!("{n}天未活跃党员（按年龄段）"),
                by_band,
                &[
                    ("age_band", "年龄段"),
                    ("members", "党员数"),
                    ("inactive", "未活跃人数"),
                    ("never", "从未使用"),
                    ("inactive_pct", "未活跃比例(%)"),
                ],
            )
            .note(format!(
                "未活跃：截至{}，最近{n}天没有任何平台活动（含从未使用）。",
                p.as_of.format("%Y年%m月%d日")
            ))
            .chart(Chart::Bars {
                label: "age_band".into(),
                value: "inactive_pct".into(),
            }),
            Section::new("活跃度最低的组织", lowest, ORG_LABELS)
                .note("排名最后的 20 个组织，从最低起：最需要督促和帮扶的。")
                .chart(Chart::Bars {
                    label: "org_name".into(),
                    value: "rate_pct".into(),
                }),
            Section::new("各组织活跃度排名", orgs, ORG_LABELS)
                .note(format!(
                    "月均活跃率 = 各月活跃人数之和 ÷ (党员数 × {months}个月)。"
                ))
                .chart(Chart::Bars {
                    label: "org_name".into(),
                    value: "rate_pct".into(),
                }),
            Section::new(
                format!("{n}天未活跃党员名单"),
                inactive_list,
                &[
                    ("org_id", "组织编号"),
                    ("org_name", "所在组织"),
                    ("member_id", "党员编号"),
                    ("name", "姓名"),
                    ("age", "年龄"),
                    ("age_band", "年龄段"),
                    ("last_date", "最近活动日期"),
                    ("days_since", "距今天数"),
                ],
            )
            .note("按组织、年龄从大到小排列；最近活动日期为空表示从未使用平台。"),
        ];
        Ok(Report::new(
            self,
            crate::subtitle(p, from, to),
            sections,
            highlights,
        ))
    }
}
