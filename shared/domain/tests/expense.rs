//! The expense lifecycle (create, edit, attach, submit, delete) and routing.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kvits_domain::{Applied, BlobKind, DomainError, State, Write, route};
use kvits_protocol::{
    ApprovalRuleId, DocumentType, Entity, EntityKind, ErrorCode, ExpenseFields, ExpenseId,
    ExpenseStatus, Mutation, RejectCode,
};

fn create(e: ExpenseId, w: &World, f: ExpenseFields) -> Mutation {
    Mutation::CreateExpense {
        expense_id: e,
        company_id: w.birch,
        document_type: DocumentType::Receipt,
        fields: f,
    }
}

fn set(e: ExpenseId, f: ExpenseFields) -> Mutation {
    Mutation::SetExpenseFields {
        expense_id: e,
        fields: f,
    }
}

fn submit(e: ExpenseId) -> Mutation {
    Mutation::SubmitExpense { expense_id: e }
}

fn delete(e: ExpenseId) -> Mutation {
    Mutation::DeleteExpense { expense_id: e }
}

fn attach(e: ExpenseId, pages: Vec<kvits_protocol::ReceiptPage>) -> Mutation {
    Mutation::AttachReceipt {
        expense_id: e,
        pages,
    }
}

// --- create ---------------------------------------------------------------------------------

#[test]
fn create_makes_a_draft_of_the_author() {
    let mut w = World::new();
    let e = ExpenseId(w.fresh());
    let f = fields(w.birch_types.meals, w.birch_own, Some(1_890));
    let emma = w.emma.clone();
    let writes = w.ok(&emma, at(5), &create(e, &w, f.clone()));
    assert_eq!(writes.len(), 1);
    let x = w.expense(e);
    assert_eq!(writes[0], Write::Put(Entity::Expense(x.clone())));
    assert_eq!(x.status, ExpenseStatus::Draft);
    assert_eq!(x.company_id, w.birch);
    assert_eq!(x.created_by, emma.user_id);
    assert_eq!(x.created_by_name, "Emma Employee");
    assert_eq!(x.fields, f);
    assert_eq!(x.revision, 1);
    assert!(x.pages.is_empty() && x.decisions.is_empty() && x.approval.is_none());
    assert_eq!(
        (x.created_at, x.updated_at, x.submitted_at),
        (at(5), at(5), None)
    );
}

/// Any ISO 4217 currency with a minor unit, whatever its exponent, is an amount to keep.
#[test]
fn amounts_in_any_countable_currency_are_kept_as_minor_units() {
    let mut w = World::new();
    let emma = w.emma.clone();
    for (currency, amount_minor) in [
        ("PLN", 4_999),
        ("SEK", 12_000),
        ("JPY", 1_200),
        ("BHD", 1_250),
    ] {
        let e = ExpenseId(w.fresh());
        let mut f = fields(w.birch_types.meals, w.birch_own, None);
        f.amount = Some(kvits_protocol::Money {
            amount_minor,
            currency: currency.into(),
        });
        w.ok(&emma, at(5), &create(e, &w, f.clone()));
        assert_eq!(w.expense(e).fields.amount, f.amount, "{currency}");
    }
}

#[test]
fn create_is_idempotent_for_its_author_and_refused_for_anyone_else() {
    let mut w = World::new();
    let e = ExpenseId(w.fresh());
    let emma = w.emma.clone();
    w.ok(&emma, at(0), &create(e, &w, ExpenseFields::default()));
    let before = w.state.clone();

    // The same create again (a lost response, retried), even with other fields: nothing.
    assert_already(w.run(&emma, at(3), &create(e, &w, ExpenseFields::default())));
    let other_fields = fields(w.birch_types.fuel, w.birch_own, None);
    assert_already(w.run(&emma, at(3), &create(e, &w, other_fields)));
    // Someone else using the id.
    let mark = w.mark.clone();
    assert_rejected(
        w.run(&mark, at(4), &create(e, &w, ExpenseFields::default())),
        RejectCode::IdTaken,
    );
    // Someone of another tenant using the id.
    let fred = w.fred.clone();
    let m = Mutation::CreateExpense {
        expense_id: e,
        company_id: w.fir,
        document_type: DocumentType::Receipt,
        fields: ExpenseFields::default(),
    };
    assert_rejected(w.run(&fred, at(4), &m), RejectCode::IdTaken);
    assert_eq!(w.state, before);
}

#[test]
fn create_needs_membership_and_a_capturing_role() {
    let mut w = World::new();
    let f = ExpenseFields::default();
    let e = ExpenseId(w.fresh());
    // Not a member of Cedar / of the other firm's company: as if it did not exist.
    for (actor, company) in [
        (w.emma.clone(), w.cedar),
        (w.anna.clone(), w.fir),
        (w.fred.clone(), w.birch),
    ] {
        let m = Mutation::CreateExpense {
            expense_id: e,
            company_id: company,
            document_type: DocumentType::Receipt,
            fields: f.clone(),
        };
        assert_rejected(w.run(&actor, at(0), &m), RejectCode::NotFound);
    }
    // Clients read messages; they do not capture.
    let clara = w.clara.clone();
    assert_rejected(
        w.run(&clara, at(0), &create(e, &w, f.clone())),
        RejectCode::Forbidden,
    );
    // Every capturing role may.
    for actor in [
        w.emma.clone(),
        w.mark.clone(),
        w.adam.clone(),
        w.anna.clone(),
    ] {
        let e = ExpenseId(w.fresh());
        w.ok(&actor, at(0), &create(e, &w, f.clone()));
    }
}

