//! Converting a run's files on every core and handing their batches, as they are made, to one
//! sink: a streaming table appender (bounded memory; for an upsert into a table without rows,
//! one that keeps one row per key), a list (for other upserts and replace, which need all
//! rows), or nothing (dry run). Large CSVs are converted chunk by chunk.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::record_batch::RecordBatch;
use dangan_datasets::TableAppender;

use crate::convert::{
    ConvertContext, Converted, QuarantineEntry, RowNumbers, RowSource, convert_rows,
};
use crate::dedupe::Collected;
use crate::error::{Error, Result};
use crate::header::{AliasMap, match_header_row};
use crate::options::ImportOptions;
use crate::reader::RawSheet;
use crate::reader::csv::{CsvFormat, csv_blocks};
use crate::reader::jsonl::{jsonl_blocks, parse_block};
use crate::sheets::{ConvertedFile, FileInfo, Prepared, convert_file, prepare};

/// Where converted batches go.
pub(crate) enum Sink {
    Append(Box<TableAppender>),
    /// An upsert into a table without rows: written as it comes, one row per key.
    Keyed(Box<crate::keyed::KeyedAppend>),
    Collect(Vec<Collected>),
    Discard,
}

impl Sink {
    async fn put(&mut self, file: usize, batch: RecordBatch, file_rows: Vec<i64>) -> Result<()> {
        match self {
            Sink::Append(a) => a.write(batch).await?,
            Sink::Keyed(k) => k.put(file, batch, file_rows).await?,
            Sink::Collect(v) => {
                if batch.num_rows() > 0 {
                    v.push(Collected {
                        batch,
                        file,
                        file_rows,
                    })
                }
            }
            Sink::Discard => {}
        }
        Ok(())
    }

    /// Forget what a file gave (it failed part way): a collect sink drops its rows.
    fn forget(&mut self, file: usize) {
        if let Sink::Collect(v) = self {
            v.retain(|c| c.file != file);
        }
    }
}

/// What converting one file gave.
#[derive(Default)]
pub(crate) struct FileOutcome {
    pub rows_read: usize,
    pub rows_written: usize,
    pub quarantine: Vec<QuarantineEntry>,
    /// What the reading found (`None` until the file is done, or when it failed).
    pub info: Option<FileInfo>,
    pub error: Option<String>,
}

enum Msg {
    Part(usize, Converted),
    Done(usize, Result<FileInfo>),
}

/// Stream CSV, JSONL and xlsx files part by part, into any sink (a collected file's parts come
/// back in any order: [`convert_all`] puts them back in run order). Wide survey exports need the
/// whole sheet, so they are read whole; so is a workbook an earlier `--sheet` run imported
/// part of (its other sheets are chosen among) — and any workbook the streaming reader turns
/// down ([`crate::reader::excel::stream_worksheet`]).
fn streamable(ctx: &ConvertContext, path: &Path, opts: &ImportOptions) -> bool {
    let ext = crate::reader::extension(path);
    ctx.spec.shape != dangan_datasets::Shape::WideSurvey
        && ctx.spec.unpivot.is_none()
        && match ext.as_str() {
            "csv" | "tsv" | "jsonl" | "ndjson" => true,
            "xlsx" | "xlsm" => !opts.already_imported_sheets.contains_key(path),
            _ => false,
        }
}

