//! Value normalizers and checks: one raw cell + its column spec → a typed value, or the reason
//! it cannot be one (which sends the row to quarantine).

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use dangan_datasets::{Check, ColumnSpec, ColumnType, idcard};
use dangan_text::{fold_width, trim_all};

use std::borrow::Cow;

use crate::reader::CellRef;

/// A typed value ready for an Arrow builder; text borrows from the cell or the spec where it
/// can, so that a value costs no allocation on the hot path.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Date(NaiveDate),
    /// A date known to the month only (`1985.10`, `1985年10月`, `198510`), as the month's first
    /// day; `true` when the cell was a number like `1985.1`, which Excel shows for both
    /// `1985.1` (January) and `1985.10` (October) — October is then the other reading.
    Month(NaiveDate, bool),
    Timestamp(NaiveDateTime),
    Bool(bool),
}

/// Why a value was rejected: a stable code plus a message in Chinese and English.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub reason: &'static str,
    pub message: String,
}

impl Problem {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Problem {
            reason,
            message: message.into(),
        }
    }
}

pub use crate::reader::serial_to_datetime;

/// How precisely a date was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Day,
    Month,
}

/// Parse the date forms Chinese exports use: `2021-07-01`, `2021/7/1`, `2021.07.01`,
/// `2021年7月1日`, `2021年7月`, `202107`, `20210701`, and an Excel serial typed as text; a
/// time part (`10:30`, `10:30:15`, `T10:30:00`) may follow.
pub fn parse_datetime(s: &str) -> Option<(NaiveDate, Option<NaiveTime>)> {
    parse_date_text(s).map(|(d, t, _)| (d, t))
}

/// A day a person gives (a command's `--from`, a request's `from=`): any form
/// [`parse_date_text`] reads (`2024-03-01`, `2024/3/1`, `2024年3月1日`, `20240301`, full-width
/// digits), given to the day and without a time.
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    match parse_date_text(s)? {
        (d, None, Precision::Day) => Some(d),
        _ => None,
    }
}

/// [`parse_datetime`], saying whether the day was given (`1985-10`, `1985年10月`, `198510`
/// and `1985.10` are months). A bare year (`1985`) is not a date.
pub fn parse_date_text(s: &str) -> Option<(NaiveDate, Option<NaiveTime>, Precision)> {
    if let Some(d) = iso_date(s.as_bytes()) {
        return Some((d, None, Precision::Day));
    }
    // `2025-03-01 08:30:00` (every export's timestamp): read by position, no copies.
    let b = s.as_bytes();
    if b.len() == 19
        && matches!(b[10], b' ' | b'T')
        && b[13] == b':'
        && b[16] == b':'
        && let Some(d) = iso_date(&b[..10])
    {
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)
            })
        };
        if let Some(t) = NaiveTime::from_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?) {
            return Some((d, Some(t), Precision::Day));
        }
    }
    let folded = fold_width(trim_all(s));
    let mut t = String::with_capacity(folded.len());
    for c in folded.chars() {
        match c {
            '年' | '月' | '/' | '.' => t.push('-'),
            '日' | '号' => t.push(' '),
            '时' | '点' => t.push(':'),
            '分' => t.push(':'),
            '秒' => {}
            'T' => t.push(' '),
            _ => t.push(c),
        }
    }
    let t = t.trim();
    let (date_part, time_part) = match t.split_once(char::is_whitespace) {
        Some((d, rest)) => (d.trim_end_matches('-'), Some(rest.trim())),
        None => (t.trim_end_matches('-'), None),
    };
    let mut precision = Precision::Day;
    let date = if date_part.contains('-') {
        let mut it = date_part.split('-');
        let y: i32 = it.next()?.parse().ok()?;
        let m: u32 = it.next()?.parse().ok()?;
        let d: u32 = match it.next() {
            Some(x) if !x.is_empty() => x.parse().ok()?,
            _ => {
                precision = Precision::Month;
                1
            }
        };
        if it.next().is_some() || !(1000..=9999).contains(&y) {
            return None;
        }
        NaiveDate::from_ymd_opt(y, m, d)?
    } else if date_part.bytes().all(|b| b.is_ascii_digit()) {
        match date_part.len() {
            8 => NaiveDate::parse_from_str(date_part, "%Y%m%d").ok()?,
            6 => {
                precision = Precision::Month;
                NaiveDate::parse_from_str(&format!("{date_part}01"), "%Y%m%d").ok()?
            }
            // A serial typed as text (`44378`); four digits are a year, not a date.
            5 => {
                let v: f64 = date_part.parse().ok()?;
                return serial_to_datetime(v).map(|dt| (dt.date(), None, Precision::Day));
            }
            _ => return None,
        }
    } else if let Ok(v) = date_part.parse::<f64>() {
        let dt = serial_to_datetime(v)?;
        return Some((dt.date(), Some(dt.time()), Precision::Day));
    } else {
        return None;
    };
    let time = match time_part.map(|p| p.trim_end_matches(':')) {
        None | Some("") => None,
        Some(p) => {
            let p = p.split(['+', 'Z']).next().unwrap_or(p);
            Some(
                NaiveTime::parse_from_str(p, "%H:%M:%S%.f")
                    .or_else(|_| NaiveTime::parse_from_str(p, "%H:%M"))
                    .ok()?,
            )
        }
    };
    Some((date, time, precision))
}

