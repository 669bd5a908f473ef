//! What the server keeps between requests: the live tokens (by hash, re-read every few
//! seconds so a new or revoked token takes effect without a restart), one query session per
//! department (re-opened every few seconds so imports show up), the search index.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dangan_datasets::Lake;
use dangan_query::QueryEngine;
use tokio::sync::Mutex;

use crate::ServeOptions;

/// How long a token list or a department's session is reused.
const TOKENS_FOR: Duration = Duration::from_secs(3);
const SESSION_FOR: Duration = Duration::from_secs(10);
/// How often a search looks whether the index is behind its tables.
const INDEX_LOOK_EVERY: Duration = Duration::from_secs(3);

/// A department's session, when it was opened, and whether a request is opening its
/// successor (meanwhile every other request keeps using this one: no request waits for a
/// refresh but the one doing it).
struct Session {
    at: Instant,
    engine: Arc<QueryEngine>,
    refreshing: bool,
}

/// The live tokens (hash → department), when they were read, and whether a request is
/// reading them again (meanwhile the others use these).
#[derive(Default)]
struct Tokens {
    at: Option<Instant>,
    /// The token table's version `live` was read at or after.
    version: Option<i64>,
    live: HashMap<String, String>,
    refreshing: bool,
}

pub struct AppState {
    pub lake: Lake,
    pub options: ServeOptions,
    tokens: Mutex<Tokens>,
    sessions: Mutex<HashMap<String, Session>>,
    /// Sessions replaced while their audit rows were not yet written.
    retired: Mutex<Vec<Arc<QueryEngine>>>,
    /// The index, and when it last looked for documents another process committed.
    index: Mutex<Option<(Instant, Arc<dangan_index::SearchIndex>)>>,
    /// The datasets whose table is ahead of the index, and when that was last looked at.
    index_behind: Mutex<(Option<Instant>, Vec<String>)>,
    /// A catch-up of the index is running (one at a time).
    catching_up: std::sync::atomic::AtomicBool,
    /// Counts `refresh_sessions`: a session opened before a write is not kept after it.
    sessions_dropped: std::sync::atomic::AtomicU64,
    /// Held while audit rows are written: the flush at shutdown waits for a periodic one
    /// still writing (whose rows were lost when the process ended under it).
    flushing: Mutex<()>,
    /// Turns for searches (`None`: no limit; see [`ServeOptions::search_slots`]).
    pub search_slots: Option<tokio::sync::Semaphore>,
    /// Turns for queries (SQL, reports, archives; every channel).
    pub admission: Admission,
}

/// Admission control for queries: at most `slots` run at once, at most `per_department` of
/// one department are running or waiting, and a request waits at most `wait` for its turn —
/// past any of these it is refused at once (429 / `RESOURCE_EXHAUSTED`) rather than left to
/// time out with every other request sharing the cores.
pub struct Admission {
    slots: tokio::sync::Semaphore,
    total: usize,
    per_department: std::sync::Mutex<HashMap<String, usize>>,
    per_department_max: usize,
    wait: Duration,
}

/// A query's turn: the slot and the department's count are given back when it is dropped.
pub struct Turn<'a> {
    _slot: tokio::sync::SemaphorePermit<'a>,
    _counted: Counted<'a>,
}

/// One of a department's running or waiting queries.
struct Counted<'a> {
    admission: &'a Admission,
    department: String,
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        if let Ok(mut m) = self.admission.per_department.lock()
            && let Some(n) = m.get_mut(&self.department)
        {
            *n = n.saturating_sub(1);
        }
    }
}

impl Admission {
    pub fn new(slots: usize, per_department: usize, wait: Duration) -> Self {
        let slots = slots.max(1);
        Admission {
            slots: tokio::sync::Semaphore::new(slots),
            total: slots,
            per_department: std::sync::Mutex::new(HashMap::new()),
            per_department_max: per_department.max(1),
            wait,
        }
    }

