//! The accounting firm's review: correct bookkeeping fields, return with a question (the
//! employee answers and submits again), mark reviewed; and every change in the history.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kvits_domain::State as _;
use kvits_protocol::{
    ConflictCode, DecisionKind, ExpenseField, ExpenseFields, ExpenseId, ExpenseStatus, FieldChange,
    HistoryAction, Mutation, RejectCode, VatLine,
};

fn vat(rate_bp: u32, net_minor: i64, vat_minor: i64) -> VatLine {
    VatLine {
        rate_bp,
        net_minor,
        vat_minor,
    }
}

fn correct(
    w: &World,
    e: ExpenseId,
    expense_type: kvits_protocol::ExpenseTypeId,
    lines: Vec<VatLine>,
    account_code: Option<&str>,
) -> Mutation {
    Mutation::CorrectExpense {
        expense_id: e,
        seen_revision: w.expense(e).revision,
        expense_type_id: expense_type,
        vat: lines,
        account_code: account_code.map(str::to_owned),
    }
}

fn send_back(w: &World, e: ExpenseId, question: &str) -> Mutation {
    Mutation::ReturnExpense {
        expense_id: e,
        seen_revision: w.expense(e).revision,
        question: question.into(),
    }
}

fn reviewed(w: &World, e: ExpenseId) -> Mutation {
    Mutation::MarkReviewed {
        expense_id: e,
        seen_revision: w.expense(e).revision,
    }
}

/// Emma's 30.00 EUR meal on her Mastercard: no rule matches, so it is approved on submit.
fn meal(w: &mut World) -> ExpenseId {
    let f = fields(w.birch_types.meals, w.birch_master, Some(3_000));
    let emma = w.emma.clone();
    let e = w.submitted(&emma, f);
    assert_status(w, e, ExpenseStatus::Approved);
    e
}

fn actions(w: &World, e: ExpenseId) -> Vec<HistoryAction> {
    w.expense(e).history.iter().map(|h| h.action).collect()
}

#[test]
fn the_accountant_corrects_the_bookkeeping_fields_and_the_history_says_what_changed() {
    let mut w = World::new();
    let e = meal(&mut w);
    let anna = w.anna.clone();
    let before = w.expense(e);
    let m = correct(
        &w,
        e,
        w.birch_types.office,
        vec![vat(2100, 2_066, 434), vat(0, 500, 0)],
        Some("7210"),
    );
    w.ok(&anna, at(30), &m);
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Approved);
    assert_eq!(x.revision, before.revision + 1);
    assert_eq!(x.fields.expense_type_id, Some(w.birch_types.office));
    assert_eq!(x.fields.account_code.as_deref(), Some("7210"));
    assert_eq!(x.fields.vat.len(), 2);
    // The employee's fields are the employee's.
    assert_eq!(x.fields.amount, before.fields.amount);
    assert_eq!(x.fields.merchant, before.fields.merchant);

    let last = x.history.last().unwrap();
    assert_eq!(last.action, HistoryAction::Corrected);
    assert_eq!(last.by, anna.user_id);
    assert_eq!(last.by_name, anna.name);
    assert_eq!(last.at, at(30));
    let office_name = w.state.expense_type(w.birch_types.office).unwrap().name;
    let meals_name = w.state.expense_type(w.birch_types.meals).unwrap().name;
    assert_eq!(
        last.fields,
        vec![
            FieldChange {
                field: ExpenseField::ExpenseType,
                before: Some(meals_name),
                after: Some(office_name),
            },
            FieldChange {
                field: ExpenseField::Vat,
                before: None,
                after: Some("21 %: 20.66 + 4.34 VAT; 0 %: 5.00 + 0.00 VAT".into()),
            },
            FieldChange {
                field: ExpenseField::AccountCode,
                before: None,
                after: Some("7210".into()),
            },
        ]
    );

    // The same correction again changes nothing; one seen at an old revision is stale.
    let again = correct(
        &w,
        e,
        w.birch_types.office,
        vec![vat(2100, 2_066, 434), vat(0, 500, 0)],
        Some("7210"),
    );
    assert_already(w.run(&anna, at(31), &again));
    let stale = Mutation::CorrectExpense {
        expense_id: e,
        seen_revision: before.revision,
        expense_type_id: w.birch_types.fuel,
        vat: Vec::new(),
        account_code: None,
    };
    assert_conflict(w.run(&anna, at(32), &stale), ConflictCode::StaleRevision);
}

