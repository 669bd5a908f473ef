//! Helpers the reports share: SQL literals, age bands, periods.

use chrono::{Datelike, NaiveDate};

/// A SQL string literal.
pub fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQL date literal.
pub fn sql_date(d: NaiveDate) -> String {
    format!("DATE '{}'", d.format("%Y-%m-%d"))
}

/// A SQL timestamp literal for the start of a day.
pub fn sql_ts(d: NaiveDate) -> String {
    format!("TIMESTAMP '{} 00:00:00'", d.format("%Y-%m-%d"))
}

/// Age bands as the organization counts them, with a SQL `CASE` over an age expression.
pub const AGE_BANDS: [&str; 6] = [
    "35岁以下",
    "35–44岁",
    "45–54岁",
    "55–59岁",
    "60–69岁",
    "70岁及以上",
];

pub fn age_band_sql(age: &str) -> String {
    format!(
        "CASE WHEN {age} IS NULL THEN '未知' WHEN {age} < 35 THEN '{}' WHEN {age} < 45 THEN '{}' \
         WHEN {age} < 55 THEN '{}' WHEN {age} < 60 THEN '{}' WHEN {age} < 70 THEN '{}' ELSE '{}' END",
        AGE_BANDS[0], AGE_BANDS[1], AGE_BANDS[2], AGE_BANDS[3], AGE_BANDS[4], AGE_BANDS[5]
    )
}

/// Statuses of people who are no longer members (they left through a recorded transition).
pub const GONE: &str = "('转出', '出党', '去世')";

/// `YYYY-MM` of every month the period touches.
pub fn month_keys(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let mut m = from.with_day(1).unwrap_or(from);
    while m <= to {
        out.push(format!("{:04}-{:02}", m.year(), m.month()));
        match m.checked_add_months(chrono::Months::new(1)) {
            Some(n) => m = n,
            None => break,
        }
    }
    out
}

/// Default period of the monthly reports: the twelve calendar months up to the as-of day
/// (from the first of the month eleven months back).
pub fn months_period(p: &crate::Params) -> (NaiveDate, NaiveDate) {
    let first = p
        .as_of
        .with_day(1)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(11)))
        .unwrap_or(p.as_of);
    p.period(first)
}

/// Default period of the other reports: the year up to the as-of day.
pub fn year_period(p: &crate::Params) -> (NaiveDate, NaiveDate) {
    let first = p
        .as_of
        .checked_sub_months(chrono::Months::new(12))
        .map(|d| d + chrono::Duration::days(1))
        .unwrap_or(p.as_of);
    p.period(first)
}

/// "；组织 X 及其下级" when the report is limited to a sub-tree, else nothing.
pub fn org_note(p: &crate::Params) -> String {
    p.org
        .as_ref()
        .map(|o| format!("；组织 {o} 及其下级"))
        .unwrap_or_default()
}

/// `CASE <column> WHEN 'a' THEN 0 WHEN 'b' THEN 1 … ELSE 99 END`: the order of a fixed list
/// of values (bands) that is not alphabetical, to sort by in SQL.
pub fn order_sql(column: &str, values: &[&str]) -> String {
    let mut s = format!("CASE {column}");
    for (i, v) in values.iter().enumerate() {
        s.push_str(&format!(" WHEN {} THEN {i}", sql_str(v)));
    }
    s.push_str(" ELSE 99 END");
    s
}
