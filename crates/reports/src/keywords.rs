//! Keywords of a set of texts: jieba words ranked by TF-IDF, where the term frequency counts
//! in one group of texts (negative items, say) and the inverse document frequency over all.

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::table::{self, Table};

/// Words that carry no topic.
const STOP: &[&str] = &[
    "我们",
    "他们",
    "自己",
    "一个",
    "这个",
    "那个",
    "这些",
    "那些",
    "没有",
    "不是",
    "还是",
    "就是",
    "可以",
    "因为",
    "所以",
    "但是",
    "不过",
    "而且",
    "并且",
    "以及",
    "同时",
    "已经",
    "目前",
    "进行",
    "通过",
    "希望",
    "今后",
    "进一步",
    "非常",
    "比较",
    "有些",
    "一些",
    "什么",
    "怎么",
    "如何",
    "有关",
    "关于",
    "对于",
    "其中",
    "以来",
    "方面",
    "工作",
    "问题",
    "情况",
    "支部",
    "党员",
    "本人",
    "认为",
    "觉得",
    "存在",
    "能够",
    "需要",
    "应该",
    "还有",
    "一下",
    "这样",
    "那样",
    "特别",
];

/// The top `k` words of each of `groups` groups (`group_of[i]`: the group of text `i`, if any):
/// count in the group × ln(N / number of texts holding the word), as tables of
/// (rank, word, count, items, weight).
pub fn top_words(
    texts: &[String],
    group_of: &[Option<usize>],
    groups: usize,
    k: usize,
) -> Result<Vec<Table>> {
    let stop: HashSet<&str> = STOP.iter().copied().collect();
    let n = texts.len() as f64;
    let mut df: HashMap<String, usize> = HashMap::new();
    let mut counts: Vec<HashMap<String, (usize, usize)>> = vec![HashMap::new(); groups];
    for (text, g) in texts.iter().zip(group_of) {
        let words = dangan_text::segment(text);
        let mut seen: HashSet<&str> = HashSet::new();
        let g = g.filter(|g| *g < groups);
        for w in &words {
            if w.chars().count() < 2
                || !dangan_text::is_word(w)
                || stop.contains(w.as_str())
                || w.chars().all(|c| c.is_ascii_digit())
            {
                continue;
            }
            let first = seen.insert(w.as_str());
            if first {
                *df.entry(w.clone()).or_default() += 1;
            }
            if let Some(g) = g {
                let e = counts[g].entry(w.clone()).or_default();
                e.0 += 1;
                if first {
                    e.1 += 1;
                }
            }
        }
    }
    let top = |g: &HashMap<String, (usize, usize)>| -> Result<Table> {
        let mut v: Vec<(&String, usize, usize, f64)> = g
            .iter()
            .map(|(w, (count, items))| {
                let idf = (n / df.get(w).copied().unwrap_or(1) as f64).ln();
                (w, *count, *items, *count as f64 * idf)
            })
            .collect();
        v.sort_by(|a, b| b.3.total_cmp(&a.3).then(a.0.cmp(b.0)));
        v.truncate(k);
        Table::build(vec![
            ("rank", table::ints(1..=v.len() as i64)),
            ("word", table::strs(v.iter().map(|x| x.0))),
            ("count", table::ints(v.iter().map(|x| x.1 as i64))),
            ("items", table::ints(v.iter().map(|x| x.2 as i64))),
            (
                "weight",
                table::floats(v.iter().map(|x| (x.3 * 10.0).round() / 10.0)),
            ),
        ])
    };
    counts.iter().map(top).collect()
}
