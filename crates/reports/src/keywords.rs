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

/// Texts below which one thread counts them all.
const PER_THREAD: usize = 2_000;

/// The top `k` words of each of `groups` groups (`group_of[i]`: the group of text `i`, if any):
/// count in the group × ln(N / number of texts holding the word), as tables of
/// (rank, word, count, items, weight). The texts are cut by jieba on every core, each thread
/// counting its share (the sentiment report's 300,000 texts of a 1M-member archive were a
/// second of one core).
pub fn top_words(
    texts: &[String],
    group_of: &[Option<usize>],
    groups: usize,
    k: usize,
) -> Result<Vec<Table>> {
    let n = texts.len() as f64;
    let threads = std::thread::available_parallelism()
        .map_or(1, |c| c.get())
        .min(texts.len().div_ceil(PER_THREAD))
        .max(1);
    let share = texts.len().div_ceil(threads).max(1);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let running: Vec<_> = texts
            .chunks(share)
            .zip(group_of.chunks(share))
            .map(|(texts, group_of)| scope.spawn(move || Tally::of(texts, group_of, groups)))
            .collect();
        running
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut tallies = tallies.into_iter();
    let mut all = tallies.next().unwrap_or_else(|| Tally::new(groups));
    for t in tallies {
        all.add(t);
    }
    all.top(n, k)
}

/// Word counts of some texts: in how many texts each word is (`df`), and per group how often
/// and in how many of the group's texts.
struct Tally {
    df: HashMap<String, usize>,
    counts: Vec<HashMap<String, (usize, usize)>>,
}

impl Tally {
    fn new(groups: usize) -> Self {
        Tally {
            df: HashMap::new(),
            counts: vec![HashMap::new(); groups],
        }
    }

    fn of(texts: &[String], group_of: &[Option<usize>], groups: usize) -> Self {
        let stop: HashSet<&str> = STOP.iter().copied().collect();
        let mut t = Tally::new(groups);
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
                    match t.df.get_mut(w.as_str()) {
                        Some(c) => *c += 1,
                        None => {
                            t.df.insert(w.clone(), 1);
                        }
                    }
                }
                if let Some(g) = g {
                    // The word is copied only the first time the group meets it.
                    let counts = &mut t.counts[g];
                    match counts.get_mut(w.as_str()) {
                        Some(e) => {
                            e.0 += 1;
                            e.1 += usize::from(first);
                        }
                        None => {
                            counts.insert(w.clone(), (1, usize::from(first)));
                        }
                    }
                }
            }
        }
        t
    }

    /// The top `k` words of each group, `n` texts in all.
    fn top(self, n: f64, k: usize) -> Result<Vec<Table>> {
        let Tally { df, counts } = self;
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

    /// Another share's counts added to these.
    fn add(&mut self, other: Tally) {
        for (w, c) in other.df {
            *self.df.entry(w).or_default() += c;
        }
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            for (w, (count, items)) in theirs {
                let e = mine.entry(w).or_default();
                e.0 += count;
                e.1 += items;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counted in shares on every core, the words rank exactly as counted in one pass.
    #[test]
    fn shares_add_up_to_one_count() {
        let words = [
            "形式主义",
            "学习教育",
            "志愿服务",
            "组织生活",
            "走过场",
            "理论学习",
        ];
        let texts: Vec<String> = (0..7_001)
            .map(|i| {
                format!(
                    "{}和{}，第{i}条",
                    words[i % words.len()],
                    words[(i * 7 + i / 3) % words.len()]
                )
            })
            .collect();
        let groups: Vec<Option<usize>> = (0..texts.len())
            .map(|i| [Some(0), Some(1), None][i % 3])
            .collect();
        let shared = top_words(&texts, &groups, 2, 5).unwrap();
        let one = Tally::of(&texts, &groups, 2)
            .top(texts.len() as f64, 5)
            .unwrap();
        assert_eq!(shared.len(), 2);
        for (a, b) in shared.iter().zip(&one) {
            assert!(a.height() > 0);
            for c in ["word", "count", "items", "weight"] {
                assert_eq!(a.column(c).unwrap(), b.column(c).unwrap(), "{c}");
            }
        }
    }
}
