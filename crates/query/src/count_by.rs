//! A faster first (partial) step for the analyst's commonest aggregate: `count` grouped by a
//! few low-cardinality columns — grade and year, category and gender, branch and year.
//!
//! DataFusion's general multi-column grouping costs ~27 ns a row here (hashing, then
//! comparing each row with its group column by column); DuckDB answered these queries in
//! half our time. This step gives each column's values a small number (inline strings are
//! recognised by their 16-byte view alone), packs the numbers of a row into one `u64` and
//! counts by it: a few ns a row. It replaces DataFusion's partial `AggregateExec` only
//! where it applies — no grouping sets, 2–4 group columns of string-view or integer/date
//! types, every aggregate a plain `count` — and emits exactly that step's rows, so the final
//! step, the plan and the results are DataFusion's. When the groups turn out many (over
//! 65,536, or a column with more distinct values than that), it hands over what it counted
//! and from then on passes each row through as its own partial group, which the final step
//! merges like any other.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, PrimitiveArray, RecordBatch, StringViewBuilder,
};
use arrow::datatypes::{DataType, Int64Type, SchemaRef};
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::execution_plan::ReplaceChildrenOptions;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
};
use futures::StreamExt;

/// Groups (and distinct values of one column) beyond which counting hands over.
const MAX_GROUPS: usize = 1 << 16;

/// The rule that puts [`CountByExec`] in place of a partial aggregate it can do.
#[derive(Debug, Default)]
pub struct CountByRule;

impl PhysicalOptimizerRule for CountByRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            if let Some(agg) = node.downcast_ref::<AggregateExec>()
                && applies(agg)
            {
                return Ok(Transformed::yes(
                    Arc::new(CountByExec { agg: node.clone() }) as Arc<dyn ExecutionPlan>,
                ));
            }
            Ok(Transformed::no(node))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "count_by"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Whether `agg` is a partial aggregate of plain counts by 2–4 columns of kinds [`Column`]
/// handles, with the output layout this step builds.
fn applies(agg: &AggregateExec) -> bool {
    let group = agg.group_expr();
    if *agg.mode() != AggregateMode::Partial
        || group.has_grouping_set()
        || !(2..=4).contains(&group.expr().len())
        || agg.limit_options().is_some()
        || agg.aggr_expr().is_empty()
        || agg.filter_expr().iter().any(|f| f.is_some())
    {
        return false;
    }
    let input = agg.input_schema();
    let keys_ok = group.expr().iter().all(|(e, _)| {
        e.data_type(&input).is_ok_and(|t| {
            matches!(
                t,
                DataType::Utf8View | DataType::Int64 | DataType::Int32 | DataType::Date32
            )
        })
    });
    let counts_ok = agg.aggr_expr().iter().all(|a| {
        a.fun().name() == "count"
            && !a.is_distinct()
            && a.order_bys().is_empty()
            && a.expressions().len() == 1
            && a.state_fields()
                .is_ok_and(|f| f.len() == 1 && f[0].data_type() == &DataType::Int64)
    });
    let schema = agg.schema();
    let layout_ok = schema.fields().len() == group.expr().len() + agg.aggr_expr().len()
        && group
            .expr()
            .iter()
            .zip(schema.fields())
            .all(|((e, _), f)| e.data_type(&input).is_ok_and(|t| &t == f.data_type()));
    keys_ok && counts_ok && layout_ok
}

/// DataFusion's partial `AggregateExec` of counts, done by [`Counter`].
#[derive(Debug)]
pub struct CountByExec {
    /// The aggregate replaced: its input, expressions, output layout and properties.
    agg: Arc<dyn ExecutionPlan>,
}

impl CountByExec {
    fn inner(&self) -> &AggregateExec {
        self.agg
            .downcast_ref::<AggregateExec>()
            .expect("CountByExec wraps an AggregateExec")
    }
}

