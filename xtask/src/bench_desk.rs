//! `cargo xtask bench desk [--quick]`: the accountant's desk at a real firm's size — 300 client
//! companies with 200,000 documents between them (`--quick`: 30 and 20,000).
//!
//! The real server runs in this process on 127.0.0.1:0 with the demo firm (as `bench sync`);
//! the extra companies are made with the same function the API uses, the documents are written
//! straight into SQLite in every status a document goes through, spread over the companies
//! unevenly (a few big clients, many small ones). Then, as the firm admin on a new install:
//! - the first overview: sign-in plus `GET /v1/clients`, timed over several runs, and the
//!   overview's size;
//! - the first sync of a new install: every pull page from cursor 0 — its time and the bytes
//!   pulled, for the firm admin (every client) and for an accountant assigned to two; then the
//!   same after the install opened the biggest client (whose documents it then holds).
//!
//! A figure printer, not a test: it fails only when the server answers wrongly.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kvits_protocol::{
    ClientsOverview, CompanyDetails, CompanyId, DocumentType, Expense, ExpenseFields, ExpenseId,
    ExpenseStatus, FirmId, MAX_PULL_LIMIT, PullQuery, PullResponse, UserId,
};
use kvits_sync_server::admin;
use kvits_sync_server::error::ApiResult;
use rusqlite::Connection;

use crate::bench_sync::{
    Device, Running, group, insert_expenses, ms, peak_rss_mb, percentile, vary,
};

const USAGE: &str = "usage: cargo xtask bench desk [--quick]";

/// A firm's size.
#[derive(Debug)]
struct Plan {
    companies: u64,
    documents: u64,
    /// Timed first overviews.
    overviews: usize,
}

const FULL: Plan = Plan {
    companies: 300,
    documents: 200_000,
    overviews: 10,
};

const QUICK: Plan = Plan {
    companies: 30,
    documents: 20_000,
    overviews: 5,
};

/// Documents written per transaction.
const CHUNK: u64 = 20_000;

pub fn run(args: &[String]) -> Result<()> {
    let mut quick = false;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            other => bail!("unknown argument {other}; {USAGE}"),
        }
    }
    let plan = if quick { &QUICK } else { &FULL };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(bench(plan))
}

async fn bench(plan: &Plan) -> Result<()> {
    let total = Instant::now();
    println!(
        "sync server in-process on 127.0.0.1, SQLite in a temp dir, {} CPU(s); a firm of {} \
         clients with {} documents",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        plan.companies,
        group(plan.documents)
    );
    let server = Running::start().await?;
    let started = Instant::now();
    let companies = seed(&server, plan).await?;
    println!(
        "seeded {} companies and {} documents in {:.1} s",
        companies.len(),
        group(plan.documents),
        started.elapsed().as_secs_f64()
    );

    // The first overview on a new browser: sign in, then the counters.
    let mut times = Vec::new();
    let mut size = 0;
    let mut clients = 0;
    for _ in 0..plan.overviews {
        let start = Instant::now();
        let paula = server.device("paula@demo.kvits").await?;
        let (bytes, overview) = overview(&paula).await?;
        times.push(start.elapsed());
        size = bytes;
        clients = overview.clients.len();
        let documents: u64 = overview
            .clients
            .iter()
            .map(|c| {
                u64::from(c.to_review)
                    + u64::from(c.waiting_for_approval)
                    + u64::from(c.returned)
                    + u64::from(c.ready_for_export)
            })
            .sum();
        ensure!(documents > 0, "the overview counted no documents");
    }
    println!(
        "\nfirst overview (sign-in + GET /v1/clients), {} runs: median {:.0} ms, p90 {:.0} ms; \
         {} clients in {} bytes",
        times.len(),
        ms(percentile(&times, 50)),
        ms(percentile(&times, 90)),
        clients,
        group(size as u64)
    );

    // What a new install pulls: every client's company row, catalog and conversations, no
    // documents; then the documents of the client it opens (the biggest one here).
    let biggest = companies[0];
    for (who, email) in [
        ("firm admin (every client)", "paula@demo.kvits"),
        ("accountant (2 clients)", "anna@demo.kvits"),
    ] {
        let device = server.device(email).await?;
        let (took, pages, rows, bytes) = first_sync(&device).await?;
        println!(
            "first sync, {who}: {} rows in {pages} pages, {} bytes, {:.1} s",
            group(rows),
            group(bytes),
            took.as_secs_f64()
        );
        open(&device, biggest).await?;
        let (took, pages, rows, bytes) = first_sync(&device).await?;
        println!(
            "  after opening one client: {} rows in {pages} pages, {} bytes, {:.1} s",
            group(rows),
            group(bytes),
            took.as_secs_f64()
        );
    }
    server.stop().await?;
    println!(
        "\nwhole run: {:.1} s{}",
        total.elapsed().as_secs_f64(),
        peak_rss_mb().map_or(String::new(), |mb| format!(
            ", peak RSS of this process {mb:.0} MB"
        ))
    );
    Ok(())
}

