//! Protocol conformance of push and pull (docs/design.md §3), over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{Device, TestServer};
use kvits_protocol::{
    ChangeOp, ConflictCode, DecisionKind, DocumentType, Entity, ErrorBody, ErrorCode,
    ExpenseFields, ExpenseId, ExpenseStatus, Money, Mutation, Outcome, ReceiptPage, RejectCode,
};

fn new_expense_id() -> ExpenseId {
    ExpenseId(uuid::Uuid::now_v7())
}

fn page(sha_seed: u8) -> ReceiptPage {
    ReceiptPage {
        sha256: format!("{:02x}", sha_seed).repeat(32),
        size: 180_000,
        content_type: "image/jpeg".into(),
        width: 1512,
        height: 2016,
    }
}

/// Pretends the blob was uploaded (the upload protocol has its own tests).
async fn store_blob(server: &TestServer, sha: &str) {
    let (firm, user, sha) = (
        server.demo.firm.to_string(),
        server.demo.user("emma@demo.kvits").to_string(),
        sha.to_owned(),
    );
    server
        .server
        .state()
        .db
        .write(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO blobs (firm_id, sha256, size, content_type, width, height,
                 uploaded_by, created_at) VALUES (?1, ?2, 180000, 'image/jpeg', 1512, 2016, ?3, '')",
                rusqlite::params![firm, sha, user],
            )?;
            c.execute(
                "INSERT OR IGNORE INTO blob_owners (firm_id, sha256, user_id) VALUES (?1, ?2, ?3)",
                rusqlite::params![firm, sha, user],
            )?;
            Ok(())
        })
        .await
        .unwrap();
}

/// Emma's fields for a Birch receipt.
fn fields(server: &TestServer, cents: i64) -> ExpenseFields {
    ExpenseFields {
        expense_type_id: Some(server.demo.expense_types[&("Birch Bakery", "Meals")]),
        payment_method_id: Some(
            server.demo.payment_methods[&("Birch Bakery", "Visa Business".to_string())],
        ),
        amount: Some(Money {
            amount_minor: cents,
            currency: "EUR".into(),
        }),
        base_amount: None,
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 20),
        merchant: Some("Rimi".into()),
        note: None,
        vat: Vec::new(),
        account_code: None,
    }
}

/// The mutations of one captured, submitted receipt.
fn capture(server: &TestServer, id: ExpenseId, seed: u8) -> Vec<Mutation> {
    vec![
        Mutation::CreateExpense {
            expense_id: id,
            company_id: server.demo.company("Birch Bakery"),
            document_type: DocumentType::Receipt,
            fields: fields(server, 1240),
        },
        Mutation::AttachReceipt {
            expense_id: id,
            pages: vec![page(seed)],
        },
        Mutation::SubmitExpense { expense_id: id },
    ]
}

/// Every live row a device sees, by (kind, id), after applying `changes` in order.
fn mirror(changes: &[kvits_protocol::Change]) -> BTreeMap<(String, uuid::Uuid), Entity> {
    let mut rows = BTreeMap::new();
    for c in changes {
        match &c.op {
            ChangeOp::Upsert { entity } => {
                rows.insert(
                    (entity.kind().as_str().to_owned(), entity.id()),
                    (**entity).clone(),
                );
            }
            ChangeOp::Delete { kind, id } => {
                rows.remove(&(kind.as_str().to_owned(), *id));
            }
        }
    }
    rows
}

async fn expense(device: &mut Device, id: ExpenseId) -> kvits_protocol::Expense {
    device.cursor = 0;
    let rows = mirror(&device.pull_all().await);
    match rows.get(&("expense".to_owned(), id.0)) {
        Some(Entity::Expense(e)) => e.clone(),
        other => panic!("expense {id} not visible: {other:?}"),
    }
}

#[tokio::test]
async fn submitted_receipt_is_routed_and_decided() {
    let server = TestServer::start().await;
    let mut emma = server.device("emma@demo.kvits").await;
    let mut mark = server.device("mark@demo.kvits").await;
    let id = new_expense_id();
    store_blob(&server, &page(1).sha256).await;
    let batch: Vec<_> = capture(&server, id, 1)
        .into_iter()
        .map(|m| emma.queue(m))
        .collect();
    let r = emma.push(&batch).await;
    assert_eq!(r.last_seq, 3);
    assert!(
        r.results.iter().all(|r| r.outcome == Outcome::Applied),
        "{r:?}"
    );
    assert_eq!(
        expense(&mut emma, id).await.status,
        ExpenseStatus::Submitted
    );

    // Mark's task list holds it; he approves what he saw.
    let tasks: Vec<kvits_protocol::Expense> = mark.get("/v1/approvals").await.json().await.unwrap();
    assert_eq!(tasks.iter().map(|e| e.id).collect::<Vec<_>>(), vec![id]);
    let seen = tasks[0].revision;
    let r = mark
        .run(Mutation::DecideExpense {
            expense_id: id,
            seen_revision: seen,
            decision: DecisionKind::Approve,
            reason: None,
        })
        .await;
    assert_eq!(r.outcome, Outcome::Applied);
    assert_eq!(expense(&mut emma, id).await.status, ExpenseStatus::Approved);
    let tasks: Vec<kvits_protocol::Expense> = mark.get("/v1/approvals").await.json().await.unwrap();
    assert!(tasks.is_empty());
}

#[tokio::test]
async fn a_duplicate_push_answers_the_stored_result_and_applies_nothing() {
    let server = TestServer::start().await;
    let mut emma = server.device("emma@demo.kvits").await;
    let id = new_expense_id();
    let create = emma.queue(capture(&server, id, 1).remove(0));
    let first = emma.push(std::slice::from_ref(&create)).await;
    let version_after_first = emma.pull_from(0, None).await.cursor;
    // The same mutation again (a retry), and again inside a longer batch.
    let again = emma.push(std::slice::from_ref(&create)).await;
    assert_eq!(first, again);
    let next = emma.queue(Mutation::SetExpenseFields {
        expense_id: id,
        fields: fields(&server, 999),
    });
    let batch = emma.push(&[create.clone(), next]).await;
    assert_eq!(batch.results[0], first.results[0]);
    assert_eq!(batch.results[1].outcome, Outcome::Applied);
    // Exactly two changes to the expense: the create and the edit, not the retries.
    let e = expense(&mut emma, id).await;
    assert_eq!(e.revision, 2);
    assert_eq!(
        emma.pull_from(version_after_first, None)
            .await
            .changes
            .len(),
        1
    );
}

