//! What a search is asked under: the scopes a department's grants resolve to.

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
