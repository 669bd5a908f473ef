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

const EXCEL_EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1899, 12, 30) {
    Some(d) => d,
    None => panic!("valid epoch"),
};

/// An Excel serial number (days since 1899-12-30, fraction = time of day) as a date-time.
pub fn serial_to_datetime(serial: f64) -> Option<NaiveDateTime> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let days = serial.trunc() as i64;
    let secs = ((serial - serial.trunc()) * 86_400.0).round() as i64;
    let date = EXCEL_EPOCH.checked_add_signed(chrono::Duration::days(days))?;
    date.and_time(NaiveTime::MIN)
        .checked_add_signed(chrono::Duration::seconds(secs))
}

/// Parse the date forms Chinese exports use: `2021-07-01`, `2021/7/1`, `2021.07.01`,
/// `2021年7月1日`, `2021年7月`, `202107`, `20210701`, and an Excel serial typed as text; a
/// time part (`10:30`, `10:30:15`, `T10:30:00`) may follow.
pub fn parse_datetime(s: &str) -> Option<(NaiveDate, Option<NaiveTime>)> {
    if let Some(d) = iso_date(s.as_bytes()) {
        return Some((d, None));
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
    let date = if date_part.contains('-') {
        let mut it = date_part.split('-');
        let y: i32 = it.next()?.parse().ok()?;
        let m: u32 = it.next()?.parse().ok()?;
        let d: u32 = match it.next() {
            Some(x) if !x.is_empty() => x.parse().ok()?,
            _ => 1,
        };
        if it.next().is_some() || !(1000..=9999).contains(&y) {
            return None;
        }
        NaiveDate::from_ymd_opt(y, m, d)?
    } else if date_part.bytes().all(|b| b.is_ascii_digit()) {
        match date_part.len() {
            8 => NaiveDate::parse_from_str(date_part, "%Y%m%d").ok()?,
            6 => NaiveDate::parse_from_str(&format!("{date_part}01"), "%Y%m%d").ok()?,
            4 | 5 => {
                let v: f64 = date_part.parse().ok()?;
                return serial_to_datetime(v).map(|dt| (dt.date(), None));
            }
            _ => return None,
        }
    } else if let Ok(v) = date_part.parse::<f64>() {
        let dt = serial_to_datetime(v)?;
        return Some((dt.date(), Some(dt.time())));
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
    Some((date, time))
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

fn number_text(s: &str) -> String {
    fold_width(s)
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | ' ' | '\u{3000}' | '_'))
        .collect()
}

/// Convert one cell for `col`. Empty cells become `Null` (the caller checks `required`).
pub fn convert<'a>(col: &'a ColumnSpec, cell: CellRef<'a>) -> Result<Value<'a>, Problem> {
    if cell.is_empty() {
        return Ok(Value::Null);
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
                let s = number_text(&text_of(&cell).unwrap_or_default());
                match s.parse::<i64>() {
                    Ok(v) => Value::Int(v),
                    Err(_) => match s.parse::<f64>() {
                        Ok(f) if f.fract() == 0.0 && f.abs() < 9e15 => Value::Int(f as i64),
                        _ => {
                            return Err(Problem::new(
                                "type",
                                format!(
                                    "应为整数，实际为“{}” (expected a whole number)",
                                    cell.display()
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
                let s = number_text(&text_of(&cell).unwrap_or_default());
                let s = s.trim_end_matches('分');
                match s.parse::<f64>() {
                    Ok(v) if v.is_finite() => Value::Float(v),
                    _ => {
                        return Err(Problem::new(
                            "type",
                            format!("应为数值，实际为“{}” (expected a number)", cell.display()),
                        ));
                    }
                }
            }
        },
        ColumnType::Date | ColumnType::Timestamp => {
            let parsed = match cell {
                CellRef::DateTime(v) | CellRef::Number(v) => {
                    serial_to_datetime(v).map(|dt| (dt.date(), Some(dt.time())))
                }
                _ => parse_datetime(&text_of(&cell).unwrap_or_default()),
            };
            let Some((d, t)) = parsed.filter(|(d, _)| (1900..=2100).contains(&d.year())) else {
                return Err(Problem::new(
                    "date",
                    format!(
                        "无法识别的日期“{}”，可用格式如 2021-07-01、2021/7/1、2021年7月1日 (not a date)",
                        cell.display()
                    ),
                ));
            };
            if col.ty == ColumnType::Date {
                Value::Date(d)
            } else {
                Value::Timestamp(d.and_time(t.unwrap_or(NaiveTime::MIN)))
            }
        }
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
        assert!(parse_datetime("2021-13-01").is_none());
        assert!(parse_datetime("去年").is_none());
        assert_eq!(
            serial_to_datetime(44378.5).unwrap(),
            d(2021, 7, 1).and_hms_opt(12, 0, 0).unwrap()
        );
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
