//! A Delta table as a DataFusion table: the Parquet files of the snapshot read by DataFusion's
//! own Parquet scan.
//!
//! The Delta log says which files make up the table at a version; once that list is known,
//! a table with no partition columns, no column mapping and no deletion vectors (every table
//! dangan writes) is exactly those Parquet files. DataFusion's listing table over them reads
//! the footers once per session (exact row counts and min/max per row group, so `count(*)`
//! and pruning cost nothing) and skips the per-batch file-id column delta-rs's scan adds —
//! the ten analyst queries of BENCHMARKS.md ran 10–20% faster. Any other table is read through
//! delta-rs's own provider, which handles all of those.

use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;

use crate::error::{Error, Result};

/// The table provider for `table` (named `name`, for errors) in `ctx`'s session.
pub async fn table_provider(
    ctx: &SessionContext,
    name: &str,
    table: &DeltaTable,
) -> Result<Arc<dyn TableProvider>> {
    // Registers the table's object store with the session, whichever provider reads it.
    table
        .update_datafusion_session(&ctx.state())
        .map_err(|e| Error::Lake(dangan_datasets::Error::delta(name, e)))?;
    // The listing table below reads the files by their own URLs (`s3://bucket/…`): the
    // bucket's store is registered under them (a local lake's `file://` is there already).
    let url = table.table_url();
    if url.scheme() != "file" {
        let root = datafusion::execution::object_store::ObjectStoreUrl::parse(format!(
            "{}://{}",
            url.scheme(),
            url.authority()
        ))?;
        ctx.runtime_env()
            .register_object_store(root.as_ref(), table.log_store().root_object_store(None));
    }
    let delta = table.table_provider().await?;
    let state = ctx.state();
    let parquet = state.default_table_options().parquet;
    let cache = state.runtime_env().cache_manager.get_file_statistic_cache();
    Ok(files_or(table, delta, parquet, cache)?)
}

/// The table as its snapshot's Parquet files (a listing table, or an empty table when there
/// are none), else `delta` — delta-rs's own provider, for what a file list cannot be. As-of
/// reads use it too, so every table a query names can travel to a cluster as a file list.
pub fn files_or(
    table: &DeltaTable,
    delta: Arc<dyn TableProvider>,
    parquet: datafusion::config::TableParquetOptions,
    cache: Option<Arc<datafusion::execution::cache::cache_manager::FileStatisticsCache>>,
) -> datafusion::error::Result<Arc<dyn TableProvider>> {
    match plain_files(table) {
        Some(files) if !files.is_empty() => {
            let format = ParquetFormat::default().with_options(parquet);
            let options = ListingOptions::new(Arc::new(format)).with_file_extension(".parquet");
            let urls = files
                .iter()
                .map(ListingTableUrl::parse)
                .collect::<datafusion::error::Result<Vec<_>>>()?;
            let config = ListingTableConfig::new_with_multi_paths(urls)
                .with_listing_options(options)
                .with_schema(delta.schema());
            let listing = ListingTable::try_new(config)?.with_cache(cache);
            Ok(Arc::new(listing))
        }
        // No files: an empty table of the same columns (which travels to a cluster too).
        Some(_) => Ok(Arc::new(datafusion::datasource::MemTable::try_new(
            delta.schema(),
            vec![vec![]],
        )?)),
        None => Ok(delta),
    }
}

/// The URIs of the snapshot's files, when they alone are the table (no partition values to
/// add, no column names to map, no rows deleted by vector).
fn plain_files(table: &DeltaTable) -> Option<Vec<String>> {
    let snapshot = table.snapshot().ok()?;
    let metadata = snapshot.metadata();
    if !metadata.partition_columns().is_empty()
        || metadata
            .configuration()
            .get("delta.columnMapping.mode")
            .is_some_and(|m| m != "none")
    {
        return None;
    }
    if snapshot
        .log_data()
        .iter()
        .any(|f| f.deletion_vector_descriptor().is_some())
    {
        return None;
    }
    Some(table.get_file_uris().ok()?.collect())
}
