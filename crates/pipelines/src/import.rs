//! The import a user runs, whichever way they run it (`dangan import`, the web upload): the
//! rows in one commit, then the search index brought in step — also when nothing new was
//! committed, since an earlier run killed between its commit and its index step left the index
//! behind and its re-run finds the file "already imported". The caller holds the lake's lock.

use std::path::Path;

use dangan_datasets::Lake;
use dangan_index::{SearchIndex, SyncReport};
use dangan_ingest::{ImportOptions, ImportReport};

use crate::error::Result;

/// What [`import_in_step`] did.
pub struct InStep {
    pub import: ImportReport,
    /// The index step: `None` when not asked for (`--no-index`) or for a dry run; else the
    /// sync, or why it failed (the import's commit stands either way: the next import,
    /// `serve` or `pipeline run` catches the index up, and a search meanwhile says so).
    pub index: Option<std::result::Result<SyncReport, dangan_index::Error>>,
}

/// Import, then bring `index` in step (the caller's: a server keeps one open). `progress`
/// follows the files, `index_progress` the documents of each dataset synced.
pub async fn import_in_step(
    lake: &Lake,
    opts: &ImportOptions,
    index: Option<&SearchIndex>,
    progress: &(dyn Fn(usize, usize, &Path) + Sync),
    index_progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<InStep> {
    let import = dangan_ingest::import(lake, opts, progress).await?;
    let Some(index) = index.filter(|_| !import.dry_run) else {
        return Ok(InStep {
            import,
            index: None,
        });
    };
    // What the import freed goes back to the system first, so that the index step's memory
    // does not stack on the import's in the process's peak.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
    Ok(InStep {
        import,
        index: Some(index.sync(lake, false, index_progress).await),
    })
}