#[test]
fn create_checks_fields_against_the_companys_catalog() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let cases = [
        // Another company's expense type / card.
        fields(w.cedar_types.fuel, w.birch_own, None),
        fields(w.birch_types.fuel, w.cedar_card, None),
        fields(w.fir_type, w.birch_own, None),
        // Unknown ids.
        fields(
            kvits_protocol::ExpenseTypeId(id(0x0999, 1)),
            w.birch_own,
            None,
        ),
        // Bad money.
        ExpenseFields {
            amount: Some(eur(-1)),
            ..ExpenseFields::default()
        },
        ExpenseFields {
            amount: Some(kvits_protocol::Money {
                amount_minor: 100,
                currency: "eur".into(),
            }),
            ..ExpenseFields::default()
        },
        // Three capitals, but no currency; and a code with no minor unit to count in.
        ExpenseFields {
            amount: Some(kvits_protocol::Money {
                amount_minor: 100,
                currency: "ABC".into(),
            }),
            ..ExpenseFields::default()
        },
        ExpenseFields {
            amount: Some(kvits_protocol::Money {
                amount_minor: 100,
                currency: "XAU".into(),
            }),
            ..ExpenseFields::default()
        },
        ExpenseFields {
            merchant: Some("x".repeat(201)),
            ..ExpenseFields::default()
        },
        ExpenseFields {
            note: Some("bell\u{7}".into()),
            ..ExpenseFields::default()
        },
    ];
    for f in cases {
        let e = ExpenseId(w.fresh());
        assert_rejected(w.run(&emma, at(0), &create(e, &w, f)), RejectCode::Invalid);
        assert!(w.state.expense(e).is_none());
    }
}

// --- edit and attach ------------------------------------------------------------------------

#[test]
fn only_the_author_edits_and_only_while_draft_or_returned() {
    let mut w = World::new();
    let f = fields(w.birch_types.fuel, w.birch_master, Some(4_250));
    let emma = w.emma.clone();
    let e = w.draft(&emma, w.birch, DocumentType::Receipt, f.clone());
    let rev = w.expense(e).revision;

    // Same fields again: nothing to do.
    assert_already(w.run(&emma, at(3), &set(e, f.clone())));
    assert_already(w.run(&emma, at(3), &attach(e, w.expense(e).pages)));
    assert_eq!(w.expense(e).revision, rev);

    // A change bumps the revision and updated_at.
    let mut f2 = f.clone();
    f2.note = Some("team lunch".into());
    w.ok(&emma, at(4), &set(e, f2.clone()));
    let x = w.expense(e);
    assert_eq!(
        (x.revision, x.updated_at, x.fields.clone()),
        (rev + 1, at(4), f2.clone())
    );

    // A draft is its author's alone: for anyone else, the accountant and the admin
    // included, it is not found.
    for other in [
        w.anna.clone(),
        w.adam.clone(),
        w.mark.clone(),
        w.otto.clone(),
        w.fred.clone(),
    ] {
        assert_rejected(
            w.run(&other, at(5), &set(e, f.clone())),
            RejectCode::NotFound,
        );
        assert_rejected(
            w.run(&other, at(5), &attach(e, vec![page(900)])),
            RejectCode::NotFound,
        );
    }

    // Submitted (routed to mark/alice): frozen.
    w.ok(&emma, at(6), &submit(e));
    assert_status(&w, e, ExpenseStatus::Submitted);
    assert_rejected(
        w.run(&emma, at(7), &set(e, f.clone())),
        RejectCode::WrongState,
    );
    assert_rejected(
        w.run(&emma, at(7), &attach(e, vec![page(901)])),
        RejectCode::WrongState,
    );

    // Returned: editable again, by the author.
    let rev = w.expense(e).revision;
    let mark = w.mark.clone();
    w.ok(
        &mark,
        at(8),
        &decide(e, rev, kvits_protocol::DecisionKind::Return, Some("date?")),
    );
    // Others who see it now (the accountant, the admin) still cannot change it.
    for other in [w.anna.clone(), w.adam.clone()] {
        assert_rejected(
            w.run(&other, at(9), &set(e, f.clone())),
            RejectCode::Forbidden,
        );
        assert_rejected(
            w.run(&other, at(9), &attach(e, vec![page(900)])),
            RejectCode::Forbidden,
        );
    }
    w.ok(&emma, at(9), &set(e, f));
    let p = page(902);
    w.ok(&emma, at(9), &attach(e, vec![p.clone()]));
    assert_eq!(w.expense(e).pages, vec![p]);
    assert_status(&w, e, ExpenseStatus::Returned);
}

