//! Snippets: the part of a text around what was found, with the found words marked. Matching
//! runs on the normalized form character by character, so a traditional or full-width text is
//! marked where its simplified / half-width form matched, and the original is what is shown.

/// Characters of context shown around the first match.
const WINDOW: usize = 80;

use dangan_text::push_html_escaped as escape;

/// The snippet of `text` for `needles` (normalized), as HTML: escaped text, matches in
/// `<mark>`, `…` where the text was cut.
pub fn snippet(text: &str, needles: &[String]) -> String {
    let raw: Vec<char> = text
        .chars()
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    let norm: Vec<char> = raw
        .iter()
        .map(|c| dangan_text::normalize_char(*c))
        .collect();
    let mut marked = vec![false; raw.len()];
    let mut first: Option<usize> = None;
    for needle in needles {
        let n: Vec<char> = needle.chars().filter(|c| !c.is_whitespace()).collect();
        if n.is_empty() || n.len() > norm.len() {
            continue;
        }
        for start in 0..=norm.len() - n.len() {
            if norm[start..start + n.len()] == n[..] {
                marked[start..start + n.len()]
                    .iter_mut()
                    .for_each(|m| *m = true);
                first = Some(first.map_or(start, |f| f.min(start)));
            }
        }
    }
    let from = first.map_or(0, |f| f.saturating_sub(WINDOW / 4));
    let to = (from + WINDOW).min(raw.len());
    let from = to.saturating_sub(WINDOW).min(from);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut open = false;
    for i in from..to {
        if marked[i] && !open {
            out.push_str("<mark>");
            open = true;
        } else if !marked[i] && open {
            out.push_str("</mark>");
            open = false;
        }
        escape(&mut out, raw[i]);
    }
    if open {
        out.push_str("</mark>");
    }
    if to < raw.len() {
        out.push('…');
    }
    out
}

/// A snippet for a terminal: marks as «», HTML entities back to characters. (Not 【】: titles
/// of Party publications use those themselves.)
pub fn snippet_for_terminal(html: &str) -> String {
    html.replace("<mark>", "«")
        .replace("</mark>", "»")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_matches_in_the_original_form() {
        let s = snippet("本月參加志願服務兩次<好>", &["志愿服务".to_string()]);
        assert_eq!(s, "本月參加<mark>志願服務</mark>兩次&lt;好&gt;");
        let long = format!("{}志愿{}", "甲".repeat(100), "乙".repeat(100));
        let s = snippet(&long, &["志愿".to_string()]);
        assert!(
            s.starts_with('…') && s.ends_with('…') && s.contains("<mark>志愿</mark>"),
            "{s}"
        );
        assert_eq!(snippet_for_terminal("<mark>a</mark>&lt;"), "«a»<");
    }
}
