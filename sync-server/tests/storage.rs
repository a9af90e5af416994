//! What uploads may take of the server's storage: only people whose role stores files upload;
//! each person, each firm and each person's uploads in progress have a bound; a disk short of
//! space takes no uploads; and stored files that nothing names are deleted after a grace time.
//! Every refusal is a 507 the clients retry later, and records nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{
    BIRCH, Device, TestServer, birch_meal, receipt, send_whole, start_upload, submitted_receipt,
    upload,
};
use kvits_protocol::{ErrorBody, ErrorCode};
use kvits_sync_server::uploads::{StorageLimits, collect_unreferenced};

/// `POST /v1/uploads` for `data`: the answer's status, and its body when it is an error.
async fn start(srv: &TestServer, d: &Device, data: &[u8]) -> (u16, Option<ErrorBody>) {
    let r = start_upload(srv, d, data).await;
    let status = r.status().as_u16();
    if status == 507 {
        assert!(
            r.headers().contains_key("retry-after"),
            "a 507 says when to try again"
        );
    }
    (status, r.json::<ErrorBody>().await.ok())
}

async fn uploads_in_progress(srv: &TestServer) -> i64 {
    srv.server
        .state()
        .db
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM uploads", [], |r| r.get(0))?))
        .await
        .unwrap()
}

fn with_storage(
    adjust: impl FnOnce(&mut StorageLimits),
) -> impl FnOnce(&mut kvits_sync_server::Config) {
    move |config| adjust(&mut config.storage)
}

#[tokio::test]
async fn a_person_s_files_stop_at_their_quota_and_others_go_on() {
    let photo = receipt(0);
    let one_and_a_half = photo.len() as u64 * 3 / 2;
    let srv = TestServer::start_with(with_storage(|s| s.user_bytes = one_and_a_half)).await;
    let emma = srv.device("emma@demo.kvits").await;
    upload(&srv, &emma, &photo).await;
    let before = uploads_in_progress(&srv).await;
    let (status, body) = start(&srv, &emma, &receipt(1)).await;
    assert_eq!(status, 507);
    let body = body.unwrap();
    assert_eq!(body.code, ErrorCode::QuotaExceeded);
    assert!(
        body.message.contains("ask your accounting firm"),
        "{}",
        body.message
    );
    assert_eq!(
        uploads_in_progress(&srv).await,
        before,
        "nothing was recorded"
    );
    // The same bytes again cost nothing (they are stored), and Mark has his own share.
    assert_eq!(start(&srv, &emma, &photo).await.0, 200);
    let mark = srv.device("mark@demo.kvits").await;
    upload(&srv, &mark, &receipt(1)).await;
}

#[tokio::test]
async fn a_firm_s_files_stop_at_its_quota() {
    let photo = receipt(0);
    let srv =
        TestServer::start_with(with_storage(|s| s.firm_bytes = photo.len() as u64 * 3 / 2)).await;
    let emma = srv.device("emma@demo.kvits").await;
    upload(&srv, &emma, &photo).await;
    let mark = srv.device("mark@demo.kvits").await;
    let (status, body) = start(&srv, &mark, &receipt(1)).await;
    assert_eq!(status, 507);
    let body = body.unwrap();
    assert_eq!(body.code, ErrorCode::QuotaExceeded);
    assert!(
        body.message.contains("accounting firm's files"),
        "{}",
        body.message
    );
}

#[tokio::test]
async fn a_person_has_a_few_uploads_in_progress_at_once() {
    let srv = TestServer::start_with(with_storage(|s| s.partial_uploads_per_user = 2)).await;
    let emma = srv.device("emma@demo.kvits").await;
    assert_eq!(start(&srv, &emma, &receipt(0)).await.0, 201);
    assert_eq!(start(&srv, &emma, &receipt(1)).await.0, 201);
    let (status, body) = start(&srv, &emma, &receipt(2)).await;
    assert_eq!(status, 507);
    assert_eq!(body.unwrap().code, ErrorCode::QuotaExceeded);
    // Resuming one of the two is not a new upload.
    assert_eq!(start(&srv, &emma, &receipt(0)).await.0, 200);
    // Finishing one makes room.
    upload_finishing(&srv, &emma, &receipt(1)).await;
    assert_eq!(start(&srv, &emma, &receipt(2)).await.0, 201);
}

/// Finishes an upload that was started already (the POST finds it again).
async fn upload_finishing(srv: &TestServer, d: &Device, data: &[u8]) {
    let r = start_upload(srv, d, data).await;
    assert_eq!(r.status(), 200);
    let status: kvits_protocol::UploadStatus = r.json().await.unwrap();
    assert_eq!(
        send_whole(srv, d, status.upload_id, data).await.status(),
        204
    );
}

