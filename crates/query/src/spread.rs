//! Rows of a skewed scan spread over the cores before the first step of an aggregate.
//!
//! DataFusion splits a table's files into one byte range per core before it knows which row
//! groups the filter keeps. When the rows asked for sit together — a year of events in a table
//! written in time order — every kept row group falls into one range, and one core decodes
//! and aggregates them all while the other waits (`output_rows_skew=100%` in `EXPLAIN
//! ANALYZE` of `date_trunc` by month over 2025's events). This rule puts a round-robin
//! repartition between such a scan and the partial aggregate above it, so the aggregate's
//! work is shared whatever the scan's balance (DuckDB's morsels do the same). Only where the
//! aggregate needs no input order, the input is a file scan seen through filters and
//! projections, and the scan already gives one partition per core (the aggregate's output
//! partitions are then the same as before).

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::execution_plan::ReplaceChildrenOptions;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, ExecutionPlan, ExecutionPlanProperties, InputOrderMode, Partitioning,
};

/// See the module's text.
#[derive(Debug, Default)]
pub struct SpreadRule;

impl PhysicalOptimizerRule for SpreadRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let cores = config.execution.target_partitions;
        if cores < 2 {
            return Ok(plan);
        }
        plan.transform_up(|node| {
            let Some(agg) = node.downcast_ref::<AggregateExec>() else {
                return Ok(Transformed::no(node));
            };
            // The same number of partitions out of the aggregate as before, so that what is
            // above it (a hash repartition, a coalesce) stays as valid as it was.
            if *agg.mode() != AggregateMode::Partial
                || *agg.input_order_mode() != InputOrderMode::Linear
                || agg.input().output_partitioning().partition_count() != cores
                || !reads_a_scan(agg.input())
            {
                return Ok(Transformed::no(node));
            }
            let spread = Arc::new(RepartitionExec::try_new(
                agg.input().clone(),
                Partitioning::RoundRobinBatch(cores),
            )?);
            Ok(Transformed::yes(node.clone().replace_children(
                vec![spread],
                ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
            )?))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "spread_scan"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Whether `plan` is a file scan, possibly under filters and projections.
fn reads_a_scan(plan: &Arc<dyn ExecutionPlan>) -> bool {
    if plan.downcast_ref::<DataSourceExec>().is_some() {
        return true;
    }
    if plan.downcast_ref::<FilterExec>().is_some()
        || plan.downcast_ref::<ProjectionExec>().is_some()
    {
        return plan.children().first().is_some_and(|c| reads_a_scan(c));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};

    fn context(with_rule: bool) -> SessionContext {
        let mut b = SessionStateBuilder::new()
            .with_config(SessionConfig::new().with_target_partitions(2))
            .with_default_features();
        if with_rule {
            b = b.with_physical_optimizer_rule(Arc::new(SpreadRule));
        }
        SessionContext::new_with_state(b.build())
    }

    async fn rows(ctx: &SessionContext, sql: &str) -> (String, String) {
        let df = ctx.sql(sql).await.unwrap();
        let plan = datafusion::physical_plan::displayable(
            df.clone().create_physical_plan().await.unwrap().as_ref(),
        )
        .indent(false)
        .to_string();
        let b = df.collect().await.unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&b)
            .unwrap()
            .to_string();
        (text, plan)
    }

    /// Events in two files written in time order, so that 2025's rows are all in one of the
    /// scan's two partitions: the partial aggregate reads them through a round-robin, and the
    /// answers are DataFusion's own.
    #[tokio::test]
    async fn a_skewed_scan_is_spread_and_answers_stay_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let setup = context(false);
        for (file, year) in [("a.parquet", 2024), ("b.parquet", 2025)] {
            let sql = format!(
                "COPY (SELECT to_timestamp_seconds(1704067200 + v * 97 + ({year} - 2024) * 31622400) AS at, \
                 v % 7 AS kind FROM (SELECT unnest(range(0, 60000)) AS v)) TO '{}' STORED AS PARQUET",
                dir.path().join(file).display()
            );
            setup.sql(&sql).await.unwrap().collect().await.unwrap();
        }
        let (ours, theirs) = (context(true), context(false));
        for ctx in [&ours, &theirs] {
            let sql = format!(
                "CREATE EXTERNAL TABLE events STORED AS PARQUET LOCATION '{}/'",
                dir.path().display()
            );
            ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        }
        for q in [
            "SELECT date_trunc('month', at) AS m, count(*) AS n FROM events \
             WHERE at >= TIMESTAMP '2025-01-01 00:00:00' GROUP BY m ORDER BY m",
            "SELECT kind, count(*), min(at), max(at) FROM events WHERE kind > 2 GROUP BY kind ORDER BY kind",
            "SELECT count(*) FROM events WHERE kind = 3",
        ] {
            let (got, plan) = rows(&ours, q).await;
            let (want, their_plan) = rows(&theirs, q).await;
            assert_eq!(got, want, "{q}");
            assert!(plan.contains("RoundRobinBatch(2)"), "{q}\n{plan}");
            assert!(!their_plan.contains("RoundRobinBatch"), "{their_plan}");
        }
    }
}