#[test]
fn approved_and_rejected_expenses_are_final() {
    let mut w = World::new();
    let emma = w.emma.clone();
    // Meals under 500: approved on submit.
    let f = fields(w.birch_types.meals, w.birch_master, Some(2_000));
    let e = w.submitted(&emma, f.clone());
    assert_status(&w, e, ExpenseStatus::Approved);
    assert_rejected(
        w.run(&emma, at(9), &set(e, ExpenseFields::default())),
        RejectCode::WrongState,
    );
    assert_rejected(
        w.run(&emma, at(9), &attach(e, vec![])),
        RejectCode::WrongState,
    );
    assert_rejected(w.run(&emma, at(9), &delete(e)), RejectCode::WrongState);
    assert_already(w.run(&emma, at(9), &submit(e)));

    let e = w.fuel_expense();
    let rev = w.expense(e).revision;
    let alice = w.alice.clone();
    w.ok(
        &alice,
        at(9),
        &decide(
            e,
            rev,
            kvits_protocol::DecisionKind::Reject,
            Some("private"),
        ),
    );
    assert_status(&w, e, ExpenseStatus::Rejected);
    assert_rejected(w.run(&emma, at(9), &set(e, f)), RejectCode::WrongState);
    assert_already(w.run(&emma, at(9), &submit(e)));
    assert_rejected(w.run(&emma, at(9), &delete(e)), RejectCode::WrongState);
}

#[test]
fn attach_validates_pages() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let e = w.draft(
        &emma,
        w.birch,
        DocumentType::Receipt,
        ExpenseFields::default(),
    );
    let mut upper = page(1);
    upper.sha256 = upper.sha256.to_uppercase().replace('0', "A");
    let mut empty = page(2);
    empty.size = 0;
    let mut huge = page(3);
    huge.size = kvits_protocol::MAX_BLOB_BYTES + 1;
    let mut flat = page(4);
    flat.width = 0;
    let mut untyped = page(5);
    untyped.content_type = " ".into();
    for bad in [upper, empty, huge, flat, untyped] {
        assert_rejected(
            w.run(&emma, at(2), &attach(e, vec![bad])),
            RejectCode::Invalid,
        );
    }
    let too_many: Vec<_> = (0..21).map(page).collect();
    assert_rejected(
        w.run(&emma, at(2), &attach(e, too_many)),
        RejectCode::Invalid,
    );
    let twenty: Vec<_> = (0..20).map(page).collect();
    w.ok(&emma, at(2), &attach(e, twenty));
    // Removing every page is allowed on a draft (submit then needs one again).
    w.ok(&emma, at(3), &attach(e, vec![]));
    assert!(w.expense(e).pages.is_empty());
}

// --- submit ---------------------------------------------------------------------------------

#[test]
fn submit_needs_a_page_an_expense_type_and_a_payment_method() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let e = ExpenseId(w.fresh());
    w.ok(&emma, at(0), &create(e, &w, ExpenseFields::default()));
    let missing_page = w.run(&emma, at(1), &submit(e));
    assert_rejected(missing_page, RejectCode::Invalid);

    let p = page(7);
    w.upload(w.birch, &p);
    w.ok(&emma, at(1), &attach(e, vec![p]));
    assert_rejected(w.run(&emma, at(2), &submit(e)), RejectCode::Invalid);

    let only_type = ExpenseFields {
        expense_type_id: Some(w.birch_types.meals),
        ..ExpenseFields::default()
    };
    w.ok(&emma, at(2), &set(e, only_type.clone()));
    assert_rejected(w.run(&emma, at(3), &submit(e)), RejectCode::Invalid);

    let only_card = ExpenseFields {
        payment_method_id: Some(w.birch_own),
        ..ExpenseFields::default()
    };
    w.ok(&emma, at(3), &set(e, only_card));
    assert_rejected(w.run(&emma, at(4), &submit(e)), RejectCode::Invalid);
    assert_status(&w, e, ExpenseStatus::Draft);

    // Type and own money, no amount, no date: enough to submit. Meals match no rule by
    // type, but an unknown amount does not dodge approval: "Large expenses" (500.00 and
    // more) takes it.
    let both = ExpenseFields {
        payment_method_id: Some(w.birch_own),
        ..only_type
    };
    w.ok(&emma, at(4), &set(e, both));
    w.ok(&emma, at(5), &submit(e));
    assert_status(&w, e, ExpenseStatus::Submitted);
    assert_eq!(w.expense(e).approval.unwrap().rule_id, w.birch_rules.large);
}