impl DisplayAs for CountByExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let agg = self.inner();
        let keys: Vec<&str> = agg
            .group_expr()
            .expr()
            .iter()
            .map(|(_, n)| n.as_str())
            .collect();
        let aggr: Vec<&str> = agg.aggr_expr().iter().map(|a| a.name()).collect();
        write!(
            f,
            "CountByExec: mode=Partial, gby=[{}], aggr=[{}]",
            keys.join(", "),
            aggr.join(", ")
        )
    }
}

impl ExecutionPlan for CountByExec {
    fn name(&self) -> &str {
        "CountByExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.agg.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        self.agg.children()
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.agg.apply_expressions(f)
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let agg = self.agg.clone().replace_children(children, options)?;
        Ok(Arc::new(CountByExec { agg }))
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
        let agg = self.inner();
        let input = agg.input().execute(partition, context)?;
        let schema = agg.schema();
        let counter = Counter {
            keys: agg
                .group_expr()
                .expr()
                .iter()
                .map(|(e, _)| e.clone())
                .collect(),
            counted: agg
                .aggr_expr()
                .iter()
                .map(|a| a.expressions()[0].clone())
                .collect(),
            schema: schema.clone(),
            columns: Vec::new(),
            groups: Memo::new(),
            counts: vec![Vec::new(); agg.aggr_expr().len()],
            handed_over: false,
        };
        let stream = futures::stream::unfold(
            (input, Some(counter)),
            |(mut input, mut counter)| async move {
                loop {
                    let c = counter.as_mut()?;
                    match input.next().await {
                        Some(Ok(batch)) => match c.add(&batch) {
                            Ok(None) => continue,
                            Ok(Some(out)) => return Some((Ok(out), (input, counter))),
                            Err(e) => return Some((Err(e), (input, None))),
                        },
                        Some(Err(e)) => return Some((Err(e), (input, None))),
                        None => {
                            let mut c = counter.take()?;
                            if c.handed_over || c.groups.len() == 0 {
                                return None;
                            }
                            return Some((c.emit(), (input, None)));
                        }
                    }
                }
            },
        );
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// A quick hasher for the small integer and view keys (Fx's multiply-rotate).
#[derive(Default)]
struct Quick(u64);

impl Hasher for Quick {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u128(&mut self, x: u128) {
        self.write_u64(x as u64);
        self.write_u64((x >> 64) as u64);
    }
    fn write_i64(&mut self, x: i64) {
        self.write_u64(x as u64);
    }
}

type QuickMap<K> = HashMap<K, u32, BuildHasherDefault<Quick>>;

/// Slots of a [`Memo`] (a power of two).
const MEMO_BITS: u32 = 10;

/// The memo slot of a key's 64-bit mix (multiply-shift).
#[inline]
fn slot(spread: u64) -> usize {
    (spread.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - MEMO_BITS)) as usize
}

/// Add a value to a column's list; its number.
fn push<T>(values: &mut Vec<T>, v: T) -> u32 {
    values.push(v);
    (values.len() - 1) as u32
}

/// A direct-mapped memory in front of a [`QuickMap`]: a key's slot is picked by a
/// multiply-shift of the key, and a hit costs a multiply, a load and a compare — with a few
/// distinct values (the case this step is for) every lookup after the first is a hit.
struct Memo<K> {
    slots: Vec<Option<(K, u32)>>,
    map: QuickMap<K>,
}

impl<K: Copy + Eq + std::hash::Hash> Memo<K> {
    fn new() -> Self {
        Memo {
            slots: vec![None; 1 << MEMO_BITS],
            map: Default::default(),
        }
    }

