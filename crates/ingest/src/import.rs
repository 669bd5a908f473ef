//! An import run: files → typed rows → **one** Delta commit on the dataset's table carrying a
//! `txn` marker per file (so a file is never imported twice, even after a crash), plus the
//! quarantine, file ledger and run records in the lake's internal tables.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow::array::{Array, StringArray};
use arrow::record_batch::RecordBatch;
use chrono::{Local, NaiveDateTime};
use dangan_datasets::{DatasetSpec, ImportMode, Lake, SystemTable, WriteOptions};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::convert::{ConvertContext, QuarantineEntry, ReferenceIndex, convert_sheet};
use crate::error::{Error, Result};
use crate::header::{AliasMap, HeaderMatch, find_header};
use crate::reader::{RawSheet, ReadOptions, read_sheets, supported_extensions};
use crate::records;
use crate::stream::{self, Sink};
use crate::survey::{self, SurveyInfo};

/// What to import and how.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub dataset: String,
    /// Files and directories (searched recursively for supported files).
    pub paths: Vec<PathBuf>,
    /// Default: the dataset's mode from its spec.
    pub mode: Option<ImportMode>,
    pub read: ReadOptions,
    /// `--mapping FILE`: extra header → column aliases.
    pub mapping: Option<PathBuf>,
    /// Check and report, write nothing.
    pub dry_run: bool,
    /// Import files even if their content was imported before.
    pub force: bool,
    pub survey_id: Option<String>,
    pub survey_title: Option<String>,
    /// Who runs the import (recorded in the run table).
    pub user: Option<String>,
    /// `--replace-anyway`: replace the table even when most rows were rejected.
    pub replace_anyway: bool,
    /// `--set column=value`: a value for every row, for a column the files do not have.
    pub set: Vec<(String, String)>,
    /// Sheets of a workbook already imported by an earlier `--sheet` run, left out of this
    /// one (filled by the run itself from the table's markers).
    pub already_imported_sheets: HashMap<PathBuf, Vec<String>>,
}

/// `--mapping` file: `[aliases]` of header → column.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    aliases: BTreeMap<String, String>,
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum FileStatus {
    Imported,
    /// Same content was imported before (by an earlier run or earlier in this one).
    Skipped(String),
    Failed(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    pub sha256: String,
    pub size_bytes: u64,
    pub sheet: Option<String>,
    /// 1-based row of the header in the sheet.
    pub header_row: Option<usize>,
    pub rows_read: usize,
    pub rows_written: usize,
    pub rows_quarantined: usize,
    /// Rows that repeat an earlier row of the run exactly (same key, same values): one is kept.
    pub rows_merged: usize,
    pub unknown_headers: Vec<String>,
    /// Headers that repeat a column another header already feeds (left out).
    pub duplicate_headers: Vec<String>,
    /// The text encoding a CSV was read in.
    pub encoding: Option<String>,
    /// Sheets of a workbook that were not imported, each with why.
    pub sheets_left: Vec<String>,
    /// What a filled import template tells (one from an older spec).
    pub template_note: Option<String>,
    /// The names of the sheets imported (for the markers).
    #[serde(skip)]
    pub sheets_imported: Vec<String>,
    #[serde(flatten)]
    pub status: FileStatus,
}

/// The metrics of an import run.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub run_id: String,
    pub dataset: String,
    pub mode: String,
    pub dry_run: bool,
    pub files: Vec<FileReport>,
    pub files_read: usize,
    pub files_skipped: usize,
    pub files_failed: usize,
    pub rows_read: usize,
    pub rows_written: usize,
    pub rows_quarantined: usize,
    pub rows_merged: usize,
    /// An upsert's outcome in the table: rows new, changed, unchanged (`None` for other modes
    /// and dry runs).
    pub upsert: Option<dangan_datasets::UpsertCounts>,
    /// Why the run wrote nothing although files were read (a replace that would have emptied
    /// the table); the CLI exits 1 with it.
    pub refused: Option<String>,
    /// Table version after the commit (`None` when nothing was committed).
    pub table_version: Option<i64>,
    pub duration_ms: u128,
    /// A few quarantine entries, for the CLI to show.
    pub quarantine_sample: Vec<QuarantineEntry>,
}

