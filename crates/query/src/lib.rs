//! SQL over the lake: a DataFusion session with every dataset (and internal table) registered
//! from its Delta table, and writers for query results.
//!
//! Access policy, masking, UDFs and audit build on this session (the SQL issue).

mod error;
pub mod output;
pub mod udf;

use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use dangan_datasets::Lake;
use datafusion::prelude::{SessionConfig, SessionContext};

pub use error::{Error, Result};
pub use output::{OutputFormat, write_batches};

/// A DataFusion session over one lake.
pub struct QueryEngine {
    ctx: SessionContext,
}

/// A query's rows and what it cost.
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
    pub duration_ms: u128,
}

impl QueryEngine {
    /// Register every dataset table under its name and every internal table as
    /// `system_<name>`.
    pub async fn open(lake: &Lake) -> Result<Self> {
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema("dangan", "public");
        let ctx = SessionContext::new_with_config(config);
        udf::register(&ctx);
        for (name, schema) in lake.tables() {
            if !lake.table_exists(&name).await? {
                // A dataset added by a user spec and not imported yet: empty, but queryable.
                let empty = datafusion::datasource::MemTable::try_new(schema, vec![vec![]])?;
                ctx.register_table(name.as_str(), Arc::new(empty))?;
                continue;
            }
            let table = lake.open_table(&name).await?;
            table
                .update_datafusion_session(&ctx.state())
                .map_err(|e| Error::Lake(dangan_datasets::Error::delta(&name, e)))?;
            let provider = table.table_provider().await?;
            ctx.register_table(name.as_str(), provider)?;
        }
        Ok(QueryEngine { ctx })
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Run one SQL statement and collect its rows.
    pub async fn sql(&self, sql: &str) -> Result<QueryResult> {
        let started = Instant::now();
        let df = self.ctx.sql(sql).await?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        Ok(QueryResult {
            schema,
            batches,
            rows,
            duration_ms: started.elapsed().as_millis(),
        })
    }
}
