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

/// What `cargo xtask demo` was asked for.
#[derive(Debug, PartialEq)]
struct Args {
    addr: SocketAddr,
    data_dir: PathBuf,
    with_web: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
    let mut parsed = Args {
        addr: DEFAULT_ADDR.parse()?,
        data_dir: PathBuf::from(DEFAULT_DATA_DIR),
        with_web: true,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--addr" => parsed.addr = value()?.parse().context("--addr takes HOST:PORT")?,
            "--data-dir" => parsed.data_dir = PathBuf::from(value()?),
            "--api-only" => parsed.with_web = false,
            other => bail!(
                "unknown argument {other}; usage: cargo xtask demo [--addr HOST:PORT] \
                 [--data-dir DIR] [--api-only]"
            ),
        }
    }
    Ok(parsed)
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let Args {
        addr,
        data_dir,
        with_web,
    } = parse(args)?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let mut config = Config::new(&data_dir);
    if with_web {
        config.web_dir = Some(
            crate::web::build(crate::web::Codegen::CoreOnly).context("building the web shell")?,
        );
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
             clara@ (client, admin), otto@ or vera@{}, password \"{}\"; \
             API description: http://{addr}/v1/openapi.json\n\
             Ctrl-C stops it.\n",
            if with_web {
                "open in a browser:"
            } else {
                "the API (no web app) at"
            },
            data_dir.display(),
            kvits_demo::EMAIL_DOMAIN,
            kvits_demo::PASSWORD,
        );
        server
            .serve(listener, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        anyhow::Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn defaults_are_the_readme_s() {
        let parsed = parse(&[]).expect("no arguments");
        assert_eq!(parsed.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(parsed.data_dir, PathBuf::from(".artifacts/demo-data"));
        assert!(parsed.with_web);
    }

    #[test]
    fn each_flag_sets_its_field() {
        let parsed = parse(&args(&[
            "--data-dir",
            "/tmp/kvits demo",
            "--api-only",
            "--addr",
            "0.0.0.0:9000",
        ]))
        .expect("valid");
        assert_eq!(
            parsed,
            Args {
                addr: "0.0.0.0:9000".parse().expect("addr"),
                data_dir: PathBuf::from("/tmp/kvits demo"),
                with_web: false,
            }
        );
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        for (list, says) in [
            (&["--addr"][..], "--addr needs a value"),
            (&["--data-dir"][..], "--data-dir needs a value"),
            (&["--addr", "localhost"][..], "--addr takes HOST:PORT"),
            (&["--port", "80"][..], "unknown argument --port"),
        ] {
            let e = parse(&args(list)).expect_err("refused");
            assert!(format!("{e:#}").contains(says), "{list:?}: {e:#}");
        }
    }
}