impl ImportReport {
    /// True when everything that was read went in.
    pub fn clean(&self) -> bool {
        self.files_failed == 0 && self.rows_quarantined == 0 && self.refused.is_none()
    }
}

/// The Delta `txn` app id marking a file's content as imported into a table.
pub fn file_marker(sha256: &str) -> String {
    format!("dangan-file-{sha256}")
}

/// The marker of one sheet of a file's content as imported. A run without `--sheet` writes
/// the file's marker and one per sheet it took; a `--sheet` run writes that sheet's and the
/// file's *partial* marker, which tells a later run of the whole file to look for sheets
/// already in.
fn sheet_marker(sha256: &str, sheet: &str) -> String {
    format!("{}-sheet-{sheet}", file_marker(sha256))
}

fn partial_marker(sha256: &str) -> String {
    format!("{}-partial", file_marker(sha256))
}

/// The sheet names of a workbook, in tab order (`None` for other formats or an unreadable
/// file).
fn sheet_names(path: &Path) -> Option<Vec<String>> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    if !matches!(ext.as_str(), "xlsx" | "xlsm" | "xls" | "xlsb" | "ods") {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    crate::reader::excel::sheet_names(path, &bytes).ok()
}

/// Expand files and directories to the supported files they hold, sorted, without Office
/// lock files (`~$…`) and hidden files.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let exts = supported_extensions();
    let mut out = Vec::new();
    fn walk(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) -> Result<()> {
        let rd = std::fs::read_dir(dir).map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') || name.starts_with("~$") {
                continue;
            }
            if p.is_dir() {
                walk(&p, exts, out)?;
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
            {
                out.push(p);
            }
        }
        Ok(())
    }
    for p in paths {
        if p.is_dir() {
            walk(p, &exts, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(Error::Io {
                path: p.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file or directory",
                ),
            });
        }
    }
    if out.is_empty() {
        return Err(Error::NoFiles(
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    Ok(out)
}

fn mapping_aliases(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let m: MappingFile = toml::from_str(&text).map_err(|e| Error::Mapping {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(m.aliases.into_iter().collect())
}

/// The (id, name) of every row of the dataset `r` references, as plain strings; the name is
/// `None` where the dataset has no `name` column or the row none.
async fn referenced_rows(
    lake: &Lake,
    r: &dangan_datasets::Reference,
) -> Result<Vec<(String, Option<String>)>> {
    let target = lake.registry().get(&r.dataset)?.clone();
    let mut cols = vec![r.column.as_str()];
    if target.column("name").is_some() {
        cols.push("name");
    }
    let mut rows = Vec::new();
    for b in &lake.scan(&r.dataset, &cols).await? {
        // The scan may hand back view types; look at everything as plain strings.
        let utf8 = |i: usize| {
            b.columns()
                .get(i)
                .and_then(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).ok())
        };
        let (ids, names) = (utf8(0), utf8(1));
        let Some(ids) = ids
            .as_ref()
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        else {
            continue;
        };
        let names = names
            .as_ref()
            .and_then(|c| c.as_any().downcast_ref::<StringArray>());
        for i in 0..b.num_rows() {
            if ids.is_valid(i) {
                let name = names
                    .filter(|n| n.is_valid(i))
                    .map(|n| n.value(i).to_string());
                rows.push((ids.value(i).to_string(), name));
            }
        }
    }
    Ok(rows)
}

/// Load the ids (and names, when the dataset has a `name` column) of every dataset that
/// `spec` references. A referenced table without rows yet is not checked against.
async fn load_references(
    lake: &Lake,
    spec: &DatasetSpec,
) -> Result<HashMap<String, ReferenceIndex>> {
    let mut out = HashMap::new();
    for col in &spec.columns {
        let Some(r) = &col.references else { continue };
        if out.contains_key(&r.dataset) {
            continue;
        }
        let mut index = ReferenceIndex::default();
        for (id, name) in referenced_rows(lake, r).await? {
            if let Some(n) = name {
                index
                    .names
                    .insert(ReferenceIndex::normalize_name(&n), id.clone());
            }
            index.ids.insert(id);
        }
        if !index.ids.is_empty() {
            out.insert(r.dataset.clone(), index);
        }
    }
    Ok(out)
}

/// What each reference column of `spec` may hold, for its template's drop-down list: the
/// ids and names of the referenced dataset's rows (the lake's branches for `org_id`).
pub async fn template_choices(
    lake: &Lake,
    spec: &DatasetSpec,
) -> Result<BTreeMap<String, crate::template::Choices>> {
    let mut out = BTreeMap::new();
    for col in &spec.columns {
        let Some(r) = &col.references else { continue };
        let mut rows: Vec<(String, String)> = referenced_rows(lake, r)
            .await?
            .into_iter()
            .filter_map(|(id, name)| Some((id, name?)))
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_by(|a, b| a.1.cmp(&b.1));
        out.insert(col.name.clone(), crate::template::Choices { rows });
    }
    Ok(out)
}

/// Run an import. Problems with single rows go to quarantine; a file that cannot be read at
/// all is reported as failed and the others still go in; the dataset table gets at most one
/// commit.
pub async fn import(
    lake: &Lake,
    opts: &ImportOptions,
    progress: &(dyn Fn(usize, usize, &Path) + Sync),
) -> Result<ImportReport> {
    let started = Instant::now();
    let started_at = Local::now().naive_local();
    let run_id = format!(
        "{}-{}",
        started_at.format("%Y%m%dT%H%M%S"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let spec = lake.registry().get(&opts.dataset)?.clone();
    let mode = opts.mode.unwrap_or(spec.mode);
    let files = collect_files(&opts.paths)?;
    let extra = match &opts.mapping {
        Some(p) => mapping_aliases(p)?,
        None => Vec::new(),
    };
    let aliases = AliasMap::new(&spec, &extra).map_err(|message| Error::Mapping {
        path: opts.mapping.clone().unwrap_or_default(),
        message,
    })?;
    let refs = load_references(lake, &spec).await?;
    let mut ctx = ConvertContext::new(
        &spec,
        spec.columns
            .iter()
            .map(|c| c.references.as_ref().and_then(|r| refs.get(&r.dataset)))
            .collect(),
    );
    for (column, value) in &opts.set {
        let i = spec.column_index(column).ok_or_else(|| {
            Error::Usage(format!(
                "--set {column}=…: dataset `{}` has no column `{column}` (its columns: {})",
                spec.name,
                spec.columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        // Checked once here, not quarantined on every row.
        if let Err(p) = crate::value::convert(&spec.columns[i], crate::reader::CellRef::Text(value))
        {
            return Err(Error::Usage(format!(
                "--set {column}={value}: {}",
                p.message
            )));
        }
        ctx.constants[i] = Some(value.clone());
    }
    // A dataset added by a user spec after `init` gets its table now.
    lake.ensure_table(&spec.name, &spec.arrow_schema()).await?;
    // ... and one whose spec gained a column gets the column (not on a dry run).
    if !opts.dry_run {
        lake.add_missing_columns(&spec.name, &spec.arrow_schema())
            .await?;
    }
    let table = lake.open_table(&spec.name).await?;

    // Pass 1 (in order): hash each file and decide whether it is new.
    let mut reports: Vec<FileReport> = Vec::with_capacity(files.len());
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut run_opts = opts.clone();
    for path in &files {
        let (sha, size) = hash_file(path)?;
        let mut rep = FileReport {
            path: path.clone(),
            sha256: sha.clone(),
            size_bytes: size,
            sheet: None,
            header_row: None,
            rows_read: 0,
            rows_written: 0,
            rows_quarantined: 0,
            rows_merged: 0,
            unknown_headers: Vec::new(),
            duplicate_headers: Vec::new(),
            encoding: None,
            sheets_left: Vec::new(),
            template_note: None,
            sheets_imported: Vec::new(),
            status: FileStatus::Imported,
        };
        let has = |marker: String| {
            let table = &table;
            async move { lake.transaction_version(table, &marker).await }
        };
        // The workbook's sheet names, read (the file opened) only when a marker needs them.
        let names = std::sync::OnceLock::new();
        let names = || names.get_or_init(|| sheet_names(path).unwrap_or_default());
        // The sheets among the workbook's whose marker the table holds.
        let marked = || async {
            let mut done = Vec::new();
            for name in names() {
                if has(sheet_marker(&sha, name)).await?.is_some() {
                    done.push(name.clone());
                }
            }
            Ok::<_, Error>(done)
        };
        // `--sheet 2` is the sheet's name for the markers.
        let wanted = opts.read.sheet.as_ref().map(|w| match w.parse::<usize>() {
            Ok(n) if !names().contains(w) && (1..=names().len()).contains(&n) => {
                names()[n - 1].clone()
            }
            _ => w.clone(),
        });
        if let Some(first) = seen.get(&sha) {
            rep.status =
                FileStatus::Skipped(format!("same content as {} in this run", first.display()));
        } else if opts.force {
            seen.insert(sha.clone(), path.clone());
        } else if let Some(w) = &wanted {
            if has(sheet_marker(&sha, w)).await?.is_some() {
                rep.status =
                    FileStatus::Skipped(format!("sheet {w} of this content was already imported"));
            } else if has(file_marker(&sha)).await?.is_some() && marked().await?.is_empty() {
                // A whole-file import from before per-sheet markers left only the file's
                // marker: which sheets it took is not known, so the file counts as in.
                rep.status = FileStatus::Skipped(
                    "already imported whole (same content), before imports noted their sheets"
                        .into(),
                );
            } else {
                seen.insert(sha.clone(), path.clone());
            }
        } else if has(file_marker(&sha)).await?.is_some() {
            rep.status = FileStatus::Skipped("already imported (same content)".into());
        } else {
            // Sheets an earlier `--sheet` run took stay out of this one.
            if has(partial_marker(&sha)).await?.is_some() {
                run_opts
                    .already_imported_sheets
                    .insert(path.clone(), marked().await?);
            }
            seen.insert(sha.clone(), path.clone());
        }
        reports.push(rep);
    }
    // Pass 2: convert the new files on every core, streaming rows into the sink.
    let todo: Vec<usize> = (0..reports.len())
        .filter(|i| reports[*i].status == FileStatus::Imported)
        .collect();
    let todo_paths: Vec<PathBuf> = todo.iter().map(|i| reports[*i].path.clone()).collect();
    // An upsert into a table that holds rows keeps all of the run's rows (also in a dry run)
    // to compare them with the table's and find repeated keys; into an empty table they are
    // written as they come, as for an append.
    let keyed = if mode == ImportMode::Upsert && !opts.dry_run {
        crate::keyed::KeyedAppend::new(lake.appender(&spec.name).await?, &spec)?
    } else {
        None
    };
    let mut sink = if let Some(k) = keyed {
        Sink::Keyed(Box::new(k))
    } else if mode == ImportMode::Upsert {
        Sink::Collect(Vec::new())
    } else if opts.dry_run {
        Sink::Discard
    } else if mode == ImportMode::Append {
        Sink::Append(Box::new(lake.appender(&spec.name).await?))
    } else {
        Sink::Collect(Vec::new())
    };
    let outcomes =
        stream::convert_all(&ctx, &aliases, &run_opts, &todo_paths, &mut sink, progress).await?;
    let mut quarantine: Vec<QuarantineEntry> = Vec::new();
    for (i, o) in todo.iter().zip(outcomes) {
        let rep = &mut reports[*i];
        let info = match (o.error, o.info) {
            (Some(e), _) => {
                rep.status = FileStatus::Failed(e);
                continue;
            }
            (None, None) => {
                rep.status = FileStatus::Failed("stopped before it was read".into());
                continue;
            }
            (None, Some(info)) => info,
        };
        if o.rows_read == 0 && !info.unknown.is_empty() {
            rep.status = FileStatus::Failed(format!(
                "{}: no data rows below the header (row {}), and headers {} match no column — \
                     is the file cut short, or are its line ends unusual? Nothing was imported from it",
                rep.path.display(),
                info.header_row,
                info.unknown.join(", ")
            ));
        } else {
            rep.sheet = Some(info.sheets.join(", "));
            rep.header_row = Some(info.header_row);
            rep.unknown_headers = info.unknown;
            rep.duplicate_headers = info.duplicates;
            rep.encoding = info.encoding.map(str::to_string);
            rep.sheets_left = info.sheets_left;
            rep.template_note = info.template_note;
            rep.sheets_imported = info.sheets;
            rep.rows_read = o.rows_read;
            rep.rows_written = o.rows_written;
            rep.rows_quarantined = o.rows_read - o.rows_written;
            quarantine.extend(o.quarantine);
        }
    }
    // One row per key: repeats in the run are merged or quarantined, and said so.
    let paths: Vec<PathBuf> = todo.iter().map(|i| reports[*i].path.clone()).collect();
    let sheets: Vec<String> = todo
        .iter()
        .map(|i| reports[*i].sheet.clone().unwrap_or_default())
        .collect();
    let deduped = match &mut sink {
        Sink::Keyed(keyed) => Some(keyed.settle(&spec, &paths, &sheets).await?),
        Sink::Collect(collected) if mode == ImportMode::Upsert => {
            let mut deduped =
                crate::dedupe::dedupe(&spec, std::mem::take(collected), &paths, &sheets)?;
            *collected = std::mem::take(&mut deduped.batches)
                .into_iter()
                .map(|batch| stream::Collected {
                    batch,
                    file: 0,
                    file_rows: Vec::new(),
                })
                .collect();
            Some(deduped)
        }
        _ => None,
    };
    if let Some(deduped) = deduped {
        for (file, (quarantined, merged)) in deduped.per_file {
            let rep = &mut reports[todo[file]];
            rep.rows_written -= quarantined + merged;
            rep.rows_quarantined += quarantined;
            rep.rows_merged += merged;
        }
        quarantine.extend(deduped.quarantine);
    }

    let count = |f: fn(&FileReport) -> bool| reports.iter().filter(|r| f(r)).count();
    let imported: Vec<&FileReport> = reports
        .iter()
        .filter(|r| r.status == FileStatus::Imported)
        .collect();
    let mut report = ImportReport {
        run_id: run_id.clone(),
        dataset: spec.name.clone(),
        mode: mode.name().to_string(),
        dry_run: opts.dry_run,
        files_read: imported.len(),
        files_skipped: count(|r| matches!(r.status, FileStatus::Skipped(_))),
        files_failed: count(|r| matches!(r.status, FileStatus::Failed(_))),
        rows_read: imported.iter().map(|r| r.rows_read).sum(),
        rows_written: imported.iter().map(|r| r.rows_written).sum(),
        rows_quarantined: imported.iter().map(|r| r.rows_quarantined).sum(),
        rows_merged: imported.iter().map(|r| r.rows_merged).sum(),
        upsert: None,
        refused: None,
        table_version: None,
        duration_ms: 0,
        quarantine_sample: quarantine.iter().take(20).cloned().collect(),
        files: Vec::new(),
    };
    // A replace keeps only what passed: with most rows rejected it would empty the table.
    if mode == ImportMode::Replace
        && !opts.replace_anyway
        && report.rows_read > 0
        && report.rows_written * 2 < report.rows_read
    {
        report.refused = Some(format!(
            "refused to replace table `{}` 拒绝替换: only {} of {} rows passed their checks ({} quarantined), \
             so the table would lose its rows; it is unchanged. Fix the file (dangan quarantine export {} --out fixes.xlsx \
             writes the rejected rows with their reasons) or pass --replace-anyway",
            spec.name, report.rows_written, report.rows_read, report.rows_quarantined, run_id
        ));
    }
    if !opts.dry_run && report.refused.is_some() && !quarantine.is_empty() {
        // Kept so that the rejected rows can be fixed; the files stay unimported.
        let b = records::quarantine_batch(
            &run_id,
            &spec.name,
            &quarantine,
            Local::now().naive_local(),
        )?;
        lake.write(
            &SystemTable::Quarantine.table_name(),
            vec![b],
            WriteOptions::default(),
        )
        .await?;
    }
    if !opts.dry_run && !imported.is_empty() && report.refused.is_none() {
        let now = Local::now().naive_local();
        // Quarantine first: if the run dies before the data commit, the rows are still kept
        // (under a run that has no run record) and the files are retried next time.
        if !quarantine.is_empty() {
            let b = records::quarantine_batch(&run_id, &spec.name, &quarantine, now)?;
            lake.write(
                &SystemTable::Quarantine.table_name(),
                vec![b],
                WriteOptions::default(),
            )
            .await?;
        }
        let mut transactions: Vec<(String, i64)> = Vec::new();
        for r in &imported {
            for sheet in &r.sheets_imported {
                transactions.push((sheet_marker(&r.sha256, sheet), 1));
            }
            transactions.push(if opts.read.sheet.is_some() {
                (partial_marker(&r.sha256), 1)
            } else {
                (file_marker(&r.sha256), 1)
            });
        }
        let commit_info = vec![
            (
                "dangan.run_id".to_string(),
                serde_json::Value::from(run_id.clone()),
            ),
            (
                "dangan.operation".to_string(),
                serde_json::Value::from(format!("import {}", mode.name())),
            ),
            (
                "dangan.files".to_string(),
                serde_json::Value::from(
                    imported
                        .iter()
                        .map(|r| r.path.display().to_string())
                        .collect::<Vec<_>>(),
                ),
            ),
        ];
        let write = WriteOptions {
            overwrite: mode == ImportMode::Replace,
            transactions,
            commit_info,
        };
        let version = match sink {
            Sink::Append(appender) => appender.commit(write).await?,
            Sink::Keyed(keyed) => {
                let (version, counts) = keyed.commit(write).await?;
                report.upsert = Some(counts);
                version
            }
            Sink::Collect(collected) => {
                let mut batches: Vec<RecordBatch> =
                    collected.into_iter().map(|c| c.batch).collect();
                if batches.is_empty() {
                    // Every row was quarantined (or the files were empty): the commit still
                    // records the files as imported.
                    batches.push(RecordBatch::new_empty(spec.arrow_schema()));
                }
                match mode {
                    ImportMode::Upsert => {
                        let (version, counts) =
                            lake.upsert(&spec.name, &spec.key, batches, write).await?;
                        report.upsert = counts;
                        version
                    }
                    ImportMode::Append | ImportMode::Replace => {
                        lake.write(&spec.name, batches, write).await?
                    }
                }
            }
            Sink::Discard => unreachable!("a dry run commits nothing"),
        };
        report.table_version = Some(version);
        let ledger = records::ledger_batch(&run_id, &spec.name, &imported, version, now)?;
        lake.write(
            &SystemTable::FileLedger.table_name(),
            vec![ledger],
            WriteOptions::default(),
        )
        .await?;
    }
    report.duration_ms = started.elapsed().as_millis();
    report.files = reports;
    if !opts.dry_run {
        let finished: NaiveDateTime = Local::now().naive_local();
        let run = records::run_batch(&report, started_at, finished, opts.user.as_deref())?;
        lake.write(
            &SystemTable::ImportRuns.table_name(),
            vec![run],
            WriteOptions::default(),
        )
        .await?;
    }
    Ok(report)
}

/// SHA-256 and size of a file, read in blocks (the bytes are not kept).
fn hash_file(path: &Path) -> Result<(String, u64)> {
    use std::io::Read;
    let io = |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), size))
}

pub(crate) type FileResult = (crate::convert::Converted, stream::FileInfo);

/// A sheet ready to convert: its rows (long form for wide surveys), the file rows they come
/// from, and its header.
pub(crate) type Prepared = (RawSheet, Option<Vec<usize>>, HeaderMatch);

/// The sheets to import among `sheets`: every one whose header has every required column (a
/// workbook with one sheet per branch or per year goes in whole), turning wide survey exports
/// into long rows; and the sheets left out, each with why.
pub(crate) fn prepare(
    ctx: &ConvertContext,
    aliases: &AliasMap,
    path: &Path,
    sheets: Vec<RawSheet>,
    opts: &ImportOptions,
) -> Result<(Vec<Prepared>, Vec<String>)> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Candidate sheets: each as it is, or as long rows when it is a wide survey export.
    let mut candidates: Vec<(RawSheet, Option<Vec<usize>>, Option<HeaderMatch>)> = Vec::new();
    for sheet in sheets {
        let long = if ctx.spec.shape == dangan_datasets::Shape::WideSurvey {
            let info = SurveyInfo {
                survey_id: opts.survey_id.clone().unwrap_or_else(|| {
                    format!("S{}", &hex::encode(Sha256::digest(stem.as_bytes()))[..8])
                }),
                survey_title: opts.survey_title.clone().unwrap_or_else(|| stem.clone()),
            };
            survey::to_long(&sheet, &info)
        } else if ctx.spec.unpivot.is_some() {
            crate::unpivot::to_long(&sheet, ctx.spec, aliases)
        } else {
            None
        };
        let (sheet, source_rows) = match long {
            Some((s, rows)) => (s, Some(rows)),
            None => (sheet, None),
        };
        let header = find_header(&sheet, aliases);
        candidates.push((sheet, source_rows, header));
    }
    let missing_of = |h: &HeaderMatch| -> Vec<usize> {
        ctx.spec
            .columns
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                c.required && !h.columns.contains(&Some(*i)) && ctx.constants[*i].is_none()
            })
            .map(|(i, _)| i)
            .collect()
    };
    let fits = |h: &Option<HeaderMatch>| h.as_ref().is_some_and(|h| missing_of(h).is_empty());
    if candidates.iter().any(|(_, _, h)| fits(h)) {
        let mut take = Vec::new();
        let mut left = Vec::new();
        for (sheet, rows, header) in candidates {
            match header {
                Some(h) if missing_of(&h).is_empty() => take.push((sheet, rows, h)),
                Some(h) => left.push(format!(
                    "{} (no column {})",
                    sheet.name,
                    missing_of(&h)
                        .iter()
                        .map(|&i| ctx.spec.columns[i].label.as_str())
                        .collect::<Vec<_>>()
                        .join("、")
                )),
                None => left.push(format!("{} (no header of {})", sheet.name, ctx.spec.name)),
            }
        }
        return Ok((take, left));
    }
    // No sheet fits: say what the closest one lacks.
    let pick = candidates.iter().position(|(_, _, h)| h.is_some());
    let Some(pick) = pick else {
        let mut expected = ctx
            .spec
            .columns
            .iter()
            .filter(|c| c.required)
            .map(|c| c.label.clone())
            .collect::<Vec<_>>()
            .join("、");
        // Headers of another encoding read as this one match nothing.
        if let Some(enc) = candidates
            .iter()
            .find_map(|(s, _, _)| s.encoding)
            .filter(|e| *e != "UTF-8")
        {
            expected.push_str(&format!(
                " — the file was read as {enc}; if its text looks garbled, name its encoding with --encoding (utf-8, gbk, big5, …)"
            ));
        }
        return Err(Error::NoHeader {
            path: path.to_path_buf(),
            expected,
        });
    };
    let (sheet, source_rows, header) = candidates.swap_remove(pick);
    let header = header.expect("picked a sheet with a header");
    let missing = missing_of(&header);
    if !missing.is_empty() {
        let found: Vec<String> = sheet.rows[header.row]
            .iter()
            .map(|c| c.display())
            .filter(|s| !s.is_empty())
            .collect();
        let unused: Vec<&str> = header.unknown.iter().map(String::as_str).collect();
        let missing: Vec<String> = missing
            .iter()
            .map(|&i| {
                let c = &ctx.spec.columns[i];
                let mut text = format!("{} {} ({})", c.name, c.label, c.aliases.join("/"));
                if let Some(near) = closest_header(&c.aliases, &unused) {
                    text.push_str(&format!(
                        " — closest header in the file 最接近的表头: “{near}”"
                    ));
                }
                text
            })
            .collect();
        return Err(Error::MissingColumns {
            path: path.to_path_buf(),
            missing: missing.join("; "),
            found: found.join(", "),
        });
    }
    Ok((vec![(sheet, source_rows, header)], Vec::new()))
}

/// The header among `headers` most like one of `aliases` (by edit distance over characters,
/// so that 党员号 is near 党员编号), if any is near enough to be worth naming.
fn closest_header<'h>(aliases: &[String], headers: &[&'h str]) -> Option<&'h str> {
    headers
        .iter()
        .filter_map(|h| {
            let h_norm = dangan_text::normalize_header(h);
            aliases
                .iter()
                .map(|a| strsim::normalized_levenshtein(&dangan_text::normalize_header(a), &h_norm))
                .fold(None::<f64>, |m, x| Some(m.map_or(x, |m| m.max(x))))
                .map(|score| (score, *h))
        })
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, h)| h)
}

