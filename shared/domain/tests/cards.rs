//! Card payments and their receipts: who matches, declares and accepts; one receipt to one
//! payment; a foreign receipt takes its amount in the company's currency from its payment;
//! automatic matching only when exactly one pair fits, whatever order things arrived in.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::*;
use kvits_domain::{Fit, State, Write, auto_matches, card_for, fit, merchant_similarity};
use kvits_protocol::{
    CardReceipt, CardTransaction, CardTransactionId, CompanyId, Entity, Expense, ExpenseField,
    ExpenseId, HistoryAction, Money, Mutation, NoReceiptReason, PaymentMethod, PaymentMethodId,
    RejectCode, StatementId, UserId,
};
use proptest::prelude::*;

fn payment(
    w: &World,
    n: u128,
    card: PaymentMethodId,
    holder: UserId,
    cents: i64,
) -> CardTransaction {
    CardTransaction {
        id: CardTransactionId(uuid::Uuid::from_u128(0xca2d_0000 + n)),
        company_id: w.birch,
        statement_id: StatementId(uuid::Uuid::from_u128(0x57a7)),
        payment_method_id: Some(card),
        holder_id: Some(holder),
        card_ref: "****4821".into(),
        booked_on: t0().date_naive(),
        spent_on: t0().date_naive(),
        amount: eur(cents),
        original_amount: None,
        merchant: "CIRCLE K LATVIA".into(),
        description: String::new(),
        bank_ref: None,
        receipt: CardReceipt::Missing,
        auto_match: true,
        imported_at: t0(),
        updated_at: t0(),
    }
}

fn put(w: &mut World, t: &CardTransaction) {
    w.state.put(Entity::CardTransaction(t.clone()));
}

fn tx(w: &World, id: CardTransactionId) -> CardTransaction {
    w.state.card_transaction(id).unwrap()
}

fn match_it(t: CardTransactionId, e: ExpenseId) -> Mutation {
    Mutation::MatchCardTransaction {
        transaction_id: t,
        expense_id: e,
    }
}

/// Emma's 12.50 EUR receipt on her Visa, submitted.
fn emma_receipt(w: &mut World, cents: i64) -> ExpenseId {
    let f = fields(w.birch_types.meals, w.birch_visa, Some(cents));
    let emma = w.emma.clone();
    w.submitted(&emma, f)
}

#[test]
fn the_holder_matches_their_payment_to_their_receipt() {
    let mut w = World::new();
    let t = payment(&w, 1, w.birch_visa, w.emma.user_id, 1_250);
    put(&mut w, &t);
    let e = emma_receipt(&mut w, 1_250);
    let revision = w.expense(e).revision;
    let emma = w.emma.clone();
    w.ok(&emma, at(5), &match_it(t.id, e));
    let matched = tx(&w, t.id);
    assert_eq!(matched.matched_expense(), Some(e));
    assert!(!matched.auto_match, "a person's match is final");
    assert_eq!(w.state.card_transaction_for_expense(e).unwrap().id, t.id);
    let x = w.expense(e);
    assert_eq!(x.history.last().unwrap().action, HistoryAction::CardMatched);
    assert_eq!(x.revision, revision, "a match alone leaves approvals valid");
    // Matching it again changes nothing.
    assert!(matches!(
        w.run(&emma, at(6), &match_it(t.id, e)),
        Ok(kvits_domain::Applied::AlreadyApplied)
    ));
}

#[test]
fn only_the_holder_and_the_company_see_and_match_a_payment() {
    let mut w = World::new();
    let t = payment(&w, 1, w.birch_visa, w.emma.user_id, 1_250);
    put(&mut w, &t);
    let e = emma_receipt(&mut w, 1_250);
    let entity = Entity::CardTransaction(t.clone());
    assert!(kvits_domain::can_see(&w.emma, &entity));
    assert!(kvits_domain::can_see(&w.anna, &entity));
    assert!(
        !kvits_domain::can_see(&w.mark, &entity),
        "an approver is not the holder"
    );
    assert!(!kvits_domain::can_see(&w.fred, &entity), "another firm");
    let mark = w.mark.clone();
    assert_rejected(
        w.run(&mark, at(5), &match_it(t.id, e)),
        RejectCode::NotFound,
    );
    let anna = w.anna.clone();
    w.ok(&anna, at(6), &match_it(t.id, e));
}

