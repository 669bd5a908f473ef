//! Resident ID numbers (GB 11643-1999): check digit, birth date and gender inside the number.

use chrono::{Datelike, NaiveDate};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// The check character for the first 17 digits, or `None` if they are not 17 ASCII digits.
pub fn check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| (b - b'0') as u32 * w)
        .sum();
    Some(CHECK[(sum % 11) as usize] as char)
}

/// What is wrong with an ID number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdProblem {
    Length(usize),
    NotDigits,
    BadBirthDate(String),
    CheckDigit { expected: char, found: char },
}

impl std::fmt::Display for IdProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdProblem::Length(n) => write!(
                f,
                "身份证号应为18位，实际{n}位 (expected 18 characters, found {n})"
            ),
            IdProblem::NotDigits => write!(
                f,
                "身份证号前17位应为数字，末位为数字或X (17 digits then a digit or X expected)"
            ),
            IdProblem::BadBirthDate(s) => write!(
                f,
                "身份证号中的出生日期{s}无效 (birth date {s} inside the number is not a date)"
            ),
            IdProblem::CheckDigit { expected, found } => write!(
                f,
                "身份证号校验位错误：应为{expected}，实际为{found} (check digit should be {expected}, found {found})"
            ),
        }
    }
}

/// A valid ID number, in canonical form (upper-case X), with what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber {
    pub canonical: String,
    pub birth_date: NaiveDate,
    /// `true` for male (odd 17th digit).
    pub male: bool,
}

/// Validate an 18-character ID number (already width-folded and trimmed).
pub fn parse(s: &str) -> Result<IdNumber, IdProblem> {
    let n = s.chars().count();
    if n != 18 {
        return Err(IdProblem::Length(n));
    }
    let upper = s.to_ascii_uppercase();
    let (body, last) = upper.split_at(17);
    let last_c = last.chars().next().unwrap_or(' ');
    if !body.bytes().all(|b| b.is_ascii_digit()) || !(last_c.is_ascii_digit() || last_c == 'X') {
        return Err(IdProblem::NotDigits);
    }
    let birth = &body[6..14];
    let digits = |r: std::ops::Range<usize>| {
        birth.as_bytes()[r]
            .iter()
            .fold(0u32, |acc, b| acc * 10 + (b - b'0') as u32)
    };
    let birth_date = NaiveDate::from_ymd_opt(digits(0..4) as i32, digits(4..6), digits(6..8))
        .filter(|d| d.year() >= 1900)
        .ok_or_else(|| IdProblem::BadBirthDate(birth.to_string()))?;
    let expected = check_char(body).ok_or(IdProblem::NotDigits)?;
    if expected != last_c {
        return Err(IdProblem::CheckDigit {
            expected,
            found: last_c,
        });
    }
    let male = (body.as_bytes()[16] - b'0') % 2 == 1;
    Ok(IdNumber {
        canonical: upper,
        birth_date,
        male,
    })
}

/// Build a valid number from a 6-digit region code, a birth date and a 3-digit sequence
/// (odd for men, even for women).
pub fn make(region: &str, birth: NaiveDate, seq: u32) -> String {
    let body = format!("{region}{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    let c = check_char(&body).expect("region is 6 digits");
    format!("{body}{c}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_number_validates() {
        // The worked example of GB 11643: 11010519491231002X.
        let id = parse("11010519491231002x").unwrap();
        assert_eq!(id.canonical, "11010519491231002X");
        assert_eq!(
            id.birth_date,
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert!(!id.male);
    }

    #[test]
    fn problems_are_named() {
        assert_eq!(
            parse("110105194912310021"),
            Err(IdProblem::CheckDigit {
                expected: 'X',
                found: '1'
            })
        );
        assert_eq!(parse("1101051949"), Err(IdProblem::Length(10)));
        assert!(matches!(
            parse("110105194913310021"),
            Err(IdProblem::BadBirthDate(_))
        ));
        assert_eq!(parse("11010519491231002Y"), Err(IdProblem::NotDigits));
    }

    #[test]
    fn made_numbers_round_trip() {
        let d = NaiveDate::from_ymd_opt(1985, 7, 1).unwrap();
        let id = make("320106", d, 123);
        let p = parse(&id).unwrap();
        assert_eq!(p.birth_date, d);
        assert!(p.male);
    }
}
