//! Deciding receipts, offline and in a race with another approver.

use kvits_protocol::{DecisionKind, ExpenseStatus, Mutation};

use super::{fill_and_submit, receipts};
use crate::event::{ApprovalEvent, SyncEvent};
use crate::sim::{FakeServer, Phone};
use crate::view::{ReceiptStatus, ScreenView};
use crate::{Event, Route};

#[test]
fn an_offline_approval_that_lost_the_race_becomes_a_notice() {
    let mut server = FakeServer::new();
    let mut emma = Phone::new(&mut server);
    emma.sign_in(&mut server, "emma");
    emma.capture(&mut server, "taxi");
    fill_and_submit(&mut emma, &mut server, "30");
    let id = server.state.expenses().next().unwrap().id;

    let mut mark = Phone::new(&mut server);
    mark.sign_in(&mut server, "mark");
    mark.send(Event::Navigate(Route::Approvals));
    let crate::view::ScreenView::Approvals(a) = mark.view().screen else {
        panic!()
    };
    assert_eq!(a.pending.len(), 1);
    assert_eq!(a.pending[0].submitter, "Emma Employee");
    mark.go_offline();
    mark.send(Event::Approvals(ApprovalEvent::Approve {
        expense_id: id.to_string(),
    }));
    mark.settle(&mut server);
    // Alice rejects online first.
    let alice = server.tenant.user("alice");
    let revision = server.state.expense(id).unwrap().revision;
    server.now += chrono::Duration::minutes(1);
    server
        .apply_as(
            alice,
            &Mutation::DecideExpense {
                expense_id: id,
                seen_revision: revision,
                decision: DecisionKind::Reject,
                reason: Some("not a business trip".into()),
            },
        )
        .unwrap();
    mark.go_online(&mut server);
    let notices = mark.view().notices;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0]
            .text
            .starts_with("Your approval made offline at 11:")
            && notices[0]
                .text
                .contains("was not applied — Alice Approver rejected it at 11:01"),
        "{}",
        notices[0].text
    );
    assert_eq!(
        server.state.expense(id).unwrap().status,
        ExpenseStatus::Rejected
    );
    emma.send(Event::Sync(SyncEvent::Now));
    emma.settle(&mut server);
    let list = receipts(&emma);
    assert_eq!(
        list.receipts[0].status,
        ReceiptStatus::Rejected {
            reason: Some("not a business trip".into())
        }
    );
    use kvits_domain::State as _;
}

#[test]
fn reject_needs_a_reason() {
    let mut server = FakeServer::new();
    let mut emma = Phone::new(&mut server);
    emma.sign_in(&mut server, "emma");
    emma.capture(&mut server, "lunch");
    fill_and_submit(&mut emma, &mut server, "15");
    let id = server.state.expenses().next().unwrap().id;
    let mut mark = Phone::new(&mut server);
    mark.sign_in(&mut server, "mark");
    mark.send(Event::Navigate(Route::Approval {
        expense_id: id.to_string(),
    }));
    mark.send(Event::Approvals(ApprovalEvent::Reject {
        expense_id: id.to_string(),
        reason: "   ".into(),
    }));
    mark.settle(&mut server);
    let ScreenView::Approval(a) = mark.view().screen else {
        panic!()
    };
    assert!(a.reject_error.is_some());
    assert_eq!(mark.view().status.pending, 0);
    mark.send(Event::Approvals(ApprovalEvent::Reject {
        expense_id: id.to_string(),
        reason: "wrong card".into(),
    }));
    mark.settle(&mut server);
    use kvits_domain::State as _;
    assert_eq!(
        server.state.expense(id).unwrap().status,
        ExpenseStatus::Rejected
    );
}
