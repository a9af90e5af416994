//! insta snapshots of every screen's view model in its main states.
//!
//! Each test drives phones against one `FakeServer` as users would, then records the whole
//! `ViewModel` (screen, status bar, user, tabs, notices, alert). Everything is deterministic:
//! the phones' clocks start at the server's `t0` (09:00 UTC) and tick one second per reading,
//! ids come from the seeded generator, and times show in the phones' +02:00 offset.

use chrono::Duration;
use kvits_domain::State as _;
use kvits_protocol::{DecisionKind, Mutation};

use crate::effects::{StoreError, StoreErrorKind, StoreResponse};
use crate::event::Internal;
use crate::event::{ApprovalEvent, MessageEvent, ReceiptEvent, SessionEvent, SyncEvent};
use crate::sim::{FakeServer, Phone};
use crate::view::ScreenView;
use crate::{ComposeField, Event, FormField, Model, Route};

/// Records the phone's whole view model under `name`.
fn snap(name: &str, phone: &Phone) {
    insta::assert_json_snapshot!(name, phone.view());
}

fn signed_in(server: &mut FakeServer, who: &str) -> Phone {
    let mut phone = Phone::new(server);
    phone.sign_in(server, who);
    phone
}

/// Time passes for the server and for `phones` alike.
fn wait(server: &mut FakeServer, phones: &mut [&mut Phone], d: Duration) {
    server.now += d;
    for p in phones {
        p.clock += d;
    }
}

/// Fills the open expense form: Fuel, Emma's Visa, `amount` EUR at `merchant`, with a note.
fn fill_form(phone: &mut Phone, server: &FakeServer, merchant: &str, amount: &str) {
    let t = &server.tenant;
    for field in [
        FormField::ExpenseType(Some(t.fuel.to_string())),
        FormField::PaymentMethod(Some(t.emma_card.to_string())),
        FormField::Amount(amount.into()),
        FormField::Merchant(merchant.into()),
        FormField::Note("Trip to the flour mill".into()),
    ] {
        phone.send(Event::Receipts(ReceiptEvent::EditForm(field)));
    }
}

/// Captures `photo`, fills the form with 45,90 and submits (or saves a draft), then settles.
fn receipt(phone: &mut Phone, server: &mut FakeServer, photo: &str, merchant: &str, submit: bool) {
    phone.capture(server, photo);
    fill_form(phone, server, merchant, "45,90");
    phone.send(if submit {
        Event::Receipts(ReceiptEvent::Submit)
    } else {
        Event::Receipts(ReceiptEvent::SaveDraft)
    });
    phone.settle(server);
}

/// The id of the receipt from `merchant` as the server has it.
fn expense_id(server: &FakeServer, merchant: &str) -> String {
    server
        .state
        .expenses()
        .find(|e| e.fields.merchant.as_deref() == Some(merchant))
        .expect("the receipt is on the server")
        .id
        .to_string()
}

/// `who` decides the receipt from `merchant` directly on the server (from another device).
fn decide_on_server(
    server: &mut FakeServer,
    who: &str,
    merchant: &str,
    decision: DecisionKind,
    reason: Option<&str>,
) {
    let e = server
        .state
        .expenses()
        .find(|e| e.fields.merchant.as_deref() == Some(merchant))
        .expect("the receipt is on the server")
        .clone();
    let user = server.tenant.user(who);
    let decide = Mutation::DecideExpense {
        expense_id: e.id,
        seen_revision: e.revision,
        decision,
        reason: reason.map(Into::into),
    };
    server
        .apply_as(user, &decide)
        .expect("the server accepts the decision");
}

/// The id of the first conversation in the phone's inbox.
fn first_thread(phone: &Phone) -> String {
    match phone.view().screen {
        ScreenView::Inbox(inbox) => inbox.threads[0].id.clone(),
        other => panic!("expected the inbox, got {other:?}"),
    }
}

// --- Start and sign in ---

#[test]
fn loading_before_start() {
    insta::assert_json_snapshot!("loading", Model::default().view());
}

#[test]
fn broken_when_the_device_data_cannot_be_read() {
    // The harness's store never fails a load, so the core is driven by hand here.
    let mut model = Model::default();
    let _ = model.update(Event::Start {
        server_url: crate::sim::SERVER.into(),
        entropy: vec![42; 32],
        device_name: "Test phone".into(),
        utc_offset_minutes: 120,
    });
    let _ = model.update(Event::Internal(Internal::Loaded(StoreResponse::Failed(
        StoreError {
            kind: StoreErrorKind::Other,
            message: "database disk image is malformed".into(),
        },
    ))));
    insta::assert_json_snapshot!("broken", model.view());
}

