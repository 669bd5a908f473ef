//! Rows of one upsert run that share a key. The table can hold one row per key, so the last
//! one in the run (the last file, the lowest row) is kept; an earlier row with the same
//! values in every column is *merged* (nothing is lost), one that differs goes to quarantine
//! as `duplicate_key`, naming the row that was kept — never dropped without a word.

use std::collections::HashMap;
use std::path::PathBuf;

use arrow::array::{Array, BooleanArray};
use arrow::compute::filter_record_batch;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use arrow::util::display::array_value_to_string;
use dangan_datasets::DatasetSpec;

use crate::convert::QuarantineEntry;
use crate::error::Result;

/// A converted batch kept for a commit that needs all rows, with where its rows come from.
pub(crate) struct Collected {
    pub batch: RecordBatch,
    /// Index of the file in the run's list.
    pub file: usize,
    pub file_rows: Vec<i64>,
}

/// What [`dedupe`] did.
#[derive(Default)]
pub(crate) struct Deduped {
    /// The rows to write, one per key.
    pub batches: Vec<RecordBatch>,
    pub quarantine: Vec<QuarantineEntry>,
    /// Per file (index in the run's list): (rows quarantined as duplicates, rows merged).
    pub per_file: HashMap<usize, (usize, usize)>,
}

/// Keep one row per key of `spec` among `collected` (in run order); `files` and `sheets` name
/// each file index for the messages.
pub(crate) fn dedupe(
    spec: &DatasetSpec,
    collected: Vec<Collected>,
    files: &[PathBuf],
    sheets: &[String],
) -> Result<Deduped> {
    let mut out = Deduped {
        batches: Vec::new(),
        quarantine: Vec::new(),
        per_file: HashMap::new(),
    };
    let Some(first) = collected.first() else {
        return Ok(out);
    };
    let schema = first.batch.schema();
    let key: Vec<usize> = spec
        .key
        .iter()
        .filter_map(|k| schema.index_of(k).ok())
        .collect();
    if key.is_empty() {
        out.batches = collected.into_iter().map(|c| c.batch).collect();
        return Ok(out);
    }
    let converter = RowConverter::new(
        key.iter()
            .map(|&i| SortField::new(schema.field(i).data_type().clone()))
            .collect(),
    )?;
    // The last place of every key.
    let keys: Vec<arrow::row::Rows> = collected
        .iter()
        .map(|c| {
            let columns: Vec<_> = key.iter().map(|&i| c.batch.column(i).clone()).collect();
            converter.convert_columns(&columns)
        })
        .collect::<std::result::Result<_, _>>()?;
    let mut last: HashMap<&[u8], (usize, usize)> =
        HashMap::with_capacity(collected.iter().map(|c| c.batch.num_rows()).sum());
    for (b, rows) in keys.iter().enumerate() {
        for r in 0..rows.num_rows() {
            last.insert(rows.row(r).data(), (b, r));
        }
    }
    let total: usize = collected.iter().map(|c| c.batch.num_rows()).sum();
    if last.len() == total {
        out.batches = collected.into_iter().map(|c| c.batch).collect();
        return Ok(out);
    }
    let labels: Vec<&str> = spec.columns.iter().map(|c| c.label.as_str()).collect();
    let show = |b: &RecordBatch, r: usize, c: usize| -> String {
        if b.column(c).is_null(r) {
            String::new()
        } else {
            array_value_to_string(b.column(c), r).unwrap_or_default()
        }
    };
    let mut masks: Vec<Vec<bool>> = collected
        .iter()
        .map(|c| vec![true; c.batch.num_rows()])
        .collect();
    for (b, rows) in keys.iter().enumerate() {
        for r in 0..rows.num_rows() {
            let (kb, kr) = last[rows.row(r).data()];
            if (kb, kr) == (b, r) {
                continue;
            }
            masks[b][r] = false;
            let (this, kept) = (&collected[b], &collected[kb]);
            let same = (0..schema.fields().len())
                .all(|c| show(&this.batch, r, c) == show(&kept.batch, kr, c));
            let counts = out.per_file.entry(this.file).or_default();
            if same {
                counts.1 += 1;
                continue;
            }
            counts.0 += 1;
            let key_text = key
                .iter()
                .map(|&c| show(&this.batch, r, c))
                .collect::<Vec<_>>()
                .join(" / ");
            let kept_at = if kept.file == this.file {
                format!("第{}行", kept.file_rows[kr])
            } else {
                format!("{} 第{}行", files[kept.file].display(), kept.file_rows[kr])
            };
            let kept_at_en = if kept.file == this.file {
                format!("row {}", kept.file_rows[kr])
            } else {
                format!(
                    "row {} of {}",
                    kept.file_rows[kr],
                    files[kept.file].display()
                )
            };
            let mut raw = serde_json::Map::new();
            for (c, label) in labels.iter().enumerate() {
                let v = show(&this.batch, r, c);
                if !v.is_empty() {
                    raw.insert(label.to_string(), serde_json::Value::String(v));
                }
            }
            out.quarantine.push(QuarantineEntry {
                file: files[this.file].display().to_string(),
                sheet: sheets[this.file].clone(),
                row: this.file_rows[r],
                column: spec.key.join(","),
                header: key
                    .iter()
                    .map(|&c| labels[c])
                    .collect::<Vec<_>>()
                    .join(" / "),
                value: key_text.clone(),
                reason: "duplicate_key".into(),
                message: format!(
                    "“{key_text}”重复出现，内容不同；保留了后出现的{kept_at}，本行未导入 (duplicate key {key_text} with different values; {kept_at_en} was kept)"
                ),
                raw: serde_json::Value::Object(raw).to_string(),
            });
        }
    }
    for (c, mask) in collected.into_iter().zip(masks) {
        let batch = if mask.iter().all(|k| *k) {
            c.batch
        } else {
            filter_record_batch(&c.batch, &BooleanArray::from(mask))?
        };
        if batch.num_rows() > 0 {
            out.batches.push(batch);
        }
    }
    Ok(out)
}
