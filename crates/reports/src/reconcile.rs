//! The yearly reconciliation of the membership report, in the style of the annual statistics:
//! for each year, the members at its opening (the roster as the lake held it at the end of the
//! year before, `members_asof`), those admitted, transferred in, transferred out, expelled,
//! deceased, and the closing count; a closing that the movements do not explain is flagged,
//! with the members behind it (members leave only through a recorded transition, never by
//! disappearing from the roster).

use std::collections::{BTreeMap, HashMap};

use crate::table::{self, Table};
use crate::util::sql_str;
use crate::{Chart, Params, Result, Section};
use chrono::{Datelike, NaiveDate};

/// The movements of a year, in the order of the annual statistics.
const MOVES: [(&str, &str); 6] = [
    ("joined", "发展党员"),
    ("transferred_in", "转入"),
    ("transferred_out", "转出"),
    ("expelled", "出党"),
    ("died", "去世"),
    ("unexplained", "未记录原因减少"),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Move {
    Joined,
    In,
    Out,
    Expelled,
    Died,
    Unexplained,
}

impl Move {
    fn index(self) -> usize {
        self as usize
    }
}

/// The years reconciled: `from`'s year (default: four years before `to`'s) to `to`'s year;
/// each needs the roster at the end of the year before.
fn years(p: &Params) -> (i32, i32, NaiveDate) {
    let to = p.to.unwrap_or(p.as_of);
    let last = to.year();
    let first = p.from.map(|d| d.year()).unwrap_or(last - 4).min(last);
    (first, last, to)
}

/// One query: the roster at the end of every year from the year before the first to the last
/// (the last as of the report's last day), with the year it stands for.
pub fn query(p: &Params) -> String {
    let (first, last, to) = years(p);
    (first - 1..=last)
        .map(|y| {
            let day = if y == last {
                to
            } else {
                NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or(to)
            };
            format!(
                "SELECT CAST({y} AS BIGINT) AS year, member_id, name, org_id, category, status, \
                 CAST(date_part('year', join_date) AS BIGINT) AS join_year \
                 FROM members_asof({})",
                sql_str(&day.format("%Y-%m-%d").to_string())
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// One line of a reconciliation table: year, organization (id, name) unless the scope's,
/// opening and closing counts, the movements in the order of [`MOVES`].
type Line = (i32, Option<(String, String)>, [i64; 2], [i64; 6]);

/// One member in one year's roster.
struct Entry {
    row: usize,
    counted: bool,
}

/// A member who left the count without a recorded reason.
struct Unexplained {
    year: i32,
    prev: usize,
    now: Option<usize>,
}

/// Party members in the count: full and probationary members who have not left.
fn counted(category: &str, status: &str) -> bool {
    matches!(category, "正式党员" | "预备党员") && !matches!(status, "转出" | "出党" | "去世")
}

/// The reconciliation sections: per year for the report's scope, per organization for the
/// last year, and the members behind every difference.
pub fn sections(
    snapshots: &Table,
    org_names: &HashMap<String, String>,
    p: &Params,
) -> Result<Vec<Section>> {
    let (first, last, _) = years(p);
    // Only the rosters a reconciled year needs (a year needs the one before it): with a
    // single roster in the lake there is nothing to compare and nothing to read.
    let all_years: Vec<i32> = snapshots
        .floats("year")?
        .iter()
        .map(|v| *v as i32)
        .collect();
    let present: std::collections::BTreeSet<i32> = all_years.iter().copied().collect();
    let needed: std::collections::BTreeSet<i32> = (first..=last)
        .filter(|y| present.contains(&(y - 1)))
        .flat_map(|y| [y - 1, y])
        .collect();
    let keep: Vec<usize> = (0..all_years.len())
        .filter(|i| needed.contains(&all_years[*i]))
        .collect();
    let snapshots = &snapshots.take(&keep)?;
    let year: Vec<i32> = keep.iter().map(|i| all_years[*i]).collect();
    let ids = snapshots.strings("member_id")?;
    let names = snapshots.strings("name")?;
    let orgs = snapshots.strings("org_id")?;
    let category = snapshots.strings("category")?;
    let status = snapshots.strings("status")?;
    let join_year: Vec<Option<i32>> = snapshots
        .ints("join_year")?
        .iter()
        .map(|v| v.map(|v| v as i32))
        .collect();
    let in_scope = |org: &str| p.orgs.as_ref().is_none_or(|s| s.iter().any(|o| o == org));

    let mut rosters: BTreeMap<i32, HashMap<&str, Entry>> = BTreeMap::new();
    for (row, y) in year.iter().enumerate() {
        rosters.entry(*y).or_default().insert(
            &ids[row],
            Entry {
                row,
                counted: counted(&category[row], &status[row]),
            },
        );
    }
    let empty = HashMap::new();

    // Per year for the scope; per organization and year; the members behind differences.
    let mut scope_rows: Vec<(i32, [i64; 2], [i64; 6])> = Vec::new();
    let mut per_org: BTreeMap<(i32, String), ([i64; 2], [i64; 6])> = BTreeMap::new();
    let mut unexplained = Vec::new();
    let mut without_history = Vec::new();
    for y in first..=last {
        let prev = rosters.get(&(y - 1)).unwrap_or(&empty);
        let now = rosters.get(&y).unwrap_or(&empty);
        if prev.is_empty() {
            without_history.push(y);
            continue;
        }
        let mut scope = ([0i64; 2], [0i64; 6]);
        // Where a member stands: counted in which organization.
        let place = |e: Option<&Entry>| {
            e.filter(|e| e.counted)
                .map(|e| orgs[e.row].as_str())
                .filter(|o| !o.is_empty())
        };
        let mut keys: Vec<&str> = prev.keys().chain(now.keys()).copied().collect();
        keys.sort_unstable();
        keys.dedup();
        for id in keys {
            let (before, after) = (prev.get(id), now.get(id));
            let (was, is) = (place(before), place(after));
            // Why a member stopped counting somewhere (`to` where they went, if counted).
            let leaving = |to: Option<&str>| match after {
                None => Move::Unexplained,
                Some(a) => match status[a.row].as_str() {
                    "转出" => Move::Out,
                    "出党" => Move::Expelled,
                    "去世" => Move::Died,
                    _ if to.is_some() => Move::Out,
                    _ => Move::Unexplained,
                },
            };
            // Why a member started counting somewhere (`from` where they came from).
            let arriving = |from: Option<&str>| {
                let admitted = after.and_then(|a| join_year[a.row]) == Some(y);
                if from.is_some() {
                    Move::In
                } else if admitted || before.is_some_and(|b| !b.counted && status[b.row] != "转出")
                {
                    Move::Joined
                } else {
                    Move::In
                }
            };
            // Per organization.
            if was != is {
                if let Some(o) = was {
                    let m = leaving(is);
                    per_org.entry((y, o.to_string())).or_default().1[m.index()] += 1;
                    if m == Move::Unexplained {
                        unexplained.push(Unexplained {
                            year: y,
                            prev: before.map(|b| b.row).unwrap_or_default(),
                            now: after.map(|a| a.row),
                        });
                    }
                }
                if let Some(o) = is {
                    let m = arriving(was);
                    per_org.entry((y, o.to_string())).or_default().1[m.index()] += 1;
                }
            }
            if let Some(o) = was {
                per_org.entry((y, o.to_string())).or_default().0[0] += 1;
            }
            if let Some(o) = is {
                per_org.entry((y, o.to_string())).or_default().0[1] += 1;
            }
            // For the scope (a move between two of its organizations is no move).
            let was_in = was.filter(|o| in_scope(o));
            let is_in = is.filter(|o| in_scope(o));
            if was_in.is_some() {
                scope.0[0] += 1;
            }
            if is_in.is_some() {
                scope.0[1] += 1;
            }
            match (was_in, is_in) {
                (Some(_), None) => scope.1[leaving(is).index()] += 1,
                (None, Some(_)) => scope.1[arriving(was).index()] += 1,
                _ => {}
            }
        }
        scope_rows.push((y, scope.0, scope.1));
    }
    // Differences of members outside the scope are not this report's.
    unexplained.retain(|u| in_scope(&orgs[u.prev]));

    let mut sections = Vec::new();
    let history_note = if without_history.is_empty() {
        String::new()
    } else {
        format!(
            "{} 年未能对账：湖中没有上年末的党员名册（最早的名册是此后才导入的）。",
            without_history
                .iter()
                .map(|y| y.to_string())
                .collect::<Vec<_>>()
                .join("、")
        )
    };
    let note = format!(
        "年初数为上年末湖中的党员名册（members_asof），年末数为当年末的名册；\
         应有年末数 = 年初数 + 发展党员 + 转入 − 转出 − 出党 − 去世，与实际年末数不符的标为“不符”，\
         原因见“对账差异名单”（党员只能经转出、出党、去世减少，不应从名册中消失）。{history_note}"
    );
    let table = |rows: Vec<Line>| {
        let expected: Vec<i64> = rows
            .iter()
            .map(|(_, _, c, m)| c[0] + m[0] + m[1] - m[2] - m[3] - m[4])
            .collect();
        let mut columns = vec![("year", table::ints(rows.iter().map(|r| i64::from(r.0))))];
        if rows.iter().any(|r| r.1.is_some()) {
            columns.push((
                "org_id",
                table::strs(rows.iter().map(|r| r.1.clone().unwrap_or_default().0)),
            ));
            columns.push((
                "org_name",
                table::strs(rows.iter().map(|r| r.1.clone().unwrap_or_default().1)),
            ));
        }
        columns.push(("opening", table::ints(rows.iter().map(|r| r.2[0]))));
        for (k, (name, _)) in MOVES.iter().enumerate() {
            columns.push((name, table::ints(rows.iter().map(|r| r.3[k]))));
        }
        columns.push(("expected", table::ints(expected.iter().copied())));
        columns.push(("closing", table::ints(rows.iter().map(|r| r.2[1]))));
        columns.push((
            "check",
            table::strs(rows.iter().zip(&expected).map(|(r, e)| {
                if r.2[1] == *e {
                    "相符".to_string()
                } else {
                    format!("不符（差 {}）", r.2[1] - e)
                }
            })),
        ));
        Table::build(columns)
    };
    let mut labels = vec![
        ("year", "年度"),
        ("org_id", "组织编号"),
        ("org_name", "组织名称"),
    ];
    labels.push(("opening", "年初数"));
    labels.extend(MOVES);
    labels.extend([
        ("expected", "应有年末数"),
        ("closing", "年末数"),
        ("check", "核对"),
    ]);

    let yearly = table(
        scope_rows
            .iter()
            .map(|(y, c, m)| (*y, None, *c, *m))
            .collect(),
    )?;
    let mut s = Section::new("年度党员数对账", yearly, &labels).note(note);
    if scope_rows.len() > 1 {
        s = s.chart(Chart::Line {
            x: "year".into(),
            ys: vec!["opening".into(), "closing".into()],
        });
    }
    sections.push(s);

    if let Some(&(y, _, _)) = scope_rows.last() {
        let rows = per_org
            .iter()
            .filter(|((year, org), _)| *year == y && in_scope(org))
            .map(|((year, org), (c, m))| {
                let name = org_names.get(org).cloned().unwrap_or_else(|| org.clone());
                (*year, Some((org.clone(), name)), *c, *m)
            })
            .collect();
        sections.push(
            Section::new(format!("各组织党员数对账（{y}年）"), table(rows)?, &labels).note(
                "组织之间的调动记为调出组织的转出、调入组织的转入；在本报表范围内的调动不计入上表。",
            ),
        );
    }

    let describe = |row: usize| {
        let mut s = category[row].clone();
        if !status[row].is_empty() {
            s.push_str(&format!("（{}）", status[row]));
        }
        format!("{s} · {}", orgs[row])
    };
    let list = Table::build(vec![
        (
            "year",
            table::ints(unexplained.iter().map(|u| i64::from(u.year))),
        ),
        (
            "member_id",
            table::strs(unexplained.iter().map(|u| ids[u.prev].as_str())),
        ),
        (
            "name",
            table::strs(unexplained.iter().map(|u| names[u.prev].as_str())),
        ),
        (
            "before",
            table::strs(unexplained.iter().map(|u| describe(u.prev))),
        ),
        (
            "after",
            table::strs(unexplained.iter().map(|u| match u.now {
                None => "名册中没有此人（未记录转出、出党或去世）".to_string(),
                Some(r) => describe(r),
            })),
        ),
    ])?;
    sections.push(Section::new(
        "对账差异名单",
        list,
        &[
            ("year", "年度"),
            ("member_id", "党员编号"),
            ("name", "姓名"),
            ("before", "上年末"),
            ("after", "年末"),
        ],
    ));
    Ok(sections)
}
