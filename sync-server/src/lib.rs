//! Kvits' sync server: the source of truth for every client company's expenses, approvals and
//! messages.
//!
//! [`Server::open`] opens the data directory (SQLite database, blob files, migrations);
//! [`Server::router`] is the whole HTTP API; [`Server::serve`] runs it on a listener until a
//! shutdown future resolves. Tests run it in-process on `127.0.0.1:0`; `main.rs` is the CLI.

pub mod admin;
mod api;
pub mod auth;
pub mod blobs;
pub mod cards;
pub mod clients;
pub mod db;
pub mod demo;
pub mod error;
pub mod export;
pub mod firm;
mod openapi;
pub mod pdf;
pub mod store;
pub mod sync;
pub mod uploads;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use api::{Operation, Routes};
pub use db::Db;

/// Largest JSON body accepted by any endpoint (a push of many mutations fits easily).
pub const MAX_JSON_BODY: usize = 2 * 1024 * 1024;

/// How the server runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Holds `kvits.sqlite3`, `blobs/`, `uploads/` and `exports/` (the export batches' ZIPs).
    pub data_dir: PathBuf,
    /// Partial uploads untouched this long are deleted.
    pub upload_ttl: Duration,
    /// A built web shell to serve at `/` (its `index.html` and assets), if any.
    pub web_dir: Option<PathBuf>,
    /// How long a database statement waits for a lock held by another connection (another
    /// process on the same file, a backup) before the request is answered 503.
    pub busy_timeout: Duration,
}

impl Config {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            upload_ttl: Duration::from_secs(24 * 3600),
            web_dir: None,
            busy_timeout: db::DEFAULT_BUSY_TIMEOUT,
        }
    }
}

/// Everything a request handler needs; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub blobs: blobs::BlobStore,
    pub config: Arc<Config>,
    pub changes: sync::ChangeFeed,
    pub logins: auth::LoginThrottle,
}

/// An opened server: database migrated, blob store ready.
#[derive(Clone, Debug)]
pub struct Server {
    state: AppState,
}

impl Server {
    /// Opens (creating if needed) the data directory and migrates the database.
    pub fn open(config: Config) -> anyhow::Result<Server> {
        std::fs::create_dir_all(&config.data_dir)?;
        let db = Db::open_with(&config.data_dir.join("kvits.sqlite3"), config.busy_timeout)?;
        let blobs = blobs::BlobStore::open(&config.data_dir)?;
        Ok(Server {
            state: AppState {
                db,
                blobs,
                config: Arc::new(config),
                changes: sync::ChangeFeed::default(),
                logins: auth::LoginThrottle::default(),
            },
        })
    }

    /// The shared state (for seeding and admin commands).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The whole HTTP API.
    pub fn router(&self) -> Router {
        let api = endpoints().into_router();
        let app = match self.state.config.web_dir.clone() {
            // The web app at `/`; unknown API paths still answer our JSON 404.
            Some(dir) => api.fallback(move |req: axum::extract::Request| {
                let dir = dir.clone();
                async move {
                    use axum::response::IntoResponse;
                    if req.uri().path().starts_with("/v1/") {
                        return not_found().await.into_response();
                    }
                    let index = dir.join("index.html");
                    let web = tower_http::services::ServeDir::new(&dir)
                        .fallback(tower_http::services::ServeFile::new(index));
                    match tower::ServiceExt::oneshot(web, req).await {
                        Ok(response) => response.into_response(),
                        Err(e) => error::ApiError::internal(e).into_response(),
                    }
                }
            }),
            None => api.fallback(not_found),
        };
        app.layer(CatchPanicLayer::custom(panic_response))
            .layer(TraceLayer::new_for_http())
            .with_state(self.state.clone())
    }

    /// Serves the API on `listener` until `shutdown` resolves, then finishes open requests.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Stops the sweeper however serving ends, even when this future is dropped.
        let _sweeper = AbortOnDrop(tokio::spawn(uploads::sweep_forever(self.state.clone())));
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Every endpoint of the API, each with its documentation: the router and the OpenAPI
/// document are both built from this.
fn endpoints() -> Routes {
    Routes::new()
        .get("/healthz", healthz, |_| {
            Operation::new("healthz", "system", "Health check")
                .describe("The server is up and its database answers.")
                .db()
                .json(
                    200,
                    "Healthy.",
                    serde_json::json!({
                        "type": "object",
                        "properties": {
                            "status": {"const": "ok"},
                            "schema_version": {
                                "type": "integer",
                                "minimum": 0,
                                "description": "Number of database migrations applied.",
                            },
                        },
                        "required": ["status", "schema_version"],
                    }),
                )
        })
        .merge(openapi::routes())
        .merge(auth::routes())
        .merge(admin::routes())
        .merge(firm::routes())
        .merge(clients::routes())
        .merge(export::routes())
        .merge(sync::routes())
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        // Uploads and statement imports bound their bodies themselves.
        .merge(uploads::routes())
        .merge(cards::routes())
}

async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> error::ApiResult<error::Json<serde_json::Value>> {
    state
        .db
        .read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        .await?;
    Ok(error::Json(serde_json::json!({
        "status": "ok",
        "schema_version": db::schema_version(),
    })))
}

async fn not_found() -> error::ApiError {
    error::ApiError::not_found("endpoint")
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    error::ApiError::internal("a request handler panicked").into_response()
}

/// Now, as the server decides it (never a device's clock).
pub fn now() -> kvits_protocol::Timestamp {
    // Whole microseconds: what RFC 3339 text and the device round-trip exactly.
    let now = chrono::Utc::now();
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::microseconds(1)).unwrap_or(now)
}

/// A new UUIDv7.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
