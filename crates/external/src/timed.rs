//! A remote table as dangan reads it: only conditions whose remote answer holds every row
//! dangan's would go into the remote SQL ([`pushable`]: no function of dangan's or of
//! DataFusion's, whose spelling or meaning the database may not share; text compared only
//! for equality or `LIKE`, since collations differ; no literal the SQL unparser would let
//! break out of its string), each still checked again here (`Inexact`), and the rows come
//! with a bound on every wait — the database down, stopped or slow is an error naming the
//! source within its timeout, never a hang and never a partial answer.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
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

    /// Per filter, whether it goes into the remote SQL: [`pushable`] and taken by the
    /// provider (still checked again here).
    fn goes(&self, filters: &[&Expr]) -> Result<Vec<bool>> {
        let schema = self.inner.schema();
        let ours: Vec<bool> = filters.iter().map(|f| pushable(f, &schema)).collect();
        let offered: Vec<&Expr> = filters
            .iter()
            .zip(&ours)
            .filter(|(_, ok)| **ok)
            .map(|(f, _)| *f)
            .collect();
        let mut taken = self.inner.supports_filters_pushdown(&offered)?.into_iter();
        Ok(ours
            .into_iter()
            .map(|ok| {
                ok && taken
                    .next()
                    .is_some_and(|s| s != TableProviderFilterPushDown::Unsupported)
            })
            .collect())
    }
}

/// Whether `e` may go into the remote SQL, given the table's `schema`: the remote answer to a
/// condition that goes must hold every row DataFusion's would (each is checked again here),
/// whatever the database's collation, and its text must reach the database as written.
///
/// - Columns, literals of plain types (numbers, decimals, booleans, dates, timestamps, text),
///   `AND`/`OR`, `IS [NOT] NULL`, widening casts between numbers and dates — nothing that calls
///   a function.
/// - Numbers, dates and timestamps: every comparison, `BETWEEN`, `IN`, their negations.
/// - Text: only `=`, `IN (…)` and `LIKE`, never negated and never a range — a case-insensitive
///   collation (MySQL's default) or one that orders by pinyin (`zh_CN`) keeps more rows under
///   `=` and `LIKE` but can keep fewer under `<>`, `<`, `NOT LIKE`.
/// - A text literal with a quote, a backslash or a control character stays here: the SQL
///   unparser leaves `\'` as it is (it takes it for an escape already made), which MySQL and
///   PostgreSQL would read as the end of the string — and the MySQL reader drops every `"`.
pub fn pushable(e: &Expr, schema: &Schema) -> bool {
    use datafusion::logical_expr::Operator::*;
    match e {
        Expr::Column(_) | Expr::Literal(..) => kind(e, schema).is_some(),
        // MySQL's zero dates ('0000-00-00') are read as NULL but are not NULL there: `IS
        // NULL` on a date would drop them. (`IS NOT NULL` keeps them, and they are checked
        // again here.)
        Expr::IsNull(x) => !temporal(x, schema) && pushable(x, schema),
        Expr::IsNotNull(x) => pushable(x, schema),
        Expr::Cast(c) => {
            type_of(&c.expr, schema).is_some_and(|from| widening(&from, c.field.data_type()))
                && pushable(&c.expr, schema)
        }
        Expr::BinaryExpr(b) => match b.op {
            And | Or => pushable(&b.left, schema) && pushable(&b.right, schema),
            Eq | IsNotDistinctFrom | NotEq | IsDistinctFrom | Lt | LtEq | Gt | GtEq => {
                let text = kind(&b.left, schema) == Some(Kind::Text)
                    || kind(&b.right, schema) == Some(Kind::Text);
                let null_date = b.op == IsNotDistinctFrom
                    && (temporal(&b.left, schema) || temporal(&b.right, schema));
                !null_date
                    && (!text || matches!(b.op, Eq | IsNotDistinctFrom))
                    && pushable(&b.left, schema)
                    && pushable(&b.right, schema)
            }
            _ => false,
        },
        Expr::Between(b) => {
            kind(&b.expr, schema) == Some(Kind::Ordered)
                && pushable(&b.expr, schema)
                && pushable(&b.low, schema)
                && pushable(&b.high, schema)
        }
        Expr::InList(l) => {
            (!l.negated || kind(&l.expr, schema) == Some(Kind::Ordered))
                && pushable(&l.expr, schema)
                && l.list.iter().all(|x| pushable(x, schema))
        }
        Expr::Like(l) => {
            !l.negated
                && !l.case_insensitive
                && l.escape_char.is_none()
                && kind(&l.expr, schema) == Some(Kind::Text)
                && pushable(&l.expr, schema)
                && pushable(&l.pattern, schema)
        }
        _ => false,
    }
}

/// What a value is compared as: text (collations differ) or an ordered number/date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Ordered,
}

fn ordered(t: &DataType) -> bool {
    t.is_numeric()
        || matches!(
            t,
            DataType::Boolean | DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
        )
}

