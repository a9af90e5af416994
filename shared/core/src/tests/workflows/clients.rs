//! The accountant's clients overview: counted by the server, and counted again while it is on
//! screen when changes arrive — at most once a window, so a busy firm's changes cost one count.

use chrono::Duration;
use kvits_domain::State as _;
use kvits_protocol::{DecisionKind, ExpenseStatus, Mutation};

use super::fill_and_submit;
use super::review::decide;
use crate::sim::{FakeServer, Phone};
use crate::view::ScreenView;

/// Birch's row on Anna's overview: (waiting for approval, to review, ready for export).
fn birch(p: &Phone) -> (u32, u32, u32) {
    let ScreenView::Clients(v) = p.view().screen else {
        panic!("the overview is open: {:?}", p.view().screen)
    };
    let row = v
        .rows
        .iter()
        .find(|r| r.name.starts_with("Birch"))
        .expect("Birch on the overview");
    (
        row.waiting_for_approval,
        row.to_review,
        row.ready_for_export,
    )
}

#[test]
fn the_overview_on_screen_follows_changes_at_most_once_a_window() {
    let mut server = FakeServer::new();
    let mut emma = Phone::new(&mut server);
    emma.sign_in(&mut server, "emma");
    emma.capture(&mut server, "dinner");
    fill_and_submit(&mut emma, &mut server, "30");
    let id = server.state.expenses().next().expect("sent").id;

    let mut anna = Phone::new(&mut server);
    anna.sign_in(&mut server, "anna");
    assert_eq!(birch(&anna), (1, 0, 0), "counted on opening");

    // A minute later Mark approves: Anna's long poll brings it, and the overview is counted
    // again without her doing anything.
    server.now += Duration::minutes(1);
    decide(&mut server, id, DecisionKind::Approve, None);
    anna.settle(&mut server);
    assert_eq!(birch(&anna), (0, 1, 0));

    // Within the window another change arrives: it waits, the counters stay as they were.
    let anna_id = server.tenant.user("anna");
    let seen = server.state.expense(id).expect("there").revision;
    server
        .apply_as(
            anna_id,
            &Mutation::MarkReviewed {
                expense_id: id,
                seen_revision: seen,
            },
        )
        .expect("reviewed");
    assert_eq!(
        server.state.expense(id).map(|e| e.status),
        Some(ExpenseStatus::Reviewed)
    );
    anna.settle(&mut server);
    assert_eq!(birch(&anna), (0, 1, 0), "counted at most once a window");

    // The first pull after the window counts it.
    server.now += Duration::seconds(crate::model::OVERVIEW_EVERY_SECS);
    anna.send(crate::Event::Sync(crate::event::SyncEvent::Now));
    anna.settle(&mut server);
    assert_eq!(birch(&anna), (0, 0, 1));
}