    /// The number of `k` (`spread`: its 64-bit mix), or a new one from `add`.
    #[inline]
    fn number(&mut self, k: K, spread: u64, add: impl FnOnce() -> u32) -> u32 {
        let slot = slot(spread);
        if let Some((key, id)) = self.slots[slot]
            && key == k
        {
            return id;
        }
        let id = *self.map.entry(k).or_insert_with(add);
        self.slots[slot] = Some((k, id));
        id
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// One group column's distinct values, each with its number.
enum Column {
    /// Strings: those of up to 12 bytes by their view, longer ones by their bytes.
    Text {
        short: Memo<u128>,
        long: QuickMap<Box<[u8]>>,
        /// Longer strings of the current batch by their view (buffer and offset): values
        /// decoded from a Parquet dictionary share one view per distinct value. Views of
        /// different batches may point at different bytes, so this is cleared per batch.
        long_views: Vec<Option<(u128, u32)>>,
        values: Vec<Option<Box<str>>>,
        null: Option<u32>,
    },
    Int {
        ids: Memo<i64>,
        values: Vec<Option<i64>>,
        null: Option<u32>,
    },
}

impl Column {
    fn new(t: &DataType) -> Self {
        match t {
            DataType::Utf8View => Column::Text {
                short: Memo::new(),
                long: Default::default(),
                long_views: vec![None; 1 << MEMO_BITS],
                values: Vec::new(),
                null: None,
            },
            _ => Column::Int {
                ids: Memo::new(),
                values: Vec::new(),
                null: None,
            },
        }
    }

    /// The number of each row's value, shifted into `packed` at `shift`. `Ok(false)` when
    /// the column has more distinct values than a group number holds.
    fn number(&mut self, a: &ArrayRef, shift: u32, packed: &mut [u64]) -> Result<bool> {
        match self {
            Column::Text {
                short,
                long,
                long_views,
                values,
                null,
            } => {
                long_views.fill(None);
                let a = a.as_string_view();
                let views = a.views();
                for (i, p) in packed.iter_mut().enumerate() {
                    let id = if a.is_null(i) {
                        *null.get_or_insert_with(|| push(values, None))
                    } else {
                        let v = views[i];
                        if (v as u32) <= 12 {
                            short.number(v, (v as u64) ^ ((v >> 64) as u64).rotate_left(29), || {
                                push(values, Some(a.value(i).into()))
                            })
                        } else {
                            let slot = slot((v >> 64) as u64);
                            match long_views[slot] {
                                Some((view, id)) if view == v => id,
                                _ => {
                                    let s = a.value(i);
                                    let id = match long.get(s.as_bytes()) {
                                        Some(id) => *id,
                                        None => {
                                            let id = push(values, Some(s.into()));
                                            long.insert(s.as_bytes().into(), id);
                                            id
                                        }
                                    };
                                    long_views[slot] = Some((v, id));
                                    id
                                }
                            }
                        }
                    };
                    *p |= u64::from(id) << shift;
                }
                Ok(values.len() < MAX_GROUPS)
            }
            Column::Int { ids, values, null } => {
                // Int32 and Date32 numbered as the Int64 they widen to.
                let wide = arrow::compute::cast(a, &DataType::Int64)?;
                let wide = wide.as_primitive::<Int64Type>();
                let nulls = wide.nulls();
                for (i, (v, p)) in wide.values().iter().zip(packed.iter_mut()).enumerate() {
                    let id = if nulls.is_some_and(|n| n.is_null(i)) {
                        *null.get_or_insert_with(|| push(values, None))
                    } else {
                        ids.number(*v, *v as u64, || push(values, Some(*v)))
                    };
                    *p |= u64::from(id) << shift;
                }
                Ok(values.len() < MAX_GROUPS)
            }
        }
    }

    /// The values of the given numbers, as an array of type `t`.
    fn array(&self, numbers: impl Iterator<Item = u32>, t: &DataType) -> Result<ArrayRef> {
        Ok(match self {
            Column::Text { values, .. } => {
                let mut b = StringViewBuilder::new();
                for n in numbers {
                    b.append_option(values[n as usize].as_deref());
                }
                Arc::new(b.finish())
            }
            Column::Int { values, .. } => {
                let ints: Int64Array = numbers.map(|n| values[n as usize]).collect();
                arrow::compute::cast(&ints, t)?
            }
        })
    }
}

/// The counting of one partition.
struct Counter {
    keys: Vec<Arc<dyn PhysicalExpr>>,
    /// What each count counts (a constant for `count(*)`: every row).
    counted: Vec<Arc<dyn PhysicalExpr>>,
    schema: SchemaRef,
    columns: Vec<Column>,
    /// Packed value numbers → group number.
    groups: Memo<u64>,
    /// Per count, per group.
    counts: Vec<Vec<i64>>,
    /// Too many groups: rows pass through one by one.
    handed_over: bool,
}

impl Counter {
    /// Count a batch. Returns rows to send on when counting hands over (the counts so far)
    /// or has handed over (the batch's rows, each a group of its own).
    fn add(&mut self, batch: &RecordBatch) -> Result<Option<RecordBatch>> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(None);
        }
        let keys: Vec<ArrayRef> = self
            .keys
            .iter()
            .map(|k| k.evaluate(batch).and_then(|v| v.into_array(n)))
            .collect::<Result<_>>()?;
        let counted = self
            .counted
            .iter()
            .map(|c| c.evaluate(batch))
            .collect::<Result<Vec<_>>>()?;
        if self.handed_over {
            return self.pass_through(keys, &counted, n).map(Some);
        }
        if self.columns.is_empty() {
            self.columns = keys.iter().map(|k| Column::new(k.data_type())).collect();
        }
        let mut packed = vec![0u64; n];
        let mut fits = true;
        for (i, (col, k)) in self.columns.iter_mut().zip(&keys).enumerate() {
            fits &= col.number(k, 16 * i as u32, &mut packed)?;
        }
        if !fits {
            // A column's numbers no longer fit their 16 bits: this batch passes through
            // uncounted, after what was counted before it.
            self.handed_over = true;
            let before = self.emit()?;
            let rows = self.pass_through(keys, &counted, n)?;
            return Ok(Some(arrow::compute::concat_batches(
                &self.schema,
                &[before, rows],
            )?));
        }
        let mut group_of = Vec::with_capacity(n);
        for p in &packed {
            let counts = &mut self.counts;
            let next = self.groups.len() as u32;
            let g = self.groups.number(*p, *p, || {
                for c in counts.iter_mut() {
                    c.push(0);
                }
                next
            });
            group_of.push(g as usize);
        }
        for (counts, what) in self.counts.iter_mut().zip(&counted) {
            match what {
                ColumnarValue::Scalar(s) if s.is_null() => {}
                ColumnarValue::Scalar(_) => {
                    for &g in &group_of {
                        counts[g] += 1;
                    }
                }
                ColumnarValue::Array(a) => match a.logical_nulls() {
                    None => {
                        for &g in &group_of {
                            counts[g] += 1;
                        }
                    }
                    Some(nulls) => {
                        for (i, &g) in group_of.iter().enumerate() {
                            counts[g] += i64::from(nulls.is_valid(i));
                        }
                    }
                },
            }
        }
        if self.groups.len() <= MAX_GROUPS {
            return Ok(None);
        }
        // Too many groups for this step to pay: hand over what was counted.
        self.handed_over = true;
        self.emit().map(Some)
    }

