//! The audit's journal: every query is written to a file under `<lake>/journal/` (not under
//! `system/`, whose folders are Delta tables) before it runs, and marked done when it ends, so
//! a process that dies while answering (killed, out of memory) still leaves its row. Audit rows
//! are committed to `system_audit` in batches (`QueryEngine::flush_audit`); the journal covers
//! the queries in flight. The next process that opens the lake writes a dead process's
//! unfinished queries as `interrupted` rows (one commit) and removes its journal.
//!
//! One file per process (`<pid>.journal`), lines `S\t<id>\t<micros>\t<who>\t<sql as JSON>`
//! when a query starts and `E\t<id>` when it ends; emptied whenever no query is running.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use dangan_datasets::Lake;

/// This process's journal.
struct Journal {
    file: Mutex<Option<std::fs::File>>,
    running: Mutex<BTreeSet<u64>>,
    next: AtomicU64,
}

static JOURNAL: std::sync::OnceLock<Option<Journal>> = std::sync::OnceLock::new();

fn folder(lake: &Lake) -> PathBuf {
    lake.dir().join("journal")
}

fn journal(lake: &Lake) -> Option<&'static Journal> {
    JOURNAL
        .get_or_init(|| {
            let dir = folder(lake);
            std::fs::create_dir_all(&dir).ok()?;
            let path = dir.join(format!("{}.journal", std::process::id()));
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .ok()?;
            Some(Journal {
                file: Mutex::new(Some(file)),
                running: Mutex::new(BTreeSet::new()),
                next: AtomicU64::new(1),
            })
        })
        .as_ref()
}

/// A query in the journal; marked done when dropped (however its future ended).
pub(crate) struct Entry {
    id: u64,
}

/// Write that `who` starts `sql` (`None` when the journal cannot be written: the query runs
/// all the same, as before there was one).
pub(crate) fn start(lake: &Lake, who: &str, sql: &str) -> Option<Entry> {
    let j = journal(lake)?;
    let id = j.next.fetch_add(1, Ordering::Relaxed);
    let at = chrono::Utc::now().timestamp_micros();
    let line = format!(
        "S\t{id}\t{at}\t{}\t{}\n",
        who.replace(['\t', '\n'], " "),
        // An encrypted lake's journal holds the text sealed: it may quote an ID number.
        serde_json::Value::String(
            lake.seal_text(sql)
                .unwrap_or_else(|_| "(sealed: the lake's key is unavailable)".into())
        )
    );
    let mut file = j.file.lock().ok()?;
    file.as_mut()?.write_all(line.as_bytes()).ok()?;
    j.running.lock().ok()?.insert(id);
    Some(Entry { id })
}

impl Drop for Entry {
    fn drop(&mut self) {
        let Some(Some(j)) = JOURNAL.get() else {
            return;
        };
        let (Ok(mut file), Ok(mut running)) = (j.file.lock(), j.running.lock()) else {
            return;
        };
        running.remove(&self.id);
        if let Some(f) = file.as_mut() {
            if running.is_empty() {
                // Nothing in flight: the journal starts over.
                let _ = f.set_len(0);
            } else {
                let _ = f.write_all(format!("E\t{}\n", self.id).as_bytes());
            }
        }
    }
}

/// One query a dead process left unfinished.
pub(crate) struct Interrupted {
    pub at: i64,
    pub who: String,
    pub sql: String,
}

/// Whether process `pid` is alive (on Linux; elsewhere every journal is left alone).
fn alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The unfinished queries of every dead process's journal, each journal claimed (renamed)
/// first so two processes never both report it; the claimed files, to remove once the rows
/// are committed.
pub(crate) fn dead_processes(lake: &Lake) -> (Vec<Interrupted>, Vec<PathBuf>) {
    let mut rows = Vec::new();
    let mut claimed = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder(lake)) else {
        return (rows, claimed);
    };
    let me = std::process::id();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_suffix(".journal")
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me || alive(pid) {
            continue;
        }
        let claim = e.path().with_extension(format!("claimed-{me}"));
        if std::fs::rename(e.path(), &claim).is_err() {
            continue;
        }
        let text = std::fs::read_to_string(&claim).unwrap_or_default();
        let mut started: Vec<(u64, Interrupted)> = Vec::new();
        let mut ended = BTreeSet::new();
        for line in text.lines() {
            let f: Vec<&str> = line.splitn(5, '\t').collect();
            match f.as_slice() {
                ["S", id, at, who, sql] => {
                    if let (Ok(id), Ok(at)) = (id.parse(), at.parse()) {
                        let sql = serde_json::from_str::<String>(sql).unwrap_or_default();
                        // (Sealed in an encrypted lake; the audit row seals it again.)
                        let sql = lake.open_text(&sql).unwrap_or(sql);
                        started.push((
                            id,
                            Interrupted {
                                at,
                                who: who.to_string(),
                                sql,
                            },
                        ));
                    }
                }
                ["E", id] => {
                    if let Ok(id) = id.parse::<u64>() {
                        ended.insert(id);
                    }
                }
                _ => {}
            }
        }
        rows.extend(
            started
                .into_iter()
                .filter(|(id, _)| !ended.contains(id))
                .map(|(_, r)| r),
        );
        claimed.push(claim);
    }
    (rows, claimed)
}
