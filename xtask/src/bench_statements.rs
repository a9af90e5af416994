//! `cargo xtask bench statements [--quick]`: import a card statement of 10,000 payments and
//! match them against 10,000 receipts (`--quick`: 1,000 of each), through the real HTTP API.
//!
//! The real server runs in this process on 127.0.0.1:0 with the demo firm (as `bench sync`).
//! Emma's receipts (Birch Bakery, her Visa, submitted) are written straight into SQLite; nine
//! in ten have a payment in the statement (the same amount, a day earlier), the rest of the
//! payments have none. The statement is an ISO 20022 camt.053.001.08 file made here. Printed:
//! reading the file alone; the import (read, store every payment, tie it to its card,
//! reconcile the company's automatic matches) with its payments per second, how many were
//! matched, and the heap the server held at its peak above before; the same file again (all
//! duplicates); and a receipt pushed afterwards, which reconciles only its amount's payments.
//!
//! A figure printer, not a test: it fails only when the server answers wrongly.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use kvits_protocol::{
    CompanyId, DocumentType, Expense, ExpenseFields, ExpenseId, ExpenseStatus, FirmId, Money,
    StatementImportSummary, UserId,
};
use kvits_sync_server::error::ApiResult;
use rusqlite::Connection;

use crate::bench_sync::{
    Running, group, insert_expenses, ms, peak_rss_mb, print_peak_heap, run_sized,
};

const USAGE: &str = "usage: cargo xtask bench statements [--quick]";

/// Receipts written per transaction while seeding.
const CHUNK: u64 = 5_000;

pub fn run(args: &[String]) -> Result<()> {
    run_sized(args, USAGE, (10_000, 1_000), bench)
}

/// The `k`-th receipt's amount in cents: all different, so each pair is the only one.
fn amount(k: u64) -> i64 {
    1_000 + k as i64
}

/// The `k`-th receipt's day in November 2026.
fn day(k: u64) -> chrono::NaiveDate {
    let first = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default();
    first
        .checked_add_days(chrono::Days::new(k % 28))
        .unwrap_or(first)
}

/// A camt.053.001.08 statement of `n` payments on Emma's Visa: the `k`-th is the `k`-th
/// receipt's (a day earlier) when `k % 10 != 9`, else a payment with no receipt.
fn statement(n: u64, last_four: &str) -> String {
    let mut xml = String::with_capacity(n as usize * 900);
    xml.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document \
         xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt>\
         <GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-12-01T05:00:00+02:00</CreDtTm></GrpHdr>\
         <Stmt><Id>BENCH-2026-11</Id><CreDtTm>2026-12-01T05:00:00+02:00</CreDtTm>\
         <Acct><Id><IBAN>LV80BANK0000435195001</IBAN></Id><Ccy>EUR</Ccy></Acct>\n",
    );
    for k in 0..n {
        let cents = if k % 10 == 9 {
            amount(n + k)
        } else {
            amount(k)
        };
        let spent = day(k).pred_opt().unwrap_or_default();
        let _ = writeln!(
            xml,
            "<Ntry><Amt Ccy=\"EUR\">{}.{:02}</Amt><CdtDbtInd>DBIT</CdtDbtInd>\
             <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{}</Dt></BookgDt>\
             <AcctSvcrRef>BENCH-{k}</AcctSvcrRef><CardTx><Card><PlainCardData>\
             <PAN>516793******{last_four}</PAN></PlainCardData></Card></CardTx>\
             <NtryDtls><TxDtls><Amt Ccy=\"EUR\">{}.{:02}</Amt><CdtDbtInd>DBIT</CdtDbtInd>\
             <RltdPties><Cdtr><Pty><Nm>MERCHANT {}</Nm></Pty></Cdtr></RltdPties>\
             <RltdDts><TxDtTm>{spent}T12:00:00</TxDtTm></RltdDts></TxDtls></NtryDtls></Ntry>",
            cents / 100,
            cents % 100,
            day(k),
            cents / 100,
            cents % 100,
            k % 97
        );
    }
    xml.push_str("</Stmt></BkToCstmrStmt></Document>\n");
    xml
}

