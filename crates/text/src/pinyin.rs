//! Pinyin keys for names, so that `zhangwei`, `zhang wei` and the initials `zw` all find 张伟.
//! Every reading of a character with several is indexed (重 zhong/chong), and surnames take
//! their surname reading too (曾 zeng, 单 shan, 解 xie, 仇 qiu, …), which dictionaries list as
//! a rare reading or not at all.

use std::borrow::Cow;

use pinyin::ToPinyinMulti;

/// Surnames read differently from the character's common reading.
const SURNAME_READINGS: &[(char, &str)] = &[
    ('曾', "zeng"),
    ('单', "shan"),
    ('解', "xie"),
    ('仇', "qiu"),
    ('区', "ou"),
    ('查', "zha"),
    ('朴', "piao"),
    ('乐', "yue"),
    ('尉', "yu"),
    ('盖', "ge"),
    ('缪', "miao"),
    ('覃', "qin"),
    ('冼', "xian"),
    ('燕', "yan"),
    ('员', "yun"),
    ('秘', "bi"),
    ('繁', "po"),
    ('种', "chong"),
    ('重', "chong"),
    ('万', "wan"),
    ('薄', "bo"),
    ('召', "shao"),
    ('晟', "cheng"),
    ('翟', "zhai"),
    ('长', "chang"),
    ('折', "she"),
    ('郇', "huan"),
    ('黑', "he"),
];

/// At most this many reading combinations per name (a name of four heteronyms stays small).
const MAX_COMBINATIONS: usize = 32;

/// The readings of each character of `name` (non-Chinese characters are kept, lower-cased).
fn readings(name: &str) -> Vec<Vec<Cow<'static, str>>> {
    let mut out: Vec<Vec<Cow<'static, str>>> = Vec::new();
    for (i, c) in crate::normalize_for_search(name).chars().enumerate() {
        if c.is_whitespace() || c == '·' || c == '•' {
            continue;
        }
        // The dictionary's readings are static text: no string is made per reading.
        let mut r: Vec<Cow<'static, str>> = match c.to_pinyin_multi() {
            Some(multi) => multi
                .into_iter()
                .map(|p| Cow::Borrowed(p.plain()))
                .collect(),
            None if c.is_alphanumeric() => vec![Cow::Owned(c.to_lowercase().collect())],
            None => continue,
        };
        // A surname's own reading comes first.
        if i == 0
            && let Some((_, s)) = SURNAME_READINGS.iter().find(|(ch, _)| *ch == c)
        {
            r.retain(|x| x != s);
            r.insert(0, Cow::Borrowed(s));
        }
        r.dedup();
        out.push(r);
    }
    out
}

/// Keys to index for a name: the full pinyin (`zhangwei`) and the initials (`zw`) of every
/// reading combination.
pub fn name_keys(name: &str) -> Vec<String> {
    let readings = readings(name);
    // Most names have one reading per character: one full key and one of initials.
    if readings.iter().all(|r| r.len() == 1) {
        let full: String = readings.iter().map(|r| r[0].as_ref()).collect();
        let initials: String = readings
            .iter()
            .filter_map(|r| r[0].chars().next())
            .collect();
        let mut keys: Vec<String> = [full, initials]
            .into_iter()
            .filter(|k| !k.is_empty())
            .collect();
        keys.sort();
        keys.dedup();
        return keys;
    }
    let mut combos: Vec<(String, String)> = vec![(String::new(), String::new())];
    for r in readings {
        let mut next = Vec::new();
        for (full, initials) in &combos {
            for p in &r {
                if next.len() >= MAX_COMBINATIONS {
                    break;
                }
                let mut f = full.clone();
                f.push_str(p);
                let mut i = initials.clone();
                i.extend(p.chars().next());
                next.push((f, i));
            }
        }
        combos = next;
    }
    let mut keys: Vec<String> = combos
        .into_iter()
        .flat_map(|(f, i)| [f, i])
        .filter(|k| !k.is_empty())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The everyday pinyin of a name: the first (most common) reading of each character, the
/// surname reading for the first (`陆子志` → `luzizhi`, `曾志强` → `zengzhiqiang`).
pub fn name_pinyin(name: &str) -> String {
    readings(name)
        .into_iter()
        .filter_map(|r| r.into_iter().next())
        .collect()
}

/// The form a typed pinyin query is looked up in: letters only, lower-case (`Zhang Wei` →
/// `zhangwei`); `None` when the query is not plain Latin letters and spaces.
pub fn pinyin_query(q: &str) -> Option<String> {
    let q = q.trim();
    if q.is_empty()
        || !q
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '\'')
    {
        return None;
    }
    Some(
        q.chars()
            .filter(char::is_ascii_alphabetic)
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reading_per_character_gives_the_full_key_and_the_initials() {
        assert_eq!(
            name_keys("刘芳"),
            vec!["lf".to_string(), "liufang".to_string()]
        );
        assert_eq!(name_keys("Li"), vec!["li".to_string()]);
        assert!(name_keys("·").is_empty());
    }

    #[test]
    fn full_initials_heteronyms_and_surname_readings() {
        let k = name_keys("张伟");
        assert!(
            k.contains(&"zhangwei".to_string()) && k.contains(&"zw".to_string()),
            "{k:?}"
        );
        let k = name_keys("曾志强");
        assert!(k.contains(&"zengzhiqiang".to_string()), "{k:?}");
        assert!(k.contains(&"zzq".to_string()), "{k:?}");
        for (name, key) in [
            ("单雄", "shanxiong"),
            ("解放", "xiefang"),
            ("仇军", "qiujun"),
        ] {
            assert!(
                name_keys(name).contains(&key.to_string()),
                "{name}: {:?}",
                name_keys(name)
            );
        }
        // A heteronym inside a given name: every reading.
        let k = name_keys("李重阳");
        assert!(
            k.contains(&"lizhongyang".to_string()) && k.contains(&"lichongyang".to_string()),
            "{k:?}"
        );
        assert_eq!(pinyin_query("Zhang Wei").as_deref(), Some("zhangwei"));
        assert_eq!(name_pinyin("陆子志"), "luzizhi");
        assert_eq!(name_pinyin("曾志强"), "zengzhiqiang");
        assert_eq!(pinyin_query("张伟"), None);
    }
}