/// Convert `files` (in parallel) into `sink`. A file that fails before any of its rows went
/// into a streaming sink is reported as failed; one that fails after is an error for the run
/// (nothing is committed).
pub(crate) async fn convert_all(
    ctx: &ConvertContext<'_>,
    aliases: &AliasMap,
    opts: &ImportOptions,
    files: &[PathBuf],
    sink: &mut Sink,
    progress: &(dyn Fn(usize, usize, &Path) + Sync),
) -> Result<Vec<FileOutcome>> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len().max(1));
    // Rows already handed to an appender cannot be taken back out of the run.
    let commits_as_it_goes = matches!(sink, Sink::Append(_) | Sink::Keyed(_));
    // Cores left over when there are fewer files than cores convert a streamed file's chunks.
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let helpers = (cores / workers).max(1);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(workers * 2);
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let tx = tx.clone();
                let (next, done) = (&next, &done);
                scope.spawn(move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(i) else { break };
                        let send = |m: Msg| tx.blocking_send(m).is_ok();
                        let emit = |c: Converted| send(Msg::Part(i, c));
                        let streamed = if streamable(ctx, path, opts) {
                            convert_streaming(ctx, aliases, opts, path, &emit, helpers).transpose()
                        } else {
                            None
                        };
                        let result = if let Some(streamed) = streamed {
                            streamed
                        } else {
                            std::fs::read(path)
                                .map_err(|e| Error::Io {
                                    path: path.clone(),
                                    source: e,
                                })
                                .and_then(|bytes| convert_file(ctx, aliases, path, &bytes, opts))
                                .map(|ConvertedFile { rows, info }| {
                                    send(Msg::Part(i, rows));
                                    info
                                })
                        };
                        progress(done.fetch_add(1, Ordering::Relaxed) + 1, files.len(), path);
                        if !send(Msg::Done(i, result)) {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            handle.block_on(async {
                let mut out: Vec<FileOutcome> = (0..files.len()).map(|_| FileOutcome::default()).collect();
                let mut wrote: Vec<bool> = vec![false; files.len()];
                let mut failure: Option<Error> = None;
                while let Some(msg) = rx.recv().await {
                    if failure.is_some() {
                        continue; // drain so that workers finish
                    }
                    match msg {
                        Msg::Part(i, c) => {
                            let o = &mut out[i];
                            o.rows_read += c.rows_read;
                            o.rows_written += c.batch.num_rows();
                            o.quarantine.extend(c.quarantine);
                            wrote[i] |= c.batch.num_rows() > 0;
                            if let Err(e) = sink.put(i, c.batch, c.file_rows).await {
                                failure = Some(e);
                            }
                        }
                        Msg::Done(i, Ok(info)) => out[i].info = Some(info),
                        Msg::Done(i, Err(e)) if commits_as_it_goes && wrote[i] => {
                            failure = Some(Error::File {
                                path: files[i].clone(),
                                message: format!("failed after part of it was converted, so nothing was committed: {}", crate::error::describe(&e)),
                            });
                        }
                        Msg::Done(i, Err(e)) => {
                            sink.forget(i);
                            out[i] = FileOutcome { error: Some(crate::error::describe(&e)), ..FileOutcome::default() };
                        }
                    }
                }
                // Collected batches in run order (by file, then by their first row in it):
                // helper threads finish a file's parts in any order, and an upsert keeps a
                // key's last row.
                if let Sink::Collect(v) = sink {
                    v.sort_by_key(|c| (c.file, c.file_rows.first().copied().unwrap_or(0)));
                }
                match failure {
                    Some(e) => Err(e),
                    None => Ok(out),
                }
            })
        })
    })
}

/// A part of a streamed file for a helper thread: whole CSV records or JSON lines, still to
/// decode and parse (the costly part, so it is spread over the cores too).
enum Work {
    Csv(std::sync::Arc<CsvFormat>, Vec<u8>),
    Jsonl(Vec<u8>),
    /// Rows a workbook's reader parsed already (the parsing is the reading thread's).
    Rows(RawSheet),
}

/// Parts after the first, each with the 0-based file row of its first data row.
type Parts = Box<dyn Iterator<Item = Result<(Work, usize)>> + Send>;

