//! Approval decisions: steps, reasons, first-wins conflicts, stale revisions, returns.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kvits_domain::{DomainError, State, is_task_for};
use kvits_protocol::{
    ConflictCode, Decision, DecisionKind, DocumentType, ExpenseStatus, Mutation, Outcome,
    RejectCode,
};

use DecisionKind::{Approve, Reject, Return};

#[test]
fn approving_the_only_step_approves_the_expense() {
    let mut w = World::new();
    let e = w.fuel_expense();
    let x = w.expense(e);
    let mark = w.mark.clone();
    w.ok(&mark, at(10), &decide(e, x.revision, Approve, None));
    let y = w.expense(e);
    assert_eq!(y.status, ExpenseStatus::Approved);
    assert_eq!(y.revision, x.revision + 1);
    assert_eq!(y.updated_at, at(10));
    assert_eq!(y.approval.as_ref().unwrap().current_step, 1);
    assert_eq!(
        y.decisions,
        vec![Decision {
            kind: Approve,
            step: 0,
            revision: x.revision,
            by: mark.user_id,
            by_name: "Mark Manager".into(),
            at: at(10),
            reason: None,
        }]
    );
    assert!(!is_task_for(&y, mark.user_id));
    assert!(!is_task_for(&y, w.alice.user_id));
}

#[test]
fn two_steps_advance_then_approve() {
    let mut w = World::new();
    let e = w.large_expense();
    let (alice, adam, mark) = (w.alice.clone(), w.adam.clone(), w.mark.clone());
    let r0 = w.expense(e).revision;
    assert!(is_task_for(&w.expense(e), alice.user_id));
    assert!(!is_task_for(&w.expense(e), adam.user_id));

    // Adam is the second step: not his turn yet.
    assert_rejected(
        w.run(&adam, at(10), &decide(e, r0, Approve, None)),
        RejectCode::Forbidden,
    );
    w.ok(&alice, at(11), &decide(e, r0, Approve, Some("ok for me")));
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Submitted);
    assert_eq!(x.approval.as_ref().unwrap().current_step, 1);
    assert_eq!(x.revision, r0 + 1);
    assert_eq!(x.decisions[0].reason.as_deref(), Some("ok for me"));
    assert!(is_task_for(&x, adam.user_id));
    assert!(!is_task_for(&x, alice.user_id));
    assert!(!is_task_for(&x, mark.user_id));

    // Mark (step 0 too) decides what he saw at r0: alice's approval of that step is there.
    assert_already(w.run(&mark, at(12), &decide(e, r0, Approve, None)));
    assert_conflict(
        w.run(&mark, at(12), &decide(e, r0, Reject, Some("too much"))),
        ConflictCode::AlreadyDecided,
    );
    // At the current revision it is simply not his step.
    assert_rejected(
        w.run(&mark, at(12), &decide(e, r0 + 1, Approve, None)),
        RejectCode::Forbidden,
    );
    // Adam at a revision that moved on: stale.
    assert_conflict(
        w.run(&adam, at(12), &decide(e, r0, Approve, None)),
        ConflictCode::StaleRevision,
    );
    w.ok(&adam, at(13), &decide(e, r0 + 1, Approve, None));
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Approved);
    assert_eq!(x.approval.as_ref().unwrap().current_step, 2);
    assert_eq!(
        x.decisions
            .iter()
            .map(|d| (d.step, d.by, d.revision))
            .collect::<Vec<_>>(),
        vec![(0, alice.user_id, r0), (1, adam.user_id, r0 + 1)]
    );
}

#[test]
fn reject_and_return_need_a_reason() {
    let mut w = World::new();
    let e = w.fuel_expense();
    let rev = w.expense(e).revision;
    let mark = w.mark.clone();
    for kind in [Reject, Return] {
        for reason in [None, Some(""), Some("  \n ")] {
            assert_rejected(
                w.run(&mark, at(10), &decide(e, rev, kind, reason)),
                RejectCode::Invalid,
            );
        }
    }
    let long = "x".repeat(2001);
    assert_rejected(
        w.run(&mark, at(10), &decide(e, rev, Reject, Some(&long))),
        RejectCode::Invalid,
    );
    assert_eq!(w.expense(e).revision, rev);
    w.ok(
        &mark,
        at(10),
        &decide(e, rev, Reject, Some("  not a business trip ")),
    );
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Rejected);
    // Stored trimmed.
    assert_eq!(
        x.decisions[0].reason.as_deref(),
        Some("not a business trip")
    );
}

