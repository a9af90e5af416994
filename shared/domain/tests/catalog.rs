//! Company catalogs: expense types, payment methods, approval rules.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kvits_domain::{Applied, State, Write};
use kvits_protocol::{
    ApprovalRuleId, ApprovalStep, Entity, ExpenseType, ExpenseTypeId, Mutation, PaymentKind,
    PaymentMethod, PaymentMethodId, RejectCode, UserId,
};

fn parking(w: &World) -> ExpenseType {
    ExpenseType {
        id: ExpenseTypeId(id(0x0004, 100)),
        company_id: w.birch,
        code: "6150".into(),
        name: "Parking".into(),
        active: true,
    }
}

fn amex(w: &World) -> PaymentMethod {
    PaymentMethod {
        id: PaymentMethodId(id(0x0005, 100)),
        company_id: w.birch,
        payment_kind: PaymentKind::CompanyCard,
        label: "Amex Gold".into(),
        last_four: Some("0005".into()),
        holder_id: Some(w.alice.user_id),
        active: true,
        statement_ref: None,
    }
}

#[test]
fn admins_and_accountants_manage_the_catalog_nobody_else() {
    let mut w = World::new();
    let t = parking(&w);
    let m = amex(&w);
    let r = rule(
        ApprovalRuleId(id(0x0006, 100)),
        w.birch,
        "Parking",
        50,
        &[&[w.mark.user_id]],
    );
    let muts = [
        Mutation::PutExpenseType(t.clone()),
        Mutation::PutPaymentMethod(m.clone()),
        Mutation::PutApprovalRule(r.clone()),
    ];
    for mutation in &muts {
        for actor in [
            w.emma.clone(),
            w.mark.clone(),
            w.alice.clone(),
            w.clara.clone(),
        ] {
            assert_rejected(w.run(&actor, at(1), mutation), RejectCode::Forbidden);
        }
        for actor in [w.otto.clone(), w.cora.clone(), w.fred.clone()] {
            assert_rejected(w.run(&actor, at(1), mutation), RejectCode::NotFound);
        }
    }
    assert!(w.state.expense_type(t.id).is_none());
    let adam = w.adam.clone();
    let anna = w.anna.clone();
    let writes = w.ok(&adam, at(2), &muts[0]);
    assert_eq!(writes, vec![Write::Put(Entity::ExpenseType(t.clone()))]);
    w.ok(&anna, at(2), &muts[1]);
    w.ok(&adam, at(2), &muts[2]);
    assert_eq!(w.state.expense_type(t.id), Some(t));
    assert_eq!(w.state.payment_method(m.id), Some(m));
    assert_eq!(w.state.approval_rule(r.id), Some(r));
    // The same row again: nothing to do.
    for mutation in &muts {
        assert_already(w.run(&anna, at(3), mutation));
    }
    // Anna manages Cedar too; fred manages his own company.
    let mut cedar_type = parking(&w);
    cedar_type.id = ExpenseTypeId(id(0x0004, 101));
    cedar_type.company_id = w.cedar;
    w.ok(&anna, at(3), &Mutation::PutExpenseType(cedar_type.clone()));
    let mut fir_type = cedar_type;
    fir_type.id = ExpenseTypeId(id(0x0004, 102));
    fir_type.company_id = w.fir;
    let fred = w.fred.clone();
    w.ok(&fred, at(3), &Mutation::PutExpenseType(fir_type.clone()));
    assert_rejected(
        w.run(&anna, at(3), &Mutation::PutExpenseType(fir_type)),
        RejectCode::NotFound,
    );
}

#[test]
fn expense_type_codes_are_unique_per_company() {
    let mut w = World::new();
    let adam = w.adam.clone();
    let mut dup = parking(&w);
    dup.code = " 6110 ".into(); // Fuel's code, with spaces
    assert_rejected(
        w.run(&adam, at(1), &Mutation::PutExpenseType(dup.clone())),
        RejectCode::Invalid,
    );
    dup.code = "6150".into();
    w.ok(&adam, at(1), &Mutation::PutExpenseType(dup.clone()));
    // Codes compare without case.
    let mut upper = parking(&w);
    upper.id = ExpenseTypeId(id(0x0004, 103));
    upper.code = "abc".into();
    w.ok(&adam, at(2), &Mutation::PutExpenseType(upper.clone()));
    let mut lower = upper.clone();
    lower.id = ExpenseTypeId(id(0x0004, 104));
    lower.code = "ABC".into();
    assert_rejected(
        w.run(&adam, at(2), &Mutation::PutExpenseType(lower)),
        RejectCode::Invalid,
    );
    // Renaming a type keeps its own code.
    let mut fuel = w.state.expense_type(w.birch_types.fuel).unwrap();
    fuel.name = "Fuel and oil".into();
    w.ok(&adam, at(3), &Mutation::PutExpenseType(fuel));
    // Codes are checked within the company of the row.
    let anna = w.anna.clone();
    let mut cedar = parking(&w);
    cedar.id = ExpenseTypeId(id(0x0004, 105));
    cedar.company_id = w.cedar;
    cedar.code = "6110".into();
    let r = w.run(&anna, at(3), &Mutation::PutExpenseType(cedar));
    // Cedar has its own Fuel with 6110: refused.
    assert_rejected(r, RejectCode::Invalid);
    // 6150 is Birch's Parking now, but free in Cedar.
    let mut cedar = parking(&w);
    cedar.id = ExpenseTypeId(id(0x0004, 106));
    cedar.company_id = w.cedar;
    w.ok(&anna, at(3), &Mutation::PutExpenseType(cedar));
    // Name and code are required and short.
    for (code, name) in [("", "x"), ("x", " "), (&*"9".repeat(33), "x")] {
        let mut t = parking(&w);
        t.id = ExpenseTypeId(id(0x0004, 107));
        t.code = code.into();
        t.name = name.into();
        assert_rejected(
            w.run(&adam, at(4), &Mutation::PutExpenseType(t)),
            RejectCode::Invalid,
        );
    }
}

