//! A department's scope applied inside the scan, before any condition of its own statement
//! can see a row outside it; and the view of a granted dataset built on it (`view`: the scope,
//! then personal columns masked), used by the session's policy and by `AS OF`.
//!
//! A view that filters a table by scope is not enough: the optimizer pushes the statement's
//! conditions down beside (or, for datasets scoped through the member, below) the scope's
//! filter, into the Parquet scan, where they are evaluated on every row of the table. A
//! condition that fails on a value — `arrow_cast(concat(member_id, content), 'Int64')` —
//! then quotes another branch's record in its error, and error/no-error answers yes/no
//! questions about any row. So, as PostgreSQL's `security_barrier` views do, `ScopedTable`
//! lets a condition reach the raw scan only when it is *leakproof* (`leakproof`: column
//! comparisons with literals, `IN` lists, `LIKE`, `IS NULL`, `AND`/`OR`/`NOT`, casts that
//! cannot fail, and functions that cannot fail on any value — nothing that can raise an error
//! or return a value from a row). Every other condition is evaluated above [`ScopeExec`],
//! which passes on only the rows in scope and lets no filter of a parent through (DataFusion's
//! physical filter pushdown stops at a node that does not opt in).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use async_trait::async_trait;
use dangan_datasets::DatasetSpec;
use dangan_datasets::access::{Grant, Personal};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{HashSet, Result};
use datafusion::config::ConfigOptions;
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown, lit};
use datafusion::physical_expr::expressions::{Column as PhysicalColumn, DynamicFilterPhysicalExpr};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::execution_plan::ReplaceChildrenOptions;
use datafusion::physical_plan::filter_pushdown::{
    ChildFilterDescription, ChildPushdownResult, FilterDescription, FilterPushdownPhase,
    FilterPushdownPropagation,
};
use datafusion::physical_plan::statistics::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties,
    PlanProperties, Statistics,
};
use datafusion::prelude::{DataFrame, SessionContext};
use futures::StreamExt;

/// Which rows of a table a department may read.
#[derive(Debug, Clone)]
pub(crate) enum RowScope {
    /// Rows whose organization (in `column`: `org_id` in the archive's datasets) is one of
    /// these.
    Orgs {
        column: String,
        orgs: Arc<BTreeSet<String>>,
    },
    /// Rows whose member (in `column`: `member_id` in the archive's datasets) is a member (of
    /// the raw members table) in one of these orgs.
    Members {
        column: String,
        orgs: Arc<BTreeSet<String>>,
        members: Arc<dyn TableProvider>,
    },
    /// No row (a table that belongs to no organization, under a scope other than `all`).
    Nothing,
}

/// A table as a department's scope lets it be read (see the module's description).
#[derive(Debug)]
pub struct ScopedTable {
    inner: Arc<dyn TableProvider>,
    scope: RowScope,
    /// The members in scope, found once per session (for [`RowScope::Members`]).
    member_ids: tokio::sync::OnceCell<Arc<HashSet<String>>>,
}

/// What a [`ScopedTable`] is made of, for another process to make it again (a cluster's
/// codec): the table, and its scope.
pub struct ScopeParts {
    pub inner: Arc<dyn TableProvider>,
    /// The column holding the organization, or (with `members`) the member.
    pub column: String,
    /// `None`: no row is in scope. Otherwise the organizations whose rows are.
    pub orgs: Option<Vec<String>>,
    /// Rows reach their organization through the member: the raw members table.
    pub members: Option<Arc<dyn TableProvider>>,
}

impl ScopedTable {
    /// The table and its scope.
    pub fn parts(&self) -> ScopeParts {
        let (column, orgs, members) = match &self.scope {
            RowScope::Nothing => (String::new(), None, None),
            RowScope::Orgs { column, orgs } => {
                (column.clone(), Some(orgs.iter().cloned().collect()), None)
            }
            RowScope::Members {
                column,
                orgs,
                members,
            } => (
                column.clone(),
                Some(orgs.iter().cloned().collect()),
                Some(members.clone()),
            ),
        };
        ScopeParts {
            inner: self.inner.clone(),
            column,
            orgs,
            members,
        }
    }