#[test]
fn the_holder_matches_only_their_own_receipts() {
    let mut w = World::new();
    let t = payment(&w, 1, w.birch_visa, w.emma.user_id, 4_250);
    put(&mut w, &t);
    let marks = {
        let f = fields(w.birch_types.fuel, w.birch_master, Some(4_250));
        let mark = w.mark.clone();
        w.submitted(&mark, f)
    };
    let emma = w.emma.clone();
    assert_rejected(
        w.run(&emma, at(5), &match_it(t.id, marks)),
        RejectCode::NotFound,
    );
}

#[test]
fn one_receipt_pays_for_one_payment() {
    let mut w = World::new();
    let t1 = payment(&w, 1, w.birch_visa, w.emma.user_id, 1_250);
    let t2 = payment(&w, 2, w.birch_visa, w.emma.user_id, 1_250);
    put(&mut w, &t1);
    put(&mut w, &t2);
    let e = emma_receipt(&mut w, 1_250);
    let emma = w.emma.clone();
    w.ok(&emma, at(5), &match_it(t1.id, e));
    assert_rejected(
        w.run(&emma, at(6), &match_it(t2.id, e)),
        RejectCode::WrongState,
    );
    let other = emma_receipt(&mut w, 1_250);
    assert_rejected(
        w.run(&emma, at(7), &match_it(t1.id, other)),
        RejectCode::WrongState,
    );
    // Unmatched, the receipt is free for the other payment.
    w.ok(
        &emma,
        at(8),
        &Mutation::UnmatchCardTransaction {
            transaction_id: t1.id,
        },
    );
    w.ok(&emma, at(9), &match_it(t2.id, e));
    assert_eq!(tx(&w, t1.id).receipt, CardReceipt::Missing);
    assert!(!tx(&w, t1.id).auto_match);
}

#[test]
fn a_foreign_receipt_takes_its_amount_in_euros_from_its_payment() {
    let mut w = World::new();
    let mut t = payment(&w, 1, w.birch_visa, w.emma.user_id, 2_315);
    t.original_amount = Some(Money {
        amount_minor: 25_000,
        currency: "SEK".into(),
    });
    put(&mut w, &t);
    let mut f = fields(w.birch_types.meals, w.birch_visa, None);
    f.amount = Some(Money {
        amount_minor: 25_000,
        currency: "SEK".into(),
    });
    f.base_amount = Some(eur(2_300));
    let emma = w.emma.clone();
    let e = w.submitted(&emma, f);
    let revision = w.expense(e).revision;
    w.ok(&emma, at(5), &match_it(t.id, e));
    let x = w.expense(e);
    assert_eq!(x.fields.base_amount, Some(eur(2_315)));
    assert_eq!(
        x.revision,
        revision + 1,
        "the amount changed: approvals see it"
    );
    let entry = x.history.last().unwrap();
    assert_eq!(entry.action, HistoryAction::CardMatched);
    assert_eq!(entry.fields[0].field, ExpenseField::BaseAmount);
    assert_eq!(entry.fields[0].after.as_deref(), Some("23.15 EUR"));
}

#[test]
fn a_foreign_receipt_is_suggested_by_its_converted_amount() {
    let mut w = World::new();
    // The statement says only what the euro account paid: 23.15 EUR.
    let t = payment(&w, 1, w.birch_visa, w.emma.user_id, 2_315);
    let mut f = fields(w.birch_types.meals, w.birch_visa, None);
    f.amount = Some(Money {
        amount_minor: 25_000,
        currency: "SEK".into(),
    });
    f.merchant = Some("Espresso House".into());
    let emma = w.emma.clone();
    // 250 SEK at the receipt's rate: 22.40 EUR, 3.2 % under what the bank took.
    f.base_amount = Some(eur(2_240));
    let near = w.submitted(&emma, f.clone());
    assert_eq!(fit(&t, &w.expense(near), None), Fit::Suggest);
    // 21.90 EUR is 5.4 % under: not this one.
    f.base_amount = Some(eur(2_190));
    let far = w.submitted(&emma, f.clone());
    assert_eq!(fit(&t, &w.expense(far), None), Fit::No);
    // Without a base amount there is nothing to compare.
    f.base_amount = None;
    let unknown = w.submitted(&emma, f);
    assert_eq!(fit(&t, &w.expense(unknown), None), Fit::No);
    // A week apart: no suggestion either.
    let mut later = t.clone();
    later.spent_on = t.spent_on + chrono::Days::new(7);
    assert_eq!(fit(&later, &w.expense(near), None), Fit::No);
    // And never an automatic pair.
    assert!(
        auto_matches(&[t], &[w.expense(near)], card_of(&w))
            .values()
            .all(Option::is_none)
    );
}