#[test]
fn two_approvers_at_the_same_revision_first_wins() {
    let mut w = World::new();
    let e = w.fuel_expense();
    let rev = w.expense(e).revision;
    let (mark, alice) = (w.mark.clone(), w.alice.clone());

    // Alice rejects first (server order), mark's offline approval arrives later.
    w.ok(
        &alice,
        at(10),
        &decide(e, rev, Reject, Some("duplicate of last week's")),
    );
    let after = w.state.clone();
    let err = assert_conflict(
        w.run(&mark, at(12), &decide(e, rev, Approve, None)),
        ConflictCode::AlreadyDecided,
    );
    let DomainError::Conflict {
        winner, message, ..
    } = &err
    else {
        unreachable!()
    };
    let winner = winner.clone().unwrap();
    assert_eq!(winner.by, alice.user_id);
    assert_eq!(winner.by_name, "Alice Approver");
    assert_eq!(winner.kind, Reject);
    assert_eq!(winner.at, at(10));
    assert_eq!(winner.reason.as_deref(), Some("duplicate of last week's"));
    assert!(message.contains("Alice Approver"), "{message}");
    // A conflict is stored as such, with the winner.
    assert!(matches!(
        err.outcome(),
        Some(Outcome::Conflict {
            code: ConflictCode::AlreadyDecided,
            winner: Some(_),
            ..
        })
    ));
    // Mark returning instead: the same conflict.
    assert_conflict(
        w.run(&mark, at(12), &decide(e, rev, Return, Some("?"))),
        ConflictCode::AlreadyDecided,
    );
    // Mark rejecting too: the same decision is already there.
    assert_already(w.run(&mark, at(12), &decide(e, rev, Reject, Some("other words"))));
    assert_eq!(w.state, after);
}

#[test]
fn the_same_decision_by_another_approver_is_already_applied() {
    let mut w = World::new();
    let e = w.fuel_expense();
    let rev = w.expense(e).revision;
    let (mark, alice) = (w.mark.clone(), w.alice.clone());
    w.ok(&mark, at(10), &decide(e, rev, Approve, None));
    let after = w.state.clone();
    assert_already(w.run(&alice, at(11), &decide(e, rev, Approve, None)));
    // And the same approver retrying (a lost response): already applied.
    assert_already(w.run(&mark, at(11), &decide(e, rev, Approve, None)));
    assert_eq!(w.state, after);
    assert_eq!(w.expense(e).decisions.len(), 1);
}

#[test]
fn a_decision_at_a_stale_revision_is_a_conflict() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let mark = w.mark.clone();
    let e = w.fuel_expense();
    let rev = w.expense(e).revision;
    // A revision from before the submission (or from the future) is stale.
    for seen in [rev - 1, rev - 2, rev + 1] {
        assert_conflict(
            w.run(&mark, at(10), &decide(e, seen, Approve, None)),
            ConflictCode::StaleRevision,
        );
    }
    // Returned, fixed and resubmitted: a decision made on the old version is stale (or lost
    // to the return).
    w.ok(&mark, at(11), &decide(e, rev, Return, Some("add the date")));
    let mut f = w.expense(e).fields;
    f.date = Some(at(0).date_naive());
    f.note = Some("date added".into());
    w.ok(
        &emma,
        at(12),
        &Mutation::SetExpenseFields {
            expense_id: e,
            fields: f,
        },
    );
    w.ok(&emma, at(13), &Mutation::SubmitExpense { expense_id: e });
    let alice = w.alice.clone();
    // Alice saw it at `rev`, when mark returned it: lost to mark's return.
    let err = assert_conflict(
        w.run(&alice, at(14), &decide(e, rev, Approve, None)),
        ConflictCode::AlreadyDecided,
    );
    assert!(matches!(
        err,
        DomainError::Conflict {
            winner: Some(Decision { kind: Return, .. }),
            ..
        }
    ));
    // Mark saw the returned version (rev + 1): stale.
    assert_conflict(
        w.run(&mark, at(14), &decide(e, rev + 1, Approve, None)),
        ConflictCode::StaleRevision,
    );
}

