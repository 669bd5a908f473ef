//! A table's `txn` markers (which files an import already took) read once per import: the
//! latest checkpoint's `txn` column, then the commits after it, up to the snapshot's version.
//!
//! delta-rs answers one application id at a time, replaying the log each time: an import of
//! 7,877 workbooks into a bucket asked 7,877 times, each a listing and the commit files
//! fetched again (issue 28: stopped after 15 minutes). Read here once, the rest are look-ups.
//! A log this reader does not know (v2 checkpoints, sidecars, commits missing before any
//! checkpoint) falls back to delta-rs, one id at a time.

use std::collections::HashMap;

use deltalake::DeltaTable;
use deltalake::parquet::arrow::ProjectionMask;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::error::{Error, Result};
use crate::lake::Lake;

/// The markers of one table at one snapshot.
pub struct Markers<'a> {
    lake: &'a Lake,
    table: &'a DeltaTable,
    /// `None`: asked of delta-rs one id at a time.
    read: Option<HashMap<String, i64>>,
}

impl Markers<'_> {
    /// The version of `app_id`'s last `txn` action, if any.
    pub async fn version(&self, app_id: &str) -> Result<Option<i64>> {
        match &self.read {
            Some(m) => Ok(m.get(app_id).copied()),
            None => self.lake.transaction_version(self.table, app_id).await,
        }
    }

    /// Whether the log was read at once (else each look-up asks delta-rs).
    pub fn read_at_once(&self) -> bool {
        self.read.is_some()
    }
}

impl Lake {
    /// Every `txn` marker of `table` (at its loaded version), read once.
    pub async fn markers<'a>(&'a self, table: &'a DeltaTable) -> Result<Markers<'a>> {
        let read = match table.version() {
            None => Some(HashMap::new()),
            Some(v) => read_markers(table, v as i64).await?,
        };
        Ok(Markers {
            lake: self,
            table,
            read,
        })
    }
}

/// What a file of `_delta_log/` is.
#[derive(Debug, PartialEq, Eq)]
enum LogFile {
    Commit(i64),
    /// A checkpoint's part `part` of `parts` (1 of 1 for a single file).
    Checkpoint {
        version: i64,
        part: u32,
        parts: u32,
    },
    /// Something this reader does not know how to read (a v2 checkpoint, a sidecar).
    Unknown,
    /// Not part of the log's state (`_last_checkpoint`, `.crc`, temporary files).
    Other,
}

fn classify(name: &str) -> LogFile {
    let digits = |s: &str| s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit());
    let Some((head, rest)) = name.split_once('.') else {
        return LogFile::Other;
    };
    if !digits(head) {
        return LogFile::Other;
    }
    let version: i64 = head.parse().unwrap_or(-1);
    match rest.split('.').collect::<Vec<_>>().as_slice() {
        ["json"] => LogFile::Commit(version),
        ["checkpoint", "parquet"] => LogFile::Checkpoint {
            version,
            part: 1,
            parts: 1,
        },
        ["checkpoint", part, parts, "parquet"]
            if part.bytes().all(|b| b.is_ascii_digit())
                && parts.bytes().all(|b| b.is_ascii_digit()) =>
        {
            LogFile::Checkpoint {
                version,
                part: part.parse().unwrap_or(0),
                parts: parts.parse().unwrap_or(0),
            }
        }
        ["checkpoint", ..] => LogFile::Unknown,
        _ => LogFile::Other,
    }
}

