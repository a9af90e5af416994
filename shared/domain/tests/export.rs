//! Export to the books as the expense sees it: reviewed → in a batch (locked) → exported; the
//! firm unlocks to correct (then it is changed since export), exports again on purpose, and a
//! cancelled batch puts its documents back where they were.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kvits_protocol::{
    ExpenseId, ExpenseStatus, ExportBatchId, HistoryAction, Mutation, RejectCode, VatLine,
};

fn batch(n: u128) -> ExportBatchId {
    ExportBatchId(uuid::Uuid::from_u128(0xba7c_0000 + n))
}

fn start(w: &World, e: ExpenseId, b: u128) -> Mutation {
    Mutation::StartExport {
        expense_id: e,
        seen_revision: w.expense(e).revision,
        batch_id: batch(b),
        batch_number: u32::try_from(b).unwrap(),
        voucher: format!("{b}-001"),
    }
}

fn finish(e: ExpenseId, b: u128) -> Mutation {
    Mutation::FinishExport {
        expense_id: e,
        batch_id: batch(b),
    }
}

fn cancel(e: ExpenseId, b: u128) -> Mutation {
    Mutation::CancelExport {
        expense_id: e,
        batch_id: batch(b),
    }
}

fn unlock(w: &World, e: ExpenseId) -> Mutation {
    Mutation::UnlockExpense {
        expense_id: e,
        seen_revision: w.expense(e).revision,
    }
}

fn correct_vat(w: &World, e: ExpenseId) -> Mutation {
    let x = w.expense(e);
    Mutation::CorrectExpense {
        expense_id: e,
        seen_revision: x.revision,
        expense_type_id: x.fields.expense_type_id.unwrap(),
        vat: vec![VatLine {
            rate_bp: 2100,
            net_minor: 2_479,
            vat_minor: 521,
        }],
        account_code: None,
    }
}

/// Emma's 30.00 EUR meal, approved on submit and reviewed by Anna.
fn reviewed_meal(w: &mut World) -> ExpenseId {
    let f = fields(w.birch_types.meals, w.birch_master, Some(3_000));
    let emma = w.emma.clone();
    let e = w.submitted(&emma, f);
    let anna = w.anna.clone();
    let m = Mutation::MarkReviewed {
        expense_id: e,
        seen_revision: w.expense(e).revision,
    };
    w.ok(&anna, at(10), &m);
    assert_status(w, e, ExpenseStatus::Reviewed);
    e
}

#[test]
fn a_reviewed_document_is_locked_in_its_batch_then_exported() {
    let mut w = World::new();
    let e = reviewed_meal(&mut w);
    let anna = w.anna.clone();
    w.ok(&anna, at(20), &start(&w, e, 7));
    assert_status(&w, e, ExpenseStatus::Exporting);
    let mark = w.expense(e).export.unwrap();
    assert_eq!((mark.batch_number, mark.voucher.as_str()), (7, "7-001"));
    assert!(mark.locked && !mark.changed);

    // Locked: the firm cannot correct it, nor return it, nor put it in a second batch.
    assert_rejected(
        w.run(&anna, at(21), &correct_vat(&w, e)),
        RejectCode::WrongState,
    );
    assert_rejected(
        w.run(&anna, at(21), &start(&w, e, 8)),
        RejectCode::WrongState,
    );

    w.ok(&anna, at(22), &finish(e, 7));
    assert_status(&w, e, ExpenseStatus::Exported);
    assert_already(w.run(&anna, at(23), &finish(e, 7)));
    assert_rejected(
        w.run(&anna, at(23), &correct_vat(&w, e)),
        RejectCode::WrongState,
    );
    let actions: Vec<_> = w.expense(e).history.iter().map(|h| h.action).collect();
    assert!(actions.ends_with(&[HistoryAction::ExportStarted, HistoryAction::Exported]));
}

