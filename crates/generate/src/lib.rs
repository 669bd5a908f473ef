//! The synthetic archive: the files a district's branches would send, realistic enough to
//! exercise every part of dangan, deterministic for a given seed.
//!
//! `generate(&Config)` builds an org tree and its members in memory, then writes one folder per
//! dataset (the inbox layout the demo and the nightly pipeline import): rosters per branch as
//! `.xlsx` (some with a title row) or GBK CSV, yearly appraisals, development ledger, growth
//! records, cadre changes, a 问卷星-style wide survey export, feedback, engagement events,
//! 三会一课 meetings and publications.

mod activity;
mod corpus;
mod error;
mod people;
mod platform;
mod roster;

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use crate::error::{Error, Result};
pub use dangan_datasets::sheet::{
    Cell, CsvEncoding, DateStyle, Sheet, SheetWriter, write_csv, write_xlsx,
};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    pub members: usize,
    pub seed: u64,
    pub out: PathBuf,
    /// The day the archive is "as of"; fixed so that the same seed gives the same files.
    pub as_of: NaiveDate,
}

impl Config {
    pub fn new(members: usize, seed: u64, out: PathBuf) -> Self {
        Config {
            members,
            seed,
            out,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 30).expect("valid date"),
        }
    }
}

/// One written file.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratedFile {
    pub dataset: String,
    pub path: PathBuf,
    pub rows: usize,
}

/// What `generate` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub out: PathBuf,
    pub members: usize,
    pub organizations: usize,
    pub files: Vec<GeneratedFile>,
}

impl Report {
    pub fn rows(&self, dataset: &str) -> usize {
        self.files
            .iter()
            .filter(|f| f.dataset == dataset)
            .map(|f| f.rows)
            .sum()
    }
}

/// `n` texts of the kind growth records hold (thought reports and talks in three tones), as
/// the generator writes them: for search tests and benchmarks that need realistic Chinese
/// text without a whole archive. Same seed, same texts.
pub fn growth_texts(n: usize, seed: u64) -> Vec<String> {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed),
        as_of: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default(),
    };
    (0..n)
        .map(|i| {
            let t = corpus::tone(&mut g, 0.5, 0.15);
            if i % 3 == 0 {
                format!(
                    "{}{}",
                    corpus::sentence(&mut g, t),
                    corpus::sentence(&mut g, t)
                )
            } else {
                corpus::thought_report(&mut g, t)
            }
        })
        .collect()
}

/// `n` people's names as the generator makes them (surnames weighted as in the population).
pub fn names(n: usize, seed: u64) -> Vec<String> {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed),
        as_of: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default(),
    };
    (0..n).map(|_| people::plain_name(&mut g)).collect()
}

/// Random state plus the fixed date.
pub struct Gen {
    pub rng: ChaCha8Rng,
    pub as_of: NaiveDate,
}

impl Gen {
    pub fn date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(0);
        from + Duration::days(self.rng.random_range(0..=span))
    }
}

/// An organization of the generated tree.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub parent: Option<usize>,
    pub kind: &'static str,
    pub department: String,
    pub established: NaiveDate,
    pub retired: bool,
    /// Branches that fall short of the 三会一课 frequencies.
    pub lax: bool,
    pub unit: String,
}

/// A generated member of the roster.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub person: people::Person,
    pub org: usize,
    pub category: &'static str,
    pub join: Option<NaiveDate>,
    pub full: Option<NaiveDate>,
    pub education: &'static str,
    pub status: &'static str,
    pub position: String,
    /// Development stages with their dates, in the order they happened.
    pub stages: Vec<(&'static str, NaiveDate)>,
}

impl Member {
    pub fn age(&self, on: NaiveDate) -> i32 {
        on.years_since(self.person.birth)
            .map(|y| y as i32)
            .unwrap_or(0)
    }
}

/// The archive in memory, before it is written out.
pub struct Archive {
    pub orgs: Vec<Org>,
    pub members: Vec<Member>,
    /// Each organization's members: a range of `members` (they are generated branch by branch).
    pub by_org: Vec<std::ops::Range<usize>>,
}

impl Archive {
    /// The members of the organization at index `org`.
    pub fn members_of(&self, org: usize) -> &[Member] {
        self.by_org
            .get(org)
            .map(|r| &self.members[r.clone()])
            .unwrap_or(&[])
    }
}

