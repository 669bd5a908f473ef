//! Helpers the reports share: SQL literals, age bands, reading columns out of data frames.

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;

use crate::error::Result;

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

/// Sort key of an age band (unknown last).
pub fn band_order(band: &str) -> i32 {
    AGE_BANDS
        .iter()
        .position(|b| *b == band)
        .map(|i| i as i32)
        .unwrap_or(99)
}

/// Statuses of people who are no longer members (they left through a recorded transition).
pub const GONE: &str = "('转出', '出党', '去世')";

/// A string column's values (null as "").
pub fn strings(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    let c = df.column(name)?.cast(&DataType::String)?;
    let ca = c.str()?;
    Ok(ca
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

/// A numeric column's values as f64 (null as NaN).
pub fn floats(df: &DataFrame, name: &str) -> Result<Vec<f64>> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    let ca = c.f64()?;
    Ok(ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Round a float column to `digits` decimals.
pub fn round(e: Expr, digits: u32) -> Expr {
    e.round(digits, RoundMode::HalfAwayFromZero)
}

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

/// The first value of a column as the tables show it ("" when there is none).
pub fn first_text(df: &DataFrame, column: &str) -> String {
    df.column(column)
        .ok()
        .and_then(|c| c.get(0).ok())
        .map(|v| crate::render::text(&v))
        .unwrap_or_default()
}

/// The rows sorted by `first` columns, then by `key(value of column)` (bands and other fixed
/// orders that are not alphabetical).
pub fn sort_by_key(
    df: DataFrame,
    first: &[&str],
    column: &str,
    key: impl Fn(&str) -> i64,
) -> Result<DataFrame> {
    let keys: Vec<i64> = strings(&df, column)?.iter().map(|v| key(v)).collect();
    let mut df = df;
    df.with_column(Column::new("_key".into(), keys))?;
    let by: Vec<&str> = first.iter().copied().chain(["_key"]).collect();
    Ok(df
        .lazy()
        .sort(by, SortMultipleOptions::default())
        .drop(cols(["_key"]))
        .collect()?)
}

/// A date column's values (`None` for nulls and for what is not a date).
pub fn dates(df: &DataFrame, column: &str) -> Result<Vec<Option<NaiveDate>>> {
    let c = df.column(column)?.cast(&DataType::String)?;
    Ok(c.str()?
        .iter()
        .map(|v| v.and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()))
        .collect())
}
