//! `operators`: whether the people running the platforms do it well — per channel and
//! operator: posts, delay from directive to publication (median, p90), share published within
//! 24 hours, reads per post, interaction rate; a ranking.

use crate::util::sql_ts;
use crate::{Chart, Inputs, Params, Report, ReportDef, Result, Section};
use chrono::Duration;

pub struct Operators;

#[async_trait::async_trait]
impl ReportDef for Operators {
    fn name(&self) -> &'static str {
        "operators"
    }

    fn title(&self) -> &'static str {
        "宣传平台运营考核报告"
    }

    fn queries(&self, p: &Params) -> Vec<(&'static str, String)> {
        let (from, to) = crate::util::year_period(p);
        vec![(
            "posts",
            format!(
                "SELECT p.post_id, p.channel, COALESCE(p.operator, '未署名') AS operator, p.org_id, \
                 COALESCE(o.name, p.org_id) AS org_name, \
                 (to_unixtime(p.published_at) - to_unixtime(p.directive_at)) / 3600.0 AS delay_hours, \
                 COALESCE(p.reads, 0) AS reads, \
                 COALESCE(p.likes, 0) + COALESCE(p.comments, 0) + COALESCE(p.shares, 0) AS interactions \
                 FROM publications p LEFT JOIN organizations o ON p.org_id = o.org_id \
                 WHERE p.published_at >= {} AND p.published_at < {}{}",
                sql_ts(from),
                sql_ts(to + Duration::days(1)),
                p.org_filter("p.org_id"),
            ),
        )]
    }

    async fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let (from, to) = crate::util::year_period(p);
        const STATS: &str = "count(*) AS posts, \
            round(median(delay_hours), 1) AS median_delay_h, \
            array_agg(delay_hours) AS p90_delay_h, \
            round(CAST(sum(CASE WHEN delay_hours <= 24.0 THEN 1 ELSE 0 END) AS DOUBLE) \
              / CAST(count(delay_hours) AS DOUBLE) * 100.0, 1) AS within_24h_pct, \
            round(CAST(sum(reads) AS DOUBLE) / CAST(count(*) AS DOUBLE), 0) AS reads_per_post, \
            round(CAST(sum(interactions) AS DOUBLE) / CAST(sum(reads) AS DOUBLE) * 100.0, 2) \
              AS interaction_pct";
        let stats = async |sql: String| -> Result<crate::Table> {
            input
                .sql(&sql)
                .await?
                .quantile_of_lists("p90_delay_h", 0.9, 1)
        };
        let by_channel = stats(format!(
            "SELECT channel, {STATS} FROM posts GROUP BY channel \
             ORDER BY posts DESC, channel NULLS FIRST"
        ))
        .await?;
        // Ranking: timeliness first (share within 24 h), then reach (reads per post).
        let by_operator = stats(format!(
            "SELECT row_number() OVER (ORDER BY within_24h_pct DESC, reads_per_post DESC, \
               operator NULLS FIRST, channel, org_name) AS \"rank\", * \
             FROM (SELECT operator, channel, org_name, {STATS} FROM posts \
               GROUP BY operator, channel, org_name) ORDER BY \"rank\""
        ))
        .await?;
        let overall = stats(format!("SELECT {STATS} FROM posts")).await?;
        let get = |c: &str| overall.first_text(c);
        let highlights = vec![
            ("发布条数".to_string(), get("posts")),
            (
                "发布时延中位数".to_string(),
                format!("{} 小时", get("median_delay_h")),
            ),
            (
                "24小时内发布".to_string(),
                format!("{}%", get("within_24h_pct")),
            ),
            ("篇均阅读".to_string(), get("reads_per_post")),
            ("互动率".to_string(), format!("{}%", get("interaction_pct"))),
        ];
        let labels: &[(&str, &str)] = &[
            ("rank", "排名"),
            ("operator", "运营人员"),
            ("channel", "渠道"),
            ("org_name", "所属组织"),
            ("posts", "发布条数"),
            ("median_delay_h", "时延中位数(小时)"),
            ("p90_delay_h", "时延P90(小时)"),
            ("within_24h_pct", "24小时内发布(%)"),
            ("reads_per_post", "篇均阅读"),
            ("interaction_pct", "互动率(%)"),
        ];
        let sections = vec![
            Section::new("按渠道", by_channel, labels)
                .note("时延：从上级部署（directive）到发布；互动率 = (点赞 + 评论 + 转发) ÷ 阅读。")
                .chart(Chart::Bars {
                    label: "channel".into(),
                    value: "within_24h_pct".into(),
                }),
            Section::new("运营人员排名", by_operator, labels)
                .note("先按 24 小时内发布的比例，再按篇均阅读排序。")
                .chart(Chart::Bars {
                    label: "operator".into(),
                    value: "within_24h_pct".into(),
                }),
        ];
        Ok(Report::new(
            self,
            crate::subtitle(p, from, to),
            sections,
            highlights,
        ))
    }
}