/// The markers as of `version`, or `None` when the log is of a shape left to delta-rs.
async fn read_markers(table: &DeltaTable, version: i64) -> Result<Option<HashMap<String, i64>>> {
    let name = table.table_url().to_string();
    let err = |e: object_store::Error| Error::delta(&name, e.into());
    let store = table.log_store().object_store(None);
    let listed: Vec<_> = store
        .list(Some(&Path::from("_delta_log")))
        .try_collect()
        .await
        .map_err(err)?;
    let mut commits = Vec::new();
    let mut checkpoints: HashMap<(i64, u32), Vec<(u32, Path)>> = HashMap::new();
    for m in &listed {
        if m.location.as_ref().contains("_sidecars/") {
            return Ok(None);
        }
        let Some(file) = m.location.filename() else {
            continue;
        };
        match classify(file) {
            LogFile::Commit(v) if v <= version => commits.push((v, m.location.clone())),
            LogFile::Checkpoint {
                version: v,
                part,
                parts,
            } if v <= version => checkpoints
                .entry((v, parts))
                .or_default()
                .push((part, m.location.clone())),
            LogFile::Unknown => return Ok(None),
            _ => {}
        }
    }
    // The latest complete checkpoint.
    let checkpoint = checkpoints
        .into_iter()
        .filter(|((_, parts), files)| files.len() == *parts as usize && *parts > 0)
        .max_by_key(|((v, _), _)| *v);
    let mut markers = HashMap::new();
    let after = match &checkpoint {
        Some(((v, _), files)) => {
            for (_, path) in files {
                let bytes = store
                    .get(path)
                    .await
                    .map_err(err)?
                    .bytes()
                    .await
                    .map_err(err)?;
                read_checkpoint_txns(&name, bytes, &mut markers)?;
            }
            *v
        }
        None => -1,
    };
    commits.retain(|(v, _)| *v > after);
    commits.sort();
    // Every commit from the checkpoint on must be there (a log cleaned up without one is left
    // to delta-rs).
    if commits.iter().map(|(v, _)| *v).ne((after + 1)..=version) {
        return Ok(None);
    }
    let texts: Vec<bytes::Bytes> = futures::stream::iter(commits)
        .map(|(_, path)| {
            let store = store.clone();
            async move { store.get(&path).await?.bytes().await }
        })
        .buffered(16)
        .try_collect()
        .await
        .map_err(err)?;
    for text in texts {
        for line in text.split(|b| *b == b'\n') {
            // Only lines that carry a `txn` action are parsed.
            if line.is_empty() || !contains(line, b"\"txn\"") {
                continue;
            }
            let v: serde_json::Value = serde_json::from_slice(line)
                .map_err(|e| Error::Invalid(format!("table {name}: a commit line: {e}")))?;
            let txn = &v["txn"];
            if let (Some(app), Some(ver)) = (txn["appId"].as_str(), txn["version"].as_i64()) {
                markers.insert(app.to_string(), ver);
            }
        }
    }
    Ok(Some(markers))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The `txn` column of a checkpoint file (struct of `appId`, `version`).
fn read_checkpoint_txns(
    name: &str,
    bytes: bytes::Bytes,
    markers: &mut HashMap<String, i64>,
) -> Result<()> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| Error::Invalid(format!("table {name}: its checkpoint: {e}")))?;
    let Some(index) = builder
        .schema()
        .fields()
        .iter()
        .position(|f| f.name() == "txn")
    else {
        return Ok(());
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| Error::Invalid(format!("table {name}: its checkpoint: {e}")))?;
    for batch in reader {
        let batch = batch?;
        let txn = batch.column(0).as_struct();
        let (Some(app), Some(ver)) = (txn.column_by_name("appId"), txn.column_by_name("version"))
        else {
            continue;
        };
        let app = arrow::compute::cast(app, &arrow::datatypes::DataType::Utf8)?;
        let app = app.as_string::<i32>();
        let ver = arrow::compute::cast(ver, &arrow::datatypes::DataType::Int64)?;
        let ver = ver.as_primitive::<Int64Type>();
        for i in 0..txn.len() {
            if txn.is_valid(i) && app.is_valid(i) && ver.is_valid(i) {
                markers.insert(app.value(i).to_string(), ver.value(i));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WriteOptions;

    #[test]
    fn log_files_are_told_apart() {
        assert_eq!(classify("00000000000000000007.json"), LogFile::Commit(7));
        assert_eq!(
            classify("00000000000000000100.checkpoint.parquet"),
            LogFile::Checkpoint {
                version: 100,
                part: 1,
                parts: 1
            }
        );
        assert_eq!(
            classify("00000000000000000100.checkpoint.0000000002.0000000003.parquet"),
            LogFile::Checkpoint {
                version: 100,
                part: 2,
                parts: 3
            }
        );
        assert_eq!(
            classify("00000000000000000100.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json"),
            LogFile::Unknown
        );
        assert_eq!(classify("_last_checkpoint"), LogFile::Other);
        assert_eq!(classify("00000000000000000007.crc"), LogFile::Other);
    }

    /// Past a checkpoint, with markers before and after it, and after the log before it is
    /// gone: the same answers as delta-rs's one-at-a-time look-up.
    #[tokio::test]
    async fn markers_read_at_once_match_delta_rs() {
        let dir = tempfile::tempdir().unwrap();
        let (lake, _) = Lake::init(dir.path()).await.unwrap();
        let schema = lake.registry().get("organizations").unwrap().arrow_schema();
        let empty = arrow::record_batch::RecordBatch::new_empty(schema);
        for i in 0..12i64 {
            let opts = WriteOptions {
                transactions: vec![(format!("dangan-file-{}", i % 9), i)],
                ..Default::default()
            };
            lake.write("organizations", vec![empty.clone()], opts)
                .await
                .unwrap();
            if i == 6 {
                lake.forget_history("organizations").await.unwrap();
            }
        }
        let table = lake.open_table("organizations").await.unwrap();
        let markers = lake.markers(&table).await.unwrap();
        assert!(markers.read_at_once());
        for i in 0..10 {
            let id = format!("dangan-file-{i}");
            assert_eq!(
                markers.version(&id).await.unwrap(),
                lake.transaction_version(&table, &id).await.unwrap(),
                "{id}"
            );
        }
        assert_eq!(markers.version("dangan-file-2").await.unwrap(), Some(11));
        assert_eq!(markers.version("dangan-file-5").await.unwrap(), Some(5));
        assert_eq!(markers.version("dangan-file-9").await.unwrap(), None);
    }

    /// Every table checkpoints itself every 10 commits, so that opening it reads a checkpoint
    /// and at most nine commit files (requests, on object storage); the log stays whole.
    #[tokio::test]
    async fn tables_checkpoint_every_ten_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (lake, _) = Lake::init(dir.path()).await.unwrap();
        let schema = lake.registry().get("organizations").unwrap().arrow_schema();
        let empty = arrow::record_batch::RecordBatch::new_empty(schema);
        for _ in 0..20 {
            lake.write(
                "organizations",
                vec![empty.clone()],
                WriteOptions::default(),
            )
            .await
            .unwrap();
        }
        let log = dir.path().join("tables/organizations/_delta_log");
        let mut checkpoints: Vec<String> = std::fs::read_dir(&log)
            .unwrap()
            .map(|f| f.unwrap().file_name().to_string_lossy().to_string())
            .filter(|f| f.contains(".checkpoint."))
            .collect();
        checkpoints.sort();
        assert_eq!(
            checkpoints,
            [
                "00000000000000000009.checkpoint.parquet",
                "00000000000000000019.checkpoint.parquet"
            ]
        );
        assert!(
            log.join("00000000000000000000.json").exists(),
            "the log stays"
        );
        // An internal table too (made by `init` through the same path).
        let audit = lake.open_table("system_audit").await.unwrap();
        let config = audit.snapshot().unwrap().metadata().configuration().clone();
        assert_eq!(
            config.get("delta.checkpointInterval").map(String::as_str),
            Some(crate::lake::CHECKPOINT_INTERVAL)
        );
    }
}