/// A streamed file's first part as a sheet, the file row of its first data row (when that is
/// not its sheet row), its encoding, and the parts that follow.
type Opened = (RawSheet, Option<usize>, Option<&'static str>, Parts);

/// The first part of a streamed file as a sheet (for header detection), the file row of its
/// first data row when that is not its sheet row, and the parts that follow.
fn open_parts(path: &Path, opts: &ImportOptions) -> Result<Option<Opened>> {
    let name = crate::reader::file_sheet_name(path);
    let ext = crate::reader::extension(path);
    if ext == "xlsx" || ext == "xlsm" {
        return open_worksheet_parts(path, opts);
    }
    if ext == "jsonl" || ext == "ndjson" {
        let Some(mut blocks) = jsonl_blocks(path, &opts.read)? else {
            return Ok(None);
        };
        let (bytes, first_line) = blocks.next().transpose()?.unwrap_or_default();
        let sheet = parse_block(path, &bytes, first_line)?.to_sheet(name);
        let rest = blocks.map(|b| b.map(|(bytes, line)| (Work::Jsonl(bytes), line)));
        return Ok(Some((
            sheet,
            Some(first_line),
            Some("UTF-8"),
            Box::new(rest),
        )));
    }
    let Some(mut blocks) = csv_blocks(path, &opts.read)? else {
        return Ok(None);
    };
    let format = std::sync::Arc::new(blocks.format().clone());
    let (bytes, _) = blocks.next().transpose()?.unwrap_or_default();
    let sheet = format.parse(&bytes, 0)?.to_sheet(name);
    let encoding = format.encoding();
    let rest =
        blocks.map(move |b| b.map(|(bytes, record)| (Work::Csv(format.clone(), bytes), record)));
    Ok(Some((sheet, None, Some(encoding), Box::new(rest))))
}

/// An xlsx workbook's first part and the parts that follow, parsed on a thread of their own
/// ([`crate::reader::excel::stream_worksheet`]); `None` when it is to be read whole.
fn open_worksheet_parts(path: &Path, opts: &ImportOptions) -> Result<Option<Opened>> {
    use crate::reader::excel::{Streamed, stream_worksheet};
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Streamed>(2);
    let (owned, read) = (path.to_path_buf(), opts.read.clone());
    std::thread::Builder::new()
        .name("xlsx-read".into())
        .spawn(move || {
            stream_worksheet(&owned, &bytes, &read, &|m| tx.send(m).is_ok());
            let _ = tx.send(Streamed::End);
        })
        .map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
    let first = match rx.recv() {
        Ok(Streamed::Part(sheet, _)) => sheet,
        Ok(Streamed::Failed(e)) => return Err(e),
        Ok(Streamed::Whole | Streamed::End) | Err(_) => return Ok(None),
    };
    Ok(Some((
        first,
        None,
        None,
        Box::new(parts_to_the_end(rx, path)),
    )))
}

/// The parts a workbook's reader sends after the first, up to the end it says it reached; a
/// reader gone without saying so (it panicked) fails the file rather than leave its last rows
/// out.
fn parts_to_the_end(
    rx: std::sync::mpsc::Receiver<crate::reader::excel::Streamed>,
    path: &Path,
) -> impl Iterator<Item = Result<(Work, usize)>> + Send + use<> {
    use crate::reader::excel::Streamed;
    let path = path.to_path_buf();
    let mut ended = false;
    std::iter::from_fn(move || {
        if ended {
            return None;
        }
        ended = true;
        match rx.recv() {
            Ok(Streamed::Part(sheet, row)) => {
                ended = false;
                Some(Ok((Work::Rows(sheet), row)))
            }
            Ok(Streamed::End) => None,
            Ok(Streamed::Failed(e)) => Some(Err(e)),
            Ok(Streamed::Whole) | Err(_) => Some(Err(Error::File {
                path: path.clone(),
                message: "the workbook's reader stopped part way through the sheet; nothing of it was imported".into(),
            })),
        }
    })
}

/// Convert a CSV, JSONL or xlsx file part by part: this thread reads, helper threads (one per core)
/// parse and convert, and each converted part goes to `emit` (false: stop). `None` when the
/// file cannot be streamed (a JSONL file that is not UTF-8).
fn convert_streaming(
    ctx: &ConvertContext,
    aliases: &AliasMap,
    opts: &ImportOptions,
    path: &Path,
    emit: &(dyn Fn(Converted) -> bool + Sync),
    helpers: usize,
) -> Result<Option<FileInfo>> {
    let Some((first, first_line, encoding, parts)) = open_parts(path, opts)? else {
        return Ok(None);
    };
    let name = first.name.clone();
    let Prepared { sheet, header, .. } = prepare(ctx, aliases, path, vec![first], opts)?
        .take
        .swap_remove(0);
    let file = path.display().to_string();
    let headers: Vec<String> = sheet.rows[header.row]
        .iter()
        .map(crate::reader::RawCell::display)
        .collect();
    let first_part = convert_rows(
        ctx,
        &file,
        &RowSource {
            sheet: &name,
            rows: &sheet,
            data_from: header.row + 1,
            headers: &headers,
            header: &header,
            numbers: first_line.map_or(RowNumbers::Same, RowNumbers::Offset),
        },
    )?;
    drop(sheet);
    if !emit(first_part) {
        return Ok(Some(FileInfo::new(name, header.row + 1, header, encoding)));
    }
    // A part's rows under the file's header (the first part's), the first of them file row
    // `offset`.
    let under_header = |rows: &dyn crate::reader::Rows, offset: usize| -> Result<Converted> {
        Ok(convert_rows(
            ctx,
            &file,
            &RowSource {
                sheet: &name,
                rows,
                data_from: 0,
                headers: &headers,
                header: &header,
                numbers: RowNumbers::Offset(offset),
            },
        )?)
    };
    let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<(Work, usize)>(helpers);
    let work_rx = std::sync::Mutex::new(work_rx);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let failure: std::sync::Mutex<Option<Error>> = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(|| {
                loop {
                    let next = work_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((part, offset))) = next else { break };
                    let converted = match part {
                        Work::Csv(format, bytes) => format
                            .parse(&bytes, offset)
                            .and_then(|rows| under_header(&rows, offset)),
                        Work::Rows(rows) => under_header(&rows, offset),
                        Work::Jsonl(bytes) => parse_block(path, &bytes, offset).and_then(|block| {
                            let matched = match_header_row(0, block.keys.iter().cloned(), aliases);
                            Ok(convert_rows(
                                ctx,
                                &file,
                                &RowSource {
                                    sheet: &name,
                                    rows: &block.rows,
                                    data_from: 0,
                                    headers: &block.keys,
                                    header: &matched,
                                    numbers: RowNumbers::Offset(offset),
                                },
                            )?)
                        }),
                    };
                    match converted {
                        Ok(c) => {
                            if !emit(c) {
                                stop.store(true, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            if let Ok(mut f) = failure.lock() {
                                f.get_or_insert(e);
                            }
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
        for chunk in parts {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    if let Ok(mut f) = failure.lock() {
                        f.get_or_insert(e);
                    }
                    break;
                }
            };
            if work_tx.send(chunk).is_err() {
                break;
            }
        }
        drop(work_tx);
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok(Some(FileInfo::new(name, header.row + 1, header, encoding)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::excel::Streamed;

    fn part(row: usize) -> Streamed {
        Streamed::Part(
            RawSheet {
                name: "s".into(),
                rows: vec![Vec::new()],
                encoding: None,
            },
            row,
        )
    }

    /// The parts go on to the reader's end; a reader gone without it fails the file.
    #[test]
    fn a_reader_gone_part_way_fails_the_file() {
        let path = Path::new("roster.xlsx");
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        for m in [part(4096), part(8192), Streamed::End] {
            tx.send(m).unwrap();
        }
        let rows: Vec<usize> = parts_to_the_end(rx, path).map(|p| p.unwrap().1).collect();
        assert_eq!(rows, [4096, 8192]);
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        tx.send(part(4096)).unwrap();
        drop(tx);
        let got: Vec<Result<(Work, usize)>> = parts_to_the_end(rx, path).collect();
        assert_eq!(got.len(), 2);
        let e = got[1].as_ref().err().expect("an error, not an end");
        assert!(e.to_string().contains("part way"), "{e}");
    }
}