#[test]
fn non_approvers_cannot_decide() {
    let mut w = World::new();
    let e = w.fuel_expense();
    let rev = w.expense(e).revision;
    // They see the expense (author, admin, accountant, client) but are not in the route.
    for actor in [
        w.emma.clone(),
        w.adam.clone(),
        w.anna.clone(),
        w.clara.clone(),
    ] {
        assert_rejected(
            w.run(&actor, at(10), &decide(e, rev, Approve, None)),
            RejectCode::Forbidden,
        );
        assert_rejected(
            w.run(&actor, at(10), &decide(e, rev, Reject, Some("no"))),
            RejectCode::Forbidden,
        );
    }
    // They do not see it at all.
    for actor in [w.otto.clone(), w.cora.clone(), w.fred.clone()] {
        assert_rejected(
            w.run(&actor, at(10), &decide(e, rev, Approve, None)),
            RejectCode::NotFound,
        );
    }
    assert_eq!(w.expense(e).revision, rev);
    assert_eq!(w.expense(e).status, ExpenseStatus::Submitted);
}

#[test]
fn an_approver_outside_the_route_does_not_see_the_expense() {
    let mut w = World::new();
    // Invoices go to alice only.
    let emma = w.emma.clone();
    let f = fields(w.birch_types.office, w.birch_master, Some(1_000));
    let e = w.draft(&emma, w.birch, DocumentType::Invoice, f);
    w.ok(&emma, at(2), &Mutation::SubmitExpense { expense_id: e });
    let rev = w.expense(e).revision;
    let mark = w.mark.clone();
    assert_rejected(
        w.run(&mark, at(10), &decide(e, rev, Approve, None)),
        RejectCode::NotFound,
    );
    let alice = w.alice.clone();
    w.ok(&alice, at(10), &decide(e, rev, Approve, None));
}

#[test]
fn no_decision_on_an_expense_that_needs_no_approval_or_is_a_draft() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let mark = w.mark.clone();
    let adam = w.adam.clone();
    // A draft: nothing to decide. Only its author sees it (and has nothing to decide);
    // for anyone else, the admin included, it is not there at all.
    let d = w.draft(&emma, w.birch, DocumentType::Receipt, Default::default());
    let rev = w.expense(d).revision;
    assert_rejected(
        w.run(&emma, at(3), &decide(d, rev, Approve, None)),
        RejectCode::WrongState,
    );
    for other in [&adam, &mark] {
        assert_rejected(
            w.run(other, at(3), &decide(d, rev, Approve, None)),
            RejectCode::NotFound,
        );
    }
    // Approved at once (meals).
    let e = w.submitted(&emma, fields(w.birch_types.meals, w.birch_own, Some(500)));
    let rev = w.expense(e).revision;
    assert_rejected(
        w.run(&adam, at(3), &decide(e, rev, Approve, None)),
        RejectCode::WrongState,
    );
}

#[test]
fn the_author_is_left_out_of_a_step_that_names_others_too() {
    let mut w = World::new();
    let mark = w.mark.clone();
    let alice = w.alice.clone();
    // Mark (an approver, who may capture) buys fuel: "Fuel and travel" names mark or alice.
    let f = fields(w.birch_types.fuel, w.birch_visa, Some(6_000));
    let e = w.submitted(&mark, f);
    let rev = w.expense(e).revision;
    let x = w.expense(e);
    let a = x.approval.clone().unwrap();
    assert_eq!(a.rule_id, w.birch_rules.fuel_travel);
    // Nobody decides their own expense while someone else can: the step names alice only.
    assert_eq!(a.steps.len(), 1);
    assert_eq!(a.steps[0].approver_ids, vec![alice.user_id]);
    // The rule itself is untouched: mark still decides the others' fuel.
    let r = w.state.approval_rule(w.birch_rules.fuel_travel).unwrap();
    assert_eq!(r.steps[0].approver_ids, vec![mark.user_id, alice.user_id]);
    // Not his task; alice's.
    assert!(!is_task_for(&x, mark.user_id));
    assert!(is_task_for(&x, alice.user_id));
    // He sees it (his own) but no decision of his is taken, at this revision or another.
    let before = w.state.clone();
    for seen in [rev, rev - 1, rev + 1] {
        assert_rejected(
            w.run(&mark, at(10), &decide(e, seen, Approve, None)),
            RejectCode::Forbidden,
        );
    }
    assert_rejected(
        w.run(&mark, at(10), &decide(e, rev, Reject, Some("no"))),
        RejectCode::Forbidden,
    );
    assert_rejected(
        w.run(&mark, at(10), &decide(e, rev, Return, Some("hm"))),
        RejectCode::Forbidden,
    );
    assert_eq!(w.state, before);
    // Alice's approval is applied.
    w.ok(&alice, at(11), &decide(e, rev, Approve, None));
    let y = w.expense(e);
    assert_eq!(y.status, ExpenseStatus::Approved);
    assert_eq!(
        y.decisions.iter().map(|d| d.by).collect::<Vec<_>>(),
        vec![alice.user_id]
    );
    // After alice's decision, mark repeating "his" approval of that revision: still not his.
    assert_rejected(
        w.run(&mark, at(12), &decide(e, rev, Approve, None)),
        RejectCode::Forbidden,
    );
}

