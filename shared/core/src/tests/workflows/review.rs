//! The accounting firm's review on a device: correct, return with a question (offline too),
//! the employee's answer and resubmission, marked reviewed; and the history all of them see.

use kvits_domain::State as _;
use kvits_protocol::{DecisionKind, ExpenseId, ExpenseStatus, HistoryAction, Mutation, VatLine};

use super::{fill_and_submit, receipts};
use crate::event::{ReceiptEvent, ReviewEvent, ReviewField, SyncEvent, VatEdit};
use crate::sim::{FakeServer, Phone};
use crate::view::{ReceiptStatus, ReceiptView, ScreenView};
use crate::{Event, Route};

fn open(p: &mut Phone, id: ExpenseId) -> ReceiptView {
    p.send(Event::Navigate(Route::Receipt {
        expense_id: id.to_string(),
    }));
    receipt(p)
}

fn receipt(p: &Phone) -> ReceiptView {
    match p.view().screen {
        ScreenView::Receipt(r) => r,
        other => panic!("expected a receipt, got {other:?}"),
    }
}

fn edit(p: &mut Phone, field: ReviewField) {
    p.send(Event::Review(ReviewEvent::Edit(field)));
}

fn approve(server: &mut FakeServer, id: ExpenseId) {
    decide(server, id, DecisionKind::Approve, None);
}

/// Mark, Birch's approver, decides the receipt on the server.
pub(super) fn decide(
    server: &mut FakeServer,
    id: ExpenseId,
    decision: DecisionKind,
    reason: Option<&str>,
) {
    let mark = server.tenant.user("mark");
    let revision = server.state.expense(id).unwrap().revision;
    server
        .apply_as(
            mark,
            &Mutation::DecideExpense {
                expense_id: id,
                seen_revision: revision,
                decision,
                reason: reason.map(str::to_string),
            },
        )
        .unwrap();
}

