//! Why the access policy refused a department's request: one variant per decision, so every
//! channel (CLI, API, Flight SQL, the audit) answers by kind and never by reading a message.

/// A decision of the access policy. The message is the one users see (Chinese first, then
/// English with what to do); channels map the kind, not the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A dataset the department holds no grant for.
    #[error(
        "数据集 {dataset} 未授权给{department} (dataset `{dataset}` was not granted to `{department}`; the administrator can run `dangan access grant {department} {dataset}`)"
    )]
    NotGranted { dataset: String, department: String },
    /// An internal table (`system_*`): the administrator's only.
    #[error("内部表 {name} 仅管理员可查 (`{name}` is for the administrator only)")]
    InternalTable { name: String },
    /// A grant scoped to an organization the lake does not have (the grant outlived it).
    #[error(
        "the grant of {dataset} to {department} is scoped to org {org}, which is not in organizations 授权范围中的组织不存在"
    )]
    NoSuchOrg {
        dataset: String,
        department: String,
        org: String,
    },
    /// `EXPLAIN VERBOSE`/`ANALYZE`, statistics or another format: they show values before
    /// scope and masks.
    #[error(
        "部门的 EXPLAIN 只显示逻辑计划 (a department's EXPLAIN shows the logical plan only: VERBOSE, ANALYZE, statistics and other formats are the administrator's)"
    )]
    ExplainDetail,
    /// DDL, DML or a session statement from a department.
    #[error("部门只能查询 (a department may only query: {what})")]
    NotAQuery { what: String },
    /// A saved view this session cannot define (it reads what the department may not).
    #[error("view `{view}`: {reason}")]
    ViewUnavailable { view: String, reason: String },
    /// An upload into a dataset the department may read but not import.
    #[error(
        "部门 {department} 不能导入 {dataset}：需要导入授权 (importing needs `dangan access grant {department} {dataset} --scope all --import`; reading never implies it, and the organizations are the administrator's)"
    )]
    NoImportGrant { dataset: String, department: String },
}