    /// The table [`ScopedTable::parts`] describes.
    pub fn from_parts(parts: ScopeParts) -> ScopedTable {
        let scope = match (parts.orgs, parts.members) {
            (None, _) => RowScope::Nothing,
            (Some(o), None) => RowScope::Orgs {
                column: parts.column,
                orgs: Arc::new(o.into_iter().collect()),
            },
            (Some(o), Some(members)) => RowScope::Members {
                column: parts.column,
                orgs: Arc::new(o.into_iter().collect()),
                members,
            },
        };
        ScopedTable::new(parts.inner, scope)
    }

    pub(crate) fn new(inner: Arc<dyn TableProvider>, scope: RowScope) -> Self {
        ScopedTable {
            inner,
            scope,
            member_ids: tokio::sync::OnceCell::new(),
        }
    }

    /// The keys that are in scope, and the column that holds them.
    async fn allowed(&self, state: &dyn Session) -> Result<Option<(&str, Arc<HashSet<String>>)>> {
        match &self.scope {
            RowScope::Nothing => Ok(None),
            RowScope::Orgs { column, orgs } => Ok(Some((
                column,
                Arc::new(orgs.iter().cloned().collect::<HashSet<String>>()),
            ))),
            RowScope::Members {
                column,
                orgs,
                members,
            } => {
                let ids = self
                    .member_ids
                    .get_or_try_init(|| members_in(state, members.as_ref(), orgs))
                    .await?;
                Ok(Some((column, ids.clone())))
            }
        }
    }
}

/// `column IN (orgs)`, or false for no organization.
fn in_orgs(column: &str, orgs: &BTreeSet<String>) -> Expr {
    if orgs.is_empty() {
        lit(false)
    } else {
        Expr::Column(datafusion::common::Column::new_unqualified(column))
            .in_list(orgs.iter().map(|o| lit(o.as_str())).collect(), false)
    }
}

/// The ids of the members whose organization is one of `orgs`.
async fn members_in(
    state: &dyn Session,
    members: &dyn TableProvider,
    orgs: &BTreeSet<String>,
) -> Result<Arc<HashSet<String>>> {
    let schema = members.schema();
    let columns = vec![schema.index_of("member_id")?, schema.index_of("org_id")?];
    let plan = members
        .scan(state, Some(&columns), &[in_orgs("org_id", orgs)], None)
        .await?;
    let mut ids = HashSet::<String>::default();
    for batch in datafusion::physical_plan::collect(plan, state.task_ctx()).await? {
        let id = cast(batch.column(0), &DataType::Utf8)?;
        let org = cast(batch.column(1), &DataType::Utf8)?;
        let (id, org) = (id.as_string::<i32>(), org.as_string::<i32>());
        for i in 0..batch.num_rows() {
            // The pushed filter may be inexact: the scope is decided here.
            if id.is_valid(i) && org.is_valid(i) && orgs.contains(org.value(i)) {
                ids.insert(id.value(i).to_string());
            }
        }
    }
    Ok(Arc::new(ids))
}

