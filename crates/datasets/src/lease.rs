//! The lake's one-writer lock across hosts, for a lake on object storage: a lock object
//! (`_dangan/lake.lock` beside the tables) created with a conditional put (`If-None-Match: *`)
//! and held by a lease that its holder renews (`If-Match` on the ETag it wrote). A holder that
//! dies stops renewing; once its lease has run out the next writer takes the object over with a
//! conditional put on the dead holder's ETag, so two waiters cannot both take it.
//!
//! The lock keeps writers from interleaving their runs; the Delta commits themselves are
//! conditional puts too, so even a writer that lost its lease (stalled longer than the lease)
//! cannot overwrite a commit — its own commit fails instead. Before taking the lock the store
//! is asked to prove that it honours conditional puts: a store that would let two writers both
//! "create" one object is refused with a clear message.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deltalake::logstore::ObjectStoreRef;
use deltalake::logstore::object_store::path::Path;
use deltalake::logstore::object_store::{
    Error as StoreError, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};
use crate::lock::{Holder, host_name};

/// How long a lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(60);
/// How often the holder renews it.
const RENEW: Duration = Duration::from_secs(15);

/// What the lock object holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Note {
    #[serde(flatten)]
    holder: Holder,
    /// RFC 3339: when the lease runs out unless renewed.
    expires: String,
}

impl Note {
    fn now(what: &str) -> Note {
        let now = chrono::Utc::now();
        Note {
            holder: Holder {
                pid: std::process::id(),
                host: host_name(),
                since: now.to_rfc3339(),
                what: what.to_string(),
            },
            expires: (now + chrono::Duration::from_std(LEASE).unwrap_or_default()).to_rfc3339(),
        }
    }

    fn renewed(&self) -> Note {
        Note {
            holder: self.holder.clone(),
            expires: (chrono::Utc::now() + chrono::Duration::from_std(LEASE).unwrap_or_default())
                .to_rfc3339(),
        }
    }

    fn expired(&self) -> bool {
        chrono::DateTime::parse_from_rfc3339(&self.expires)
            .map(|t| t < chrono::Utc::now())
            .unwrap_or(true)
    }

    fn payload(&self) -> PutPayload {
        serde_json::to_vec(self).unwrap_or_default().into()
    }
}

/// A held lease; dropping it stops the renewal and removes the lock object.
#[derive(Debug)]
pub struct Lease {
    url: Url,
    options: BTreeMap<String, String>,
    path: Path,
    version: Arc<std::sync::Mutex<UpdateVersion>>,
    renewer: tokio::task::JoinHandle<()>,
    /// The note of a holder whose lease ran out (it died without releasing), if there was one.
    pub recovered: Option<Holder>,
}

fn storage_error(url: &Url, e: impl std::fmt::Display) -> Error {
    Error::Storage {
        url: url.to_string(),
        message: e.to_string(),
    }
}

/// The lock object's place: `_dangan/lake.lock` under the lake's storage URL.
fn lock_path(prefix: &Path) -> Path {
    prefix.clone().join("_dangan").join("lake.lock")
}

/// Refuse a store that does not honour `If-None-Match: *`: create one probe object twice; the
/// second must fail.
async fn require_conditional_put(store: &ObjectStoreRef, prefix: &Path, url: &Url) -> Result<()> {
    let probe = prefix
        .clone()
        .join("_dangan")
        .join(format!("probe-{}", uuid::Uuid::new_v4().simple()));
    let create = || PutOptions::from(PutMode::Create);
    let refuse = |why: String| Error::Storage {
        url: url.to_string(),
        message: format!(
            "the store does not honour conditional puts (If-None-Match: *) 存储不支持条件写入: {why}. \
             Two writers could both commit one table version and one would be lost; use a store \
             that does (AWS S3, MinIO, Cloudflare R2, Ceph RGW ≥ 18)"
        ),
    };
    let first = store
        .put_opts(&probe, PutPayload::from_static(b"1"), create())
        .await;
    let result = match first {
        Ok(_) => match store
            .put_opts(&probe, PutPayload::from_static(b"2"), create())
            .await
        {
            Err(StoreError::AlreadyExists { .. }) => Ok(()),
            Ok(_) => Err(refuse("a second create of one object succeeded".into())),
            Err(e) => Err(refuse(e.to_string())),
        },
        Err(e @ StoreError::NotImplemented { .. }) => Err(refuse(e.to_string())),
        Err(e) => Err(storage_error(url, e)),
    };
    let _ = store.delete(&probe).await;
    result
}

