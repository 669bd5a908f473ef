//! The one form text is compared in for search: full-width folded, traditional characters
//! turned simplified (黨員 → 党员), ASCII lower-cased. Index and queries both pass through it,
//! so that what a user types matches however the archive wrote it.

/// Normalize a whole text (any length; one pass per step).
pub fn normalize_for_search(s: &str) -> String {
    let folded = crate::fold_width(s);
    let mut out = fast2s::convert(&folded);
    out.make_ascii_lowercase();
    out
}

/// Normalize one character the same way (for aligning a normalized text with its original).
pub fn normalize_char(c: char) -> char {
    let c = crate::width::fold_char(c);
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut buf = [0u8; 4];
    fast2s::convert(c.encode_utf8(&mut buf))
        .chars()
        .next()
        .unwrap_or(c)
}

/// True for the characters that are segmented as Chinese (CJK ideographs, extensions included).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_full_width_and_case_fold_to_one_form() {
        assert_eq!(normalize_for_search("黨員ＡＢＣ學習"), "党员abc学习");
        assert_eq!(normalize_char('黨'), '党');
        assert_eq!(normalize_char('Ｗ'), 'w');
        assert!(is_cjk('党') && !is_cjk('a') && !is_cjk('，'));
    }
}
