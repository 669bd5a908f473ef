//! People found by name outside tantivy. A dataset whose only text is a person's name (members)
//! is kept as one Arrow table per table version under `<index>/names/` — each row's key,
//! member, branch, category and day beside the name's search form and its pinyin keys — and a
//! search scans those two columns' contiguous bytes with memchr's SIMD substring search. A
//! roster of a million is written at Arrow speed instead of as a million tantivy documents,
//! and found by the same query language, filters, scopes and facets, its matches ranked with
//! the texts' (BM25 of a short field).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use dangan_datasets::arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use dangan_datasets::arrow::compute::concat_batches;
use dangan_datasets::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use dangan_datasets::arrow::ipc::reader::FileReader;
use dangan_datasets::arrow::ipc::writer::FileWriter;
use memchr::memmem::Finder;

use crate::facets::Counts;
use crate::query::squeeze;
use crate::query::{Item, Parsed};
use crate::request::SearchRequest;
use crate::schema::date_of;
use crate::tokenizer::bigrams;

/// Column positions of a name table.
pub(crate) const KEY: usize = 0;
pub(crate) const MEMBER: usize = 1;
pub(crate) const ORG: usize = 2;
pub(crate) const CATEGORY: usize = 3;
pub(crate) const DAY: usize = 4;
pub(crate) const BODY: usize = 5;
/// The name's search form, letters and characters only (see [`compact`]).
pub(crate) const NORM: usize = 6;
/// The name's pinyin keys, each between spaces: ` zhangwei zw `.
pub(crate) const PINYIN: usize = 7;

/// BM25's k1 and b, as tantivy ranks the texts.
const K1: f32 = 1.2;
const B: f32 = 0.75;

pub(crate) fn schema() -> SchemaRef {
    let s = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    Arc::new(Schema::new(vec![
        s("key", false),
        s("member_id", true),
        s("org_id", true),
        s("category", true),
        Field::new("day", DataType::Int64, true),
        s("body", false),
        s("norm", false),
        s("pinyin", false),
    ]))
}