#[test]
fn a_row_cannot_move_to_another_company() {
    let mut w = World::new();
    let anna = w.anna.clone();
    let mut fuel = w.state.expense_type(w.birch_types.fuel).unwrap();
    fuel.company_id = w.cedar;
    fuel.code = "7777".into();
    assert_rejected(
        w.run(&anna, at(1), &Mutation::PutExpenseType(fuel)),
        RejectCode::IdTaken,
    );
    let mut own = w.state.payment_method(w.birch_own).unwrap();
    own.company_id = w.cedar;
    assert_rejected(
        w.run(&anna, at(1), &Mutation::PutPaymentMethod(own)),
        RejectCode::IdTaken,
    );
    let mut r = w.state.approval_rule(w.birch_rules.invoices).unwrap();
    r.company_id = w.cedar;
    // (Cedar has no approvers, so that would fail anyway; IdTaken comes first.)
    assert_rejected(
        w.run(&anna, at(1), &Mutation::PutApprovalRule(r)),
        RejectCode::IdTaken,
    );
    // A foreign firm's admin cannot take over an id of ours either.
    let fred = w.fred.clone();
    let mut stolen = w.state.expense_type(w.birch_types.meals).unwrap();
    stolen.company_id = w.fir;
    stolen.code = "1".into();
    assert_rejected(
        w.run(&fred, at(1), &Mutation::PutExpenseType(stolen)),
        RejectCode::IdTaken,
    );
}

#[test]
fn a_card_needs_its_last_four_digits_and_own_money_has_none() {
    let mut w = World::new();
    let adam = w.adam.clone();
    for digits in [
        None,
        Some(""),
        Some("123"),
        Some("12345"),
        Some("12a4"),
        Some("１２３４"),
    ] {
        let mut m = amex(&w);
        m.last_four = digits.map(str::to_owned);
        assert_rejected(
            w.run(&adam, at(1), &Mutation::PutPaymentMethod(m)),
            RejectCode::Invalid,
        );
    }
    let mut own = amex(&w);
    own.payment_kind = PaymentKind::OwnMoney;
    own.label = "Cash".into();
    assert_rejected(
        w.run(&adam, at(1), &Mutation::PutPaymentMethod(own.clone())),
        RejectCode::Invalid,
    );
    own.last_four = None;
    assert_rejected(
        w.run(&adam, at(1), &Mutation::PutPaymentMethod(own.clone())),
        RejectCode::Invalid,
    );
    own.holder_id = None;
    w.ok(&adam, at(1), &Mutation::PutPaymentMethod(own));

    // The holder must belong to the company.
    for holder in [w.otto.user_id, w.anna.user_id, UserId(id(0x0003, 77))] {
        let mut m = amex(&w);
        m.holder_id = Some(holder);
        assert_rejected(
            w.run(&adam, at(2), &Mutation::PutPaymentMethod(m)),
            RejectCode::Invalid,
        );
    }
    let mut m = amex(&w);
    m.holder_id = None;
    w.ok(&adam, at(2), &Mutation::PutPaymentMethod(m.clone()));
    m.label = " ".into();
    assert_rejected(
        w.run(&adam, at(2), &Mutation::PutPaymentMethod(m)),
        RejectCode::Invalid,
    );
}

#[test]
fn rule_approvers_must_be_approvers_or_admins_of_the_company() {
    let mut w = World::new();
    let anna = w.anna.clone();
    let rid = ApprovalRuleId(id(0x0006, 100));
    let ok = |w: &World, steps: &[&[UserId]]| rule(rid, w.birch, "Catering", 5, steps);
    for who in [
        w.emma.user_id,
        w.clara.user_id,
        w.anna.user_id,
        w.otto.user_id,
        w.fred.user_id,
    ] {
        assert_rejected(
            w.run(&anna, at(1), &Mutation::PutApprovalRule(ok(&w, &[&[who]]))),
            RejectCode::Invalid,
        );
        assert_rejected(
            w.run(
                &anna,
                at(1),
                &Mutation::PutApprovalRule(ok(&w, &[&[w.mark.user_id], &[who]])),
            ),
            RejectCode::Invalid,
        );
    }
    let (m, a, d) = (w.mark.user_id, w.alice.user_id, w.adam.user_id);
    w.ok(
        &anna,
        at(2),
        &Mutation::PutApprovalRule(ok(&w, &[&[m, a], &[d]])),
    );
    // Steps: at least one, at most ten, none empty, nobody twice in a step.
    let just_mark = [m];
    let eleven: Vec<&[UserId]> = (0..11).map(|_| &just_mark[..]).collect();
    let ten: Vec<&[UserId]> = (0..10).map(|_| &just_mark[..]).collect();
    for steps in [vec![], eleven, vec![&[][..]], vec![&[m, a, m][..]]] {
        assert_rejected(
            w.run(&anna, at(3), &Mutation::PutApprovalRule(ok(&w, &steps))),
            RejectCode::Invalid,
        );
    }
    w.ok(&anna, at(3), &Mutation::PutApprovalRule(ok(&w, &ten)));
}