#[test]
fn a_refund_needs_no_receipt() {
    let mut w = World::new();
    let t = payment(&w, 1, w.birch_visa, w.emma.user_id, -1_250);
    put(&mut w, &t);
    assert!(!t.is_missing());
    let emma = w.emma.clone();
    let declare = Mutation::DeclareNoReceipt {
        transaction_id: t.id,
        reason: NoReceiptReason::Lost,
        note: None,
    };
    assert_rejected(w.run(&emma, at(5), &declare), RejectCode::Invalid);
}

#[test]
fn the_holder_declares_no_receipt_and_the_firm_accepts_it() {
    let mut w = World::new();
    let t = payment(&w, 1, w.birch_visa, w.emma.user_id, 300);
    put(&mut w, &t);
    let emma = w.emma.clone();
    let declare = Mutation::DeclareNoReceipt {
        transaction_id: t.id,
        reason: NoReceiptReason::NoneIssued,
        note: Some("parking machine".into()),
    };
    w.ok(&emma, at(5), &declare);
    assert!(!tx(&w, t.id).is_missing());
    let accept = Mutation::AcceptNoReceipt {
        transaction_id: t.id,
    };
    assert_rejected(w.run(&emma, at(6), &accept), RejectCode::Forbidden);
    let anna = w.anna.clone();
    w.ok(&anna, at(7), &accept);
    let CardReceipt::Declared { accepted, by, .. } = tx(&w, t.id).receipt else {
        panic!("declared");
    };
    assert_eq!(by, w.emma.user_id);
    assert_eq!(accepted.unwrap().by, w.anna.user_id);
    // Accepted, the holder can no longer take it back alone.
    let unmatch = Mutation::UnmatchCardTransaction {
        transaction_id: t.id,
    };
    assert_rejected(w.run(&emma, at(8), &unmatch), RejectCode::Forbidden);
    // A matched payment cannot be declared.
    let t2 = payment(&w, 2, w.birch_visa, w.emma.user_id, 1_250);
    put(&mut w, &t2);
    let e = emma_receipt(&mut w, 1_250);
    w.ok(&emma, at(9), &match_it(t2.id, e));
    let declare2 = Mutation::DeclareNoReceipt {
        transaction_id: t2.id,
        reason: NoReceiptReason::Lost,
        note: None,
    };
    assert_rejected(w.run(&emma, at(10), &declare2), RejectCode::WrongState);
}

fn card_of<'a>(w: &'a World) -> impl Fn(&Expense) -> Option<&'a PaymentMethod> + 'a {
    move |e: &Expense| {
        e.fields
            .payment_method_id
            .and_then(|id| w.state.payment_methods().find(|m| m.id == id))
    }
}

#[test]
fn automatic_matching_needs_exactly_one_pair() {
    let mut w = World::new();
    let t1 = payment(&w, 1, w.birch_visa, w.emma.user_id, 1_250);
    let e1 = emma_receipt(&mut w, 1_250);
    let e9 = emma_receipt(&mut w, 9_999);
    let expenses = vec![w.expense(e1), w.expense(e9)];
    let only = auto_matches(std::slice::from_ref(&t1), &expenses, card_of(&w));
    assert_eq!(only.get(&t1.id), Some(&Some(e1)));
    // A second payment of the same amount the same day: neither is sure.
    let t2 = payment(&w, 2, w.birch_visa, w.emma.user_id, 1_250);
    let both = auto_matches(&[t1.clone(), t2.clone()], &expenses, card_of(&w));
    assert_eq!(both.get(&t1.id), Some(&None));
    assert_eq!(both.get(&t2.id), Some(&None));
    // A second receipt of the amount: neither is sure either.
    let e2 = emma_receipt(&mut w, 1_250);
    let two = vec![w.expense(e1), w.expense(e2)];
    let ambiguous = auto_matches(std::slice::from_ref(&t1), &two, card_of(&w));
    assert_eq!(ambiguous.get(&t1.id), Some(&None));
}

