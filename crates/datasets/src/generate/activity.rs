//! Everything that happens to members over time: appraisals, development stages, growth
//! records, cadre changes, a wide survey export, feedback, platform events, meetings, posts.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rand::Rng;
use rand::seq::IndexedRandom;

use super::corpus::{self, Tone};
use super::{Archive, Cell, CsvEncoding, DateStyle, Format, Gen, Member, Sheet, Writer, people};
use crate::error::Result;

pub(crate) fn write_all(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    appraisals(g, w, a)?;
    development(w, a)?;
    growth_records(g, w, a)?;
    cadre_changes(g, w, a)?;
    survey(g, w, a)?;
    feedback(g, w, a)?;
    engagement(g, w, a)?;
    meetings(g, w, a)?;
    publications(g, w, a)?;
    Ok(())
}

fn at(g: &mut Gen, d: NaiveDate, from_h: u32, to_h: u32) -> NaiveDateTime {
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
        let mut s = Sheet::new(&[
            "党员编号",
            "姓名",
            "评议年度",
            "评议等次",
            "得分",
            "评语",
            "组织编号",
        ])
        .with_title(format!("{year}年度党员民主评议结果汇总表"));
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
            s.push(vec![
                m.id.clone().into(),
                m.person.name.clone().into(),
                (year as i64).into(),
                grade.into(),
                Cell::Float((score * 10.0).round() / 10.0),
                comment,
                a.orgs[m.org].id.clone().into(),
            ]);
        }
        let format = if year % 2 == 0 {
            Format::Xlsx {
                dates_as_text: None,
            }
        } else {
            Format::Csv(CsvEncoding::Gbk, DateStyle::Iso)
        };
        w.write("appraisals", &format!("{year}年度民主评议结果"), &s, format)?;
    }
    Ok(())
}