#[test]
fn anna_corrects_asks_and_marks_reviewed_while_emma_answers() {
    let mut server = FakeServer::new();
    let mut emma = Phone::new(&mut server);
    emma.sign_in(&mut server, "emma");
    emma.capture(&mut server, "dinner");
    fill_and_submit(&mut emma, &mut server, "30");
    let id = server.state.expenses().next().unwrap().id;
    approve(&mut server, id);

    let mut anna = Phone::new(&mut server);
    anna.sign_in(&mut server, "anna");
    let before = open(&mut anna, id);
    let review = before
        .review
        .expect("the accountant reviews an approved receipt");
    assert!(!review.reviewed);
    assert_eq!(review.amount.as_deref(), Some("30.00 EUR"));
    assert!(emma_view_has_no_review(&mut emma, id));

    // VAT that does not add up is refused on the form, with what was typed kept.
    edit(&mut anna, ReviewField::Vat(VatEdit::Add));
    edit(
        &mut anna,
        ReviewField::Vat(VatEdit::Rate {
            line: 0,
            value: "21".into(),
        }),
    );
    edit(
        &mut anna,
        ReviewField::Vat(VatEdit::Net {
            line: 0,
            value: "20".into(),
        }),
    );
    edit(
        &mut anna,
        ReviewField::Vat(VatEdit::Amount {
            line: 0,
            value: "4.20".into(),
        }),
    );
    edit(&mut anna, ReviewField::AccountCode("7210".into()));
    anna.send(Event::Review(ReviewEvent::SaveCorrection));
    anna.settle(&mut server);
    let r = receipt(&anna).review.unwrap();
    assert_eq!(r.vat.total.as_deref(), Some("24.20 EUR"));
    let refusal = r.errors.iter().find(|e| e.field == "vat").expect("refused");
    assert!(
        refusal.message.contains("add up to 24.20 EUR"),
        "{}",
        refusal.message
    );
    assert_eq!(r.vat.lines[0].net, "20");
    assert_eq!(anna.view().status.pending, 0);

    // A rate that is no rate is the field's error.
    edit(
        &mut anna,
        ReviewField::Vat(VatEdit::Rate {
            line: 0,
            value: "twenty".into(),
        }),
    );
    anna.send(Event::Review(ReviewEvent::SaveCorrection));
    anna.settle(&mut server);
    let r = receipt(&anna).review.unwrap();
    assert!(
        r.errors.iter().any(|e| e.field == "vat.0.rate"),
        "{:?}",
        r.errors
    );

    edit(
        &mut anna,
        ReviewField::Vat(VatEdit::Rate {
            line: 0,
            value: "21".into(),
        }),
    );
    // With the amounts left empty, the rate splits the receipt's 30.00 EUR.
    for clear in [
        VatEdit::Net {
            line: 0,
            value: String::new(),
        },
        VatEdit::Amount {
            line: 0,
            value: String::new(),
        },
    ] {
        edit(&mut anna, ReviewField::Vat(clear));
    }
    anna.send(Event::Review(ReviewEvent::SaveCorrection));
    anna.settle(&mut server);
    let e = server.state.expense(id).unwrap();
    assert_eq!(
        e.fields.vat,
        vec![VatLine {
            rate_bp: 2100,
            net_minor: 2479,
            vat_minor: 521
        }]
    );
    assert_eq!(e.fields.account_code.as_deref(), Some("7210"));
    let shown = receipt(&anna);
    assert_eq!(shown.vat.as_deref(), Some("21 %: 24.79 + 5.21 VAT"));
    assert!(
        shown.history[0].text.ends_with("corrected it"),
        "{:?}",
        shown.history[0]
    );
    assert!(
        shown.history[0]
            .changes
            .contains(&"Account: — → 7210".to_string()),
        "{:?}",
        shown.history[0].changes
    );

    // Offline, Anna returns it with a question; it reaches the server once she is online.
    anna.go_offline();
    anna.send(Event::Review(ReviewEvent::SendBack));
    anna.settle(&mut server);
    assert!(
        receipt(&anna)
            .review
            .unwrap()
            .errors
            .iter()
            .any(|e| e.field == "question")
    );
    edit(
        &mut anna,
        ReviewField::Question("Who was at this dinner?".into()),
    );
    anna.send(Event::Review(ReviewEvent::SendBack));
    anna.settle(&mut server);
    assert_eq!(anna.view().status.pending, 1);
    assert_eq!(
        server.state.expense(id).unwrap().status,
        ExpenseStatus::Approved
    );
    anna.go_online(&mut server);
    assert_eq!(
        server.state.expense(id).unwrap().status,
        ExpenseStatus::Returned
    );

    // Emma sees the question, answers it and sends the receipt again.
    emma.send(Event::Sync(SyncEvent::Now));
    emma.settle(&mut server);
    let mine = open(&mut emma, id);
    assert!(mine.editable);
    let question = mine.answer.expect("a question to answer");
    assert_eq!(question.question, "Who was at this dinner?");
    assert_eq!(question.asked_by, "Anna Accountant");
    emma.send(Event::Review(ReviewEvent::EditAnswer(
        "Client dinner with Cedar".into(),
    )));
    emma.send(Event::Review(ReviewEvent::SendAnswer));
    emma.settle(&mut server);
    assert_eq!(
        receipt(&emma).answer.unwrap().sent.as_deref(),
        Some("Client dinner with Cedar")
    );
    emma.send(Event::Receipts(ReceiptEvent::Submit));
    emma.settle(&mut server);
    let e = server.state.expense(id).unwrap();
    assert_eq!(e.status, ExpenseStatus::Submitted);
    let actions: Vec<HistoryAction> = e.history.iter().map(|h| h.action).collect();
    assert_eq!(
        &actions[actions.len() - 4..],
        &[
            HistoryAction::Corrected,
            HistoryAction::Returned,
            HistoryAction::Answered,
            HistoryAction::Submitted
        ]
    );

    // Approved again, Anna marks it reviewed; Emma's list says so.
    approve(&mut server, id);
    anna.send(Event::Sync(SyncEvent::Now));
    anna.settle(&mut server);
    open(&mut anna, id);
    anna.send(Event::Review(ReviewEvent::MarkReviewed));
    anna.settle(&mut server);
    assert_eq!(
        server.state.expense(id).unwrap().status,
        ExpenseStatus::Reviewed
    );
    assert!(receipt(&anna).review.unwrap().reviewed);
    emma.send(Event::Navigate(Route::Receipts));
    emma.send(Event::Sync(SyncEvent::Now));
    emma.settle(&mut server);
    let row = &receipts(&emma).receipts[0];
    assert_eq!(row.status, ReceiptStatus::Reviewed);
    assert_eq!(row.status_text, "Reviewed by the accounting firm");
}

