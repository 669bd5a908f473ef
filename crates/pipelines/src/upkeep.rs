//! Lake upkeep: `optimize` (compact the small files nightly imports leave, one commit per
//! table), `vacuum` (delete files no version younger than N days needs — "as of" questions
//! older than that can no longer be answered), `check` (every table's log reads and its files
//! are there and are Parquet, no orphan files, the search index in step).

use std::collections::HashSet;
use std::time::Instant;

use dangan_datasets::Lake;
use serde::Serialize;

use crate::error::{Error, Result};

/// What one table's upkeep did.
#[derive(Debug, Clone, Serialize)]
pub struct TableUpkeep {
    pub table: String,
    /// Optimize: files compacted into `files_added`; vacuum: files deleted.
    pub files_removed: u64,
    pub files_added: u64,
    pub version: Option<i64>,
}

/// The result of `optimize` or `vacuum`.
#[derive(Debug, Clone, Serialize)]
pub struct UpkeepReport {
    pub operation: String,
    pub tables: Vec<TableUpkeep>,
    pub millis: u128,
}

impl UpkeepReport {
    pub fn summary(&self) -> String {
        let removed: u64 = self.tables.iter().map(|t| t.files_removed).sum();
        let added: u64 = self.tables.iter().map(|t| t.files_added).sum();
        let touched = self
            .tables
            .iter()
            .filter(|t| t.files_removed > 0 || t.files_added > 0)
            .count();
        match self.operation.as_str() {
            "optimize" => format!(
                "{removed} small files compacted into {added} in {touched} tables 合并小文件 ({} ms)",
                self.millis
            ),
            _ => format!(
                "{removed} unneeded files deleted in {touched} tables 清理旧文件 ({} ms)",
                self.millis
            ),
        }
    }
}

/// The tables to work on: the given ones, or every table that exists.
async fn tables(lake: &Lake, only: &[String]) -> Result<Vec<String>> {
    let names: Vec<String> = if only.is_empty() {
        lake.tables().into_iter().map(|(n, _)| n).collect()
    } else {
        for t in only {
            if !lake.tables().iter().any(|(n, _)| n == t) {
                return Err(Error::Spec(format!("no table `{t}` in the lake 没有此表")));
            }
        }
        only.to_vec()
    };
    let mut out = Vec::new();
    for n in names {
        if lake.table_exists(&n).await? {
            out.push(n);
        }
    }
    Ok(out)
}

fn delta(table: &str, e: impl std::fmt::Display) -> Error {
    Error::Other(format!("table `{table}`: {e}"))
}

/// Compact small files, one commit per table that has any.
pub async fn optimize(lake: &Lake, only: &[String]) -> Result<UpkeepReport> {
    let started = Instant::now();
    let mut out = Vec::new();
    for name in tables(lake, only).await? {
        let table = lake.open_table(&name).await?;
        let files = table.get_file_uris().map_err(|e| delta(&name, e))?.count();
        if files < 2 {
            continue;
        }
        let (table, metrics) = table
            .optimize()
            .with_writer_properties(lake.writer_properties(&name))
            .await
            .map_err(|e| delta(&name, e))?;
        out.push(TableUpkeep {
            table: name,
            files_removed: metrics.num_files_removed,
            files_added: metrics.num_files_added,
            version: table.version().map(|v| v as i64),
        });
    }
    Ok(UpkeepReport {
        operation: "optimize".into(),
        tables: out,
        millis: started.elapsed().as_millis(),
    })
}

/// Delete the files that no version of the last `retain_days` days needs.
pub async fn vacuum(lake: &Lake, retain_days: u32, dry_run: bool) -> Result<UpkeepReport> {
    let started = Instant::now();
    let mut out = Vec::new();
    for name in tables(lake, &[]).await? {
        let table = lake.open_table(&name).await?;
        let (table, metrics) = table
            .vacuum()
            .with_retention_period(chrono::Duration::days(i64::from(retain_days)))
            .with_enforce_retention_duration(false)
            // Full: also the orphan files a write that died left (what `lake check` reports);
            // deltalake's default (lite) removes only files a commit removed. Vacuum holds the
            // lake's lock, so no write is in flight.
            .with_mode(dangan_datasets::deltalake::operations::vacuum::VacuumMode::Full)
            .with_dry_run(dry_run)
            .await
            .map_err(|e| delta(&name, e))?;
        out.push(TableUpkeep {
            table: name,
            files_removed: metrics.files_deleted.len() as u64,
            files_added: 0,
            version: table.version().map(|v| v as i64),
        });
    }
    Ok(UpkeepReport {
        operation: if dry_run {
            "vacuum (dry run)"
        } else {
            "vacuum"
        }
        .into(),
        tables: out,
        millis: started.elapsed().as_millis(),
    })
}

/// What `check` found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub tables: usize,
    pub files: usize,
    /// Files in a table's folder that no commit ever added (a write that died half-way).
    pub orphans: Vec<String>,
    pub index_in_step: bool,
    /// Everything wrong, in words.
    pub problems: Vec<String>,
    pub millis: u128,
}

