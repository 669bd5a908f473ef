//! What members do on the platforms and in meetings: a wide survey export, feedback,
//! engagement events (older members markedly less active), 三会一课 and publications.

use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng;
use rand::seq::IndexedRandom;

use super::activity::at;
use super::corpus::{self, Tone};
use super::{Archive, Cell, CsvEncoding, DateStyle, Format, Gen, Sheet, Sink, Writer, people};
use crate::error::Result;

const LIKERT: [&str; 5] = ["非常不满意", "不满意", "一般", "满意", "非常满意"];

pub(super) fn survey(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
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
    let year = g.as_of.year();
    let mut s = w.open_owned(
        "survey_responses",
        &format!("{year}年度党员满意度调查_问卷星导出"),
        headers,
        None,
        Format::Xlsx {
            dates_as_text: None,
        },
    )?;
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
        s.push(&row)?;
    }
    w.close(s)
}

pub(super) fn feedback(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    let mut s = w.open(
        "feedback",
        "意见反馈台账",
        &[
            "反馈编号",
            "接收时间",
            "渠道",
            "组织编号",
            "类别",
            "内容",
            "党员编号",
            "办理状态",
            "办结时间",
        ],
        None,
        Format::Csv(CsvEncoding::Gbk, DateStyle::Iso),
    )?;
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
        s.push(&[
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
        ])?;
    }
    w.close(s)
}

/// Activity types and the channel each is recorded on.
const EVENT_KINDS: [(&str, &str); 6] = [
    ("login", "APP"),
    ("study", "学习强国"),
    ("course", "网上党校"),
    ("meeting", "线下"),
    ("comment", "微信公众号"),
    ("volunteer", "志愿服务平台"),
];

/// One engagement event before it is written.
struct Event {
    n: u32,
    member: u32,
    at: chrono::NaiveDateTime,
    kind: u8,
    minutes: u16,
    points: u8,
    article: u16,
}

pub(super) fn engagement(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
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
    // Events are kept compact (an archive of a million members has ~20 million) and written
    // out per quarter in time order, as the platform exports them.
    let mut quarters: Vec<Vec<Event>> = Vec::new();
    let mut n = 0u32;
    let days = (end - start).num_days();
    for (mi, m) in a.members.iter().enumerate() {
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
            let (kind, dur, pts) = if x < 0.45 {
                (0, 0, 1)
            } else if x < 0.80 {
                (1, g.rng.random_range(5..90), g.rng.random_range(1..6))
            } else if x < 0.88 {
                (2, g.rng.random_range(30..120), 5)
            } else if x < 0.93 {
                (3, g.rng.random_range(45..150), 3)
            } else if x < 0.97 {
                (4, 0, 1)
            } else {
                (5, g.rng.random_range(60..300), 10)
            };
            n += 1;
            let q = ((d.year() - start.year()) * 12 + d.month() as i32 - start.month() as i32)
                as usize
                / 3;
            while quarters.len() <= q {
                quarters.push(Vec::new());
            }
            let article = if kind == 1 {
                g.rng.random_range(1..5000)
            } else {
                0
            };
            quarters[q].push(Event {
                n,
                member: mi as u32,
                at: t,
                kind,
                minutes: dur as u16,
                points: pts as u8,
                article,
            });
        }
    }
    for (qi, mut events) in quarters.into_iter().enumerate() {
        // Stable: events at the same second keep the order they were made in.
        events.sort_by_key(|e| e.at);
        let first = start + chrono::Months::new(qi as u32 * 3);
        let mut s = w.open(
            "engagement_events",
            &format!("平台活动_{}", first.format("%Y-%m")),
            &headers,
            None,
            Format::Csv(CsvEncoding::Gbk, DateStyle::Iso),
        )?;
        for e in events {
            let (kind, channel) = EVENT_KINDS[e.kind as usize];
            s.push(&[
                format!("E{:09}", e.n).into(),
                a.members[e.member as usize].id.clone().into(),
                e.at.into(),
                kind.into(),
                (e.minutes as i64).into(),
                (e.points as i64).into(),
                if e.article > 0 {
                    Cell::Str(format!("A{:06}", e.article))
                } else {
                    Cell::Empty
                },
                channel.into(),
            ])?;
        }
        w.close(s)?;
    }
    Ok(())
}

pub(super) fn meetings(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    let mut per_year: Vec<(i32, Sink)> = Vec::new();
    let first_year = g.as_of.year() - 2;
    let mut n = 0usize;
    for (oi, o) in a
        .orgs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == "党支部")
    {
        let size = a.members_of(oi).len() as u32;
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
                        let sink = w.open(
                            "meetings",
                            &format!("{year}年三会一课记录"),
                            &[
                                "会议编号",
                                "组织编号",
                                "会议类型",
                                "时间",
                                "形式",
                                "主题",
                                "会议记录",
                            ],
                            None,
                            Format::Xlsx {
                                dates_as_text: None,
                            },
                        )?;
                        per_year.push((year, sink));
                        per_year.len() - 1
                    }
                };
                let minutes = corpus::minutes(g, topic, attendees);
                per_year[idx].1.push(&[
                    format!("MT{n:07}").into(),
                    o.id.clone().into(),
                    kind.into(),
                    held.into(),
                    (if online { "线上" } else { "线下" }).into(),
                    format!("{topic}专题{kind}").into(),
                    minutes.into(),
                ])?;
            }
            month = month + chrono::Months::new(1);
        }
    }
    // Written in the order of the years, whatever order they were first met in.
    per_year.sort_by_key(|(y, _)| *y);
    for (_, s) in per_year {
        w.close(s)?;
    }
    Ok(())
}

pub(super) fn publications(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
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
