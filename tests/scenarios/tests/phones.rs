//! The scenarios of issue 5: simulated phones against the real server, with the network taken
//! away, answers lost and processes killed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kvits_scenarios::{Phone, World};
use shared::view::{ReceiptStatus, ScreenView};
use shared::{ApprovalEvent, MessageEvent, ReceiptEvent, SyncEvent};
use shared::{ComposeField, Event, FormField, Route, ViewModel};

fn receipts(v: &ViewModel) -> Option<&shared::view::ReceiptsView> {
    match &v.screen {
        ScreenView::Receipts(r) => Some(r),
        _ => None,
    }
}

fn form(v: &ViewModel) -> Option<&shared::view::ReceiptView> {
    match &v.screen {
        ScreenView::Receipt(r) => Some(r),
        _ => None,
    }
}

/// Captures a receipt of `pages` photos (fixtures `first..`), picks the first expense type and
/// the first card, types the amount and submits; waits until the phone has saved it.
async fn capture_and_submit(
    world: &World,
    phone: &mut Phone,
    first: usize,
    pages: usize,
    amount: &str,
) {
    phone.send(Event::Navigate(Route::Receipts));
    for page in 0..pages {
        phone.send(Event::Receipts(ReceiptEvent::PhotoCaptured {
            file_ref: world.photo(first + page).display().to_string(),
        }));
        phone
            .wait_for("the photo on the form", |v| {
                form(v).is_some_and(|f| f.pages.len() == page + 1)
            })
            .await;
    }
    let f = form(&phone.view()).cloned().expect("the form");
    let expense_type = f.expense_types.first().expect("an expense type").id.clone();
    let card = f.payment_methods.first().expect("a card").id.clone();
    phone.send(Event::Receipts(ReceiptEvent::EditForm(
        FormField::ExpenseType(Some(expense_type)),
    )));
    phone.send(Event::Receipts(ReceiptEvent::EditForm(
        FormField::PaymentMethod(Some(card)),
    )));
    phone.send(Event::Receipts(ReceiptEvent::EditForm(FormField::Amount(
        amount.into(),
    ))));
    phone.send(Event::Receipts(ReceiptEvent::Submit));
    phone
        .wait_for("the receipt saved", |v| receipts(v).is_some() && !v.saving)
        .await;
}

fn statuses(v: &ViewModel) -> Vec<ReceiptStatus> {
    receipts(v)
        .map(|r| r.receipts.iter().map(|row| row.status.clone()).collect())
        .unwrap_or_default()
}