impl CheckReport {
    pub fn summary(&self) -> String {
        if self.problems.is_empty() {
            format!(
                "{} tables, {} files: all readable, no orphan files, index in step 检查通过 ({} ms)",
                self.tables, self.files, self.millis
            )
        } else {
            format!(
                "{} problems 发现问题: {}",
                self.problems.len(),
                self.problems.join("; ")
            )
        }
    }
}

/// `%XX` escapes of a log path decoded.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The data files a commit (`text`, the log file `label`) adds, removes or writes changes to.
fn added_in(text: &str, label: &str, paths: &mut HashSet<String>) -> Result<()> {
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            return Err(Error::Other(format!(
                "{label}: a log entry is not JSON 日志损坏"
            )));
        };
        for action in ["add", "cdc", "remove"] {
            if let Some(path) = v
                .get(action)
                .and_then(|a| a.get("path"))
                .and_then(|p| p.as_str())
            {
                paths.insert(percent_decode(path));
            }
        }
    }
    Ok(())
}

/// [`check`]'s look at one table's files, through the table's own store (a local folder or a
/// bucket alike): every file the snapshot names is there and is Parquet, and no data file is
/// one no commit ever added.
/// Returns the number of files the snapshot names.
async fn check_files(
    table: &dangan_datasets::deltalake::DeltaTable,
    name: &str,
    problems: &mut Vec<String>,
    orphans: &mut Vec<String>,
) -> usize {
    use dangan_datasets::deltalake::logstore::object_store::ObjectStoreExt;
    use dangan_datasets::deltalake::logstore::object_store::path::Path as StorePath;
    use futures::TryStreamExt;
    let store = table.object_store();
    let listed: Vec<_> = match store.list(None).try_collect().await {
        Ok(l) => l,
        Err(e) => {
            problems.push(format!(
                "{name}: its files cannot be listed 无法列出文件: {e}"
            ));
            return 0;
        }
    };
    let sizes: std::collections::HashMap<StorePath, u64> = listed
        .iter()
        .map(|m| (m.location.clone(), m.size))
        .collect();
    let mut known = HashSet::new();
    for m in &listed {
        let path = m.location.as_ref();
        if !(path.starts_with("_delta_log/") && path.ends_with(".json")) {
            continue;
        }
        let text = match store.get(&m.location).await {
            Ok(r) => r
                .bytes()
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
            Err(e) => Err(e),
        };
        let added = text
            .map_err(|e| Error::Other(e.to_string()))
            .and_then(|t| added_in(&t, &format!("{name}/{path}"), &mut known));
        if let Err(e) = added {
            problems.push(format!("{name}: {e}"));
            return 0;
        }
    }
    let root = table.table_url().as_str().to_string();
    let active: Vec<String> = match table.get_file_uris() {
        Ok(f) => f.collect(),
        Err(e) => {
            problems.push(format!("{name}: {e}"));
            return 0;
        }
    };
    // A local table names its files by plain path (deltalake's `to_uri`), a bucket's by URL.
    let root_dir = table
        .table_url()
        .to_file_path()
        .ok()
        .map(|d| format!("{}/", d.display().to_string().trim_end_matches('/')));
    for uri in &active {
        let path = match (uri.strip_prefix(&root), &root_dir) {
            (Some(rel), _) => StorePath::from_url_path(rel),
            (None, Some(dir)) => StorePath::parse(uri.strip_prefix(dir.as_str()).unwrap_or(uri)),
            (None, None) => StorePath::from_url_path(uri),
        };
        let Ok(path) = path else {
            problems.push(format!("{name}: a file path does not read 路径无效: {uri}"));
            continue;
        };
        // (Named by a checkpoint when the commits before it were removed: `lake encrypt
        // --vacuum`.)
        known.insert(path.as_ref().to_string());
        let Some(&size) = sizes.get(&path) else {
            problems.push(format!("{name}: file missing 文件缺失: {uri}"));
            continue;
        };
        let magic = |r: std::ops::Range<u64>| {
            let store = store.clone();
            let path = path.clone();
            async move { store.get_range(&path, r).await.ok() }
        };
        let parquet = size >= 8
            && magic(0..4).await.is_some_and(|b| b.as_ref() == b"PAR1")
            && magic(size - 4..size)
                .await
                .is_some_and(|b| b.as_ref() == b"PAR1");
        if !parquet {
            problems.push(format!("{name}: not a Parquet file 文件损坏: {uri}"));
        }
    }
    for m in &listed {
        let path = m.location.as_ref();
        if path.starts_with("_delta_log/") || !path.ends_with(".parquet") {
            continue;
        }
        if !known.contains(path) {
            orphans.push(format!("{name}/{path}"));
        }
    }
    active.len()
}