/// A receipt page is a photo: a PDF stored under a page's hash (a message attachment Emma
/// uploaded, say) cannot be submitted as one. Permanent, and nothing changes.
#[test]
fn a_page_that_is_a_pdf_is_refused_at_submit() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let e = ExpenseId(w.fresh());
    let f = fields(w.birch_types.meals, w.birch_own, Some(990));
    w.ok(&emma, at(0), &create(e, &w, f));
    let (p1, p2) = (page(21), page(22));
    w.ok(&emma, at(1), &attach(e, vec![p1.clone(), p2.clone()]));
    w.upload(w.birch, &p1);
    w.state
        .add_blob_of_kind(w.birch, p2.sha256.clone(), BlobKind::Pdf);
    let before = w.state.clone();
    match w.run(&emma, at(2), &submit(e)) {
        Err(DomainError::Rejected { code, message }) => {
            assert_eq!(code, RejectCode::Invalid);
            assert!(message.contains("page 2"), "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(w.state, before);
    assert_eq!(w.expense(e).status, ExpenseStatus::Draft);
}

#[test]
fn submit_waits_for_every_page_to_be_uploaded() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let e = ExpenseId(w.fresh());
    let f = fields(w.birch_types.meals, w.birch_own, Some(990));
    w.ok(&emma, at(0), &create(e, &w, f));
    let (p1, p2, p3) = (page(11), page(12), page(13));
    w.ok(
        &emma,
        at(1),
        &attach(e, vec![p1.clone(), p2.clone(), p3.clone()]),
    );
    w.upload(w.birch, &p2);
    // Uploaded by another company does not count (blobs are per tenant and company).
    w.upload(w.cedar, &p1);
    let before = w.state.clone();
    match w.run(&emma, at(2), &submit(e)) {
        Err(DomainError::NotYet {
            code,
            message,
            missing_blobs,
        }) => {
            assert_eq!(code, ErrorCode::BlobMissing);
            assert!(!message.is_empty());
            assert_eq!(missing_blobs, vec![p1.sha256.clone(), p3.sha256.clone()]);
        }
        other => panic!("expected not yet, got {other:?}"),
    }
    // Not a permanent outcome: nothing to store, nothing changed.
    assert_eq!(
        kvits_domain::outcome(&w.run(&emma, at(2), &submit(e))),
        None
    );
    assert_eq!(w.state, before);

    w.upload(w.birch, &p1);
    w.upload(w.birch, &p3);
    w.ok(&emma, at(3), &submit(e));
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Approved);
    assert_eq!(x.submitted_at, Some(at(3)));
}

#[test]
fn submit_without_a_matching_rule_approves_at_once() {
    let mut w = World::new();
    let otto = w.otto.clone();
    // Cedar has no rules at all.
    let f = fields(w.cedar_types.fuel, w.cedar_card, Some(9_000_000));
    let e = w.draft(&otto, w.cedar, DocumentType::Invoice, f);
    let rev = w.expense(e).revision;
    let writes = w.ok(&otto, at(4), &submit(e));
    let x = w.expense(e);
    assert_eq!(writes, vec![Write::Put(Entity::Expense(x.clone()))]);
    assert_eq!(x.status, ExpenseStatus::Approved);
    assert_eq!(x.approval, None);
    assert_eq!(x.submitted_at, Some(at(4)));
    assert_eq!(x.revision, rev + 1);
    assert!(x.decisions.is_empty());
    // And an approved expense is nobody's task.
    assert!(!kvits_domain::is_task_for(&x, otto.user_id));
}

#[test]
fn submit_with_a_matching_rule_routes_it() {
    let mut w = World::new();
    let e = w.fuel_expense();
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Submitted);
    assert_eq!(x.submitted_at, Some(at(2)));
    let a = x.approval.clone().unwrap();
    assert_eq!(a.rule_id, w.birch_rules.fuel_travel);
    assert_eq!(a.rule_name, "Fuel and travel");
    assert_eq!(a.current_step, 0);
    assert_eq!(a.steps.len(), 1);
    assert_eq!(
        a.steps[0].approver_ids,
        vec![w.mark.user_id, w.alice.user_id]
    );
    assert!(kvits_domain::is_task_for(&x, w.mark.user_id));
    assert!(kvits_domain::is_task_for(&x, w.alice.user_id));
    assert!(!kvits_domain::is_task_for(&x, w.adam.user_id));
    assert!(!kvits_domain::is_task_for(&x, w.emma.user_id));

    // Submitting again changes nothing; only the author submits.
    let emma = w.emma.clone();
    assert_already(w.run(&emma, at(3), &submit(e)));
    let anna = w.anna.clone();
    assert_rejected(w.run(&anna, at(3), &submit(e)), RejectCode::Forbidden);
    let mark = w.mark.clone();
    assert_rejected(w.run(&mark, at(3), &submit(e)), RejectCode::Forbidden);
    let otto = w.otto.clone();
    assert_rejected(w.run(&otto, at(3), &submit(e)), RejectCode::NotFound);
    // Unknown expense.
    assert_rejected(
        w.run(&emma, at(3), &submit(ExpenseId(id(0x0999, 9)))),
        RejectCode::NotFound,
    );
}

