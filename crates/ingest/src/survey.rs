//! 问卷星-style wide survey exports (one row per response, questions as `N、question` headers)
//! turned into long `survey_responses` rows, one per answered question.

use crate::reader::{RawCell, RawSheet};

/// Identifies the survey the rows belong to.
#[derive(Debug, Clone)]
pub struct SurveyInfo {
    pub survey_id: String,
    pub survey_title: String,
}

/// `1、您的满意度` / `1.您的满意度` / `Q1 您的满意度` → (1, "您的满意度").
pub fn question_header(h: &str) -> Option<(u32, String)> {
    let h = dangan_text::fold_width(dangan_text::trim_all(h));
    let rest = h
        .strip_prefix('Q')
        .or_else(|| h.strip_prefix('q'))
        .unwrap_or(&h);
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    let after = &rest[digits.len()..];
    let text = after
        .strip_prefix('、')
        .or_else(|| after.strip_prefix('.'))
        .or_else(|| after.strip_prefix(' '))?;
    Some((digits.parse().ok()?, text.trim().to_string()))
}

/// Likert answers to 1–5.
pub fn likert(answer: &str) -> Option<i64> {
    let a = dangan_text::fold_width(dangan_text::trim_all(answer));
    let v = match &*a {
        "非常满意" | "很满意" | "非常好" | "很好" | "非常同意" | "优秀" => 5,
        "满意" | "比较满意" | "较好" | "好" | "同意" | "比较同意" | "良好" => 4,
        "一般" | "中立" | "说不清" | "基本满意" => 3,
        "不满意" | "不太满意" | "较差" | "不同意" | "比较不满意" => 2,
        "非常不满意" | "很不满意" | "很差" | "非常差" | "非常不同意" => 1,
        other => match other.parse::<i64>() {
            Ok(v) if (1..=5).contains(&v) => v,
            _ => return None,
        },
    };
    Some(v)
}

/// Header row index and question columns, if the sheet looks like a wide survey export.
/// A question column: (sheet column, question number, question text).
type Question = (usize, u32, String);

fn detect(sheet: &RawSheet) -> Option<(usize, Vec<Question>)> {
    for (r, row) in sheet.rows.iter().take(10).enumerate() {
        let qs: Vec<Question> = row
            .iter()
            .enumerate()
            .filter_map(|(i, c)| question_header(&c.display()).map(|(n, t)| (i, n, t)))
            .collect();
        if qs.len() >= 2 {
            return Some((r, qs));
        }
    }
    None
}

/// If `sheet` is a wide export, the equivalent long sheet (header row first, canonical column
/// names); `None` when it is already long. Row numbers of the original are kept in
/// `source_rows` so that quarantine points at the row the user sees.
pub fn to_long(sheet: &RawSheet, info: &SurveyInfo) -> Option<(RawSheet, Vec<usize>)> {
    let (hr, questions) = detect(sheet)?;
    let header = &sheet.rows[hr];
    let find = |names: &[&str]| {
        header.iter().position(|c| {
            let h = dangan_text::normalize_header(&c.display());
            names.iter().any(|n| h == *n)
        })
    };
    let id_col = find(&["序号", "答卷编号", "编号"]);
    let time_col = find(&["提交答卷时间", "提交时间", "答题时间"]);
    // Questions that identify the respondent rather than ask an opinion.
    let is_member = |t: &str| t.contains("党员编号") || t.contains("人员编号");
    let is_org = |t: &str| t.contains("所在") && (t.contains("支部") || t.contains("党组织"));
    let member_q = questions.iter().find(|(_, _, t)| is_member(t)).map(|q| q.0);
    let org_q = questions.iter().find(|(_, _, t)| is_org(t)).map(|q| q.0);
    let mut rows = vec![
        [
            "response_id",
            "survey_id",
            "survey_title",
            "submitted_at",
            "member_id",
            "org_id",
            "question_id",
            "question_text",
            "answer_score",
            "answer_text",
        ]
        .iter()
        .map(|s| RawCell::Text(s.to_string()))
        .collect::<Vec<_>>(),
    ];
    let mut source_rows = vec![hr];
    for (r, row) in sheet.rows.iter().enumerate().skip(hr + 1) {
        if row.iter().all(RawCell::is_empty) {
            continue;
        }
        let cell = |i: Option<usize>| {
            i.and_then(|i| row.get(i))
                .cloned()
                .unwrap_or(RawCell::Empty)
        };
        let response = match cell(id_col) {
            RawCell::Empty => RawCell::Text((r - hr).to_string()),
            c => c,
        };
        for (ci, n, text) in &questions {
            if Some(*ci) == member_q || Some(*ci) == org_q {
                continue;
            }
            let answer = row.get(*ci).cloned().unwrap_or(RawCell::Empty);
            if answer.is_empty() {
                continue;
            }
            let shown = answer.display();
            let score = likert(&shown);
            rows.push(vec![
                response.clone(),
                RawCell::Text(info.survey_id.clone()),
                RawCell::Text(info.survey_title.clone()),
                cell(time_col),
                cell(member_q),
                cell(org_q),
                RawCell::Text(format!("Q{n}")),
                RawCell::Text(text.clone()),
                score
                    .map(|s| RawCell::Number(s as f64))
                    .unwrap_or(RawCell::Empty),
                answer,
            ]);
            source_rows.push(r);
        }
    }
    Some((
        RawSheet {
            name: sheet.name.clone(),
            rows,
            encoding: sheet.encoding,
        },
        source_rows,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_headers() {
        assert_eq!(
            question_header("1、您对支部活动的满意度"),
            Some((1, "您对支部活动的满意度".into()))
        );
        assert_eq!(
            question_header("12.其他建议"),
            Some((12, "其他建议".into()))
        );
        assert_eq!(question_header("Q3 满意度"), Some((3, "满意度".into())));
        assert_eq!(question_header("序号"), None);
        assert_eq!(question_header("2021年"), None);
    }

    #[test]
    fn wide_becomes_long_with_scores() {
        let t = |s: &str| RawCell::Text(s.into());
        let sheet = RawSheet {
            name: "s".into(),
            encoding: None,
            rows: vec![
                vec![
                    t("序号"),
                    t("提交答卷时间"),
                    t("1、您的党员编号"),
                    t("2、您对支部活动的满意度"),
                    t("3、意见和建议"),
                ],
                vec![
                    t("1"),
                    t("2024/9/1 10:00:00"),
                    t("M0000001"),
                    t("非常满意"),
                    t("希望多组织活动"),
                ],
                vec![
                    t("2"),
                    t("2024/9/2 11:00:00"),
                    RawCell::Empty,
                    t("一般"),
                    RawCell::Empty,
                ],
            ],
        };
        let info = SurveyInfo {
            survey_id: "S1".into(),
            survey_title: "满意度".into(),
        };
        let (long, src) = to_long(&sheet, &info).unwrap();
        assert_eq!(long.rows.len(), 4); // header + 2 answers of row 1 + 1 of row 2
        assert_eq!(long.rows[1][4], t("M0000001"));
        assert_eq!(long.rows[1][8], RawCell::Number(5.0));
        assert_eq!(long.rows[2][8], RawCell::Empty);
        assert_eq!(long.rows[3][8], RawCell::Number(3.0));
        assert_eq!(src, vec![0, 1, 1, 2]);
    }
}