#[test]
fn a_receipt_paid_otherwise_does_not_fit() {
    let mut w = World::new();
    let t = payment(&w, 1, w.birch_visa, w.emma.user_id, 1_250);
    let own = {
        let f = fields(w.birch_types.meals, w.birch_own, Some(1_250));
        let emma = w.emma.clone();
        w.submitted(&emma, f)
    };
    let master = {
        let f = fields(w.birch_types.meals, w.birch_master, Some(1_250));
        let emma = w.emma.clone();
        w.submitted(&emma, f)
    };
    let visa = emma_receipt(&mut w, 1_250);
    let c = card_of(&w);
    assert_eq!(fit(&t, &w.expense(own), c(&w.expense(own))), Fit::No);
    assert_eq!(fit(&t, &w.expense(master), c(&w.expense(master))), Fit::No);
    assert_eq!(fit(&t, &w.expense(visa), c(&w.expense(visa))), Fit::Auto);
}

#[test]
fn date_or_merchant_must_agree_for_an_automatic_fit() {
    let mut w = World::new();
    let mut t = payment(&w, 1, w.birch_visa, w.emma.user_id, 1_250);
    let e = emma_receipt(&mut w, 1_250);
    let x = w.expense(e);
    // The same day and merchant.
    assert_eq!(fit(&t, &x, None), Fit::Auto);
    // A week later, another merchant: only a suggestion.
    t.spent_on = t.spent_on + chrono::Days::new(7);
    t.merchant = "NARVESEN".into();
    assert_eq!(fit(&t, &x, None), Fit::Suggest);
    // A week later, the same merchant: automatic again.
    t.merchant = "Circle K Latvia SIA".into();
    assert_eq!(fit(&t, &x, None), Fit::Auto);
    // A tip on top, same day and merchant: a suggestion.
    t.spent_on = x.fields.date.unwrap();
    t.amount = eur(1_400);
    assert_eq!(fit(&t, &x, None), Fit::Suggest);
    // Two months off and another amount: nothing.
    t.spent_on = t.spent_on + chrono::Days::new(60);
    t.merchant = "NARVESEN".into();
    assert_eq!(fit(&t, &x, None), Fit::No);
}

#[test]
fn merchants_compare_without_case_accents_legal_forms_or_store_numbers() {
    assert!(merchant_similarity("Rimi", "RIMI LATVIA 0231") >= 0.85);
    assert!(merchant_similarity("Circle K", "CIRCLE K LATVIA SIA") >= 0.85);
    assert!(merchant_similarity("Żabka Polska Sp. z o.o.", "ZABKA POLSKA") >= 0.85);
    assert!(merchant_similarity("Statoil", "STATOIL 1234") >= 0.85);
    assert!(merchant_similarity("Rimi", "Maxima") < 0.85);
    assert!(merchant_similarity("", "Maxima") < 0.85);
    assert!(
        merchant_similarity("SIA", "AS") < 0.85,
        "legal forms alone say nothing"
    );
}

#[test]
fn a_statements_card_is_found_by_its_last_four_or_its_account() {
    let w = World::new();
    let birch: Vec<PaymentMethod> = w
        .state
        .payment_methods()
        .filter(|m| m.company_id == w.birch)
        .cloned()
        .collect();
    let visa = birch.iter().find(|m| m.id == w.birch_visa).unwrap();
    let four = visa.last_four.clone().unwrap();
    assert_eq!(
        card_for(&format!("****{four}"), &birch).map(|m| m.id),
        Some(visa.id)
    );
    assert_eq!(
        card_for(&format!("516793******{four}"), &birch).map(|m| m.id),
        Some(visa.id)
    );
    assert_eq!(card_for("****0000", &birch), None);
    assert_eq!(card_for("LV80BANK0000435195001", &birch), None);
    let mut by_account = birch.clone();
    for m in &mut by_account {
        if m.id == w.birch_visa {
            m.statement_ref = Some("LV80 BANK 0000 4351 9500 1".into());
        }
    }
    assert_eq!(
        card_for("LV80BANK0000435195001", &by_account).map(|m| m.id),
        Some(visa.id)
    );
    // Two cards ending alike: the firm must say which.
    let mut twins = birch.clone();
    let mut copy = visa.clone();
    copy.id = PaymentMethodId(uuid::Uuid::from_u128(77));
    twins.push(copy);
    assert_eq!(card_for(&format!("****{four}"), &twins), None);
}

