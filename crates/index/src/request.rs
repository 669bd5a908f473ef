//! What the index is asked and what it answers: a search request (with the scopes a
//! department's grants resolve to), its hits and facets, and what a sync or a status reports.

use std::collections::BTreeMap;

/// What one granted dataset lets a department read: every row, or the rows of some
/// organizations (resolved to the sub-trees of its grant; empty when the dataset has no way
/// to an organization, so none of its rows are in scope).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResolvedScope {
    pub dataset: String,
    /// `None`: every row.
    pub orgs: Option<Vec<String>>,
}

impl ResolvedScope {
    /// Every row of `dataset`.
    pub fn all(dataset: impl Into<String>) -> Self {
        ResolvedScope {
            dataset: dataset.into(),
            orgs: None,
        }
    }

    /// The rows of `orgs` in `dataset`.
    pub fn of_orgs(dataset: impl Into<String>, orgs: Vec<String>) -> Self {
        ResolvedScope {
            dataset: dataset.into(),
            orgs: Some(orgs),
        }
    }

    /// Whether every row of the dataset is in scope.
    pub fn reads_all(&self) -> bool {
        self.orgs.is_none()
    }

    /// Whether the rows of `org` are in scope.
    pub fn covers_org(&self, org: &str) -> bool {
        self.orgs
            .as_ref()
            .is_none_or(|orgs| orgs.iter().any(|o| o == org))
    }
}

/// A department's scopes: one per dataset it was granted. A request without scopes is the
/// administrator's.
pub type Scopes = Vec<ResolvedScope>;

use chrono::NaiveDate;
use serde::Serialize;

/// What one dataset's sync did.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetSync {
    pub dataset: String,
    pub from_version: Option<i64>,
    pub to_version: i64,
    /// Documents written (re-read whole) or rows changed (incremental).
    pub documents: u64,
    /// Only the rows changed since `from_version` were applied (the change data feed).
    pub incremental: bool,
}

/// What `sync` did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SyncReport {
    pub datasets: Vec<DatasetSync>,
    pub documents: u64,
    pub millis: u64,
}

/// Where one dataset's part of the index stands.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetStatus {
    pub dataset: String,
    pub table_version: Option<i64>,
    pub indexed_version: Option<i64>,
    pub documents: u64,
    pub in_step: bool,
}

/// A search, as the CLI, SQL and the API ask it (and the key of its cached result).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SearchRequest {
    pub query: String,
    /// Only these datasets (empty: all).
    pub datasets: Vec<String>,
    /// Only rows of these organizations (a sub-tree, resolved by the caller).
    pub orgs: Option<Vec<String>>,
    /// What a department may read: only these datasets, each limited to the rows of these
    /// organizations (`None`: all its rows). `None`: everything (the administrator).
    pub scopes: Option<Scopes>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub category: Option<String>,
    pub limit: usize,
    pub offset: usize,
    /// Compute the facets (reads the fast fields of every match, and counts every one); without
    /// them only the top hits are ranked (block-max pruning) and the matches are counted for
    /// `total` up to `count_to`.
    pub facets: bool,
    /// Without facets, count the matches only up to this many (`None`: every one). A common
    /// word's exact count is a pass over all its matches (for a phrase, their positions):
    /// ten milliseconds for 117,000 texts, where its top hits take a tenth of one. Past the
    /// bound, `total` is a lower bound and `total_exact` false — as Elasticsearch's
    /// `track_total_hits`.
    pub count_to: Option<usize>,
}

/// One result.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hit {
    /// The dataset of the row (or of the person found by name).
    pub dataset: String,
    /// The row's key in its dataset.
    pub key: String,
    pub member_id: Option<String>,
    pub org_id: Option<String>,
    /// The row's date (YYYY-MM-DD), when its dataset has one.
    pub date: Option<String>,
    /// Relevance (BM25); higher first.
    pub score: f32,
    /// HTML: escaped text with the matches in `<mark>`.
    pub snippet: String,
}

/// Counts of all matches (not only the page shown), per dataset, organization and year.
#[derive(Debug, Clone, Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facets {
    pub dataset: BTreeMap<String, u64>,
    pub org: BTreeMap<String, u64>,
    pub year: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    /// Every match, or with `total_exact` false at least this many (see `count_to`).
    pub total: usize,
    pub total_exact: bool,
    pub hits: Vec<Hit>,
    pub facets: Facets,
}

/// What [`crate::SearchIndex::warm`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Warmed {
    pub segments: usize,
    /// Documents whose fast fields were read.
    pub documents: u64,
    /// Rows of the name tables.
    pub names: u64,
    pub millis: u64,
}