#[test]
fn only_the_firm_exports_and_unlocks() {
    let mut w = World::new();
    let e = reviewed_meal(&mut w);
    // The employee and the client's own people may not; another firm does not even see it.
    for who in [w.emma.clone(), w.clara.clone(), w.adam.clone()] {
        assert_rejected(w.run(&who, at(20), &start(&w, e, 1)), RejectCode::Forbidden);
    }
    let fred = w.fred.clone();
    assert_rejected(w.run(&fred, at(20), &start(&w, e, 1)), RejectCode::NotFound);
    let anna = w.anna.clone();
    w.ok(&anna, at(20), &start(&w, e, 1));
    w.ok(&anna, at(21), &finish(e, 1));
    let clara = w.clara.clone();
    assert_rejected(w.run(&clara, at(22), &unlock(&w, e)), RejectCode::Forbidden);
}

#[test]
fn an_unlocked_correction_is_changed_since_export_until_exported_again() {
    let mut w = World::new();
    let e = reviewed_meal(&mut w);
    let anna = w.anna.clone();
    w.ok(&anna, at(20), &start(&w, e, 1));
    w.ok(&anna, at(21), &finish(e, 1));
    w.ok(&anna, at(22), &unlock(&w, e));
    assert_already(w.run(&anna, at(22), &unlock(&w, e)));
    assert!(!w.expense(e).export.unwrap().changed);
    w.ok(&anna, at(23), &correct_vat(&w, e));
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Exported);
    let mark = x.export.unwrap();
    assert!(!mark.locked && mark.changed, "{mark:?}");

    // Exported again on purpose: locked in the new batch, no longer changed.
    w.ok(&anna, at(24), &start(&w, e, 2));
    let mark = w.expense(e).export.unwrap();
    assert_eq!(mark.batch_number, 2);
    assert!(mark.locked && !mark.changed);
    assert_eq!(mark.replaces.as_ref().unwrap().batch_number, 1);

    // That batch cancelled: back to the first export, as it was (unlocked, changed).
    w.ok(&anna, at(25), &cancel(e, 2));
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Exported);
    let mark = x.export.unwrap();
    assert_eq!(mark.batch_number, 1);
    assert!(!mark.locked && mark.changed);
}

#[test]
fn a_cancelled_batch_puts_its_documents_back_in_the_queue() {
    let mut w = World::new();
    let e = reviewed_meal(&mut w);
    let anna = w.anna.clone();
    w.ok(&anna, at(20), &start(&w, e, 3));
    w.ok(&anna, at(21), &finish(e, 3));
    w.ok(&anna, at(22), &cancel(e, 3));
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Reviewed);
    assert_eq!(x.export, None);
    assert_eq!(
        x.history.last().map(|h| (h.action, h.note.clone())),
        Some((HistoryAction::ExportCancelled, Some("batch 3".into())))
    );
    // Cancelling again, or a batch it is not in, changes nothing.
    assert_already(w.run(&anna, at(23), &cancel(e, 3)));
    // Back in the queue: the next batch takes it.
    w.ok(&anna, at(24), &start(&w, e, 4));
    assert_status(&w, e, ExpenseStatus::Exporting);
}

#[test]
fn only_reviewed_documents_enter_a_batch_at_the_revision_seen() {
    let mut w = World::new();
    let f = fields(w.birch_types.meals, w.birch_master, Some(3_000));
    let emma = w.emma.clone();
    let approved = w.submitted(&emma, f);
    let anna = w.anna.clone();
    assert_rejected(
        w.run(&anna, at(20), &start(&w, approved, 1)),
        RejectCode::WrongState,
    );
    let e = reviewed_meal(&mut w);
    let mut stale = start(&w, e, 1);
    if let Mutation::StartExport { seen_revision, .. } = &mut stale {
        *seen_revision -= 1;
    }
    assert_conflict(
        w.run(&anna, at(21), &stale),
        kvits_protocol::ConflictCode::StaleRevision,
    );
}
