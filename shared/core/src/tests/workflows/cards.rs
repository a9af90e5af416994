//! Card payments on the holder's phone: the statement's payments arrive with the pull; offline
//! Emma starts the receipt of one straight from it (filled in and matched), declares another
//! without a receipt, and back online the server agrees; Anna accepts the declaration.

use kvits_domain::State as _;
use kvits_protocol::{
    CardReceipt, CardTransaction, CardTransactionId, Entity, Money, NoReceiptReason, StatementId,
};

use super::fill_and_submit;
use crate::event::CardEvent;
use crate::model::NoReceiptKind;
use crate::sim::{FakeServer, Phone, t0};
use crate::view::{CardPaymentState, CardsView, ScreenView, Tab};
use crate::{Event, Route};

fn payment(server: &FakeServer, n: u128, cents: i64, merchant: &str) -> CardTransaction {
    let t = &server.tenant;
    CardTransaction {
        id: CardTransactionId(uuid::Uuid::from_u128(0xca2d_0000 + n)),
        company_id: t.birch,
        statement_id: StatementId(uuid::Uuid::from_u128(0x57a7)),
        payment_method_id: Some(t.emma_card),
        holder_id: Some(t.user("emma")),
        card_ref: "516793******4821".into(),
        booked_on: t0().date_naive(),
        spent_on: t0().date_naive(),
        amount: Money {
            amount_minor: cents,
            currency: "EUR".into(),
        },
        original_amount: None,
        merchant: merchant.into(),
        description: "Card purchase".into(),
        bank_ref: None,
        receipt: CardReceipt::Missing,
        auto_match: true,
        imported_at: t0(),
        updated_at: t0(),
    }
}

fn cards(p: &Phone) -> CardsView {
    match p.view().screen {
        ScreenView::Cards(c) => c,
        other => panic!("expected card payments, got {other:?}"),
    }
}

fn badge(p: &Phone) -> Option<u32> {
    p.view()
        .tabs
        .iter()
        .find(|t| t.tab == Tab::Cards)
        .map(|t| t.badge)
}

#[test]
fn emma_captures_one_missing_receipt_offline_and_declares_another() {
    let mut server = FakeServer::new();
    let narvesen = payment(&server, 1, 480, "NARVESEN RIGA");
    let parking = payment(&server, 2, 200, "RIGAS SATIKSME PARKING");
    server.put(Entity::CardTransaction(narvesen.clone()));
    server.put(Entity::CardTransaction(parking.clone()));

    let mut emma = Phone::new(&mut server);
    emma.sign_in(&mut server, "emma");
    assert_eq!(badge(&emma), Some(2), "two card payments without a receipt");
    emma.send(Event::Navigate(Route::Cards));
    let list = cards(&emma);
    assert_eq!(list.missing, 2);
    assert_eq!(list.title, "Your card payments");
    assert!(
        list.cards.is_empty(),
        "the per-card lines are the company's"
    );
    assert!(
        list.import_path.is_none(),
        "Emma does not import statements"
    );
    let row = list
        .rows
        .iter()
        .find(|r| r.id == narvesen.id.to_string())
        .unwrap();
    assert!(row.can_capture && row.can_declare);
    assert_eq!(row.amount, "4.80 EUR");

    // Offline: the receipt of the Narvesen payment, straight from it.
    emma.go_offline();
    emma.send(Event::Cards(CardEvent::CaptureFor {
        transaction_id: narvesen.id.to_string(),
    }));
    emma.settle(&mut server);
    let form = match emma.view().screen {
        ScreenView::Receipt(r) => r,
        other => panic!("expected the new receipt, got {other:?}"),
    };
    assert_eq!(
        (form.amount.as_str(), form.merchant.as_str()),
        ("4.80", "NARVESEN RIGA")
    );
    emma.capture(&mut server, "narvesen-slip");
    fill_and_submit(&mut emma, &mut server, "4.80");
    // Still offline: the phone already counts it matched.
    assert_eq!(badge(&emma), Some(1));
    emma.send(Event::Navigate(Route::Cards));
    emma.send(Event::Cards(CardEvent::DeclareNoReceipt {
        transaction_id: parking.id.to_string(),
        reason: NoReceiptKind::NoneIssued,
        note: "  parking machine ".into(),
    }));
    emma.settle(&mut server);
    assert_eq!(cards(&emma).missing, 0);
    assert_eq!(
        server.state.card_transaction(narvesen.id).unwrap().receipt,
        CardReceipt::Missing,
        "nothing reached the server while offline"
    );

    emma.go_online(&mut server);
    let matched = server.state.card_transaction(narvesen.id).unwrap();
    let receipt = matched.matched_expense().expect("matched on the server");
    let e = server.state.expense(receipt).unwrap();
    assert_eq!(e.fields.amount.as_ref().map(|m| m.amount_minor), Some(480));
    assert_eq!(e.fields.payment_method_id, Some(server.tenant.emma_card));
    let CardReceipt::Declared { reason, note, .. } =
        server.state.card_transaction(parking.id).unwrap().receipt
    else {
        panic!("declared on the server");
    };
    assert_eq!(reason, NoReceiptReason::NoneIssued);
    assert_eq!(note.as_deref(), Some("parking machine"));

    // Anna sees the declaration waiting and accepts it.
    let mut anna = Phone::new(&mut server);
    anna.sign_in(&mut server, "anna");
    anna.send(Event::Navigate(Route::Cards));
    let list = cards(&anna);
    let row = list
        .rows
        .iter()
        .find(|r| r.id == parking.id.to_string())
        .unwrap();
    assert_eq!(row.state, CardPaymentState::Declared);
    assert!(row.can_accept && !row.can_capture);
    assert_eq!(list.cards.len(), 1);
    assert_eq!((list.cards[0].matched, list.cards[0].declared), (1, 1));
    assert!(list.import_path.is_some());
    anna.send(Event::Cards(CardEvent::AcceptNoReceipt {
        transaction_id: parking.id.to_string(),
    }));
    anna.settle(&mut server);
    assert!(matches!(
        server.state.card_transaction(parking.id).unwrap().receipt,
        CardReceipt::Declared {
            accepted: Some(_),
            ..
        }
    ));
}