/// Generate the archive and write its files under `cfg.out`.
pub fn generate(cfg: &Config) -> Result<Report> {
    if cfg.members == 0 {
        return Err(Error::Invalid("--members must be at least 1".into()));
    }
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(cfg.seed),
        as_of: cfg.as_of,
    };
    let archive = roster::build(&mut g, cfg.members);
    std::fs::create_dir_all(&cfg.out).map_err(|e| Error::io(&cfg.out, e))?;
    let mut files = Vec::new();
    let mut w = Writer {
        out: &cfg.out,
        files: &mut files,
    };
    roster::write_orgs(&mut w, &archive)?;
    roster::write_members(&mut g, &mut w, &archive)?;
    activity::write_all(&mut g, &mut w, &archive)?;
    Ok(Report {
        out: cfg.out.clone(),
        members: archive.members.len(),
        organizations: archive.orgs.len(),
        files,
    })
}

/// Writes files into dataset folders and records them.
pub(crate) struct Writer<'a> {
    out: &'a Path,
    files: &'a mut Vec<GeneratedFile>,
}

/// The format a generated file is saved in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Format {
    Xlsx { dates_as_text: Option<DateStyle> },
    Csv(CsvEncoding, DateStyle),
}

/// Data rows in one generated `.xlsx` before the export continues in a second file (Excel's
/// own limit is 1,048,576 rows a sheet; exports of that size come split).
const XLSX_ROWS: usize = 1_000_000;

/// One generated file being written row by row; an `.xlsx` that reaches [`XLSX_ROWS`] goes on
/// in `<stem>（续2）.xlsx` and so on.
pub(crate) struct Sink {
    dir: PathBuf,
    dataset: String,
    stem: String,
    headers: Vec<String>,
    title: Option<String>,
    format: Format,
    part: usize,
    current: Option<(PathBuf, SheetWriter)>,
    done: Vec<GeneratedFile>,
}

impl Sink {
    fn start(&mut self) -> Result<()> {
        let name = if self.part == 1 {
            self.stem.clone()
        } else {
            format!("{}（续{}）", self.stem, self.part)
        };
        let (path, w) = match self.format {
            Format::Xlsx { dates_as_text } => {
                let p = self.dir.join(format!("{name}.xlsx"));
                let w = SheetWriter::xlsx(
                    &p,
                    "Sheet1",
                    &self.headers,
                    self.title.as_deref(),
                    dates_as_text,
                )?;
                (p, w)
            }
            Format::Csv(enc, dates) => {
                let p = self.dir.join(format!("{name}.csv"));
                let w = SheetWriter::csv(&p, &self.headers, self.title.as_deref(), enc, dates)?;
                (p, w)
            }
        };
        self.current = Some((path, w));
        Ok(())
    }

    fn finish_current(&mut self) -> Result<()> {
        if let Some((path, w)) = self.current.take() {
            let rows = w.finish()?;
            self.done.push(GeneratedFile {
                dataset: self.dataset.clone(),
                path,
                rows,
            });
        }
        Ok(())
    }

    /// Append one row.
    pub fn push(&mut self, row: &[Cell]) -> Result<()> {
        let full = matches!(self.format, Format::Xlsx { .. })
            && self
                .current
                .as_ref()
                .is_some_and(|(_, w)| w.rows() >= XLSX_ROWS);
        if full {
            self.finish_current()?;
            self.part += 1;
            self.start()?;
        }
        match &mut self.current {
            Some((_, w)) => Ok(w.push(row)?),
            None => Err(Error::Invalid(
                "a generated file was written after it was closed".into(),
            )),
        }
    }
}

impl Writer<'_> {
    /// Start a file `<dataset>/<file_stem>.<ext>` to be filled row by row.
    pub fn open(
        &mut self,
        dataset: &str,
        file_stem: &str,
        headers: &[&str],
        title: Option<String>,
        format: Format,
    ) -> Result<Sink> {
        self.open_owned(
            dataset,
            file_stem,
            headers.iter().map(|h| h.to_string()).collect(),
            title,
            format,
        )
    }

    pub fn open_owned(
        &mut self,
        dataset: &str,
        file_stem: &str,
        headers: Vec<String>,
        title: Option<String>,
        format: Format,
    ) -> Result<Sink> {
        let dir = self.out.join(dataset);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut sink = Sink {
            dir,
            dataset: dataset.to_string(),
            stem: file_stem.to_string(),
            headers,
            title,
            format,
            part: 1,
            current: None,
            done: Vec::new(),
        };
        sink.start()?;
        Ok(sink)
    }

    /// Save a file started with [`Writer::open`] and record it.
    pub fn close(&mut self, mut sink: Sink) -> Result<()> {
        sink.finish_current()?;
        self.files.append(&mut sink.done);
        Ok(())
    }

    /// Write a whole (small) table as one file.
    pub fn write(
        &mut self,
        dataset: &str,
        file_stem: &str,
        sheet: &Sheet,
        format: Format,
    ) -> Result<()> {
        let mut sink = self.open_owned(
            dataset,
            file_stem,
            sheet.headers.clone(),
            sheet.title.clone(),
            format,
        )?;
        for row in &sheet.rows {
            sink.push(row)?;
        }
        self.close(sink)
    }
}