#[test]
fn reconcile_matches_then_undoes_a_match_that_became_ambiguous() {
    let mut w = World::new();
    let t1 = payment(&w, 1, w.birch_visa, w.emma.user_id, 1_250);
    put(&mut w, &t1);
    let e = emma_receipt(&mut w, 1_250);
    let anna = w.anna.clone();
    let run = |w: &mut World| {
        let txs: Vec<CardTransaction> = w.state.card_transactions().cloned().collect();
        let exps: Vec<Expense> = w.state.expenses().cloned().collect();
        let writes = kvits_domain::reconcile(&w.state, &anna, at(30), &txs, &exps);
        w.state.apply_writes(&writes);
        writes
    };
    let writes = run(&mut w);
    assert_eq!(tx(&w, t1.id).matched_expense(), Some(e));
    assert!(matches!(
        tx(&w, t1.id).receipt,
        CardReceipt::Matched { by: None, .. }
    ));
    assert!(
        writes
            .iter()
            .any(|x| matches!(x, Write::Put(Entity::Expense(_))))
    );
    assert!(run(&mut w).is_empty(), "settled: nothing more to write");
    // The same payment again (a second coffee): now neither is sure.
    let t2 = payment(&w, 2, w.birch_visa, w.emma.user_id, 1_250);
    put(&mut w, &t2);
    run(&mut w);
    assert_eq!(tx(&w, t1.id).receipt, CardReceipt::Missing);
    assert_eq!(tx(&w, t2.id).receipt, CardReceipt::Missing);
    assert_eq!(
        w.expense(e).history.last().unwrap().action,
        HistoryAction::CardUnmatched
    );
    // A person decides; reconciling leaves that alone.
    let emma = w.emma.clone();
    w.ok(&emma, at(40), &match_it(t2.id, e));
    assert!(run(&mut w).is_empty());
    assert_eq!(tx(&w, t2.id).matched_expense(), Some(e));
}

/// An amount in cents and a number of days after the first day.
type Item = (i64, u64);

/// A small company's worth of payments and receipts, with amounts from a short list so that
/// ties happen.
fn scenario() -> impl Strategy<Value = (Vec<Item>, Vec<Item>)> {
    let item = (
        prop::sample::select(vec![500_i64, 1_250, 2_000, 4_250]),
        0_u64..10,
    );
    (
        prop::collection::vec(item.clone(), 0..8),
        prop::collection::vec(item, 0..8),
    )
}

fn build(
    w: &mut World,
    payments: &[Item],
    receipts: &[Item],
) -> (Vec<CardTransaction>, Vec<Expense>) {
    let txs: Vec<CardTransaction> = payments
        .iter()
        .enumerate()
        .map(|(i, (cents, day))| {
            let mut t = payment(w, i as u128, w.birch_visa, w.emma.user_id, *cents);
            t.spent_on = t.spent_on + chrono::Days::new(*day);
            t.merchant = format!("SHOP {i}");
            t
        })
        .collect();
    let exps: Vec<Expense> = receipts
        .iter()
        .map(|(cents, day)| {
            let e = emma_receipt(w, *cents);
            let mut x = w.expense(e);
            x.fields.date = Some(x.fields.date.unwrap() + chrono::Days::new(*day));
            x.fields.merchant = Some("somewhere".into());
            x
        })
        .collect();
    (txs, exps)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// No receipt is matched to two payments, and every automatic pair fits.
    #[test]
    fn automatic_matching_pairs_each_receipt_once((payments, receipts) in scenario()) {
        let mut w = World::new();
        let (txs, exps) = build(&mut w, &payments, &receipts);
        let decided = auto_matches(&txs, &exps, card_of(&w));
        let chosen: Vec<ExpenseId> = decided.values().flatten().copied().collect();
        let distinct: BTreeSet<ExpenseId> = chosen.iter().copied().collect();
        prop_assert_eq!(chosen.len(), distinct.len());
        for (t, e) in &decided {
            if let Some(e) = e {
                let t = txs.iter().find(|x| x.id == *t).unwrap();
                let x = exps.iter().find(|x| x.id == *e).unwrap();
                prop_assert_eq!(fit(t, x, None), Fit::Auto);
            }
        }
    }

    /// Importing the payments in any order, a few at a time, reconciling after each import,
    /// ends with the same pairs as importing them all at once.
    #[test]
    fn the_order_of_imports_does_not_change_the_pairs(
        (payments, receipts) in scenario(),
        order in any::<u64>(),
        split in 1_usize..4,
    ) {
        let mut all_at_once = World::new();
        let (txs, _) = build(&mut all_at_once, &payments, &receipts);
        let anna = all_at_once.anna.clone();
        let settle = |w: &mut World| {
            let t: Vec<CardTransaction> = w.state.card_transactions().cloned().collect();
            let e: Vec<Expense> = w.state.expenses().cloned().collect();
            let writes = kvits_domain::reconcile(&w.state, &anna, at(30), &t, &e);
            w.state.apply_writes(&writes);
        };
        for t in &txs {
            put(&mut all_at_once, t);
        }
        settle(&mut all_at_once);

        let mut one_by_one = World::new();
        let (mut shuffled, _) = build(&mut one_by_one, &payments, &receipts);
        // A deterministic shuffle from the drawn seed.
        let mut seed = order;
        for i in (1..shuffled.len()).rev() {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let j = (seed >> 33) as usize % (i + 1);
            shuffled.swap(i, j);
        }
        for chunk in shuffled.chunks(split) {
            for t in chunk {
                put(&mut one_by_one, t);
            }
            settle(&mut one_by_one);
        }
        let pairs = |w: &World| -> Vec<(CardTransactionId, Option<ExpenseId>)> {
            w.state.card_transactions().map(|t| (t.id, t.matched_expense())).collect()
        };
        prop_assert_eq!(pairs(&all_at_once), pairs(&one_by_one));
    }

    /// What the server reconciles after a change (the payments and receipts sharing an amount
    /// with it) decides the same as reconciling the whole company.
    #[test]
    fn reconciling_one_amount_agrees_with_the_whole_company((payments, receipts) in scenario()) {
        let mut w = World::new();
        let (txs, exps) = build(&mut w, &payments, &receipts);
        let whole = auto_matches(&txs, &exps, card_of(&w));
        for amount in [500_i64, 1_250, 2_000, 4_250] {
            let some_t: Vec<CardTransaction> =
                txs.iter().filter(|t| t.amount.amount_minor == amount).cloned().collect();
            let some_e: Vec<Expense> = exps
                .iter()
                .filter(|e| e.fields.amount.as_ref().is_some_and(|m| m.amount_minor == amount))
                .cloned()
                .collect();
            let part = auto_matches(&some_t, &some_e, card_of(&w));
            for (t, e) in part {
                prop_assert_eq!(whole.get(&t), Some(&e));
            }
        }
    }
}

