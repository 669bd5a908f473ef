//! `feedback`: how the organization answers the masses — items by channel and category, open
//! items, days to close (median and p90), overdue items per organization with the list, and
//! 举报 (reports of wrongdoing) on their own.

use crate::util::sql_ts;
use crate::{Chart, Inputs, Params, Report, ReportDef, Result, Section};
use chrono::Duration;

pub struct Feedback;

/// Days within which an item should be closed ("及时").
const DUE_DAYS: f64 = 15.0;

#[async_trait::async_trait]
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

    async fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let (from, to) = crate::util::year_period(p);
        let due = format!("{DUE_DAYS:.1}");
        input.register(
            "items",
            &input
                .sql(&format!(
                    "SELECT *, (NOT COALESCE(closed, false)) AND days > {due} AS overdue FROM items"
                ))
                .await?,
        )?;
        let stats = format!(
            "count(*) AS items, \
             sum(CASE WHEN NOT closed THEN 1 ELSE 0 END) AS open, \
             sum(CASE WHEN overdue THEN 1 ELSE 0 END) AS overdue, \
             round(median(CASE WHEN closed THEN days END), 1) AS median_days, \
             array_agg(CASE WHEN closed THEN days END) AS p90_days, \
             round(CAST(sum(CASE WHEN closed AND days <= {due} THEN 1 ELSE 0 END) AS DOUBLE) \
               / CAST(sum(CASE WHEN closed THEN 1 ELSE 0 END) AS DOUBLE) * 100.0, 1) AS on_time_pct"
        );
        // Per group (none: one row for everything), ties in a fixed order: the same archive
        // gives the same report.
        let stats_by = async |keys: &str, order: &str| -> Result<crate::Table> {
            let sql = match keys {
                "" => format!("SELECT {stats} FROM items"),
                k => format!("SELECT {k}, {stats} FROM items GROUP BY {k} ORDER BY {order}"),
            };
            input.sql(&sql).await?.quantile_of_lists("p90_days", 0.9, 1)
        };
        let by_category = stats_by("category", "items DESC, category NULLS FIRST").await?;
        let by_channel = stats_by("channel", "items DESC, channel NULLS FIRST").await?;
        let by_org = stats_by(
            "org_id, org_name",
            "overdue DESC, org_id NULLS FIRST, org_name",
        )
        .await?;
        let overall = stats_by("", "").await?;
        const LIST: &str =
            "feedback_id, received_at, channel, org_name, category, status, days, content";
        let overdue = input
            .sql(&format!(
                "SELECT {LIST} FROM items WHERE overdue ORDER BY days DESC, feedback_id NULLS FIRST"
            ))
            .await?;
        let reports = input
            .sql(&format!(
                "SELECT {LIST} FROM items WHERE category = '举报' \
                 ORDER BY received_at NULLS FIRST, feedback_id NULLS FIRST"
            ))
            .await?;
        let tip_stats = if reports.height() > 0 {
            Some(
                input
                    .sql(&format!(
                        "SELECT {stats} FROM items WHERE category = '举报'"
                    ))
                    .await?
                    .quantile_of_lists("p90_days", 0.9, 1)?,
            )
        } else {
            None
        };

        let get = |t: &crate::Table, c: &str| t.first_text(c);
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