/// The current note and its version, `None` when there is no lock object.
async fn current(
    store: &ObjectStoreRef,
    path: &Path,
    url: &Url,
) -> Result<Option<(Note, UpdateVersion)>> {
    let got = match store.get(path).await {
        Ok(g) => g,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(storage_error(url, e)),
    };
    let version = UpdateVersion {
        e_tag: got.meta.e_tag.clone(),
        version: got.meta.version.clone(),
    };
    let bytes = got.bytes().await.map_err(|e| storage_error(url, e))?;
    // An unreadable note (a half-written one, or another tool's) counts as expired.
    let note = serde_json::from_slice(&bytes).unwrap_or_else(|_| Note {
        holder: Holder {
            pid: 0,
            host: String::new(),
            since: String::new(),
            what: "an unreadable lock note".into(),
        },
        expires: String::new(),
    });
    Ok(Some((note, version)))
}

impl Lease {
    /// Take the lease on the lake at `url`, waiting up to `wait` for its holder (`on_wait` is
    /// told who it is, once).
    pub async fn take(
        url: &Url,
        options: &BTreeMap<String, String>,
        what: &str,
        wait: Duration,
        on_wait: impl Fn(&Holder),
    ) -> Result<Lease> {
        let (store, prefix) =
            crate::storage::open(url, options).map_err(|e| storage_error(url, e))?;
        require_conditional_put(&store, &prefix, url).await?;
        let path = lock_path(&prefix);
        let started = Instant::now();
        let mut told = false;
        loop {
            let note = Note::now(what);
            let taken = match store
                .put_opts(&path, note.payload(), PutMode::Create.into())
                .await
            {
                Ok(put) => Some((put, None)),
                Err(StoreError::AlreadyExists { .. } | StoreError::Precondition { .. }) => {
                    match current(&store, &path, url).await? {
                        // Released in between: try again at once.
                        None => continue,
                        Some((held, version)) if held.expired() => {
                            match store
                                .put_opts(&path, note.payload(), PutMode::Update(version).into())
                                .await
                            {
                                Ok(put) => Some((put, Some(held.holder))),
                                // Another waiter took it over first.
                                Err(
                                    StoreError::Precondition { .. } | StoreError::NotFound { .. },
                                ) => None,
                                Err(e) => return Err(storage_error(url, e)),
                            }
                        }
                        Some((held, _)) => {
                            if started.elapsed() >= wait {
                                return Err(Error::Locked {
                                    path: url
                                        .join("_dangan/lake.lock")
                                        .map(|u| u.to_string())
                                        .unwrap_or_default()
                                        .into(),
                                    holder: held.holder.to_string(),
                                });
                            }
                            if !told {
                                on_wait(&held.holder);
                                told = true;
                            }
                            None
                        }
                    }
                }
                Err(e) => return Err(storage_error(url, e)),
            };
            let Some((put, recovered)) = taken else {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            };
            let version = Arc::new(std::sync::Mutex::new(UpdateVersion {
                e_tag: put.e_tag,
                version: put.version,
            }));
            let renewer = tokio::spawn(renew(
                store.clone(),
                path.clone(),
                note,
                version.clone(),
                url.clone(),
            ));
            return Ok(Lease {
                url: url.clone(),
                options: options.clone(),
                path,
                version,
                renewer,
                recovered,
            });
        }
    }
}

/// Renew the lease every [`RENEW`] until stopped; a renewal refused (the lease ran out and was
/// taken over) ends it with an error in the log.
async fn renew(
    store: ObjectStoreRef,
    path: Path,
    note: Note,
    version: Arc<std::sync::Mutex<UpdateVersion>>,
    url: Url,
) {
    loop {
        tokio::time::sleep(RENEW).await;
        let held = version.lock().map(|v| v.clone()).unwrap_or(UpdateVersion {
            e_tag: None,
            version: None,
        });
        match store
            .put_opts(
                &path,
                note.renewed().payload(),
                PutMode::Update(held).into(),
            )
            .await
        {
            Ok(put) => {
                if let Ok(mut v) = version.lock() {
                    *v = UpdateVersion {
                        e_tag: put.e_tag,
                        version: put.version,
                    };
                }
            }
            Err(e) => {
                tracing::error!(lake = %url, error = %e, "the lake lock's lease could not be renewed; another writer may take it over 租约续期失败");
                if matches!(
                    e,
                    StoreError::Precondition { .. } | StoreError::NotFound { .. }
                ) {
                    return;
                }
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
        // Remove the lock object if it is still ours. On a thread of its own with a store of its
        // own: a drop may happen on any runtime (or none), and must not wait on its workers.
        let url = self.url.clone();
        let options = self.options.clone();
        let path = self.path.clone();
        let ours = self.version.lock().ok().and_then(|v| v.e_tag.clone());
        let released = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let Ok((store, _)) = crate::storage::open(&url, &options) else {
                    return;
                };
                let still_ours = match store.head(&path).await {
                    Ok(meta) => ours.is_none() || meta.e_tag == ours,
                    Err(_) => false,
                };
                if still_ours {
                    let _ = store.delete(&path).await;
                }
            });
        });
        let _ = released.join();
    }
}
