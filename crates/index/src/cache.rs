//! Results of recent searches, kept while the index holds what it held when they were computed.

use std::collections::HashMap;

use crate::error::Result;
use crate::index::{SearchIndex, tantivy_err};
use crate::request::{SearchRequest, SearchResult};

/// What a searcher sees: its segments and their deletes (a reload that found nothing new
/// keeps it; a commit changes it).
pub(crate) fn contents(searcher: &tantivy::Searcher) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (id, opstamp) in searcher.generation().segments() {
        id.uuid_string().hash(&mut h);
        opstamp.hash(&mut h);
    }
    h.finish()
}

/// Results of recent searches, valid while the index holds what it held when they were
/// computed (see `contents`). The first-in goes first when full.
#[derive(Default)]
pub(crate) struct ResultCache {
    pub(crate) capacity: usize,
    pub(crate) map: HashMap<SearchRequest, (u64, SearchResult)>,
    pub(crate) order: std::collections::VecDeque<SearchRequest>,
}

impl ResultCache {
    pub(crate) fn get(&self, key: &SearchRequest, generation: u64) -> Option<SearchResult> {
        self.map
            .get(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, r)| r.clone())
    }

    pub(crate) fn put(&mut self, key: SearchRequest, generation: u64, result: &SearchResult) {
        if self.capacity == 0 {
            return;
        }
        if self
            .map
            .insert(key.clone(), (generation, result.clone()))
            .is_none()
        {
            self.order.push_back(key);
        }
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }
}

impl SearchIndex {
    /// Keep the results of the last `capacity` distinct searches (0: none, the default) for
    /// as long as the index does not change: a server answers a repeated search — the same
    /// words, filters and scope — without searching again.
    pub fn set_cache_capacity(&self, capacity: usize) {
        if let Ok(mut c) = self.cache.lock() {
            c.capacity = capacity;
            if capacity == 0 {
                c.map.clear();
                c.order.clear();
            }
        }
    }

    /// See documents committed since the index was opened or last synced here (by another
    /// process: a pipeline's `index` step).
    pub fn refresh(&self) -> Result<()> {
        self.reader.reload().map_err(tantivy_err(&self.dir))?;
        self.load_names(&self.state()?);
        Ok(())
    }

    /// Where a request's result is kept for what the searcher holds: its key and the
    /// searcher's contents (`None`: no cache — the CLI — so no key, no fingerprint).
    pub(crate) fn cache_slot(
        &self,
        searcher: &tantivy::Searcher,
        req: &SearchRequest,
    ) -> Option<(SearchRequest, u64)> {
        if self.cache.lock().map_or(true, |c| c.capacity == 0) {
            return None;
        }
        Some((req.clone(), contents(searcher) ^ self.name_set().generation))
    }

    /// The result of a search if the cache holds it for what the index holds now (no search
    /// is run): a server answers it at once instead of waiting for a turn to search.
    pub fn cached(&self, req: &SearchRequest) -> Option<SearchResult> {
        let (key, contents) = self.cache_slot(&self.reader.searcher(), req)?;
        self.cache.lock().ok()?.get(&key, contents)
    }
}
