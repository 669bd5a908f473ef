//! An import run: files → typed rows → **one** Delta commit on the dataset's table carrying a
//! `txn` marker per file (so a file is never imported twice, even after a crash), plus the
//! quarantine, file ledger and run records in the lake's internal tables.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow::array::{Array, StringArray};
use arrow::record_batch::RecordBatch;
use chrono::{Local, NaiveDateTime};
use dangan_datasets::deltalake::DeltaTable;
use dangan_datasets::{DatasetSpec, ImportMode, Lake, SystemTable, WriteOptions};
use sha2::{Digest, Sha256};

use crate::convert::{ConvertContext, QuarantineEntry, ReferenceIndex};
use crate::error::{Error, Result};
use crate::header::AliasMap;
use crate::options::{ImportOptions, mapping_aliases};
use crate::reader::supported_extensions;
use crate::records;
use crate::report::{FileReport, FileStatus, ImportReport};
use crate::stream::{self, Sink};

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
/// commit. The phases: the run set up (`Run::start`, `converter`, `open_table`), the
/// files planned (`plan_files`: which are new), converted (`convert`: rows into a sink, one
/// row per key), summed up (`Run::report`: with a replace that would empty the table
/// refused), committed (`commit`) and recorded (`record_run`).
pub async fn import(
    lake: &Lake,
    opts: &ImportOptions,
    progress: &(dyn Fn(usize, usize, &Path) + Sync),
) -> Result<ImportReport> {
    let run = Run::start(lake, opts)?;
    let refs = load_references(lake, &run.spec).await?;
    let converter = converter(&run.spec, opts, &refs)?;
    let table = open_table(lake, &run.spec, opts.dry_run).await?;
    let FilePlan {
        mut files,
        run_opts,
    } = plan_files(lake, &table, opts).await?;
    let conversion = convert(lake, &run, &converter, &run_opts, &mut files, progress).await?;
    let mut report = run.report(opts, &files, &conversion.quarantine);
    if !opts.dry_run {
        commit(lake, &run, opts, &mut report, &files, conversion).await?;
    }
    report.duration_ms = run.started.elapsed().as_millis();
    report.files = files;
    if !opts.dry_run {
        record_run(lake, &run, opts, &report).await?;
    }
    Ok(report)
}

/// An import run: its id and clock, its dataset and mode.
struct Run {
    id: String,
    started: Instant,
    started_at: NaiveDateTime,
    spec: std::sync::Arc<DatasetSpec>,
    mode: ImportMode,
}

/// How a run's rows are converted: the header aliases (the spec's and the `--mapping` file's)
/// and the conversion context (references to check against, `--set` constants).
struct Converter<'a> {
    aliases: AliasMap,
    ctx: ConvertContext<'a>,
}

/// Which files a run reads: a report for each (the new ones `Imported`, the others
/// `Skipped`), and the options the conversion runs with (sheets an earlier `--sheet` run took
/// left out).
struct FilePlan {
    files: Vec<FileReport>,
    run_opts: ImportOptions,
}

/// What the conversion gave: the rows (in the sink; one per key for an upsert) and the
/// quarantine.
struct Conversion {
    sink: Sink,
    quarantine: Vec<QuarantineEntry>,
}