#[test]
fn a_receipt_already_captured_is_offered_for_a_payment() {
    let mut server = FakeServer::new();
    let mut emma = Phone::new(&mut server);
    emma.sign_in(&mut server, "emma");
    emma.capture(&mut server, "coffee");
    fill_and_submit(&mut emma, &mut server, "3.20");
    let coffee = payment(&server, 3, 320, "ESPRESSO HOUSE");
    server.put(Entity::CardTransaction(coffee.clone()));
    emma.settle(&mut server);
    emma.send(Event::Navigate(Route::Cards));
    let row = cards(&emma).rows.into_iter().next().expect("the coffee");
    assert_eq!(row.suggestions.len(), 1, "{row:?}");
    emma.send(Event::Cards(CardEvent::Match {
        transaction_id: row.id.clone(),
        expense_id: row.suggestions[0].id.clone(),
    }));
    emma.settle(&mut server);
    assert!(
        server
            .state
            .card_transaction(coffee.id)
            .unwrap()
            .matched_expense()
            .is_some()
    );
    // Unmatched again, it is missing; a bad id is answered, never a panic.
    emma.send(Event::Cards(CardEvent::Unmatch {
        transaction_id: row.id.clone(),
    }));
    emma.settle(&mut server);
    assert!(
        server
            .state
            .card_transaction(coffee.id)
            .unwrap()
            .is_missing()
    );
    emma.send(Event::Cards(CardEvent::CaptureFor {
        transaction_id: "not-an-id".into(),
    }));
    assert!(emma.view().alert.is_some());
}

#[test]
fn the_card_payments_are_seen_a_month_at_a_time() {
    let mut server = FakeServer::new();
    let mut emma = Phone::new(&mut server);
    emma.sign_in(&mut server, "emma");
    let october = payment(&server, 1, 1_000, "LIDO");
    let mut november = payment(&server, 2, 2_000, "NARVESEN");
    november.spent_on = october.spent_on + chrono::Months::new(1);
    server.put(Entity::CardTransaction(october.clone()));
    server.put(Entity::CardTransaction(november.clone()));
    emma.settle(&mut server);
    emma.send(Event::Navigate(Route::Cards));
    let every = cards(&emma);
    assert_eq!(every.missing, 2);
    let ids: Vec<&str> = every.months.iter().map(|m| m.id.as_str()).collect();
    let month = |d: kvits_protocol::Date| d.format("%Y-%m").to_string();
    assert_eq!(
        ids,
        ["", &month(november.spent_on), &month(october.spent_on)]
    );
    assert!(every.months[0].selected);

    emma.send(Event::Cards(CardEvent::Month {
        month: month(october.spent_on),
    }));
    let one = cards(&emma);
    assert_eq!(one.missing, 1);
    assert_eq!(one.rows.len(), 1);
    assert_eq!(one.rows[0].id, october.id.to_string());
    assert!(one.months[2].selected);
    assert!(
        one.months[2]
            .label
            .ends_with(&october.spent_on.format("%Y").to_string())
    );
    // The badge counts every month.
    assert_eq!(badge(&emma), Some(2));

    // A month that is not one is answered and changes nothing.
    emma.send(Event::Cards(CardEvent::Month {
        month: "2026-13".into(),
    }));
    assert!(emma.view().alert.is_some());
    assert_eq!(cards(&emma).rows.len(), 1);
    emma.send(Event::Cards(CardEvent::Month {
        month: String::new(),
    }));
    assert_eq!(cards(&emma).rows.len(), 2);
}
