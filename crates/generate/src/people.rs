//! People: weighted surnames, given names, ethnic groups, region codes, ID numbers, phones.
//!
//! Surname weights approximate the published frequencies of the 2020 census name report
//! (per 10,000 people); region codes are real county-level codes of GB/T 2260 (a public
//! standard). Both are facts, written out here; see `DATA-SOURCES.md`.

use chrono::NaiveDate;
use rand::Rng;
use rand::seq::IndexedRandom;

use dangan_datasets::idcard;

use super::Gen;

/// (surname, weight per 10,000).
const SURNAMES: &[(&str, u32)] = &[
    ("王", 710),
    ("李", 700),
    ("张", 670),
    ("刘", 540),
    ("陈", 450),
    ("杨", 310),
    ("黄", 220),
    ("赵", 200),
    ("吴", 190),
    ("周", 190),
    ("徐", 150),
    ("孙", 150),
    ("马", 130),
    ("朱", 130),
    ("胡", 120),
    ("郭", 120),
    ("何", 110),
    ("林", 100),
    ("高", 100),
    ("罗", 90),
    ("郑", 90),
    ("梁", 80),
    ("谢", 80),
    ("宋", 70),
    ("唐", 70),
    ("许", 70),
    ("韩", 70),
    ("冯", 60),
    ("邓", 60),
    ("曹", 60),
    ("彭", 60),
    ("曾", 60),
    ("肖", 60),
    ("田", 50),
    ("董", 50),
    ("袁", 50),
    ("潘", 50),
    ("于", 50),
    ("蒋", 50),
    ("蔡", 50),
    ("余", 50),
    ("杜", 50),
    ("叶", 40),
    ("程", 40),
    ("苏", 40),
    ("魏", 40),
    ("吕", 40),
    ("丁", 40),
    ("任", 40),
    ("沈", 40),
    ("姚", 40),
    ("卢", 40),
    ("姜", 30),
    ("崔", 30),
    ("钟", 30),
    ("谭", 30),
    ("陆", 30),
    ("汪", 30),
    ("范", 30),
    ("金", 30),
    ("石", 30),
    ("廖", 30),
    ("贾", 30),
    ("夏", 30),
    ("韦", 30),
    ("付", 30),
    ("方", 30),
    ("白", 30),
    ("邹", 30),
    ("孟", 30),
    ("熊", 30),
    ("秦", 30),
    ("邱", 30),
    ("江", 30),
    ("尹", 30),
    ("薛", 20),
    ("闫", 20),
    ("段", 20),
    ("雷", 20),
    ("侯", 20),
    ("龙", 20),
    ("史", 20),
    ("陶", 20),
    ("黎", 20),
    ("贺", 20),
    ("顾", 20),
    ("毛", 20),
    ("郝", 20),
    ("龚", 20),
    ("邵", 20),
    ("万", 20),
    ("钱", 20),
    ("严", 20),
    ("覃", 20),
    ("武", 20),
    ("戴", 20),
    ("莫", 20),
    ("孔", 20),
    ("向", 20),
    ("汤", 20),
    ("单", 5),
    ("解", 5),
    ("仇", 3),
    ("查", 3),
    ("欧阳", 5),
    ("诸葛", 1),
    ("司马", 1),
    ("上官", 1),
];

const MALE: &[&str] = &[
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "斌", "鹏", "辉", "刚", "平",
    "建国", "华", "志", "文", "东", "海", "波", "宇", "浩", "俊", "峰", "林", "亮", "成", "龙",
    "飞", "鑫", "振", "晨", "旭", "博", "凯", "卫东", "建华", "国庆", "德", "春生", "永", "忠",
];
const FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "英", "玲", "燕", "萍", "红", "梅", "琳",
    "雪", "倩", "婷", "洁", "晶", "慧", "颖", "莉", "琴", "云", "佳", "欣", "悦", "雯", "怡", "彤",
    "璐", "瑶", "秀英", "桂兰", "玉兰", "淑珍", "丽华",
];
const MIDDLE: &[&str] = &[
    "子", "思", "雨", "晓", "春", "建", "永", "金", "国", "家", "少", "玉", "海", "小", "文", "志",
    "新", "明", "立", "向",
];

/// (ethnic group, weight per 1000).
const ETHNICITIES: &[(&str, u32)] = &[
    ("汉族", 920),
    ("回族", 14),
    ("满族", 12),
    ("壮族", 14),
    ("蒙古族", 6),
    ("土家族", 8),
    ("苗族", 8),
    ("维吾尔族", 6),
    ("朝鲜族", 4),
    ("彝族", 6),
    ("藏族", 2),
];

/// Real GB/T 2260 county-level codes (Jiangsu-heavy, as a Nanjing archive would be).
const REGIONS: &[&str] = &[
    "320102", "320104", "320105", "320106", "320111", "320113", "320114", "320115", "320116",
    "320117", "320118", "320205", "320206", "320211", "320213", "320214", "320302", "320505",
    "320506", "320507", "320508", "320602", "320703", "320812", "320902", "321002", "321102",
    "321202", "321302", "110101", "110102", "110105", "110108", "310101", "310104", "310115",
    "330102", "330106", "330108", "340102", "340104", "370102", "370103", "410102", "420102",
    "420106", "430102", "440106", "440305", "510104", "510107", "610113",
];

fn weighted<'a>(rng: &mut impl Rng, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (s, w) in items {
        if x < *w {
            return s;
        }
        x -= w;
    }
    items[0].0
}

/// A generated person.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub male: bool,
    pub birth: NaiveDate,
    pub ethnicity: &'static str,
    pub id_number: String,
    pub phone: String,
}

pub fn person(g: &mut Gen, birth: NaiveDate) -> Person {
    let rng = &mut g.rng;
    let male = rng.random_bool(0.58);
    let surname = weighted(rng, SURNAMES);
    let pool = if male { MALE } else { FEMALE };
    let given = if rng.random_bool(0.7) {
        let first = MIDDLE.choose(rng).copied().unwrap_or("小");
        let second = pool.choose(rng).copied().unwrap_or("明");
        // Two-character names that are already two characters stay as they are.
        if second.chars().count() == 2 {
            second.to_string()
        } else {
            format!("{first}{second}")
        }
    } else {
        pool.choose(rng).copied().unwrap_or("明").to_string()
    };
    let region = REGIONS.choose(rng).copied().unwrap_or("320106");
    let seq = rng.random_range(0..500u32) * 2 + u32::from(male);
    let ethnicity = ETHNICITIES
        .iter()
        .map(|(e, _)| *e)
        .find(|e| *e == weighted(rng, ETHNICITIES))
        .unwrap_or("汉族");
    let prefixes = [
        "138", "139", "137", "135", "136", "150", "151", "152", "158", "159", "182", "187", "188",
        "130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "189", "177", "199",
    ];
    let phone = format!(
        "{}{:08}",
        prefixes.choose(rng).copied().unwrap_or("138"),
        rng.random_range(0..100_000_000u32)
    );
    Person {
        name: format!("{surname}{given}"),
        male,
        birth,
        ethnicity,
        id_number: idcard::make(region, birth, seq),
        phone,
    }
}

/// A name for someone who is not in the roster (recorders, operators).
pub fn plain_name(g: &mut Gen) -> String {
    let rng = &mut g.rng;
    let surname = weighted(rng, SURNAMES);
    let pool = if rng.random_bool(0.5) { MALE } else { FEMALE };
    format!("{surname}{}", pool.choose(rng).copied().unwrap_or("明"))
}
