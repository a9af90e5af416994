//! Card statements through the HTTP API and the CLI: Birch's November statement is imported
//! once (again: only duplicates), each card's payments reach its holder, receipts are matched
//! when exactly one fits (at the import, or when the receipt arrives later), an unknown card
//! is listed until the firm assigns it, the card report and the clients overview count what
//! is missing, and a bad file stores nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Device, TestServer, applied};
use kvits_protocol::{
    CardReceipt, CardReport, CardTransaction, ChangeOp, ClientsOverview, CompanyId, Entity,
    ExpenseId, Mutation, PaymentKind, PaymentMethod, PaymentMethodId, StatementImport,
    StatementImportSummary,
};

const BIRCH: CompanyId = CompanyId(kvits_demo::BIRCH.id.0);

fn statement() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/statements/birch-2026-11.camt053.xml"),
    )
    .unwrap()
}

async fn import(srv: &TestServer, d: &Device, body: Vec<u8>, query: &str) -> reqwest::Response {
    srv.http
        .post(srv.url(&format!("/v1/companies/{BIRCH}/statements{query}")))
        .bearer_auth(&d.token)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn imported(srv: &TestServer, d: &Device) -> StatementImportSummary {
    let r = import(srv, d, statement(), "?file_name=birch-november.xml").await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Birch's card report as `d` gets it (`query`: the period, or empty).
async fn card_report(d: &Device, query: &str) -> CardReport {
    d.get(&format!("/v1/companies/{BIRCH}/card-report{query}"))
        .await
        .json()
        .await
        .unwrap()
}

/// The card payments `d` holds after pulling everything.
async fn payments(d: &mut Device) -> Vec<CardTransaction> {
    // The firm's staff hold a client's documents once they opened it; members always do.
    let _ = d.try_open(BIRCH).await;
    d.cursor = 0;
    let mut out: Vec<CardTransaction> = Vec::new();
    for change in d.pull_all().await {
        if let ChangeOp::Upsert { entity } = change.op
            && let Entity::CardTransaction(t) = *entity
        {
            out.retain(|x| x.id != t.id);
            out.push(t);
        }
    }
    out.sort_by_key(|t| (t.spent_on, t.id));
    out
}

/// Emma's submitted receipt of `cents` at `merchant` on November `day`, with photo `photo`.
async fn emma_receipt(
    srv: &TestServer,
    emma: &mut Device,
    cents: i64,
    merchant: &str,
    day: u32,
    photo: usize,
) -> ExpenseId {
    let fields = common::birch_meal(cents, merchant, day);
    common::submitted_receipt(srv, emma, BIRCH, fields, photo)
        .await
        .0
}

fn missing(list: &[CardTransaction]) -> Vec<&str> {
    list.iter()
        .filter(|t| t.is_missing())
        .map(|t| t.merchant.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_is_imported_once_and_each_card_reaches_its_holder() {
    let srv = TestServer::start().await;
    let mut emma = srv.device("emma@demo.kvits").await;
    let mut mark = srv.device("mark@demo.kvits").await;
    let anna = srv.device("anna@demo.kvits").await;
    let circle_k = emma_receipt(&srv, &mut emma, 1_250, "Circle K", 3, 0).await;

    let first = imported(&srv, &anna).await;
    assert_eq!(first.format, kvits_protocol::StatementFormat::Camt053);
    assert_eq!(
        (
            first.transactions,
            first.new,
            first.duplicates,
            first.matched
        ),
        (7, 7, 0, 1),
        "six payments and a refund on cards; the top-up names no card"
    );
    assert_eq!(first.unknown_cards, vec!["516793******9999".to_string()]);
    // The same file again: nothing new, nothing listed twice.
    let again = imported(&srv, &anna).await;
    assert_eq!(
        (
            again.transactions,
            again.new,
            again.duplicates,
            again.matched
        ),
        (7, 0, 7, 0)
    );
    assert_eq!(again.statement_id, None);
    let list: Vec<StatementImport> = anna
        .get(&format!("/v1/companies/{BIRCH}/statements"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].file_name, "birch-november.xml");
    assert_eq!(list[0].new, 7);

    // Emma holds the Visa: its four payments and the refund; the first has her receipt.
    let hers = payments(&mut emma).await;
    assert_eq!(hers.len(), 5, "{hers:#?}");
    assert!(hers.iter().all(|t| t.holder_id == Some(emma.user)));
    assert_eq!(
        missing(&hers),
        [
            "NARVESEN RIGA",
            "LIDO ATPUTAS CENTRS",
            "RIGAS SATIKSME PARKING"
        ]
    );
    let matched = hers
        .iter()
        .find(|t| t.merchant == "CIRCLE K LATVIA")
        .unwrap();
    assert!(matches!(
        matched.receipt,
        CardReceipt::Matched { expense_id, by: None, .. } if expense_id == circle_k
    ));
    assert_eq!(
        matched.spent_on.to_string(),
        "2026-11-03",
        "the card's day, not the booking's"
    );
    // Mark holds the Mastercard; the unknown card's payment is nobody's yet.
    let his = payments(&mut mark).await;
    assert_eq!(missing(&his), ["CIRCLE K 0231"]);

    // The firm's view: the report per card, and the overview's counter.
    let report = card_report(&anna, "?from=2026-11-01&to=2026-11-30").await;
    let row = |card: &str| report.cards.iter().find(|r| r.card.contains(card)).unwrap();
    assert_eq!(
        (
            row("4821").transactions,
            row("4821").matched,
            row("4821").missing
        ),
        (4, 1, 3)
    );
    assert_eq!(row("4821").holder_name.as_deref(), Some("Emma Employee"));
    assert_eq!(row("7302").missing, 1);
    assert_eq!(row("9999").payment_method_id, None);
    assert_eq!(report.missing.len(), 5);
    let overview: ClientsOverview = anna.get("/v1/clients").await.json().await.unwrap();
    let birch = overview
        .clients
        .iter()
        .find(|c| c.company_id == BIRCH)
        .unwrap();
    assert_eq!(birch.missing_receipts, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_sent_after_the_import_is_matched_and_the_holder_declares_the_rest() {
    let srv = TestServer::start().await;
    let mut emma = srv.device("emma@demo.kvits").await;
    let mut anna = srv.device("anna@demo.kvits").await;
    imported(&srv, &anna).await;
    // The Lido receipt arrives later: it is the only 23.40 of its day.
    let lido = emma_receipt(&srv, &mut emma, 2_340, "Lido", 12, 1).await;
    let hers = payments(&mut emma).await;
    let t = hers
        .iter()
        .find(|t| t.merchant.starts_with("LIDO"))
        .unwrap();
    assert_eq!(t.matched_expense(), Some(lido));
    // Two receipts of 4.80 the same day: Kvits does not guess.
    emma_receipt(&srv, &mut emma, 480, "Narvesen", 5, 2).await;
    emma_receipt(&srv, &mut emma, 480, "Narvesen", 5, 3).await;
    let hers = payments(&mut emma).await;
    let narvesen = hers
        .iter()
        .find(|t| t.merchant == "NARVESEN RIGA" && t.is_payment())
        .unwrap();
    assert!(narvesen.is_missing());
    // Emma declares the parking lost; Anna accepts it.
    let parking = hers
        .iter()
        .find(|t| t.merchant.contains("PARKING"))
        .unwrap()
        .id;
    applied(
        &mut emma,
        Mutation::DeclareNoReceipt {
            transaction_id: parking,
            reason: kvits_protocol::NoReceiptReason::NoneIssued,
            note: Some("parking machine".into()),
        },
    )
    .await;
    applied(
        &mut anna,
        Mutation::AcceptNoReceipt {
            transaction_id: parking,
        },
    )
    .await;
    let report = card_report(&anna, "").await;
    let visa = report
        .cards
        .iter()
        .find(|r| r.card.contains("4821"))
        .unwrap();
    assert_eq!((visa.matched, visa.missing, visa.declared), (1, 2, 1));
    assert!(
        report.declared.is_empty(),
        "accepted: nothing waits for the firm"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_card_is_assigned_by_saving_a_card() {
    let srv = TestServer::start().await;
    let mut anna = srv.device("anna@demo.kvits").await;
    let mut mark = srv.device("mark@demo.kvits").await;
    imported(&srv, &anna).await;
    let card = PaymentMethod {
        id: PaymentMethodId(uuid::Uuid::now_v7()),
        company_id: BIRCH,
        payment_kind: PaymentKind::CompanyCard,
        label: "Visa Online".into(),
        last_four: Some("9999".into()),
        holder_id: Some(mark.user),
        active: true,
        statement_ref: None,
    };
    applied(&mut anna, Mutation::PutPaymentMethod(card.clone())).await;
    let his = payments(&mut mark).await;
    let amazon = his
        .iter()
        .find(|t| t.merchant.starts_with("AMAZON"))
        .unwrap();
    assert_eq!(amazon.payment_method_id, Some(card.id));
    assert!(amazon.is_missing());
    let report = card_report(&anna, "").await;
    let row = report
        .cards
        .iter()
        .find(|r| r.card.contains("9999"))
        .unwrap();
    assert_eq!(row.card, "Visa Online ·9999");
    assert_eq!(row.holder_name.as_deref(), Some("Mark Manager"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_statement_is_refused_and_stores_nothing() {
    let srv = TestServer::start().await;
    let mut anna = srv.device("anna@demo.kvits").await;
    let good = String::from_utf8(statement()).unwrap();
    let truncated = good.as_bytes()[..good.len() / 2].to_vec();
    let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&lol2;</Document>"#
        .to_vec();
    let unknown_version = good
        .replace("camt.053.001.08", "camt.053.001.13")
        .into_bytes();
    let latin1 = {
        let mut b = good.replace("LIDO ATPUTAS", "LIDO ATPŪTAS").into_bytes();
        let at = b.windows(2).position(|w| w == "Ū".as_bytes()).unwrap();
        b.splice(at..at + 2, [0xDB]);
        b
    };
    for (what, body, query) in [
        ("truncated", truncated, ""),
        ("entity bomb", bomb, ""),
        ("unknown version", unknown_version, ""),
        ("not UTF-8", latin1, ""),
        ("not a statement", b"hello, world".to_vec(), ""),
        (
            "CSV without a profile",
            b"a;b;c\n1;2;3\n".to_vec(),
            "?format=csv",
        ),
        (
            "unknown profile",
            b"a;b;c\n".to_vec(),
            "?format=csv&profile=Nobank",
        ),
    ] {
        let r = import(&srv, &anna, body, query).await;
        assert_eq!(r.status(), 400, "{what}");
        let e: kvits_protocol::ErrorBody = r.json().await.unwrap();
        assert!(!e.message.is_empty(), "{what}");
    }
    // Over the JSON limit but a statement's size: read (here: refused as no statement).
    let big = vec![b' '; 3 * 1024 * 1024];
    assert_eq!(import(&srv, &anna, big, "").await.status(), 400);
    let huge = vec![b' '; kvits_statements::MAX_STATEMENT_BYTES + 1];
    let r = import(&srv, &anna, huge, "").await;
    assert_eq!(r.status(), 413);
    let e: kvits_protocol::ErrorBody = r.json().await.unwrap();
    assert!(e.message.contains("20 MB"), "{}", e.message);
    assert!(payments(&mut anna).await.is_empty());
    let list: Vec<StatementImport> = anna
        .get(&format!("/v1/companies/{BIRCH}/statements"))
        .await
        .json()
        .await
        .unwrap();
    assert!(list.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_company_admins_and_the_firm_import_statements() {
    let srv = TestServer::start().await;
    let emma = srv.device("emma@demo.kvits").await;
    assert_eq!(import(&srv, &emma, statement(), "").await.status(), 403);
    assert_eq!(
        emma.get(&format!("/v1/companies/{BIRCH}/card-report"))
            .await
            .status(),
        403
    );
    let alice = srv.device("alice@demo.kvits").await;
    assert_eq!(
        import(&srv, &alice, statement(), "").await.status(),
        403,
        "an approver"
    );
    let clara = srv.device("clara@demo.kvits").await;
    let summary: StatementImportSummary = import(&srv, &clara, statement(), "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(summary.new, 7, "Clara is Birch's company admin");
}

fn cli_import(srv: &TestServer, args: &[&str]) -> (bool, String, String) {
    common::admin(srv, "import-statement", args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_imports_a_statement_once_and_refuses_a_bad_one() {
    let srv = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("birch-november.xml");
    std::fs::write(&file, statement()).unwrap();
    let path = file.to_str().unwrap();
    let (ok, stdout, stderr) = cli_import(&srv, &["--company", "Birch Bakery", path]);
    assert!(ok, "{stderr}");
    let line: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    assert_eq!(line["format"], "camt.053");
    assert_eq!(line["transactions"], 7);
    assert_eq!(line["new"], 7);
    assert_eq!(line["duplicates"], 0);
    assert_eq!(line["matched"], 0);
    let (ok, stdout, _) = cli_import(&srv, &["--company", &BIRCH.to_string(), path]);
    assert!(ok);
    let line: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (line["new"].as_u64(), line["duplicates"].as_u64()),
        (Some(0), Some(7))
    );

    // Bad input: a clear message, a failing exit, nothing stored.
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, &statement()[..500]).unwrap();
    let (ok, stdout, stderr) =
        cli_import(&srv, &["--company", "Birch Bakery", bad.to_str().unwrap()]);
    assert!(!ok && stdout.is_empty());
    assert!(stderr.contains("bad.xml cannot be imported"), "{stderr}");
    for args in [
        vec!["--company", "Nobody Ltd", path],
        vec!["--company", "Birch Bakery", "/no/such/file.xml"],
        vec!["--company", "Birch Bakery", "--format", "pdf", path],
    ] {
        let (ok, _, stderr) = cli_import(&srv, &args);
        assert!(!ok, "{args:?}");
        assert!(!stderr.trim().is_empty(), "{args:?}");
    }
    let anna = srv.device("anna@demo.kvits").await;
    let list: Vec<StatementImport> = anna
        .get(&format!("/v1/companies/{BIRCH}/statements"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_profile_reads_csv_files_until_the_firm_deletes_it() {
    let srv = TestServer::start().await;
    let anna = srv.device("anna@demo.kvits").await;
    let emma = srv.device("emma@demo.kvits").await;
    let profile = serde_json::json!({
        "name": "Test Bank CSV",
        "delimiter": b';',
        "encoding": "utf-8",
        "header_rows": 1,
        "date_format": "%d.%m.%Y",
        "decimal_mark": ",",
        "columns": {"booking_date": 0, "amount": 1, "counterparty": 2, "card": 3,
                    "reference": 4, "default_currency": "EUR"},
    });
    let call = |d: &Device, method: reqwest::Method, path: &str| {
        srv.http
            .request(method, srv.url(path))
            .bearer_auth(&d.token)
    };
    let r = call(&anna, reqwest::Method::POST, "/v1/bank-profiles")
        .json(&profile)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let csv = "Datums;Summa;Saņēmējs;Karte;Kods\n28.11.2026;-9,90;SPOTIFY AB;****4821;CSV-1\n";
    let query = "?format=csv&profile=Test%20Bank%20CSV";
    let r = import(&srv, &anna, csv.as_bytes().to_vec(), query).await;
    assert_eq!(r.status(), 200);
    let summary: StatementImportSummary = r.json().await.unwrap();
    assert_eq!((summary.transactions, summary.new), (1, 1));

    // Only the firm's staff delete a profile.
    let path = "/v1/bank-profiles/Test%20Bank%20CSV";
    let r = call(&emma, reqwest::Method::DELETE, path)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = call(&anna, reqwest::Method::DELETE, path)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let listed: Vec<serde_json::Value> = anna.get("/v1/bank-profiles").await.json().await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    let r = call(&anna, reqwest::Method::DELETE, path)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The payment it read stays; a file sent with it now is refused.
    assert_eq!(
        missing(&payments(&mut anna.clone()).await)
            .iter()
            .filter(|m| **m == "SPOTIFY AB")
            .count(),
        1
    );
    let r = import(&srv, &anna, csv.as_bytes().to_vec(), query).await;
    assert_eq!(r.status(), 400);
}