#[async_trait]
impl TableProvider for ScopedTable {
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
        let schema = self.inner.schema();
        Ok(filters
            .iter()
            .map(|f| {
                if leakproof(f, &schema) {
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
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = self.inner.schema();
        let wanted: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..schema.fields().len()).collect(),
        };
        let out_schema = Arc::new(schema.project(&wanted)?);
        let Some((column, allowed)) = self.allowed(state).await? else {
            return Ok(Arc::new(EmptyExec::new(out_schema)));
        };
        let key = schema.index_of(column)?;
        let mut read = wanted.clone();
        let key_at = match read.iter().position(|&i| i == key) {
            Some(at) => at,
            None => {
                read.push(key);
                read.len() - 1
            }
        };
        // Only leakproof conditions reach here (`supports_filters_pushdown`); the scope's own
        // goes with them so Parquet skips row groups of other organizations. No limit: rows
        // are dropped above the scan.
        let mut pushed: Vec<Expr> = filters.to_vec();
        if let RowScope::Orgs { column, orgs } = &self.scope {
            pushed.push(in_orgs(column, orgs));
        }
        let input = self.inner.scan(state, Some(&read), &pushed, None).await?;
        Ok(Arc::new(ScopeExec::new(
            input,
            key_at,
            allowed,
            wanted.len(),
            out_schema,
        )))
    }
}

/// Passes on the rows whose key is in scope (and the first `keep` columns), and no filter of
/// a parent to its input.
#[derive(Debug)]
pub struct ScopeExec {
    input: Arc<dyn ExecutionPlan>,
    /// The column of the input that holds the key.
    key: usize,
    allowed: Arc<HashSet<String>>,
    /// The input's first `keep` columns are the output.
    keep: usize,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl ScopeExec {
    fn new(
        input: Arc<dyn ExecutionPlan>,
        key: usize,
        allowed: Arc<HashSet<String>>,
        keep: usize,
        schema: SchemaRef,
    ) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(input.output_partitioning().partition_count()),
            input.pipeline_behavior(),
            input.boundedness(),
        ));
        ScopeExec {
            input,
            key,
            allowed,
            keep,
            schema,
            properties,
        }
    }
}

impl ScopeExec {
    /// The key column, how many columns are kept, and the keys in scope: with the input, all
    /// there is to a `ScopeExec` (for a cluster's codec).
    pub fn parts(&self) -> (usize, usize, &HashSet<String>) {
        (self.key, self.keep, &self.allowed)
    }

    /// The `ScopeExec` [`ScopeExec::parts`] describes, over `input`.
    pub fn from_parts(
        input: Arc<dyn ExecutionPlan>,
        key: usize,
        keep: usize,
        allowed: HashSet<String>,
    ) -> Result<Self> {
        let columns: Vec<usize> = (0..keep).collect();
        let schema = Arc::new(input.schema().project(&columns)?);
        Ok(ScopeExec::new(input, key, Arc::new(allowed), keep, schema))
    }
}

impl DisplayAs for ScopeExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ScopeExec: {} keys in scope", self.allowed.len())
    }
}

/// The rows of `batch` whose key column holds an allowed value, and its first `keep` columns.
fn in_scope(
    batch: &RecordBatch,
    key: usize,
    allowed: &HashSet<String>,
    keep: usize,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    // Read the strings where they are (Parquet gives views): no copy of the column.
    let column = batch.column(key);
    let look = |values: &mut dyn Iterator<Item = Option<&str>>| -> BooleanArray {
        values
            .map(|v| Some(v.is_some_and(|v| allowed.contains(v))))
            .collect()
    };
    let mask = match column.data_type() {
        DataType::Utf8View => look(&mut column.as_string_view().iter()),
        DataType::Utf8 => look(&mut column.as_string::<i32>().iter()),
        _ => {
            let keys = cast(column, &DataType::Utf8)?;
            look(&mut keys.as_string::<i32>().iter())
        }
    };
    let columns: Vec<usize> = (0..keep).collect();
    let kept = batch.project(&columns)?;
    let filtered = filter_record_batch(&kept, &mask)?;
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        filtered.columns().to_vec(),
        &RecordBatchOptions::new().with_row_count(Some(filtered.num_rows())),
    )?)
}

impl ExecutionPlan for ScopeExec {
    fn name(&self) -> &str {
        "ScopeExec"
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

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    /// The input's statistics as upper bounds (the scope only removes rows): without them a
    /// join would not know which side is small, and could build its hash table from the
    /// six-million-row side.
    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let mut stats = input_stats[0].as_ref().clone().to_inexact();
        stats.column_statistics.truncate(self.keep);
        Ok(Arc::new(stats))
    }

