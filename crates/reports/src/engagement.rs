//! `engagement`: who uses the platforms — monthly active members and rate, study minutes and
//! points per organization with a ranking, and the members inactive for N days broken down by
//! age band (the article's older members), with the list an organizer can act on.

use chrono::{Datelike, Duration};
use polars::prelude::*;

use crate::util::{GONE, age_band_sql, round, sql_date, sql_ts};
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

    fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let (from, to) = crate::util::months_period(p);
        let members = input.frame("members")?.clone();
        let keys = crate::util::month_keys(from, to);
        let months = keys.len();
        let n_members = members.height() as f64;

        if months > 62 {
            return Err(crate::Error::Invalid(format!(
                "活跃度报告一次最多统计 62 个月 (the engagement report covers at most 62 months; \
                 this period has {months}: give a shorter --from/--to)"
            )));
        }
        // Only activity of the members in the report (scope, --org, current members).
        let mut per_member = input
            .frame("per_member")?
            .clone()
            .lazy()
            .join(
                members
                    .clone()
                    .lazy()
                    .select([col("member_id"), col("org_id")]),
                [col("member_id")],
                [col("member_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .collect()?;
        let masks: Vec<i64> = {
            let c = per_member.column("months_mask")?.cast(&DataType::Int64)?;
            c.i64()?.iter().map(|v| v.unwrap_or(0)).collect()
        };
        per_member.with_column(Column::new(
            "member_months".into(),
            masks
                .iter()
                .map(|m| i64::from(m.count_ones()))
                .collect::<Vec<_>>(),
        ))?;
        // Active members per month: members with that month's bit. A month after the last
        // event the lake holds (the current month before its export arrives) has no data: it
        // is left empty, not drawn as 0 % active, and not averaged.
        let data_end = last_day(input.frame("per_member")?.column("last_at")?)?;
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

        // Every month of the period, those without any activity too.
        let per_month = input.frame("per_month")?.clone().lazy().with_column(
            (col("month").dt().year().cast(DataType::Int64) * lit(100i64)
                + col("month").dt().month().cast(DataType::Int64))
            .alias("month"),
        );
        let all_months = DataFrame::new_infer_height(vec![
            Column::new(
                "month".into(),
                keys.iter()
                    .map(|k| k.replace('-', "").parse::<i64>().unwrap_or(0))
                    .collect::<Vec<_>>(),
            ),
            Column::new("active".into(), active),
        ])?;
        let monthly = all_months
            .lazy()
            .join(
                per_month,
                [col("month")],
                [col("month")],
                JoinArgs::new(JoinType::Left),
            )
            .with_columns(["events", "study_minutes", "points"].map(|c| {
                when(col("active").is_null())
                    .then(col(c))
                    .otherwise(col(c).fill_null(lit(0)))
                    .alias(c)
            }))
            .with_column(lit(n_members).cast(DataType::Int64).alias("members"))
            .with_column(
                round(
                    col("active").cast(DataType::Float64) / lit(n_members.max(1.0)) * lit(100.0),
                    1,
                )
                .alias("rate_pct"),
            )
            .select([
                col("month"),
                col("members"),
                col("active"),
                col("rate_pct"),
                col("events"),
                col("study_minutes"),
                col("points"),
            ])
            .sort(["month"], SortMultipleOptions::default())
            .collect()?;
        let mut monthly = monthly;
        // The as-of month, when the period stops inside it, says so.
        let mut labels = keys.clone();
        if let Some(last) = labels.last_mut()
            && to
                .with_day(1)
                .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
                != to.succ_opt()
        {
            last.push_str(&format!("（至{}日）", to.day()));
        }
        monthly.with_column(Column::new("month".into(), labels))?;
        let avg_rate = monthly
            .column("rate_pct")?
            .as_materialized_series()
            .mean()
            .unwrap_or(0.0);

        let per_org_activity = per_member.clone().lazy().group_by([col("org_id")]).agg([
            col("member_months").sum().alias("member_months"),
            len().alias("ever_active"),
            col("study_minutes").sum().alias("study_minutes"),
            col("points").sum().alias("points"),
        ]);
        let orgs = members
            .clone()
            .lazy()
            .group_by([col("org_id"), col("org_name")])
            .agg([
                len().alias("members"),
                round(col("age").cast(DataType::Float64).mean(), 1).alias("avg_age"),
            ])
            .join(
                per_org_activity,
                [col("org_id")],
                [col("org_id")],
                JoinArgs::new(JoinType::Left),
            )
            .with_columns([
                col("member_months").fill_null(lit(0)),
                col("ever_active").fill_null(lit(0)),
                col("study_minutes").fill_null(lit(0)),
                col("points").fill_null(lit(0)),
            ])
            .with_columns([
                round(
                    col("member_months").cast(DataType::Float64)
                        / (col("members").cast(DataType::Float64) * lit(months_with_data as f64))
                        * lit(100.0),
                    1,
                )
                .alias("rate_pct"),
                round(
                    col("study_minutes").cast(DataType::Float64)
                        / col("members").cast(DataType::Float64),
                    1,
                )
                .alias("minutes_per_member"),
                round(
                    col("points").cast(DataType::Float64) / col("members").cast(DataType::Float64),
                    1,
                )
                .alias("points_per_member"),
            ])
            .sort_by_exprs(
                [col("rate_pct"), col("org_id")],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .with_row_index("rank", Some(1))
            .select([
                col("rank"),
                col("org_id"),
                col("org_name"),
                col("members"),
                col("avg_age"),
                col("rate_pct"),
                col("ever_active"),
                col("minutes_per_member"),
                col("points_per_member"),
            ])
            .collect()?;

        // The last activity of each member: in the period (from the months) or before it.
        let day_unit = match input.frame("per_member")?.column("last_at")?.dtype() {
            DataType::Datetime(TimeUnit::Nanoseconds, _) => 86_400_000_000_000i64,
            DataType::Datetime(TimeUnit::Milliseconds, _) => 86_400_000,
            _ => 86_400_000_000,
        };
        let stamp = |d: chrono::NaiveDate| i64::from(d.to_epoch_days()) * day_unit;
        let end = stamp(p.as_of + Duration::days(1));
        let cutoff = stamp(p.as_of - Duration::days(i64::from(p.inactive_days)));
        let last = concat(
            [
                per_member
                    .clone()
                    .lazy()
                    .select([col("member_id"), col("last_at")]),
                input
                    .frame("before")?
                    .clone()
                    .lazy()
                    .select([col("member_id"), col("last_at")]),
            ],
            UnionArgs::default(),
        )?
        .filter(col("last_at").cast(DataType::Int64).lt(lit(end)))
        .group_by([col("member_id")])
        .agg([col("last_at").max()])
        .with_columns([
            col("last_at").cast(DataType::Date).alias("last_date"),
            ((lit(end) - col("last_at").cast(DataType::Int64)) / lit(day_unit)).alias("days_since"),
            col("last_at")
                .cast(DataType::Int64)
                .lt(lit(cutoff))
                .alias("stale"),
        ]);
        let lowest = orgs
            .clone()
            .lazy()
            .sort(
                ["rank"],
                SortMultipleOptions::default().with_order_descending(true),
            )
            .limit(20)
            .collect()?;
        let seen = members
            .clone()
            .lazy()
            .join(
                last,
                [col("member_id")],
                [col("member_id")],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(
                (col("stale").fill_null(lit(true)))
                    .cast(DataType::Boolean)
                    .alias("inactive"),
            );
        let by_band = seen
            .clone()
            .group_by([col("age_band")])
            .agg([
                len().alias("members"),
                col("inactive").sum().alias("inactive"),
                col("last_date").is_null().sum().alias("never"),
            ])
            .with_column(
                round(
                    col("inactive").cast(DataType::Float64)
                        / col("members").cast(DataType::Float64)
                        * lit(100.0),
                    1,
                )
                .alias("inactive_pct"),
            )
            .collect()?;
        let by_band = crate::util::sort_by_key(by_band, &[], "age_band", |b| {
            i64::from(crate::util::band_order(b))
        })?;
        let inactive_list = seen
            .filter(col("inactive"))
            .select([
                col("org_id"),
                col("org_name"),
                col("member_id"),
                col("name"),
                col("age"),
                col("age_band"),
                col("last_date"),
                col("days_since"),
            ])
            .sort_by_exprs(
                [col("org_id"), col("age"), col("member_id")],
                SortMultipleOptions::default().with_order_descending_multi([false, true, false]),
            )
            .collect()?;

        let inactive_total = inactive_list.height();
        let older = by_band
            .clone()
            .lazy()
            .filter(
                col("age_band")
                    .eq(lit(crate::util::AGE_BANDS[4]))
                    .or(col("age_band").eq(lit(crate::util::AGE_BANDS[5]))),
            )
            .select([col("members").sum(), col("inactive").sum()])
            .collect()?;
        let older_members = first_i64(&older, "members");
        let older_inactive = first_i64(&older, "inactive");
        let pct = |a: i64, b: i64| {
            if b > 0 {
                format!("{:.1}%", a as f64 / b as f64 * 100.0)
            } else {
                "—".into()
            }
        };
        let n = p.inactive_days;
        let highlights = vec![
            ("党员人数".into(), format!("{}", members.height())),
            ("月均活跃率".into(), format!("{avg_rate:.1}%")),
            (
                format!("{n}天未活跃"),
                format!(
                    "{inactive_total} 人（{}）",
                    pct(inactive_total as i64, members.height() as i64)
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

fn first_i64(df: &DataFrame, name: &str) -> i64 {
    df.column(name)
        .ok()
        .and_then(|c| c.cast(&DataType::Int64).ok())
        .and_then(|c| c.i64().ok().and_then(|ca| ca.get(0)))
        .unwrap_or(0)
}

/// The last day with an event, from a column of timestamps (any unit); `None` without any.
fn last_day(last_at: &Column) -> Result<Option<chrono::NaiveDate>> {
    let per_day: i64 = match last_at.dtype() {
        DataType::Datetime(TimeUnit::Nanoseconds, _) => 86_400_000_000_000,
        DataType::Datetime(TimeUnit::Milliseconds, _) => 86_400_000,
        _ => 86_400_000_000,
    };
    let max = last_at.cast(&DataType::Int64)?.i64()?.max();
    Ok(max.and_then(|v| {
        i32::try_from(v.div_euclid(per_day))
            .ok()
            .and_then(chrono::NaiveDate::from_epoch_days)
    }))
}