    /// A turn for one of `session`'s queries, or why not (the text of a 429), the refusal
    /// audited under its department.
    pub async fn admit_session(
        &self,
        session: &dangan_query::QueryEngine,
    ) -> Result<Turn<'_>, String> {
        let department = session.department().unwrap_or(dangan_query::ADMINISTRATOR);
        self.admit(department).await.inspect_err(|m| {
            session.record("(refused at admission)", 0, 0, &format!("refused: {m}"));
        })
    }

    /// A turn for one of `department`'s queries, or why not (the text of a 429).
    pub async fn admit(&self, department: &str) -> Result<Turn<'_>, String> {
        {
            let mut m = self
                .per_department
                .lock()
                .map_err(|_| "admission state poisoned".to_string())?;
            let n = m.entry(department.to_string()).or_insert(0);
            if *n >= self.per_department_max {
                return Err(format!(
                    "查询过多 {department} has {n} queries running or waiting, at most {} at once; \
                     wait for them to finish",
                    self.per_department_max
                ));
            }
            *n += 1;
        }
        let counted = Counted {
            admission: self,
            department: department.to_string(),
        };
        match tokio::time::timeout(self.wait, self.slots.acquire()).await {
            Ok(Ok(slot)) => Ok(Turn {
                _slot: slot,
                _counted: counted,
            }),
            _ => Err(format!(
                "服务器繁忙 all {} query slots stayed busy for {} s; try again shortly",
                self.total,
                self.wait.as_secs()
            )),
        }
    }
}

impl AppState {
    pub fn new(lake: Lake, options: ServeOptions) -> Self {
        AppState {
            lake,
            tokens: Mutex::new(Tokens::default()),
            sessions: Mutex::new(HashMap::new()),
            retired: Mutex::new(Vec::new()),
            index: Mutex::new(None),
            index_behind: Mutex::new((None, Vec::new())),
            catching_up: std::sync::atomic::AtomicBool::new(false),
            sessions_dropped: std::sync::atomic::AtomicU64::new(0),
            flushing: Mutex::new(()),
            search_slots: (options.search_slots > 0)
                .then(|| tokio::sync::Semaphore::new(options.search_slots)),
            admission: Admission::new(
                options.query_slots,
                options.department_queries,
                options.queue_wait,
            ),
            options,
        }
    }

    /// The department a bearer token belongs to (`None`: not a live token).
    ///
    /// The list is read again every few seconds by the request that finds it stale, while the
    /// others go on with the one they have (reading it takes tens of milliseconds: every
    /// request waiting for it showed in the tail every 3 s). A token not in the list waits
    /// for a fresh one (it may have just been made), a revoked one lasts at most a few
    /// seconds.
    pub async fn department(&self, token: &str) -> Result<Option<String>, String> {
        let hash = dangan_datasets::tokens::token_hash(token);
        {
            let mut t = self.tokens.lock().await;
            let known = t.live.get(&hash).cloned();
            let age = t.at.map(|at| at.elapsed());
            let stale = age.is_none_or(|a| a > TOKENS_FOR);
            let unknown_and_old =
                known.is_none() && age.is_none_or(|a| a > Duration::from_millis(500));
            if !stale && !unknown_and_old {
                return Ok(known);
            }
            if known.is_some() && t.refreshing {
                return Ok(known);
            }
            t.refreshing = true;
        }
        // The table's version is looked at first (its log listed): when it has not moved
        // since the tokens were read, they are still the live ones.
        let version = dangan_datasets::tokens::version(&self.lake).await;
        {
            let mut t = self.tokens.lock().await;
            if t.at.is_some()
                && let Ok(v) = &version
                && *v == t.version
            {
                t.refreshing = false;
                t.at = Some(Instant::now());
                return Ok(t.live.get(&hash).cloned());
            }
        }
        let read = dangan_datasets::tokens::live_hashes(&self.lake).await;
        let mut t = self.tokens.lock().await;
        t.refreshing = false;
        let live = read.map_err(|e| e.to_string())?;
        t.live = live.into_iter().collect();
        t.version = version.ok().flatten();
        t.at = Some(Instant::now());
        Ok(t.live.get(&hash).cloned())
    }