/// Emma's expenses as the server has them.
async fn server_expenses(world: &World, who: &str) -> Vec<serde_json::Value> {
    let token = world.token(who).await;
    let client = "0190f000-0000-7000-8000-000000000001";
    let page = world
        .get_as(
            &token,
            &format!("/v1/sync/pull?client_id={client}&cursor=0&limit=1000"),
        )
        .await;
    page["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["op"] == "upsert" && c["entity"]["kind"] == "expense")
        .map(|c| c["entity"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_receipts_arrive_once_with_their_photos() {
    let world = World::start().await;
    let mut emma = world.phone("emma").await;
    emma.network(false);
    capture_and_submit(&world, &mut emma, 0, 2, "12.50").await;
    capture_and_submit(&world, &mut emma, 2, 1, "7.80").await;
    capture_and_submit(&world, &mut emma, 3, 1, "101.00").await;
    let v = emma
        .wait_for("three receipts queued", |v| {
            statuses(v).len() == 3 && statuses(v).iter().all(|s| *s == ReceiptStatus::Queued)
        })
        .await;
    assert_eq!(v.status.pending, 3);
    assert!(!v.status.online);
    assert!(
        server_expenses(&world, "emma").await.is_empty(),
        "nothing reached the server"
    );

    emma.network(true);
    emma.wait_for("all three sent", |v| {
        statuses(v).len() == 3
            && statuses(v).iter().all(|s| *s == ReceiptStatus::Sent)
            && v.status.pending == 0
    })
    .await;
    let on_server = server_expenses(&world, "emma").await;
    assert_eq!(on_server.len(), 3, "exactly once each");
    let mut amounts: Vec<i64> = on_server
        .iter()
        .map(|e| e["fields"]["amount"]["amount_minor"].as_i64().unwrap())
        .collect();
    amounts.sort_unstable();
    assert_eq!(amounts, [780, 1250, 10100]);
    let mut pages = 0;
    let token = world.token("emma").await;
    for e in &on_server {
        assert_eq!(e["status"], "submitted");
        for p in e["pages"].as_array().unwrap() {
            pages += 1;
            let sha = p["sha256"].as_str().unwrap();
            let local = std::fs::read(emma.data_dir().join("photos").join(format!("{sha}.jpg")))
                .expect("the photo on the phone");
            let remote = world.blob(&token, sha).await;
            assert_eq!(
                remote.as_slice(),
                local.as_slice(),
                "the server holds the same photo"
            );
        }
    }
    assert_eq!(pages, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_and_a_rejection_reach_the_employee() {
    let world = World::start().await;
    let mut emma = world.phone("emma").await;
    capture_and_submit(&world, &mut emma, 4, 1, "20").await;
    capture_and_submit(&world, &mut emma, 5, 1, "30").await;
    emma.wait_for("both sent", |v| {
        statuses(v)
            .iter()
            .filter(|s| **s == ReceiptStatus::Sent)
            .count()
            == 2
    })
    .await;

    let mut mark = world.phone("mark").await;
    mark.send(Event::Navigate(Route::Approvals));
    let v = mark
        .wait_for(
            "two tasks",
            |v| matches!(&v.screen, ScreenView::Approvals(a) if a.pending.len() == 2),
        )
        .await;
    let ScreenView::Approvals(a) = v.screen else {
        unreachable!()
    };
    assert!(a.pending.iter().all(|t| t.submitter == "Emma Employee"));
    mark.send(Event::Approvals(ApprovalEvent::Approve {
        expense_id: a.pending[0].id.clone(),
    }));
    mark.send(Event::Approvals(ApprovalEvent::Reject {
        expense_id: a.pending[1].id.clone(),
        reason: "Not a business expense".into(),
    }));
    mark.wait_for("both decisions sent", |v| {
        v.status.pending == 0 && !v.saving
    })
    .await;

    emma.send(Event::Navigate(Route::Receipts));
    emma.wait_for("the decisions on Emma's phone", |v| {
        let s = statuses(v);
        s.contains(&ReceiptStatus::Approved)
            && s.contains(&ReceiptStatus::Rejected {
                reason: Some("Not a business expense".into()),
            })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_approval_loses_to_an_earlier_rejection() {
    let world = World::start().await;
    let mut emma = world.phone("emma").await;
    capture_and_submit(&world, &mut emma, 6, 1, "55").await;
    emma.wait_for("sent", |v| statuses(v) == [ReceiptStatus::Sent])
        .await;

    let mut mark = world.phone("mark").await;
    let mut alice = world.phone("alice").await;
    for p in [&mut mark, &mut alice] {
        p.send(Event::Navigate(Route::Approvals));
    }
    let task = |v: &ViewModel| match &v.screen {
        ScreenView::Approvals(a) => a.pending.first().map(|t| t.id.clone()),
        _ => None,
    };
    let id = task(&mark.wait_for("Mark's task", |v| task(v).is_some()).await).unwrap();
    alice.wait_for("Alice's task", |v| task(v).is_some()).await;

    mark.network(false);
    mark.send(Event::Approvals(ApprovalEvent::Approve {
        expense_id: id.clone(),
    }));
    mark.wait_for("the approval saved offline", |v| v.status.pending == 1)
        .await;
    alice.send(Event::Approvals(ApprovalEvent::Reject {
        expense_id: id.clone(),
        reason: "Duplicate of last week's".into(),
    }));
    alice
        .wait_for("Alice's rejection sent", |v| {
            v.status.pending == 0 && !v.saving
        })
        .await;

    mark.network(true);
    let v = mark
        .wait_for("the conflict notice", |v| !v.notices.is_empty())
        .await;
    let text = &v.notices[0].text;
    assert!(
        text.starts_with("Your approval made offline at")
            && text.contains("was not applied — Alice Approver rejected it at"),
        "{text}"
    );
    emma.send(Event::Sync(SyncEvent::Now));
    emma.wait_for("the rejection everywhere", |v| {
        statuses(v)
            == [ReceiptStatus::Rejected {
                reason: Some("Duplicate of last week's".into()),
            }]
    })
    .await;
    let on_server = server_expenses(&world, "emma").await;
    assert_eq!(on_server[0]["status"], "rejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accountant_sees_who_read_her_message_and_gets_the_reply() {
    let world = World::start().await;
    let mut anna = world.phone("anna").await;
    anna.send(Event::Navigate(Route::Compose));
    anna.send(Event::Messages(MessageEvent::EditCompose(
        ComposeField::AllCompanies,
    )));
    anna.send(Event::Messages(MessageEvent::EditCompose(
        ComposeField::Subject("Year-end".into()),
    )));
    anna.send(Event::Messages(MessageEvent::EditCompose(
        ComposeField::Body("Please send all December receipts by 5 January.".into()),
    )));
    anna.send(Event::Messages(MessageEvent::Send));
    anna.wait_for("the message sent", |v| v.status.pending == 0 && !v.saving)
        .await;

    let mut clara = world.phone("clara").await;
    clara.send(Event::Navigate(Route::Inbox));
    let thread = |v: &ViewModel| match &v.screen {
        ScreenView::Inbox(i) => i
            .threads
            .iter()
            .find(|t| t.subject == "Year-end")
            .map(|t| (t.id.clone(), t.unread)),
        _ => None,
    };
    let (thread_id, unread) =
        thread(&clara.wait_for("the message", |v| thread(v).is_some()).await).unwrap();
    assert_eq!(unread, 1);
    clara.send(Event::Navigate(Route::Thread {
        thread_id: thread_id.clone(),
    }));
    clara
        .wait_for("read", |v| v.status.pending == 0 && !v.saving)
        .await;
    clara.send(Event::Messages(MessageEvent::Reply {
        body: "Will do.".into(),
    }));
    clara
        .wait_for("the reply sent", |v| v.status.pending == 0 && !v.saving)
        .await;

    anna.send(Event::Navigate(Route::Thread { thread_id }));
    let v = anna
        .wait_for("Clara's read time and reply", |v| match &v.screen {
            ScreenView::Thread(t) => {
                t.messages.len() == 2
                    && t.messages[0]
                        .reads
                        .iter()
                        .any(|r| r.name == "Clara Client" && r.read_at.is_some())
            }
            _ => false,
        })
        .await;
    let ScreenView::Thread(t) = v.screen else {
        unreachable!()
    };
    assert_eq!(t.messages[1].body, "Will do.");
    assert_eq!(t.messages[1].author, "Clara Client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_after_the_server_committed_is_applied_once() {
    let world = World::start().await;
    let mut emma = world.phone("emma").await;
    emma.net
        .drop_next_response(kvits_testkit::proxy::Match::path_prefix("/v1/sync/push"));
    capture_and_submit(&world, &mut emma, 7, 1, "9.99").await;
    emma.wait_for("sent after the retry", |v| {
        statuses(v) == [ReceiptStatus::Sent] && v.status.pending == 0
    })
    .await;
    assert_eq!(emma.net.dropped_responses(), 1, "an answer was lost");
    assert_eq!(server_expenses(&world, "emma").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_killed_mid_upload_resumes_at_the_servers_offset() {
    use kvits_testkit::proxy::{Match, Outcome};
    let world = World::start().await;
    let mut emma = world.phone("emma").await;
    // Photos go in 16 KiB pieces: an upload of many requests to be cut in the middle.
    emma.with_upload_chunks(16 * 1024);
    emma.wait_for("restarted", |v| {
        v.user.is_some() && v.status.last_synced.is_some()
    })
    .await;
    // The server stores the first piece; its answer is lost; the app is killed while it
    // waits to try again.
    let patch = || Match::path_prefix("/v1/uploads/").method("PATCH");
    emma.net.drop_next_response(patch());
    capture_and_submit(&world, &mut emma, 8, 1, "64.00").await;
    emma.wait_for("the cut upload", |v| v.status.problem.is_some())
        .await;
    assert_eq!(emma.net.dropped_responses(), 1);
    emma.kill();
    emma.restart();
    emma.wait_for("sent after the restart", |v| {
        statuses(v) == [ReceiptStatus::Sent] && v.status.pending == 0
    })
    .await;

    let on_server = server_expenses(&world, "emma").await;
    assert_eq!(on_server.len(), 1, "no duplicate receipt");
    let page = &on_server[0]["pages"][0];
    let sha = page["sha256"].as_str().unwrap();
    let size = page["size"].as_u64().unwrap();
    let local = std::fs::read(emma.data_dir().join("photos").join(format!("{sha}.jpg"))).unwrap();
    assert_eq!(local.len() as u64, size);
    // Every piece crossed the network once: the restart went on from the server's offset.
    let pieces = size.div_ceil(16 * 1024);
    let patches: Vec<_> = emma
        .net
        .log()
        .into_iter()
        .filter(|e| e.method == "PATCH")
        .collect();
    let sent = patches
        .iter()
        .filter(|e| matches!(e.outcome, Outcome::Forwarded | Outcome::DroppedResponse))
        .count() as u64;
    assert_eq!(sent, pieces, "{patches:?}");
    let token = world.token("emma").await;
    let remote = world.blob(&token, sha).await;
    assert_eq!(remote, local, "one blob, uncorrupted");
}