#[test]
fn a_deactivated_type_or_card_stays_on_an_expense_but_cannot_be_newly_chosen() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let adam = w.adam.clone();
    let f = fields(w.birch_types.meals, w.birch_master, Some(2_500));
    let e = w.draft(&emma, w.birch, DocumentType::Receipt, f.clone());
    let other = w.draft(
        &emma,
        w.birch,
        DocumentType::Receipt,
        fields(w.birch_types.office, w.birch_own, Some(100)),
    );

    let mut meals = w.state.expense_type(w.birch_types.meals).unwrap();
    meals.active = false;
    w.ok(&adam, at(2), &Mutation::PutExpenseType(meals));
    let mut master = w.state.payment_method(w.birch_master).unwrap();
    master.active = false;
    w.ok(&adam, at(2), &Mutation::PutPaymentMethod(master));

    // Newly chosen: refused, on create and on edit.
    let n = ExpenseId(w.fresh());
    assert_rejected(
        w.run(&emma, at(3), &create(n, &w, f.clone())),
        RejectCode::Invalid,
    );
    let mut to_meals = w.expense(other).fields;
    to_meals.expense_type_id = Some(w.birch_types.meals);
    assert_rejected(
        w.run(&emma, at(3), &set(other, to_meals)),
        RejectCode::Invalid,
    );
    let mut to_master = w.expense(other).fields;
    to_master.payment_method_id = Some(w.birch_master);
    assert_rejected(
        w.run(&emma, at(3), &set(other, to_master)),
        RejectCode::Invalid,
    );

    // Kept on the expense that had them: editing other fields and submitting work.
    let mut f2 = f.clone();
    f2.note = Some("with the bakers".into());
    w.ok(&emma, at(4), &set(e, f2));
    w.ok(&emma, at(5), &submit(e));
    assert_status(&w, e, ExpenseStatus::Approved);
}

#[test]
fn switching_away_from_a_deactivated_type_is_final() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let adam = w.adam.clone();
    let f = fields(w.birch_types.meals, w.birch_own, Some(2_500));
    let e = w.draft(&emma, w.birch, DocumentType::Receipt, f.clone());
    let mut meals = w.state.expense_type(w.birch_types.meals).unwrap();
    meals.active = false;
    w.ok(&adam, at(2), &Mutation::PutExpenseType(meals));
    let mut office = f.clone();
    office.expense_type_id = Some(w.birch_types.office);
    w.ok(&emma, at(3), &set(e, office));
    assert_rejected(w.run(&emma, at(4), &set(e, f)), RejectCode::Invalid);
}

// --- delete ---------------------------------------------------------------------------------

/// The author says what a draft is — receipt, invoice or another document — and may change
/// it while it can be edited; nobody else can.
#[test]
fn the_author_says_what_kind_of_document_a_draft_is() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let e = w.draft(
        &emma,
        w.birch,
        DocumentType::Receipt,
        ExpenseFields::default(),
    );
    let set = |document_type| Mutation::SetDocumentType {
        expense_id: e,
        document_type,
    };
    w.ok(&emma, at(1), &set(DocumentType::Invoice));
    assert_eq!(w.expense(e).document_type, DocumentType::Invoice);
    assert_already(w.run(&emma, at(2), &set(DocumentType::Invoice)));
    w.ok(&emma, at(3), &set(DocumentType::Other));
    assert_eq!(w.expense(e).document_type, DocumentType::Other);
    let before = w.state.clone();
    for other in [w.anna.clone(), w.mark.clone(), w.fred.clone()] {
        // Refused, or (a draft they cannot see) nothing to do: either way, nothing changes.
        let _ = w.run(&other, at(4), &set(DocumentType::Receipt));
    }
    assert_eq!(w.state, before, "nobody but the author changes it");
}

#[test]
fn delete_removes_only_never_submitted_drafts_of_the_author() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let e = w.draft(
        &emma,
        w.birch,
        DocumentType::Receipt,
        ExpenseFields::default(),
    );

    // Others, the accountant and the admin included, do not see a draft: nothing happens
    // and nothing is revealed.
    let before = w.state.clone();
    for other in [
        w.anna.clone(),
        w.adam.clone(),
        w.mark.clone(),
        w.fred.clone(),
    ] {
        assert_already(w.run(&other, at(3), &delete(e)));
    }
    assert_eq!(w.state, before);

    let writes = w.ok(&emma, at(4), &delete(e));
    assert_eq!(
        writes,
        vec![Write::Delete {
            kind: EntityKind::Expense,
            id: e.0,
            company_id: w.birch,
        }]
    );
    assert!(w.state.expense(e).is_none());
    // Again, or an id never seen: already done.
    assert_already(w.run(&emma, at(5), &delete(e)));
    assert_already(w.run(&emma, at(5), &delete(ExpenseId(id(0x0999, 1)))));
}

#[test]
fn delete_refuses_anything_ever_submitted() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let mark = w.mark.clone();
    let e = w.fuel_expense();
    assert_rejected(w.run(&emma, at(3), &delete(e)), RejectCode::WrongState);
    // The accountant sees it now, and may not delete someone else's expense.
    let anna = w.anna.clone();
    assert_rejected(w.run(&anna, at(3), &delete(e)), RejectCode::Forbidden);
    let rev = w.expense(e).revision;
    w.ok(
        &mark,
        at(4),
        &decide(e, rev, kvits_protocol::DecisionKind::Return, Some("blurry")),
    );
    assert_status(&w, e, ExpenseStatus::Returned);
    assert_rejected(w.run(&emma, at(5), &delete(e)), RejectCode::WrongState);
    assert!(w.state.expense(e).is_some());
}

