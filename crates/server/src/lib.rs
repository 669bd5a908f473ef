//! `dangan serve`: one process serving the organizers' web page (Chinese, offline, `page.html`)
//! and the JSON API under `/api/v1/` (`api.rs`, uploads in `imports.rs`; described by
//! `openapi.rs`). Every request comes with a department's token and runs under that
//! department's grants exactly as `--as` does; no token, no data.

mod api;
mod imports;
mod openapi;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Html;
use axum::routing::get;
use dangan_datasets::Lake;

pub use state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: String,
    /// A query (SQL, report, search) that runs longer is stopped with a 504.
    pub query_timeout: Duration,
    /// Request bodies larger than this are refused with a 413.
    pub max_body_bytes: usize,
    /// Rows an SQL request returns at most (the response says when it cut).
    pub max_rows: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            addr: "127.0.0.1:8080".into(),
            query_timeout: Duration::from_secs(30),
            max_body_bytes: 1 << 20,
            max_rows: 10_000,
        }
    }
}

const PAGE: &str = include_str!("page.html");

/// The whole application (for tests that drive it without a socket, and for `serve`).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .nest("/api/v1", api::routes())
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(state.options.max_body_bytes))
        .with_state(state)
}

/// Serve until SIGTERM or Ctrl-C; `on_listen` hears the address actually bound (port 0 picks
/// a free one).
pub async fn serve(
    lake: Lake,
    options: ServeOptions,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(&options.addr)
        .await
        .map_err(|source| Error::Listen {
            addr: options.addr.clone(),
            source,
        })?;
    on_listen(listener.local_addr()?);
    let state = Arc::new(AppState::new(lake, options));
    let flusher = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            flusher.flush_audits().await;
        }
    });
    let app = router(state.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await?;
    state.flush_audits().await;
    tracing::info!("server stopped 服务已停止");
    Ok(())
}

async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
