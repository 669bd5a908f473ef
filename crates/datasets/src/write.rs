//! What one write to a table carries besides its rows: replace or append, the Delta `txn`
//! markers that make an import idempotent, and the commit info.

use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;

/// Options of one write: its Delta `txn` actions (idempotency markers) and commit info.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Replace the table's rows instead of appending.
    pub overwrite: bool,
    /// `(app_id, version)` pairs written as `txn` actions in the same commit as the data.
    pub transactions: Vec<(String, i64)>,
    /// Extra `commitInfo` entries (run id, files, who).
    pub commit_info: Vec<(String, serde_json::Value)>,
}

/// Commit info plus one `txn` action per `(app_id, version)`.
pub(crate) fn commit_properties(
    transactions: Vec<(String, i64)>,
    info: Vec<(String, serde_json::Value)>,
) -> CommitProperties {
    let props = CommitProperties::default().with_metadata(info);
    if transactions.is_empty() {
        return props;
    }
    props.with_application_transactions(
        transactions
            .into_iter()
            .map(|(app, v)| Transaction::new(app, v))
            .collect(),
    )
}