/// Check the lake.
pub async fn check(lake: &Lake) -> Result<CheckReport> {
    let started = Instant::now();
    let mut problems = Vec::new();
    let mut orphans = Vec::new();
    let mut files = 0;
    let names = tables(lake, &[]).await?;
    for name in &names {
        let table = match lake.open_table(name).await {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{name}: the log does not read 日志无法读取: {e}"));
                continue;
            }
        };
        files += check_files(&table, name, &mut problems, &mut orphans).await;
    }
    if !orphans.is_empty() {
        problems.push(format!(
            "{} orphan files no commit added 孤立文件 (a write that died; `dangan lake vacuum` removes them): {}",
            orphans.len(),
            orphans.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let index_in_step = match dangan_index::SearchIndex::open(lake) {
        Ok(index) => index.in_step(lake).await.unwrap_or(false),
        Err(_) => false,
    };
    if !index_in_step {
        problems
            .push("the search index is behind the tables 索引未同步 (`dangan index sync`)".into());
    }
    Ok(CheckReport {
        tables: names.len(),
        files,
        orphans,
        index_in_step,
        problems,
        millis: started.elapsed().as_millis(),
    })
}

/// What `encrypt` did: the key the lake seals with now, the key it replaced (a rotation), each
/// table rewritten, and the vacuum if asked.
#[derive(Debug, Clone, Serialize)]
pub struct EncryptReport {
    pub key_id: String,
    pub replaced_key: Option<String>,
    pub tables: Vec<dangan_datasets::ResealReport>,
    pub vacuum: Option<UpkeepReport>,
    /// Log entries deleted with the vacuum (their statistics quoted the old values).
    pub log_entries_removed: usize,
    pub millis: u128,
}

/// Seal the lake's personal values with the key `source` names (`dangan lake encrypt`;
/// `dangan lake rotate-key` — `rotate` — when the lake is sealed with another key): `lake.toml` first names
/// the key (and keeps the replaced one under `previous`, so a run that stops halfway still
/// reads and is finished by running it again), then every table holding a value not sealed
/// with it is rewritten, one commit each, then the replaced key is forgotten. `vacuum`: the
/// files from before (plaintext, or the old key's) are deleted at once — time travel to
/// earlier versions ends there.
pub async fn encrypt(
    lake: &mut Lake,
    mut source: dangan_datasets::seal::KeySource,
    rotate: bool,
    vacuum_after: bool,
    progress: &dyn Fn(&str),
) -> Result<EncryptReport> {
    use dangan_datasets::seal::EncryptionConfig;
    let started = Instant::now();
    source.key_id = String::new();
    let key = source.load()?;
    source.key_id = key.id.clone();
    let mut config = lake.config().clone();
    // `rotate`: the caller asked for another key (`rotate-key`), else to encrypt with this one.
    match (&config.encryption, rotate) {
        (None, true) => {
            return Err(Error::Other(
                "the lake is not encrypted: `dangan lake encrypt` first 湖尚未加密".into(),
            ));
        }
        (Some(e), false) if e.key.key_id != source.key_id => {
            return Err(Error::Other(format!(
                "the lake is sealed with key {}, not this one: `dangan lake rotate-key` \
                 changes keys",
                e.key.key_id
            )));
        }
        _ => {}
    }
    let replaced_key = match config.encryption.take() {
        Some(enc) if enc.key.key_id == source.key_id => {
            config.encryption = Some(EncryptionConfig {
                key: source,
                previous: enc.previous,
            });
            None
        }
        Some(enc) => {
            // The values sealed now must open before anything is sealed anew.
            enc.key.load()?;
            let old = enc.key.key_id.clone();
            let mut previous = vec![enc.key];
            previous.extend(enc.previous);
            config.encryption = Some(EncryptionConfig {
                key: source,
                previous,
            });
            Some(old)
        }
        None => {
            config.encryption = Some(EncryptionConfig {
                key: source,
                previous: Vec::new(),
            });
            None
        }
    };
    lake.save_config(config)?;
    let mut tables = Vec::new();
    let mut holding = Vec::new();
    for (name, _) in lake.tables() {
        if lake.sealed_columns(&name).is_empty() || !lake.table_exists(&name).await? {
            continue;
        }
        holding.push(name.clone());
        progress(&name);
        if let Some(r) = lake.reseal(&name).await? {
            tables.push(r);
        }
    }
    let mut config = lake.config().clone();
    if let Some(enc) = config.encryption.as_mut()
        && !enc.previous.is_empty()
    {
        enc.previous.clear();
        lake.save_config(config)?;
    }
    let (vacuum, log_entries_removed) = if vacuum_after {
        let v = vacuum(lake, 0, false).await?;
        // The log's statistics of the old files (min/max values) go too.
        let mut removed = 0;
        for name in &holding {
            removed += lake.forget_history(name).await?;
        }
        (Some(v), removed)
    } else {
        (None, 0)
    };
    Ok(EncryptReport {
        key_id: key.id,
        replaced_key,
        tables,
        vacuum,
        log_entries_removed,
        millis: started.elapsed().as_millis(),
    })
}
