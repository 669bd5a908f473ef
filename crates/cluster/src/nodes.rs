//! The two kinds of node: the scheduler (plans jobs into stages and hands tasks out) and the
//! executor (runs tasks, keeps shuffle files in its work folder). Each is Ballista's own
//! process with dangan's session: its functions, its codec, and its lake's object stores.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::default_config_producer;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use dangan_datasets::Lake;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionConfig;

use crate::codec::{Codec, PhysicalCodec};
use crate::error::Result;
use crate::stores::LakeStores;

/// How often an executor tells the scheduler it is alive.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);
/// How long the scheduler waits for a silent executor before running its tasks elsewhere.
const EXECUTOR_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Where the scheduler listens.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub bind: SocketAddr,
    /// The name executors and clients reach it by (default: the bind address's host).
    pub external_host: Option<String>,
}

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// `host:port` of the scheduler.
    pub scheduler: String,
    /// The host to bind (and to be reached at unless `external_host`).
    pub bind_host: String,
    pub external_host: Option<String>,
    /// Arrow Flight port (shuffle reads); the gRPC port.
    pub port: u16,
    pub grpc_port: u16,
    /// Shuffle files and spills.
    pub work_dir: std::path::PathBuf,
    /// Tasks at once (default: the cores).
    pub concurrency: Option<usize>,
}

/// dangan's functions with Ballista's (DataFusion's defaults), dangan's last so its bounded
/// versions of `repeat` & co. replace the unbounded ones.
fn functions(lake: &Lake) -> Vec<Arc<ScalarUDF>> {
    let mut all = ballista_core::extension::ballista_scalar_functions();
    all.extend(dangan_query::functions(lake));
    all
}

/// The session a node plans with: Ballista's, plus dangan's functions and the lake's stores,
/// without this process's custom plan rules (their operators do not travel).
fn session_state(
    lake: &Lake,
    stores: Arc<LakeStores>,
    config: SessionConfig,
) -> datafusion::error::Result<SessionState> {
    let runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(stores)
        .build_arc()?;
    Ok(SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_optimizer_rules(ballista_core::optimizer::ballista_default_optimizer_rules())
        .with_scalar_functions(functions(lake))
        .with_aggregate_functions(ballista_core::extension::ballista_aggregate_functions())
        .with_window_functions(ballista_core::extension::ballista_window_functions())
        .build())
}

/// Run a scheduler until the process is stopped.
pub async fn scheduler(lake: &Lake, opts: &SchedulerOptions) -> Result<()> {
    let lake = lake.clone();
    // One registry for every session: a bucket's client is built once per process.
    let stores = Arc::new(LakeStores::new(lake.config().storage_options.clone()));
    let mut config = SchedulerConfig {
        bind_host: opts.bind.ip().to_string(),
        bind_port: opts.bind.port(),
        external_host: opts
            .external_host
            .clone()
            .unwrap_or_else(|| opts.bind.ip().to_string()),
        // An executor that stops answering is given up after this long and its tasks run
        // elsewhere (Ballista's default, 180 s, left a query waiting three minutes).
        executor_timeout_seconds: EXECUTOR_TIMEOUT.as_secs(),
        // A stage's tasks spread over the executors (Ballista's default fills one first):
        // every machine reads its share of the files.
        task_distribution: ballista_scheduler::config::TaskDistributionPolicy::RoundRobin,
        expire_dead_executor_interval_seconds: 5,
        no_executors_grace_period_seconds: EXECUTOR_TIMEOUT.as_secs(),
        ..Default::default()
    }
    .with_override_config_producer(Arc::new(default_config_producer))
    .with_override_session_builder(Arc::new(move |config| {
        session_state(&lake, stores.clone(), config)
    }));
    config.override_logical_codec = Some(Arc::new(Codec::default()));
    config.override_physical_codec = Some(Arc::new(PhysicalCodec::default()));
    let cluster = BallistaCluster::new_from_config(&config).await?;
    start_server(cluster, opts.bind, Arc::new(config)).await?;
    Ok(())
}

/// Run an executor until the process is stopped.
pub async fn executor(lake: &Lake, opts: &ExecutorOptions) -> Result<()> {
    let (host, port) = crate::scheduler_address(&opts.scheduler)?;
    std::fs::create_dir_all(&opts.work_dir)
        .map_err(|e| dangan_datasets::Error::io(&opts.work_dir, e))?;
    let mut registry = BallistaFunctionRegistry::default();
    for f in dangan_query::functions(lake) {
        registry.scalar_functions.insert(f.name().to_string(), f);
    }
    let stores = Arc::new(LakeStores::new(lake.config().storage_options.clone()));
    let work_dir = opts.work_dir.clone();
    let config = ExecutorProcessConfig {
        scheduler_host: host,
        scheduler_port: port,
        bind_host: opts.bind_host.clone(),
        external_host: opts.external_host.clone(),
        port: opts.port,
        grpc_port: opts.grpc_port,
        work_dir: Some(opts.work_dir.display().to_string()),
        vcores: opts
            .concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        override_function_registry: Some(Arc::new(registry)),
        override_runtime_producer: Some(Arc::new(move |_| {
            RuntimeEnvBuilder::new()
                .with_temp_file_path(work_dir.clone())
                .with_object_store_registry(stores.clone())
                .build_arc()
        })),
        override_logical_codec: Some(Arc::new(Codec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        executor_heartbeat_interval_seconds: HEARTBEAT.as_secs(),
        ..Default::default()
    };
    start_executor_process(Arc::new(config)).await?;
    Ok(())
}
