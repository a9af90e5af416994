//! Export to the books through the HTTP API and the CLI, as the firm's accountant runs it:
//! a period's reviewed documents go out once, in a ZIP whose files are read back here (the
//! journal as CSV, every PDF's pages, the manifest's hashes); a second export of the period is
//! empty; two at once are disjoint; a cancelled batch gives its documents back; a document
//! corrected after export is flagged and goes out again only when asked; and nobody but the
//! firm's staff exports or downloads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;

use common::{Device, TestServer, applied, upload};
use kvits_protocol::{
    ChangeOp, CompanyId, DocumentType, Entity, ExpenseFields, ExpenseId, ExpenseStatus,
    ExportBatch, ExportPreview, Money, Mutation, Outcome, VatLine,
};
use sha2::{Digest, Sha256};

const BIRCH: CompanyId = CompanyId(kvits_demo::BIRCH.id.0);

/// The people of Birch's receipts: Emma captures, Mark approves, Anna reviews and exports.
struct Birch {
    emma: Device,
    mark: Device,
    anna: Device,
}

impl Birch {
    async fn new(srv: &TestServer) -> Birch {
        Birch {
            emma: srv.device("emma@demo.kvits").await,
            mark: srv.device("mark@demo.kvits").await,
            anna: srv.device("anna@demo.kvits").await,
        }
    }
}

/// Emma's receipt of `day` November 2026 with `pages` photos, submitted and approved by Mark
/// (Birch's rule) and, when `review`, reviewed by Anna.
async fn receipt_of(
    srv: &TestServer,
    people: &mut Birch,
    day: u32,
    pages: usize,
    review: bool,
) -> ExpenseId {
    let Birch { emma, mark, anna } = people;
    let id = ExpenseId(uuid::Uuid::now_v7());
    let mut attached = Vec::new();
    for p in 0..pages {
        attached.push(
            upload(
                srv,
                emma,
                &common::receipt(usize::try_from(day).unwrap() + p),
            )
            .await,
        );
    }
    applied(
        emma,
        Mutation::CreateExpense {
            expense_id: id,
            company_id: BIRCH,
            document_type: DocumentType::Receipt,
            fields: ExpenseFields {
                expense_type_id: Some(kvits_demo::BIRCH.expense_type_id(kvits_demo::MEALS)),
                payment_method_id: Some(kvits_demo::BIRCH_MASTERCARD.id),
                amount: Some(Money {
                    amount_minor: 3_000,
                    currency: "EUR".into(),
                }),
                date: chrono::NaiveDate::from_ymd_opt(2026, 11, day),
                merchant: Some(format!("Rīgas Kafija {day}")),
                vat: vec![VatLine {
                    rate_bp: 2100,
                    net_minor: 2_479,
                    vat_minor: 521,
                }],
                ..ExpenseFields::default()
            },
        },
    )
    .await;
    applied(
        emma,
        Mutation::AttachReceipt {
            expense_id: id,
            pages: attached,
        },
    )
    .await;
    applied(emma, Mutation::SubmitExpense { expense_id: id }).await;
    let revision = expense(mark, id).await.revision;
    applied(
        mark,
        Mutation::DecideExpense {
            expense_id: id,
            seen_revision: revision,
            decision: kvits_protocol::DecisionKind::Approve,
            reason: None,
        },
    )
    .await;
    if review {
        let revision = expense(anna, id).await.revision;
        applied(
            anna,
            Mutation::MarkReviewed {
                expense_id: id,
                seen_revision: revision,
            },
        )
        .await;
    }
    id
}

/// The expense as the device now holds it (a staff install opens Birch first).
async fn expense(d: &mut Device, id: ExpenseId) -> kvits_protocol::Expense {
    let _ = d.try_open(BIRCH).await;
    let mut found = None;
    for c in d.pull_all().await {
        if let ChangeOp::Upsert { entity } = c.op
            && let Entity::Expense(e) = *entity
            && e.id == id
        {
            found = Some(e);
        }
    }
    match found {
        Some(e) => e,
        // Already pulled earlier: start the mirror over.
        None => {
            d.cursor = 0;
            Box::pin(expense(d, id)).await
        }
    }
}