    /// The counted groups as the partial aggregate's rows.
    fn emit(&mut self) -> Result<RecordBatch> {
        let mut order: Vec<(u64, u32)> = std::mem::replace(&mut self.groups, Memo::new())
            .map
            .into_iter()
            .collect();
        order.sort_unstable_by_key(|(_, g)| *g);
        let mut out: Vec<ArrayRef> = Vec::new();
        for (i, col) in self.columns.iter().enumerate() {
            let numbers = order.iter().map(|(p, _)| ((p >> (16 * i)) & 0xffff) as u32);
            out.push(col.array(numbers, self.schema.field(i).data_type())?);
        }
        for c in &mut self.counts {
            out.push(Arc::new(Int64Array::from(std::mem::take(c))));
        }
        Ok(RecordBatch::try_new(self.schema.clone(), out)?)
    }

    /// A batch's rows as groups of one each.
    fn pass_through(
        &self,
        keys: Vec<ArrayRef>,
        counted: &[ColumnarValue],
        n: usize,
    ) -> Result<RecordBatch> {
        let mut out = keys;
        for what in counted {
            let ones: Int64Array = match what {
                ColumnarValue::Scalar(s) => PrimitiveArray::from_value(i64::from(!s.is_null()), n),
                ColumnarValue::Array(a) => match a.logical_nulls() {
                    None => PrimitiveArray::from_value(1, n),
                    Some(nulls) => (0..n).map(|i| Some(i64::from(nulls.is_valid(i)))).collect(),
                },
            };
            out.push(Arc::new(ones));
        }
        Ok(RecordBatch::try_new(self.schema.clone(), out)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};

    fn context(with_rule: bool) -> SessionContext {
        let config = SessionConfig::new()
            .with_target_partitions(2)
            .with_batch_size(1000);
        let mut b = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features();
        if with_rule {
            b = b.with_physical_optimizer_rule(Arc::new(CountByRule));
        }
        SessionContext::new_with_state(b.build())
    }

    async fn rows(ctx: &SessionContext, sql: &str) -> (String, String) {
        let df = ctx.sql(sql).await.unwrap();
        let plan = format!(
            "{}",
            datafusion::physical_plan::displayable(
                df.clone().create_physical_plan().await.unwrap().as_ref()
            )
            .indent(false)
        );
        let b = df.collect().await.unwrap();
        (
            arrow::util::pretty::pretty_format_batches(&b)
                .unwrap()
                .to_string(),
            plan,
        )
    }

    /// Counts by strings (short, long, null), integers, dates and a computed year, with
    /// `count(*)` and `count(column)` over nulls; and by a column of 100,000 distinct values,
    /// which hands over mid-way: the same rows as DataFusion's own aggregate in every case.
    #[tokio::test]
    async fn counts_equal_datafusions_own() {
        let setup = "CREATE TABLE t AS SELECT \
            arrow_cast(CASE WHEN v % 7 = 0 THEN NULL WHEN v % 3 = 0 THEN '优秀' WHEN v % 3 = 1 THEN 'a rather long grade text' ELSE '合格' END, 'Utf8View') AS grade, \
            CASE WHEN v % 11 = 0 THEN NULL ELSE 2020 + v % 5 END AS year, \
            arrow_cast(v % 4, 'Int32') AS small, \
            CAST(arrow_cast(v % 3000, 'Int32') AS DATE) AS d, \
            CASE WHEN v % 5 = 0 THEN NULL ELSE v END AS maybe, \
            arrow_cast(CAST(v AS VARCHAR), 'Utf8View') AS id \
            FROM (SELECT unnest(range(0, 200000)) AS v)";
        let queries = [
            "SELECT grade, year, count(*) AS n, count(maybe) AS m FROM t GROUP BY grade, year ORDER BY grade, year",
            "SELECT small, date_part('year', d) AS y, grade, count(*) FROM t GROUP BY small, y, grade ORDER BY 1, 2, 3",
            "SELECT id, small, count(*) AS n, count(grade) AS g FROM t GROUP BY id, small ORDER BY n DESC, id LIMIT 5",
            "SELECT count(*), sum(n) FROM (SELECT id, year, count(*) AS n FROM t GROUP BY id, year)",
            // Planned as a count of the distinct values grouped first.
            "SELECT grade, year, count(DISTINCT small) AS k FROM t GROUP BY grade, year ORDER BY grade, year",
        ];
        let (ours, theirs) = (context(true), context(false));
        for ctx in [&ours, &theirs] {
            ctx.sql(setup).await.unwrap().collect().await.unwrap();
        }
        for q in queries {
            let (got, plan) = rows(&ours, q).await;
            let (want, their_plan) = rows(&theirs, q).await;
            assert!(plan.contains("CountByExec"), "{plan}");
            assert!(!their_plan.contains("CountByExec"));
            assert_eq!(got, want, "{q}");
        }
        // Not for it: a sum, a single column, a filtered count.
        for q in [
            "SELECT grade, year, sum(small) FROM t GROUP BY grade, year",
            "SELECT grade, count(*) FROM t GROUP BY grade",
            "SELECT grade, year, count(*) FILTER (WHERE small > 1) FROM t GROUP BY grade, year",
        ] {
            let (_, plan) = rows(&ours, q).await;
            assert!(!plan.contains("CountByExec"), "{q}: {plan}");
        }
    }
}