async fn bench(n: u64) -> Result<()> {
    let total = Instant::now();
    println!(
        "sync server in-process on 127.0.0.1, SQLite in a temp dir, {} CPU(s); {} card payments \
         against {} receipts",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        group(n),
        group(n)
    );
    let server = Running::start().await?;
    let birch = *server
        .demo
        .companies
        .get("Birch Bakery")
        .context("the demo has no Birch Bakery")?;
    let firm = server.demo.firm;
    let card = kvits_demo::BIRCH_VISA;

    let started = Instant::now();
    let mut offset = 0;
    while offset < n {
        let chunk = CHUNK.min(n - offset);
        server
            .write("seeding receipts", move |c| {
                insert_receipts(c, firm, birch, card.holder, offset, chunk)
            })
            .await?;
        offset += chunk;
    }
    println!(
        "seeded {} submitted receipts in {:.1} s",
        group(n),
        started.elapsed().as_secs_f64()
    );

    let file = statement(n, card.last_four);
    println!("statement: camt.053.001.08, {} MB", file.len() / 1_000_000);
    let start = Instant::now();
    let parsed = kvits_statements::parse(file.as_bytes(), &kvits_statements::Options::default())
        .map_err(|e| anyhow::anyhow!("the bench's statement does not read: {e}"))?;
    ensure!(
        parsed.lines.len() as u64 == n,
        "read {} lines",
        parsed.lines.len()
    );
    println!("reading the file alone: {} ms", ms(start.elapsed()).round());

    let anna = server.device("anna@demo.kvits").await?;
    let import = |body: String| {
        let anna = &anna;
        async move {
            let response = anna
                .http
                .post(format!("{}/v1/companies/{birch}/statements", anna.base))
                .bearer_auth(&anna.token)
                .body(body)
                .send()
                .await
                .context("importing")?;
            let status = response.status();
            let text = response.text().await.context("reading the answer")?;
            ensure!(status.as_u16() == 200, "import: {status}: {text}");
            serde_json::from_str::<StatementImportSummary>(&text).context("decoding the summary")
        }
    };
    let baseline = crate::ALLOC.current();
    crate::ALLOC.reset_peak();
    let rss_before = peak_rss_mb();
    let start = Instant::now();
    let first = import(file.clone()).await?;
    let took = start.elapsed();
    let peak_heap = crate::ALLOC.peak().saturating_sub(baseline);
    let expected = n - n / 10;
    ensure!(
        u64::from(first.new) == n && u64::from(first.matched) == expected,
        "imported {} new, matched {}; expected {n} and {expected}",
        first.new,
        first.matched
    );
    println!(
        "\nimport (read, store, tie to cards, reconcile {} payments x {} receipts): {:.2} s, \
         {:.0} payments/s; {} matched automatically",
        group(n),
        group(n),
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        group(u64::from(first.matched))
    );
    print_peak_heap("importing", peak_heap, rss_before);
    let start = Instant::now();
    let again = import(file).await?;
    ensure!(
        again.new == 0 && u64::from(again.duplicates) == n,
        "the second import made {} new",
        again.new
    );
    println!(
        "the same file again ({} duplicates): {} ms",
        group(u64::from(again.duplicates)),
        ms(start.elapsed()).round()
    );
    // A receipt captured afterwards, of the amount of a payment without one: its push
    // reconciles the payments and receipts of that amount only.
    let mut emma = server.device("emma@demo.kvits").await?;
    let k = 9;
    let create = kvits_protocol::Mutation::CreateExpense {
        expense_id: ExpenseId(uuid::Uuid::now_v7()),
        company_id: birch,
        document_type: DocumentType::Receipt,
        fields: ExpenseFields {
            payment_method_id: Some(card.id),
            amount: Some(Money {
                amount_minor: amount(n + k),
                currency: "EUR".into(),
            }),
            date: Some(day(k)),
            ..ExpenseFields::default()
        },
    };
    let start = Instant::now();
    emma.push(vec![create]).await?;
    println!(
        "a receipt pushed afterwards (reconciles its amount's payments): {} ms",
        ms(start.elapsed()).round()
    );
    server.stop().await?;
    println!("\nwhole run: {:.1} s", total.elapsed().as_secs_f64());
    Ok(())
}

/// Writes `n` of Emma's submitted receipts on her Visa, from the `offset`-th on.
fn insert_receipts(
    c: &mut Connection,
    firm: FirmId,
    company: CompanyId,
    emma: UserId,
    offset: u64,
    n: u64,
) -> ApiResult<()> {
    let now = kvits_sync_server::now();
    insert_expenses(c, firm, n, |i| {
        let k = offset + i;
        Expense {
            id: ExpenseId(uuid::Uuid::now_v7()),
            company_id: company,
            created_by: emma,
            created_by_name: "Emma Employee".into(),
            document_type: DocumentType::Receipt,
            fields: ExpenseFields {
                payment_method_id: Some(kvits_demo::BIRCH_VISA.id),
                amount: Some(Money {
                    amount_minor: amount(k),
                    currency: "EUR".into(),
                }),
                date: Some(day(k)),
                merchant: Some(format!("Merchant {}", k % 97)),
                ..ExpenseFields::default()
            },
            pages: Vec::new(),
            status: ExpenseStatus::Submitted,
            revision: 2,
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