    /// The department's session.
    pub async fn session(
        self: &Arc<Self>,
        department: &str,
    ) -> Result<Arc<QueryEngine>, dangan_query::Error> {
        self.cached_session(Some(department)).await
    }

    /// The administrator's session, for what the server itself reads (import runs).
    pub async fn admin_session(self: &Arc<Self>) -> Result<Arc<QueryEngine>, dangan_query::Error> {
        self.cached_session(None).await
    }

    /// A session is opened by the first request that needs it; once it is `SESSION_FOR` old,
    /// its successor is opened in the background while requests go on with it (the request
    /// that found it old waited ~0.1 s on a large lake: a lone user, at every query). So a
    /// policy change made elsewhere holds within `SESSION_FOR` plus one opening, as before.
    async fn cached_session(
        self: &Arc<Self>,
        department: Option<&str>,
    ) -> Result<Arc<QueryEngine>, dangan_query::Error> {
        // The administrator's key cannot be a department's: departments have names.
        let key = department.unwrap_or_default().to_string();
        if let Some(e) = self.sessions.lock().await.get_mut(&key) {
            if e.at.elapsed() >= SESSION_FOR && !e.refreshing {
                e.refreshing = true;
                let state = self.clone();
                let department = department.map(str::to_string);
                tokio::spawn(async move {
                    if let Err(err) = state.open_session(key, department.as_deref()).await {
                        tracing::warn!("opening a session afresh: {err}");
                    }
                });
            }
            return Ok(e.engine.clone());
        }
        self.open_session(key, department).await
    }

    async fn open_session(
        &self,
        key: String,
        department: Option<&str>,
    ) -> Result<Arc<QueryEngine>, dangan_query::Error> {
        use std::sync::atomic::Ordering;
        let dropped = self.sessions_dropped.load(Ordering::SeqCst);
        let runner = self.options.runner.as_deref();
        let engine = match QueryEngine::open_on(&self.lake, department, runner).await {
            Ok(e) => Arc::new(e),
            Err(err) => {
                if let Some(e) = self.sessions.lock().await.get_mut(&key) {
                    e.refreshing = false;
                }
                return Err(err);
            }
        };
        let fresh = Session {
            at: Instant::now(),
            engine: engine.clone(),
            refreshing: false,
        };
        let mut sessions = self.sessions.lock().await;
        // Opened before a write that dropped the sessions: used by this request, not kept
        // (a session opened after the write may already be there).
        if self.sessions_dropped.load(Ordering::SeqCst) != dropped {
            drop(sessions);
            self.retired.lock().await.push(engine.clone());
            return Ok(engine);
        }
        if let Some(old) = sessions.insert(key, fresh) {
            drop(sessions);
            self.retired.lock().await.push(old.engine);
        }
        Ok(engine)
    }

    /// Open every session afresh at its next use (after a write through the server); their
    /// audit rows are still written.
    pub async fn refresh_sessions(&self) {
        self.sessions_dropped
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let old: Vec<Arc<QueryEngine>> = self
            .sessions
            .lock()
            .await
            .drain()
            .map(|(_, s)| s.engine)
            .collect();
        self.retired.lock().await.extend(old);
    }

