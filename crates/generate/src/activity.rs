//! What the organization records about members over time: appraisals, development stages,
//! growth records, cadre changes (and the order in which every generated dataset is written).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rand::Rng;
use rand::seq::IndexedRandom;

use super::corpus;
use super::{
    Archive, Cell, CsvEncoding, DateStyle, Format, Gen, Member, Sheet, Writer, people, platform,
};
use crate::error::Result;

pub(crate) fn write_all(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    appraisals(g, w, a)?;
    development(w, a)?;
    growth_records(g, w, a)?;
    cadre_changes(g, w, a)?;
    platform::survey(g, w, a)?;
    platform::feedback(g, w, a)?;
    platform::engagement(g, w, a)?;
    platform::meetings(g, w, a)?;
    platform::publications(g, w, a)?;
    Ok(())
}

pub(super) fn at(g: &mut Gen, d: NaiveDate, from_h: u32, to_h: u32) -> NaiveDateTime {
    let h = g.rng.random_range(from_h..to_h);
    let m = g.rng.random_range(0..60);
    let s = g.rng.random_range(0..60);
    d.and_time(NaiveTime::from_hms_opt(h, m, s).expect("valid time"))
}

fn is_member_in(m: &Member, year: i32) -> bool {
    m.join.is_some_and(|j| j.year() < year) && !matches!(m.status, "出党" | "去世" | "转出")
}

fn appraisals(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    let last = g.as_of.year() - 1;
    // Each member has a disposition that makes grades persist from year to year.
    let disposition: Vec<f64> = a.members.iter().map(|_| g.rng.random()).collect();
    for year in last - 4..=last {
        let format = if year % 2 == 0 {
            Format::Xlsx {
                dates_as_text: None,
            }
        } else {
            Format::Csv(CsvEncoding::Gbk, DateStyle::Iso)
        };
        let mut s = w.open(
            "appraisals",
            &format!("{year}年度民主评议结果"),
            &[
                "党员编号",
                "姓名",
                "评议年度",
                "评议等次",
                "得分",
                "评语",
                "组织编号",
            ],
            Some(format!("{year}年度党员民主评议结果汇总表")),
            format,
        )?;
        for (i, m) in a.members.iter().enumerate() {
            if !is_member_in(m, year + 1) {
                continue;
            }
            let d = disposition[i] + g.rng.random_range(-0.08..0.08);
            let grade = if d > 0.85 {
                "优秀"
            } else if d > 0.04 {
                "合格"
            } else if d > 0.008 {
                "基本合格"
            } else {
                "不合格"
            };
            let score = match grade {
                "优秀" => g.rng.random_range(90.0..100.0f64),
                "合格" => g.rng.random_range(75.0..90.0),
                "基本合格" => g.rng.random_range(60.0..75.0),
                _ => g.rng.random_range(40.0..60.0),
            };
            let comment = if grade != "合格" || g.rng.random_bool(0.3) {
                Cell::Str(corpus::appraisal_comment(g, grade))
            } else {
                Cell::Empty
            };
            s.push(&[
                m.id.clone().into(),
                m.person.name.clone().into(),
                (year as i64).into(),
                grade.into(),
                Cell::Float((score * 10.0).round() / 10.0),
                comment,
                a.orgs[m.org].id.clone().into(),
            ])?;
        }
        w.close(s)?;
    }
    Ok(())
}

fn development(w: &mut Writer, a: &Archive) -> Result<()> {
    let mut s = w.open(
        "development",
        "发展党员工作台账",
        &["党员编号", "发展阶段", "日期", "组织编号"],
        Some("发展党员工作台账".into()),
        Format::Csv(CsvEncoding::Gbk, DateStyle::Chinese),
    )?;
    for m in &a.members {
        for (stage, date) in &m.stages {
            s.push(&[
                m.id.clone().into(),
                (*stage).into(),
                (*date).into(),
                a.orgs[m.org].id.clone().into(),
            ])?;
        }
    }
    w.close(s)
}

const GROWTH: &[(&str, &str, f64)] = &[
    ("学习培训", "平台", 0.30),
    ("思想汇报", "谈话", 0.20),
    ("志愿服务", "走访", 0.15),
    ("谈话记录", "谈话", 0.12),
    ("民主座谈", "座谈", 0.10),
    ("表彰奖励", "平台", 0.06),
    ("其他", "问卷", 0.06),
    ("处分", "谈话", 0.01),
];