fn development(w: &mut Writer, a: &Archive) -> Result<()> {
    let mut s =
        Sheet::new(&["党员编号", "发展阶段", "日期", "组织编号"]).with_title("发展党员工作台账");
    for m in &a.members {
        for (stage, date) in &m.stages {
            s.push(vec![
                m.id.clone().into(),
                (*stage).into(),
                (*date).into(),
                a.orgs[m.org].id.clone().into(),
            ]);
        }
    }
    w.write(
        "development",
        "发展党员工作台账",
        &s,
        Format::Csv(CsvEncoding::Gbk, DateStyle::Chinese),
    )
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
    let mut by_year: Vec<Sheet> = (0..5)
        .map(|i| {
            Sheet::new(&[
                "记录编号",
                "党员编号",
                "日期",
                "类别",
                "标题",
                "内容",
                "来源",
                "记录人",
            ])
            .with_title(format!("{}年党员成长记录", first + i))
        })
        .collect();
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
                "志愿服务" => (format!("{topic}志愿服务"), {
                    let t = corpus::tone(g, 0.7, 0.05);
                    format!(
                        "参加{topic}志愿服务{}小时。{}",
                        g.rng.random_range(2..9),
                        corpus::sentence(g, t)
                    )
                }),
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
            by_year[yi].push(vec![
                format!("G{n:08}").into(),
                m.id.clone().into(),
                d.into(),
                cat.into(),
                title.into(),
                content.into(),
                source.into(),
                recorders[m.org].clone().into(),
            ]);
        }
    }
    for (i, s) in by_year.iter().enumerate() {
        w.write(
            "growth_records",
            &format!("{}年成长记录", first + i as i32),
            s,
            Format::Xlsx {
                dates_as_text: None,
            },
        )?;
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
            .members
            .iter()
            .filter(|m| m.org == oi && m.category == "正式党员")
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

const LIKERT: [&str; 5] = ["非常不满意", "不满意", "一般", "满意", "非常满意"];

fn survey(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    let questions = [
        "您对支部组织活动的满意度",
        "您对三会一课质量的评价",
        "您对线上学习平台的使用体验",
        "您对组织生活会的满意度",
        "您对支部联系服务群众的评价",
    ];
    let mut headers: Vec<String> = ["序号", "提交答卷时间", "所用时间", "来源", "来自IP"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    headers.push("1、您的党员编号（可不填）".into());
    headers.push("2、您所在的党支部".into());
    for (i, q) in questions.iter().enumerate() {
        headers.push(format!("{}、{q}", i + 3));
    }
    headers.push(format!(
        "{}、您对支部工作还有哪些意见和建议？",
        questions.len() + 3
    ));
    let mut s = Sheet {
        title: None,
        headers,
        rows: Vec::new(),
    };
    let year = g.as_of.year();
    let open = NaiveDate::from_ymd_opt(year, 9, 1).expect("d");
    let mut n = 0;
    for m in &a.members {
        if !g.rng.random_bool(0.15) {
            continue;
        }
        n += 1;
        // Older members are less happy with the online platform.
        let base = if a.orgs[m.org].lax { 2.6 } else { 3.6 };
        let d = g.date_between(open, open + Duration::days(30));
        let mut row: Vec<Cell> = vec![
            (n as i64).into(),
            at(g, d, 8, 22).into(),
            format!("{}秒", g.rng.random_range(40..600)).into(),
            ["微信", "手机提交", "链接"]
                .choose(&mut g.rng)
                .copied()
                .unwrap_or("微信")
                .into(),
            format!(
                "58.213.{}.{}(江苏-南京)",
                g.rng.random_range(1..255),
                g.rng.random_range(1..255)
            )
            .into(),
            if g.rng.random_bool(0.7) {
                Cell::Str(m.id.clone())
            } else {
                Cell::Empty
            },
            a.orgs[m.org].name.clone().into(),
        ];
        for qi in 0..questions.len() {
            let age_penalty = if qi == 2 && m.age(g.as_of) > 60 {
                1.2
            } else {
                0.0
            };
            let v: f64 = base - age_penalty + g.rng.random_range(-1.5..1.5);
            let k = v.round().clamp(1.0, 5.0) as usize;
            row.push(LIKERT[k - 1].into());
        }
        let t = if base < 3.0 {
            corpus::tone(g, 0.2, 0.5)
        } else {
            corpus::tone(g, 0.5, 0.2)
        };
        row.push(if g.rng.random_bool(0.6) {
            Cell::Str(corpus::sentence(g, t))
        } else {
            Cell::Str("无".into())
        });
        s.push(row);
    }
    w.write(
        "survey_responses",
        &format!("{year}年度党员满意度调查_问卷星导出"),
        &s,
        Format::Xlsx {
            dates_as_text: None,
        },
    )
}

fn feedback(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    let mut s = Sheet::new(&[
        "反馈编号",
        "接收时间",
        "渠道",
        "组织编号",
        "类别",
        "内容",
        "党员编号",
        "办理状态",
        "办结时间",
    ]);
    let count = a.members.len() / 4;
    let channels = ["微信公众号", "网站", "APP", "信箱", "电话", "来访"];
    let start = NaiveDate::from_ymd_opt(g.as_of.year() - 2, 1, 1).expect("d");
    for i in 0..count {
        let m = &a.members[g.rng.random_range(0..a.members.len())];
        let d = g.date_between(start, g.as_of);
        let received = at(g, d, 7, 23);
        let lax = a.orgs[m.org].lax;
        let t = if lax {
            corpus::tone(g, 0.2, 0.5)
        } else {
            corpus::tone(g, 0.35, 0.3)
        };
        let category = match t {
            Tone::Positive => ["表扬", "建议"]
                .choose(&mut g.rng)
                .copied()
                .unwrap_or("表扬"),
            Tone::Negative => ["意见", "意见", "举报", "建议"]
                .choose(&mut g.rng)
                .copied()
                .unwrap_or("意见"),
            Tone::Neutral => ["咨询", "建议"]
                .choose(&mut g.rng)
                .copied()
                .unwrap_or("咨询"),
        };
        let age = (g.as_of - d).num_days();
        let status = if age > 30 || g.rng.random_bool(0.5) {
            "已办结"
        } else if g.rng.random_bool(0.5) {
            "办理中"
        } else {
            "待办理"
        };
        let closed = (status == "已办结")
            .then(|| received + Duration::hours(g.rng.random_range(2..24 * 20)));
        s.push(vec![
            format!("F{:07}", i + 1).into(),
            received.into(),
            channels
                .choose(&mut g.rng)
                .copied()
                .unwrap_or("网站")
                .into(),
            a.orgs[m.org].id.clone().into(),
            category.into(),
            corpus::sentence(g, t).into(),
            if g.rng.random_bool(0.6) {
                Cell::Str(m.id.clone())
            } else {
                Cell::Empty
            },
            status.into(),
            closed.into(),
        ]);
    }
    w.write(
        "feedback",
        "意见反馈台账",
        &s,
        Format::Csv(CsvEncoding::Gbk, DateStyle::Iso),
    )
}

fn engagement(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    let end = g.as_of;
    let start = NaiveDate::from_ymd_opt(end.year() - 1, end.month(), 1).expect("d");
    let headers = [
        "事件编号",
        "党员编号",
        "发生时间",
        "活动类型",
        "时长(分钟)",
        "积分",
        "关联内容",
        "渠道",
    ];
    let mut quarters: Vec<Sheet> = Vec::new();
    let mut n = 0usize;
    let days = (end - start).num_days();
    for m in &a.members {
        if m.status != "正常" {
            continue;
        }
        let age = m.age(end);
        let monthly = match age {
            ..35 => 7.0,
            35..50 => 5.5,
            50..60 => 3.5,
            60..70 => 1.5,
            _ => 0.4,
        };
        // Some people never use the platforms at all.
        let dormant_p = if age >= 70 {
            0.35
        } else if age >= 60 {
            0.15
        } else {
            0.03
        };
        if g.rng.random_bool(dormant_p) {
            continue;
        }
        let lambda = monthly * g.rng.random_range(0.4..1.6) * days as f64 / 30.0;
        let k = lambda.round() as usize;
        for _ in 0..k {
            let d = start + Duration::days(g.rng.random_range(0..=days));
            let t = at(g, d, 6, 23);
            let x: f64 = g.rng.random();
            let (kind, dur, pts, channel) = if x < 0.45 {
                ("login", 0, 1, "APP")
            } else if x < 0.80 {
                (
                    "study",
                    g.rng.random_range(5..90),
                    g.rng.random_range(1..6),
                    "学习强国",
                )
            } else if x < 0.88 {
                ("course", g.rng.random_range(30..120), 5, "网上党校")
            } else if x < 0.93 {
                ("meeting", g.rng.random_range(45..150), 3, "线下")
            } else if x < 0.97 {
                ("comment", 0, 1, "微信公众号")
            } else {
                ("volunteer", g.rng.random_range(60..300), 10, "志愿服务平台")
            };
            n += 1;
            let q = ((d.year() - start.year()) * 12 + d.month() as i32 - start.month() as i32)
                as usize
                / 3;
            while quarters.len() <= q {
                quarters.push(Sheet::new(&headers));
            }
            quarters[q].push(vec![
                format!("E{n:09}").into(),
                m.id.clone().into(),
                t.into(),
                kind.into(),
                (dur as i64).into(),
                (pts as i64).into(),
                if kind == "study" {
                    Cell::Str(format!("A{:06}", g.rng.random_range(1..5000)))
                } else {
                    Cell::Empty
                },
                channel.into(),
            ]);
        }
    }
    for (qi, mut s) in quarters.into_iter().enumerate() {
        s.rows.sort_by(|x, y| match (&x[2], &y[2]) {
            (Cell::DateTime(a), Cell::DateTime(b)) => a.cmp(b),
            _ => std::cmp::Ordering::Equal,
        });
        let first = start + chrono::Months::new(qi as u32 * 3);
        w.write(
            "engagement_events",
            &format!("平台活动_{}", first.format("%Y-%m")),
            &s,
            Format::Csv(CsvEncoding::Gbk, DateStyle::Iso),
        )?;
    }
    Ok(())
}

fn meetings(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    let mut per_year: Vec<(i32, Sheet)> = Vec::new();
    let first_year = g.as_of.year() - 2;
    let mut n = 0usize;
    for (oi, o) in a
        .orgs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == "党支部")
    {
        let size = a.members.iter().filter(|m| m.org == oi).count() as u32;
        let mut month = NaiveDate::from_ymd_opt(first_year, 1, 1).expect("d");
        while month <= g.as_of {
            let q_start = (month.month() - 1).is_multiple_of(3);
            let mut kinds: Vec<&str> = vec!["支委会", "党小组会", "主题党日"];
            if q_start {
                kinds.push("支部党员大会");
                kinds.push("党课");
            }
            if month.month() == 1 {
                kinds.push("组织生活会");
            }
            for kind in kinds {
                if o.lax && g.rng.random_bool(0.35) {
                    continue;
                }
                let day = g.rng.random_range(1..=28);
                let Some(d) = month.with_day(day) else {
                    continue;
                };
                if d > g.as_of {
                    continue;
                }
                let held = at(g, d, 9, 18);
                let topic = corpus::topic(g);
                let attendees = if kind == "支委会" {
                    5
                } else {
                    (size as f64 * g.rng.random_range(0.6..0.95)) as u32
                };
                let online = g.rng.random_bool(if o.retired { 0.05 } else { 0.25 });
                n += 1;
                let year = d.year();
                let idx = match per_year.iter().position(|(y, _)| *y == year) {
                    Some(i) => i,
                    None => {
                        per_year.push((
                            year,
                            Sheet::new(&[
                                "会议编号",
                                "组织编号",
                                "会议类型",
                                "时间",
                                "形式",
                                "主题",
                                "会议记录",
                            ]),
                        ));
                        per_year.len() - 1
                    }
                };
                let minutes = corpus::minutes(g, topic, attendees);
                per_year[idx].1.push(vec![
                    format!("MT{n:07}").into(),
                    o.id.clone().into(),
                    kind.into(),
                    held.into(),
                    (if online { "线上" } else { "线下" }).into(),
                    format!("{topic}专题{kind}").into(),
                    minutes.into(),
                ]);
            }
            month = month + chrono::Months::new(1);
        }
    }
    for (year, s) in per_year {
        w.write(
            "meetings",
            &format!("{year}年三会一课记录"),
            &s,
            Format::Xlsx {
                dates_as_text: None,
            },
        )?;
    }
    Ok(())
}

fn publications(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    let mut s = Sheet::new(&[
        "文章编号",
        "渠道",
        "组织编号",
        "运营者",
        "上级发布时间",
        "发布时间",
        "标题",
        "阅读量",
        "点赞数",
        "评论数",
        "转发数",
    ]);
    let generals: Vec<usize> = a
        .orgs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind != "党支部")
        .map(|(i, _)| i)
        .collect();
    let operators: Vec<(String, f64)> = generals
        .iter()
        .map(|_| (people::plain_name(g), g.rng.random_range(0.3..1.0)))
        .collect();
    let start = NaiveDate::from_ymd_opt(g.as_of.year() - 1, 1, 1).expect("d");
    let mut n = 0;
    for (k, oi) in generals.iter().enumerate() {
        let (op, skill) = &operators[k];
        let mut d = start;
        while d <= g.as_of {
            d += Duration::days(g.rng.random_range(1..5));
            if d > g.as_of {
                break;
            }
            let directive = g.rng.random_bool(0.4).then(|| at(g, d, 8, 12));
            let published = match directive {
                Some(t) => {
                    t + Duration::minutes(
                        ((1.0 - skill) * 60.0 * 24.0 * g.rng.random_range(0.05..1.5)) as i64 + 20,
                    )
                }
                None => at(g, d, 8, 21),
            };
            let topic = corpus::topic(g);
            let title = [
                format!("【{topic}】我区扎实推进{topic}工作"),
                format!("{topic}｜听听党员们怎么说"),
                format!("学习贯彻全会精神 推动{topic}走深走实"),
                format!("图说{topic}：一组照片带你回顾"),
            ]
            .choose(&mut g.rng)
            .cloned()
            .unwrap_or_default();
            let reads = (g.rng.random_range(100.0..3000.0) * skill) as i64;
            n += 1;
            s.push(vec![
                format!("P{n:06}").into(),
                ["公众号", "公众号", "网站", "APP", "微博"]
                    .choose(&mut g.rng)
                    .copied()
                    .unwrap_or("公众号")
                    .into(),
                a.orgs[*oi].id.clone().into(),
                op.clone().into(),
                directive.into(),
                published.into(),
                title.into(),
                reads.into(),
                (reads / g.rng.random_range(15..60)).into(),
                (reads / g.rng.random_range(80..400)).into(),
                (reads / g.rng.random_range(30..120)).into(),
            ]);
        }
    }
    w.write(
        "publications",
        "平台发布统计",
        &s,
        Format::Xlsx {
            dates_as_text: None,
        },
    )
}