#[tokio::test]
async fn a_disk_short_of_space_takes_no_uploads() {
    // Whatever this machine's disk has free is less than this.
    let srv = TestServer::start_with(with_storage(|s| s.min_free_disk = u64::MAX)).await;
    let emma = srv.device("emma@demo.kvits").await;
    let (status, body) = start(&srv, &emma, &receipt(0)).await;
    assert_eq!(status, 507);
    let body = body.unwrap();
    assert_eq!(body.code, ErrorCode::InsufficientStorage);
    assert!(body.message.contains("kept"), "{}", body.message);
    assert_eq!(uploads_in_progress(&srv).await, 0);
}

#[tokio::test]
async fn someone_whose_role_stores_nothing_uploads_nothing() {
    let srv = TestServer::start().await;
    let otto = srv.device("otto@demo.kvits").await;
    let id = srv.demo.user("otto@demo.kvits").to_string();
    // Otto was removed from his every company: signed in still, but nothing to store for.
    srv.server
        .state()
        .db
        .write(move |c| {
            c.execute("DELETE FROM memberships WHERE user_id = ?1", [id])?;
            Ok(())
        })
        .await
        .unwrap();
    let (status, body) = start(&srv, &otto, &receipt(0)).await;
    assert_eq!(status, 403);
    assert_eq!(body.unwrap().code, ErrorCode::Forbidden);
    assert_eq!(uploads_in_progress(&srv).await, 0);
}

#[tokio::test]
async fn stored_files_that_nothing_names_are_deleted_after_the_grace_time() {
    let srv = TestServer::start_with(with_storage(|s| s.unreferenced_grace = Duration::ZERO)).await;
    let mut emma = srv.device("emma@demo.kvits").await;
    // A photo her receipt names, and one whose push never came.
    let fields = birch_meal(1_250, "Rimi", 20);
    let (_, kept) = submitted_receipt(&srv, &mut emma, BIRCH, fields, 0).await;
    let orphan = upload(&srv, &emma, &receipt(1)).await.sha256;
    // Created "now" is not before "now": wait a moment past the zero grace.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let deleted = collect_unreferenced(srv.server.state()).await.unwrap();
    assert_eq!(deleted, 1);
    let head = |sha: String| {
        srv.http
            .head(srv.url(&format!("/v1/blobs/{sha}")))
            .bearer_auth(&emma.token)
            .send()
    };
    assert_eq!(head(kept.clone()).await.unwrap().status(), 200);
    assert_eq!(head(orphan.clone()).await.unwrap().status(), 404);
    let firm = srv.demo.firm;
    let blobs = &srv.server.state().blobs;
    assert!(
        !blobs
            .exists(firm, &orphan, kvits_sync_server::blobs::Variant::Original)
            .await
            .unwrap(),
        "its bytes are gone from the store too"
    );
    assert!(
        blobs
            .exists(firm, &kept, kvits_sync_server::blobs::Variant::Original)
            .await
            .unwrap()
    );
    // Nothing more to collect; the orphan can be uploaded again.
    assert_eq!(collect_unreferenced(srv.server.state()).await.unwrap(), 0);
    upload(&srv, &emma, &receipt(1)).await;
}

#[tokio::test]
async fn a_page_shows_what_the_server_stored_not_what_the_client_claimed() {
    let srv = TestServer::start().await;
    let mut emma = srv.device("emma@demo.kvits").await;
    let truth = upload(&srv, &emma, &receipt(0)).await;
    let claimed = kvits_protocol::ReceiptPage {
        size: 1,
        content_type: "image/png".into(),
        width: 65_000,
        height: 1,
        ..truth.clone()
    };
    let id = kvits_protocol::ExpenseId(uuid::Uuid::now_v7());
    common::applied(
        &mut emma,
        kvits_protocol::Mutation::CreateExpense {
            expense_id: id,
            company_id: BIRCH,
            document_type: kvits_protocol::DocumentType::Receipt,
            fields: birch_meal(990, "Lido", 21),
        },
    )
    .await;
    common::applied(
        &mut emma,
        kvits_protocol::Mutation::AttachReceipt {
            expense_id: id,
            pages: vec![claimed],
        },
    )
    .await;
    let pages = emma
        .pull_all()
        .await
        .into_iter()
        .rev()
        .find_map(|change| match change.op {
            kvits_protocol::ChangeOp::Upsert { entity } => match *entity {
                kvits_protocol::Entity::Expense(x) if x.id == id => Some(x.pages),
                _ => None,
            },
            _ => None,
        })
        .expect("the expense is pulled");
    assert_eq!(pages, vec![truth]);
}