fn growth_records(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    let first = g.as_of.year() - 4;
    let mut by_year = Vec::with_capacity(5);
    for i in 0..5 {
        by_year.push(w.open(
            "growth_records",
            &format!("{}年成长记录", first + i),
            &[
                "记录编号",
                "党员编号",
                "日期",
                "类别",
                "标题",
                "内容",
                "来源",
                "记录人",
            ],
            Some(format!("{}年党员成长记录", first + i)),
            Format::Xlsx {
                dates_as_text: None,
            },
        )?);
    }
    let recorders: Vec<String> = (0..a.orgs.len()).map(|_| people::plain_name(g)).collect();
    let mut n = 0usize;
    for m in &a.members {
        let k = g.rng.random_range(1..=5);
        for _ in 0..k {
            let d = g.date_between(NaiveDate::from_ymd_opt(first, 1, 1).expect("d"), g.as_of);
            let x: f64 = g.rng.random();
            let mut acc = 0.0;
            let (cat, source, _) = GROWTH
                .iter()
                .find(|(_, _, p)| {
                    acc += p;
                    x < acc
                })
                .copied()
                .unwrap_or(GROWTH[0]);
            let topic = corpus::topic(g);
            let (title, content) = match cat {
                "思想汇报" => {
                    let t = corpus::tone(g, 0.55, 0.15);
                    (
                        format!("{}年第{}季度思想汇报", d.year(), (d.month() - 1) / 3 + 1),
                        corpus::thought_report(g, t),
                    )
                }
                "学习培训" => (format!("参加{topic}专题学习"), {
                    let t = corpus::tone(g, 0.6, 0.1);
                    format!(
                        "参加{topic}专题学习{}学时。{}",
                        g.rng.random_range(2..16),
                        corpus::sentence(g, t)
                    )
                }),
                "志愿服务" => {
                    // "志愿服务" and "疫情防控志愿服务" are topics themselves.
                    let what = if topic.ends_with("志愿服务") {
                        topic.to_string()
                    } else {
                        format!("{topic}志愿服务")
                    };
                    let t = corpus::tone(g, 0.7, 0.05);
                    let text = format!(
                        "参加{what}{}小时。{}",
                        g.rng.random_range(2..9),
                        corpus::sentence(g, t)
                    );
                    (what, text)
                }
                "表彰奖励" => (
                    ["优秀共产党员", "先进工作者", "优秀志愿者", "岗位标兵"]
                        .choose(&mut g.rng)
                        .copied()
                        .unwrap_or("优秀共产党员")
                        .to_string(),
                    format!("因在{topic}中表现突出，被评为先进个人。"),
                ),
                "处分" => (
                    "党内警告".to_string(),
                    "因违反工作纪律，经支部研究，给予党内警告处分。".to_string(),
                ),
                _ => {
                    let t = corpus::tone(g, 0.35, 0.25);
                    (
                        format!("关于{topic}的{}", cat.trim_end_matches("记录")),
                        corpus::sentence(g, t),
                    )
                }
            };
            n += 1;
            let yi = (d.year() - first).clamp(0, 4) as usize;
            by_year[yi].push(&[
                format!("G{n:08}").into(),
                m.id.clone().into(),
                d.into(),
                cat.into(),
                title.into(),
                content.into(),
                source.into(),
                recorders[m.org].clone().into(),
            ])?;
        }
    }
    for s in by_year {
        w.close(s)?;
    }
    Ok(())
}

fn cadre_changes(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    let mut s = Sheet::new(&[
        "党员编号",
        "姓名",
        "任免日期",
        "任免",
        "职务",
        "组织编号",
        "文号",
    ]);
    let positions = ["支部书记", "支部副书记", "组织委员", "宣传委员", "纪检委员"];
    for (oi, _) in a
        .orgs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == "党支部")
    {
        let ms: Vec<&Member> = a
            .members_of(oi)
            .iter()
            .filter(|m| m.category == "正式党员")
            .collect();
        for (pi, pos) in positions.iter().enumerate() {
            let Some(m) = ms.get(pi * 7 % ms.len().max(1)) else {
                continue;
            };
            let d = g.date_between(
                NaiveDate::from_ymd_opt(g.as_of.year() - 5, 1, 1).expect("d"),
                g.as_of - Duration::days(400),
            );
            let doc = format!("宁机工组〔{}〕{}号", d.year(), g.rng.random_range(1..80));
            s.push(vec![
                m.id.clone().into(),
                m.person.name.clone().into(),
                d.into(),
                "任".into(),
                (*pos).into(),
                a.orgs[oi].id.clone().into(),
                doc.into(),
            ]);
            if g.rng.random_bool(0.3) {
                let d2 = g.date_between(d + Duration::days(300), g.as_of);
                let doc = format!("宁机工组〔{}〕{}号", d2.year(), g.rng.random_range(1..80));
                s.push(vec![
                    m.id.clone().into(),
                    m.person.name.clone().into(),
                    d2.into(),
                    "免".into(),
                    (*pos).into(),
                    a.orgs[oi].id.clone().into(),
                    doc.into(),
                ]);
            }
        }
    }
    w.write(
        "cadre_changes",
        "干部任免记录",
        &s,
        Format::Xlsx {
            dates_as_text: None,
        },
    )
}
