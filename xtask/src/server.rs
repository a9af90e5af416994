//! A sync server with the demo firm, for the shell tests: on a free loopback port, with its data
//! in a fresh temporary directory, optionally serving a built web shell. It runs on its own
//! thread and stops when dropped.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use anyhow::{Context, anyhow};
use kvits_sync_server::{Config, Server, demo};
use tokio::sync::oneshot;

#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _data: tempfile::TempDir,
}

impl TestServer {
    /// Seeds the demo firm into a new data directory and serves it.
    pub fn start(web_dir: Option<PathBuf>) -> anyhow::Result<TestServer> {
        let data = tempfile::tempdir().context("creating the server's data directory")?;
        let mut config = Config::new(data.path().join("server"));
        config.web_dir = web_dir;
        let server = Server::open(config)?;
        server
            .state()
            .db
            .write_blocking(|c| demo::seed(c).map(|_| ()))
            .map_err(|e| anyhow!("seeding the demo: {}", e.message))?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::channel::<anyhow::Result<String>>();
        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                };
                let url = match listener.local_addr() {
                    Ok(addr) => format!("http://{addr}"),
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(url));
                let shutdown = async {
                    let _ = stop_rx.await;
                };
                if let Err(e) = server.serve(listener, shutdown).await {
                    eprintln!("test server stopped: {e:#}");
                }
            });
        });
        let url = ready_rx
            .recv()
            .context("the test server's thread ended before it listened")??;
        Ok(TestServer {
            url,
            stop: Some(stop_tx),
            thread: Some(thread),
            _data: data,
        })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