/// Names people read cannot hide characters: a text-direction override or a zero-width space
/// in a type's name, a card's label or a rule's name is refused and changes nothing; names in
/// any script pass.
#[test]
fn names_with_invisible_or_direction_characters_are_refused() {
    let mut w = World::new();
    let adam = w.adam.clone();
    let before = w.state.clone();
    let mut t = parking(&w);
    t.name = "Park\u{202e}gni".into();
    let mut m = amex(&w);
    m.label = "Amex\u{200b} Gold".into();
    let mut r = rule(
        ApprovalRuleId(id(0x0006, 101)),
        w.birch,
        "\u{2066}Managers\u{2069}",
        5,
        &[&[w.alice.user_id]],
    );
    for bad in [
        Mutation::PutExpenseType(t.clone()),
        Mutation::PutPaymentMethod(m.clone()),
        Mutation::PutApprovalRule(r.clone()),
    ] {
        assert_rejected(w.run(&adam, at(1), &bad), RejectCode::Invalid);
    }
    assert_eq!(w.state, before);
    t.name = "Stāvvieta Łódź".into();
    m.label = "Åhléns kort".into();
    r.name = "Vadītāji".into();
    for good in [
        Mutation::PutExpenseType(t),
        Mutation::PutPaymentMethod(m),
        Mutation::PutApprovalRule(r),
    ] {
        w.ok(&adam, at(2), &good);
    }
}

#[test]
fn rule_limits_and_expense_types_are_checked() {
    let mut w = World::new();
    let adam = w.adam.clone();
    let base = rule(
        ApprovalRuleId(id(0x0006, 100)),
        w.birch,
        "Band",
        5,
        &[&[w.alice.user_id]],
    );
    let with = |min: Option<i64>, max: Option<i64>| {
        let mut r = base.clone();
        r.min_amount_minor = min;
        r.max_amount_minor = max;
        Mutation::PutApprovalRule(r)
    };
    for (min, max) in [
        (Some(100), Some(100)),
        (Some(200), Some(100)),
        (Some(-1), None),
        (None, Some(-5)),
    ] {
        assert_rejected(w.run(&adam, at(1), &with(min, max)), RejectCode::Invalid);
    }
    for (min, max) in [
        (Some(0), Some(1)),
        (Some(100), None),
        (None, Some(100)),
        (None, None),
    ] {
        assert!(matches!(
            w.run(&adam, at(1), &with(min, max)),
            Ok(Applied::Changes(_))
        ));
    }
    // Expense types of the rule: the company's own.
    for t in [
        w.cedar_types.fuel,
        w.fir_type,
        ExpenseTypeId(id(0x0004, 999)),
    ] {
        let mut r = base.clone();
        r.expense_type_ids = vec![w.birch_types.fuel, t];
        assert_rejected(
            w.run(&adam, at(2), &Mutation::PutApprovalRule(r)),
            RejectCode::Invalid,
        );
    }
    let mut r = base.clone();
    r.expense_type_ids = vec![w.birch_types.meals];
    r.name = String::new();
    assert_rejected(
        w.run(&adam, at(2), &Mutation::PutApprovalRule(r.clone())),
        RejectCode::Invalid,
    );
    r.name = "Meals".into();
    r.steps.push(ApprovalStep {
        approver_ids: vec![w.adam.user_id],
    });
    w.ok(&adam, at(2), &Mutation::PutApprovalRule(r.clone()));
    assert_eq!(w.state.approval_rule(r.id), Some(r));
}

#[test]
fn catalogs_and_rules_are_listed_per_company() {
    let w = World::new();
    let birch: Vec<_> = w
        .state
        .expense_types(w.birch)
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(
        birch,
        ["Fuel", "Meals", "Office supplies", "Travel", "Other"]
    );
    assert!(
        w.state
            .expense_types(w.cedar)
            .iter()
            .all(|t| t.company_id == w.cedar)
    );
    assert_eq!(w.state.expense_types(w.cedar).len(), 5);
    assert_eq!(w.state.expense_types(w.fir).len(), 1);
    let rules: Vec<_> = w
        .state
        .approval_rules(w.birch)
        .iter()
        .map(|r| r.position)
        .collect();
    assert_eq!(rules, [10, 20, 30, 40]);
    assert!(w.state.approval_rules(w.cedar).is_empty());
}