// --- routing --------------------------------------------------------------------------------

/// The rule the expense of `f` / `doc` in Birch would take, by name.
fn routed(w: &World, doc: DocumentType, f: ExpenseFields) -> Option<String> {
    let mut x = w.expense(ExpenseId(id(0x0100, 0)));
    x.document_type = doc;
    x.fields = f;
    route(&w.state.approval_rules(w.birch), &x).map(|r| r.name.clone())
}

/// A world with one draft at id(0x0100, 0) used as a template by [`routed`].
fn routing_world() -> World {
    let mut w = World::new();
    let e = ExpenseId(id(0x0100, 0));
    let emma = w.emma.clone();
    w.ok(&emma, at(0), &create(e, &w, ExpenseFields::default()));
    w
}

#[test]
fn routes_by_document_type_first_in_position_order() {
    let w = routing_world();
    let t = w.birch_types.clone();
    let fuel = |a| fields(t.fuel, w.birch_master, a);
    assert_eq!(
        routed(&w, DocumentType::Invoice, fuel(Some(100))).as_deref(),
        Some("Invoices")
    );
    assert_eq!(
        routed(&w, DocumentType::Invoice, fuel(Some(900_000))).as_deref(),
        Some("Invoices")
    );
    assert_eq!(
        routed(&w, DocumentType::Receipt, fuel(Some(100))).as_deref(),
        Some("Fuel and travel")
    );
}

#[test]
fn routes_by_expense_type() {
    let w = routing_world();
    let t = w.birch_types.clone();
    let r = |ty, a| routed(&w, DocumentType::Receipt, fields(ty, w.birch_master, a));
    assert_eq!(r(t.fuel, Some(4_000)).as_deref(), Some("Fuel and travel"));
    assert_eq!(r(t.travel, Some(4_000)).as_deref(), Some("Fuel and travel"));
    assert_eq!(r(t.meals, Some(4_000)), None);
    assert_eq!(r(t.office, Some(4_000)), None);
    // No type chosen: a rule listing types does not match.
    let untyped = ExpenseFields {
        amount: Some(eur(4_000)),
        ..ExpenseFields::default()
    };
    assert_eq!(routed(&w, DocumentType::Receipt, untyped), None);
}

#[test]
fn amount_limits_min_inclusive_max_exclusive() {
    let mut w = routing_world();
    let mut band = rule(
        ApprovalRuleId(id(0x0006, 50)),
        w.birch,
        "Band",
        1,
        &[&[w.mark.user_id]],
    );
    band.min_amount_minor = Some(10_000);
    band.max_amount_minor = Some(20_000);
    w.replace_rules(w.birch, vec![band]);
    let t = w.birch_types.clone();
    let r = |a| routed(&w, DocumentType::Receipt, fields(t.meals, w.birch_own, a));
    assert_eq!(r(Some(9_999)), None);
    assert_eq!(r(Some(10_000)).as_deref(), Some("Band"));
    assert_eq!(r(Some(19_999)).as_deref(), Some("Band"));
    assert_eq!(r(Some(20_000)), None);
    // No amount: it could be anything, so a rule with limits matches.
    assert_eq!(r(None).as_deref(), Some("Band"));

    // In the standard world: 500.00 is "large", 499.99 fuel is "fuel and travel".
    let w = routing_world();
    let r = |ty, a| routed(&w, DocumentType::Receipt, fields(ty, w.birch_own, a));
    assert_eq!(r(t.fuel, Some(50_000)).as_deref(), Some("Large expenses"));
    assert_eq!(r(t.fuel, Some(49_999)).as_deref(), Some("Fuel and travel"));
    assert_eq!(r(t.meals, Some(50_000)).as_deref(), Some("Large expenses"));
    assert_eq!(r(t.meals, Some(49_999)), None);
    // Without an amount, nothing escapes: the first rule with limits, in position order,
    // takes it ("Large expenses" comes before "Fuel and travel").
    assert_eq!(r(t.fuel, None).as_deref(), Some("Large expenses"));
    assert_eq!(r(t.meals, None).as_deref(), Some("Large expenses"));
}

