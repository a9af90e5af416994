//! The sync engine under lost answers, full disks, busy servers, outdated apps and resets.

use super::receipts;
use crate::effects::StoreErrorKind;
use crate::sim::Fault;
use crate::sim::{FakeServer, Phone};
use crate::view::ScreenView;

#[test]
fn a_lost_answer_after_the_server_applied_is_retried_and_applied_once() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.http_faults.push_back(Fault::LoseAnswer);
    phone.capture(&mut server, "lost");
    // The push's answer was lost: the engine backs off; the timer brings it back.
    assert!(phone.view().status.problem.is_some());
    assert_eq!(phone.view().status.pending, 1);
    phone.fire_timers(&mut server);
    assert_eq!(phone.view().status.pending, 0);
    assert_eq!(server.state.expenses().count(), 1);
    assert!(server.applied.values().all(|n| *n == 1));
}

#[test]
fn a_full_disk_saves_nothing_and_says_so() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.store_fault = Some(StoreErrorKind::Full);
    phone.capture(&mut server, "big");
    assert!(phone.view().alert.unwrap().contains("storage is full"));
    assert_eq!(phone.view().status.pending, 0);
    assert!(receipts(&phone).receipts.is_empty());
    assert!(
        phone
            .stored()
            .keys()
            .all(|(c, _)| *c != crate::effects::Collection::Outbox)
    );
    phone.capture(&mut server, "big");
    assert!(matches!(phone.view().screen, ScreenView::Receipt(_)));
    assert_eq!(phone.model.predicted.expenses().count(), 1);
}

#[test]
fn an_outdated_app_keeps_its_queue_and_asks_for_an_update() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    server.protocol = 2;
    phone.capture(&mut server, "waiting");
    let status = phone.view().status;
    assert!(status.needs_update);
    assert_eq!(status.pending, 1);
    assert_eq!(
        phone.model.sync.step,
        crate::model::Step::Idle,
        "no retries against a server that cannot accept them"
    );
}

#[test]
fn a_busy_server_is_retried_with_backoff() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone
        .http_faults
        .extend([Fault::Unavailable, Fault::Unavailable]);
    phone.capture(&mut server, "busy");
    assert_eq!(phone.model.sync.attempt, 1);
    phone.fire_timers(&mut server);
    phone.fire_timers(&mut server);
    assert_eq!(phone.view().status.pending, 0);
    assert_eq!(phone.model.sync.attempt, 0);
    assert_eq!(phone.view().status.problem, None);
}

#[test]
fn a_reset_replaces_the_mirror_and_keeps_the_queue() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    // A row the server no longer has (its history was compacted past our cursor).
    let ghost = kvits_protocol::Entity::ExpenseType(kvits_protocol::ExpenseType {
        id: kvits_protocol::ExpenseTypeId(uuid::Uuid::from_u128(99)),
        company_id: server.tenant.birch,
        code: "GHOST".into(),
        name: "Ghost".into(),
        active: true,
    });
    let mut store = phone.stored();
    store.insert(
        (
            crate::effects::Collection::Mirror,
            format!("expense_type/{}", ghost.id()),
        ),
        serde_json::to_string(&ghost).unwrap(),
    );
    let mut phone = Phone::restart(&mut server, store, false);
    phone.capture(&mut server, "during-reset");
    use kvits_domain::State as _;
    assert!(
        phone
            .model
            .predicted
            .expense_type(kvits_protocol::ExpenseTypeId(uuid::Uuid::from_u128(99)))
            .is_some()
    );
    server.reset_next_pull = true;
    phone.go_online(&mut server);
    assert!(
        phone
            .model
            .predicted
            .expense_type(kvits_protocol::ExpenseTypeId(uuid::Uuid::from_u128(99)))
            .is_none()
    );
    assert!(
        phone
            .model
            .predicted
            .expense_type(server.tenant.fuel)
            .is_some()
    );
    assert_eq!(
        server.state.expenses().count(),
        1,
        "the queue survived the reset"
    );
    assert_eq!(phone.view().status.pending, 0);
}

/// The server is restored from a backup taken between two receipts: the phone finds out at its
/// next sync, takes a new client id and sends again what it holds; the server ends with exactly
/// the phone's receipts, each once, photos included, and the user is told of no refusal.
#[test]
fn a_server_restored_from_an_older_backup_gets_back_what_the_phone_sent() {
    use std::collections::BTreeSet;

    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.capture(&mut server, "before");
    super::fill_and_submit(&mut phone, &mut server, "12.50");
    let backup = server.clone();
    phone.capture(&mut server, "after");
    super::fill_and_submit(&mut phone, &mut server, "7.20");
    phone.settle(&mut server);
    let held = |state: &kvits_domain::MemoryState| -> BTreeSet<String> {
        state
            .expenses()
            .map(|e| {
                format!(
                    "{} {:?} {:?} {:?}",
                    e.id,
                    e.fields.amount,
                    e.status,
                    e.pages.iter().map(|p| p.sha256.clone()).collect::<Vec<_>>()
                )
            })
            .collect()
    };
    let on_phone = held(&phone.model.predicted);
    assert_eq!(on_phone.len(), 2);
    assert_eq!(held(&server.state), on_phone);
    let old_client = phone.client_id();

    server.restore(&backup);
    assert_eq!(server.state.expenses().count(), 1, "the backup had one");
    phone.send(crate::Event::Sync(crate::model::SyncEvent::Now));
    phone.settle(&mut server);

    assert_ne!(phone.client_id(), old_client, "a new client id");
    assert_eq!(
        held(&server.state),
        on_phone,
        "the server has what the phone holds"
    );
    assert_eq!(held(&phone.model.predicted), on_phone);
    assert!(
        server.applied.values().all(|n| *n == 1),
        "nothing applied twice"
    );
    assert_eq!(phone.view().status.pending, 0);
    assert_eq!(phone.view().status.problem, None);
    assert!(
        phone.view().notices.is_empty(),
        "{:?}",
        phone.view().notices
    );
    // Every photo is on the server again.
    for e in server.state.expenses() {
        for p in &e.pages {
            assert!(server.blobs.contains(&(e.company_id, p.sha256.clone())));
        }
    }
}
