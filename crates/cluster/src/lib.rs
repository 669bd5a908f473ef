//! SQL on an Apache Ballista cluster: a scheduler and executors that carry dangan's functions,
//! codecs and object stores, and the client side that sends a session's plans to them.
//!
//! The lake's tables travel as what `query/src/provider.rs` makes of them — Parquet file
//! lists of a snapshot (DataFusion's listing table, which Ballista serializes natively) —,
//! department views are inlined into the plan before it leaves the client, small in-memory
//! tables (an empty dataset, `search()` hits from the front-end's index) travel as Arrow IPC
//! (`codec.rs`), and functions travel by name: every node registers dangan's
//! (`query::functions`). Anything else (a table read through delta-rs's own scan, a custom
//! operator) fails at planning with a "not distributable" error, never a wrong answer.
//! Credentials stay on each node: its lake's `lake.toml` or `AWS_*` (`stores.rs`).

mod codec;
mod error;
mod nodes;
mod stores;

use std::sync::Arc;

use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use datafusion::execution::SessionState;
use datafusion::execution::SessionStateBuilder;

pub use codec::{Codec, PhysicalCodec};
pub use error::{Error, Result};
pub use nodes::{ExecutorOptions, SchedulerOptions, executor, scheduler};

/// A cluster to run a session's plans on, by its scheduler's URL (`df://host:50050`).
#[derive(Debug, Clone)]
pub struct Cluster {
    scheduler: String,
}

impl Cluster {
    /// `df://host:port` (or `host:port`): the scheduler a client sends its plans to.
    pub fn new(url: &str) -> Result<Cluster> {
        let (host, port) = scheduler_address(url)?;
        Ok(Cluster {
            scheduler: format!("http://{host}:{port}"),
        })
    }
}

/// The host and port of a scheduler given as `df://host:port`, `http://host:port` or
/// `host:port` (port 50050 when left out).
fn scheduler_address(address: &str) -> Result<(String, u16)> {
    let url = if address.contains("://") {
        address.to_string()
    } else {
        format!("df://{address}")
    };
    let bad = |message: String| Error::Address {
        address: address.to_string(),
        message,
    };
    let parsed = url::Url::parse(&url).map_err(|e| bad(e.to_string()))?;
    let host = parsed.host_str().ok_or_else(|| bad("no host".into()))?;
    Ok((host.to_string(), parsed.port().unwrap_or(50050)))
}

impl dangan_query::Runner for Cluster {
    fn session(&self, state: SessionState) -> datafusion::error::Result<SessionState> {
        let config = state
            .config()
            .clone()
            .with_ballista_logical_extension_codec(Arc::new(Codec::default()))
            .with_ballista_physical_extension_codec(Arc::new(PhysicalCodec::default()));
        let state = SessionStateBuilder::new_from_existing(state)
            .with_config(config)
            .build();
        state.upgrade_for_ballista(self.scheduler.clone())
    }

    fn name(&self) -> String {
        format!("the cluster at {}", self.scheduler)
    }
}