async fn post_export(srv: &TestServer, d: &Device, body: serde_json::Value) -> (u16, String) {
    let r = srv
        .http
        .post(srv.url(&format!("/v1/companies/{BIRCH}/exports")))
        .bearer_auth(&d.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// What a batch of Birch's November would hold now.
async fn november_preview(d: &Device) -> ExportPreview {
    d.get(&format!(
        "/v1/companies/{BIRCH}/export/preview?from=2026-11-01&to=2026-11-30"
    ))
    .await
    .json()
    .await
    .unwrap()
}

fn november() -> serde_json::Value {
    serde_json::json!({"from": "2026-11-01", "to": "2026-11-30"})
}

async fn download(srv: &TestServer, d: &Device, batch: &ExportBatch) -> (u16, Vec<u8>) {
    let r = srv
        .http
        .get(srv.url(&format!("/v1/exports/{}/file", batch.id)))
        .bearer_auth(&d.token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

/// The ZIP's files by name.
fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    let mut files = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        files.insert(f.name().expect("a UTF-8 name").into_owned(), data);
    }
    files
}

#[tokio::test]
async fn a_period_goes_to_the_books_once_in_files_that_read_back() {
    let srv = TestServer::start().await;
    let mut people = Birch::new(&srv).await;
    let one = receipt_of(&srv, &mut people, 3, 1, true).await;
    let two = receipt_of(&srv, &mut people, 12, 2, true).await;
    let _waiting = receipt_of(&srv, &mut people, 20, 1, false).await;
    let anna = &mut people.anna;

    let preview = november_preview(anna).await;
    assert_eq!(
        (preview.documents, preview.pages, preview.not_reviewed),
        (2, 3, 1)
    );

    let (status, body) = post_export(&srv, anna, november()).await;
    assert_eq!(status, 201, "{body}");
    let batch: ExportBatch = serde_json::from_str(&body).unwrap();
    assert_eq!((batch.number, batch.documents), (1, 2));

    let (status, zip) = download(&srv, anna, &batch).await;
    assert_eq!(status, 200);
    assert_eq!(Some(hex::encode(Sha256::digest(&zip))), batch.sha256);
    assert_eq!(Some(zip.len() as u64), batch.bytes);
    let files = unzip(&zip);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "journal.csv",
            "manifest.json",
            "pdf/1-001.pdf",
            "pdf/1-002.pdf"
        ]
    );

    // The manifest names every other file with its hash.
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    for f in manifest["files"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        assert_eq!(
            f["sha256"].as_str().unwrap(),
            hex::encode(Sha256::digest(&files[name])),
            "{name}"
        );
    }
    // Every PDF has one page per photo.
    for (name, pages) in [("pdf/1-001.pdf", 1), ("pdf/1-002.pdf", 2)] {
        let pdf = lopdf::Document::load_mem(&files[name]).expect(name);
        assert_eq!(pdf.get_pages().len(), pages, "{name}");
    }
    // The journal: the demo firm's `;` and decimal comma, one row per document.
    let journal = files["journal.csv"]
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .expect("a byte-order mark");
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(journal);
    let header = csv.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).expect(n);
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][col("voucher")], "1-001");
    assert_eq!(&rows[0][col("kvits_id")], one.to_string());
    assert_eq!(&rows[1][col("kvits_id")], two.to_string());
    assert_eq!(&rows[0][col("amount")], "30,00");
    assert_eq!(&rows[0][col("vat 21 %")], "5,21");
    assert_eq!(&rows[0][col("merchant")], "Rīgas Kafija 3");
    assert_eq!(&rows[1][col("pdf_file")], "pdf/1-002.pdf");

    // Every device sees the documents exported, locked in batch 1.
    let e = expense(anna, one).await;
    assert_eq!(e.status, ExpenseStatus::Exported);
    let mark = e.export.unwrap();
    assert!(mark.locked && mark.batch_number == 1);

    // Once only: the period again has nothing; the batch downloads again byte for byte.
    let (status, body) = post_export(&srv, anna, november()).await;
    assert_eq!((status, body.as_str()), (200, "null"));
    assert_eq!(download(&srv, anna, &batch).await, (200, zip));

    // Nobody but the firm's staff exports or downloads: not the employee, not the client.
    for who in ["emma@demo.kvits", "clara@demo.kvits"] {
        let d = srv.device(who).await;
        assert_eq!(download(&srv, &d, &batch).await.0, 403, "{who}");
        assert_eq!(post_export(&srv, &d, november()).await.0, 403, "{who}");
    }
}

#[tokio::test]
async fn two_exports_at_once_share_no_document() {
    let srv = TestServer::start().await;
    let mut people = Birch::new(&srv).await;
    for day in 1..=6 {
        receipt_of(&srv, &mut people, day, 1, true).await;
    }
    let anna = &people.anna;
    let paula = srv.device("paula@demo.kvits").await;
    let (a, b) = tokio::join!(
        post_export(&srv, anna, november()),
        post_export(&srv, &paula, november())
    );
    let mut documents = 0;
    for (status, body) in [a, b] {
        if status == 201 {
            let batch: ExportBatch = serde_json::from_str(&body).unwrap();
            documents += batch.documents;
        } else {
            assert_eq!((status, body.as_str()), (200, "null"));
        }
    }
    assert_eq!(documents, 6, "every document in exactly one batch");
}

