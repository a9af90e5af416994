//! Random interleavings of user actions and effect outcomes (success, failure, timeout, an
//! answer lost after the server applied it, app restart) keep the outbox's promises:
//! - `seq`s are contiguous and the server applies each exactly once;
//! - every mutation ends with exactly one result (once the network is back, nothing stays);
//! - nothing captured disappears;
//! - the view never shows a receipt as sent before the server acknowledged it.

use std::collections::BTreeMap;

use kvits_protocol::{DecisionKind, ExpenseId, ExpenseStatus, Mutation};
use proptest::prelude::*;

use crate::effects::StoreErrorKind;
use crate::event::{ReceiptEvent, SyncEvent};
use crate::sim::{FakeServer, Fault, Phone};
use crate::view::ReceiptStatus;
use crate::{Event, FormField, Route};

#[derive(Clone, Debug)]
enum Op {
    Capture,
    /// Another photo for the open receipt.
    AddPage,
    OpenReceipt(usize),
    FillAndSubmit(u32),
    SaveDraft,
    Offline,
    Online,
    Fault(Fault),
    FailNextCommit,
    Restart {
        online: bool,
    },
    FireTimers,
    SyncNow,
    /// An approver decides on the server (online, another device).
    Decide {
        pick: usize,
        approve: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Capture),
        1 => Just(Op::AddPage),
        2 => (0usize..8).prop_map(Op::OpenReceipt),
        3 => (1u32..50_000).prop_map(Op::FillAndSubmit),
        1 => Just(Op::SaveDraft),
        2 => Just(Op::Offline),
        2 => Just(Op::Online),
        2 => prop_oneof![Just(Fault::Drop), Just(Fault::LoseAnswer), Just(Fault::Unavailable)]
            .prop_map(Op::Fault),
        1 => Just(Op::FailNextCommit),
        1 => any::<bool>().prop_map(|online| Op::Restart { online }),
        2 => Just(Op::FireTimers),
        1 => Just(Op::SyncNow),
        1 => (0usize..8, any::<bool>()).prop_map(|(pick, approve)| Op::Decide { pick, approve }),
    ]
}

/// What the test knows was captured: expense id → photo hashes.
type Captured = BTreeMap<ExpenseId, Vec<String>>;

fn record_captures(phone: &Phone, captured: &mut Captured) {
    for e in phone.model.predicted.expenses() {
        let entry = captured.entry(e.id).or_default();
        for p in &e.pages {
            if !entry.contains(&p.sha256) {
                entry.push(p.sha256.clone());
            }
        }
    }
}