#[tokio::test]
async fn a_gap_means_the_server_lost_the_client_s_state() {
    let server = TestServer::start().await;
    let mut emma = server.device("emma@demo.kvits").await;
    let id = new_expense_id();
    let first = emma.queue(capture(&server, id, 1).remove(0));
    let _skipped = emma.queue(Mutation::DeleteExpense { expense_id: id });
    let third = emma.queue(Mutation::DeleteExpense { expense_id: id });
    emma.push(&[first]).await;
    let (status, body) = emma.push_raw(&[third]).await;
    assert_eq!(status, 409);
    let err: ErrorBody = serde_json::from_str(&body).unwrap();
    assert_eq!(err.code, ErrorCode::ClientStateLost);
    assert_eq!(err.details.unwrap()["expected"], 2);
    // Nothing was applied: the expense is still there.
    expense(&mut emma, id).await;
    // Out-of-order batches are a client bug: 400.
    let a = emma.queue(Mutation::DeleteExpense { expense_id: id });
    let mut b = a.clone();
    b.seq += 2;
    let (status, _) = emma.push_raw(&[a, b]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_permanent_error_is_stored_and_advances_the_queue() {
    let server = TestServer::start().await;
    let mut emma = server.device("emma@demo.kvits").await;
    let unknown = new_expense_id();
    let bad = emma.queue(Mutation::SubmitExpense {
        expense_id: unknown,
    });
    let id = new_expense_id();
    let good = emma.queue(capture(&server, id, 1).remove(0));
    let r = emma.push(&[bad.clone(), good]).await;
    assert_eq!(r.last_seq, 2);
    assert!(
        matches!(
            r.results[0].outcome,
            Outcome::Rejected {
                code: RejectCode::NotFound,
                ..
            }
        ),
        "{r:?}"
    );
    assert_eq!(r.results[1].outcome, Outcome::Applied);
    // Asked again, the same stored answer.
    let again = emma.push(&[bad]).await;
    assert_eq!(again.results[0], r.results[0]);
    // And the results come down with a pull too.
    let pulled = emma.pull_from(0, None).await;
    assert_eq!(pulled.last_seq, 2);
    assert_eq!(pulled.results, r.results);
}

#[tokio::test]
async fn a_submit_before_its_photo_is_uploaded_halts_without_consuming() {
    let server = TestServer::start().await;
    let mut emma = server.device("emma@demo.kvits").await;
    let id = new_expense_id();
    let batch: Vec<_> = capture(&server, id, 7)
        .into_iter()
        .map(|m| emma.queue(m))
        .collect();
    let r = emma.push(&batch).await;
    assert_eq!(r.last_seq, 2, "{r:?}");
    let halt = r.halted.expect("halted");
    assert_eq!(halt.seq, 3);
    assert_eq!(halt.code, ErrorCode::BlobMissing);
    assert_eq!(halt.missing_blobs, vec![page(7).sha256]);
    assert_eq!(expense(&mut emma, id).await.status, ExpenseStatus::Draft);
    // Once the photo is there, the same submit goes through.
    store_blob(&server, &page(7).sha256).await;
    let r = emma.push(&batch[2..]).await;
    assert_eq!(r.results[0].outcome, Outcome::Applied);
    assert_eq!(r.last_seq, 3);
}

#[tokio::test]
async fn a_response_lost_after_commit_then_a_retry_applies_once() {
    let server = TestServer::start().await;
    let mut emma = server.device("emma@demo.kvits").await;
    store_blob(&server, &page(3).sha256).await;
    let id = new_expense_id();
    let batch: Vec<_> = capture(&server, id, 3)
        .into_iter()
        .map(|m| emma.queue(m))
        .collect();
    // The first answer is "lost": the phone never reads it and sends everything again.
    let _lost = emma.push_raw(&batch).await;
    let retry = emma.push(&batch).await;
    assert_eq!(retry.results.len(), 3);
    assert!(
        retry.results.iter().all(|r| r.outcome == Outcome::Applied),
        "{retry:?}"
    );
    let e = expense(&mut emma, id).await;
    assert_eq!((e.revision, e.status), (3, ExpenseStatus::Submitted));
    let expenses = mirror(&emma.pull_from(0, None).await.changes)
        .keys()
        .filter(|(k, _)| k == "expense")
        .count();
    assert_eq!(expenses, 1);
}

#[tokio::test]
async fn two_approvers_deciding_the_same_step_one_wins_the_other_hears_who() {
    let server = TestServer::start().await;
    let mut emma = server.device("emma@demo.kvits").await;
    let mut mark = server.device("mark@demo.kvits").await;
    let mut alice = server.device("alice@demo.kvits").await;
    store_blob(&server, &page(4).sha256).await;
    let id = new_expense_id();
    let batch: Vec<_> = capture(&server, id, 4)
        .into_iter()
        .map(|m| emma.queue(m))
        .collect();
    emma.push(&batch).await;
    let seen = expense(&mut mark, id).await.revision;
    // Mark approves offline (queued); Alice rejects online first.
    let marks = mark.queue(Mutation::DecideExpense {
        expense_id: id,
        seen_revision: seen,
        decision: DecisionKind::Approve,
        reason: None,
    });
    let r = alice
        .run(Mutation::DecideExpense {
            expense_id: id,
            seen_revision: seen,
            decision: DecisionKind::Reject,
            reason: Some("Not a business expense".into()),
        })
        .await;
    assert_eq!(r.outcome, Outcome::Applied);
    let r = mark.push(&[marks]).await;
    match &r.results[0].outcome {
        Outcome::Conflict { code, winner, .. } => {
            assert_eq!(*code, ConflictCode::AlreadyDecided);
            let w = winner.as_ref().expect("winner");
            assert_eq!(w.by, server.demo.user("alice@demo.kvits"));
            assert_eq!(w.by_name, "Alice Approver");
            assert_eq!(w.kind, DecisionKind::Reject);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let e = expense(&mut emma, id).await;
    assert_eq!(e.status, ExpenseStatus::Rejected);
    assert_eq!(e.decisions.len(), 1);
    // The same decision as the winner's is simply already applied.
    let r = mark
        .run(Mutation::DecideExpense {
            expense_id: id,
            seen_revision: seen,
            decision: DecisionKind::Reject,
            reason: Some("agree".into()),
        })
        .await;
    assert_eq!(r.outcome, Outcome::AlreadyApplied);
}

#[tokio::test]
async fn pull_from_zero_equals_any_cursor_plus_the_rest() {
    let server = TestServer::start().await;
    let mut emma = server.device("emma@demo.kvits").await;
    let anna = server.device("anna@demo.kvits").await;
    for seed in 10..16u8 {
        store_blob(&server, &page(seed).sha256).await;
        let id = new_expense_id();
        let batch: Vec<_> = capture(&server, id, seed)
            .into_iter()
            .map(|m| emma.queue(m))
            .collect();
        emma.push(&batch).await;
        if seed % 3 == 0 {
            let id = new_expense_id();
            let b: Vec<_> = vec![
                emma.queue(capture(&server, id, seed).remove(0)),
                emma.queue(Mutation::DeleteExpense { expense_id: id }),
            ];
            emma.push(&b).await;
        }
    }
    anna.open(server.demo.company("Birch Bakery")).await;
    let whole = mirror(&anna.pull_from(0, Some(1000)).await.changes);
    assert!(whole.len() > 20, "{}", whole.len());
    // Page through with every page size from 1 to 7: the same rows in the end.
    // Cursors and versions are enciphered; the firm's key reads them back.
    for limit in 1..=7u32 {
        let mut changes = Vec::new();
        let mut cursor = 0;
        let mut pages = 0;
        loop {
            let p = anna.pull_from(cursor, Some(limit)).await;
            assert!(p.changes.len() <= limit as usize);
            let mut versions = Vec::new();
            for c in &p.changes {
                versions.push(server.opened(c.version).await);
            }
            assert!(versions.windows(2).all(|w| w[0] < w[1]));
            let from = server.opened(cursor).await;
            assert!(versions.iter().all(|v| *v > from));
            changes.extend(p.changes);
            cursor = p.cursor;
            pages += 1;
            if !p.has_more {
                break;
            }
        }
        assert!(pages > 1);
        assert_eq!(mirror(&changes), whole, "limit {limit}");
    }
    // Nothing new: an empty page with the same cursor.
    let p = anna.pull_from(server_cursor(&anna).await, None).await;
    assert!(p.changes.is_empty() && !p.has_more);
}

async fn server_cursor(d: &Device) -> u64 {
    d.pull_from(0, Some(1000)).await.cursor
}

#[tokio::test]
async fn nobody_pulls_another_tenants_or_another_roles_rows() {
    let server = TestServer::start().await;
    // A second firm with its own company and user.
    let (other_user, other_company) = server
        .server
        .state()
        .db
        .write(|c| {
            let hash = kvits_sync_server::auth::hash_password("demo")?;
            let firm = kvits_sync_server::admin::create_firm(c, "Other Books")?;
            let company = kvits_sync_server::admin::create_company(
                c,
                firm,
                &kvits_protocol::CompanyDetails::named("Oak Outfitters"),
            )?;
            let user = kvits_sync_server::admin::create_user(
                c,
                firm,
                "olga@other.kvits",
                "Olga",
                Some(&hash),
                Some(kvits_protocol::StaffRole::FirmAdmin),
            )?;
            Ok((user, company))
        })
        .await
        .unwrap();
    let _ = other_user;
    let mut olga = server.device("olga@other.kvits").await;
    let mut emma = server.device("emma@demo.kvits").await;
    let mut otto = server.device("otto@demo.kvits").await;
    let mut clara = server.device("clara@demo.kvits").await;
    let mut alice = server.device("alice@demo.kvits").await;
    store_blob(&server, &page(5).sha256).await;
    let id = new_expense_id();
    let batch: Vec<_> = capture(&server, id, 5)
        .into_iter()
        .map(|m| emma.queue(m))
        .collect();
    emma.push(&batch).await;
    let emma_draft = new_expense_id();
    emma.run(capture(&server, emma_draft, 6).remove(0)).await;

    let birch = server.demo.company("Birch Bakery");
    let cedar = server.demo.company("Cedar Logistics");
    let rows = |d: &mut Device| {
        let d = d.clone();
        async move {
            let mut d = d;
            mirror(&d.pull_all().await)
        }
    };
    let olga_rows = rows(&mut olga).await;
    assert!(
        olga_rows.values().all(|e| e.company_id() == other_company),
        "{olga_rows:?}"
    );
    assert!(!olga_rows.is_empty());
    let otto_rows = rows(&mut otto).await;
    assert!(otto_rows.values().all(|e| e.company_id() == cedar));
    assert!(
        !otto_rows
            .values()
            .any(|e| matches!(e, Entity::Thread(_) | Entity::Message(_)))
    );
    let emma_rows = rows(&mut emma).await;
    assert!(emma_rows.values().all(|e| e.company_id() == birch));
    assert!(
        !emma_rows
            .values()
            .any(|e| matches!(e, Entity::Thread(_) | Entity::Message(_)))
    );
    let clara_rows = rows(&mut clara).await;
    assert!(clara_rows.values().any(|e| matches!(e, Entity::Message(_))));
    assert!(clara_rows.contains_key(&("expense".into(), id.0)));
    // Alice sees the expense routed to her, not Emma's draft.
    let alice_rows = rows(&mut alice).await;
    assert!(alice_rows.contains_key(&("expense".into(), id.0)));
    assert!(!alice_rows.contains_key(&("expense".into(), emma_draft.0)));
    // Foreign ids in mutations: not found, nothing written.
    let r = olga.run(Mutation::SubmitExpense { expense_id: id }).await;
    assert!(
        matches!(
            r.outcome,
            Outcome::Rejected {
                code: RejectCode::NotFound,
                ..
            }
        ),
        "{r:?}"
    );
    let r = olga
        .run(Mutation::CreateExpense {
            expense_id: new_expense_id(),
            company_id: birch,
            document_type: DocumentType::Receipt,
            fields: ExpenseFields::default(),
        })
        .await;
    assert!(
        matches!(
            r.outcome,
            Outcome::Rejected {
                code: RejectCode::NotFound,
                ..
            }
        ),
        "{r:?}"
    );
    let _ = olga_rows;
}

#[tokio::test]
async fn long_poll_wakes_on_a_change() {
    let server = TestServer::start().await;
    let mut emma = server.device("emma@demo.kvits").await;
    let mark = server.device("mark@demo.kvits").await;
    let cursor = mark.pull_from(0, Some(1000)).await.cursor;
    let waiting = mark.long_poll(cursor, 20);
    // Emma's change for Mark (a submitted receipt routed to him).
    store_blob(&server, &page(9).sha256).await;
    let id = new_expense_id();
    let batch: Vec<_> = capture(&server, id, 9)
        .into_iter()
        .map(|m| emma.queue(m))
        .collect();
    emma.push(&batch).await;
    let (page, elapsed) = tokio::time::timeout(std::time::Duration::from_secs(30), waiting)
        .await
        .expect("long poll answered")
        .unwrap();
    assert!(elapsed < std::time::Duration::from_secs(20), "{elapsed:?}");
    assert!(
        page.changes
            .iter()
            .any(|c| matches!(&c.op, ChangeOp::Upsert { entity } if entity.id() == id.0))
    );
}

/// A long poll with nothing for its user is held until its `wait` runs out, and a change it may
/// not see (Otto's draft in Cedar wakes the firm's waiting pulls) does not end it early: it looks
/// again and goes on waiting, then answers an empty page.
#[tokio::test]
async fn long_poll_holds_until_its_deadline_through_changes_it_may_not_see() {
    let server = TestServer::start().await;
    let mut otto = server.device("otto@demo.kvits").await;
    let mut mark = server.device("mark@demo.kvits").await;
    mark.pull_all().await;
    let cursor = mark.cursor;
    let started = std::time::Instant::now();
    let waiting = mark.long_poll(cursor, 2);
    // Let the poll reach the server and start waiting before the change it may not see.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        otto.run(cedar_draft(&server)).await.outcome,
        Outcome::Applied
    );
    let pushed_at = started.elapsed();
    let (page, elapsed) = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
        .await
        .expect("long poll answered")
        .unwrap();
    assert!(
        pushed_at < std::time::Duration::from_millis(1500),
        "Otto's change came too late to test anything: {pushed_at:?}"
    );
    assert!(
        elapsed >= std::time::Duration::from_millis(1900),
        "answered after {elapsed:?}, before its 2 s wait ran out"
    );
    assert!(page.changes.is_empty(), "{:?}", page.changes);
    assert!(!page.has_more && !page.reset);
    assert!(server.opened(page.cursor).await >= server.opened(cursor).await);
}

/// An empty draft of Otto's in Cedar Logistics (where Mark sees nothing).
fn cedar_draft(server: &TestServer) -> Mutation {
    Mutation::CreateExpense {
        expense_id: new_expense_id(),
        company_id: server.demo.company("Cedar Logistics"),
        document_type: DocumentType::Receipt,
        fields: ExpenseFields::default(),
    }
}

/// A cursor says nothing of what other companies of the firm did: Mark's cursors before and
/// after Otto's five drafts in Cedar are not five apart, nor is any version he sees.
#[tokio::test]
async fn a_cursor_tells_nothing_of_other_companies_activity() {
    let server = TestServer::start().await;
    let mut otto = server.device("otto@demo.kvits").await;
    let mut mark = server.device("mark@demo.kvits").await;
    mark.pull_all().await;
    let before = mark.cursor;
    for _ in 0..5 {
        assert_eq!(
            otto.run(cedar_draft(&server)).await.outcome,
            Outcome::Applied
        );
    }
    let page = mark.pull_from(before, None).await;
    assert!(page.changes.is_empty() && !page.reset);
    assert_eq!(
        server.opened(page.cursor).await - server.opened(before).await,
        5,
        "the server reads the five changes back"
    );
    assert!(
        page.cursor.abs_diff(before) > 1_000_000,
        "{before} then {}: the distance is not there to read",
        page.cursor
    );
}

#[tokio::test]
async fn stale_cursors_and_access_changes_reset() {
    let server = TestServer::start().await;
    let mut otto = server.device("otto@demo.kvits").await;
    let rows = mirror(&otto.pull_all().await);
    assert!(
        rows.values()
            .all(|e| e.company_id() == server.demo.company("Cedar Logistics"))
    );
    // A cursor this server never gave (another server life's, or made up): reset.
    let p = otto.pull_from(otto.cursor + 1000, None).await;
    assert!(p.reset && p.has_more && p.changes.is_empty() && p.cursor == 0);
    // Otto joins Birch: his next pull starts over and brings Birch's catalog.
    let (birch, otto_id) = (
        server.demo.company("Birch Bakery"),
        server.demo.user("otto@demo.kvits"),
    );
    server
        .server
        .state()
        .db
        .write(move |c| {
            kvits_sync_server::admin::set_roles(
                c,
                birch,
                otto_id,
                &[kvits_protocol::Role::Employee],
            )
        })
        .await
        .unwrap();
    let p = otto.pull_from(otto.cursor, None).await;
    assert!(p.reset, "{p:?}");
    otto.cursor = 0;
    let rows = mirror(&otto.pull_all().await);
    assert!(rows.values().any(|e| e.company_id() == birch));
    // And it does not reset again.
    let p = otto.pull_from(otto.cursor, None).await;
    assert!(!p.reset);
}

#[tokio::test]
async fn auth_and_protocol_errors_are_clear() {
    let server = TestServer::start().await;
    let emma = server.device("emma@demo.kvits").await;
    // No token, a wrong token.
    let r = server.http.get(server.url("/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = server
        .http
        .get(server.url("/v1/me"))
        .bearer_auth("kvt_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::Unauthenticated
    );
    // A protocol version from the future: 426, so the app asks to update and keeps its queue.
    let r = server
        .http
        .get(server.url("/v1/me"))
        .bearer_auth(&emma.token)
        .header(kvits_protocol::PROTOCOL_HEADER, "999")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 426);
    // Wrong password.
    let r = server
        .http
        .post(server.url("/v1/auth/login"))
        .json(&serde_json::json!({"email": "emma@demo.kvits", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::BadCredentials
    );
    // Emma's install cannot be used by Mark.
    let mark = server.device("mark@demo.kvits").await;
    let hijack = Device {
        client: emma.client,
        ..mark.clone()
    };
    let (status, _) = hijack.push_raw(&[]).await;
    assert_eq!(status, 403);
    // Logout revokes the token.
    let r = server
        .http
        .post(server.url("/v1/auth/logout"))
        .bearer_auth(&emma.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(emma.get("/v1/me").await.status(), 401);
}

#[tokio::test]
async fn invitations_let_a_new_person_in_once() {
    let server = TestServer::start().await;
    let clara = server.device("clara@demo.kvits").await; // Birch admin
    let birch = server.demo.company("Birch Bakery");
    let r = server
        .http
        .post(server.url(&format!("/v1/companies/{birch}/users")))
        .bearer_auth(&clara.token)
        .json(&serde_json::json!({"email": "nina@demo.kvits", "name": "Nina New", "roles": ["employee"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let inv: kvits_protocol::Invitation = r.json().await.unwrap();
    let token = inv.token;
    let accept = |password: &str| {
        server
            .http
            .post(server.url("/v1/auth/accept-invitation"))
            .json(&serde_json::json!({"token": token, "password": password}))
            .send()
    };
    assert_eq!(accept("short").await.unwrap().status(), 400);
    let r = accept("a long enough password").await.unwrap();
    assert_eq!(r.status(), 200);
    let login: kvits_protocol::LoginResponse = r.json().await.unwrap();
    assert_eq!(login.session.memberships.len(), 1);
    assert_eq!(
        login.session.memberships[0].roles,
        vec![kvits_protocol::Role::Employee]
    );
    assert_eq!(accept("another long password").await.unwrap().status(), 410);
    // An employee cannot invite.
    let emma = server.device("emma@demo.kvits").await;
    let r = server
        .http
        .post(server.url(&format!("/v1/companies/{birch}/users")))
        .bearer_auth(&emma.token)
        .json(&serde_json::json!({"email": "x@demo.kvits", "name": "X", "roles": ["employee"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn messages_record_each_readers_time_for_the_accountant() {
    let server = TestServer::start().await;
    let mut anna = server.device("anna@demo.kvits").await;
    let mut clara = server.device("clara@demo.kvits").await;
    let birch = server.demo.company("Birch Bakery");
    let cedar = server.demo.company("Cedar Logistics");
    let message_id = kvits_protocol::MessageId(uuid::Uuid::now_v7());
    let r = anna
        .run(Mutation::SendMessage {
            message_id,
            company_ids: vec![birch, cedar],
            subject: "Year-end documents".into(),
            body: "Please send all December receipts by January 5.".into(),
            attachment: None,
        })
        .await;
    assert_eq!(r.outcome, Outcome::Applied);
    let thread = kvits_protocol::ThreadId::for_recipient(message_id, birch);
    let copy = kvits_protocol::MessageId::for_recipient(message_id, birch);
    let rows = mirror(&clara.pull_all().await);
    assert!(rows.contains_key(&("message".into(), copy.0)));
    let r = clara
        .run(Mutation::MarkRead {
            thread_id: thread,
            up_to: copy,
        })
        .await;
    assert_eq!(r.outcome, Outcome::Applied);
    let reply = kvits_protocol::MessageId(uuid::Uuid::now_v7());
    let r = clara
        .run(Mutation::ReplyMessage {
            message_id: reply,
            thread_id: thread,
            body: "Will do!".into(),
            attachment: None,
        })
        .await;
    assert_eq!(r.outcome, Outcome::Applied);
    anna.open(server.demo.company("Birch Bakery")).await;
    anna.cursor = 0;
    let rows = mirror(&anna.pull_all().await);
    let read = rows
        .values()
        .find_map(|e| match e {
            Entity::MessageRead(r) if r.message_id == copy => Some(r.clone()),
            _ => None,
        })
        .expect("Anna sees Clara's read time");
    assert_eq!(read.user_id, server.demo.user("clara@demo.kvits"));
    assert!(rows.contains_key(&("message".into(), reply.0)));
    // Marking again never moves the time.
    let r = clara
        .run(Mutation::MarkRead {
            thread_id: thread,
            up_to: copy,
        })
        .await;
    assert_eq!(r.outcome, Outcome::AlreadyApplied);
    let again = mirror(&anna.pull_from(0, Some(1000)).await.changes);
    assert_eq!(
        again.get(&("message_read".into(), read_id(&read))),
        Some(&Entity::MessageRead(read.clone()))
    );
}

fn read_id(r: &kvits_protocol::MessageRead) -> uuid::Uuid {
    r.id()
}

#[tokio::test]
async fn a_mutation_the_server_cannot_read_is_refused_alone_and_the_queue_moves_on() {
    let server = TestServer::start().await;
    let mut emma = server.device("emma@demo.kvits").await;
    let id = new_expense_id();
    let good = emma.queue(capture(&server, id, 1).remove(0));
    // seq 2: a mutation from a newer app; seq 3: a normal one after it.
    let unknown = serde_json::json!({
        "seq": 2, "created_at": "2026-11-23T10:00:00Z",
        "name": "split_expense.v1", "args": {"expense_id": id}
    });
    emma.next_seq = 3;
    let after = emma.queue(Mutation::SetExpenseFields {
        expense_id: id,
        fields: fields(&server, 500),
    });
    let body = serde_json::json!({
        "client_id": emma.client,
        "mutations": [good, unknown, after],
    });
    let r = server
        .http
        .post(server.url("/v1/sync/push"))
        .bearer_auth(&emma.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r: kvits_protocol::PushResponse = r.json().await.unwrap();
    assert_eq!(r.last_seq, 3);
    assert_eq!(r.results[0].outcome, Outcome::Applied);
    assert!(
        matches!(&r.results[1].outcome, Outcome::Rejected { code: RejectCode::Invalid, message } if message.contains("split_expense.v1")),
        "{r:?}"
    );
    assert_eq!(r.results[2].outcome, Outcome::Applied);
    // A mutation without a seq cannot be placed in the queue at all: the batch is refused.
    let body = serde_json::json!({"client_id": emma.client, "mutations": [{"name": "x"}]});
    let r = server
        .http
        .post(server.url("/v1/sync/push"))
        .bearer_auth(&emma.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// A server that serves a (one-page) web app at `/`; keep the directory while it runs.
async fn serving_a_web_app() -> (TestServer, tempfile::TempDir) {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>Kvits</title>",
    )
    .unwrap();
    let dir = web.path().to_owned();
    let server = TestServer::start_with(move |c| c.web_dir = Some(dir)).await;
    (server, web)
}

#[tokio::test]
async fn a_served_web_app_never_hides_an_unknown_api_path() {
    let (server, _web) = serving_a_web_app().await;
    let page = server
        .http
        .get(server.url("/receipts/123"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<title>Kvits</title>"));
    let api = server
        .http
        .get(server.url("/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
    assert_eq!(
        api.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn the_web_app_and_the_api_answer_with_security_headers() {
    let (server, _web) = serving_a_web_app().await;
    for path in [
        "/",
        "/receipts/123",
        "/healthz",
        "/v1/me",
        "/v1/no-such-thing",
    ] {
        let r = server.http.get(server.url(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(csp, kvits_sync_server::CONTENT_SECURITY_POLICY, "{path}");
        for needed in [
            "frame-ancestors 'none'",
            "object-src 'none'",
            "script-src 'self' 'wasm-unsafe-eval'",
        ] {
            assert!(csp.contains(needed), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
}

#[tokio::test]
async fn repeated_wrong_passwords_pause_sign_in_for_that_email_only() {
    let server = TestServer::start().await;
    let login = |email: &'static str, password: &'static str| {
        server
            .http
            .post(server.url("/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
    };
    for _ in 0..kvits_sync_server::auth::MAX_FAILED_LOGINS {
        assert_eq!(
            login("emma@demo.kvits", "guess").await.unwrap().status(),
            401
        );
    }
    // Now even the right password waits, with a clear answer and a Retry-After.
    let r = login("EMMA@demo.kvits", "demo").await.unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 15 * 60);
    assert_eq!(
        r.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::RateLimited
    );
    // Others sign in as usual.
    assert_eq!(
        login("mark@demo.kvits", "demo").await.unwrap().status(),
        200
    );
}

// ---------------------------------------------------------------------------------------------
// A busy database, a lost answer, simultaneous decisions

/// How long the server waits for a lock in the busy tests (production waits 5 s).
const SHORT_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(200);

/// A second connection on the server's database file — another process, a backup — holding
/// the write lock until it is dropped or rolled back.
fn hold_write_lock(path: &std::path::Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    c
}

/// What the database holds for `client` and expense `id`, read on `c`: (`last_seq`, stored
/// results, the expense's revision if it exists).
fn stored_state(
    c: &rusqlite::Connection,
    client: kvits_protocol::ClientId,
    id: ExpenseId,
) -> (i64, i64, Option<i64>) {
    use rusqlite::OptionalExtension;
    let client = client.to_string();
    let last_seq = c
        .query_row(
            "SELECT last_seq FROM clients WHERE client_id = ?1",
            [&client],
            |r| r.get(0),
        )
        .unwrap();
    let results = c
        .query_row(
            "SELECT count(*) FROM mutation_results WHERE client_id = ?1",
            [&client],
            |r| r.get(0),
        )
        .unwrap();
    let revision = c
        .query_row(
            "SELECT json_extract(body, '$.revision') FROM entities
             WHERE kind = 'expense' AND id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()
        .unwrap();
    (last_seq, results, revision)
}

#[tokio::test]
async fn a_busy_database_is_503_and_consumes_nothing() {
    let server = TestServer::start_with(|c| c.busy_timeout = SHORT_BUSY_TIMEOUT).await;
    let mut emma = server.device("emma@demo.kvits").await;
    emma.pull_all().await;
    let id = new_expense_id();
    let batch = vec![emma.queue(capture(&server, id, 1).remove(0))];

    let lock = hold_write_lock(&server.db_path());
    let r = emma.push_response(&batch).await;
    assert_eq!(r.status(), 503);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0, "Retry-After: {wait}");
    let err: ErrorBody = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(err.code, ErrorCode::Unavailable);
    assert!(!err.message.is_empty());
    // Nothing applied, nothing stored, the queue did not move — as the lock holder sees it, and
    // as the client does (a pull from its cursor reads without the write lock).
    assert_eq!(stored_state(&lock, emma.client, id), (0, 0, None));
    let page = emma.pull_from(emma.cursor, None).await;
    assert_eq!(page.last_seq, 0);
    assert!(
        page.results.is_empty() && page.changes.is_empty(),
        "{page:?}"
    );

    // The lock goes away: the same batch is applied, once.
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    let r = emma.push(&batch).await;
    assert_eq!(r.last_seq, 1);
    assert_eq!(r.results.len(), 1);
    assert_eq!(r.results[0].outcome, Outcome::Applied);
    assert!(r.halted.is_none());
    assert_eq!(emma.push(&batch).await, r);
    let e = expense(&mut emma, id).await;
    assert_eq!(e.revision, 1);
    let check = rusqlite::Connection::open(server.db_path()).unwrap();
    assert_eq!(stored_state(&check, emma.client, id), (1, 1, Some(1)));
}

type HeldLock = std::sync::Arc<std::sync::Mutex<Option<rusqlite::Connection>>>;

/// Takes the write lock from another connection at the moment `client`'s `last_seq` reaches
/// `after`, between two mutations of a push: SQLite calls the server connection's WAL hook
/// right after each of its commits, once its write lock is released, and before it can start
/// the next transaction. The lock is kept in the answer until the test releases it.
async fn lock_when_seq_reaches(
    server: &TestServer,
    client: kvits_protocol::ClientId,
    after: i64,
) -> HeldLock {
    let held = HeldLock::default();
    let (slot, path, client) = (held.clone(), server.db_path(), client.to_string());
    server
        .server
        .state()
        .db
        .write(move |c| {
            c.wal_hook(Some(
                move |_: &mut rusqlite::hooks::Wal, _pages: std::ffi::c_int| {
                    let mut slot = slot.lock().unwrap();
                    if slot.is_none() {
                        let other = rusqlite::Connection::open(&path)?;
                        let seq: i64 = other.query_row(
                            "SELECT last_seq FROM clients WHERE client_id = ?1",
                            [&client],
                            |r| r.get(0),
                        )?;
                        if seq >= after {
                            other.execute_batch("BEGIN IMMEDIATE")?;
                            *slot = Some(other);
                        }
                    }
                    Ok(())
                },
            ))?;
            Ok(())
        })
        .await
        .unwrap();
    held
}

/// Removes the hook of [`lock_when_seq_reaches`] and gives the connection its automatic
/// checkpoints back (they are a WAL hook too).
async fn remove_wal_hook(server: &TestServer) {
    server
        .server
        .state()
        .db
        .write(|c| {
            c.wal_hook(
                None::<fn(&mut rusqlite::hooks::Wal, std::ffi::c_int) -> rusqlite::Result<()>>,
            )?;
            c.pragma_update(None, "wal_autocheckpoint", 1000)?;
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_database_busy_mid_batch_answers_what_was_applied_and_halts_the_rest() {
    let server = TestServer::start_with(|c| c.busy_timeout = SHORT_BUSY_TIMEOUT).await;
    let mut emma = server.device("emma@demo.kvits").await;
    let id = new_expense_id();
    let batch = vec![
        emma.queue(capture(&server, id, 1).remove(0)),
        emma.queue(Mutation::SetExpenseFields {
            expense_id: id,
            fields: fields(&server, 777),
        }),
        emma.queue(Mutation::SetExpenseFields {
            expense_id: id,
            fields: fields(&server, 888),
        }),
    ];
    let held = lock_when_seq_reaches(&server, emma.client, 1).await;
    let r = emma.push(&batch).await;
    let lock = held
        .lock()
        .unwrap()
        .take()
        .expect("the lock was taken after seq 1");
    remove_wal_hook(&server).await;

    // seq 1 was committed and is answered; seq 2 met the busy database: the push stops there
    // without consuming it, saying when to try again.
    assert_eq!(r.last_seq, 1, "{r:?}");
    assert_eq!(r.results.len(), 1, "{r:?}");
    assert_eq!(
        (r.results[0].seq, &r.results[0].outcome),
        (1, &Outcome::Applied)
    );
    let halt = r.halted.clone().expect("halted");
    assert_eq!(halt.seq, 2);
    assert_eq!(halt.code, ErrorCode::Unavailable);
    assert!(halt.missing_blobs.is_empty());
    assert!(halt.retry_after_ms.is_some_and(|ms| ms > 0), "{halt:?}");
    assert!(!halt.message.is_empty());
    assert_eq!(stored_state(&lock, emma.client, id), (1, 1, Some(1)));

    // Free again: the same batch finishes — seq 1 answered from storage, 2 and 3 applied once.
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    let again = emma.push(&batch).await;
    assert!(again.halted.is_none(), "{again:?}");
    assert_eq!(again.last_seq, 3);
    assert_eq!(again.results[0], r.results[0]);
    assert!(
        again.results.iter().all(|m| m.outcome == Outcome::Applied),
        "{again:?}"
    );
    let e = expense(&mut emma, id).await;
    assert_eq!(e.revision, 3);
    assert_eq!(e.fields.amount.map(|m| m.amount_minor), Some(888));
    let check = rusqlite::Connection::open(server.db_path()).unwrap();
    assert_eq!(stored_state(&check, emma.client, id), (3, 3, Some(3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_answer_lost_in_the_network_then_the_same_batch_applies_once() {
    use kvits_testkit::proxy::{FaultProxy, Match, Outcome as Fate};
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let mut emma = server.device("emma@demo.kvits").await;
    // Emma's phone reaches the server through the proxy only.
    emma.base = proxy.url();
    store_blob(&server, &page(21).sha256).await;
    let id = new_expense_id();
    let batch: Vec<_> = capture(&server, id, 21)
        .into_iter()
        .map(|m| emma.queue(m))
        .collect();

    proxy.drop_next_response(Match::path_prefix("/v1/sync/push").method("POST"));
    let lost = emma.try_push(&batch).await;
    assert!(lost.is_err(), "the answer should be lost: {lost:?}");
    let log = proxy.log_of(1, std::time::Duration::from_secs(10));
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("POST", "/v1/sync/push")
    );
    assert_eq!(
        (log[0].status, log[0].outcome),
        (Some(200), Fate::DroppedResponse)
    );

    // The server committed all three before the answer was lost.
    let committed = emma.pull_from(0, Some(1000)).await;
    assert_eq!(committed.last_seq, 3);
    assert_eq!(committed.results.len(), 3);

    // The phone sends the same batch again: the stored results, nothing written.
    let retry = emma.push(&batch).await;
    assert_eq!(retry.last_seq, 3);
    assert!(retry.halted.is_none());
    assert_eq!(retry.results, committed.results);
    assert!(
        retry.results.iter().all(|r| r.outcome == Outcome::Applied),
        "{retry:?}"
    );
    let after = emma.pull_from(0, Some(1000)).await;
    assert_eq!(after.cursor, committed.cursor, "the retry wrote nothing");
    let copies: Vec<_> = after
        .changes
        .iter()
        .filter_map(|c| match &c.op {
            ChangeOp::Upsert { entity } if entity.id() == id.0 => Some(entity.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    match &*copies[0] {
        Entity::Expense(e) => {
            assert_eq!((e.revision, e.status), (3, ExpenseStatus::Submitted));
            assert_eq!(e.pages.len(), 1);
        }
        other => panic!("not an expense: {other:?}"),
    }
    let log = proxy.log_of(4, std::time::Duration::from_secs(10));
    assert_eq!(
        (log[2].status, log[2].outcome),
        (Some(200), Fate::Forwarded)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_approvers_deciding_at_the_same_moment_one_wins_the_other_hears_who() {
    let server = TestServer::start().await;
    let mut emma = server.device("emma@demo.kvits").await;
    let mut mark = server.device("mark@demo.kvits").await;
    let mut alice = server.device("alice@demo.kvits").await;
    let (mark_id, alice_id) = (
        server.demo.user("mark@demo.kvits"),
        server.demo.user("alice@demo.kvits"),
    );
    let mut wins = BTreeMap::<&str, u32>::new();
    for round in 0..8u8 {
        let seed = 30 + round;
        store_blob(&server, &page(seed).sha256).await;
        let id = new_expense_id();
        let batch: Vec<_> = capture(&server, id, seed)
            .into_iter()
            .map(|m| emma.queue(m))
            .collect();
        emma.push(&batch).await;
        let seen = expense(&mut mark, id).await.revision;
        let approve = [mark.queue(Mutation::DecideExpense {
            expense_id: id,
            seen_revision: seen,
            decision: DecisionKind::Approve,
            reason: None,
        })];
        let reject = [alice.queue(Mutation::DecideExpense {
            expense_id: id,
            seen_revision: seen,
            decision: DecisionKind::Reject,
            reason: Some("Not a business expense".into()),
        })];
        // Both at once (each round starts the other one first).
        let (m, a) = if round % 2 == 0 {
            tokio::join!(mark.push(&approve), alice.push(&reject))
        } else {
            let (a, m) = tokio::join!(alice.push(&reject), mark.push(&approve));
            (m, a)
        };
        let (m, a) = (&m.results[0].outcome, &a.results[0].outcome);
        let (winner, kind, loser) = match (m, a) {
            (Outcome::Applied, _) => (mark_id, DecisionKind::Approve, a),
            (_, Outcome::Applied) => (alice_id, DecisionKind::Reject, m),
            _ => panic!("round {round}: nobody won: {m:?} {a:?}"),
        };
        match loser {
            Outcome::Conflict {
                code, winner: w, ..
            } => {
                assert_eq!(*code, ConflictCode::AlreadyDecided, "round {round}");
                let w = w.as_ref().expect("the winner is named");
                assert_eq!((w.by, w.kind), (winner, kind), "round {round}");
                let name = if winner == mark_id {
                    "Mark Manager"
                } else {
                    "Alice Approver"
                };
                assert_eq!(w.by_name, name);
            }
            other => panic!("round {round}: the loser got {other:?}"),
        }
        let e = expense(&mut emma, id).await;
        let status = match kind {
            DecisionKind::Approve => ExpenseStatus::Approved,
            _ => ExpenseStatus::Rejected,
        };
        assert_eq!(e.status, status, "round {round}");
        assert_eq!(e.decisions.len(), 1, "round {round}");
        assert_eq!((e.decisions[0].by, e.decisions[0].kind), (winner, kind));
        *wins
            .entry(if winner == mark_id { "mark" } else { "alice" })
            .or_default() += 1;
    }
    eprintln!("winners: {wins:?}");
}

#[tokio::test]
async fn an_id_another_firm_used_is_refused_and_that_firm_s_row_stays() {
    let server = TestServer::start().await;
    let id = new_expense_id();
    // Another firm had a receipt with this id and deleted it: only its tombstone is left,
    // which the domain does not see (it judges live rows).
    let tombstone = server
        .server
        .state()
        .db
        .write(move |c| {
            let firm = kvits_sync_server::admin::create_firm(c, "Other Books")?;
            c.execute(
                "INSERT INTO entities (kind, id, firm_id, company_id, version, deleted, body)
                 VALUES ('expense', ?1, ?2, ?3, 1, 1, '{\"theirs\":true}')",
                rusqlite::params![
                    id.to_string(),
                    firm.to_string(),
                    uuid::Uuid::now_v7().to_string()
                ],
            )?;
            Ok(firm)
        })
        .await
        .unwrap();
    let row =
        |server: &TestServer| {
            rusqlite::Connection::open(server.db_path())
            .unwrap()
            .query_row(
                "SELECT firm_id, deleted, body FROM entities WHERE kind = 'expense' AND id = ?1",
                [id.to_string()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)),
            )
            .unwrap()
        };
    let before = row(&server);
    assert_eq!(before.0, tombstone.to_string());

    let mut emma = server.device("emma@demo.kvits").await;
    let result = emma
        .run(Mutation::CreateExpense {
            expense_id: id,
            company_id: server.demo.company("Birch Bakery"),
            document_type: DocumentType::Receipt,
            fields: fields(&server, 990),
        })
        .await;
    match result.outcome {
        Outcome::Rejected { code, .. } => assert_eq!(code, RejectCode::IdTaken),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(row(&server), before, "the other firm's row is untouched");
    // The refusal is final and the queue goes on: the next receipt is applied.
    let next = emma
        .run(Mutation::CreateExpense {
            expense_id: new_expense_id(),
            company_id: server.demo.company("Birch Bakery"),
            document_type: DocumentType::Receipt,
            fields: fields(&server, 990),
        })
        .await;
    assert_eq!(next.outcome, Outcome::Applied);
}
