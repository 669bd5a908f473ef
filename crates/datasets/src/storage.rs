//! Tables on S3-compatible object storage (AWS S3, MinIO, Cloudflare R2, Ceph): dangan's own
//! object-store and log-store factories for `s3://` and `s3a://`, built on object_store's S3
//! client (already part of the build; deltalake's `s3` feature would add the AWS SDK).
//!
//! Settings come from the lake's `[storage_options]` (object_store's names: `aws_endpoint`,
//! `aws_region`, `aws_access_key_id`, `aws_secret_access_key`, `aws_allow_http`, …) over the
//! usual `AWS_*` environment variables. Commits are written with a conditional put
//! (`If-None-Match: *`, object_store's default for S3), so two writers of one version cannot
//! both win: AWS S3, MinIO and R2 honour it; a store that does not must not be used by more
//! than one writer (`aws_conditional_put = "disabled"` makes every commit fail instead).

use std::sync::{Arc, Once};

use deltalake::logstore::object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use deltalake::logstore::object_store::path::Path;
use deltalake::logstore::{
    LogStore, LogStoreFactory, ObjectStoreFactory, ObjectStoreRef, StorageConfig, default_logstore,
    logstore_factories, object_store_factories,
};
use deltalake::{DeltaResult, DeltaTableError};
use url::Url;

use crate::log_cache::LogCache;

/// URL schemes of S3-compatible stores.
pub const SCHEMES: [&str; 2] = ["s3", "s3a"];

/// Make `s3://` table URLs openable (once per process; deltalake keeps factories globally).
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for scheme in SCHEMES {
            let url = Url::parse(&format!("{scheme}://")).expect("a scheme alone is a URL");
            object_store_factories().insert(url.clone(), Arc::new(S3Stores));
            logstore_factories().insert(url, Arc::new(S3Logs));
        }
    });
}

/// The S3 client of a table URL and its path inside the bucket.
struct S3Stores;

impl ObjectStoreFactory for S3Stores {
    fn parse_url_opts(
        &self,
        url: &Url,
        config: &StorageConfig,
    ) -> DeltaResult<(ObjectStoreRef, Path)> {
        let mut builder = AmazonS3Builder::from_env().with_url(url.as_str());
        for (key, value) in &config.raw {
            let parsed: AmazonS3ConfigKey = key.to_ascii_lowercase().parse().map_err(|_| {
                DeltaTableError::Generic(format!(
                    "storage option `{key}` is not an S3 setting (expected object_store's names, \
                     e.g. aws_endpoint, aws_region, aws_access_key_id, aws_allow_http)"
                ))
            })?;
            builder = builder.with_config(parsed, value);
        }
        let store = builder.build()?;
        let path = Path::from_url_path(url.path())?;
        // The log's commit files and checkpoints, read once per process (`log_cache`).
        let root = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
        Ok((Arc::new(LogCache::new(Arc::new(store), root)), path))
    }
}

/// The Delta log on S3: deltalake's default log store, whose commits are conditional puts.
struct S3Logs;

impl LogStoreFactory for S3Logs {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

/// The store of an `s3://` URL and the path inside it, with the lake's options — for what the
/// lake keeps beside its tables (the lock object of [`crate::lease`]).
pub fn open(
    url: &Url,
    options: &std::collections::BTreeMap<String, String>,
) -> DeltaResult<(ObjectStoreRef, Path)> {
    let config = StorageConfig::parse_options(options.clone())?;
    S3Stores.parse_url_opts(url, &config)
}
