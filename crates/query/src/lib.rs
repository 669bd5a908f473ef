//! SQL over the lake: a DataFusion session with every dataset (and internal table) registered
//! from its Delta table, and writers for query results.
//!
//! A session opened for a department (`QueryEngine::open_as`) sees the lake through its
//! grants (`policy.rs`); every query is audited in `system_audit`.

pub mod archive;
pub mod asof;
pub mod bounded;
mod calendar;
pub mod count_by;
pub mod date_part;
pub mod date_trunc;
mod error;
mod external;
pub mod files;
pub mod guard;
mod journal;
pub mod output;
pub mod policy;
pub mod provider;
pub mod refusal;
pub mod scope;
pub mod sealed;
pub mod search_fn;
pub mod spread;
pub mod text_model;
pub mod udf;
mod wrapped;

use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use dangan_datasets::Lake;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::{StreamExt, TryStreamExt};

pub use error::{Error, Kind, Result};
pub use output::{OutputFormat, write_batches};
pub use refusal::Refusal;

/// A DataFusion session over one lake.
pub struct QueryEngine {
    ctx: SessionContext,
    lake: Lake,
    /// `None`: the local operator, who is the administrator.
    policy: Option<policy::Policy>,
    /// Audit rows not yet written (see [`QueryEngine::flush_audit`]).
    pending: std::sync::Mutex<Vec<AuditRow>>,
    /// Saved views this session cannot define, with why.
    unavailable: std::collections::BTreeMap<String, String>,
    /// The lake's sentiment analyzer, which this session's `sentiment()` scores with.
    analyzer: dangan_text::sentiment::Analyzer,
}

/// The settings of every session. Measured on the analyst queries (BENCHMARKS.md): on two
/// cores, a join that broadcasts its smaller side beats hash-repartitioning millions of
/// `member_id` strings (the worst query 457 → 270 ms), and filters evaluated inside the
/// Parquet scan save the small group-bys 10–30%.
fn session_config() -> SessionConfig {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_default_catalog_and_schema("dangan", "public");
    let options = config.options_mut();
    options.optimizer.repartition_joins = false;
    options.execution.parquet.pushdown_filters = true;
    config
}

/// A session with [`session_config`] and dangan's plan rules (`count_by.rs`).
fn new_context() -> SessionContext {
    context_with(session_config())
}

/// A department's session: its `EXPLAIN` prints the logical plan only — the physical plan
/// names the server's files (`policy::check_explain` refuses the rest).
fn department_context() -> SessionContext {
    let mut config = session_config();
    config.options_mut().explain.logical_plan_only = true;
    context_with(config)
}

/// Where a session's plans run: this process by default, or an engine of several machines
/// (the `cluster` crate's Ballista client) that takes the session dangan configured.
pub trait Runner: std::fmt::Debug + Send + Sync {
    /// `state` (dangan's settings, tables not registered yet) made to send its plans away.
    fn session(
        &self,
        state: datafusion::execution::SessionState,
    ) -> datafusion::error::Result<datafusion::execution::SessionState>;
    /// What it is called in messages.
    fn name(&self) -> String;
}

/// `ctx` as it runs on `runner` (unchanged for `None`), with the functions that running
/// there replaced put back.
fn on(ctx: SessionContext, runner: Option<&dyn Runner>) -> Result<SessionContext> {
    let Some(runner) = runner else {
        return Ok(ctx);
    };
    let ctx = SessionContext::new_with_state(runner.session(ctx.state())?);
    bounded::register(&ctx);
    Ok(ctx)
}

/// Every scalar function a session of `lake` has beyond DataFusion's own — `sentiment()` with
/// the lake's analyzer, the masks, the bounded versions of `repeat` & co. — for the nodes of a
/// cluster, which must know them by name.
pub fn functions(lake: &Lake) -> Vec<Arc<datafusion::logical_expr::ScalarUDF>> {
    let plain = SessionContext::new();
    let ours = new_context();
    udf::register(&ours, &text_model::analyzer(lake));
    let state = ours.state();
    let defaults = plain.state();
    state
        .scalar_functions()
        .iter()
        .filter(|(name, f)| {
            defaults
                .scalar_functions()
                .get(*name)
                .is_none_or(|d| !Arc::ptr_eq(d, f))
        })
        .map(|(_, f)| f.clone())
        .collect()
}