/// Makes the firm's other companies and fills every company with documents; answers the
/// companies.
async fn seed(server: &Running, plan: &Plan) -> Result<Vec<CompanyId>> {
    let firm = server.demo.firm;
    let existing: Vec<CompanyId> = server.demo.companies.values().copied().collect();
    let more = plan.companies.saturating_sub(existing.len() as u64);
    let mut companies = existing;
    let made = server
        .write("making the client companies", move |c| {
            let tx = c.transaction()?;
            let mut ids = Vec::new();
            for i in 0..more {
                let details = CompanyDetails {
                    country: Some(["LV", "EE", "LT", "PL", "SE"][(i % 5) as usize].to_owned()),
                    ..CompanyDetails::named(format!("Client {:03} SIA", i + 1))
                };
                ids.push(admin::create_company(&tx, firm, &details)?);
            }
            tx.commit()?;
            Ok(ids)
        })
        .await?;
    companies.extend(made);
    let emma = server
        .demo
        .users
        .get("emma@demo.kvits")
        .copied()
        .context("the demo has no Emma")?;
    let mut done = 0;
    while done < plan.documents {
        let n = CHUNK.min(plan.documents - done);
        let ids = companies.clone();
        let offset = done;
        let last = server
            .write("writing documents", move |c| {
                insert_documents(c, firm, emma, &ids, offset, n)
            })
            .await?;
        server.server.state().changes.notify(firm, last);
        done += n;
    }
    Ok(companies)
}

/// The company of the `k`-th document: a fifth of the documents in the first tenth of the
/// companies, the rest spread evenly.
fn company_of(companies: &[CompanyId], k: u64) -> CompanyId {
    let n = companies.len() as u64;
    let big = (n / 10).max(1);
    let index = if k.is_multiple_of(5) {
        (k / 5) % big
    } else {
        k % n
    };
    companies[index as usize]
}

/// The status of the `k`-th document: most are done (reviewed), some wait at each step.
fn status_of(k: u64) -> ExpenseStatus {
    match k % 20 {
        0 => ExpenseStatus::Draft,
        1 | 2 => ExpenseStatus::Submitted,
        3..=5 => ExpenseStatus::Approved,
        6 => ExpenseStatus::Returned,
        7 => ExpenseStatus::Rejected,
        _ => ExpenseStatus::Reviewed,
    }
}

/// Writes `n` documents in one transaction; answers the firm's change counter afterwards.
fn insert_documents(
    c: &mut Connection,
    firm: FirmId,
    emma: UserId,
    companies: &[CompanyId],
    offset: u64,
    n: u64,
) -> ApiResult<u64> {
    let now = kvits_sync_server::now();
    let mut template = Expense {
        id: ExpenseId(uuid::Uuid::nil()),
        company_id: companies[0],
        created_by: emma,
        created_by_name: "Emma Employee".into(),
        document_type: DocumentType::Receipt,
        fields: ExpenseFields::default(),
        pages: Vec::new(),
        status: ExpenseStatus::Draft,
        revision: 3,
        approval: None,
        decisions: Vec::new(),
        created_at: now,
        updated_at: now,
        submitted_at: Some(now),
        history: Vec::new(),
        export: None,
    };
    insert_expenses(c, firm, n, |i| {
        let k = offset + i;
        vary(&mut template, ExpenseId(uuid::Uuid::now_v7()), k);
        template.company_id = company_of(companies, k);
        template.status = status_of(k);
        template.clone()
    })
}

/// `GET /v1/clients`: the answer's size and the overview.
async fn overview(d: &Device) -> Result<(usize, ClientsOverview)> {
    let response = d
        .http
        .get(format!("{}/v1/clients", d.base))
        .bearer_auth(&d.token)
        .send()
        .await
        .context("overview request")?;
    let status = response.status();
    let body = response.bytes().await.context("reading the overview")?;
    ensure!(
        status.is_success(),
        "overview: {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok((
        body.len(),
        serde_json::from_slice(&body).context("decoding the overview")?,
    ))
}

/// `POST /v1/sync/open`: the install opens `company`.
async fn open(d: &Device, company: CompanyId) -> Result<()> {
    let response = d
        .http
        .post(format!("{}/v1/sync/open", d.base))
        .bearer_auth(&d.token)
        .json(&kvits_protocol::OpenCompanyRequest {
            client_id: d.client,
            company_id: company,
        })
        .send()
        .await
        .context("open request")?;
    ensure!(
        response.status().is_success(),
        "open: {}",
        response.status()
    );
    Ok(())
}

/// Every pull page from cursor 0: the time, pages, rows and bytes.
async fn first_sync(d: &Device) -> Result<(Duration, usize, u64, u64)> {
    let start = Instant::now();
    let (mut cursor, mut pages, mut rows, mut bytes) = (0, 0, 0u64, 0u64);
    loop {
        let query = PullQuery {
            client_id: d.client,
            cursor,
            results_after: None,
            wait: None,
            limit: Some(MAX_PULL_LIMIT),
        };
        let response = d
            .http
            .get(format!("{}/v1/sync/pull", d.base))
            .bearer_auth(&d.token)
            .query(&query)
            .send()
            .await
            .context("pull request")?;
        let status = response.status();
        let body = response.bytes().await.context("reading the pull")?;
        ensure!(status.is_success(), "pull: {status}");
        let page: PullResponse = serde_json::from_slice(&body).context("decoding the pull")?;
        pages += 1;
        rows += page.changes.len() as u64;
        bytes += body.len() as u64;
        cursor = page.cursor;
        if !page.has_more {
            return Ok((start.elapsed(), pages, rows, bytes));
        }
    }
}