impl Run {
    fn start(lake: &Lake, opts: &ImportOptions) -> Result<Run> {
        let started_at = Local::now().naive_local();
        let id = format!(
            "{}-{}",
            started_at.format("%Y%m%dT%H%M%S"),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let spec = lake.registry().get(&opts.dataset)?.clone();
        let mode = opts.mode.unwrap_or(spec.mode);
        Ok(Run {
            id,
            started: Instant::now(),
            started_at,
            spec,
            mode,
        })
    }

    /// The run's metrics from its files' reports; a replace that would leave the table with
    /// less than half of what was read is refused (see `ImportReport::refused`).
    fn report(
        &self,
        opts: &ImportOptions,
        files: &[FileReport],
        quarantine: &[QuarantineEntry],
    ) -> ImportReport {
        let count = |f: fn(&FileReport) -> bool| files.iter().filter(|r| f(r)).count();
        let imported: Vec<&FileReport> = imported(files).collect();
        let mut report = ImportReport {
            run_id: self.id.clone(),
            dataset: self.spec.name.clone(),
            mode: self.mode.name().to_string(),
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
        if self.mode == ImportMode::Replace
            && !opts.replace_anyway
            && report.rows_read > 0
            && report.rows_written * 2 < report.rows_read
        {
            report.refused = Some(format!(
                "refused to replace table `{}` 拒绝替换: only {} of {} rows passed their checks ({} quarantined), \
                 so the table would lose its rows; it is unchanged. Fix the file (dangan quarantine export {} --out fixes.xlsx \
                 writes the rejected rows with their reasons) or pass --replace-anyway",
                self.spec.name,
                report.rows_written,
                report.rows_read,
                report.rows_quarantined,
                self.id
            ));
        }
        report
    }
}

/// The files a run imported.
fn imported(files: &[FileReport]) -> impl Iterator<Item = &FileReport> {
    files.iter().filter(|r| r.status == FileStatus::Imported)
}

/// The header aliases and conversion context of a run, `--set` values checked once here (not
/// quarantined on every row).
fn converter<'a>(
    spec: &'a DatasetSpec,
    opts: &ImportOptions,
    refs: &'a HashMap<String, ReferenceIndex>,
) -> Result<Converter<'a>> {
    let extra = match &opts.mapping {
        Some(p) => mapping_aliases(p)?,
        None => Vec::new(),
    };
    let aliases = AliasMap::new(spec, &extra).map_err(|message| Error::Mapping {
        path: opts.mapping.clone().unwrap_or_default(),
        message,
    })?;
    let mut ctx = ConvertContext::new(
        spec,
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
        if let Err(p) = crate::value::convert(&spec.columns[i], crate::reader::CellRef::Text(value))
        {
            return Err(Error::Usage(format!(
                "--set {column}={value}: {}",
                p.message
            )));
        }
        ctx.constants[i] = Some(value.clone());
    }
    Ok(Converter { aliases, ctx })
}

/// The dataset's table, made when a spec added after `init` has none yet, and given the
/// columns its spec gained (not on a dry run).
async fn open_table(lake: &Lake, spec: &DatasetSpec, dry_run: bool) -> Result<DeltaTable> {
    lake.ensure_table(&spec.name, &spec.arrow_schema()).await?;
    if !dry_run {
        lake.add_missing_columns(&spec.name, &spec.arrow_schema())
            .await?;
    }
    Ok(lake.open_table(&spec.name).await?)
}

/// Pass 1 (in order): hash each file and decide whether it is new — not seen earlier in the
/// run, and without the table's marker of its content (or of the sheet asked for).
async fn plan_files(lake: &Lake, table: &DeltaTable, opts: &ImportOptions) -> Result<FilePlan> {
    let paths = collect_files(&opts.paths)?;
    let mut files: Vec<FileReport> = Vec::with_capacity(paths.len());
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut run_opts = opts.clone();
    // The table's markers read once, not once per file.
    let markers = lake.markers(table).await?;
    for path in &paths {
        let (sha, size) = hash_file(path)?;
        let mut rep = FileReport::new(path.clone(), sha.clone(), size);
        let markers = &markers;
        let has = |marker: String| async move { markers.version(&marker).await };
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
        files.push(rep);
    }
    Ok(FilePlan { files, run_opts })
}

/// Where a run's rows go. An upsert into a table that holds rows keeps all of the run's rows
/// (also in a dry run) to compare them with the table's and find repeated keys; into an empty
/// table they are written as they come, as for an append.
async fn sink(lake: &Lake, run: &Run, dry_run: bool) -> Result<Sink> {
    let keyed = if run.mode == ImportMode::Upsert && !dry_run {
        crate::keyed::KeyedAppend::new(lake.appender(&run.spec.name).await?, &run.spec)?
    } else {
        None
    };
    Ok(if let Some(k) = keyed {
        Sink::Keyed(Box::new(k))
    } else if run.mode == ImportMode::Upsert {
        Sink::Collect(Vec::new())
    } else if dry_run {
        Sink::Discard
    } else if run.mode == ImportMode::Append {
        Sink::Append(Box::new(lake.appender(&run.spec.name).await?))
    } else {
        Sink::Collect(Vec::new())
    })
}