/// The memory every session of this process shares for what DataFusion accounts for (sorts,
/// hash aggregations, joins): a `FairSpillPool`, so past its share an operator that can
/// spill does (to the OS temp folder) and one that cannot fails its query with an error
/// naming the limit — the process is never the one to die. `DANGAN_MEMORY_LIMIT` sets it in
/// bytes (or with a `K`/`M`/`G` suffix); by default half of the machine's memory;
/// `unbounded` is DataFusion's own default, no pool (for measuring what the pool costs).
fn runtime() -> Arc<datafusion::execution::runtime_env::RuntimeEnv> {
    use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool, UnboundedMemoryPool};
    static RUNTIME: std::sync::OnceLock<Arc<datafusion::execution::runtime_env::RuntimeEnv>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let unbounded = std::env::var("DANGAN_MEMORY_LIMIT").is_ok_and(|v| v == "unbounded");
            let pool: Arc<dyn MemoryPool> = if unbounded {
                Arc::new(UnboundedMemoryPool::default())
            } else {
                Arc::new(FairSpillPool::new(memory_limit()))
            };
            datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
                .with_memory_pool(pool)
                .build_arc()
                .unwrap_or_else(|_| Arc::new(Default::default()))
        })
        .clone()
}

/// The size of the shared pool (see `runtime`).
pub fn memory_limit() -> usize {
    let parse = |v: &str| {
        let v = v.trim();
        let (digits, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((i, _)) => (&v[..i], v[i..].trim().to_ascii_uppercase()),
            None => (v, String::new()),
        };
        let n: usize = digits.parse().ok()?;
        let shift = match unit.trim_end_matches('B') {
            "" => 0,
            "K" => 10,
            "M" => 20,
            "G" => 30,
            _ => return None,
        };
        n.checked_mul(1 << shift)
    };
    if let Some(n) = std::env::var("DANGAN_MEMORY_LIMIT")
        .ok()
        .as_deref()
        .and_then(parse)
    {
        return n.max(64 << 20);
    }
    // Half of MemTotal (kB) from /proc/meminfo; 4 GB where it cannot be read.
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        })
        .map_or(4 << 30, |kb| kb * 1024 / 2)
}

fn context_with(config: SessionConfig) -> SessionContext {
    let state = datafusion::execution::SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime())
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(spread::ScanPiecesRule))
        .with_physical_optimizer_rule(Arc::new(spread::SpreadRule))
        .with_physical_optimizer_rule(Arc::new(count_by::CountByRule))
        .build();
    let ctx = SessionContext::new_with_state(state);
    bounded::register(&ctx);
    ctx
}

/// Define the lake's saved views on a session (a view may use another: repeated until no
/// more can be defined). Returns those that could not be, with why.
async fn define_views(
    ctx: &SessionContext,
    lake: &Lake,
    department: Option<&str>,
) -> Result<std::collections::BTreeMap<String, String>> {
    let mut todo = dangan_datasets::views::load(lake).await?;
    let mut failed = std::collections::BTreeMap::new();
    loop {
        let before = todo.len();
        failed.clear();
        let mut rest = Vec::new();
        for v in todo {
            let ddl = format!("CREATE OR REPLACE VIEW \"{}\" AS {}", v.name, v.sql);
            match ctx.sql(&ddl).await {
                Ok(_) => {}
                Err(e) => {
                    failed.insert(v.name.clone(), e.to_string());
                    rest.push(v);
                }
            }
        }
        todo = rest;
        if todo.is_empty() || todo.len() == before {
            break;
        }
    }
    if let Some(dept) = department {
        for why in failed.values_mut() {
            *why =
                format!("它读取的数据未全部授权给{dept} (it reads data not granted to `{dept}`)");
        }
    }
    Ok(failed)
}