/// A date column's cell: a date cell, a number (an Excel serial, or `1985.10` typed as a
/// number, which no serial of a plausible date looks like), or text in any form of
/// [`parse_date_text`].
fn convert_date<'a>(col: &ColumnSpec, cell: &CellRef<'a>) -> Result<Value<'a>, Problem> {
    let not_a_date = || {
        Problem::new(
            "date",
            format!(
                "无法识别的日期“{}”，可用格式如 2021-07-01、2021/7/1、2021年7月1日、1985.10 (not a date)",
                cell.display()
            ),
        )
    };
    let (date, time, precision, ambiguous) = match cell {
        CellRef::DateTime(v) => {
            let dt = serial_to_datetime(*v).ok_or_else(not_a_date)?;
            (dt.date(), Some(dt.time()), Precision::Day, false)
        }
        CellRef::Number(v) => match number_date(*v)? {
            NumberDate::Serial(dt) => (dt.date(), Some(dt.time()), Precision::Day, false),
            NumberDate::Month(d, ambiguous) => (d, None, Precision::Month, ambiguous),
        },
        _ => {
            let text = text_of(cell).unwrap_or_default();
            if text.len() == 4
                && text.bytes().all(|b| b.is_ascii_digit())
                && text
                    .parse::<i32>()
                    .is_ok_and(|y| (1900..=2100).contains(&y))
            {
                return Err(year_only(&text));
            }
            let (d, t, p) = parse_date_text(&text).ok_or_else(not_a_date)?;
            (d, t, p, false)
        }
    };
    if !(1900..=2100).contains(&date.year()) {
        return Err(not_a_date());
    }
    Ok(match (col.ty, precision) {
        (ColumnType::Date, Precision::Month) => Value::Month(date, ambiguous),
        (ColumnType::Date, Precision::Day) => Value::Date(date),
        _ => Value::Timestamp(date.and_time(time.unwrap_or(NaiveTime::MIN))),
    })
}

fn year_only(text: &str) -> Problem {
    Problem::new(
        "date",
        format!(
            "“{text}”只有年份，请填写到月，如 {text}.10 或 {text}-10 (a year alone is not a date)"
        ),
    )
}

/// What a number in a date column stands for.
enum NumberDate {
    Serial(NaiveDateTime),
    /// Year and month; `true` when it may also be October (`1985.1`).
    Month(NaiveDate, bool),
}

