//! Text in HTML: the one escaper every page, report and snippet uses.

/// Append `c` to `out`, escaped for HTML text and attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn push_html_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c => out.push(c),
    }
}

/// `s` escaped for HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_html_escaped(&mut out, c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_what_html_reads_as_markup() {
        assert_eq!(
            super::escape_html(r#"<a href="x">'王'&</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;王&#39;&amp;&lt;/a&gt;"
        );
        assert_eq!(super::escape_html("党员档案"), "党员档案");
    }
}
