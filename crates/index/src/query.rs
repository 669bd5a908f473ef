//! The query language organizers type: words (all must match), `"exact phrase"`, `-exclude`,
//! `a OR b`. Full-width quotes and minus signs work too. A query that cannot mean anything
//! gets a message saying why, never a panic.

/// One thing to look for.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A word: found as a substring, or (Latin letters) as the pinyin of a name.
    Word(String),
    /// An exact phrase: found as a substring only.
    Phrase(String),
}

impl Item {
    pub fn text(&self) -> &str {
        match self {
            Item::Word(s) | Item::Phrase(s) => s,
        }
    }
}

/// A parsed query: every group must match (a group matches when one of its items does), and
/// no excluded item may.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    pub groups: Vec<Vec<Item>>,
    pub excluded: Vec<Item>,
}

impl Parsed {
    /// Every item that is looked for (for snippets).
    pub fn positive(&self) -> impl Iterator<Item = &Item> {
        self.groups.iter().flatten()
    }
}

#[derive(Debug, PartialEq)]
enum Tok {
    Item(Item, bool),
    Or,
}

/// Parse a query, or say what is wrong with it.
pub fn parse(q: &str) -> Result<Parsed, String> {
    let q: String = dangan_text::fold_width(q)
        .chars()
        .map(|c| match c {
            '“' | '”' | '「' | '」' => '"',
            '－' | '—' => '-',
            c => c,
        })
        .collect();
    let chars: Vec<char> = q.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let negated = chars[i] == '-' && i + 1 < chars.len() && !chars[i + 1].is_whitespace();
        if negated {
            i += 1;
        }
        if chars[i] == '"' {
            let start = i + 1;
            let Some(len) = chars[start..].iter().position(|c| *c == '"') else {
                return Err("引号没有闭合 (a quote \" is not closed)".into());
            };
            let phrase: String = chars[start..start + len].iter().collect();
            i = start + len + 1;
            if phrase.trim().is_empty() {
                continue;
            }
            toks.push(Tok::Item(Item::Phrase(phrase.trim().to_string()), negated));
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '"' {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if word == "OR" && !negated {
                toks.push(Tok::Or);
            } else if word.chars().any(char::is_alphanumeric) {
                toks.push(Tok::Item(Item::Word(word), negated));
            }
        }
    }
    let mut parsed = Parsed::default();
    let mut join_next = false;
    for (n, tok) in toks.iter().enumerate() {
        match tok {
            Tok::Or => {
                let prev_ok = matches!(toks.get(n.wrapping_sub(1)), Some(Tok::Item(_, false)));
                let next_ok = matches!(toks.get(n + 1), Some(Tok::Item(_, false)));
                if !prev_ok || !next_ok {
                    return Err("OR 两边都要有要查找的词 (OR needs a word on each side)".into());
                }
                join_next = true;
            }
            Tok::Item(item, true) => parsed.excluded.push(item.clone()),
            Tok::Item(item, false) => {
                if join_next && let Some(last) = parsed.groups.last_mut() {
                    last.push(item.clone());
                } else {
                    parsed.groups.push(vec![item.clone()]);
                }
                join_next = false;
            }
        }
    }
    if parsed.groups.is_empty() {
        return Err(if parsed.excluded.is_empty() {
            "请输入要查找的词 (the query has nothing to look for)".into()
        } else {
            "只有排除词，请再给一个要查找的词 (only exclusions: add a word to look for)".into()
        });
    }
    Ok(parsed)
}

/// Spaces next to a Chinese character are dropped (`"志愿 服务"` is the phrase 志愿服务).
pub(crate) fn squeeze(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, c) in chars.iter().enumerate() {
        if c.is_whitespace() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p));
            let next = chars.get(i + 1);
            if prev.is_some_and(|p| dangan_text::is_cjk(*p))
                || next.is_some_and(|n| dangan_text::is_cjk(*n))
            {
                continue;
            }
        }
        out.push(*c);
    }
    out
}

pub(crate) fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~\"@<>".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Item {
        Item::Word(s.into())
    }

    #[test]
    fn words_phrases_exclusions_and_or() {
        let p = parse(r#"志愿 "主题党日" -请假 学习 OR 培训"#).unwrap();
        assert_eq!(
            p.groups,
            vec![
                vec![w("志愿")],
                vec![Item::Phrase("主题党日".into())],
                vec![w("学习"), w("培训")]
            ]
        );
        assert_eq!(p.excluded, vec![w("请假")]);
        assert_eq!(
            parse("“三会一课”").unwrap().groups[0][0],
            Item::Phrase("三会一课".into())
        );
    }

    #[test]
    fn bad_queries_say_why() {
        for q in ["", "   ", "-请假", "\"未闭合", "OR 学习", "学习 OR", "！！"] {
            assert!(parse(q).is_err(), "{q}");
        }
    }
}
