//! A read-through cache, per process, of the Delta log's commit files
//! (`_delta_log/<20 digits>.json`) in front of an object store (S3). One command opens a table
//! several times (the audit table: to query it, to append its row, after the commit), and
//! every open read the same commit files again, each a request to the bucket. Listings,
//! `_last_checkpoint`, checkpoints, data files and every conditional, ranged or versioned read
//! go to the store: a new commit is found by listing, so the cache never hides one.
//!
//! A commit file is created with a conditional put and never rewritten; a write through this
//! store to a held path (a table deleted and made again here) drops it. Checkpoints are not
//! held: one version's checkpoint may be written again with other bytes (`forget_history`
//! checkpoints the version the last commit already did), and its readers ask for ranges
//! computed from the listing's size. A table deleted and made again under the same prefix by
//! another process while this one runs is the one case the cache would not see.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, LazyLock, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    Attributes, CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult,
    MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, RenameOptions, Result,
};

/// Bytes kept at most, every store together; the oldest objects go first.
const CAPACITY: usize = 64 << 20;
/// An object larger than this is never kept.
const LARGEST: u64 = 8 << 20;

#[derive(Default)]
struct Held {
    bytes: usize,
    objects: HashMap<String, (Bytes, ObjectMeta)>,
    order: VecDeque<String>,
}

static HELD: LazyLock<Mutex<Held>> = LazyLock::new(Mutex::default);

fn held(key: &str) -> Option<(Bytes, ObjectMeta)> {
    HELD.lock().ok()?.objects.get(key).cloned()
}

fn keep(key: String, bytes: Bytes, meta: ObjectMeta) {
    let Ok(mut h) = HELD.lock() else { return };
    if h.objects.contains_key(&key) {
        return;
    }
    h.bytes += bytes.len();
    h.order.push_back(key.clone());
    h.objects.insert(key, (bytes, meta));
    while h.bytes > CAPACITY {
        let Some(old) = h.order.pop_front() else {
            break;
        };
        if let Some((b, _)) = h.objects.remove(&old) {
            h.bytes -= b.len();
        }
    }
}