/// A number in a date column: `1985.10` typed into a cell that is not text is kept by Excel
/// as 1985.1 — as a serial that is 1905-06-07, a date no record of a living member has. So
/// a number from 1900 to 2100.12 is a year and month (`.1` January or October, decided by the
/// ID number where there is one); below that it is not a date; above, a serial.
fn number_date(v: f64) -> Result<NumberDate, Problem> {
    let shown = || crate::reader::CellRef::Number(v).display();
    if (1900.0..2101.0).contains(&v) {
        let year = v.trunc() as i32;
        if v.fract() == 0.0 {
            return Err(year_only(&shown()));
        }
        let hundredths = (v.fract() * 100.0).round();
        if (v.fract() * 100.0 - hundredths).abs() > 1e-6 {
            return Err(Problem::new(
                "date",
                format!(
                    "数字{}不是日期，也不是“年.月”(not a date, nor year.month)",
                    shown()
                ),
            ));
        }
        let hundredths = hundredths as u32;
        let (month, ambiguous) = if hundredths.is_multiple_of(10) {
            (hundredths / 10, hundredths == 10)
        } else {
            (hundredths, false)
        };
        let date = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(|| {
            Problem::new(
                "date",
                format!(
                    "“{}”的月份{month}无效 (year.month with no such month)",
                    shown()
                ),
            )
        })?;
        return Ok(NumberDate::Month(date, ambiguous));
    }
    // 198510 and 19851003 typed as numbers: no serial is that large before the year 2100.
    if v.fract() == 0.0 && (190001.0..=210012.0).contains(&v) {
        let (y, m) = ((v as i64 / 100) as i32, (v as i64 % 100) as u32);
        if let Some(d) = NaiveDate::from_ymd_opt(y, m, 1) {
            return Ok(NumberDate::Month(d, false));
        }
    }
    if v.fract() == 0.0
        && (19000101.0..=21001231.0).contains(&v)
        && let Ok(d) = NaiveDate::parse_from_str(&format!("{}", v as i64), "%Y%m%d")
    {
        return Ok(NumberDate::Serial(d.and_time(NaiveTime::MIN)));
    }
    if v >= 2101.0
        && let Some(dt) = serial_to_datetime(v)
    {
        return Ok(NumberDate::Serial(dt));
    }
    Err(Problem::new(
        "date",
        format!("数字{}不是日期 (a number that is not a date)", shown()),
    ))
}

/// The problem of a `1985.1` number that nothing decided: January or October.
pub fn ambiguous_month(date: NaiveDate) -> Problem {
    let y = date.year();
    Problem::new(
        "ambiguous_date",
        format!(
            "数字{y}.1可能是{y}年1月，也可能是{y}年10月（Excel 会去掉1985.10末尾的0）；请改为文本“{y}.10”或“{y}-10” (ambiguous: January or October — Excel drops the trailing zero of {y}.10; type it as text {y}-10)"
        ),
    )
}

/// `YYYY-MM-DD` exactly (the common case), without allocating.
fn iso_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)
        })
    };
    let y = num(0..4)?;
    if y < 1000 {
        return None;
    }
    NaiveDate::from_ymd_opt(y as i32, num(5..7)?, num(8..10)?)
}

/// The cell's text, trimmed; borrowed from the cell when it is text (no copy on the hot path).
fn text_of<'a>(cell: &CellRef<'a>) -> Option<Cow<'a, str>> {
    match cell {
        CellRef::Empty => None,
        CellRef::Text(s) => {
            let t = trim_all(s);
            (!t.is_empty()).then_some(Cow::Borrowed(t))
        }
        other => Some(Cow::Owned(other.display())),
    }
}

/// What to say about a comma in a number that was not read.
fn comma_hint(cell: &CellRef) -> &'static str {
    if cell.display().contains([',', '，']) {
        "；逗号只能是千位分隔符（1,234），小数请用小数点（1.7） (a comma only separates thousands; write decimals with a point)"
    } else {
        ""
    }
}

/// A number's text without its thousands separators. A comma is one only between groups of
/// three digits (`1,234,567.5`); anything else (`1,7`, a decimal comma) is not a number this
/// reads, rather than the wrong one (`17`).
fn number_text(s: &str) -> Option<String> {
    let folded = fold_width(s);
    let t: String = folded
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{3000}' | '_'))
        .map(|c| if c == '，' { ',' } else { c })
        .collect();
    if !t.contains(',') {
        return Some(t);
    }
    let unsigned = t.trim_start_matches(['-', '+']);
    let whole = unsigned.split(['.', 'e', 'E']).next().unwrap_or("");
    let mut groups = whole.split(',');
    let first = groups.next().unwrap_or("");
    let grouped = (1..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_digit())
        && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
        && !unsigned[whole.len()..].contains(',');
    grouped.then(|| t.replace(',', ""))
}

