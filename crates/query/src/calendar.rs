//! Year, month and day of a day number (days since 1970-01-01), fast: a table of the days
//! from 1900 to 2100, the arithmetic outside it. Used by `age()`, `party_age()`,
//! `date_part` and `date_trunc`.

/// Year and (month · 32 + day) of days counted from 1970-01-01, looked up in a table of the
/// days from 1900 to 2100 (every birth, join and record date; 292 KB, built once): a lookup
/// is several times cheaper than the arithmetic, which measured 14 ns a date inside a
/// group-by. Days outside the table are computed.
#[derive(Clone, Copy)]
pub(crate) struct Calendar(&'static [u32]);

/// The first day of the table: 1900-01-01.
const TABLE_FROM: i32 = -25_567;

impl Calendar {
    pub(crate) fn get() -> Self {
        static TABLE: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
        Calendar(TABLE.get_or_init(|| {
            // Through 2100-12-31.
            (TABLE_FROM..47_482)
                .map(|d| {
                    let (y, md) = civil(d);
                    ((y as u32) << 16) | md
                })
                .collect()
        }))
    }

    #[inline]
    pub(crate) fn civil(self, days: i32) -> (i32, u32) {
        match self.0.get(days.wrapping_sub(TABLE_FROM) as u32 as usize) {
            Some(v) => ((v >> 16) as i32, v & 0xffff),
            None => civil(days),
        }
    }
}

/// Year and (month · 32 + day) of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`): integer arithmetic, no calendar lookups.
pub(crate) fn civil(days: i32) -> (i32, u32) {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, (m * 32 + d) as u32)
}

/// The day number (days since 1970-01-01) of a year, month and day (Howard Hinnant's
/// `days_from_civil`).
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_agree_with_chrono_on_every_day_from_1800_to_2300() {
        use chrono::Datelike;
        let cal = Calendar::get();
        // Inside the table and on both sides of it.
        for days in -62_091..120_529 {
            let d = chrono::NaiveDate::from_epoch_days(days).unwrap();
            let want = (d.year(), d.month() * 32 + d.day());
            assert_eq!(civil(days), want, "{d}");
            assert_eq!(cal.civil(days), want, "{d}");
            assert_eq!(
                days_from_civil(d.year(), d.month(), d.day()),
                i64::from(days)
            );
        }
    }
}
