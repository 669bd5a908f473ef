//! Full-width → half-width folding and whitespace trimming as Chinese Windows exports need.

/// Fold full-width ASCII variants (`１２３`, `ＡＢＣ`, `（`, `：`) and the ideographic space
/// (`　`) to their half-width forms. Chinese characters and other text are untouched.
/// Borrows when there is nothing to fold (the common case), so callers on hot paths pay
/// nothing for plain ASCII and ordinary Chinese text.
pub fn fold_width(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(|c| fold_char(c) != c) {
        std::borrow::Cow::Owned(s.chars().map(fold_char).collect())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

pub(crate) fn fold_char(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Spaces of every width, BOM and zero-width space, and NUL (a byte some exporters pad cells
/// with, never a value).
fn is_space(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{3000}' | '\u{00A0}' | '\u{FEFF}' | '\u{200B}' | '\u{0}'
        )
}

/// Trim half- and full-width spaces (and BOM / zero-width space) from both ends.
pub fn trim_all(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// True when the value holds nothing but spaces of any width.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(is_space)
}

/// The form headers are compared in: width folded, every space removed, a trailing or leading
/// required-marker `*` dropped, ASCII lower-cased. `" 党员编号* "` → `"党员编号"`,
/// `"Member_ID"` → `"member_id"`.
pub fn normalize_header(s: &str) -> String {
    fold_width(s)
        .chars()
        .filter(|c| !is_space(*c))
        .collect::<String>()
        .trim_matches('*')
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_digits_letters_and_space() {
        assert_eq!(fold_width("１２３ＡＢｃ　（党）"), "123ABc (党)");
    }

    #[test]
    fn trims_every_kind_of_space() {
        assert_eq!(trim_all("\u{3000} 张伟\u{3000}\t"), "张伟");
        assert_eq!(trim_all("\u{FEFF}姓名"), "姓名");
        assert!(is_blank("\u{3000}  "));
        assert!(!is_blank(" 张 "));
    }

    #[test]
    fn header_normalization() {
        assert_eq!(normalize_header(" 党员 编号* "), "党员编号");
        assert_eq!(normalize_header("Member_ID"), "member_id");
        assert_eq!(normalize_header("＊姓名"), "姓名");
    }
}
