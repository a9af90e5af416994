//! The workflows end to end, one file per workflow, each phone talking to the fake server.

mod approvals;
mod cards;
mod catalog;
mod clients;
mod messages;
mod receipts;
mod review;
mod session;
mod sync;

use crate::event::ReceiptEvent;
use crate::sim::{FakeServer, Phone};
use crate::view::ScreenView;
use crate::{Event, FormField};

fn receipts(p: &Phone) -> crate::view::ReceiptsView {
    match p.view().screen {
        ScreenView::Receipts(r) => r,
        other => panic!("expected the receipts list, got {other:?}"),
    }
}

fn fill_and_submit(phone: &mut Phone, server: &mut FakeServer, amount: &str) {
    let t = server.tenant.clone();
    phone.send(Event::Receipts(ReceiptEvent::EditForm(
        FormField::ExpenseType(Some(t.fuel.to_string())),
    )));
    phone.send(Event::Receipts(ReceiptEvent::EditForm(
        FormField::PaymentMethod(Some(t.emma_card.to_string())),
    )));
    phone.send(Event::Receipts(ReceiptEvent::EditForm(FormField::Amount(
        amount.into(),
    ))));
    phone.send(Event::Receipts(ReceiptEvent::Submit));
    phone.settle(server);
}

fn receipts_or_tasks_empty(p: &Phone) -> bool {
    match p.view().screen {
        ScreenView::Receipts(r) => r.receipts.is_empty(),
        _ => true,
    }
}