#[test]
fn the_author_stays_left_out_when_a_returned_expense_is_resubmitted() {
    let mut w = World::new();
    let (mark, alice) = (w.mark.clone(), w.alice.clone());
    let f = fields(w.birch_types.travel, w.birch_visa, Some(12_000));
    let e = w.submitted(&mark, f);
    let rev = w.expense(e).revision;
    w.ok(&alice, at(10), &decide(e, rev, Return, Some("which trip?")));
    w.ok(&mark, at(11), &Mutation::SubmitExpense { expense_id: e });
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Submitted);
    assert_eq!(
        x.approval.unwrap().steps[0].approver_ids,
        vec![alice.user_id]
    );
    assert_rejected(
        w.run(&mark, at(12), &decide(e, rev + 2, Approve, None)),
        RejectCode::Forbidden,
    );
}

/// Each step's approvers of an expense's route.
fn route(x: &kvits_protocol::Expense) -> Vec<Vec<kvits_protocol::UserId>> {
    x.approval
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .map(|s| s.approver_ids.clone())
        .collect()
}

/// Lets the people of Birch approve their own expenses when a rule names only them.
fn allow_self_approval(w: &mut World) {
    let birch = w.state.company(w.birch).unwrap();
    w.state
        .put(kvits_protocol::Entity::Company(kvits_protocol::Company {
            allow_self_approval: true,
            ..birch
        }));
}

#[test]
fn a_step_that_names_only_the_author_goes_to_the_company_s_other_admins() {
    let mut w = World::new();
    let (mark, alice, adam) = (w.mark.clone(), w.alice.clone(), w.adam.clone());
    let (m, a) = (mark.user_id, alice.user_id);
    w.replace_rules(
        w.birch,
        vec![rule(
            w.birch_rules.large,
            w.birch,
            "Mark alone, then both",
            1,
            &[&[m], &[m, a]],
        )],
    );
    let f = fields(w.birch_types.fuel, w.birch_visa, Some(6_000));
    let e = w.submitted(&mark, f);
    let x = w.expense(e);
    let steps = route(&x);
    // Birch's other admin takes the step that named only Mark; Mark leaves the second.
    assert_eq!(steps, vec![vec![adam.user_id], vec![a]]);
    assert!(!is_task_for(&x, m));
    assert_rejected(
        w.run(&mark, at(10), &decide(e, x.revision, Approve, None)),
        RejectCode::Forbidden,
    );
    w.ok(&adam, at(11), &decide(e, x.revision, Approve, None));
    w.ok(&alice, at(12), &decide(e, x.revision + 1, Approve, None));
    assert_status(&w, e, ExpenseStatus::Approved);

    // Adam, Birch's only admin, buys office supplies over 500.00: "Large expenses" is mark or
    // alice, then adam alone. Nobody else could take his own step, so the submit is refused
    // (clearly, on his device too) and the expense stays a draft.
    let mut w = World::new();
    let adam = w.adam.clone();
    let big = fields(w.birch_types.office, w.birch_visa, Some(70_000));
    let birch = w.birch;
    let draft = w.draft(&adam, birch, DocumentType::Receipt, big);
    let refused = w.run(&adam, at(3), &Mutation::SubmitExpense { expense_id: draft });
    assert_rejected(refused, RejectCode::Forbidden);
    assert_status(&w, draft, ExpenseStatus::Draft);
}