#[test]
fn vat_lines_must_add_up_and_name_each_rate_once() {
    let mut w = World::new();
    let e = meal(&mut w);
    let anna = w.anna.clone();
    let office = w.birch_types.office;
    let before = w.expense(e);
    for lines in [
        vec![vat(2100, 2_000, 420)],                        // 24.20, not 30.00
        vec![vat(2100, 1_000, 210), vat(2100, 1_479, 311)], // 21 % twice
        vec![vat(10_100, 1_000, 2_000)],                    // over 100 %
        vec![vat(2100, 3_100, -100)],                       // negative VAT
    ] {
        let m = correct(&w, e, office, lines.clone(), None);
        assert_rejected(w.run(&anna, at(30), &m), RejectCode::Invalid);
    }
    let too_long = "7".repeat(33);
    for code in ["", "72 10", "7210;DROP", too_long.as_str()] {
        let m = correct(&w, e, office, Vec::new(), Some(code));
        let r = w.run(&anna, at(30), &m);
        if code.is_empty() {
            // An empty code is no code: the expense type's code stands.
            assert!(r.is_ok(), "{r:?}");
        } else {
            assert_rejected(r, RejectCode::Invalid);
        }
    }
    let x = w.expense(e);
    assert!(x.fields.vat.is_empty());
    assert_eq!(x.fields.account_code, None);
    assert_eq!(x.fields.amount, before.fields.amount);

    // The employee may enter VAT too, but not the account code.
    let emma = w.emma.clone();
    let mut f = fields(w.birch_types.meals, w.birch_master, Some(1_210));
    let d = w.draft(
        &emma,
        w.birch,
        kvits_protocol::DocumentType::Receipt,
        f.clone(),
    );
    f.vat = vec![vat(2100, 1_000, 210)];
    w.ok(
        &emma,
        at(3),
        &Mutation::SetExpenseFields {
            expense_id: d,
            fields: f.clone(),
        },
    );
    f.account_code = Some("7210".into());
    assert_rejected(
        w.run(
            &emma,
            at(4),
            &Mutation::SetExpenseFields {
                expense_id: d,
                fields: f,
            },
        ),
        RejectCode::Forbidden,
    );
}

#[test]
fn only_the_firm_reviews() {
    let mut w = World::new();
    let e = meal(&mut w);
    let office = w.birch_types.office;
    // The employee, the company's admin and its client see it but may not review it.
    let people = [&w.emma, &w.adam, &w.clara].map(|a| a.clone());
    for who in people {
        for m in [
            correct(&w, e, office, Vec::new(), Some("7210")),
            send_back(&w, e, "Which project?"),
            reviewed(&w, e),
        ] {
            assert_rejected(w.run(&who, at(30), &m), RejectCode::Forbidden);
        }
    }
    // Approvers it was not routed to, another company's or another firm's people do not even
    // learn it exists.
    for who in [
        w.mark.clone(),
        w.alice.clone(),
        w.otto.clone(),
        w.fred.clone(),
    ] {
        assert_rejected(w.run(&who, at(30), &reviewed(&w, e)), RejectCode::NotFound);
    }
    assert_status(&w, e, ExpenseStatus::Approved);
    assert_eq!(
        actions(&w, e),
        vec![
            HistoryAction::Created,
            HistoryAction::Edited,
            HistoryAction::Submitted
        ]
    );
}