/// Limits carry a currency. An expense in that currency is compared by its amount; one in
/// another currency by its amount in the company's base currency; one with neither could be
/// anything and matches. Checked with EUR, PLN, SEK and yen (no decimals).
#[test]
fn amount_limits_compare_in_the_rule_s_currency() {
    let money = |amount_minor, currency: &str| kvits_protocol::Money {
        amount_minor,
        currency: currency.into(),
    };
    let with_rule = |currency: &str, min: i64| {
        let mut w = routing_world();
        let mut large = rule(
            ApprovalRuleId(id(0x0006, 60)),
            w.birch,
            "Large",
            1,
            &[&[w.mark.user_id]],
        );
        large.currency = currency.into();
        large.min_amount_minor = Some(min);
        w.replace_rules(w.birch, vec![large]);
        w
    };
    let route_of = |w: &World, amount, base_amount| {
        let mut f = fields(w.birch_types.meals, w.birch_own, None);
        f.amount = Some(amount);
        f.base_amount = base_amount;
        routed(w, DocumentType::Receipt, f)
    };

    // Birch keeps EUR; the rule takes 500.00 EUR and more.
    let w = with_rule("EUR", 50_000);
    let cases = [
        (money(49_999, "EUR"), None, None),
        (money(50_000, "EUR"), None, Some("Large")),
        // In another currency: by the amount in EUR.
        (money(200_000, "PLN"), Some(money(46_000, "EUR")), None),
        (
            money(250_000, "PLN"),
            Some(money(57_500, "EUR")),
            Some("Large"),
        ),
        (
            money(600_000, "SEK"),
            Some(money(52_000, "EUR")),
            Some("Large"),
        ),
        (money(10_000, "JPY"), Some(money(6_100, "EUR")), None),
        // Its amount in EUR unknown: it must not dodge approval.
        (money(10_000, "JPY"), None, Some("Large")),
    ];
    for (amount, base, expected) in cases {
        let what = format!("{amount:?} / {base:?}");
        assert_eq!(route_of(&w, amount, base).as_deref(), expected, "{what}");
    }

    // A rule in PLN compares the PLN amount; an amount in EUR only tells it nothing.
    let w = with_rule("PLN", 200_000);
    assert_eq!(route_of(&w, money(199_999, "PLN"), None), None);
    assert_eq!(
        route_of(&w, money(200_000, "PLN"), Some(money(46_000, "EUR"))).as_deref(),
        Some("Large")
    );
    assert_eq!(
        route_of(&w, money(100, "EUR"), None).as_deref(),
        Some("Large")
    );
}

/// An amount in the base currency belongs to a document in another currency, and is in the
/// company's base currency; anything else is refused and changes nothing.
#[test]
fn a_base_currency_amount_must_be_in_the_company_s_currency() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let money = |amount_minor, currency: &str| kvits_protocol::Money {
        amount_minor,
        currency: currency.into(),
    };
    let cases = [
        // No amount of its own.
        (None, Some(money(1_000, "EUR"))),
        // Not in the company's base currency (Birch keeps EUR).
        (Some(money(10_000, "PLN")), Some(money(2_300, "SEK"))),
        // The document is in EUR already.
        (Some(money(1_000, "EUR")), Some(money(1_000, "EUR"))),
        // Not a currency.
        (Some(money(10_000, "PLN")), Some(money(2_300, "XYZ"))),
    ];
    for (amount, base_amount) in cases {
        let e = ExpenseId(w.fresh());
        let mut f = fields(w.birch_types.meals, w.birch_own, None);
        f.amount = amount;
        f.base_amount = base_amount;
        assert_rejected(w.run(&emma, at(0), &create(e, &w, f)), RejectCode::Invalid);
        assert!(w.state.expense(e).is_none());
    }
    let e = ExpenseId(w.fresh());
    let mut f = fields(w.birch_types.meals, w.birch_own, None);
    f.amount = Some(money(10_000, "PLN"));
    f.base_amount = Some(money(2_310, "EUR"));
    w.ok(&emma, at(0), &create(e, &w, f.clone()));
    assert_eq!(w.expense(e).fields.base_amount, f.base_amount);
}

#[test]
fn a_rule_with_a_minimum_routes_an_expense_without_an_amount() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let mut over = rule(
        ApprovalRuleId(id(0x0006, 51)),
        w.birch,
        "From 100.00",
        1,
        &[&[w.mark.user_id]],
    );
    over.min_amount_minor = Some(10_000);
    w.replace_rules(w.birch, vec![over.clone()]);
    let t = w.birch_types.clone();
    let f = |a| fields(t.meals, w.birch_own, a);
    let (below, at_min, unknown) = (f(Some(9_999)), f(Some(10_000)), f(None));

    // Routing: below the minimum no rule, at it the rule, and an unknown amount the rule.
    let x = |f: ExpenseFields| {
        let mut x = kvits_protocol::Expense {
            id: ExpenseId(id(0x0999, 2)),
            company_id: w.birch,
            created_by: emma.user_id,
            created_by_name: emma.name.clone(),
            document_type: DocumentType::Receipt,
            fields: ExpenseFields::default(),
            pages: vec![page(1)],
            status: ExpenseStatus::Draft,
            revision: 1,
            approval: None,
            decisions: vec![],
            created_at: at(0),
            updated_at: at(0),
            submitted_at: None,
            history: Vec::new(),
            export: None,
        };
        x.fields = f;
        x
    };
    let rules = [over];
    assert!(route(&rules, &x(below.clone())).is_none());
    assert_eq!(
        route(&rules, &x(at_min)).map(|r| r.name.as_str()),
        Some("From 100.00")
    );
    assert_eq!(
        route(&rules, &x(unknown.clone())).map(|r| r.name.as_str()),
        Some("From 100.00")
    );

    // Submitted without an amount: it waits for mark instead of being approved at once.
    let e = w.submitted(&emma, unknown);
    let y = w.expense(e);
    assert_eq!(y.status, ExpenseStatus::Submitted);
    assert_eq!(y.approval.as_ref().unwrap().rule_name, "From 100.00");
    assert!(kvits_domain::is_task_for(&y, w.mark.user_id));
    // With a known amount below the minimum: approved at once.
    let e = w.submitted(&emma, below);
    assert_status(&w, e, ExpenseStatus::Approved);
}