/// The search form a name is matched in: normalized (width, case, simplified characters)
/// with everything but letters, digits and Chinese characters dropped (`欧阳·娜娜` and
/// `欧阳娜娜` are one name).
pub(crate) fn compact(norm: &str) -> String {
    norm.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// The pinyin column's value for a name's keys.
pub(crate) fn pinyin_cell(keys: &[String]) -> String {
    let mut out = String::with_capacity(keys.iter().map(|k| k.len() + 1).sum::<usize>() + 1);
    out.push(' ');
    for k in keys {
        out.push_str(k);
        out.push(' ');
    }
    out
}

/// One dataset's people.
pub(crate) struct NameTable {
    pub dataset: String,
    batch: RecordBatch,
    /// Built on a thread of its own from the third look-up on (see [`Postings`]): a process
    /// that searches once (the CLI) scans, a server builds them without making a search wait.
    postings: std::sync::OnceLock<Postings>,
    lookups: std::sync::atomic::AtomicU32,
}

/// Where each character, each pair of adjacent characters and each pinyin key stands in a
/// name table: a search reads the rows of its pattern's rarest pair (or its one character, or
/// its key's hash) instead of scanning every name — a million names cost a few posting reads
/// per query, not a scan of their bytes.
#[derive(Default)]
struct Postings {
    chars: HashMap<char, Vec<u32>>,
    pairs: HashMap<(char, char), Vec<u32>>,
    /// By the FNV-1a hash of the key (a collision is checked against the row's keys).
    keys: HashMap<u64, Vec<u32>>,
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Add a row to a posting list once (rows come in order).
fn post(list: &mut Vec<u32>, row: u32) {
    if list.last() != Some(&row) {
        list.push(row);
    }
}

impl Postings {
    fn build(table: &NameTable) -> Postings {
        let mut p = Postings::default();
        let norm = table.text(NORM);
        let pinyin = table.text(PINYIN);
        for r in 0..table.rows() {
            let row = r as u32;
            let mut prev = None;
            for c in norm.value(r).chars() {
                post(p.chars.entry(c).or_default(), row);
                if let Some(b) = prev {
                    post(p.pairs.entry((b, c)).or_default(), row);
                }
                prev = Some(c);
            }
            for key in pinyin.value(r).split(' ').filter(|k| !k.is_empty()) {
                post(p.keys.entry(fnv(key.as_bytes())).or_default(), row);
            }
        }
        p
    }
}

impl NameTable {
    pub fn new(dataset: &str, batches: &[RecordBatch]) -> Result<NameTable, String> {
        let batch = concat_batches(&schema(), batches).map_err(|e| e.to_string())?;
        Ok(NameTable {
            dataset: dataset.to_string(),
            batch,
            postings: std::sync::OnceLock::new(),
            lookups: std::sync::atomic::AtomicU32::new(0),
        })
    }

    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    pub fn text(&self, column: usize) -> &StringArray {
        self.batch.column(column).as_string::<i32>()
    }

    fn day(&self) -> &Int64Array {
        self.batch.column(DAY).as_primitive::<Int64Type>()
    }

    /// Row `row`'s value of a text column.
    pub fn cell(&self, column: usize, row: usize) -> Option<&str> {
        cell(self.text(column), row)
    }

    pub fn day_at(&self, row: usize) -> Option<i64> {
        let d = self.day();
        (!d.is_null(row)).then(|| d.value(row))
    }

    /// Write the table to `path` (through a temporary file: a crash leaves no half file
    /// under the name).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        let io = |e: dangan_datasets::arrow::error::ArrowError| std::io::Error::other(e);
        {
            let file = std::fs::File::create(&tmp)?;
            let mut w =
                FileWriter::try_new(std::io::BufWriter::new(file), &schema()).map_err(io)?;
            w.write(&self.batch).map_err(io)?;
            w.finish().map_err(io)?;
            w.into_inner()
                .map_err(io)?
                .into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }

    pub fn read(dataset: &str, path: &Path) -> Result<NameTable, String> {
        let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let reader =
            FileReader::try_new(std::io::BufReader::new(file), None).map_err(|e| e.to_string())?;
        if reader.schema() != schema() {
            return Err("a name table of another layout".into());
        }
        let batches: Vec<RecordBatch> = reader
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        NameTable::new(dataset, &batches)
    }

    /// The rows whose search form holds `pattern` (`NORM`) or whose pinyin keys hold the key
    /// ` key ` (`PINYIN`), in order, once each, from the postings.
    fn rows_with(self: &Arc<Self>, column: usize, pattern: &str) -> Vec<u32> {
        let Some(p) = self.postings.get() else {
            // The third look-up has them built on a thread of their own; until they are,
            // searches scan (no search waits for them).
            if self
                .lookups
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                == 2
            {
                let table = self.clone();
                std::thread::spawn(move || {
                    table.postings.get_or_init(|| Postings::build(&table));
                });
            }
            return self.rows_holding(column, pattern);
        };
        let a = self.text(column);
        let check = |rows: &[u32]| -> Vec<u32> {
            rows.iter()
                .copied()
                .filter(|&r| a.value(r as usize).contains(pattern))
                .collect()
        };
        if column == PINYIN {
            let key = pattern.trim_matches(' ');
            return p
                .keys
                .get(&fnv(key.as_bytes()))
                .map_or_else(Vec::new, |rows| check(rows));
        }
        let chars: Vec<char> = pattern.chars().collect();
        match chars.as_slice() {
            [] => Vec::new(),
            [c] => p.chars.get(c).cloned().unwrap_or_default(),
            [a, b] => p.pairs.get(&(*a, *b)).cloned().unwrap_or_default(),
            more => {
                let rarest = more
                    .windows(2)
                    .map(|w| p.pairs.get(&(w[0], w[1])).map_or(&[][..], Vec::as_slice))
                    .min_by_key(|rows| rows.len())
                    .unwrap_or(&[]);
                check(rarest)
            }
        }
    }

    /// The rows whose value of `column` contains `pattern`, by scanning (before the postings
    /// are built; the tests compare the two). The column's
    /// values are one buffer: the pattern is looked for in all of it at once, and a find that
    /// runs from one row into the next is passed over (the search goes on in the next row).
    fn rows_holding(&self, column: usize, pattern: &str) -> Vec<u32> {
        let a = self.text(column);
        let offsets = a.value_offsets();
        let (first, last) = (offsets[0] as usize, offsets[a.len()] as usize);
        let values = &a.values()[..last];
        let finder = Finder::new(pattern.as_bytes());
        let n = pattern.len();
        let mut out = Vec::new();
        let mut at = first;
        while at < last {
            let Some(found) = finder.find(&values[at..]) else {
                break;
            };
            let start = at + found;
            // The row whose bytes hold `start`: the last whose offset is at or before it.
            let row = offsets.partition_point(|&o| o as usize <= start) - 1;
            let row_end = offsets[row + 1] as usize;
            if start + n <= row_end && !a.is_null(row) {
                out.push(row as u32);
            }
            at = row_end.max(start + 1);
        }
        out
    }

    /// The matches of a query that pass the request's filters: each row's score, day and
    /// position, and (with `facets`) their counts. `docs`: the number of documents ranked in
    /// all (for the terms' weights).
    pub fn search(
        self: &Arc<Self>,
        q: &NameQuery,
        req: &SearchRequest,
        docs: u64,
        facets: bool,
    ) -> (Vec<(f32, i64, u32)>, Counts) {
        let mut counts = Counts::default();
        if !req.datasets.is_empty() && !req.datasets.contains(&self.dataset) {
            return (Vec::new(), counts);
        }
        // What a department may read of this dataset.
        let scope: Option<Option<HashSet<&str>>> = match &req.scopes {
            None => Some(None),
            Some(scopes) => scopes.iter().find(|s| s.dataset == self.dataset).map(|s| {
                s.orgs
                    .as_ref()
                    .map(|o| o.iter().map(String::as_str).collect())
            }),
        };
        let Some(scope) = scope else {
            return (Vec::new(), counts);
        };
        let orgs: Option<HashSet<&str>> = req
            .orgs
            .as_ref()
            .map(|o| o.iter().map(String::as_str).collect());
        let weight = |df: usize| -> f32 {
            let (n, df) = (docs.max(df as u64) as f32, df as f32);
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            // One occurrence in a field far shorter than the texts' average.
            idf * (K1 + 1.0) / (1.0 + K1 * (1.0 - B))
        };
        // Each group's rows with the best weight of the alternatives that match them; every
        // group must match.
        let mut scored: Option<Vec<(u32, f32)>> = None;
        for group in &q.groups {
            let mut rows: Vec<(u32, f32)> = Vec::new();
            for alt in group {
                for (column, pattern) in [(NORM, &alt.norm), (PINYIN, &alt.pinyin)] {
                    if let Some(p) = pattern {
                        let found = self.rows_with(column, p);
                        let w = weight(found.len());
                        rows = union_max(&rows, found.into_iter().map(|r| (r, w)));
                    }
                }
            }
            scored = Some(match scored {
                None => rows,
                Some(prev) => intersect_sum(&prev, &rows),
            });
        }
        let mut scored = scored.unwrap_or_default();
        // `zhang wei`: the words together are a name's pinyin.
        if let Some(py) = &q.spelled {
            let found = self.rows_with(PINYIN, py);
            let w = weight(found.len());
            scored = union_max(&scored, found.into_iter().map(|r| (r, w)));
        }
        let norm = self.text(NORM);
        let org = self.text(ORG);
        let category = self.text(CATEGORY);
        let day = self.day();
        let from = req.from.map(crate::schema::day_of);
        let to = req.to.map(crate::schema::day_of);
        let mut out = Vec::new();
        for (row, score) in scored {
            let r = row as usize;
            if q.excluded
                .iter()
                .any(|x| norm.value(r).contains(x.as_str()))
            {
                continue;
            }
            let org_id = cell(org, r);
            let in_orgs = |set: &Option<HashSet<&str>>| {
                set.as_ref()
                    .is_none_or(|s| org_id.is_some_and(|o| s.contains(o)))
            };
            if !in_orgs(&scope) || !in_orgs(&orgs) {
                continue;
            }
            let d = (!day.is_null(r)).then(|| day.value(r));
            if (from.is_some() || to.is_some())
                && !d.is_some_and(|d| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t))
            {
                continue;
            }
            if let Some(c) = &req.category
                && cell(category, r) != Some(c.as_str())
            {
                continue;
            }
            if facets {
                counts.total += 1;
                if let Some(o) = org_id {
                    *counts.org.entry(o.to_string()).or_default() += 1;
                }
                if let Some(year) = d
                    .and_then(date_of)
                    .map(|d| chrono::Datelike::year(&d) as i64)
                {
                    *counts.year.entry(year).or_default() += 1;
                }
            }
            out.push((score, d.unwrap_or(i64::MIN), row));
        }
        if facets && counts.total > 0 {
            counts.dataset.insert(self.dataset.clone(), counts.total);
        }
        (out, counts)
    }
}

/// Row `r` of a text column.
fn cell(a: &StringArray, r: usize) -> Option<&str> {
    (!a.is_null(r)).then(|| a.value(r))
}

/// Two row lists (in row order) as one, a row in both with the larger weight.
fn union_max(a: &[(u32, f32)], b: impl IntoIterator<Item = (u32, f32)>) -> Vec<(u32, f32)> {
    let mut out = Vec::with_capacity(a.len());
    let mut a = a.iter().copied().peekable();
    for (r, w) in b {
        while let Some(&(ra, wa)) = a.peek()
            && ra < r
        {
            out.push((ra, wa));
            a.next();
        }
        match a.peek() {
            Some(&(ra, wa)) if ra == r => {
                out.push((r, w.max(wa)));
                a.next();
            }
            _ => out.push((r, w)),
        }
    }
    out.extend(a);
    out
}

/// The rows in both lists (in row order), their weights added.
fn intersect_sum(a: &[(u32, f32)], b: &[(u32, f32)]) -> Vec<(u32, f32)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// One alternative of a group: the name holds `norm`, or has the pinyin key (` key `).
pub(crate) struct Alt {
    norm: Option<String>,
    pinyin: Option<String>,
}

/// A parsed query as the name tables look for it.
pub(crate) struct NameQuery {
    groups: Vec<Vec<Alt>>,
    excluded: Vec<String>,
    spelled: Option<String>,
}

impl NameQuery {
    pub fn new(parsed: &Parsed, query: &str) -> NameQuery {
        // What tantivy finds by an item's bigrams; an item without any finds nothing.
        let form = |item: &Item| -> Option<String> {
            let norm = dangan_text::normalize_for_search(&squeeze(item.text()));
            if bigrams(&norm, true).is_empty() {
                return None;
            }
            Some(compact(&norm)).filter(|c| !c.is_empty())
        };
        let key = |py: String| format!(" {py} ");
        let groups = parsed
            .groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|item| Alt {
                        norm: form(item),
                        pinyin: match item {
                            Item::Word(w) => dangan_text::pinyin_query(w).map(key),
                            Item::Phrase(_) => None,
                        },
                    })
                    .collect()
            })
            .collect();
        NameQuery {
            groups,
            excluded: parsed.excluded.iter().filter_map(form).collect(),
            spelled: (parsed.groups.len() > 1)
                .then(|| dangan_text::pinyin_query(query))
                .flatten()
                .map(key),
        }
    }
}