/// Read, prepare and convert a whole file: every sheet that fits, as one part.
pub(crate) fn convert_file(
    ctx: &ConvertContext,
    aliases: &AliasMap,
    path: &Path,
    bytes: &[u8],
    opts: &ImportOptions,
) -> Result<FileResult> {
    let mut sheets = read_sheets(path, bytes, &opts.read)?;
    // A filled template: its own sheets stay out, and an older one says what it lacks.
    let template_note = template_note(ctx.spec, &mut sheets);
    let mut done_left = Vec::new();
    if let Some(done) = opts.already_imported_sheets.get(path) {
        sheets.retain(|s| {
            let keep = !done.contains(&s.name);
            if !keep {
                done_left.push(format!(
                    "{} (already imported by an earlier --sheet run)",
                    s.name
                ));
            }
            keep
        });
    }
    let (prepared, mut left) = prepare(ctx, aliases, path, sheets, opts)?;
    left.extend(done_left);
    let file = path.display().to_string();
    let mut parts: Vec<crate::convert::Converted> = Vec::with_capacity(prepared.len());
    let mut info: Option<stream::FileInfo> = None;
    for (sheet, source_rows, header) in prepared {
        parts.push(convert_sheet(
            ctx,
            &file,
            &sheet,
            &header,
            source_rows.as_deref(),
        )?);
        let header_row = source_rows
            .as_ref()
            .and_then(|s| s.first().copied())
            .unwrap_or(header.row)
            + 1;
        let this = stream::FileInfo::new(sheet.name.clone(), header_row, header, sheet.encoding);
        info = Some(match info {
            None => this,
            Some(mut all) => {
                all.sheets.extend(this.sheets);
                for h in this.unknown {
                    if !all.unknown.contains(&h) {
                        all.unknown.push(h);
                    }
                }
                all.duplicates.extend(this.duplicates);
                all
            }
        });
    }
    let mut info = info.ok_or_else(|| Error::File {
        path: path.to_path_buf(),
        message: "no sheet to import".into(),
    })?;
    info.sheets_left = left;
    info.template_note = template_note;
    Ok((crate::convert::Converted::concat(parts)?, info))
}