fn check(phone: &Phone, server: &FakeServer, captured: &Captured) -> Result<(), TestCaseError> {
    let local = &phone.model.local;
    // Contiguous seqs, and the next one follows the last.
    let seqs: Vec<u64> = local.outbox.keys().copied().collect();
    for w in seqs.windows(2) {
        prop_assert_eq!(w[1], w[0] + 1, "outbox seqs have a gap: {:?}", seqs);
    }
    if let (Some(last), Some(device)) = (seqs.last(), &local.device) {
        prop_assert_eq!(device.next_seq, last + 1);
    }
    if let Some(device) = &local.device {
        prop_assert!(server.last_seq(device.client_id) < device.next_seq);
    }
    // Exactly once on the server.
    prop_assert!(
        server.applied.values().all(|n| *n == 1),
        "applied twice: {:?}",
        server.applied
    );
    // Nothing captured disappears (nothing here deletes).
    for (id, shas) in captured {
        let e = kvits_domain::State::expense(&phone.model.predicted, *id);
        prop_assert!(e.is_some(), "receipt {} disappeared", id);
        for sha in shas {
            prop_assert!(local.photos.contains_key(sha), "photo {} disappeared", sha);
        }
    }
    // Sent only once the server has it.
    for e in phone.model.predicted.expenses() {
        let (status, _) = phone.model.receipt_status(e);
        if matches!(
            status,
            ReceiptStatus::Sent | ReceiptStatus::Approved | ReceiptStatus::Rejected { .. }
        ) {
            let on_server = kvits_domain::State::expense(&server.state, e.id);
            prop_assert!(
                on_server.as_ref().is_some_and(|s| s.submitted_at.is_some()),
                "receipt {} shows {:?} but the server has {:?}",
                e.id,
                status,
                on_server.map(|s| s.status)
            );
        }
    }
    Ok(())
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    let mut captured = Captured::new();
    let mut photos = 0;
    let tenant = server.tenant.clone();
    for op in ops {
        match op {
            Op::Capture => {
                photos += 1;
                phone.send(Event::Navigate(Route::Receipts));
                phone.capture(&mut server, &format!("photo-{photos}"));
            }
            Op::AddPage => {
                photos += 1;
                phone.capture(&mut server, &format!("photo-{photos}"));
            }
            Op::OpenReceipt(i) => {
                let ids: Vec<ExpenseId> = phone.model.predicted.expenses().map(|e| e.id).collect();
                if !ids.is_empty() {
                    phone.send(Event::Navigate(Route::Receipt {
                        expense_id: ids[i % ids.len()].to_string(),
                    }));
                }
            }
            Op::FillAndSubmit(cents) => {
                phone.send(Event::Receipts(ReceiptEvent::EditForm(
                    FormField::ExpenseType(Some(tenant.fuel.to_string())),
                )));
                phone.send(Event::Receipts(ReceiptEvent::EditForm(
                    FormField::PaymentMethod(Some(tenant.emma_card.to_string())),
                )));
                phone.send(Event::Receipts(ReceiptEvent::EditForm(FormField::Amount(
                    format!("{}.{:02}", cents / 100, cents % 100),
                ))));
                phone.send(Event::Receipts(ReceiptEvent::Submit));
            }
            Op::SaveDraft => phone.send(Event::Receipts(ReceiptEvent::SaveDraft)),
            Op::Offline => phone.go_offline(),
            Op::Online => phone.go_online(&mut server),
            Op::Fault(f) => phone.http_faults.push_back(f),
            Op::FailNextCommit => phone.store_fault = Some(StoreErrorKind::Other),
            Op::Restart { online } => {
                let store = phone.stored();
                phone = Phone::restart(&mut server, store, online);
            }
            Op::FireTimers => phone.fire_timers(&mut server),
            Op::SyncNow => phone.send(Event::Sync(SyncEvent::Now)),
            Op::Decide { pick, approve } => {
                let submitted: Vec<_> = server
                    .state
                    .expenses()
                    .filter(|e| e.status == ExpenseStatus::Submitted)
                    .map(|e| (e.id, e.revision))
                    .collect();
                if !submitted.is_empty() {
                    let (id, revision) = submitted[pick % submitted.len()];
                    let _ = server.apply_as(
                        tenant.user("alice"),
                        &Mutation::DecideExpense {
                            expense_id: id,
                            seen_revision: revision,
                            decision: if approve {
                                DecisionKind::Approve
                            } else {
                                DecisionKind::Reject
                            },
                            reason: (!approve).then(|| "no".to_string()),
                        },
                    );
                }
            }
        }
        phone.settle(&mut server);
        record_captures(&phone, &mut captured);
        check(&phone, &server, &captured)?;
    }
    // The network comes back for good: everything goes, exactly once.
    phone.http_faults.clear();
    phone.store_fault = None;
    phone.go_online(&mut server);
    phone.send(Event::Sync(SyncEvent::Now));
    phone.settle(&mut server);
    // What is left is kept only in case the server loses it (applied, and pulled since).
    let settled = |phone: &Phone| phone.model.local.outbox.values().all(|e| e.is_confirmed());
    for _ in 0..5 {
        if settled(&phone) {
            break;
        }
        phone.fire_timers(&mut server);
    }
    check(&phone, &server, &captured)?;
    prop_assert!(
        settled(&phone),
        "mutations not settled: {:?}",
        phone
            .model
            .local
            .outbox
            .values()
            .map(|e| (e.seq(), e.result.clone()))
            .collect::<Vec<_>>()
    );
    let device = phone.model.local.device.clone().unwrap();
    prop_assert_eq!(server.last_seq(device.client_id), device.next_seq - 1);
    for seq in 1..device.next_seq {
        prop_assert_eq!(
            server.applied.get(&(device.client_id, seq)).copied(),
            Some(1)
        );
    }
    for (id, shas) in &captured {
        let e = kvits_domain::State::expense(&server.state, *id);
        prop_assert!(e.is_some(), "receipt {} never reached the server", id);
        let pages: Vec<String> = e.unwrap().pages.iter().map(|p| p.sha256.clone()).collect();
        for sha in shas {
            // A page can only be missing if the user removed it, which these ops never do.
            prop_assert!(
                pages.contains(sha),
                "photo {} of {} is not on the server",
                sha,
                id
            );
        }
    }
    for e in server.state.expenses().filter(|e| e.submitted_at.is_some()) {
        for p in &e.pages {
            prop_assert!(
                server.blobs.iter().any(|(_, s)| *s == p.sha256),
                "blob {} missing",
                p.sha256
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_outbox_keeps_its_promises(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