/// The name tables the index holds: dataset → file, and the tables read from them.
#[derive(Default)]
pub(crate) struct NameSet {
    pub files: BTreeMap<String, String>,
    pub tables: Vec<Arc<NameTable>>,
    /// Changes when the files do (part of what a cached result is valid for).
    pub generation: u64,
}

impl NameSet {
    /// The tables of `files` under `dir`, reusing those of `old` that did not change. A file
    /// that cannot be read is left out and said (the next sync writes it again).
    pub fn load(dir: &Path, files: &BTreeMap<String, String>, old: &NameSet) -> NameSet {
        use std::hash::{Hash, Hasher};
        let mut tables = Vec::new();
        for (dataset, file) in files {
            if old.files.get(dataset) == Some(file)
                && let Some(t) = old.tables.iter().find(|t| &t.dataset == dataset)
            {
                tables.push(t.clone());
                continue;
            }
            match NameTable::read(dataset, &dir.join(file)) {
                Ok(t) => tables.push(Arc::new(t)),
                Err(e) => tracing::warn!(
                    "the name table of {dataset} ({file}) cannot be read: {e}; `dangan index sync --rebuild` writes it again"
                ),
            }
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        files.hash(&mut h);
        NameSet {
            files: files.clone(),
            tables,
            generation: h.finish(),
        }
    }

    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings<'a>(
        cells: impl Iterator<Item = Option<&'a str>>,
    ) -> dangan_datasets::arrow::array::ArrayRef {
        Arc::new(cells.collect::<StringArray>())
    }