/// Whether `location` is a commit file of a Delta log.
fn immutable(location: &Path) -> bool {
    let s = location.as_ref();
    let Some((dir, name)) = s.rsplit_once('/') else {
        return false;
    };
    if dir != "_delta_log" && !dir.ends_with("/_delta_log") {
        return false;
    }
    let Some((digits, rest)) = name.split_at_checked(20) else {
        return false;
    };
    rest == ".json" && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The cache's key of `location` in the store named `root`.
fn key(root: &str, location: &Path) -> String {
    format!("{root}/{location}")
}

fn forget(key: &str) {
    let Ok(mut h) = HELD.lock() else { return };
    if let Some((b, _)) = h.objects.remove(key) {
        h.bytes -= b.len();
        h.order.retain(|k| k != key);
    }
}

/// A read with no condition, no version and a body.
fn plain(o: &GetOptions) -> bool {
    o.if_match.is_none()
        && o.if_none_match.is_none()
        && o.if_modified_since.is_none()
        && o.if_unmodified_since.is_none()
        && o.version.is_none()
        && !o.head
}

/// A held object answered as the store would: the range asked for, or all of it.
fn answer(bytes: Bytes, meta: ObjectMeta, range: Option<&GetRange>) -> Result<GetResult> {
    let range: Range<u64> = match range {
        Some(r) => r
            .as_range(meta.size)
            .map_err(|e| object_store::Error::Generic {
                store: "log cache",
                source: Box::new(e),
            })?,
        None => 0..meta.size,
    };
    let part = bytes.slice(range.start as usize..range.end as usize);
    Ok(GetResult {
        payload: GetResultPayload::Stream(futures::stream::once(async move { Ok(part) }).boxed()),
        meta,
        range,
        attributes: Attributes::default(),
    })
}

/// `inner` with the log objects it serves kept in memory (see the module doc). `root` names the
/// store in the cache's keys (`s3://bucket`).
#[derive(Debug)]
pub struct LogCache {
    inner: Arc<dyn ObjectStore>,
    root: String,
}

impl LogCache {
    pub fn new(inner: Arc<dyn ObjectStore>, root: String) -> LogCache {
        LogCache { inner, root }
    }

    /// A write to a held path: the held copy goes.
    fn drop_held(&self, location: &Path) {
        if immutable(location) {
            forget(&key(&self.root, location));
        }
    }
}

impl fmt::Display for LogCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogCache({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for LogCache {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.drop_held(location);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.drop_held(location);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if !immutable(location) || !plain(&options) {
            return self.inner.get_opts(location, options).await;
        }
        let key = key(&self.root, location);
        if let Some((bytes, meta)) = held(&key) {
            return answer(bytes, meta, options.range.as_ref());
        }
        if options.range.is_some() {
            return self.inner.get_opts(location, options).await;
        }
        let got = self.inner.get_opts(location, options).await?;
        let meta = got.meta.clone();
        let bytes = got.bytes().await?;
        if meta.size <= LARGEST && bytes.len() as u64 == meta.size {
            keep(key, bytes.clone(), meta.clone());
        }
        answer(bytes, meta, None)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        if immutable(location)
            && let Some((bytes, meta)) = held(&key(&self.root, location))
            && ranges
                .iter()
                .all(|r| r.start <= r.end && r.end <= meta.size)
        {
            return Ok(ranges
                .iter()
                .map(|r| bytes.slice(r.start as usize..r.end as usize))
                .collect());
        }
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let root = self.root.clone();
        let forgotten = locations.map(move |p| {
            if let Ok(p) = &p
                && immutable(p)
            {
                forget(&key(&root, p));
            }
            p
        });
        self.inner.delete_stream(forgotten.boxed())
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.drop_held(to);
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.drop_held(from);
        self.drop_held(to);
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    #[test]
    fn only_commit_files_are_kept() {
        let yes = [
            "t/_delta_log/00000000000000000007.json",
            "_delta_log/00000000000000000010.json",
        ];
        let no = [
            "t/_delta_log/00000000000000000010.checkpoint.parquet",
            "t/_delta_log/_last_checkpoint",
            "t/_delta_log/00000000000000000007.crc",
            "t/_delta_log/_commits/00000000000000000007.json",
            "t/part-0001.parquet",
            "t/_delta_log/0000000000000000007.json",
            "t/_delta_log/00000000000000000007.json.tmp",
        ];
        for p in yes {
            assert!(immutable(&Path::from(p)), "{p}");
        }
        for p in no {
            assert!(!immutable(&Path::from(p)), "{p}");
        }
    }

    /// A commit file read whole is answered from memory after; everything else, and a commit
    /// written again through the cache, is asked of the store.
    #[tokio::test]
    async fn answers_as_the_store_does() {
        let store = Arc::new(InMemory::new());
        let commit = Path::from("t/_delta_log/00000000000000000003.json");
        let checkpoint = Path::from("t/_delta_log/00000000000000000009.checkpoint.parquet");
        let last = Path::from("t/_delta_log/_last_checkpoint");
        for (p, body) in [
            (&commit, "commit three"),
            (&checkpoint, "0123456789"),
            (&last, "9"),
        ] {
            store.put(p, body.as_bytes().to_vec().into()).await.unwrap();
        }
        let cache = LogCache::new(store.clone(), format!("mem://{}", uuid::Uuid::new_v4()));
        let text = |b: Bytes| String::from_utf8(b.to_vec()).unwrap();
        let read = async |p: &Path| text(cache.get(p).await.unwrap().bytes().await.unwrap());
        assert_eq!(read(&commit).await, "commit three");
        assert_eq!(read(&checkpoint).await, "0123456789");
        assert_eq!(read(&last).await, "9");
        // Changed behind the cache's back: the held commit still reads as held (commit files
        // never change), the rest afresh.
        store.put(&commit, "changed".into()).await.unwrap();
        store.put(&checkpoint, "abcdefghijk".into()).await.unwrap();
        store.put(&last, "19".into()).await.unwrap();
        assert_eq!(read(&commit).await, "commit three");
        assert_eq!(read(&checkpoint).await, "abcdefghijk");
        assert_eq!(read(&last).await, "19");
        assert_eq!(
            text(cache.get_range(&checkpoint, 2..5).await.unwrap()),
            "cde"
        );
        // Ranges of a held commit from memory, as the store answers them.
        let suffix = GetOptions {
            range: Some(GetRange::Suffix(5)),
            ..Default::default()
        };
        assert_eq!(
            cache
                .get_ranges(&commit, &[0..6, 7..12])
                .await
                .unwrap()
                .into_iter()
                .map(text)
                .collect::<Vec<_>>(),
            ["commit", "three"]
        );
        let got = cache.get_opts(&commit, suffix).await.unwrap();
        assert_eq!(text(got.bytes().await.unwrap()), "three");
        // Written through the cache: the held copy goes.
        cache.put(&commit, "commit anew".into()).await.unwrap();
        assert_eq!(read(&commit).await, "commit anew");
        let deleted = cache
            .delete_stream(futures::stream::iter([Ok(commit.clone())]).boxed())
            .collect::<Vec<_>>()
            .await;
        assert_eq!(deleted.len(), 1);
        assert!(cache.get(&commit).await.is_err(), "deleted");
    }
}