#[tokio::test]
async fn cancelled_and_changed_documents_go_out_again_only_as_asked() {
    let srv = TestServer::start().await;
    let mut people = Birch::new(&srv).await;
    let id = receipt_of(&srv, &mut people, 5, 1, true).await;
    let anna = &mut people.anna;
    let (_, body) = post_export(&srv, anna, november()).await;
    let first: ExportBatch = serde_json::from_str(&body).unwrap();

    // Cancelled: the document is back in the queue, the file no longer downloads.
    let r = srv
        .http
        .post(srv.url(&format!("/v1/exports/{}/cancel", first.id)))
        .bearer_auth(&anna.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(expense(anna, id).await.status, ExpenseStatus::Reviewed);
    assert_eq!(download(&srv, anna, &first).await.0, 410);
    let (status, body) = post_export(&srv, anna, november()).await;
    assert_eq!(status, 201, "{body}");
    let second: ExportBatch = serde_json::from_str(&body).unwrap();
    assert_eq!(second.number, 2);

    // Unlocked and corrected after export: flagged, and out again only when asked.
    let e = expense(anna, id).await;
    applied(
        anna,
        Mutation::UnlockExpense {
            expense_id: id,
            seen_revision: e.revision,
        },
    )
    .await;
    let e = expense(anna, id).await;
    applied(
        anna,
        Mutation::CorrectExpense {
            expense_id: id,
            seen_revision: e.revision,
            expense_type_id: e.fields.expense_type_id.unwrap(),
            vat: e.fields.vat.clone(),
            account_code: Some("7210".into()),
        },
    )
    .await;
    assert!(expense(anna, id).await.export.unwrap().changed);
    let preview = november_preview(anna).await;
    assert_eq!((preview.documents, preview.changed), (0, 1));
    assert_eq!(post_export(&srv, anna, november()).await.1, "null");
    let mut again = november();
    again["include_changed"] = true.into();
    let (status, body) = post_export(&srv, anna, again).await;
    assert_eq!(status, 201, "{body}");
    let third: ExportBatch = serde_json::from_str(&body).unwrap();
    let files = unzip(&download(&srv, anna, &third).await.1);
    let journal = String::from_utf8(files["journal.csv"].clone()).unwrap();
    assert!(
        journal.contains("7210") && journal.contains(";yes;"),
        "{journal}"
    );

    // An app cannot put a document in a batch itself.
    let r = anna
        .run(Mutation::CancelExport {
            expense_id: id,
            batch_id: third.id,
        })
        .await;
    assert!(
        matches!(r.outcome, Outcome::Rejected { .. }),
        "{:?}",
        r.outcome
    );
}

fn cli_export(srv: &TestServer, args: &[&str]) -> (bool, String, String) {
    common::admin(srv, "export", args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_exports_a_period_once_and_refuses_bad_input() {
    let srv = TestServer::start().await;
    let mut people = Birch::new(&srv).await;
    let id = receipt_of(&srv, &mut people, 9, 2, true).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("november.zip");
    let out_arg = out.to_str().unwrap();
    let period = [
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--out",
        out_arg,
    ];

    // By name: one JSON line, and the file it names.
    let mut args = vec!["--company", "Birch Bakery"];
    args.extend(period);
    let (ok, stdout, stderr) = cli_export(&srv, &args);
    assert!(ok, "{stderr}");
    let line: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    let zip = std::fs::read(&out).unwrap();
    assert_eq!(line["documents"], 1);
    assert_eq!(line["bytes"], zip.len());
    assert_eq!(line["sha256"], hex::encode(Sha256::digest(&zip)));
    let files = unzip(&zip);
    let pdf = lopdf::Document::load_mem(&files["pdf/1-001.pdf"]).unwrap();
    assert_eq!(pdf.get_pages().len(), 2);
    assert_eq!(
        expense(&mut people.anna, id).await.status,
        ExpenseStatus::Exported
    );

    // Again, by id: nothing to export, and nothing written.
    std::fs::remove_file(&out).unwrap();
    let birch = BIRCH.to_string();
    let mut args = vec!["--company", birch.as_str()];
    args.extend(period);
    let (ok, stdout, stderr) = cli_export(&srv, &args);
    assert!(ok, "{stderr}");
    let line: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(line["documents"], 0);
    assert!(!out.exists());

    // Bad input: a clear message, a failing exit, no file.
    for (args, says) in [
        (
            vec![
                "--company",
                "Nobody Ltd",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-30",
            ],
            "no company is named",
        ),
        (
            vec![
                "--company",
                "Birch Bakery",
                "--from",
                "2026-11-30",
                "--to",
                "2026-11-01",
            ],
            "is after --to",
        ),
        (
            vec![
                "--company",
                "Birch Bakery",
                "--from",
                "2026-13-01",
                "--to",
                "2026-11-30",
            ],
            "--from",
        ),
    ] {
        let mut args = args.clone();
        args.extend(["--out", out_arg]);
        let (ok, _, stderr) = cli_export(&srv, &args);
        assert!(!ok, "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!out.exists());
    }
}