#[test]
fn a_returned_question_is_answered_fixed_and_submitted_again() {
    let mut w = World::new();
    let e = meal(&mut w);
    let (anna, emma) = (w.anna.clone(), w.emma.clone());
    assert_rejected(
        w.run(&anna, at(30), &send_back(&w, e, "   ")),
        RejectCode::Invalid,
    );
    w.ok(&anna, at(30), &send_back(&w, e, "Who was at this dinner?"));
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Returned);
    let d = x.decisions.last().unwrap();
    assert_eq!(d.kind, DecisionKind::Return);
    assert_eq!(d.by, anna.user_id);
    assert_eq!(d.reason.as_deref(), Some("Who was at this dinner?"));

    // Only Emma answers, and only while it is returned.
    let answer = Mutation::AnswerExpense {
        expense_id: e,
        answer: "Client lunch with Cedar".into(),
    };
    assert_rejected(w.run(&anna, at(31), &answer), RejectCode::Forbidden);
    w.ok(&emma, at(40), &answer);
    let mut f = w.expense(e).fields;
    f.note = Some("With Vera of Cedar Logistics".into());
    w.ok(
        &emma,
        at(41),
        &Mutation::SetExpenseFields {
            expense_id: e,
            fields: f,
        },
    );
    w.ok(&emma, at(42), &Mutation::SubmitExpense { expense_id: e });
    assert_status(&w, e, ExpenseStatus::Approved);
    assert_rejected(w.run(&emma, at(43), &answer), RejectCode::WrongState);

    let x = w.expense(e);
    assert_eq!(
        actions(&w, e),
        vec![
            HistoryAction::Created,
            HistoryAction::Edited,
            HistoryAction::Submitted,
            HistoryAction::Returned,
            HistoryAction::Answered,
            HistoryAction::Edited,
            HistoryAction::Submitted,
        ]
    );
    assert_eq!(
        x.history[3].note.as_deref(),
        Some("Who was at this dinner?")
    );
    assert_eq!(
        x.history[4].note.as_deref(),
        Some("Client lunch with Cedar")
    );
    assert_eq!(x.history[4].by, emma.user_id);
    assert_eq!(
        x.history[5].fields,
        vec![FieldChange {
            field: ExpenseField::Note,
            before: None,
            after: Some("With Vera of Cedar Logistics".into()),
        }]
    );
}

#[test]
fn marked_reviewed_it_is_ready_for_export_and_the_employee_cannot_change_it() {
    let mut w = World::new();
    let e = meal(&mut w);
    let (anna, emma) = (w.anna.clone(), w.emma.clone());
    let seen = reviewed(&w, e);
    w.ok(&anna, at(30), &seen);
    assert_status(&w, e, ExpenseStatus::Reviewed);
    // Marking it again, from the same view or a fresh one, changes nothing.
    assert_already(w.run(&anna, at(31), &seen));
    assert_already(w.run(&anna, at(31), &reviewed(&w, e)));
    let f = ExpenseFields {
        note: Some("late change".into()),
        ..w.expense(e).fields
    };
    assert_rejected(
        w.run(
            &emma,
            at(32),
            &Mutation::SetExpenseFields {
                expense_id: e,
                fields: f,
            },
        ),
        RejectCode::WrongState,
    );
    // The firm still corrects it, or asks about it.
    let m = correct(&w, e, w.birch_types.meals, Vec::new(), Some("7220"));
    w.ok(&anna, at(33), &m);
    assert_status(&w, e, ExpenseStatus::Reviewed);
    w.ok(&anna, at(34), &send_back(&w, e, "Is this the right date?"));
    assert_status(&w, e, ExpenseStatus::Returned);

    // Waiting for approval, it is not the firm's to review yet.
    let fuel = w.fuel_expense();
    assert_rejected(
        w.run(&anna, at(35), &reviewed(&w, fuel)),
        RejectCode::WrongState,
    );
}

#[test]
fn an_employees_edits_in_a_row_are_one_history_entry() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let mut f = fields(w.birch_types.meals, w.birch_master, Some(1_000));
    let e = w.draft(
        &emma,
        w.birch,
        kvits_protocol::DocumentType::Receipt,
        f.clone(),
    );
    for (minute, merchant) in [(5, "Rimi"), (6, "Rimi Hyper"), (7, "Rimi Hypermarket")] {
        f.merchant = Some(merchant.into());
        w.ok(
            &emma,
            at(minute),
            &Mutation::SetExpenseFields {
                expense_id: e,
                fields: f.clone(),
            },
        );
    }
    let x = w.expense(e);
    assert_eq!(
        actions(&w, e),
        vec![HistoryAction::Created, HistoryAction::Edited]
    );
    let edit = &x.history[1];
    assert_eq!(edit.at, at(7));
    assert!(edit.fields.iter().any(|c| c.field == ExpenseField::Pages));
    let merchant = edit
        .fields
        .iter()
        .find(|c| c.field == ExpenseField::Merchant)
        .unwrap();
    assert_eq!(merchant.before.as_deref(), Some("Circle K"));
    assert_eq!(merchant.after.as_deref(), Some("Rimi Hypermarket"));

    // Changed back to where it was, the field leaves the entry.
    f.merchant = Some("Circle K".into());
    w.ok(
        &emma,
        at(8),
        &Mutation::SetExpenseFields {
            expense_id: e,
            fields: f,
        },
    );
    let x = w.expense(e);
    assert!(
        x.history[1]
            .fields
            .iter()
            .all(|c| c.field != ExpenseField::Merchant),
        "{:?}",
        x.history[1]
    );
}