/// When `sheets` are a template's (`dangan datasets template`), take out its rules, lists and
/// marker sheets, and say which columns the spec has gained since the template was made.
fn template_note(spec: &DatasetSpec, sheets: &mut Vec<RawSheet>) -> Option<String> {
    use crate::template::{RULES_SHEET, TEMPLATE_SHEET};
    let marker = sheets.iter().position(|s| s.name == TEMPLATE_SHEET)?;
    let marker = sheets.remove(marker);
    sheets.retain(|s| s.name != RULES_SHEET && s.name != "_lists");
    let cell = |r: usize, c: usize| {
        marker
            .rows
            .get(r)
            .and_then(|row| row.get(c))
            .map(|c| c.display())
            .unwrap_or_default()
    };
    let dataset = cell(0, 1);
    let had: Vec<String> = marker
        .rows
        .get(1)
        .map(|row| row.iter().map(|c| c.display()).collect())
        .unwrap_or_default();
    if dataset != spec.name {
        return Some(format!(
            "this is a template of dataset `{dataset}`, imported into `{}`",
            spec.name
        ));
    }
    let added: Vec<String> = spec
        .columns
        .iter()
        .filter(|c| !had.contains(&c.name))
        .map(|c| format!("{} ({})", c.label, c.name))
        .collect();
    (!added.is_empty()).then(|| {
        format!(
            "a template from an older spec 模板较旧: columns added since 新增的列: {} — they are empty for these rows; `dangan datasets template {}` writes a current one",
            added.join(", "),
            spec.name
        )
    })
}