/// Convert one cell for `col`. Empty cells become `Null` (the caller checks `required`).
pub fn convert<'a>(col: &'a ColumnSpec, cell: CellRef<'a>) -> Result<Value<'a>, Problem> {
    if cell.is_empty() {
        return Ok(Value::Null);
    }
    if let CellRef::Error(e) = cell {
        return Err(Problem::new(
            "excel_error",
            format!(
                "单元格是 Excel 的错误值 {e}（公式出错），请在表格中改正后再导入 (the cell holds Excel's error value {e}: its formula failed)"
            ),
        ));
    }
    let v = match col.ty {
        ColumnType::String => convert_string(col, &cell)?,
        ColumnType::Int => match cell {
            CellRef::Number(v) if v.fract() == 0.0 => Value::Int(v as i64),
            CellRef::Number(v) => {
                return Err(Problem::new(
                    "type",
                    format!("应为整数，实际为{v} (expected a whole number, found {v})"),
                ));
            }
            _ => {
                let s = number_text(&text_of(&cell).unwrap_or_default()).unwrap_or_default();
                match s.parse::<i64>() {
                    Ok(v) => Value::Int(v),
                    Err(_) => match s.parse::<f64>() {
                        Ok(f) if f.fract() == 0.0 && f.abs() < 9e15 => Value::Int(f as i64),
                        _ => {
                            return Err(Problem::new(
                                "type",
                                format!(
                                    "应为整数，实际为“{}”{} (expected a whole number)",
                                    cell.display(),
                                    comma_hint(&cell)
                                ),
                            ));
                        }
                    },
                }
            }
        },
        ColumnType::Float => match cell {
            CellRef::Number(v) => Value::Float(v),
            _ => {
                let s = number_text(&text_of(&cell).unwrap_or_default()).unwrap_or_default();
                let s = s.trim_end_matches('分');
                match s.parse::<f64>() {
                    Ok(v) if v.is_finite() => Value::Float(v),
                    _ => {
                        return Err(Problem::new(
                            "type",
                            format!(
                                "应为数值，实际为“{}”{} (expected a number)",
                                cell.display(),
                                comma_hint(&cell)
                            ),
                        ));
                    }
                }
            }
        },
        ColumnType::Date | ColumnType::Timestamp => convert_date(col, &cell)?,
        ColumnType::Bool => match cell {
            CellRef::Bool(b) => Value::Bool(b),
            _ => match text_of(&cell)
                .unwrap_or_default()
                .to_ascii_lowercase()
                .as_str()
            {
                "是" | "true" | "1" | "y" | "yes" | "√" => Value::Bool(true),
                "否" | "false" | "0" | "n" | "no" | "×" => Value::Bool(false),
                _ => {
                    return Err(Problem::new(
                        "type",
                        format!("应为是/否，实际为“{}” (expected yes/no)", cell.display()),
                    ));
                }
            },
        },
    };
    check_range(col, &v)?;
    Ok(v)
}

fn check_range(col: &ColumnSpec, v: &Value) -> Result<(), Problem> {
    let x = match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => return Ok(()),
    };
    if col.min.is_some_and(|m| x < m) || col.max.is_some_and(|m| x > m) {
        let lo = col
            .min
            .map(|m| m.to_string())
            .unwrap_or_else(|| "-∞".into());
        let hi = col.max.map(|m| m.to_string()).unwrap_or_else(|| "∞".into());
        return Err(Problem::new(
            "range",
            format!("{x}超出范围[{lo}, {hi}] (out of range)"),
        ));
    }
    Ok(())
}

fn convert_string<'a>(col: &'a ColumnSpec, cell: &CellRef<'a>) -> Result<Value<'a>, Problem> {
    let raw = text_of(cell).unwrap_or_default();
    if col.is_enum() {
        return normalize_enum(col, &raw).map(|v| Value::Str(Cow::Borrowed(v)));
    }
    match col.check {
        None => Ok(Value::Str(raw)),
        Some(Check::Code) => {
            if raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                return Ok(Value::Str(raw));
            }
            let folded = fold_width(&raw);
            let s = folded.trim();
            if s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                Ok(Value::Str(Cow::Owned(s.to_string())))
            } else {
                Err(Problem::new(
                    "code",
                    format!("编号“{raw}”含有字母、数字、-、_ 以外的字符 (not a code)"),
                ))
            }
        }
        Some(Check::CnIdCard) => {
            let folded = fold_width(&raw);
            let s: std::borrow::Cow<str> = if folded.contains(char::is_whitespace) {
                folded
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .into()
            } else {
                folded
            };
            idcard::parse(&s)
                .map(|id| Value::Str(Cow::Owned(id.canonical)))
                .map_err(|p| Problem::new("id_card", format!("“{raw}”：{p}")))
        }
        Some(Check::Phone) => normalize_phone(&raw).map(|p| Value::Str(Cow::Owned(p))),
    }
}