#[test]
fn routes_by_position_then_id_whatever_the_stored_order() {
    let mut w = routing_world();
    let (m, a) = (w.mark.user_id, w.alice.user_id);
    let late = rule(ApprovalRuleId(id(0x0006, 60)), w.birch, "Late", 5, &[&[m]]);
    let early = rule(
        ApprovalRuleId(id(0x0006, 61)),
        w.birch,
        "Early",
        -3,
        &[&[a]],
    );
    // Same position: the smaller id first.
    let tie_b = rule(
        ApprovalRuleId(id(0x0006, 63)),
        w.birch,
        "Tie B",
        -7,
        &[&[a]],
    );
    let tie_a = rule(
        ApprovalRuleId(id(0x0006, 62)),
        w.birch,
        "Tie A",
        -7,
        &[&[m]],
    );
    w.replace_rules(w.birch, vec![late.clone(), early.clone()]);
    let f = || fields(w.birch_types.meals, w.birch_own, Some(1));
    assert_eq!(
        routed(&w, DocumentType::Receipt, f()).as_deref(),
        Some("Early")
    );
    let rules = vec![late, early, tie_b, tie_a];
    let x = {
        let mut x = w.expense(ExpenseId(id(0x0100, 0)));
        x.fields = f();
        x
    };
    assert_eq!(route(&rules, &x).map(|r| r.name.as_str()), Some("Tie A"));
    let reversed: Vec<_> = rules.into_iter().rev().collect();
    assert_eq!(route(&reversed, &x).map(|r| r.name.as_str()), Some("Tie A"));
}

#[test]
fn inactive_rules_rules_without_steps_and_other_companies_rules_are_skipped() {
    let mut w = routing_world();
    let t = w.birch_types.clone();
    let meals = || fields(t.meals, w.birch_own, Some(1_000));
    // "Old rule" (inactive, matches everything) is skipped.
    assert_eq!(routed(&w, DocumentType::Receipt, meals()), None);
    let mut old = w.state.approval_rule(w.birch_rules.old).unwrap();
    old.active = true;
    w.state.put(Entity::ApprovalRule(old));
    assert_eq!(
        routed(&w, DocumentType::Receipt, meals()).as_deref(),
        Some("Old rule")
    );

    let x = {
        let mut x = w.expense(ExpenseId(id(0x0100, 0)));
        x.fields = meals();
        x
    };
    let mut stepless = rule(ApprovalRuleId(id(0x0006, 70)), w.birch, "No steps", 0, &[]);
    stepless.steps.clear();
    let foreign = rule(
        ApprovalRuleId(id(0x0006, 71)),
        w.cedar,
        "Cedar's",
        -100,
        &[&[w.otto.user_id]],
    );
    assert!(route(&[stepless, foreign], &x).is_none());
}

#[test]
fn submit_routes_with_the_rules_of_the_moment() {
    let mut w = World::new();
    let emma = w.emma.clone();
    let adam = w.adam.clone();
    let f = fields(w.birch_types.meals, w.birch_master, Some(3_000));
    let e = w.draft(&emma, w.birch, DocumentType::Receipt, f);
    // Adam switches the old catch-all rule on before emma submits.
    let mut old = w.state.approval_rule(w.birch_rules.old).unwrap();
    old.active = true;
    w.ok(&adam, at(2), &Mutation::PutApprovalRule(old));
    w.ok(&emma, at(3), &submit(e));
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Submitted);
    assert_eq!(x.approval.unwrap().rule_id, w.birch_rules.old);
    // A route is fixed at submission: changing the rule afterwards does not move it.
    let mut old = w.state.approval_rule(w.birch_rules.old).unwrap();
    old.steps[0].approver_ids = vec![w.mark.user_id];
    w.ok(&adam, at(4), &Mutation::PutApprovalRule(old));
    let a = w.expense(e).approval.unwrap();
    assert_eq!(a.steps[0].approver_ids, vec![adam.user_id]);
}

#[test]
fn outcome_maps_results() {
    use kvits_protocol::Outcome;
    assert_eq!(
        kvits_domain::outcome(&Ok(Applied::Changes(vec![]))),
        Some(Outcome::Applied)
    );
    assert_eq!(
        kvits_domain::outcome(&Ok(Applied::AlreadyApplied)),
        Some(Outcome::AlreadyApplied)
    );
    let e = DomainError::Rejected {
        code: RejectCode::Invalid,
        message: "m".into(),
    };
    assert_eq!(
        kvits_domain::outcome(&Err(e)),
        Some(Outcome::Rejected {
            code: RejectCode::Invalid,
            message: "m".into()
        })
    );
}