#[test]
fn sign_in_screen() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    snap("sign_in_empty", &phone);

    phone.send(Event::Session(SessionEvent::SignIn {
        email: kvits_demo::EMMA.email.into(),
        password: "wrong".into(),
    }));
    phone.settle(&mut server);
    snap("sign_in_wrong_password", &phone);
}

// --- Receipts (Emma) ---

#[test]
fn receipts_list_in_every_status() {
    let mut server = FakeServer::new();
    let mut emma = signed_in(&mut server, "emma");
    snap("receipts_empty", &emma);

    receipt(&mut emma, &mut server, "photo-sent", "Neste", true);
    receipt(&mut emma, &mut server, "photo-approved", "Circle K", true);
    receipt(&mut emma, &mut server, "photo-rejected", "Shell", true);
    receipt(&mut emma, &mut server, "photo-returned", "St1", true);
    wait(&mut server, &mut [&mut emma], Duration::hours(2));
    decide_on_server(&mut server, "mark", "Circle K", DecisionKind::Approve, None);
    let private = Some("Private trip, not a company expense");
    decide_on_server(&mut server, "alice", "Shell", DecisionKind::Reject, private);
    let vat = Some("The VAT number is cut off; take the photo again");
    decide_on_server(&mut server, "alice", "St1", DecisionKind::Return, vat);
    emma.send(Event::Sync(SyncEvent::Now));
    emma.settle(&mut server);
    receipt(&mut emma, &mut server, "photo-draft", "Teboil", false);
    emma.go_offline();
    receipt(&mut emma, &mut server, "photo-queued", "ABC", true);
    snap("receipts_list", &emma);

    let rejected = expense_id(&server, "Shell");
    emma.send(Event::Navigate(Route::Receipt {
        expense_id: rejected,
    }));
    snap("receipt_rejected_detail", &emma);
}

#[test]
fn receipt_form() {
    let mut server = FakeServer::new();
    let mut emma = signed_in(&mut server, "emma");
    emma.capture(&mut server, "photo-1");
    snap("receipt_form_fresh", &emma);

    emma.send(Event::Receipts(ReceiptEvent::Submit));
    emma.settle(&mut server);
    snap("receipt_form_errors", &emma);

    fill_form(&mut emma, &server, "Neste", "1 234,5");
    snap("receipt_form_filled", &emma);
}

#[test]
fn receipt_the_server_did_not_accept() {
    let mut server = FakeServer::new();
    let mut emma = signed_in(&mut server, "emma");
    emma.go_offline();
    receipt(&mut emma, &mut server, "photo-1", "Neste", true);
    // Meanwhile Anna retires the expense type Emma chose.
    let fuel = server.tenant.fuel;
    let anna = server.tenant.user("anna");
    let mut retired = server.state.expense_type(fuel).expect("fuel exists");
    retired.active = false;
    let retire = Mutation::PutExpenseType(retired);
    server.apply_as(anna, &retire).expect("Anna may retire it");
    emma.go_online(&mut server);
    snap("receipts_not_accepted", &emma);
}

// --- Approvals (Mark) ---

/// Emma submits three receipts; an hour later Mark approves the first on another device, then
/// signs in on this phone and opens his approvals.
fn mark_with_tasks(server: &mut FakeServer) -> Phone {
    let mut emma = signed_in(server, "emma");
    receipt(&mut emma, server, "photo-a", "Neste", true);
    receipt(&mut emma, server, "photo-b", "Circle K", true);
    receipt(&mut emma, server, "photo-c", "Shell", true);
    wait(server, &mut [], Duration::hours(1));
    decide_on_server(server, "mark", "Neste", DecisionKind::Approve, None);
    let mut mark = signed_in(server, "mark");
    mark.send(Event::Navigate(Route::Approvals));
    mark
}

#[test]
fn approvals_list_and_detail() {
    let mut server = FakeServer::new();
    let mut mark = mark_with_tasks(&mut server);
    snap("approvals_list", &mark);

    let id = expense_id(&server, "Circle K");
    mark.send(Event::Navigate(Route::Approval {
        expense_id: id.clone(),
    }));
    snap("approval_detail", &mark);

    mark.send(Event::Approvals(ApprovalEvent::Reject {
        expense_id: id,
        reason: "  ".into(),
    }));
    mark.settle(&mut server);
    snap("approval_reject_without_reason", &mark);

    let decided = expense_id(&server, "Neste");
    mark.send(Event::Navigate(Route::Approval {
        expense_id: decided,
    }));
    snap("approval_detail_decided", &mark);
}

