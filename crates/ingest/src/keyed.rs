//! An upsert into a table that holds no rows yet, streamed like an append: rows go to the
//! table's files as they are converted (memory as for an append, not every row of the run),
//! and only each key's first arrival is remembered. A row whose key arrived before (rare: a
//! roster that lists a member twice) is held back; at the end the earlier rows of those keys
//! are taken back out of the written files (nothing is committed yet) and [`crate::dedupe`]
//! decides among all of a key's rows in run order — the same rule and the same messages as an
//! upsert that holds every row.

use std::collections::HashSet;
use std::path::PathBuf;

use arrow::array::UInt32Array;
use arrow::compute::{concat_batches, take_record_batch};
use arrow::record_batch::RecordBatch;
use arrow::row::RowConverter;
use dangan_datasets::{
    DatasetSpec, TableAppender, UpsertCounts, WriteOptions, key_converter, key_rows,
};

use crate::dedupe::Collected;
use crate::dedupe::Deduped;
use crate::error::Result;

/// A row's place in the run: its file, the first file row of the part it came in, and its
/// position in that part (the order `stream::convert_all` gives collected parts).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    file: usize,
    start: i64,
    idx: u32,
}

/// Rows held back because their key had arrived before, with their places and file rows.
struct Held {
    batch: RecordBatch,
    places: Vec<(Place, i64)>,
}

pub(crate) struct KeyedAppend {
    appender: TableAppender,
    key_cols: Vec<usize>,
    converter: Option<RowConverter>,
    /// Every key's first arrival: its place and file row (FxHash: a short key hashed in a
    /// few nanoseconds, on the thread that also writes the Parquet).
    first: rustc_hash::FxHashMap<Box<[u8]>, (Place, i64)>,
    held: Vec<Held>,
    /// Rows in the table's files so far.
    written: usize,
}

impl KeyedAppend {
    /// `None` when the table already holds rows (the upsert must look at them) or the spec
    /// has no key column in its schema.
    pub(crate) fn new(appender: TableAppender, spec: &DatasetSpec) -> Result<Option<Self>> {
        if !appender.table_was_empty() {
            return Ok(None);
        }
        let schema = spec.arrow_schema();
        let key_cols: Vec<usize> = spec
            .key
            .iter()
            .filter_map(|k| schema.index_of(k).ok())
            .collect();
        let converter = if key_cols.is_empty() {
            None
        } else {
            Some(key_converter(&schema, &key_cols)?)
        };
        Ok(Some(KeyedAppend {
            appender,
            key_cols,
            converter,
            first: rustc_hash::FxHashMap::default(),
            held: Vec::new(),
            written: 0,
        }))
    }

    /// Write a converted part, holding back the rows whose key arrived before.
    pub(crate) async fn put(
        &mut self,
        file: usize,
        batch: RecordBatch,
        file_rows: Vec<i64>,
    ) -> Result<()> {
        let Some(converter) = &self.converter else {
            self.written += batch.num_rows();
            return Ok(self.appender.write(batch).await?);
        };
        let keys = key_rows(converter, &batch, &self.key_cols)?;
        let start = file_rows.first().copied().unwrap_or(0);
        self.first.reserve(keys.num_rows());
        let (mut again, mut places) = (Vec::new(), Vec::new());
        for r in 0..keys.num_rows() {
            let place = Place {
                file,
                start,
                idx: r as u32,
            };
            let row = file_rows.get(r).copied().unwrap_or(0);
            let key = keys.row(r).data();
            if self.first.contains_key(key) {
                again.push(r as u32);
                places.push((place, row));
            } else {
                self.first.insert(key.into(), (place, row));
            }
        }
        if again.is_empty() {
            self.written += batch.num_rows();
            return Ok(self.appender.write(batch).await?);
        }
        let keep: Vec<u32> = (0..batch.num_rows() as u32)
            .filter(|r| again.binary_search(r).is_err())
            .collect();
        self.written += keep.len();
        self.held.push(Held {
            batch: take_record_batch(&batch, &UInt32Array::from(again))?,
            places,
        });
        Ok(self
            .appender
            .write(take_record_batch(&batch, &UInt32Array::from(keep))?)
            .await?)
    }

    /// One row per key: when a key came more than once, its earlier rows are taken back out
    /// of the written files and all of its rows go through [`crate::dedupe::dedupe`]; the rows
    /// it keeps are written. `files` and `sheets` name each file index for the messages.
    pub(crate) async fn settle(
        &mut self,
        spec: &DatasetSpec,
        files: &[PathBuf],
        sheets: &[String],
    ) -> Result<Deduped> {
        let (Some(converter), false) = (&self.converter, self.held.is_empty()) else {
            return Ok(Deduped::default());
        };
        // The keys that came again, and their first rows out of the written files.
        let mut again: HashSet<Box<[u8]>> = HashSet::new();
        for h in &self.held {
            let keys = key_rows(converter, &h.batch, &self.key_cols)?;
            again.extend(keys.iter().map(|k| Box::<[u8]>::from(k.data())));
        }
        let key_cols = &self.key_cols;
        let mut pick = |b: &RecordBatch| -> dangan_datasets::Result<Vec<bool>> {
            let keys = key_rows(converter, b, key_cols)?;
            Ok(keys.iter().map(|k| again.contains(k.data())).collect())
        };
        let taken = self.appender.take_back(&mut pick).await?;
        self.written -= taken.iter().map(RecordBatch::num_rows).sum::<usize>();

        // Every row of those keys with its place: the first arrivals, then the held rows.
        let schema = spec.arrow_schema();
        let mut parts: Vec<RecordBatch> = Vec::new();
        let mut places: Vec<(Place, i64)> = Vec::new();
        for b in taken {
            let keys = key_rows(converter, &b, &self.key_cols)?;
            for k in keys.iter() {
                // Every written row's key was remembered at its arrival.
                let place = self.first.get(k.data()).copied().ok_or_else(|| {
                    dangan_datasets::Error::Invalid(
                        "a row taken back from the written files has a key never seen".into(),
                    )
                })?;
                places.push(place);
            }
            parts.push(b);
        }
        for h in std::mem::take(&mut self.held) {
            places.extend(h.places);
            parts.push(h.batch);
        }
        let all = concat_batches(&schema, &parts)?;
        drop(parts);
        // In run order, one collected part per stretch of the same file.
        let mut order: Vec<u32> = (0..all.num_rows() as u32).collect();
        order.sort_by_key(|&i| places[i as usize].0);
        let mut collected: Vec<Collected> = Vec::new();
        for stretch in
            order.chunk_by(|a, b| places[*a as usize].0.file == places[*b as usize].0.file)
        {
            collected.push(Collected {
                batch: take_record_batch(&all, &UInt32Array::from(stretch.to_vec()))?,
                file: places[stretch[0] as usize].0.file,
                file_rows: stretch.iter().map(|&i| places[i as usize].1).collect(),
            });
        }
        let mut deduped = crate::dedupe::dedupe(spec, collected, files, sheets)?;
        for b in std::mem::take(&mut deduped.batches) {
            self.written += b.num_rows();
            self.appender.write(b).await?;
        }
        Ok(deduped)
    }

    /// The commit: every row written, one per key. The counts say every row was new.
    pub(crate) async fn commit(self, opts: WriteOptions) -> Result<(i64, UpsertCounts)> {
        let counts = UpsertCounts {
            inserted: self.written,
            ..UpsertCounts::default()
        };
        Ok((self.appender.commit(opts).await?, counts))
    }
}
