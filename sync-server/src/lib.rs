//! Kvits' sync server: the source of truth for every client company's expenses, approvals and
//! messages.
//!
//! [`Server::open`] opens the data directory (SQLite database, blob files, migrations);
//! [`Server::router`] is the whole HTTP API; [`Server::serve`] runs it on a listener until a
//! shutdown future resolves. Tests run it in-process on `127.0.0.1:0`; `main.rs` is the CLI.

pub mod admin;
mod api;
pub mod auth;
pub mod backup;
pub mod blobs;
pub mod cards;
pub mod clients;
pub mod cursor;
pub mod db;
pub mod demo;
pub mod error;
pub mod export;
pub mod firm;
pub mod hashing;
pub mod limits;
mod net;
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
use axum::http::{HeaderName, HeaderValue};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use api::{Operation, Routes};
pub use db::Db;

/// Largest JSON body accepted by any endpoint (a push of many mutations fits easily).
pub const MAX_JSON_BODY: usize = 2 * 1024 * 1024;

/// What the browser may load and run for the web app (and for anything else the server
/// answers): only the app's own files (its wasm compiled from them), images of its own or made
/// in the page (photos not sent yet), no plugins, no framing by another site, forms and links
/// back to this server only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
    script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' blob: data:; \
    connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The headers every answer carries unless its handler set them: the policy above, no MIME
/// sniffing (a blob is served as the type it was stored with), no `Referer` (invitation links
/// carry their secret in the path), and no framing for browsers without `frame-ancestors`.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
];

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
    /// When a commit reaches the disk: always [`db::Durability::Full`] but to measure it.
    pub durability: db::Durability,
    /// A session (a signed-in device) ends after this long without a request.
    pub session_idle: Duration,
    /// A session ends this long after its sign-in, however much it is used.
    pub session_lifetime: Duration,
    /// Passwords hashed or checked at once (each takes 19 MiB and a core for tens of
    /// milliseconds).
    pub hashing_slots: usize,
    /// How long a sign-in waits for a free slot (a burst of people arriving at once) before
    /// it is answered 503 with `Retry-After`.
    pub hashing_wait: Duration,
    /// The reverse proxies in front of the server: from them, the client's address is the
    /// last one in `X-Forwarded-For` that is not theirs (else the peer's address counts).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Connections open at once; past it, new ones wait to be accepted.
    pub max_connections: usize,
    /// How long a connection may take to send a request's head, and stay idle between
    /// requests, before it is closed.
    pub header_read_timeout: Duration,
    /// How long a request may take, its body's arrival included (a long poll waits at most
    /// [`kvits_protocol::MAX_PULL_WAIT_SECS`]); past it the answer is `408 timed_out`.
    pub request_timeout: Duration,
    /// Each person's request budget; `None` counts nothing (a benchmark's only user).
    pub user_rate: Option<limits::RequestRate>,
    /// Long polls one person may hold open at once.
    pub long_polls_per_user: usize,
    /// Each person's and each firm's share of the storage, and the disk's reserve.
    pub storage: uploads::StorageLimits,
}

impl Config {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            upload_ttl: Duration::from_secs(24 * 3600),
            web_dir: None,
            busy_timeout: db::DEFAULT_BUSY_TIMEOUT,
            durability: db::Durability::Full,
            session_idle: auth::DEFAULT_SESSION_IDLE,
            session_lifetime: auth::DEFAULT_SESSION_LIFETIME,
            hashing_slots: 2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
            hashing_wait: Duration::from_secs(2),
            trusted_proxies: Vec::new(),
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(90),
            user_rate: Some(limits::RequestRate::DEFAULT),
            long_polls_per_user: limits::DEFAULT_LONG_POLLS_PER_USER,
            storage: uploads::StorageLimits::default(),
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
    /// The threads that hash or check passwords ([`Config::hashing_slots`]).
    pub hashing: Arc<hashing::Hashing>,
    /// Each person's request budget and long polls.
    pub limits: Arc<limits::UserLimits>,
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
        let db = Db::open_with(
            &config.data_dir.join("kvits.sqlite3"),
            config.busy_timeout,
            config.durability,
        )?;
        let blobs = blobs::BlobStore::open(&config.data_dir)?;
        Ok(Server {
            state: AppState {
                db,
                blobs,
                hashing: Arc::new(hashing::Hashing::start(config.hashing_slots)?),
                limits: Arc::new(limits::UserLimits::new(
                    config.user_rate,
                    config.long_polls_per_user,
                )),
                config: Arc::new(config),
                changes: sync::ChangeFeed::default(),
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
        let mut app = app.layer(CatchPanicLayer::custom(panic_response)).layer(
            axum::middleware::from_fn_with_state(
                self.state.config.request_timeout,
                within_deadline,
            ),
        );
        for (name, value) in SECURITY_HEADERS {
            app = app.layer(SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            ));
        }
        app.layer(TraceLayer::new_for_http())
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
        let limits = net::ConnectionLimits {
            max_connections: self.state.config.max_connections,
            header_read_timeout: self.state.config.header_read_timeout,
        };
        net::serve(listener, self.router(), limits, shutdown).await
    }
}

/// Answers `408 timed_out` for a request still unanswered after `limit` (its body trickling
/// in, or a handler stuck behind a busy database), so no request holds its resources for ever.
async fn within_deadline(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error::ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            kvits_protocol::ErrorCode::TimedOut,
            "the request took too long (its body came too slowly, or the server was busy); \
             send it again",
        )
        .into_response(),
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