#[test]
fn a_company_that_allows_it_keeps_the_author_who_is_a_steps_only_approver() {
    let mut w = World::new();
    allow_self_approval(&mut w);
    let (mark, alice) = (w.mark.clone(), w.alice.clone());
    let (m, a) = (mark.user_id, alice.user_id);
    w.replace_rules(
        w.birch,
        vec![rule(w.birch_rules.large, w.birch, "Mark alone", 1, &[&[m]])],
    );
    let f = fields(w.birch_types.fuel, w.birch_visa, Some(6_000));
    let e = w.submitted(&mark, f.clone());
    let x = w.expense(e);
    assert_eq!(x.approval.as_ref().unwrap().steps[0].approver_ids, vec![m]);
    assert!(is_task_for(&x, m));
    w.ok(&mark, at(10), &decide(e, x.revision, Approve, None));
    assert_status(&w, e, ExpenseStatus::Approved);
    assert_eq!(w.expense(e).decisions[0].by, m);

    // Step by step: left out where alice is named too, kept where he is alone.
    w.replace_rules(
        w.birch,
        vec![rule(
            w.birch_rules.large,
            w.birch,
            "Two steps",
            1,
            &[&[m, a], &[m]],
        )],
    );
    let e = w.submitted(&mark, f);
    let x = w.expense(e);
    let steps = route(&x);
    assert_eq!(steps, vec![vec![a], vec![m]]);
    let rev = x.revision;
    assert_rejected(
        w.run(&mark, at(10), &decide(e, rev, Approve, None)),
        RejectCode::Forbidden,
    );
    w.ok(&alice, at(11), &decide(e, rev, Approve, None));
    w.ok(&mark, at(12), &decide(e, rev + 1, Approve, None));
    assert_status(&w, e, ExpenseStatus::Approved);
}

#[test]
fn an_approver_who_lost_the_role_cannot_decide() {
    let mut w = World::new();
    let e = w.fuel_expense();
    let rev = w.expense(e).revision;
    // Mark is demoted to employee after the expense was routed to him: he still sees the
    // expense (named in its route) but may not decide.
    let mut mark = w.mark.clone();
    mark.roles
        .insert(w.birch, vec![kvits_protocol::Role::Employee]);
    assert_rejected(
        w.run(&mark, at(10), &decide(e, rev, Approve, None)),
        RejectCode::Forbidden,
    );
}

#[test]
fn return_then_edit_then_resubmit_routes_again_and_keeps_history() {
    let mut w = World::new();
    let (emma, mark, alice, adam) = (
        w.emma.clone(),
        w.mark.clone(),
        w.alice.clone(),
        w.adam.clone(),
    );
    let e = w.fuel_expense();
    let r0 = w.expense(e).revision;
    w.ok(
        &mark,
        at(10),
        &decide(e, r0, Return, Some("the amount is 425.00, not 42.50")),
    );
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Returned);
    assert_eq!(x.revision, r0 + 1);
    assert!(!is_task_for(&x, mark.user_id) && !is_task_for(&x, alice.user_id));
    // Nobody decides a returned expense.
    assert_rejected(
        w.run(&alice, at(11), &decide(e, r0 + 1, Approve, None)),
        RejectCode::Forbidden,
    );

    // Emma fixes the amount: now 600.00, which is "Large expenses" (two steps).
    let mut f = x.fields.clone();
    f.amount = Some(eur(60_000));
    w.ok(
        &emma,
        at(12),
        &Mutation::SetExpenseFields {
            expense_id: e,
            fields: f,
        },
    );
    assert_eq!(w.expense(e).revision, r0 + 2);
    w.ok(&emma, at(13), &Mutation::SubmitExpense { expense_id: e });
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Submitted);
    assert_eq!(x.revision, r0 + 3);
    assert_eq!(x.submitted_at, Some(at(13)));
    let a = x.approval.clone().unwrap();
    assert_eq!(a.rule_id, w.birch_rules.large);
    assert_eq!(a.current_step, 0);
    assert_eq!(x.decisions.len(), 1, "the return is kept");
    assert_eq!(x.decisions[0].kind, Return);

    w.ok(&alice, at(14), &decide(e, r0 + 3, Approve, None));
    w.ok(&adam, at(15), &decide(e, r0 + 4, Approve, None));
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Approved);
    assert_eq!(x.revision, r0 + 5);
    assert_eq!(
        x.decisions
            .iter()
            .map(|d| (d.kind, d.step, d.revision))
            .collect::<Vec<_>>(),
        vec![(Return, 0, r0), (Approve, 0, r0 + 3), (Approve, 1, r0 + 4)]
    );
}

#[test]
fn a_returned_expense_resubmitted_unchanged_goes_the_same_way() {
    let mut w = World::new();
    let (emma, mark) = (w.emma.clone(), w.mark.clone());
    let e = w.fuel_expense();
    let r0 = w.expense(e).revision;
    w.ok(
        &mark,
        at(10),
        &decide(e, r0, Return, Some("is this yours?")),
    );
    w.ok(&emma, at(11), &Mutation::SubmitExpense { expense_id: e });
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Submitted);
    assert_eq!(x.revision, r0 + 2);
    assert_eq!(x.approval.unwrap().rule_id, w.birch_rules.fuel_travel);
    // Resubmitting again is already done.
    assert_already(w.run(&emma, at(12), &Mutation::SubmitExpense { expense_id: e }));
}
