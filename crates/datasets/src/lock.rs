//! One writer at a time per lake: an operating-system lock on `system/lake.lock` (released
//! by the kernel when the process ends, however it ends), with a note of who holds it inside
//! the file for the messages of whoever waits. A note left behind by a process that was killed
//! is noticed and reported when the next writer takes the lock over. A lake on object storage
//! is locked across hosts too, by a lease on a lock object beside its tables ([`crate::lease`]).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::Lake;
use crate::error::{Error, Result};
use crate::lease::Lease;

/// Who holds (or held) the lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// RFC 3339.
    pub since: String,
    /// What it is doing (`import members`, `pipeline nightly`, ...).
    pub what: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (pid {} on {}, since {})",
            self.what, self.pid, self.host, self.since
        )
    }
}

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct LakeLock {
    file: File,
    /// The lease on the lock object of a lake on object storage.
    lease: Option<Lease>,
    /// The note of a holder that ended without releasing the lock (killed), if there was one.
    pub recovered: Option<Holder>,
}

/// This machine's name (for the holder note).
pub fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

fn read_note(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

impl LakeLock {
    fn path(dir: &Path) -> PathBuf {
        dir.join("system").join("lake.lock")
    }

    /// Take the lock if it is free; otherwise say who holds it.
    pub fn try_acquire(dir: &Path, what: &str) -> Result<std::result::Result<LakeLock, Holder>> {
        let path = Self::path(dir);
        let io = |e| Error::io(&path, e);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = read_note(&mut file).unwrap_or_else(|| Holder {
                    pid: 0,
                    host: String::new(),
                    since: String::new(),
                    what: "another dangan process".into(),
                });
                return Ok(Err(holder));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        // A note still there: its writer ended without releasing (killed, power loss).
        let recovered = read_note(&mut file);
        let note = Holder {
            pid: std::process::id(),
            host: host_name(),
            since: chrono::Utc::now().to_rfc3339(),
            what: what.to_string(),
        };
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(serde_json::to_string(&note).unwrap_or_default().as_bytes())
            .map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Ok(LakeLock {
            file,
            lease: None,
            recovered,
        }))
    }

    /// Take the lake's lock, waiting up to `wait` for its holder (`on_wait` is told who it
    /// is): the local lock on the lake's folder and, for a lake on object storage, the lease
    /// that keeps writers on other hosts out.
    pub async fn acquire(
        lake: &Lake,
        what: &str,
        wait: Duration,
        on_wait: impl Fn(&Holder),
    ) -> Result<LakeLock> {
        let started = Instant::now();
        let mut told = false;
        let mut lock = loop {
            match Self::try_acquire(lake.dir(), what)? {
                Ok(lock) => break lock,
                Err(holder) => {
                    if started.elapsed() >= wait {
                        return Err(Error::Locked {
                            path: Self::path(lake.dir()),
                            holder: holder.to_string(),
                        });
                    }
                    if !told {
                        on_wait(&holder);
                        told = true;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        if let Some(url) = lake.shared_storage() {
            let rest = wait.saturating_sub(started.elapsed());
            let lease =
                Lease::take(url, &lake.config().storage_options, what, rest, &on_wait).await?;
            if lock.recovered.is_none() {
                lock.recovered = lease.recovered.clone();
            }
            lock.lease = Some(lease);
        }
        Ok(lock)
    }
}

impl Drop for LakeLock {
    fn drop(&mut self) {
        // Clear the note first: a note without a lock means "ended without releasing".
        let _ = self.file.set_len(0);
        let _ = self.file.sync_all();
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_a_dead_holders_note_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let first = LakeLock::try_acquire(dir.path(), "import members")
            .unwrap()
            .expect("free");
        assert!(first.recovered.is_none());
        let busy = LakeLock::try_acquire(dir.path(), "pipeline nightly")
            .unwrap()
            .expect_err("held");
        assert_eq!(busy.what, "import members");
        assert_eq!(busy.pid, std::process::id());
        drop(first);
        // Released cleanly: no note left.
        let again = LakeLock::try_acquire(dir.path(), "pipeline nightly")
            .unwrap()
            .expect("free again");
        assert!(again.recovered.is_none());
        // A holder that died leaves its note (the kernel released the lock itself).
        std::mem::forget(again);
        let path = dir.path().join("system/lake.lock");
        let note = std::fs::read_to_string(&path).unwrap();
        assert!(note.contains("pipeline nightly"));
    }
}