/// A cast that keeps every value as it is (type coercion's, around a column compared with a
/// wider literal): databases agree on it. Narrowing casts do not agree (MySQL rounds a float
/// cast to an integer; DataFusion truncates).
fn widening(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    from == to
        || match from {
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 => {
                matches!(to, Int64 | Float64 | Decimal128(..) | Decimal256(..))
                    || (from.is_signed_integer()
                        && matches!((from, to), (Int8, Int16 | Int32) | (Int16, Int32)))
            }
            UInt64 => matches!(to, Float64 | Decimal128(..) | Decimal256(..)),
            Float16 | Float32 => matches!(to, Float64),
            Decimal128(p, s) | Decimal256(p, s) => match to {
                Decimal128(q, t) | Decimal256(q, t) => {
                    t >= s && (*q as i16 - *t as i16) >= (*p as i16 - *s as i16)
                }
                _ => false,
            },
            Date32 => matches!(to, Date64 | Timestamp(..)),
            _ => false,
        }
}

/// Whether `e` is a date or a time.
fn temporal(e: &Expr, schema: &Schema) -> bool {
    type_of(e, schema).is_some_and(|t| t.is_temporal())
}

/// The type of a column, a literal or a cast.
fn type_of(e: &Expr, schema: &Schema) -> Option<DataType> {
    match e {
        Expr::Column(c) => Some(schema.field_with_name(&c.name).ok()?.data_type().clone()),
        Expr::Literal(v, _) => Some(v.data_type()),
        Expr::Cast(c) => Some(c.field.data_type().clone()),
        _ => None,
    }
}

fn text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The kind of a column, a literal or a cast; `None`: neither (a literal no database spells
/// as dangan would, or a text literal that must not be written into SQL).
fn kind(e: &Expr, schema: &Schema) -> Option<Kind> {
    if let Expr::Literal(
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)),
        _,
    ) = e
        && s.chars()
            .any(|c| matches!(c, '\'' | '"' | '\\') || c.is_control())
    {
        return None;
    }
    let t = type_of(e, schema)?;
    if text(&t) {
        Some(Kind::Text)
    } else if ordered(&t) {
        Some(Kind::Ordered)
    } else {
        None
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
        Ok(self
            .goes(filters)?
            .into_iter()
            .map(|goes| {
                if goes {
                    TableProviderFilterPushDown::Inexact
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
        let all: Vec<&Expr> = filters.iter().collect();
        let pushed: Vec<Expr> = filters
            .iter()
            .zip(self.goes(&all)?)
            .filter(|(_, goes)| *goes)
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
            DataFusionError::Execution(format!(
                "external source `{source}`: {}",
                crate::error::tidy(&e.to_string())
            ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Field;
    use datafusion::functions::expr_fn::upper;
    use datafusion::prelude::{cast, col, lit};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("n", DataType::Int32, true),
            Field::new("f", DataType::Float64, true),
            Field::new("d", DataType::Date32, true),
            Field::new("b", DataType::Binary, true),
        ])
    }

    #[test]
    fn only_conditions_whose_remote_answer_keeps_every_row_go() {
        let s = schema();
        let goes = |e: Expr| pushable(&e, &s);
        // Numbers and dates: every comparison, negations too.
        assert!(goes(col("n").lt(lit(3))));
        assert!(goes(col("n").not_eq(lit(3))));
        assert!(goes(col("n").between(lit(1), lit(5))));
        assert!(goes(col("n").in_list(vec![lit(1), lit(2)], true)));
        assert!(goes(cast(col("n"), DataType::Int64).gt(lit(3i64))));
        // A narrowing cast: MySQL rounds, DataFusion truncates.
        assert!(!goes(cast(col("f"), DataType::Int64).eq(lit(1i64))));
        // Text: equality, IN and LIKE only.
        assert!(goes(col("s").eq(lit("支部书记"))));
        assert!(goes(col("s").in_list(vec![lit("a"), lit("b")], false)));
        assert!(goes(col("s").like(lit("学习%"))));
        assert!(goes(col("s").eq(lit("a")).or(col("n").lt(lit(3)))));
        assert!(
            !goes(col("s").not_eq(lit("a"))),
            "a case-insensitive <> drops rows"
        );
        assert!(
            !goes(col("s").lt(lit("a"))),
            "collations order text differently"
        );
        assert!(!goes(col("s").between(lit("a"), lit("b"))));
        assert!(!goes(col("s").in_list(vec![lit("a")], true)));
        assert!(!goes(col("s").not_like(lit("a%"))));
        assert!(!goes(col("s").ilike(lit("a%"))));
        assert!(!goes(col("s").eq(lit("a")).or(col("s").not_eq(lit("b")))));
        // Literals that would leave their string in the remote SQL, or lose a character.
        for bad in ["\\') OR 1=1 #", "it's", "a\"b", "a\\b", "a\nb"] {
            assert!(!goes(col("s").eq(lit(bad))), "{bad:?}");
            assert!(!goes(col("s").like(lit(bad))), "{bad:?}");
        }
        // Functions and columns of other types stay here.
        assert!(!goes(upper(col("s")).eq(lit("A"))));
        assert!(!goes(col("b").is_null()));
        assert!(goes(col("d").is_not_null()));
        // A zero date is NULL here and not there.
        assert!(!goes(col("d").is_null()));
        assert!(goes(col("n").is_null()));
    }
}
