//! `feedback`: how the organization answers the masses — items by channel and category, open
//! items, days to close (median and p90), overdue items per organization with the list, and
//! 举报 (reports of wrongdoing) on their own.

use chrono::Duration;
use polars::prelude::*;

use crate::util::{round, sql_ts};
use crate::{Chart, Inputs, Params, Report, ReportDef, Result, Section};

pub struct Feedback;

/// Days within which an item should be closed ("及时").
const DUE_DAYS: f64 = 15.0;

impl ReportDef for Feedback {
    fn name(&self) -> &'static str {
        "feedback"
    }

    fn title(&self) -> &'static str {
        "群众意见反馈办理情况报告"
    }

    fn queries(&self, p: &Params) -> Vec<(&'static str, String)> {
        let (from, to) = crate::util::year_period(p);
        let now = sql_ts(p.as_of + Duration::days(1));
        vec![(
            "items",
            format!(
                "SELECT f.feedback_id, f.received_at, f.channel, f.org_id, COALESCE(o.name, f.org_id) AS org_name, \
                 COALESCE(f.category, '未分类') AS category, f.content, COALESCE(f.status, '待办理') AS status, f.closed_at, \
                 f.status = '已办结' AS closed, \
                 round((to_unixtime(COALESCE(f.closed_at, {now})) - to_unixtime(f.received_at)) / 86400.0, 1) AS days \
                 FROM feedback f LEFT JOIN organizations o ON f.org_id = o.org_id \
                 WHERE f.received_at >= {} AND f.received_at < {}{}",
                sql_ts(from),
                sql_ts(to + Duration::days(1)),
                p.org_filter("f.org_id"),
            ),
        )]
    }

    fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let (from, to) = crate::util::year_period(p);
        let items = input.frame("items")?.clone().lazy().with_column(
            col("closed")
                .fill_null(lit(false))
                .not()
                .and(col("days").gt(lit(DUE_DAYS)))
                .alias("overdue"),
        );
        let stats = |by: Vec<Expr>| {
            items.clone().group_by(by).agg([
                len().alias("items"),
                col("closed").not().sum().alias("open"),
                col("overdue").sum().alias("overdue"),
                round(col("days").filter(col("closed")).median(), 1).alias("median_days"),
                round(
                    col("days")
                        .filter(col("closed"))
                        .quantile(lit(0.9), QuantileMethod::Linear),
                    1,
                )
                .alias("p90_days"),
                round(
                    col("closed")
                        .and(col("days").lt_eq(lit(DUE_DAYS)))
                        .sum()
                        .cast(DataType::Float64)
                        / col("closed").sum().cast(DataType::Float64)
                        * lit(100.0),
                    1,
                )
                .alias("on_time_pct"),
            ])
        };
        // Ties in a fixed order: the same archive gives the same report.
        let by_category = stats(vec![col("category")])
            .sort(
                ["items", "category"],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .collect()?;
        let by_channel = stats(vec![col("channel")])
            .sort(
                ["items", "channel"],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .collect()?;
        let by_org = stats(vec![col("org_id"), col("org_name")])
            .sort_by_exprs(
                [col("overdue"), col("org_id")],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .collect()?;
        let overall = stats(vec![lit("全部").alias("scope")]).collect()?;
        let list_cols = [
            col("feedback_id"),
            col("received_at"),
            col("channel"),
            col("org_name"),
            col("category"),
            col("status"),
            col("days"),
            col("content"),
        ];
        let overdue = items
            .clone()
            .filter(col("overdue"))
            .select(list_cols.clone())
            .sort(
                ["days", "feedback_id"],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .collect()?;
        let reports = items
            .clone()
            .filter(col("category").eq(lit("举报")))
            .select(list_cols)
            .sort(
                ["received_at", "feedback_id"],
                SortMultipleOptions::default(),
            )
            .collect()?;
        let tip_stats = stats(vec![lit("举报").alias("scope")])
            .collect()
            .ok()
            .filter(|_| reports.height() > 0);

        let get = crate::util::first_text;
        let mut highlights = vec![
            ("反馈条目".to_string(), get(&overall, "items")),
            ("未办结".to_string(), get(&overall, "open")),
            (
                format!("超过{DUE_DAYS:.0}天未办结"),
                get(&overall, "overdue"),
            ),
            ("办结天数中位数".to_string(), get(&overall, "median_days")),
            ("办结天数 P90".to_string(), get(&overall, "p90_days")),
            (
                format!("{DUE_DAYS:.0}天内办结率"),
                format!("{}%", get(&overall, "on_time_pct")),
            ),
        ];
        if let Some(t) = &tip_stats {
            highlights.push((
                "举报".to_string(),
                format!("{} 件，未办结 {}", get(t, "items"), get(t, "open")),
            ));
        }
        let stat_labels: &[(&str, &str)] = &[
            ("category", "类别"),
            ("channel", "渠道"),
            ("org_id", "组织编号"),
            ("org_name", "组织名称"),
            ("items", "条目数"),
            ("open", "未办结"),
            ("overdue", "超期未办结"),
            ("median_days", "办结天数中位数"),
            ("p90_days", "办结天数P90"),
            ("on_time_pct", "按期办结率(%)"),
        ];
        let list_labels: &[(&str, &str)] = &[
            ("feedback_id", "反馈编号"),
            ("received_at", "接收时间"),
            ("channel", "渠道"),
            ("org_name", "组织"),
            ("category", "类别"),
            ("status", "办理状态"),
            ("days", "已用天数"),
            ("content", "内容"),
        ];
        let sections = vec![
            Section::new("按类别", by_category, stat_labels)
                .note(format!(
                    "办结天数：从接收到办结；按期：{DUE_DAYS:.0} 天内办结。超期未办结：未办结且已超过 {DUE_DAYS:.0} 天。"
                ))
                .chart(Chart::Bars {
                    label: "category".into(),
                    value: "items".into(),
                }),
            Section::new("按渠道", by_channel, stat_labels),
            Section::new("各组织办理情况", by_org, stat_labels)
                .note("按超期未办结条目从多到少排列。"),
            Section::new("超期未办结清单", overdue, list_labels)
                .note("按已用天数从多到少排列，请逐条督办。"),
            Section::new("举报件", reports, list_labels)
                .note("举报单独列出、单独督办，不与一般意见混同。"),
        ];
        Ok(Report::new(
            self,
            crate::subtitle(p, from, to),
            sections,
            highlights,
        ))
    }
}
