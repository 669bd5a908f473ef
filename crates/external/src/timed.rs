//! A remote table as dangan reads it: only plain conditions go into the remote SQL (no
//! function of dangan's or of DataFusion's, whose spelling or meaning the database may not
//! share), each still checked again here (`Inexact`: collations differ), and the rows come
//! with a bound on every wait — the database down, stopped or slow is an error naming the
//! source within its timeout, never a hang and never a partial answer.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::ReplaceChildrenOptions;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
};
use futures::StreamExt;

/// A remote table with its source's name and timeout.
#[derive(Debug)]
pub struct TimedTable {
    inner: Arc<dyn TableProvider>,
    source: String,
    timeout: Duration,
}

impl TimedTable {
    pub fn new(inner: Arc<dyn TableProvider>, source: &str, timeout: Duration) -> TimedTable {
        TimedTable {
            inner,
            source: source.to_string(),
            timeout,
        }
    }

    /// The source it reads (for a cluster's "not distributable" message).
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Whether `e` may go into the remote SQL: columns, literals, comparisons, `AND`/`OR`/`NOT`,
/// `IS [NOT] NULL`, `BETWEEN`, `IN` lists, `LIKE` and casts — nothing that calls a function.
pub fn plain(e: &Expr) -> bool {
    use datafusion::logical_expr::Operator::*;
    match e {
        Expr::Column(_) | Expr::Literal(..) => true,
        Expr::Not(x) | Expr::IsNull(x) | Expr::IsNotNull(x) => plain(x),
        // The casts type coercion puts around a column compared with a literal.
        Expr::Cast(c) => plain(&c.expr),
        Expr::BinaryExpr(b) => {
            matches!(
                b.op,
                Eq | NotEq | Lt | LtEq | Gt | GtEq | And | Or | IsDistinctFrom | IsNotDistinctFrom
            ) && plain(&b.left)
                && plain(&b.right)
        }
        Expr::Between(b) => plain(&b.expr) && plain(&b.low) && plain(&b.high),
        Expr::InList(l) => plain(&l.expr) && l.list.iter().all(plain),
        Expr::Like(l) => l.escape_char.is_none() && plain(&l.expr) && plain(&l.pattern),
        _ => false,
    }
}

#[async_trait]
impl TableProvider for TimedTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let plain_ones: Vec<&Expr> = filters.iter().copied().filter(|f| plain(f)).collect();
        let inner = self.inner.supports_filters_pushdown(&plain_ones)?;
        let mut inner = inner.into_iter();
        Ok(filters
            .iter()
            .map(|f| {
                if plain(f) {
                    match inner.next() {
                        Some(TableProviderFilterPushDown::Unsupported) | None => {
                            TableProviderFilterPushDown::Unsupported
                        }
                        Some(_) => TableProviderFilterPushDown::Inexact,
                    }
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // A caller above (a department's scope) may hand on conditions it was not told were
        // supported: only those the remote SQL can hold go on.
        let plain_ones: Vec<&Expr> = filters.iter().filter(|f| plain(f)).collect();
        let supported = self.inner.supports_filters_pushdown(&plain_ones)?;
        let pushed: Vec<Expr> = plain_ones
            .into_iter()
            .zip(supported)
            .filter(|(_, s)| *s != TableProviderFilterPushDown::Unsupported)
            .map(|(f, _)| f.clone())
            .collect();
        // A LIMIT with conditions kept here would cut rows before they are checked.
        let limit = if pushed.len() == filters.len() {
            limit
        } else {
            None
        };
        let plan = self.inner.scan(state, projection, &pushed, limit).await?;
        Ok(Arc::new(TimedExec::new(plan, &self.source, self.timeout)))
    }
}

/// Rows of a remote scan, each wait bounded and each error naming the source.
#[derive(Debug)]
pub struct TimedExec {
    input: Arc<dyn ExecutionPlan>,
    source: String,
    timeout: Duration,
    properties: Arc<PlanProperties>,
}

impl TimedExec {
    fn new(input: Arc<dyn ExecutionPlan>, source: &str, timeout: Duration) -> TimedExec {
        let properties = input.properties().clone();
        TimedExec {
            input,
            source: source.to_string(),
            timeout,
            properties,
        }
    }
}

impl DisplayAs for TimedExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "ExternalSourceExec: {} (wait at most {} s)",
            self.source,
            self.timeout.as_secs()
        )
    }
}

impl ExecutionPlan for TimedExec {
    fn name(&self) -> &str {
        "ExternalSourceExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(TimedExec::new(
            children.swap_remove(0),
            &self.source,
            self.timeout,
        )))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let schema = self.input.schema();
        let input = self.input.execute(partition, context)?;
        let (source, timeout) = (self.source.clone(), self.timeout);
        let named = move |e: DataFusionError| {
            DataFusionError::Execution(format!("external source `{source}`: {e}"))
        };
        let stream = futures::stream::unfold(Some(input), move |state| {
            let named = named.clone();
            async move {
                let mut input = state?;
                match tokio::time::timeout(timeout, input.next()).await {
                    Ok(Some(Ok(batch))) => Some((Ok(batch), Some(input))),
                    Ok(Some(Err(e))) => Some((Err(named(e)), None)),
                    Ok(None) => None,
                    Err(_) => Some((
                        Err(named(DataFusionError::Execution(format!(
                            "no rows within {} s (the database is down, stopped or slow; `timeout_seconds` in lake.toml sets the wait)",
                            timeout.as_secs()
                        )))),
                        None,
                    )),
                }
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}