/// Pass 2: convert the new files on every core, streaming rows into the sink, each file's
/// report filled in; then one row per key — repeats in the run merged or quarantined, and
/// said so.
async fn convert(
    lake: &Lake,
    run: &Run,
    converter: &Converter<'_>,
    run_opts: &ImportOptions,
    files: &mut [FileReport],
    progress: &(dyn Fn(usize, usize, &Path) + Sync),
) -> Result<Conversion> {
    let todo: Vec<usize> = (0..files.len())
        .filter(|i| files[*i].status == FileStatus::Imported)
        .collect();
    let paths: Vec<PathBuf> = todo.iter().map(|i| files[*i].path.clone()).collect();
    let mut sink = sink(lake, run, run_opts.dry_run).await?;
    let outcomes = stream::convert_all(
        &converter.ctx,
        &converter.aliases,
        run_opts,
        &paths,
        &mut sink,
        progress,
    )
    .await?;
    let mut quarantine: Vec<QuarantineEntry> = Vec::new();
    for (i, o) in todo.iter().zip(outcomes) {
        let rep = &mut files[*i];
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
    let sheets: Vec<String> = todo
        .iter()
        .map(|i| files[*i].sheet.clone().unwrap_or_default())
        .collect();
    let spec = &run.spec;
    let deduped = match &mut sink {
        Sink::Keyed(keyed) => Some(keyed.settle(spec, &paths, &sheets).await?),
        Sink::Collect(collected) if run.mode == ImportMode::Upsert => {
            let mut deduped =
                crate::dedupe::dedupe(spec, std::mem::take(collected), &paths, &sheets)?;
            *collected = std::mem::take(&mut deduped.batches)
                .into_iter()
                .map(|batch| crate::dedupe::Collected {
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
            let rep = &mut files[todo[file]];
            rep.rows_written -= quarantined + merged;
            rep.rows_quarantined += quarantined;
            rep.rows_merged += merged;
        }
        quarantine.extend(deduped.quarantine);
    }
    Ok(Conversion { sink, quarantine })
}

/// Write what a run gave: its quarantine first (so that, if the run dies before the data
/// commit, the rows are still kept and the files retried next time), then the rows with a
/// marker per file and sheet in **one** commit, then the file ledger. A refused run keeps only
/// its quarantine, so that the rejected rows can be fixed.
async fn commit(
    lake: &Lake,
    run: &Run,
    opts: &ImportOptions,
    report: &mut ImportReport,
    files: &[FileReport],
    Conversion { sink, quarantine }: Conversion,
) -> Result<()> {
    let spec = &run.spec;
    let imported: Vec<&FileReport> = imported(files).collect();
    let proceed = !imported.is_empty() && report.refused.is_none();
    if !quarantine.is_empty() && (proceed || report.refused.is_some()) {
        let b = records::quarantine_batch(
            &run.id,
            &spec.name,
            &quarantine,
            Local::now().naive_local(),
        )?;
        append(lake, SystemTable::Quarantine, b).await?;
    }
    if !proceed {
        return Ok(());
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
            serde_json::Value::from(run.id.clone()),
        ),
        (
            "dangan.operation".to_string(),
            serde_json::Value::from(format!("import {}", run.mode.name())),
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
        overwrite: run.mode == ImportMode::Replace,
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
            let mut batches: Vec<RecordBatch> = collected.into_iter().map(|c| c.batch).collect();
            if batches.is_empty() {
                // Every row was quarantined (or the files were empty): the commit still
                // records the files as imported.
                batches.push(RecordBatch::new_empty(spec.arrow_schema()));
            }
            match run.mode {
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
    let ledger = records::ledger_batch(
        &run.id,
        &spec.name,
        &imported,
        version,
        Local::now().naive_local(),
    )?;
    append(lake, SystemTable::FileLedger, ledger).await?;
    Ok(())
}

/// Append a batch to an internal table (its own commit).
async fn append(lake: &Lake, table: SystemTable, batch: RecordBatch) -> Result<()> {
    lake.write(&table.table_name(), vec![batch], WriteOptions::default())
        .await?;
    Ok(())
}

/// The run's record in the runs table (a dry run leaves none).
async fn record_run(
    lake: &Lake,
    run: &Run,
    opts: &ImportOptions,
    report: &ImportReport,
) -> Result<()> {
    let finished: NaiveDateTime = Local::now().naive_local();
    let row = records::run_batch(report, run.started_at, finished, opts.user.as_deref())?;
    append(lake, SystemTable::ImportRuns, row).await?;
    Ok(())
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
