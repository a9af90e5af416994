//! `cargo xtask bench export [--quick]`: one export batch of 5,000 reviewed documents with two
//! photographed pages each (`--quick`: 500), through the real HTTP API.
//!
//! The real server runs in this process on 127.0.0.1:0 with the demo firm (as `bench sync`).
//! The photos are the real receipt scans of the fixtures, stored once each in the blob store;
//! the documents (Birch Bakery, dated in one month, reviewed) are written straight into
//! SQLite. Then Anna makes the batch (`POST /v1/companies/{id}/exports`: every document locked,
//! its PDF rendered with its photos, the ZIP written, every document marked exported) and
//! downloads it. Printed: the time to make the batch, its size, documents per second, the
//! download's time, and the heap the server held at its peak while making it (this process's
//! allocator, above what it held before) — the batch is written one document at a time, so
//! the peak must not grow with the number of documents.
//!
//! A figure printer, not a test: it fails only when the server answers wrongly.

use std::time::Instant;

use anyhow::{Context, Result, ensure};
use kvits_protocol::{
    CompanyId, DocumentType, Expense, ExpenseFields, ExpenseId, ExpenseStatus, ExportBatch, FirmId,
    Money, ReceiptPage, UserId,
};
use kvits_sync_server::error::ApiResult;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

use crate::bench_sync::{
    Running, group, insert_expenses, ms, peak_rss_mb, print_peak_heap, run_sized,
};

const USAGE: &str = "usage: cargo xtask bench export [--quick]";

/// Documents written per transaction while seeding.
const CHUNK: u64 = 5_000;

pub fn run(args: &[String]) -> Result<()> {
    run_sized(args, USAGE, (5_000, 500), bench)
}

async fn bench(documents: u64) -> Result<()> {
    let total = Instant::now();
    println!(
        "sync server in-process on 127.0.0.1, SQLite and blobs in a temp dir, {} CPU(s); one \
         batch of {} documents with 2 pages each",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        group(documents)
    );
    let server = Running::start().await?;
    let birch = *server
        .demo
        .companies
        .get("Birch Bakery")
        .context("the demo has no Birch Bakery")?;
    let firm = server.demo.firm;

    // The photos: every real scan of the fixtures, stored once.
    let scans = kvits_testkit::receipts("scans");
    ensure!(scans.len() >= 2, "need two receipt scans in the fixtures");
    let mut pages = Vec::new();
    for scan in &scans {
        let bytes = scan.bytes();
        let info = kvits_imaging::probe(&bytes).context("a fixture scan is no image")?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        server
            .server
            .state()
            .blobs
            .put_blob(firm, &sha256, bytes.clone().into())
            .await
            .context("storing a photo")?;
        pages.push(ReceiptPage {
            sha256,
            size: bytes.len() as u64,
            content_type: "image/jpeg".into(),
            width: info.width,
            height: info.height,
        });
    }
    let photo_bytes: u64 = pages.iter().map(|p| p.size).sum::<u64>() / pages.len() as u64;
    println!(
        "{} distinct photos, {} bytes each on average",
        pages.len(),
        group(photo_bytes)
    );

    let started = Instant::now();
    let emma = kvits_demo::EMMA.id;
    let mut offset = 0;
    while offset < documents {
        let n = CHUNK.min(documents - offset);
        let pages = pages.clone();
        server
            .write("seeding documents", move |c| {
                insert_reviewed(c, firm, birch, emma, &pages, offset, n)
            })
            .await?;
        offset += n;
    }
    println!(
        "seeded {} reviewed documents in {:.1} s",
        group(documents),
        started.elapsed().as_secs_f64()
    );

    let anna = server.device("anna@demo.kvits").await?;
    let baseline = crate::ALLOC.current();
    crate::ALLOC.reset_peak();
    let rss_before = peak_rss_mb();
    let start = Instant::now();
    let response = anna
        .http
        .post(format!("{}/v1/companies/{birch}/exports", anna.base))
        .bearer_auth(&anna.token)
        .json(&serde_json::json!({"from": "2026-11-01", "to": "2026-11-30"}))
        .send()
        .await
        .context("asking for the batch")?;
    let status = response.status();
    let body = response.text().await.context("reading the answer")?;
    let took = start.elapsed();
    let peak_heap = crate::ALLOC.peak().saturating_sub(baseline);
    ensure!(status.as_u16() == 201, "export: {status}: {body}");
    let batch: ExportBatch = serde_json::from_str(&body).context("decoding the batch")?;
    ensure!(
        u64::from(batch.documents) == documents,
        "the batch holds {} documents, not {documents}",
        batch.documents
    );
    let bytes = batch.bytes.unwrap_or(0);
    println!(
        "\nexport (lock, {} PDFs with {} pages, ZIP, mark exported): {:.1} s, {:.0} documents/s; \
         ZIP {} MB",
        group(documents),
        group(documents * 2),
        took.as_secs_f64(),
        documents as f64 / took.as_secs_f64(),
        bytes / 1_000_000
    );
    print_peak_heap("exporting", peak_heap, rss_before);

    // The download, streamed and hashed as it comes (the ZIP does not fit in memory).
    let start = Instant::now();
    let mut response = anna
        .http
        .get(format!("{}/v1/exports/{}/file", anna.base, batch.id))
        .bearer_auth(&anna.token)
        .send()
        .await
        .context("downloading")?;
    let mut hasher = Sha256::new();
    let mut got = 0u64;
    while let Some(chunk) = response.chunk().await.context("reading the download")? {
        got += chunk.len() as u64;
        hasher.update(&chunk);
    }
    ensure!(got == bytes, "downloaded {got} bytes of {bytes}");
    ensure!(
        Some(hex::encode(hasher.finalize())) == batch.sha256,
        "the download's SHA-256 differs from the batch's"
    );
    println!(
        "download: {} ms for {} MB",
        ms(start.elapsed()).round(),
        bytes / 1_000_000
    );
    server.stop().await?;
    println!("\nwhole run: {:.1} s", total.elapsed().as_secs_f64());
    Ok(())
}

/// Writes `n` reviewed documents of `company`, dated in November 2026, with two of `pages`
/// each, in one transaction.
fn insert_reviewed(
    c: &mut Connection,
    firm: FirmId,
    company: CompanyId,
    emma: UserId,
    pages: &[ReceiptPage],
    offset: u64,
    n: u64,
) -> ApiResult<()> {
    let now = kvits_sync_server::now();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1);
    insert_expenses(c, firm, n, |i| {
        let k = offset + i;
        let page = |j: u64| pages[((2 * k + j) % pages.len() as u64) as usize].clone();
        Expense {
            id: ExpenseId(uuid::Uuid::now_v7()),
            company_id: company,
            created_by: emma,
            created_by_name: "Emma Employee".into(),
            document_type: DocumentType::Receipt,
            fields: ExpenseFields {
                amount: Some(Money {
                    amount_minor: 150 + (k.wrapping_mul(7919) % 49_850) as i64,
                    currency: "EUR".into(),
                }),
                date: day.and_then(|d| d.checked_add_days(chrono::Days::new(k % 30))),
                merchant: Some(format!("Merchant {}", k % 97)),
                ..ExpenseFields::default()
            },
            pages: vec![page(0), page(1)],
            status: ExpenseStatus::Reviewed,
            revision: 4,
            approval: None,
            decisions: Vec::new(),
            created_at: now,
            updated_at: now,
            submitted_at: Some(now),
            history: Vec::new(),
            export: None,
        }
    })
    .map(|_| ())
}