/// Map a value to its canonical enum spelling: exact, variant, width-folded / case-insensitive.
pub fn normalize_enum<'a>(col: &'a ColumnSpec, raw: &str) -> Result<&'a str, Problem> {
    if let Some(v) = col.values.iter().find(|v| *v == raw) {
        return Ok(v);
    }
    let s = fold_width(raw);
    let s = s.trim();
    if let Some(v) = col.values.iter().find(|v| *v == s) {
        return Ok(v);
    }
    if let Some(c) = col.variants.get(s) {
        return Ok(c);
    }
    let lower = s.to_lowercase();
    let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    for v in &col.values {
        if v.to_lowercase() == compact {
            return Ok(v);
        }
    }
    for (variant, canonical) in &col.variants {
        if variant.to_lowercase() == compact {
            return Ok(canonical);
        }
    }
    Err(Problem::new(
        "enum",
        format!(
            "“{raw}”不是允许的值，应为：{} (not one of the allowed values)",
            col.values.join("、")
        ),
    ))
}

/// Mobile numbers to 11 digits (`+86`, spaces and dashes removed); fixed lines keep their
/// area code with a dash (`025-84561234`).
pub fn normalize_phone(raw: &str) -> Result<String, Problem> {
    let s: String = fold_width(raw)
        .chars()
        .filter(|c| !matches!(c, ' ' | '(' | ')' | '（' | '）'))
        .collect();
    let s = s
        .strip_prefix("+86")
        .or_else(|| s.strip_prefix("0086"))
        .unwrap_or(&s);
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let only_digits_and_dashes = s.chars().all(|c| c.is_ascii_digit() || c == '-');
    if only_digits_and_dashes
        && digits.len() == 11
        && digits.starts_with('1')
        && digits.as_bytes()[1] >= b'3'
    {
        return Ok(digits);
    }
    if only_digits_and_dashes && digits.starts_with('0') && (10..=12).contains(&digits.len()) {
        let area = if digits.starts_with("01") || digits.starts_with("02") {
            3
        } else {
            4
        };
        return Ok(format!("{}-{}", &digits[..area], &digits[area..]));
    }
    Err(Problem::new(
        "phone",
        format!("“{raw}”不是有效的电话号码 (not a phone number)"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_day_a_person_gives() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 1);
        for s in [
            "2024-03-01",
            "2024/3/1",
            "2024年3月1日",
            "20240301",
            "２０２４－０３－０１",
        ] {
            assert_eq!(parse_day(s), d, "{s}");
        }
        for s in [
            "2024-03",
            "2024年3月",
            "2024-03-01 10:30",
            "next monday",
            "2024-02-30",
        ] {
            assert_eq!(parse_day(s), None, "{s}");
        }
    }

    #[test]
    fn every_date_form_of_the_contract() {
        for s in [
            "2021-07-01",
            "2021/7/1",
            "2021.07.01",
            "2021年7月1日",
            "2021年7月",
            "202107",
            "20210701",
            "44378",
            "２０２１－０７－０１",
        ] {
            assert_eq!(parse_datetime(s).map(|x| x.0), Some(d(2021, 7, 1)), "{s}");
        }
        let (day, t) = parse_datetime("2021年7月1日 10:30").unwrap();
        assert_eq!(
            (day, t),
            (d(2021, 7, 1), NaiveTime::from_hms_opt(10, 30, 0))
        );
        assert_eq!(
            parse_datetime("2021-07-01T08:00:05").unwrap().1,
            NaiveTime::from_hms_opt(8, 0, 5)
        );
        // The fixed-position timestamp path and the general one agree, bad times included.
        assert_eq!(
            parse_datetime("2021-07-01 23:59:58"),
            Some((d(2021, 7, 1), NaiveTime::from_hms_opt(23, 59, 58)))
        );
        assert!(parse_datetime("2021-07-01 24:00:00").is_none());
        assert!(parse_datetime("2021-07-01 10:3a:00").is_none());
        assert!(parse_datetime("2021-02-30 10:30:00").is_none());
        assert!(parse_datetime("2021-13-01").is_none());
        assert!(parse_datetime("去年").is_none());
        assert_eq!(
            serial_to_datetime(44378.5).unwrap(),
            d(2021, 7, 1).and_hms_opt(12, 0, 0).unwrap()
        );
    }

    fn date_of(ty: ColumnType, cell: CellRef) -> Result<Value<'static>, Problem> {
        let col = ColumnSpec {
            ty,
            ..ColumnSpec::default()
        };
        convert_date(&col, &cell).map(|v| match v {
            Value::Date(d) => Value::Date(d),
            Value::Month(d, a) => Value::Month(d, a),
            Value::Timestamp(t) => Value::Timestamp(t),
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn year_and_month_as_rosters_write_them() {
        let month = |y, m| Ok(Value::Month(d(y, m, 1), false));
        for text in [
            "1985.10",
            "1985-10",
            "1985年10月",
            "198510",
            "１９８５．１０",
        ] {
            assert_eq!(
                date_of(ColumnType::Date, CellRef::Text(text)),
                month(1985, 10),
                "{text}"
            );
        }
        // Typed as text, `1985.1` is what it says: January.
        assert_eq!(
            date_of(ColumnType::Date, CellRef::Text("1985.1")),
            month(1985, 1)
        );
        // Typed as a number, Excel keeps 1985.10 as 1985.1: January or October.
        assert_eq!(
            date_of(ColumnType::Date, CellRef::Number(1985.1)),
            Ok(Value::Month(d(1985, 1, 1), true))
        );
        assert_eq!(
            date_of(ColumnType::Date, CellRef::Number(1985.05)),
            month(1985, 5)
        );
        assert_eq!(
            date_of(ColumnType::Date, CellRef::Number(1968.12)),
            month(1968, 12)
        );
        assert_eq!(
            date_of(ColumnType::Date, CellRef::Number(1985.2)),
            month(1985, 2)
        );
        assert_eq!(
            date_of(ColumnType::Date, CellRef::Number(198510.0)),
            month(1985, 10)
        );
        assert_eq!(
            date_of(ColumnType::Date, CellRef::Number(19851003.0)),
            Ok(Value::Date(d(1985, 10, 3)))
        );
        // Never 1905: a year alone, a 13th month, a small number are refused with a reason.
        for bad in [1985.0, 1985.13, 1985.123, 12.0] {
            let p = date_of(ColumnType::Date, CellRef::Number(bad)).unwrap_err();
            assert_eq!(p.reason, "date", "{bad}: {}", p.message);
        }
        assert!(
            date_of(ColumnType::Date, CellRef::Text("1985"))
                .unwrap_err()
                .message
                .contains("只有年份")
        );
        // A serial is still a serial, as a number or as text.
        assert_eq!(
            date_of(ColumnType::Date, CellRef::Number(44378.0)),
            Ok(Value::Date(d(2021, 7, 1)))
        );
        assert_eq!(
            date_of(ColumnType::Date, CellRef::Text("44378")),
            Ok(Value::Date(d(2021, 7, 1)))
        );
    }

    #[test]
    fn a_comma_is_a_thousands_separator_or_nothing() {
        assert_eq!(number_text("1,234,567.5").as_deref(), Some("1234567.5"));
        assert_eq!(number_text("-12，345").as_deref(), Some("-12345"));
        assert_eq!(number_text("3.5").as_deref(), Some("3.5"));
        for bad in ["1,7", "12,34", "1,2345", ",123", "1.234,5"] {
            assert_eq!(number_text(bad), None, "{bad}");
        }
        let col = ColumnSpec {
            ty: ColumnType::Float,
            ..ColumnSpec::default()
        };
        let p = convert(&col, CellRef::Text("1,7")).unwrap_err();
        assert!(p.message.contains("千位分隔符"), "{}", p.message);
        let p = convert(&col, CellRef::Error("#DIV/0!")).unwrap_err();
        assert_eq!(p.reason, "excel_error");
        assert!(p.message.contains("#DIV/0!") && !p.message.contains("##"));
    }

    #[test]
    fn phones() {
        assert_eq!(normalize_phone("138 1234 5678").unwrap(), "13812345678");
        assert_eq!(normalize_phone("+86-138-1234-5678").unwrap(), "13812345678");
        assert_eq!(
            normalize_phone("１３８１２３４５６７８").unwrap(),
            "13812345678"
        );
        assert_eq!(normalize_phone("025-84561234").unwrap(), "025-84561234");
        assert!(normalize_phone("12345").is_err());
    }
}
