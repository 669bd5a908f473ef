//! `survey`: per question, the Likert distribution and mean, broken down by organization and
//! by the respondents' age band; response counts and rates; the keywords of the free-text
//! answers.

use crate::util::{AGE_BANDS, GONE, age_band_sql, order_sql, sql_date, sql_ts};
use crate::{Chart, Inputs, Params, Report, ReportDef, Result, Section};
use chrono::Duration;

pub struct Survey;

const LIKERT: [&str; 5] = [
    "非常不满意(1)",
    "不满意(2)",
    "一般(3)",
    "满意(4)",
    "非常满意(5)",
];
const SCORE_COLS: [&str; 5] = ["s1", "s2", "s3", "s4", "s5"];

#[async_trait::async_trait]
impl ReportDef for Survey {
    fn name(&self) -> &'static str {
        "survey"
    }

    fn title(&self) -> &'static str {
        "问卷调查结果报告"
    }

    fn optional(&self) -> &'static [&'static str] {
        &["ages", "eligible"]
    }

    fn queries(&self, p: &Params) -> Vec<(&'static str, String)> {
        let (from, to) = crate::util::year_period(p);
        let span = format!(
            "s.submitted_at >= {} AND s.submitted_at < {}",
            sql_ts(from),
            sql_ts(to + Duration::days(1))
        );
        let org = p.org_filter("s.org_id");
        let age = format!("age(m.birth_date, {})", sql_date(p.as_of));
        vec![
            (
                "answers",
                format!(
                    "SELECT s.survey_id, COALESCE(s.survey_title, s.survey_id) AS survey_title, s.response_id, \
                     s.question_id, s.question_text, s.answer_score, s.org_id, COALESCE(o.name, s.org_id, '未填') AS org_name \
                     FROM survey_responses s LEFT JOIN organizations o ON s.org_id = o.org_id \
                     WHERE s.answer_score IS NOT NULL AND {span}{org}"
                ),
            ),
            (
                "texts",
                format!(
                    "SELECT s.response_id, s.question_text, s.answer_text FROM survey_responses s \
                     WHERE s.answer_score IS NULL AND s.answer_text IS NOT NULL \
                     AND char_length(trim(s.answer_text)) > 2 AND {span}{org}"
                ),
            ),
            (
                "ages",
                format!(
                    "SELECT DISTINCT s.response_id, {band} AS age_band FROM survey_responses s \
                     JOIN members m ON s.member_id = m.member_id WHERE {span}{org}",
                    band = age_band_sql(&age)
                ),
            ),
            (
                "eligible",
                format!(
                    "SELECT count(*) AS members FROM members m \
                     WHERE (m.status IS NULL OR m.status NOT IN {GONE}){}",
                    p.org_filter("m.org_id")
                ),
            ),
        ]
    }

    async fn compute(&self, input: &Inputs, p: &Params) -> Result<Report> {
        let (from, to) = crate::util::year_period(p);
        let dist: Vec<String> = SCORE_COLS
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "sum(CASE WHEN round(answer_score) = {}.0 THEN 1 ELSE 0 END) AS {c}",
                    i + 1
                )
            })
            .collect();
        let per_question = input
            .sql(&format!(
                "SELECT survey_title, question_id, question_text, count(*) AS answers, \
                 round(avg(answer_score), 2) AS mean, {} FROM answers \
                 GROUP BY survey_title, question_id, question_text \
                 ORDER BY survey_title NULLS FIRST, question_id NULLS FIRST, question_text",
                dist.join(", ")
            ))
            .await?;
        let by_org = input
            .sql(
                "SELECT question_id, question_text, org_id, org_name, count(*) AS answers, \
                 round(avg(answer_score), 2) AS mean FROM answers \
                 GROUP BY question_id, question_text, org_id, org_name \
                 ORDER BY question_id NULLS FIRST, org_id NULLS FIRST, question_text, org_name",
            )
            .await?;
        let by_age = match input.optional("ages") {
            Some(_) => Some(
                input
                    .sql(&format!(
                        "SELECT a.question_id, a.question_text, \
                         COALESCE(g.age_band, '未填编号') AS age_band, count(*) AS answers, \
                         round(avg(a.answer_score), 2) AS mean \
                         FROM answers a LEFT JOIN ages g ON a.response_id = g.response_id \
                         GROUP BY 1, 2, 3 \
                         ORDER BY 1 NULLS FIRST, {}, 2, 3",
                        order_sql("COALESCE(g.age_band, '未填编号')", &AGE_BANDS)
                    ))
                    .await?,
            ),
            None => None,
        };
        let responses = input
            .sql("SELECT count(DISTINCT response_id) AS responses FROM answers")
            .await?
            .floats("responses")?
            .first()
            .copied()
            .unwrap_or(0.0);
        let eligible = input
            .optional("eligible")
            .and_then(|t| t.floats("members").ok())
            .and_then(|v| v.first().copied())
            .filter(|v| !v.is_nan());

        let texts = input.table("texts")?;
        let text_values = texts.strings("answer_text")?;
        let meaningful: Vec<String> = text_values
            .into_iter()
            .filter(|t| !matches!(t.trim(), "无" | "没有" | "暂无" | "无意见" | "没有意见"))
            .collect();
        let groups = vec![Some(0); meaningful.len()];
        let keywords = crate::keywords::top_words(&meaningful, &groups, 1, 30)?
            .pop()
            .unwrap_or_default();

        let mut highlights = vec![("答卷数".to_string(), format!("{responses:.0}"))];
        if let Some(e) = eligible.filter(|e| *e > 0.0) {
            highlights.push((
                "参与率".to_string(),
                format!("{:.1}%（党员 {e:.0} 人）", responses / e * 100.0),
            ));
        }
        highlights.push(("文字意见".to_string(), meaningful.len().to_string()));

        let mut q_labels: Vec<(&str, &str)> = vec![
            ("survey_title", "问卷"),
            ("question_id", "题号"),
            ("question_text", "题目"),
            ("org_id", "组织编号"),
            ("org_name", "组织"),
            ("age_band", "年龄段"),
            ("answers", "回答数"),
            ("mean", "平均分"),
        ];
        q_labels.extend(SCORE_COLS.iter().copied().zip(LIKERT));
        let mut sections = vec![
            Section::new("各题得分分布", per_question, &q_labels)
                .note("平均分：1 = 非常不满意 … 5 = 非常满意。")
                .chart(Chart::Stacked {
                    x: "question_id".into(),
                    stacks: SCORE_COLS.iter().map(|c| c.to_string()).collect(),
                }),
        ];
        if let Some(by_age) = by_age {
            sections.push(
                Section::new("各题按年龄段", by_age, &q_labels)
                    .note("年龄段按答卷所填党员编号对应的出生日期；未填编号的单列。")
                    .chart(Chart::Heatmap {
                        row: "question_text".into(),
                        col: "age_band".into(),
                        value: "mean".into(),
                    }),
            );
        }
        sections.push(
            Section::new("文字意见关键词", keywords, crate::sentiment::KEYWORD_LABELS).chart(
                Chart::Bars {
                    label: "word".into(),
                    value: "weight".into(),
                },
            ),
        );
        sections.push(Section::new("各题按组织", by_org, &q_labels));
        Ok(Report::new(
            self,
            crate::subtitle(p, from, to),
            sections,
            highlights,
        ))
    }
}
