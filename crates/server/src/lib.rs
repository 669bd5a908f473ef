//! `dangan serve`: one process serving the organizers' web page (Chinese, offline, `page.html`)
//! and the JSON API under `/api/v1/` (`api.rs`, uploads in `imports.rs`; described by
//! `openapi.rs`), and Arrow Flight SQL on a port of its own (`flight.rs`). Every request comes with a department's token and runs under that
//! department's grants exactly as `--as` does; no token, no data.

mod api;
mod error;
mod extract;
mod flight;
mod imports;
mod openapi;
mod quarantine;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Html;
use axum::routing::get;
use dangan_datasets::Lake;

pub use flight::FlightSql;
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
    /// Where Arrow Flight SQL listens (`None`: not served).
    pub flight_addr: Option<String>,
    /// A query (SQL, report, search) that runs longer is stopped with a 504.
    pub query_timeout: Duration,
    /// Request bodies larger than this are refused with a 413.
    pub max_body_bytes: usize,
    /// Rows an SQL request returns at most (the response says when it cut).
    pub max_rows: usize,
    /// Distinct searches whose results are kept while the index does not change (0: none).
    pub search_cache: usize,
    /// Searches that run at once; more wait their turn, first come first served (0: no
    /// limit). Given a core each, a search finishes before the next starts instead of all of
    /// them sharing the cores in slices, which spreads every one of them out.
    pub search_slots: usize,
    /// Queries (SQL, reports, archives, Flight SQL) that run at once; more wait in turn.
    pub query_slots: usize,
    /// Queries of one department running or waiting at once; one more is refused (429).
    pub department_queries: usize,
    /// How long a query waits for a turn before it is refused (429).
    pub queue_wait: Duration,
    /// Where the queries of every session run (a cluster; `None`: this process). The page,
    /// the API and Flight SQL stay here as its front-ends; search reads the local index.
    pub runner: Option<std::sync::Arc<dyn dangan_query::Runner>>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            addr: "127.0.0.1:8080".into(),
            flight_addr: None,
            query_timeout: Duration::from_secs(30),
            max_body_bytes: 1 << 20,
            max_rows: 10_000,
            search_cache: 1024,
            search_slots: default_search_slots(),
            query_slots: default_search_slots(),
            department_queries: 4,
            queue_wait: Duration::from_secs(10),
            runner: None,
        }
    }
}

/// Two searches per core (see [`ServeOptions::search_slots`]): with one, a core idles while
/// the next search is handed over.
pub fn default_search_slots() -> usize {
    2 * std::thread::available_parallelism().map_or(2, |n| n.get())
}

const PAGE: &str = include_str!("page.html");

/// The whole application (for tests that drive it without a socket, and for `serve`).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .nest("/api/v1", api::routes())
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(state.options.max_body_bytes))
        .layer(axum::middleware::from_fn(catch_panics))
        .with_state(state)
}

/// A panic while answering a request is that request's 500, never the connection's silent
/// end (queries catch their own and audit them: `QueryEngine::sql`).
async fn catch_panics(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(_) => error::ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "内部错误 an internal error while answering; the server goes on",
        )
        .into_response(),
    }
}

/// The addresses actually bound (port 0 picks a free one).
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    pub http: SocketAddr,
    pub flight: Option<SocketAddr>,
}

async fn bind(addr: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Listen {
            addr: addr.to_string(),
            source,
        })
}

/// Serve until SIGTERM or Ctrl-C; `on_listen` hears the addresses actually bound.
pub async fn serve(
    lake: Lake,
    options: ServeOptions,
    on_listen: impl FnOnce(Listening),
) -> Result<()> {
    let listener = bind(&options.addr).await?;
    let flight_listener = match &options.flight_addr {
        Some(a) => Some(bind(a).await?),
        None => None,
    };
    on_listen(Listening {
        http: listener.local_addr()?,
        flight: flight_listener
            .as_ref()
            .map(|l| l.local_addr())
            .transpose()?,
    });
    let state = Arc::new(AppState::new(lake, options));
    // An index left behind its tables (an import killed in its index step) is caught up now,
    // in the background, not at the first search.
    let looker = state.clone();
    tokio::spawn(async move {
        looker.index_behind().await;
        // What the first search would read first (the name tables, term dictionaries, fast
        // fields) is read now, so that the first organizer does not wait for it.
        if let Ok(index) = looker.index().await {
            match tokio::task::spawn_blocking(move || index.warm()).await {
                Ok(Ok(w)) => tracing::info!(
                    segments = w.segments,
                    documents = w.documents,
                    names = w.names,
                    millis = w.millis,
                    "search index warmed 索引已预热"
                ),
                Ok(Err(e)) => tracing::warn!("warming the search index: {e}"),
                Err(e) => tracing::warn!("warming the search index: {e}"),
            }
        }
    });
    let flusher = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            flusher.flush_audits().await;
        }
    });
    let flight = flight_listener.map(|l| {
        let service = FlightSql::new(state.clone()).into_service();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(l),
                    shutdown(),
                ),
        )
    });
    let app = router(state.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await?;
    if let Some(f) = flight {
        match f.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "Flight SQL stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "Flight SQL task failed"),
            Ok(Ok(())) => {}
        }
    }
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
