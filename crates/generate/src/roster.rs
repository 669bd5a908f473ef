//! The organization tree (党委 → 党总支 → 党支部, 50–300 members a branch) and its members,
//! and the rosters each branch sends in its own habits (aliases, date styles, formats).

use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng;
use rand::seq::IndexedRandom;

use super::{Archive, CsvEncoding, DateStyle, Format, Gen, Member, Org, Sheet, Writer, people};
use crate::error::Result;

const DEPARTMENTS: &[(&str, &[&str])] = &[
    (
        "区教育局",
        &[
            "第一中学",
            "第二中学",
            "实验小学",
            "育才小学",
            "职业学校",
            "中心幼儿园",
            "教师发展中心",
        ],
    ),
    (
        "区卫生健康委员会",
        &[
            "人民医院",
            "中医院",
            "妇幼保健院",
            "疾病预防控制中心",
            "社区卫生服务中心",
        ],
    ),
    (
        "东山街道",
        &[
            "幸福社区",
            "和平社区",
            "东山社区",
            "竹山社区",
            "上坊社区",
            "街道机关",
        ],
    ),
    (
        "秣陵街道",
        &[
            "百家湖社区",
            "殷巷社区",
            "秣陵社区",
            "将军山社区",
            "街道机关",
        ],
    ),
    ("区财政局", &["预算科", "国库科", "财政监督局", "机关"]),
    (
        "区市场监督管理局",
        &["执法大队", "食品安全科", "东山分局", "机关"],
    ),
    (
        "区住房和城乡建设局",
        &["建设工程质量站", "物业管理办公室", "机关"],
    ),
    ("区交通运输局", &["公路管理站", "运输管理所", "机关"]),
    ("区民政局", &["社会福利院", "救助管理站", "机关"]),
    ("区科技局", &["高新区管委会", "科技服务中心", "机关"]),
];

pub(super) fn build(g: &mut Gen, n_members: usize) -> Archive {
    let mut orgs = vec![Org {
        id: "D01".into(),
        name: "中共江宁区直属机关工作委员会".into(),
        parent: None,
        kind: "党委",
        department: "区委组织部".into(),
        established: NaiveDate::from_ymd_opt(1984, 7, 1).expect("date"),
        retired: false,
        lax: false,
        unit: "区直机关".into(),
    }];
    // Branch sizes: 50–300 members, most around 100–150.
    let mut sizes = Vec::new();
    let mut left = n_members;
    while left > 0 {
        let s: usize = (g.rng.random_range(50..=180) + g.rng.random_range(0..=120)) / 2 + 40;
        let s = s.clamp(50, 300).min(left);
        sizes.push(s);
        left -= s;
    }
    let per_general = sizes
        .len()
        .div_ceil(DEPARTMENTS.len().min(sizes.len()).max(1));
    let mut branch_slots = Vec::new();
    for (bi, _) in sizes.iter().enumerate() {
        let di = (bi / per_general.max(1)).min(DEPARTMENTS.len() - 1);
        branch_slots.push(di);
    }
    let mut general_of_dept = vec![None; DEPARTMENTS.len()];
    let mut members = Vec::with_capacity(n_members);
    let mut next_member = 1usize;
    let mut by_org: Vec<std::ops::Range<usize>> = Vec::new();
    for (bi, size) in sizes.iter().enumerate() {
        let di = branch_slots[bi];
        let (dept, units) = DEPARTMENTS[di];
        let general = *general_of_dept[di].get_or_insert_with(|| {
            let id = format!("D01{:02}", di + 1);
            orgs.push(Org {
                id,
                name: format!("中共{dept}总支部委员会"),
                parent: Some(0),
                kind: "党总支",
                department: dept.to_string(),
                established: NaiveDate::from_ymd_opt(1990 + di as i32, 3, 1).expect("date"),
                retired: false,
                lax: false,
                unit: dept.to_string(),
            });
            orgs.len() - 1
        });
        let k = orgs.iter().filter(|o| o.parent == Some(general)).count();
        let retired = k == 0 && *size >= 50 && bi % 3 == 0;
        let unit = if retired {
            dept.to_string()
        } else {
            units[k % units.len()].to_string()
        };
        let name = if retired {
            format!("中共{dept}离退休干部党支部")
        } else if k >= units.len() {
            format!("中共{dept}{unit}第{}党支部", k / units.len() + 1)
        } else {
            format!("中共{dept}{unit}党支部")
        };
        let established = g.date_between(
            NaiveDate::from_ymd_opt(1995, 1, 1).expect("date"),
            NaiveDate::from_ymd_opt(2020, 12, 31).expect("date"),
        );
        let lax = g.rng.random_bool(0.15);
        orgs.push(Org {
            id: format!("{}{:02}", orgs[general].id, k + 1),
            name,
            parent: Some(general),
            kind: "党支部",
            department: dept.to_string(),
            established,
            retired,
            lax,
            unit,
        });
        let org = orgs.len() - 1;
        if by_org.len() < orgs.len() {
            by_org.resize(orgs.len(), 0..0);
        }
        by_org[org] = members.len()..members.len() + size;
        for _ in 0..*size {
            let m = member(g, next_member, org, &orgs[org]);
            members.push(m);
            next_member += 1;
        }
    }
    by_org.resize(orgs.len(), 0..0);
    Archive {
        orgs,
        members,
        by_org,
    }
}

