//! Rows of a skewed scan spread over the cores.
//!
//! DataFusion splits a table's files into one byte range per core before it knows which row
//! groups the filter keeps. When the rows asked for sit together — a year of events in a table
//! written in time order — every kept row group falls into one range, and one core decodes
//! and aggregates them all while the other waits (`output_rows_skew=100%` in `EXPLAIN
//! ANALYZE` of `date_trunc` by month over 2025's events). Two rules share the work whatever
//! the scan's balance (DuckDB's morsels do the same):
//!
//! - [`ScanPiecesRule`] cuts each range into pieces. DataFusion's file streams take the next
//!   unread piece of any sibling when idle (work stealing, on by default), but a range already
//!   being read is never shared: with one range per core the decode stays on one core; with
//!   pieces, both decode the kept row groups. Only for Parquet scans free to be read in any
//!   order (no declared ordering, no order-sensitive limit, no partitioning by file group).
//! - [`SpreadRule`] puts a round-robin repartition between such a scan and the partial
//!   aggregate above it, so the aggregate's work is shared too. Only where the aggregate needs
//!   no input order, the input is a file scan seen through filters and projections, and the
//!   scan already gives one partition per core (the aggregate's output partitions are then the
//!   same as before).

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
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

/// Pieces each core's range is cut into, at most.
const PIECES_PER_CORE: i64 = 8;

/// The smallest piece: a few row groups of a table written by the lake (a piece smaller than a
/// row group reads nothing, and each costs an open and a look at the file's metadata).
const MIN_PIECE: i64 = 4 << 20;

/// See the module's text.
#[derive(Debug, Default)]
pub struct ScanPiecesRule;

impl PhysicalOptimizerRule for ScanPiecesRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if config.execution.target_partitions < 2
            || !config.execution.enable_file_stream_work_stealing
        {
            return Ok(plan);
        }
        plan.transform_up(|node| {
            let Some(scan) = node
                .downcast_ref::<DataSourceExec>()
                .and_then(|s| s.data_source().downcast_ref::<FileScanConfig>())
            else {
                return Ok(Transformed::no(node));
            };
            // The conditions under which DataFusion shares a scan's files between its streams
            // (`FileScanConfig::create_sibling_state`), and Parquet's row-group ranges.
            if scan.preserve_order
                || scan.output_partitioning.is_some()
                || !scan.output_ordering.is_empty()
                || scan.file_groups.len() < 2
                || scan.file_source().file_type() != "parquet"
            {
                return Ok(Transformed::no(node));
            }
            let Some(groups) = pieces(&scan.file_groups) else {
                return Ok(Transformed::no(node));
            };
            let cut = FileScanConfigBuilder::from(scan.clone())
                .with_file_groups(groups)
                .build();
            Ok(Transformed::yes(
                DataSourceExec::from_data_source(cut) as Arc<dyn ExecutionPlan>
            ))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "scan_pieces"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The file groups with each file's range cut into pieces of about the same size (a group's
/// pieces in its own order, in the same group), or `None` when no range is worth cutting.
fn pieces(groups: &[FileGroup]) -> Option<Vec<FileGroup>> {
    let span = |f: &datafusion::datasource::listing::PartitionedFile| match &f.range {
        Some(r) => (r.start, r.end),
        None => (0, f.object_meta.size as i64),
    };
    let len = |f: &datafusion::datasource::listing::PartitionedFile| {
        let (a, b) = span(f);
        (b - a).max(0)
    };
    let total: i64 = groups.iter().flat_map(FileGroup::iter).map(len).sum();
    let piece = (total / (groups.len() as i64 * PIECES_PER_CORE)).max(MIN_PIECE);
    if !groups
        .iter()
        .flat_map(FileGroup::iter)
        .any(|f| len(f) >= 2 * piece)
    {
        return None;
    }
    Some(
        groups
            .iter()
            .map(|g| {
                let mut out = Vec::new();
                for f in g.iter() {
                    let (start, end) = span(f);
                    let n = ((end - start) / piece).max(1);
                    let step = (end - start) / n;
                    for i in 0..n {
                        let a = start + i * step;
                        let b = if i + 1 == n { end } else { a + step };
                        out.push(f.clone().with_range(a, b));
                    }
                }
                let cut = FileGroup::new(out);
                match g.file_statistics(None) {
                    Some(s) => cut.with_statistics(Arc::new(s.clone())),
                    None => cut,
                }
            })
            .collect(),
    )
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
            b = b
                .with_physical_optimizer_rule(Arc::new(ScanPiecesRule))
                .with_physical_optimizer_rule(Arc::new(SpreadRule));
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

    /// Ranges cut into pieces cover the same bytes of the same files in the same groups, in
    /// order, each piece no smaller than [`MIN_PIECE`] unless its file is; ranges too small to
    /// cut are left alone.
    #[test]
    fn pieces_cover_each_group_s_bytes_exactly() {
        use datafusion::datasource::listing::PartitionedFile;
        let big = PartitionedFile::new("a.parquet", 133_786_958);
        let small = PartitionedFile::new("b.parquet", 8_706_377);
        let groups = vec![
            FileGroup::new(vec![big.clone().with_range(0, 71_246_668)]),
            FileGroup::new(vec![
                big.clone().with_range(71_246_668, 133_786_958),
                small.clone(),
            ]),
        ];
        let cut = pieces(&groups).expect("worth cutting");
        assert_eq!(cut.len(), 2);
        let covered = |g: &FileGroup| {
            let mut spans: Vec<(String, i64, i64)> = Vec::new();
            for f in g.iter() {
                let r = f
                    .range
                    .as_ref()
                    .map_or((0, f.object_meta.size as i64), |r| (r.start, r.end));
                match spans.last_mut() {
                    Some(last) if last.0 == f.object_meta.location.as_ref() && last.2 == r.0 => {
                        last.2 = r.1
                    }
                    _ => spans.push((f.object_meta.location.to_string(), r.0, r.1)),
                }
            }
            spans
        };
        for (before, after) in groups.iter().zip(&cut) {
            assert_eq!(covered(before), covered(after));
            assert!(after.len() > before.len());
            assert!(after.iter().all(|f| {
                let r = f.range.as_ref().unwrap();
                r.end - r.start >= MIN_PIECE || (f.object_meta.size as i64) < 2 * MIN_PIECE
            }));
        }
        // 142 MB over two cores: about 16 pieces.
        assert!(
            (14..=18).contains(&(cut[0].len() + cut[1].len())),
            "{cut:?}"
        );
        // A table of a few megabytes is read as it was.
        let tiny = vec![
            FileGroup::new(vec![small.clone().with_range(0, 4_000_000)]),
            FileGroup::new(vec![small.with_range(4_000_000, 8_706_377)]),
        ];
        assert!(pieces(&tiny).is_none());
    }
}