/// The text of a caught panic.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Audits a query whose future was dropped before it ended.
struct Unfinished<'a> {
    engine: &'a QueryEngine,
    sql: &'a str,
    started: Instant,
    done: bool,
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.engine.record(
                self.sql,
                0,
                self.started.elapsed().as_millis() as i64,
                "stopped: timed out or the client went away 查询超时或已取消",
            );
        }
    }
}

/// Who the local operator is in the audit.
pub const ADMINISTRATOR: &str = "administrator 管理员";

/// Append audit rows (`who[i]` asked `rows[i]`) to `system_audit` in one commit.
async fn write_audit(lake: &Lake, who: &[&str], rows: &[AuditRow]) -> Result<()> {
    let table = dangan_datasets::SystemTable::Audit;
    let name = table.table_name();
    lake.ensure_table(&name, &table.schema()).await?;
    let rows: Vec<dangan_datasets::AuditRow> = rows
        .iter()
        .zip(who)
        .map(|(r, who)| dangan_datasets::AuditRow {
            at: chrono::DateTime::from_timestamp_micros(r.at).map(|t| t.naive_utc()),
            department: Some(who.to_string()),
            sql: Some(r.sql.clone()),
            rows: Some(r.rows),
            duration_ms: Some(r.millis),
            status: Some(r.status.clone()),
        })
        .collect();
    let batch = table.batch(&rows)?;
    lake.write(&name, vec![batch], Default::default()).await?;
    Ok(())
}

/// Write the queries a dead process left running (`journal.rs`) as `interrupted` rows.
async fn recover_interrupted(lake: &Lake) -> Result<()> {
    let (found, claimed) = journal::dead_processes(lake);
    if !found.is_empty() {
        let who: Vec<&str> = found.iter().map(|r| r.who.as_str()).collect();
        let rows: Vec<AuditRow> = found
            .iter()
            .map(|r| AuditRow {
                at: r.at,
                sql: r.sql.clone(),
                rows: 0,
                millis: 0,
                status: "interrupted: the process ended while the query ran 查询进行中进程终止"
                    .to_string(),
            })
            .collect();
        write_audit(lake, &who, &rows).await?;
    }
    for f in claimed {
        let _ = std::fs::remove_file(f);
    }
    Ok(())
}

/// One query as `system_audit` records it.
struct AuditRow {
    at: i64,
    sql: String,
    rows: i64,
    millis: i64,
    status: String,
}

/// A query's rows and what it cost.
pub struct QueryResult {
    pub schema: SchemaRef,
    /// Per column: the Chinese label of the dataset column it comes straight from, if it
    /// does (for spreadsheet headers).
    pub labels: Vec<Option<String>>,
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
    pub duration_ms: u128,
}

/// How many tables a session opens at once.
pub(crate) const OPEN_AT_ONCE: usize = 16;

impl QueryEngine {
    /// Register every dataset table under its name and every internal table as
    /// `system_<name>`.
    pub async fn open(lake: &Lake) -> Result<Self> {
        Self::open_on(lake, None, None).await
    }

    /// A session for `department` (its grants applied), or the administrator's for `None`.
    pub async fn open_as(lake: &Lake, department: Option<&str>) -> Result<Self> {
        Self::open_on(lake, department, None).await
    }

    /// [`QueryEngine::open_as`] with the plans run by `runner` (a cluster) instead of this
    /// process.
    pub async fn open_on(
        lake: &Lake,
        department: Option<&str>,
        runner: Option<&dyn Runner>,
    ) -> Result<Self> {
        match department {
            None => Self::open_admin(lake, runner).await,
            Some(d) => Self::open_department(lake, d, runner).await,
        }
    }