    /// Lets through only the dynamic filters a join or a top-k builds at run time over plain
    /// columns of this table (the probe side's `member_id BETWEEN min AND max AND member_id
    /// IN (build side)`): comparisons and hash look-ups of a column's own values, which
    /// cannot fail on a row and so tell nothing of the rows outside the scope they remove
    /// early. Every other filter of a parent stays above the scope.
    fn gather_filters_for_pushdown(
        &self,
        phase: FilterPushdownPhase,
        parent_filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> Result<FilterDescription> {
        let through: Vec<Arc<dyn PhysicalExpr>> = parent_filters
            .iter()
            .map(|f| {
                if phase == FilterPushdownPhase::Post && dynamic_over_columns(f) {
                    Arc::clone(f)
                } else {
                    // A column that no input has: the filter is marked as not pushed.
                    Arc::new(PhysicalColumn::new(BARRIER, usize::MAX)) as Arc<dyn PhysicalExpr>
                }
            })
            .collect();
        Ok(FilterDescription::new()
            .with_child(ChildFilterDescription::from_child(&through, &self.input)?))
    }

    /// Tells the parent that none of its filters was applied here: a dynamic filter in the
    /// scan only saves work, its producer still decides.
    fn handle_child_pushdown_result(
        &self,
        _phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        Ok(FilterPushdownPropagation::all_unsupported(
            child_pushdown_result,
        ))
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children.swap_remove(0);
        Ok(Arc::new(ScopeExec::new(
            input,
            self.key,
            self.allowed.clone(),
            self.keep,
            self.schema.clone(),
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
        let input = self.input.execute(partition, context)?;
        let (key, keep, allowed, schema) = (
            self.key,
            self.keep,
            self.allowed.clone(),
            self.schema.clone(),
        );
        let out = schema.clone();
        let stream = input.map(move |batch| in_scope(&batch?, key, &allowed, keep, &out));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// The name of a column no table has (see [`ScopeExec::gather_filters_for_pushdown`]).
const BARRIER: &str = "\u{0}scope barrier";

/// Whether `f` is a dynamic filter whose inputs are columns, not expressions over them.
fn dynamic_over_columns(f: &Arc<dyn PhysicalExpr>) -> bool {
    f.downcast_ref::<DynamicFilterPhysicalExpr>()
        .is_some_and(|d| {
            d.children()
                .iter()
                .all(|c| c.downcast_ref::<PhysicalColumn>().is_some())
        })
}

/// Functions that return a value for every input and never fail on one: a condition made of
/// these may be evaluated on rows outside the scope, since nothing of such a row can come
/// out of it but a boolean the scope then drops.
const LEAKPROOF_FUNCTIONS: &[&str] = &[
    "mask_id",
    "mask_phone",
    "mask_birth",
    "lower",
    "upper",
    "btrim",
    "trim",
    "ltrim",
    "rtrim",
    "character_length",
    "char_length",
    "length",
    "starts_with",
    "ends_with",
    "date_part",
    "date_trunc",
    "age",
    "party_age",
    "pinyin",
];

/// Whether `e` can be evaluated on any row without revealing more than its truth (no error,
/// no value of the row in a message). `schema` is the table's, for the types of casts.
pub(crate) fn leakproof(e: &Expr, schema: &arrow::datatypes::Schema) -> bool {
    use Operator::*;
    let all = |es: &[Expr]| es.iter().all(|e| leakproof(e, schema));
    match e {
        Expr::Column(_) | Expr::Literal(..) => true,
        Expr::Alias(a) => leakproof(&a.expr, schema),
        Expr::Not(x)
        | Expr::IsNull(x)
        | Expr::IsNotNull(x)
        | Expr::IsTrue(x)
        | Expr::IsFalse(x)
        | Expr::IsUnknown(x)
        | Expr::IsNotTrue(x)
        | Expr::IsNotFalse(x)
        | Expr::IsNotUnknown(x) => leakproof(x, schema),
        Expr::BinaryExpr(b) => {
            matches!(
                b.op,
                Eq | NotEq | Lt | LtEq | Gt | GtEq | And | Or | IsDistinctFrom | IsNotDistinctFrom
            ) && leakproof(&b.left, schema)
                && leakproof(&b.right, schema)
        }
        Expr::Between(b) => {
            leakproof(&b.expr, schema) && leakproof(&b.low, schema) && leakproof(&b.high, schema)
        }
        Expr::InList(l) => leakproof(&l.expr, schema) && all(&l.list),
        Expr::Like(l) => {
            l.escape_char.is_none()
                && matches!(*l.pattern, Expr::Literal(..))
                && leakproof(&l.expr, schema)
        }
        Expr::TryCast(t) => leakproof(&t.expr, schema),
        Expr::Cast(c) => match c.expr.as_ref() {
            Expr::Column(column) => schema
                .field_with_name(&column.name)
                .is_ok_and(|f| cast_cannot_fail(f.data_type(), c.field.data_type())),
            Expr::Literal(..) => true,
            _ => false,
        },
        Expr::ScalarFunction(f) => LEAKPROOF_FUNCTIONS.contains(&f.name()) && all(&f.args),
        _ => false,
    }
}

/// Casts that succeed for every value: between string types, to a string, widening numbers,
/// a date to a timestamp.
fn cast_cannot_fail(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    let string = |t: &DataType| matches!(t, Utf8 | LargeUtf8 | Utf8View);
    if from == to || (string(from) && string(to)) {
        return true;
    }
    if string(to) {
        return from.is_primitive() || matches!(from, Boolean);
    }
    matches!(
        (from, to),
        (Int8, Int16 | Int32 | Int64 | Float64)
            | (Int16, Int32 | Int64 | Float64)
            | (Int32, Int64 | Float64)
            | (Float32, Float64)
            | (Date32, Date64 | Timestamp(_, _))
    )
}

/// The columns of a table that a department's policy works with: where its organization is
/// (row scope), or else its member (scope through the register of people), and which
/// columns are personal and how each is masked.
#[derive(Debug, Clone, Default)]
pub(crate) struct PolicyColumns {
    pub org: Option<String>,
    pub member: Option<String>,
    pub masks: Vec<(String, dangan_datasets::Mask)>,
}

impl PolicyColumns {
    /// A dataset's: `org_id`, `member_id` and its personal columns.
    pub(crate) fn of(spec: &DatasetSpec) -> PolicyColumns {
        PolicyColumns {
            org: spec.column("org_id").map(|c| c.name.clone()),
            member: spec.column("member_id").map(|c| c.name.clone()),
            masks: spec
                .columns
                .iter()
                .filter_map(|c| c.mask().map(|m| (c.name.clone(), m)))
                .collect(),
        }
    }
}

/// The view of one granted dataset: `raw` read through its scope (`scope.rs`: rows outside
/// it never meet a condition of the statement) and its personal columns masked. `members` is
/// the raw members table, for datasets that reach their organization through the member.
pub(crate) fn view(
    ctx: &SessionContext,
    columns: &PolicyColumns,
    raw: Arc<dyn TableProvider>,
    grant: &Grant,
    orgs: Option<&BTreeSet<String>>,
    members: Option<&Arc<dyn TableProvider>>,
) -> crate::error::Result<DataFrame> {
    let source: Arc<dyn TableProvider> = match orgs {
        None => raw,
        Some(orgs) => {
            let orgs = Arc::new(orgs.clone());
            let scope = if let Some(column) = &columns.org {
                RowScope::Orgs {
                    column: column.clone(),
                    orgs,
                }
            } else if let Some(column) = &columns.member
                && let Some(members) = members
            {
                RowScope::Members {
                    column: column.clone(),
                    orgs,
                    members: members.clone(),
                }
            } else {
                // Rows that belong to no organization are not in any scope but `all`.
                RowScope::Nothing
            };
            Arc::new(ScopedTable::new(raw, scope))
        }
    };
    let mut df = ctx.read_table(source)?;
    if grant.personal == Personal::Masked && !columns.masks.is_empty() {
        let exprs: Vec<Expr> = df
            .schema()
            .fields()
            .iter()
            .map(|f| {
                let name = f.name().as_str();
                let column = Expr::Column(datafusion::common::Column::new_unqualified(name));
                match columns.masks.iter().find(|(c, _)| c == name) {
                    Some((_, mask)) => crate::udf::mask_expr(column, *mask).alias(name),
                    None => column,
                }
            })
            .collect();
        df = df.select(exprs)?;
    }
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};
    use datafusion::logical_expr::{cast as cast_expr, col};

    #[test]
    fn only_conditions_that_cannot_fail_are_leakproof() {
        let schema = Schema::new(vec![
            Field::new("member_id", DataType::Utf8, true),
            Field::new("score", DataType::Int32, true),
        ]);
        let yes = [
            col("member_id").eq(lit("M1")),
            col("member_id")
                .like(lit("M%"))
                .and(col("score").gt(lit(3))),
            col("member_id").in_list(vec![lit("a"), lit("b")], true),
            cast_expr(col("score"), DataType::Int64).lt(lit(5i64)),
            col("score")
                .is_null()
                .or(col("score").between(lit(1), lit(2))),
        ];
        for e in &yes {
            assert!(leakproof(e, &schema), "{e}");
        }
        let no = [
            // A cast that fails on a value quotes it.
            cast_expr(col("member_id"), DataType::Int64).eq(lit(0i64)),
            // Arithmetic overflows.
            (col("score") + lit(1)).gt(lit(0)),
            // A function that is not known to be safe.
            datafusion::functions::string::expr_fn::concat(vec![col("member_id"), lit("x")])
                .eq(lit("y")),
        ];
        for e in &no {
            assert!(!leakproof(e, &schema), "{e}");
        }
    }

    #[test]
    fn only_dynamic_filters_over_columns_pass_the_scope() {
        use datafusion::physical_expr::expressions::{CastExpr, lit as plit};
        use datafusion::physical_plan::filter_pushdown::PushedDown;
        let schema = Arc::new(Schema::new(vec![
            Field::new("member_id", DataType::Utf8, true),
            Field::new("org_id", DataType::Utf8, true),
        ]));
        let input: Arc<dyn ExecutionPlan> = Arc::new(EmptyExec::new(schema.clone()));
        let scope = ScopeExec::new(input, 1, Arc::new(HashSet::default()), 2, schema);
        let member: Arc<dyn PhysicalExpr> = Arc::new(PhysicalColumn::new("member_id", 0));
        // What a hash join builds for its probe side: over the key column itself.
        let over_column: Arc<dyn PhysicalExpr> = Arc::new(DynamicFilterPhysicalExpr::new(
            vec![member.clone()],
            plit(true),
        ));
        // A top-k over `ORDER BY arrow_cast(member_id, 'Int64')`: the cast would run on
        // rows outside the scope and could fail on one of them.
        let cast: Arc<dyn PhysicalExpr> =
            Arc::new(CastExpr::new(member.clone(), DataType::Int64, None));
        let over_expression: Arc<dyn PhysicalExpr> =
            Arc::new(DynamicFilterPhysicalExpr::new(vec![cast], plit(true)));
        let plain: Arc<dyn PhysicalExpr> = member;
        let pushed = |phase| {
            let d = scope
                .gather_filters_for_pushdown(
                    phase,
                    vec![over_column.clone(), over_expression.clone(), plain.clone()],
                    &ConfigOptions::default(),
                )
                .unwrap();
            d.parent_filters()[0]
                .iter()
                .map(|p| matches!(p.discriminant, PushedDown::Yes))
                .collect::<Vec<_>>()
        };
        assert_eq!(pushed(FilterPushdownPhase::Post), [true, false, false]);
        assert_eq!(pushed(FilterPushdownPhase::Pre), [false, false, false]);
    }
}
