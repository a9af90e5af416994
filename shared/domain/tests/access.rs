//! Who sees what: a matrix over every role × every kind of row × own vs foreign company, and
//! the cases that depend on who the row is about.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use kvits_domain::{Actor, State, can_see, is_task_for};
use kvits_protocol::{
    Approval, ApprovalStep, CompanyId, DocumentType, Entity, Expense, ExpenseId, ExpenseStatus,
    Message, MessageId, MessageRead, Role, Thread, ThreadId, UserId,
};

/// The columns of the matrix: every kind of row, expenses and read records in the variants
/// that matter.
const COLUMNS: [&str; 11] = [
    "company",
    "expense_type",
    "payment_method",
    "approval_rule",
    "expense: someone else's",
    "expense: own",
    "expense: routed to viewer",
    "thread",
    "message",
    "read: someone else's",
    "read: own",
];

/// One row of each column in `company`, as `viewer` would meet them.
fn rows(w: &World, company: CompanyId, viewer: UserId) -> Vec<Entity> {
    let someone = UserId(id(0x0003, 500));
    let other_company = w.state.company(company).unwrap();
    let expense = |created_by: UserId, approvers: Vec<UserId>| Expense {
        id: ExpenseId(id(0x0300, 1)),
        company_id: company,
        created_by,
        created_by_name: "Someone".into(),
        document_type: DocumentType::Receipt,
        fields: Default::default(),
        pages: vec![page(1)],
        status: ExpenseStatus::Submitted,
        revision: 3,
        approval: Some(Approval {
            rule_id: w.birch_rules.large,
            rule_name: "Large expenses".into(),
            steps: vec![
                ApprovalStep {
                    approver_ids: vec![someone],
                },
                ApprovalStep {
                    approver_ids: approvers,
                },
            ],
            current_step: 0,
        }),
        decisions: vec![],
        created_at: at(0),
        updated_at: at(0),
        submitted_at: Some(at(0)),
        history: Vec::new(),
        export: None,
    };
    let thread = Thread {
        id: ThreadId(id(0x0301, 1)),
        company_id: company,
        subject: "s".into(),
        created_by: someone,
        created_at: at(0),
        broadcast_id: None,
        last_message_at: at(0),
    };
    let message = Message {
        id: MessageId(id(0x0302, 1)),
        thread_id: thread.id,
        company_id: company,
        author_id: someone,
        author_name: "Someone".into(),
        body: "b".into(),
        attachment: None,
        created_at: at(0),
    };
    let read = |user_id| MessageRead {
        message_id: message.id,
        thread_id: thread.id,
        company_id: company,
        user_id,
        read_at: at(1),
    };
    let pick = |mut v: Vec<Entity>| v.remove(0);
    vec![
        Entity::Company(other_company),
        pick(
            w.state
                .expense_types(company)
                .into_iter()
                .map(Entity::ExpenseType)
                .collect(),
        ),
        Entity::PaymentMethod(
            w.state
                .payment_method(if company == w.birch {
                    w.birch_own
                } else if company == w.cedar {
                    w.cedar_own
                } else {
                    w.fir_card
                })
                .unwrap(),
        ),
        Entity::ApprovalRule({
            let mut r = w.state.approval_rule(w.birch_rules.large).unwrap();
            r.company_id = company;
            r
        }),
        Entity::Expense(expense(someone, vec![someone])),
        Entity::Expense(expense(viewer, vec![someone])),
        Entity::Expense(expense(someone, vec![someone, viewer])),
        Entity::Thread(thread.clone()),
        Entity::Message(message.clone()),
        Entity::MessageRead(read(someone)),
        Entity::MessageRead(read(viewer)),
    ]
}

/// A person holding only `role`, in Birch.
fn holder(w: &World, role: Role) -> Actor {
    Actor {
        user_id: UserId(id(0x0003, 400 + role as u128)),
        name: format!("{} of Birch", role.as_str()),
        firm_id: w.firm,
        roles: BTreeMap::from([(w.birch, vec![role])]),
    }
}

fn row(bits: &str) -> Vec<bool> {
    bits.split_whitespace().map(|b| b == "1").collect()
}