    async fn open_admin(lake: &Lake, runner: Option<&dyn Runner>) -> Result<Self> {
        recover_interrupted(lake).await?;
        let ctx = on(new_context(), runner)?;
        let analyzer = text_model::analyzer(lake);
        udf::register(&ctx, &analyzer);
        ctx.register_udtf(
            "search",
            Arc::new(search_fn::SearchFunction {
                lake: lake.clone(),
                scopes: None,
            }),
        );
        for (name, fixed) in [
            ("asof", None),
            // `members_asof(t)`: the register of people as it stood at `t`.
            (
                "members_asof",
                lake.registry().people().map(|p| p.name.clone()),
            ),
        ] {
            ctx.register_udtf(
                name,
                Arc::new(asof::AsOf {
                    lake: lake.clone(),
                    fixed,
                    policy: None,
                }),
            );
        }
        // Opened side by side: on object storage each table's log is a few round trips.
        let opened: Vec<(String, Arc<dyn datafusion::catalog::TableProvider>)> =
            futures::stream::iter(lake.tables())
                .map(|(name, schema)| {
                    let ctx = &ctx;
                    async move {
                        if !lake.table_exists(&name).await? {
                            // A dataset added by a user spec and not imported yet: empty, but
                            // queryable.
                            let empty =
                                datafusion::datasource::MemTable::try_new(schema, vec![vec![]])?;
                            return Ok::<_, Error>((name, Arc::new(empty) as Arc<_>));
                        }
                        let table = lake.open_table(&name).await?;
                        let provider = provider::table_provider(ctx, &name, &table).await?;
                        Ok((name.clone(), sealed::unsealed(lake, &name, provider)))
                    }
                })
                .buffered(OPEN_AT_ONCE)
                .try_collect()
                .await?;
        for (name, provider) in opened {
            ctx.register_table(name.as_str(), provider)?;
        }
        external::register(&ctx, lake, None)?;
        let unavailable = define_views(&ctx, lake, None).await?;
        Ok(QueryEngine {
            ctx,
            lake: lake.clone(),
            policy: None,
            pending: Default::default(),
            unavailable,
            analyzer,
        })
    }

    async fn open_department(
        lake: &Lake,
        department: &str,
        runner: Option<&dyn Runner>,
    ) -> Result<Self> {
        recover_interrupted(lake).await?;
        let ctx = on(department_context(), runner)?;
        let analyzer = text_model::analyzer(lake);
        udf::register(&ctx, &analyzer);
        let policy = policy::register(&ctx, lake, department).await?;
        ctx.register_udtf(
            "search",
            Arc::new(search_fn::SearchFunction {
                lake: lake.clone(),
                scopes: Some(policy.scopes.clone()),
            }),
        );
        let unavailable = define_views(&ctx, lake, Some(department)).await?;
        Ok(QueryEngine {
            ctx,
            lake: lake.clone(),
            policy: Some(policy),
            pending: Default::default(),
            unavailable,
            analyzer,
        })
    }

    /// Whether this session may read a dataset (the administrator reads everything).
    pub fn may_read(&self, dataset: &str) -> bool {
        self.policy
            .as_ref()
            .is_none_or(|p| !p.denied.contains(dataset))
    }

    /// What search results this session may see (`None`: all), for
    /// `SearchRequest::scopes`.
    pub fn search_scopes(&self) -> Option<dangan_index::Scopes> {
        self.policy.as_ref().map(|p| p.scopes.clone())
    }