fn member(g: &mut Gen, n: usize, org: usize, o: &Org) -> Member {
    let as_of = g.as_of;
    let y = as_of.year();
    let birth = if o.retired {
        g.date_between(
            NaiveDate::from_ymd_opt(1938, 1, 1).expect("d"),
            NaiveDate::from_ymd_opt(1966, 12, 31).expect("d"),
        )
    } else {
        g.date_between(
            NaiveDate::from_ymd_opt(y - 60, 1, 1).expect("d"),
            NaiveDate::from_ymd_opt(y - 22, 12, 31).expect("d"),
        )
    };
    let person = people::person(g, birth);
    let x: f64 = g.rng.random();
    let category = if o.retired || x < 0.84 {
        "正式党员"
    } else if x < 0.88 {
        "预备党员"
    } else if x < 0.91 {
        "发展对象"
    } else if x < 0.955 {
        "入党积极分子"
    } else {
        "入党申请人"
    };
    let age_at = |d: NaiveDate| d.years_since(birth).unwrap_or(0);
    let adult = birth.with_year(birth.year() + 18).unwrap_or(birth);
    // Development timeline, backwards from the current category.
    let mut stages: Vec<(&'static str, NaiveDate)> = Vec::new();
    let (join, full) = match category {
        "正式党员" => {
            let latest = as_of - Duration::days(400);
            let earliest = adult.max(NaiveDate::from_ymd_opt(1958, 1, 1).expect("d"));
            let join = g.date_between(earliest, latest.max(earliest));
            let extended = g.rng.random_bool(0.03);
            let full = join
                + Duration::days(if extended {
                    365 + g.rng.random_range(183..=365)
                } else {
                    365
                });
            (Some(join), Some(full))
        }
        "预备党员" => {
            // Most joined within the last year; a few are overdue for full membership.
            let overdue = g.rng.random_bool(0.08);
            let join = if overdue {
                as_of - Duration::days(g.rng.random_range(420..700))
            } else {
                as_of - Duration::days(g.rng.random_range(20..360))
            };
            (Some(join), None)
        }
        _ => (None, None),
    };
    // Detailed development records exist for those who joined after 2012 and for candidates.
    let detailed = join.is_none_or(|j| j.year() >= 2012);
    if detailed {
        let anchor = join.unwrap_or_else(|| as_of - Duration::days(g.rng.random_range(30..300)));
        let short_activist = g.rng.random_bool(0.02);
        let mut t = anchor;
        let chain: &[&'static str] = match category {
            "正式党员" | "预备党员" => {
                &["预备党员", "发展对象", "入党积极分子", "入党申请人"]
            }
            "发展对象" => &["发展对象", "入党积极分子", "入党申请人"],
            "入党积极分子" => &["入党积极分子", "入党申请人"],
            _ => &["入党申请人"],
        };
        let mut back: Vec<(&'static str, NaiveDate)> = Vec::new();
        for (i, s) in chain.iter().enumerate() {
            if i > 0 {
                let prev = chain[i - 1];
                let gap = match prev {
                    "预备党员" => g.rng.random_range(90..240),
                    "发展对象" if short_activist => g.rng.random_range(120..300),
                    "发展对象" => g.rng.random_range(380..700),
                    _ => g.rng.random_range(60..300),
                };
                t -= Duration::days(gap);
            }
            back.push((s, t));
        }
        back.reverse();
        stages = back;
        if let Some(f) = full {
            stages.push(("正式党员", f));
        }
        // A handful of records were entered with two stages swapped.
        if stages.len() >= 3 && g.rng.random_bool(0.01) {
            let d1 = stages[1].1;
            stages[1].1 = stages[2].1;
            stages[2].1 = d1;
        }
        let _ = age_at;
    }
    let age = as_of.years_since(birth).unwrap_or(30);
    let education = {
        let x: f64 = g.rng.random();
        let (p_phd, p_ms, p_ba, p_col, p_mid) = if age > 65 {
            (0.0, 0.02, 0.18, 0.25, 0.2)
        } else if age > 45 {
            (0.01, 0.1, 0.45, 0.25, 0.1)
        } else {
            (0.03, 0.25, 0.55, 0.12, 0.03)
        };
        if x < p_phd {
            "博士研究生"
        } else if x < p_phd + p_ms {
            "硕士研究生"
        } else if x < p_phd + p_ms + p_ba {
            "大学本科"
        } else if x < p_phd + p_ms + p_ba + p_col {
            "大学专科"
        } else if x < p_phd + p_ms + p_ba + p_col + p_mid {
            "中专"
        } else if x < 0.97 {
            "高中"
        } else {
            "初中及以下"
        }
    };
    let status = {
        let x: f64 = g.rng.random();
        if o.retired && x < 0.03 {
            "去世"
        } else if x < 0.92 {
            "正常"
        } else if x < 0.95 {
            "流动"
        } else if x < 0.955 {
            "失联"
        } else if x < 0.985 {
            "转出"
        } else if x < 0.99 {
            "出党"
        } else {
            "正常"
        }
    };
    let position = if o.retired {
        "退休".to_string()
    } else {
        [
            "科员",
            "教师",
            "医生",
            "护士",
            "工程师",
            "社区工作者",
            "副科长",
            "科长",
            "主任",
            "职员",
            "会计",
        ]
        .choose(&mut g.rng)
        .copied()
        .unwrap_or("职员")
        .to_string()
    };
    Member {
        id: format!("M{n:07}"),
        person,
        org,
        category,
        join,
        full,
        education,
        status,
        position,
        stages,
    }
}

pub(super) fn write_orgs(w: &mut Writer, a: &Archive) -> Result<()> {
    let mut s = Sheet::new(&[
        "组织编号",
        "组织名称",
        "上级组织编号",
        "组织类别",
        "所属部门",
        "成立时间",
    ])
    .with_title("江宁区直属机关党组织架构表");
    for o in &a.orgs {
        s.push(vec![
            o.id.clone().into(),
            o.name.clone().into(),
            o.parent.map(|p| a.orgs[p].id.clone()).into(),
            o.kind.into(),
            o.department.clone().into(),
            o.established.into(),
        ]);
    }
    w.write(
        "organizations",
        "党组织架构",
        &s,
        Format::Xlsx {
            dates_as_text: None,
        },
    )
}

pub(super) fn write_members(g: &mut Gen, w: &mut Writer, a: &Archive) -> Result<()> {
    // Each branch sends its own roster; their habits differ.
    for (oi, o) in a
        .orgs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == "党支部")
    {
        let style = g.rng.random_range(0..6u32);
        let id_header = if style % 2 == 0 {
            "党员编号"
        } else {
            "人员编号"
        };
        let id_col = if style == 3 {
            "公民身份号码"
        } else {
            "身份证号"
        };
        let phone_col = if style == 1 {
            "手机号码"
        } else {
            "联系电话"
        };
        let mut s = Sheet::new(&[
            id_header,
            "姓名",
            "性别",
            "民族",
            "出生日期",
            id_col,
            phone_col,
            "学历",
            "所在党支部",
            "人员类别",
            "入党时间",
            "转正时间",
            "工作单位",
            "职务",
            "党籍状态",
        ]);
        // Branches that type their own name instead of the org code.
        let by_name = style == 5;
        for m in a.members_of(oi) {
            let p = &m.person;
            let mut name = p.name.clone();
            if g.rng.random_bool(0.02) {
                name = format!(" {name}\u{3000}");
            }
            let mut id = p.id_number.clone();
            if g.rng.random_bool(0.01) {
                // Typed with a full-width keyboard, or with a lower-case x.
                id = id
                    .chars()
                    .map(|c| {
                        if c.is_ascii_digit() {
                            char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)
                        } else {
                            c
                        }
                    })
                    .collect();
            } else if id.ends_with('X') && g.rng.random_bool(0.5) {
                id = id.replace('X', "x");
            }
            if g.rng.random_bool(0.002) {
                // A typo in the number: the check digit no longer matches.
                let mut chars: Vec<char> = id.chars().collect();
                chars[10] = if chars[10] == '1' { '2' } else { '1' };
                id = chars.into_iter().collect();
            }
            s.push(vec![
                m.id.clone().into(),
                name.into(),
                (if p.male { "男" } else { "女" }).into(),
                p.ethnicity.into(),
                p.birth.into(),
                id.into(),
                p.phone.clone().into(),
                m.education.into(),
                (if by_name {
                    o.name.clone()
                } else {
                    o.id.clone()
                })
                .into(),
                m.category.into(),
                m.join.into(),
                m.full.into(),
                o.unit.clone().into(),
                m.position.clone().into(),
                m.status.into(),
            ]);
        }
        let stem = format!("{}_{}党员花名册", o.id, o.unit);
        let format = match style {
            0 | 3 => Format::Xlsx {
                dates_as_text: None,
            },
            1 => Format::Xlsx {
                dates_as_text: Some(DateStyle::Chinese),
            },
            2 => Format::Csv(CsvEncoding::Gbk, DateStyle::Slash),
            4 => Format::Csv(CsvEncoding::Utf8Bom, DateStyle::Dot),
            _ => Format::Xlsx {
                dates_as_text: None,
            },
        };
        if style != 2 && style != 4 && g.rng.random_bool(0.6) {
            s.title = Some(format!("{}党员花名册", o.name));
        }
        w.write("members", &stem, &s, format)?;
    }
    Ok(())
}
