//! `cargo xtask demo`: builds the web shell, then serves it with the sync server and the demo
//! accounting firm, in this process. `--api-only` skips the web build (no npm or wasm tools
//! needed) and serves the API alone, for the phone shells and scripts.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use kvits_sync_server::{Config, Server, demo};

/// Where the demo keeps its data unless told otherwise (git-ignored).
const DEFAULT_DATA_DIR: &str = ".artifacts/demo-data";
const DEFAULT_ADDR: &str = "127.0.0.1:8080";

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut addr: SocketAddr = DEFAULT_ADDR.parse()?;
    let mut data_dir = PathBuf::from(DEFAULT_DATA_DIR);
    let mut with_web = true;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--addr" => addr = value()?.parse().context("--addr takes HOST:PORT")?,
            "--data-dir" => data_dir = PathBuf::from(value()?),
            "--api-only" => with_web = false,
            other => bail!(
                "unknown argument {other}; usage: cargo xtask demo [--addr HOST:PORT] \
                 [--data-dir DIR] [--api-only]"
            ),
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let mut config = Config::new(&data_dir);
    if with_web {
        config.web_dir = Some(crate::web::build().context("building the web shell")?);
    }
    let server = Server::open(config)?;
    server
        .state()
        .db
        .write_blocking(|c| demo::seed(c).map(|_| ()))
        .map_err(|e| anyhow::anyhow!("seeding the demo: {}", e.message))?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "\nKvits demo: {} http://{addr}  (data in {})\n\
             sign in as anna@ (accountant), emma@ (employee), mark@ (approver), alice@, \
             clara@ (client, admin), otto@ or vera@demo.kvits, password \"demo\"; \
             API description: http://{addr}/v1/openapi.json\n\
             Ctrl-C stops it.\n",
            if with_web {
                "open in a browser:"
            } else {
                "the API (no web app) at"
            },
            data_dir.display()
        );
        server
            .serve(listener, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        anyhow::Ok(())
    })
}
