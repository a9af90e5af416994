//! `kvits-upload-conformance`: the conformance harness (see the library) over HTTP, for drivers
//! that do not run in Rust — the web shell's, in `web-shell/tests/conformance/`.
//!
//! It starts the sync server with the demo firm behind the fault proxy, listens on a free
//! loopback port and prints one line, `listening on http://127.0.0.1:PORT`, then serves until
//! it is killed or its standard input closes. Requests (JSON unless said otherwise):
//! - `GET /cases`: the case names, in order;
//! - `POST /cases/{name}/begin`: the case's `Plan`;
//! - `GET /photo`: the case's photo (bytes);
//! - `POST /runs/{n}/arm`: set run `n`'s faults up;
//! - `POST /runs/{n}/report` with a `Report`: check run `n`;
//! - `POST /end`: check the photo is stored and end the case.
//!
//! A check that fails answers 422 with the reasons as plain text.

use std::io::Read;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, body::Bytes};
use kvits_conformance::{Harness, Plan, Report, cases};
use tokio::sync::Mutex;

type Shared = Arc<Mutex<Harness>>;

/// A failed check or a request out of turn: 422 with the reasons.
struct Refusal(anyhow::Error);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (StatusCode::UNPROCESSABLE_ENTITY, format!("{:#}", self.0)).into_response()
    }
}

impl From<anyhow::Error> for Refusal {
    fn from(e: anyhow::Error) -> Refusal {
        Refusal(e)
    }
}

async fn names() -> Json<Vec<String>> {
    Json(cases().into_iter().map(|c| c.name).collect())
}

async fn begin(State(h): State<Shared>, Path(name): Path<String>) -> Result<Json<Plan>, Refusal> {
    Ok(Json(h.lock().await.begin(&name)?))
}

async fn photo(State(h): State<Shared>) -> Result<Bytes, Refusal> {
    Ok(Bytes::copy_from_slice(h.lock().await.photo()?))
}

async fn arm(State(h): State<Shared>, Path(run): Path<usize>) -> Result<StatusCode, Refusal> {
    h.lock().await.arm(run)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn report(
    State(h): State<Shared>,
    Path(run): Path<usize>,
    Json(report): Json<Report>,
) -> Result<StatusCode, Refusal> {
    h.lock().await.finish_run(run, &report).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn end(State(h): State<Shared>) -> Result<StatusCode, Refusal> {
    h.lock().await.end().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let harness = Harness::start().await?;
    let app = Router::new()
        .route("/cases", get(names))
        .route("/cases/{name}/begin", post(begin))
        .route("/photo", get(photo))
        .route("/runs/{run}/arm", post(arm))
        .route("/runs/{run}/report", post(report))
        .route("/end", post(end))
        .with_state(Arc::new(Mutex::new(harness)));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    // Ends when whoever started it closes our standard input (or kills us).
    let stdin_closed = async {
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = [0_u8; 64];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        })
        .await;
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stdin_closed)
        .await?;
    Ok(())
}