#[test]
fn every_role_every_kind_own_and_foreign_company() {
    let w = World::new();
    //                       company type method rule | other own routed | thread message | read-other read-own
    let expected: [(Role, Vec<bool>); 5] = [
        (Role::Employee, row("1 1 1 1  0 1 1  0 0  0 1")),
        (Role::Approver, row("1 1 1 1  0 1 1  0 0  0 1")),
        (Role::CompanyAdmin, row("1 1 1 1  1 1 1  1 1  0 1")),
        (Role::Accountant, row("1 1 1 1  1 1 1  1 1  1 1")),
        (Role::Client, row("1 1 1 1  1 1 1  1 1  0 1")),
    ];
    assert_eq!(expected.len(), Role::ALL.len());
    let mut failures = Vec::new();
    for (role, want) in &expected {
        let viewer = holder(&w, *role);
        // Own company.
        for ((col, e), want) in COLUMNS
            .iter()
            .zip(rows(&w, w.birch, viewer.user_id))
            .zip(want)
        {
            if can_see(&viewer, &e) != *want {
                failures.push(format!("{role:?} in own company, {col}: expected {want}"));
            }
        }
        // Another company of the same firm and a company of another firm: nothing, not even
        // rows naming the viewer.
        for company in [w.cedar, w.fir] {
            for (col, e) in COLUMNS.iter().zip(rows(&w, company, viewer.user_id)) {
                if can_see(&viewer, &e) {
                    failures.push(format!("{role:?} sees {col} of a foreign company"));
                }
            }
        }
    }
    // Nobody at all (no roles anywhere).
    let mut nobody = holder(&w, Role::Client);
    nobody.roles.clear();
    for (col, e) in COLUMNS.iter().zip(rows(&w, w.birch, nobody.user_id)) {
        if can_see(&nobody, &e) {
            failures.push(format!("a user without roles sees {col}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn roles_add_up() {
    let w = World::new();
    let mut viewer = holder(&w, Role::Employee);
    viewer
        .roles
        .insert(w.birch, vec![Role::Employee, Role::Client]);
    let r = rows(&w, w.birch, viewer.user_id);
    assert!(r.iter().take(9).all(|e| can_see(&viewer, e)));
    assert!(!can_see(&viewer, &r[9]));
    // Roles in Cedar do not open Birch.
    let mut viewer = holder(&w, Role::Employee);
    viewer.roles = BTreeMap::from([(w.cedar, vec![Role::Accountant])]);
    assert!(
        rows(&w, w.birch, viewer.user_id)
            .iter()
            .all(|e| !can_see(&viewer, e))
    );
}

#[test]
fn employees_see_their_own_expenses_only() {
    let mut w = World::new();
    let (emma, mark, otto) = (w.emma.clone(), w.mark.clone(), w.otto.clone());
    let own_draft = w.draft(&emma, w.birch, DocumentType::Receipt, Default::default());
    let own_submitted = w.fuel_expense();
    let marks = w.draft(&mark, w.birch, DocumentType::Receipt, Default::default());
    let ottos = w.draft(&otto, w.cedar, DocumentType::Receipt, Default::default());
    let see = |w: &World, a: &Actor, e| can_see(a, &Entity::Expense(w.expense(e)));
    assert!(see(&w, &emma, own_draft));
    assert!(see(&w, &emma, own_submitted));
    assert!(!see(&w, &emma, marks));
    assert!(!see(&w, &emma, ottos));
    assert!(see(&w, &otto, ottos));
    assert!(!see(&w, &otto, own_draft));
    // The accountant sees both companies' submitted expenses; drafts stay their author's.
    let anna = w.anna.clone();
    assert!(see(&w, &anna, own_submitted));
    for e in [own_draft, marks, ottos] {
        assert!(!see(&w, &anna, e));
    }
    // Fred (another firm) sees none.
    let fred = w.fred.clone();
    for e in [own_draft, own_submitted, marks, ottos] {
        assert!(!see(&w, &fred, e));
    }
}

#[test]
fn approvers_see_expenses_routed_to_them_at_any_step() {
    let mut w = World::new();
    let (mark, alice) = (w.mark.clone(), w.alice.clone());
    let (m, a) = (mark.user_id, alice.user_id);
    w.replace_rules(
        w.birch,
        vec![rule(
            w.birch_rules.large,
            w.birch,
            "Two steps",
            1,
            &[&[m], &[a]],
        )],
    );
    let emma = w.emma.clone();
    let f = fields(w.birch_types.meals, w.birch_own, Some(100));
    let draft = w.draft(&emma, w.birch, DocumentType::Receipt, f.clone());
    // A draft is nobody's business yet.
    assert!(!can_see(&mark, &Entity::Expense(w.expense(draft))));
    let e = w.submitted(&emma, f);
    let x = w.expense(e);
    assert!(can_see(&mark, &Entity::Expense(x.clone())));
    // Alice decides step 2: she sees it already, but it is not her task yet.
    assert!(can_see(&alice, &Entity::Expense(x.clone())));
    assert!(is_task_for(&x, m) && !is_task_for(&x, a));
    // An approver of no step (invoices go to alice only).
    w.replace_rules(
        w.birch,
        vec![rule(w.birch_rules.invoices, w.birch, "Alice", 1, &[&[a]])],
    );
    let g = fields(w.birch_types.office, w.birch_own, Some(100));
    let e = w.submitted(&emma, g);
    assert!(!can_see(&mark, &Entity::Expense(w.expense(e))));
    assert!(can_see(&alice, &Entity::Expense(w.expense(e))));
}

#[test]
fn clients_see_every_submitted_expense_and_message_of_their_company() {
    let mut w = World::new();
    let clara = w.clara.clone();
    let emma = w.emma.clone();
    let draft = w.draft(&emma, w.birch, DocumentType::Receipt, Default::default());
    let e = w.fuel_expense();
    // A draft is still its author's only.
    assert!(!can_see(&clara, &Entity::Expense(w.expense(draft))));
    assert!(can_see(&clara, &Entity::Expense(w.expense(e))));
    let anna = w.anna.clone();
    let mid = MessageId(w.fresh());
    w.ok(&anna, at(1), &send(mid, &[w.birch, w.cedar], "hello"));
    for entity in w.state.entities() {
        let own = entity.company_id() == w.birch;
        match &entity {
            Entity::Thread(_) | Entity::Message(_) => {
                assert_eq!(can_see(&clara, &entity), own, "{entity:?}");
            }
            Entity::Expense(x) => {
                let submitted = x.submitted_at.is_some();
                assert_eq!(can_see(&clara, &entity), own && submitted, "{entity:?}");
            }
            _ => {}
        }
    }
}

#[test]
fn a_draft_is_its_authors_alone_until_submitted() {
    let mut w = World::new();
    let (emma, mark) = (w.emma.clone(), w.mark.clone());
    // Fuel of 42.50: "Fuel and travel" (mark or alice) once submitted.
    let f = fields(w.birch_types.fuel, w.birch_master, Some(4_250));
    let e = w.draft(&emma, w.birch, DocumentType::Receipt, f);
    let sees = |w: &World, name: &str| {
        let (_, a) = w.actors().into_iter().find(|(n, _)| *n == name).unwrap();
        can_see(a, &Entity::Expense(w.expense(e)))
    };
    let names = |w: &World| -> Vec<&'static str> {
        w.actors()
            .into_iter()
            .filter(|(n, _)| sees(w, n))
            .map(|(n, _)| n)
            .collect()
    };
    // Every other role of Birch — accountant, approvers, admin, client — and everybody else.
    assert_eq!(names(&w), vec!["emma"]);
    // Holding every role at once opens no draft either.
    let mut all_roles = w.adam.clone();
    all_roles.roles.insert(w.birch, Role::ALL.to_vec());
    assert!(!can_see(&all_roles, &Entity::Expense(w.expense(e))));
    // Editing keeps it private.
    let mut f2 = w.expense(e).fields;
    f2.note = Some("on the way to the mill".into());
    w.ok(
        &emma,
        at(2),
        &kvits_protocol::Mutation::SetExpenseFields {
            expense_id: e,
            fields: f2,
        },
    );
    assert_eq!(names(&w), vec!["emma"]);

    // Submitted: the accountant, the routed approvers, the admin and the client see it.
    w.ok(
        &emma,
        at(3),
        &kvits_protocol::Mutation::SubmitExpense { expense_id: e },
    );
    let x = w.expense(e);
    assert_eq!(x.status, ExpenseStatus::Submitted);
    let visible = vec!["anna", "emma", "mark", "alice", "adam", "clara"];
    assert_eq!(names(&w), visible);
    assert!(can_see(&all_roles, &Entity::Expense(x.clone())));

    // Returned to the author for a fix, it stays visible: it was submitted once.
    w.ok(
        &mark,
        at(4),
        &decide(
            e,
            x.revision,
            kvits_protocol::DecisionKind::Return,
            Some("which car?"),
        ),
    );
    assert_eq!(w.expense(e).status, ExpenseStatus::Returned);
    assert_eq!(names(&w), visible);
}

#[test]
fn a_draft_needing_no_approval_opens_to_admins_clients_and_accountants_on_submit() {
    let mut w = World::new();
    let emma = w.emma.clone();
    // Meals of 20.00 match no rule: approved on submit, routed to nobody.
    let f = fields(w.birch_types.meals, w.birch_own, Some(2_000));
    let e = w.draft(&emma, w.birch, DocumentType::Receipt, f);
    let seen_by = |w: &World| -> Vec<&'static str> {
        w.actors()
            .into_iter()
            .filter(|(_, a)| can_see(a, &Entity::Expense(w.expense(e))))
            .map(|(n, _)| n)
            .collect()
    };
    assert_eq!(seen_by(&w), vec!["emma"]);
    w.ok(
        &emma,
        at(3),
        &kvits_protocol::Mutation::SubmitExpense { expense_id: e },
    );
    assert_eq!(w.expense(e).status, ExpenseStatus::Approved);
    // The approvers are in no route: still not theirs.
    assert_eq!(seen_by(&w), vec!["anna", "emma", "adam", "clara"]);
}

#[test]
fn read_records_are_for_the_reader_and_the_accountants() {
    let mut w = World::new();
    let (anna, clara, adam) = (w.anna.clone(), w.clara.clone(), w.adam.clone());
    let mid = MessageId(w.fresh());
    w.ok(&anna, at(1), &send(mid, &[w.birch], "hello"));
    let t = ThreadId::for_recipient(mid, w.birch);
    let first = MessageId::for_recipient(mid, w.birch);
    for reader in [&clara, &adam] {
        w.ok(
            reader,
            at(2),
            &kvits_protocol::Mutation::MarkRead {
                thread_id: t,
                up_to: first,
            },
        );
    }
    let clara_read = Entity::MessageRead(w.state.message_read(first, clara.user_id).unwrap());
    let adam_read = Entity::MessageRead(w.state.message_read(first, adam.user_id).unwrap());
    assert!(can_see(&clara, &clara_read) && !can_see(&clara, &adam_read));
    assert!(can_see(&adam, &adam_read) && !can_see(&adam, &clara_read));
    assert!(can_see(&anna, &clara_read) && can_see(&anna, &adam_read));
    for other in [&w.emma, &w.mark, &w.otto, &w.cora, &w.fred] {
        assert!(!can_see(other, &clara_read) && !can_see(other, &adam_read));
    }
}

#[test]
fn what_a_user_pulls_is_exactly_what_can_see_lets_through() {
    // Build a busy world, then check that each user's view never crosses companies.
    let mut w = World::new();
    let anna = w.anna.clone();
    let _ = w.fuel_expense();
    let _ = w.large_expense();
    let otto = w.otto.clone();
    let _ = w.draft(&otto, w.cedar, DocumentType::Receipt, Default::default());
    let mid = MessageId(w.fresh());
    w.ok(&anna, at(1), &send(mid, &[w.birch, w.cedar], "hello"));
    for (name, actor) in w.actors() {
        for e in w.state.entities() {
            if can_see(actor, &e) {
                assert!(
                    actor.is_member(e.company_id()),
                    "{name} sees a row of a company they are not in: {e:?}"
                );
            }
        }
    }
    let visible = |a: &Actor| w.state.entities().filter(|e| can_see(a, e)).count();
    // Anna (both companies) sees the most; fred sees only his own company's few rows.
    assert!(visible(&w.anna) > visible(&w.clara));
    assert!(visible(&w.clara) > visible(&w.emma));
    assert_eq!(
        visible(&w.fred),
        w.state
            .entities()
            .filter(|e| e.company_id() == w.fir)
            .count()
    );
}