fn emma_view_has_no_review(emma: &mut Phone, id: ExpenseId) -> bool {
    let view = open(emma, id);
    emma.send(Event::Navigate(Route::Receipts));
    view.review.is_none() && view.answer.is_none()
}

#[test]
fn the_firm_filters_and_sorts_a_companys_receipts() {
    use crate::event::{ReceiptFilterField, ReceiptSort, StatusFilter};
    let mut server = FakeServer::new();
    let mut emma = Phone::new(&mut server);
    emma.sign_in(&mut server, "emma");
    for (name, amount) in [("taxi", "12"), ("hotel", "240"), ("fuel", "61.50")] {
        emma.capture(&mut server, name);
        fill_and_submit(&mut emma, &mut server, amount);
    }
    let first = server
        .state
        .expenses()
        .find(|e| e.fields.amount.as_ref().map(|m| m.amount_minor) == Some(24_000))
        .unwrap()
        .id;
    approve(&mut server, first);

    // Emma sees her own receipts, without filters.
    emma.send(Event::Navigate(Route::Receipts));
    assert!(receipts(&emma).filters.is_none());

    let mut anna = Phone::new(&mut server);
    anna.sign_in(&mut server, "anna");
    anna.send(Event::Navigate(Route::Receipts));
    let filter = |p: &mut Phone, f: ReceiptFilterField| {
        p.send(Event::Receipts(ReceiptEvent::Filter(f)));
        receipts(p)
    };
    let all = receipts(&anna);
    let filters = all.filters.clone().expect("the firm filters");
    assert_eq!(filters.summary, "3 of 3 receipts");
    let to_review = filters
        .statuses
        .iter()
        .find(|c| c.id == "ToReview")
        .unwrap();
    assert_eq!(to_review.detail.as_deref(), Some("1"));
    assert_eq!(filters.employees.len(), 1);
    assert_eq!(filters.employees[0].label, "Emma Employee");

    let list = filter(
        &mut anna,
        ReceiptFilterField::Status(StatusFilter::ToReview),
    );
    assert_eq!(list.receipts.len(), 1);
    assert_eq!(list.receipts[0].amount.as_deref(), Some("240.00 EUR"));
    assert_eq!(list.filters.unwrap().summary, "1 of 3 receipts");

    let list = filter(
        &mut anna,
        ReceiptFilterField::Status(StatusFilter::WaitingForApproval),
    );
    assert_eq!(list.receipts.len(), 2);
    let list = filter(
        &mut anna,
        ReceiptFilterField::Sort(ReceiptSort::AmountHighest),
    );
    let amounts: Vec<_> = list
        .receipts
        .iter()
        .map(|r| r.amount.clone().unwrap())
        .collect();
    assert_eq!(amounts, ["61.50 EUR", "12.00 EUR"]);

    // A card nobody paid these with: nothing; an id or month that names nothing: no filter.
    let marks_card = server.tenant.mark_card.to_string();
    let list = filter(
        &mut anna,
        ReceiptFilterField::PaymentMethod(Some(marks_card)),
    );
    assert!(list.receipts.is_empty());
    assert!(list.filters.unwrap().narrowed);
    let list = filter(
        &mut anna,
        ReceiptFilterField::PaymentMethod(Some("no id".into())),
    );
    assert_eq!(list.receipts.len(), 2);
    let list = filter(
        &mut anna,
        ReceiptFilterField::Period(Some("1999-13".into())),
    );
    assert_eq!(list.receipts.len(), 2);

    let list = filter(&mut anna, ReceiptFilterField::Clear);
    assert_eq!(list.receipts.len(), 3);
    assert!(!list.filters.unwrap().narrowed);
}
