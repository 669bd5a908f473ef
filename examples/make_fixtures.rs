//! Writes the small files under `tests/fixtures/` that the end-to-end tests import: the
//! awkward shapes real exports have (title rows, aliases, full-width digits, GBK, a 问卷星
//! wide export, bad values). Run `cargo run --example make_fixtures` to write them again.

use std::path::Path;

use chrono::NaiveDate;
use dangan_datasets::sheet::{Cell, CsvEncoding, DateStyle, Sheet, write_csv, write_xlsx};

fn d(y: i32, m: u32, day: u32) -> Cell {
    Cell::Date(NaiveDate::from_ymd_opt(y, m, day).expect("valid date"))
}

fn s(v: &str) -> Cell {
    Cell::Str(v.to_string())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::create_dir_all(&dir)?;

    let mut orgs = Sheet::new(&[
        "党组织编码",
        "组织名称",
        "上级组织编号",
        "组织类别",
        "所属部门",
        "成立日期",
    ]);
    orgs.push(vec![
        s("T01"),
        s("中共测试区委员会"),
        Cell::Empty,
        s("党委"),
        s("区委组织部"),
        s("1984/7/1"),
    ]);
    orgs.push(vec![
        s("T0101"),
        s("中共测试街道第一党支部"),
        s("T01"),
        s("支部"),
        s("测试街道"),
        s("2001年3月"),
    ]);
    orgs.push(vec![
        s("T0102"),
        s("中共测试街道第二党支部"),
        s("T01"),
        s("党支部"),
        s("测试街道"),
        s("20050601"),
    ]);
    write_csv(
        &dir.join("orgs_bom.csv"),
        &orgs,
        CsvEncoding::Utf8Bom,
        DateStyle::Iso,
    )?;

    // A roster with a merged title row, alias headers, a branch given by name, full-width
    // digits, stray spaces, and five rows that must be quarantined for five reasons.
    let mut roster = Sheet::new(&[
        "人员编号",
        "姓　名",
        "性别",
        "出生日期",
        "公民身份号码",
        "手机号码",
        "所在党支部",
        "人员类别",
        "入党时间",
        "备注",
    ])
    .with_title("测试街道第一党支部党员花名册");
    roster.push(vec![
        s("T000001"),
        s(" 张伟 "),
        s("男"),
        d(1985, 7, 1),
        s("320106198507011230"),
        s("138 1234 5678"),
        s("T0101"),
        s("正式党员"),
        d(2010, 7, 1),
        s(""),
    ]);
    roster.push(vec![
        s("T000002"),
        s("李秀英"),
        s("女"),
        d(1990, 3, 15),
        s("３２０１０６１９９００３１５１２４２"),
        s("13912345678"),
        s("中共测试街道第一党支部"),
        s("预备党员"),
        s("2025年12月1日"),
        s("调入"),
    ]);
    roster.push(vec![
        s("T000003"),
        s("王芳"),
        s("女"),
        Cell::Empty,
        s("32010619920211118x"),
        s("15012345678"),
        s("测试街道第二党支部"),
        s("积极分子"),
        Cell::Empty,
        s(""),
    ]);
    roster.push(vec![
        s("T000004"),
        s("刘洋"),
        s("男"),
        d(1988, 1, 1),
        s("320106198801011232"),
        s("13812345678"),
        s("T0101"),
        s("正式党员"),
        d(2012, 1, 1),
        s("校验位错"),
    ]);
    roster.push(vec![
        s("T000005"),
        s("陈静"),
        s("男士"),
        d(1991, 5, 5),
        s("320106199105051226"),
        s("13812345670"),
        s("T0101"),
        s("正式党员"),
        d(2015, 5, 5),
        s("性别写法不对"),
    ]);
    roster.push(vec![
        s("T000006"),
        s("杨磊"),
        s("男"),
        d(1979, 9, 9),
        s("320106197909091216"),
        s("13812345671"),
        s("不存在的支部"),
        s("正式党员"),
        d(2001, 9, 9),
        s("支部不存在"),
    ]);
    roster.push(vec![
        s("T000007"),
        s("赵敏"),
        s("女"),
        d(1993, 2, 2),
        s("320106199302021245"),
        s("13812345672"),
        s("T0102"),
        s("正式党员"),
        s("去年"),
        s("日期写错"),
    ]);
    roster.push(vec![
        s("T000008"),
        s("周强"),
        s("男"),
        d(1980, 1, 2),
        s("320106198001011217"),
        s("13812345673"),
        s("T0102"),
        s("正式党员"),
        d(2005, 6, 1),
        s("生日与身份证不符"),
    ]);
    write_xlsx(&dir.join("roster_title.xlsx"), "花名册", &roster, None)?;

    // The same kind of roster from a branch that saves GBK CSV with its own date habits.
    let mut gbk = Sheet::new(&[
        "党员编号",
        "姓名",
        "性别",
        "民族",
        "出生年月",
        "身份证号",
        "联系电话",
        "所在党支部",
        "人员类别",
        "入党日期",
        "转正日期",
        "党籍状态",
    ]);
    gbk.push(vec![
        s("T000101"),
        s("孙建国"),
        s("男"),
        s("汉族"),
        s("1962年3月"),
        s("320106196203011216"),
        s("025-84561234"),
        s("T0102"),
        s("正式党员"),
        s("1985/7/1"),
        s("1986.07.01"),
        s("正常"),
    ]);
    gbk.push(vec![
        s("T000102"),
        s("曾丽华"),
        s("女"),
        s("回族"),
        s("1970/5/20"),
        s("320106197005201224"),
        s("+86 139 0000 1111"),
        s("T0102"),
        s("正式党员"),
        s("199507"),
        s("1996年7月"),
        s("流动党员"),
    ]);
    gbk.push(vec![
        s("T000103"),
        s("单志"),
        s("男"),
        s("汉族"),
        Cell::Empty,
        s("320106197512121237"),
        s("13700001111"),
        s("T0102"),
        s("正式党员"),
        s("2000-01-01"),
        s("2001-01-01"),
        s("已转出"),
    ]);
    write_csv(
        &dir.join("roster_gbk.csv"),
        &gbk,
        CsvEncoding::Gbk,
        DateStyle::Iso,
    )?;

    // A 问卷星 export: one row per response, questions as headers.
    let mut wide = Sheet::new(&[
        "序号",
        "提交答卷时间",
        "所用时间",
        "来源",
        "1、您的党员编号",
        "2、您所在的党支部",
        "3、您对支部活动的满意度",
        "4、您对学习平台的评价",
        "5、您的意见和建议",
    ]);
    wide.push(vec![
        Cell::Int(1),
        s("2024/9/1 10:05:00"),
        s("120秒"),
        s("微信"),
        s("T000001"),
        s("中共测试街道第一党支部"),
        s("非常满意"),
        s("满意"),
        s("希望多组织线下学习"),
    ]);
    wide.push(vec![
        Cell::Int(2),
        s("2024/9/2 11:00:00"),
        s("95秒"),
        s("手机提交"),
        Cell::Empty,
        s("中共测试街道第二党支部"),
        s("一般"),
        s("非常不满意"),
        s("平台经常卡顿，老同志不会用"),
    ]);
    wide.push(vec![
        Cell::Int(3),
        s("2024/9/3 09:30:00"),
        s("60秒"),
        s("链接"),
        s("T000002"),
        s("中共测试街道第一党支部"),
        s("满意"),
        s("4"),
        Cell::Empty,
    ]);
    write_xlsx(&dir.join("survey_wide.xlsx"), "Sheet1", &wide, None)?;
    println!("fixtures written to {}", dir.display());
    Ok(())
}