    fn table(names: &[&str]) -> Arc<NameTable> {
        let n = names.len();
        let norm: Vec<String> = names
            .iter()
            .map(|s| compact(&dangan_text::normalize_for_search(s)))
            .collect();
        let py: Vec<String> = names
            .iter()
            .map(|s| pinyin_cell(&dangan_text::name_keys(s)))
            .collect();
        let keys: Vec<String> = (0..n).map(|i| format!("M{i}")).collect();
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                strings(keys.iter().map(|k| Some(k.as_str()))),
                strings(keys.iter().map(|k| Some(k.as_str()))),
                strings((0..n).map(|i| Some(if i % 2 == 0 { "D1" } else { "D2" }))),
                strings((0..n).map(|_| None)),
                Arc::new(Int64Array::from(vec![None; n])),
                strings(names.iter().map(|s| Some(*s))),
                strings(norm.iter().map(|s| Some(s.as_str()))),
                strings(py.iter().map(|s| Some(s.as_str()))),
            ],
        )
        .unwrap();
        Arc::new(NameTable::new("people", &[batch]).unwrap())
    }

    fn found(t: &Arc<NameTable>, q: &str, req: SearchRequest) -> Vec<u32> {
        let parsed = crate::query::parse(q).unwrap();
        let mut rows: Vec<u32> = t
            .search(&NameQuery::new(&parsed, q), &req, 100, true)
            .0
            .into_iter()
            .map(|m| m.2)
            .collect();
        rows.sort();
        rows
    }

    #[test]
    fn a_find_across_two_rows_is_passed_over_and_the_next_row_still_searched() {
        // 王 | 王王 | 芳王 | 王芳: "王王" runs from row 0 into row 1, and row 1 holds it.
        let t = table(&["王", "王王", "芳王", "王芳"]);
        assert_eq!(t.rows_holding(NORM, "王王"), vec![1]);
        assert_eq!(t.rows_holding(NORM, "王芳"), vec![3]);
        assert_eq!(t.rows_holding(NORM, "芳王"), vec![2]);
        assert_eq!(t.rows_holding(NORM, "王"), vec![0, 1, 2, 3]);
        assert!(t.rows_holding(NORM, "芳芳").is_empty());
    }

    #[test]
    fn the_postings_find_what_a_scan_finds() {
        let sur = ["王", "张", "欧阳", "李", "伟"];
        let giv = ["伟", "芳", "娜娜", "王", "伟伟", "强"];
        let mut names: Vec<String> = Vec::new();
        for (i, s) in sur.iter().enumerate() {
            for (j, g) in giv.iter().enumerate() {
                names.push(format!("{s}{g}"));
                names.push(format!("{s}{}{g}", giv[(i + j) % giv.len()]));
            }
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let t = table(&refs);
        let mut patterns: Vec<String> = Vec::new();
        for n in names.iter().step_by(7) {
            let chars: Vec<char> = compact(&dangan_text::normalize_for_search(n))
                .chars()
                .collect();
            for len in 1..=chars.len().min(4) {
                patterns.push(chars[..len].iter().collect());
                patterns.push(chars[chars.len() - len..].iter().collect());
            }
        }
        patterns.extend(["王王", "伟伟伟", "zz", "a"].map(String::from));
        let _ = t.postings.get_or_init(|| Postings::build(&t));
        for pat in &patterns {
            assert_eq!(t.rows_with(NORM, pat), t.rows_holding(NORM, pat), "{pat}");
        }
        for key in [
            "zhangwei",
            "zw",
            "wangfang",
            "wf",
            "ouyangnana",
            "nosuchkey",
            "w",
        ] {
            let k = format!(" {key} ");
            assert_eq!(t.rows_with(PINYIN, &k), t.rows_holding(PINYIN, &k), "{key}");
        }
    }

    #[test]
    fn names_by_characters_pinyin_groups_exclusions_and_scopes() {
        let t = table(&["王芳", "张伟", "王伟", "欧阳·娜娜", "張偉"]);
        let all = SearchRequest::default();
        assert_eq!(found(&t, "王", all.clone()), vec![0, 2]);
        assert_eq!(
            found(&t, "张伟", all.clone()),
            vec![1, 4],
            "traditional too"
        );
        assert_eq!(found(&t, "zhangwei", all.clone()), vec![1, 4]);
        assert_eq!(found(&t, "zw", all.clone()), vec![1, 4]);
        assert_eq!(found(&t, "zhang wei", all.clone()), vec![1, 4]);
        assert_eq!(found(&t, "欧阳娜娜", all.clone()), vec![3]);
        assert_eq!(found(&t, "王 -芳", all.clone()), vec![2]);
        assert_eq!(found(&t, "王芳 OR 张伟", all.clone()), vec![0, 1, 4]);
        assert_eq!(found(&t, "\"wangfang\"", all.clone()), Vec::<u32>::new());
        let scoped = |scopes: Vec<(&str, Option<Vec<&str>>)>| SearchRequest {
            scopes: Some(
                scopes
                    .into_iter()
                    .map(|(d, o)| crate::ResolvedScope {
                        dataset: d.to_string(),
                        orgs: o.map(|o| o.into_iter().map(str::to_string).collect()),
                    })
                    .collect(),
            ),
            ..Default::default()
        };
        assert_eq!(
            found(&t, "王", scoped(vec![("people", Some(vec!["D1"]))])),
            vec![0, 2]
        );
        assert_eq!(
            found(&t, "伟", scoped(vec![("people", Some(vec!["D1"]))])),
            vec![2, 4]
        );
        assert!(found(&t, "王", scoped(vec![("other", None)])).is_empty());
        assert!(found(&t, "王", scoped(vec![])).is_empty());
        let elsewhere = SearchRequest {
            datasets: vec!["other".into()],
            ..Default::default()
        };
        assert!(found(&t, "王", elsewhere).is_empty());
    }

    #[test]
    fn a_table_written_reads_back_the_same() {
        let t = table(&["王芳", "张伟"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("people.arrow");
        t.write(&path).unwrap();
        let back = NameTable::read("people", &path).unwrap();
        assert_eq!(back.batch(), t.batch());
        std::fs::write(&path, b"not arrow").unwrap();
        assert!(NameTable::read("people", &path).is_err());
    }
}