#[test]
fn another_company_s_receipt_is_not_found() {
    let mut w = World::new();
    let t = payment(&w, 1, w.birch_visa, w.emma.user_id, 1_250);
    put(&mut w, &t);
    let cedar_receipt = {
        let f = fields(w.cedar_types.meals, w.cedar_card, Some(1_250));
        let otto = w.otto.clone();
        let cedar: CompanyId = w.cedar;
        let e = w.draft(&otto, cedar, kvits_protocol::DocumentType::Receipt, f);
        w.ok(&otto, at(2), &Mutation::SubmitExpense { expense_id: e });
        e
    };
    let anna = w.anna.clone();
    assert_rejected(
        w.run(&anna, at(5), &match_it(t.id, cedar_receipt)),
        RejectCode::NotFound,
    );
}

#[test]
fn a_deleted_or_rejected_receipt_gives_its_payment_back() {
    let mut w = World::new();
    // Rejected by its approver: the payment needs another receipt.
    let fuel = payment(&w, 1, w.birch_master, w.mark.user_id, 4_250);
    put(&mut w, &fuel);
    let e = w.fuel_expense();
    let anna = w.anna.clone();
    w.ok(&anna, at(5), &match_it(fuel.id, e));
    let mark = w.mark.clone();
    let revision = w.expense(e).revision;
    w.ok(
        &mark,
        at(6),
        &decide(
            e,
            revision,
            kvits_protocol::DecisionKind::Reject,
            Some("not ours"),
        ),
    );
    assert!(tx(&w, fuel.id).is_missing());
    assert!(tx(&w, fuel.id).auto_match, "Kvits may match it again");
    // A draft started from a payment, then deleted.
    let coffee = payment(&w, 2, w.birch_visa, w.emma.user_id, 990);
    put(&mut w, &coffee);
    let emma = w.emma.clone();
    let birch = w.birch;
    let f = fields(w.birch_types.meals, w.birch_visa, Some(990));
    let draft = w.draft(&emma, birch, kvits_protocol::DocumentType::Receipt, f);
    w.ok(&emma, at(7), &match_it(coffee.id, draft));
    w.ok(&emma, at(8), &Mutation::DeleteExpense { expense_id: draft });
    assert!(tx(&w, coffee.id).is_missing());
    assert!(w.state.card_transaction_for_expense(draft).is_none());
}
