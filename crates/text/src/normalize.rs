//! The one form text is compared in for search: full-width folded, traditional characters
//! turned simplified (黨員 → 党员), ASCII lower-cased. Index and queries both pass through it,
//! so that what a user types matches however the archive wrote it.

/// Normalize a whole text in one pass: width folded, traditional → simplified (fast2s's
/// mapping, read from a table for punctuation and the main ideograph blocks), ASCII
/// lower-cased.
pub fn normalize_for_search(s: &str) -> String {
    let table = t2s_table();
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().map(crate::width::fold_char).peekable();
    let mut prev = '0';
    while let Some(c) = chars.next() {
        let u = c as u32;
        let simple = if c.is_ascii() {
            c.to_ascii_lowercase()
        } else if (T2S_FROM..=T2S_TO).contains(&u) && !IN_CONTEXT.contains(&c) {
            table[(u - T2S_FROM) as usize]
        } else if c.len_utf8() == 3 {
            // A character fast2s converts by its neighbours (乾隆, 看著, 計畫), or one outside
            // the table: fast2s itself, on the character and its neighbours.
            let next = chars.peek().copied().unwrap_or('0');
            let window: String = [prev, c, next].iter().collect();
            fast2s::convert(&window).chars().nth(1).unwrap_or(c)
        } else {
            c
        };
        out.push(simple);
        prev = c;
    }
    out
}

const T2S_FROM: u32 = 0x2000;
const T2S_TO: u32 = 0x9FFF;

/// The characters fast2s converts differently next to certain neighbours (its special cases).
const IN_CONTEXT: &[char] = &[
    '兒', '覆', '夥', '藉', '瞭', '麽', '幺', '於', '乾', '著', '苧', '闔', '鍾', '讎', '畫',
];

/// The simplified form of every character from U+2000 to U+9FFF (punctuation, CJK symbols,
/// ideographs), as fast2s maps it alone
/// (computed once per process, ~32k look-ups): a table read instead of three hash look-ups
/// per character, which was 5% of building the search index.
fn t2s_table() -> &'static [char] {
    static TABLE: std::sync::OnceLock<Vec<char>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut buf = [0u8; 4];
        (T2S_FROM..=T2S_TO)
            .map(|u| {
                let c = char::from_u32(u).unwrap_or(' ');
                fast2s::convert(c.encode_utf8(&mut buf))
                    .chars()
                    .next()
                    .unwrap_or(c)
            })
            .collect()
    })
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

    /// The one-pass form is what folding, fast2s and lower-casing one after the other give,
    /// special cases included.
    #[test]
    fn one_pass_equals_the_three_steps() {
        let reference = |s: &str| {
            let mut out = fast2s::convert(&crate::fold_width(s));
            out.make_ascii_lowercase();
            out
        };
        let mut samples: Vec<String> = vec![
            "乾隆年間，乾坤朗朗；天氣乾燥".into(),
            "他看著我，著作等身，計畫與企畫".into(),
            "慰藉、狼藉、藉口、憑藉；瞭望與明瞭".into(),
            "兒寬、答覆、批覆、反覆；甚夥、夥伴".into(),
            "闔家、闔上；鍾書、鍾情；校讎、仇讎".into(),
            "全體黨員ＡＢＣ參加「主題黨日」　學習１２３".into(),
            "𠀀𪚥豐樂亭記：醉翁之意不在酒".into(),
            String::new(),
            "乾".into(),
        ];
        // Every character of the table's range, in runs.
        let all: Vec<char> = (T2S_FROM..=T2S_TO).filter_map(char::from_u32).collect();
        samples.extend(all.chunks(97).map(|c| c.iter().collect::<String>()));
        for s in &samples {
            assert_eq!(normalize_for_search(s), reference(s), "{s}");
        }
    }
}