    /// Audit something other than SQL read through this session (a search, say): it is
    /// written with the next [`QueryEngine::flush_audit`].
    pub fn record(&self, what: &str, rows: i64, millis: i64, status: &str) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.push(AuditRow {
                at: chrono::Utc::now().timestamp_micros(),
                sql: what.to_string(),
                rows,
                millis,
                status: status.to_string(),
            });
        }
    }

    /// The department this session is for (`None`: the administrator).
    pub fn department(&self) -> Option<&str> {
        self.policy.as_ref().map(|p| p.department.as_str())
    }

    /// The sentiment analyzer of this session's lake (its words and adapted model).
    pub fn analyzer(&self) -> &dangan_text::sentiment::Analyzer {
        &self.analyzer
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Run one SQL statement and collect its rows. The query is audited (who, when, the SQL,
    /// rows, duration, and whether it was refused or failed) with the next
    /// [`QueryEngine::flush_audit`]: every command flushes before it ends (one commit for all
    /// the queries it ran), so the audit costs no query a commit of its own.
    ///
    /// A query whose future is dropped before it ends (a server's time limit, a client that
    /// went away) is audited as stopped.
    pub async fn sql(&self, sql: &str) -> Result<QueryResult> {
        let started = Instant::now();
        // In the journal before it runs: a process that dies on it still leaves its row.
        let _journal = journal::start(&self.lake, self.department().unwrap_or(ADMINISTRATOR), sql);
        let mut watch = Unfinished {
            engine: self,
            sql,
            started,
            done: false,
        };
        let result = self.sql_unaudited(sql).await;
        watch.done = true;
        let rows = result.as_ref().map_or(0, |r| r.rows as i64);
        self.record_outcome(sql, rows, started, result.as_ref().err());
        result
    }

    /// [`QueryEngine::sql`] without an audit row: for a caller that audits the request itself
    /// under the department it answers (the server reading import runs for one).
    pub async fn sql_unaudited(&self, sql: &str) -> Result<QueryResult> {
        use futures::FutureExt;
        let started = Instant::now();
        // A panic anywhere in planning or running is this query's error, never the process's.
        std::panic::AssertUnwindSafe(self.run(sql, started))
            .catch_unwind()
            .await
            .unwrap_or_else(|p| Err(Error::Panic(panic_message(p.as_ref()))))
    }

    fn record_outcome(&self, sql: &str, rows: i64, started: Instant, error: Option<&Error>) {
        let status = match error {
            None => "ok".to_string(),
            Some(Error::Refused(r)) => format!("denied: {r}"),
            Some(Error::TooComplex(m)) => format!("refused: {m}"),
            Some(e) => format!("error: {e}"),
        };
        self.record(sql, rows, started.elapsed().as_millis() as i64, &status);
    }

    /// A statement parsed once per query (the policy, the saved views and the spreadsheet
    /// labels all ask), after its size was checked against the budget, and the tables it
    /// reads, by name.
    fn parse(&self, sql: &str) -> Result<(datafusion::sql::parser::Statement, Vec<String>)> {
        let state = self.ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        let tokens_as = datafusion::sql::sqlparser::dialect::dialect_from_str(dialect)
            .unwrap_or_else(|| Box::new(datafusion::sql::sqlparser::dialect::GenericDialect {}));
        guard::check(sql, &guard::BUDGET, tokens_as.as_ref())?;
        let statement = state.sql_to_statement(sql, &dialect)?;
        // A table of another database by its `source.table` name, the lake's by its own.
        let read = state
            .resolve_table_references(&statement)?
            .iter()
            .map(|t| match t.schema() {
                Some(source) if self.lake.external(source).is_some() => {
                    format!("{source}.{}", t.table())
                }
                _ => t.table().to_string(),
            })
            .collect();
        Ok((statement, read))
    }

    /// The columns a statement returns (names and Arrow types, masks applied), planned under
    /// this session's grants but not run (for Flight SQL's `GetFlightInfo`). A refusal or an
    /// error is audited here; the run that follows a success is audited by [`QueryEngine::sql`].
    pub async fn result_schema(&self, sql: &str) -> Result<SchemaRef> {
        use futures::FutureExt;
        let started = Instant::now();
        let planned = std::panic::AssertUnwindSafe(self.plan(sql))
            .catch_unwind()
            .await
            .unwrap_or_else(|p| Err(Error::Panic(panic_message(p.as_ref()))));
        match planned {
            Ok((df, _)) => Ok(Arc::new(df.schema().as_arrow().clone())),
            Err(e) => {
                self.record_outcome(sql, 0, started, Some(&e));
                Err(e)
            }
        }
    }

    /// A statement planned under this session's grants, and the tables it reads.
    async fn plan(&self, sql: &str) -> Result<(datafusion::dataframe::DataFrame, Vec<String>)> {
        let (statement, read) = self.parse(sql)?;
        if let Some((t, why)) = read
            .iter()
            .find_map(|t| self.unavailable.get(t).map(|why| (t, why)))
        {
            return Err(Refusal::ViewUnavailable {
                view: t.clone(),
                reason: why.clone(),
            }
            .into());
        }
        let state = self.ctx.state();
        let df = match &self.policy {
            None => {
                let plan = state.statement_to_plan(statement).await?;
                self.ctx.execute_logical_plan(plan).await?
            }
            Some(policy) => {
                policy.check(&read)?;
                policy::check_explain(&statement)?;
                let options = datafusion::execution::context::SQLOptions::new()
                    .with_allow_ddl(false)
                    .with_allow_dml(false)
                    .with_allow_statements(false);
                let plan = state.statement_to_plan(statement).await?;
                options.verify_plan(&plan).map_err(|e| match e {
                    datafusion::error::DataFusionError::Plan(m) if m.contains("not supported") => {
                        Error::Refused(Refusal::NotAQuery { what: m })
                    }
                    e => Error::from(e),
                })?;
                self.ctx.execute_logical_plan(plan).await?
            }
        };
        Ok((df, read))
    }

    async fn run(&self, sql: &str, started: Instant) -> Result<QueryResult> {
        let (df, read) = self.plan(sql).await?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let labels = self.labels(&read, df.schema());
        let batches = match df.collect().await {
            Ok(b) => b,
            Err(e) if self.policy.is_some() => {
                return Err(datafusion::error::DataFusionError::Execution(
                    dangan_datasets::seal::redact(&e.to_string()),
                )
                .into());
            }
            Err(e) => return Err(e.into()),
        };
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        Ok(QueryResult {
            schema,
            labels,
            batches,
            rows,
            duration_ms: started.elapsed().as_millis(),
        })
    }

    /// The label of each result column that is a dataset's column: by its table qualifier
    /// when that names a dataset, else by the datasets the statement reads (when those that
    /// have a column of that name agree on its label).
    fn labels(
        &self,
        read: &[String],
        schema: &datafusion::common::DFSchema,
    ) -> Vec<Option<String>> {
        let registry = self.lake.registry();
        (0..schema.fields().len())
            .map(|i| {
                let (qualifier, field) = schema.qualified_field(i);
                let name = field.name();
                if let Some(q) = qualifier
                    && let Ok(spec) = registry.get(q.table())
                {
                    return spec.column(name).map(|c| c.label.clone());
                }
                let labels: std::collections::BTreeSet<String> = read
                    .iter()
                    .filter_map(|t| registry.get(t).ok())
                    .filter_map(|s| s.column(name).map(|c| c.label.clone()))
                    .collect();
                (labels.len() == 1)
                    .then(|| labels.into_iter().next())
                    .flatten()
            })
            .collect()
    }

    /// Write the audit rows of the queries run so far, in one commit.
    pub async fn flush_audit(&self) -> Result<()> {
        let rows: Vec<AuditRow> = match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return Ok(()),
        };
        if rows.is_empty() {
            return Ok(());
        }
        let who = self.department().unwrap_or(ADMINISTRATOR);
        if let Err(e) = write_audit(&self.lake, &vec![who; rows.len()], &rows).await {
            // Kept for the next flush: an audit row is never dropped.
            if let Ok(mut p) = self.pending.lock() {
                let later = std::mem::take(&mut *p);
                *p = rows;
                p.extend(later);
            }
            return Err(e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_departments_errors_quote_no_values() {
        let m = "Cast error: Cannot cast string 'M0001|入党申请书 张三' to value of Int64 type";
        assert_eq!(
            dangan_datasets::seal::redact(m),
            "Cast error: Cannot cast string '…' to value of Int64 type"
        );
        assert_eq!(
            dangan_datasets::seal::redact("Overflow happened on: 32010219800101 + 1"),
            "Overflow happened on: … + 1"
        );
        assert_eq!(dangan_datasets::seal::redact("column \"x"), "column \"…");
        assert_eq!(dangan_datasets::seal::redact("Int64 at 12"), "Int64 at 12");
    }
}