#[test]
fn approval_lost_race_shows_a_notice() {
    let mut server = FakeServer::new();
    let mut mark = mark_with_tasks(&mut server);
    let id = expense_id(&server, "Shell");
    mark.go_offline();
    mark.send(Event::Navigate(Route::Approval {
        expense_id: id.clone(),
    }));
    mark.send(Event::Approvals(ApprovalEvent::Approve { expense_id: id }));
    mark.settle(&mut server);
    snap("approval_approved_offline", &mark);

    wait(&mut server, &mut [&mut mark], Duration::minutes(5));
    let duplicate = Some("Duplicate of last week's receipt");
    decide_on_server(
        &mut server,
        "alice",
        "Shell",
        DecisionKind::Reject,
        duplicate,
    );
    wait(&mut server, &mut [&mut mark], Duration::minutes(5));
    mark.go_online(&mut server);
    snap("approval_conflict_notice", &mark);
}

// --- Messages (Anna and Clara) ---

/// Anna writes to Birch Bakery and the message reaches the server.
fn anna_writes(server: &mut FakeServer) -> Phone {
    let mut anna = signed_in(server, "anna");
    let birch = server.tenant.birch.to_string();
    anna.send(Event::Navigate(Route::Compose));
    for field in [
        ComposeField::ToggleCompany(birch),
        ComposeField::Subject("November receipts".into()),
        ComposeField::Body("Hello Clara,\nplease send the bank statement for November.".into()),
    ] {
        anna.send(Event::Messages(MessageEvent::EditCompose(field)));
    }
    anna.send(Event::Messages(MessageEvent::Send));
    anna.settle(server);
    anna
}

#[test]
fn compose_screen() {
    let mut server = FakeServer::new();
    let mut anna = signed_in(&mut server, "anna");
    anna.send(Event::Navigate(Route::Compose));
    snap("compose_empty", &anna);

    anna.send(Event::Messages(MessageEvent::EditCompose(
        ComposeField::Subject("VAT".into()),
    )));
    anna.send(Event::Messages(MessageEvent::EditCompose(
        ComposeField::Body("Due Friday.".into()),
    )));
    anna.send(Event::Messages(MessageEvent::Send));
    anna.settle(&mut server);
    snap("compose_error_no_company", &anna);
}

#[test]
fn inbox_and_thread_with_read_receipts() {
    let mut server = FakeServer::new();
    let mut anna = anna_writes(&mut server);
    snap("anna_inbox_after_sending", &anna);

    wait(&mut server, &mut [&mut anna], Duration::minutes(30));
    let mut clara = signed_in(&mut server, "clara");
    snap("clara_inbox_unread", &clara);

    let thread_id = first_thread(&clara);
    clara.send(Event::Navigate(Route::Thread {
        thread_id: thread_id.clone(),
    }));
    clara.settle(&mut server);
    snap("clara_thread", &clara);

    anna.send(Event::Sync(SyncEvent::Now));
    anna.settle(&mut server);
    anna.send(Event::Navigate(Route::Thread { thread_id }));
    anna.settle(&mut server);
    snap("anna_thread_read_by_clara", &anna);
}

// --- Status bar ---

#[test]
fn status_offline_with_pending_changes() {
    let mut server = FakeServer::new();
    let mut emma = signed_in(&mut server, "emma");
    emma.go_offline();
    receipt(&mut emma, &mut server, "photo-1", "Neste", true);
    snap("status_offline_pending", &emma);
}

#[test]
fn status_when_the_app_is_too_old() {
    let mut server = FakeServer::new();
    let mut emma = signed_in(&mut server, "emma");
    server.protocol = 2;
    emma.send(Event::Sync(SyncEvent::Now));
    emma.settle(&mut server);
    snap("status_upgrade_required", &emma);
}

#[test]
fn status_when_the_session_ended() {
    let mut server = FakeServer::new();
    let mut emma = signed_in(&mut server, "emma");
    server.revoke_all();
    emma.send(Event::Sync(SyncEvent::Now));
    emma.settle(&mut server);
    snap("status_session_ended", &emma);
}

#[test]
fn status_when_the_session_ended_with_unsent_changes() {
    let mut server = FakeServer::new();
    let mut emma = signed_in(&mut server, "emma");
    emma.go_offline();
    receipt(&mut emma, &mut server, "photo-1", "Neste", false);
    server.revoke_all();
    emma.go_online(&mut server);
    snap("status_session_ended_pending", &emma);
}

#[test]
fn catalog_screen() {
    let mut server = FakeServer::new();
    let mut anna = signed_in(&mut server, "anna");
    anna.send(Event::Navigate(Route::Catalog));
    snap("catalog", &anna);
}