    /// The search index (it picks up what a pipeline's `index` step committed within a few
    /// seconds; its result cache lives as long as nothing changed).
    ///
    /// The request that finds it due looks (on the blocking pool); the others go on with the
    /// searcher they have meanwhile (every request waiting showed in the tail every 10 s).
    pub async fn index(&self) -> Result<Arc<dangan_index::SearchIndex>, dangan_index::Error> {
        let mut i = self.index.lock().await;
        if let Some((at, index)) = &mut *i {
            let index = index.clone();
            if at.elapsed() > SESSION_FOR {
                *at = Instant::now();
                drop(i);
                let looking = index.clone();
                // In the background: this request goes on with what it has (a lone organizer
                // searching every few seconds paid the look at every search).
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = looking.refresh() {
                        tracing::warn!("looking for new index segments: {e}");
                    }
                });
            }
            return Ok(index);
        }
        let index = Arc::new(dangan_index::SearchIndex::open(&self.lake)?);
        if let Some(notice) = index.upgrade_notice() {
            tracing::warn!("{notice}");
        }
        index.set_cache_capacity(self.options.search_cache);
        *i = Some((Instant::now(), index.clone()));
        Ok(index)
    }

    /// The datasets whose table is ahead of the search index (an import killed between its
    /// commit and its index step, an import with `--no-index`): looked at every few seconds,
    /// and when any is behind, the index is brought in step in the background — a search
    /// meanwhile says which of its datasets may be incomplete (`index_behind`).
    ///
    /// The first look (and the first after a catch-up) is waited for by every request, so no
    /// answer goes out unmarked from an index never looked at; later looks run in the
    /// background while requests go on with the last answer (a request that found the look
    /// due paid for it: ~0.2 s on a lake of a million members, at every search of a lone user).
    pub async fn index_behind(self: &Arc<Self>) -> Vec<String> {
        let mut seen = self.index_behind.lock().await;
        match seen.0 {
            Some(at) if at.elapsed() < INDEX_LOOK_EVERY => seen.1.clone(),
            Some(_) => {
                seen.0 = Some(Instant::now());
                let last = seen.1.clone();
                drop(seen);
                let state = self.clone();
                tokio::spawn(async move {
                    let behind = state.look_behind().await;
                    state.index_behind.lock().await.1 = behind;
                });
                last
            }
            None => {
                seen.0 = Some(Instant::now());
                let behind = self.look_behind().await;
                seen.1 = behind.clone();
                behind
            }
        }
    }

    /// One look at whether the index is in step, starting a catch-up when it is not.
    async fn look_behind(self: &Arc<Self>) -> Vec<String> {
        use std::sync::atomic::Ordering;
        let Ok(index) = self.index().await else {
            return Vec::new();
        };
        let behind: Vec<String> = match index.behind(&self.lake).await {
            Ok(behind) => behind,
            Err(e) => {
                tracing::warn!("looking whether the index is in step: {e}");
                Vec::new()
            }
        };
        if !behind.is_empty() && !self.catching_up.swap(true, Ordering::SeqCst) {
            let state = self.clone();
            tokio::spawn(async move {
                tracing::info!("the search index is behind its tables: bringing it in step");
                if let Err(e) = index.sync(&state.lake, false, &|_, _| {}).await {
                    tracing::warn!("bringing the index in step: {e}");
                }
                let _ = index.refresh();
                state.index_behind.lock().await.0 = None;
                state.catching_up.store(false, Ordering::SeqCst);
            });
        }
        behind
    }

    /// Write the audit rows of every session (one commit per session that has any).
    pub async fn flush_audits(&self) {
        let _one_at_a_time = self.flushing.lock().await;
        let retired: Vec<Arc<QueryEngine>> = std::mem::take(&mut *self.retired.lock().await);
        let live: Vec<Arc<QueryEngine>> = self
            .sessions
            .lock()
            .await
            .values()
            .map(|s| s.engine.clone())
            .collect();
        for e in retired.iter().chain(&live) {
            if let Err(err) = e.flush_audit().await {
                tracing::warn!(error = %err, "writing the audit failed 审计写入失败");
            }
        }
        // A replaced session a request still holds gets its audit row later: kept for the
        // next flush (dropping it here lost that request's row).
        let in_use = retired.into_iter().filter(|e| Arc::strong_count(e) > 1);
        self.retired.lock().await.extend(in_use);
    }
}
