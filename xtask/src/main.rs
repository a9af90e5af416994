//! `cargo xtask` — the single entry point for Kvits' developer tasks.

mod bench;
mod bench_abuse;
mod bench_core;
mod bench_desk;
mod bench_export;
mod bench_statements;
mod bench_sync;
mod bindings;
mod compress;
mod demo;
mod kotlin;
mod server;
mod swift;
mod test;
mod tools;
mod web;

use std::process::ExitCode;

/// Counts heap bytes, so `bench imaging` can report the pipeline's peak memory.
#[global_allocator]
static ALLOC: kvits_testkit::alloc::PeakAlloc = kvits_testkit::alloc::PeakAlloc::new();

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  compress IN OUT [--color] [--long]   run the receipt photo pipeline on one file
  demo [--addr HOST:PORT] [--data-dir DIR] [--api-only]
                                       serve the demo firm (default 127.0.0.1:8080,
                                       data in .artifacts/demo-data)
  bench imaging                        pipeline figures vs ImageMagick, vips, libjpeg-turbo
  bench sync [--quick]                 push mutations/s; pull latency at 10^3/10^5/10^6 rows
  bench core                           µs per update+view round trip through the Crux bridge
  bench desk [--quick]                 first clients overview and first sync at 300 clients / 200,000 documents
  bench export [--quick]               one export batch of 5,000 documents with 2 pages (time, heap)
  bench statements [--quick]           import 10,000 card payments against 10,000 receipts (time, heap)
  bench abuse                          1,000 idle connections + 500 wrong sign-ins: server memory, latencies
  bindings [--out DIR]                 Swift/Kotlin glue (UniFFI) and core types for the shells
  web build|test                       build the web shell (wasm core, types, Vite) / run its
                                       unit tests and browser tests in Chromium
  swift test                           the iOS package's tests on Linux (Debian trixie chroot)
  swift sources                        copy the generated Swift sources into ios/KvitsKit (Xcode)
  kotlin test                          the Android core module's tests on the JVM
  kotlin bindings --out DIR            the Kotlin glue and types (what Gradle runs)
  test [STEP]                          every check CI runs (fmt, builds linted by clippy-driver,
                                       codegen, tests); through ./dev test, which sets the lint
                                       wrapper; with STEP, only the steps whose name has it
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("compress") => compress::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("demo") => demo::run(&args[1..]),
        Some("bindings") => bindings::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("web") => web::run(&args[1..]),
        Some("swift") => swift::run(&args[1..]),
        Some("kotlin") => kotlin::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
