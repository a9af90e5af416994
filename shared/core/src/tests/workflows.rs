use crate::sim::{FakeServer, Phone};
use crate::view::{ReceiptStatus, ScreenView};
use crate::{Event, FormField, Route};

fn receipts(p: &Phone) -> crate::view::ReceiptsView {
    match p.view().screen {
        ScreenView::Receipts(r) => r,
        other => panic!("expected the receipts list, got {other:?}"),
    }
}

#[test]
fn emma_captures_offline_submits_and_it_arrives_once() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    assert!(matches!(phone.view().screen, ScreenView::Receipts(_)));
    phone.go_offline();
    phone.capture(&mut server, "photo-1");
    let ScreenView::Receipt(form) = phone.view().screen else {
        panic!("capture opens the form: {:?}", phone.view().screen);
    };
    assert_eq!(form.pages.len(), 1);
    assert_eq!(
        form.date, "2026-11-20",
        "the photo's date prefills the form"
    );
    let t = server.tenant.clone();
    phone.send(Event::EditForm(FormField::ExpenseType(Some(
        t.fuel.to_string(),
    ))));
    phone.send(Event::EditForm(FormField::PaymentMethod(Some(
        t.emma_card.to_string(),
    ))));
    phone.send(Event::EditForm(FormField::Amount("12,50".into())));
    phone.send(Event::Submit);
    phone.settle(&mut server);
    let list = receipts(&phone);
    assert_eq!(list.receipts.len(), 1);
    assert_eq!(list.receipts[0].status, ReceiptStatus::Queued);
    assert_eq!(phone.view().status.pending, 4);
    assert_eq!(
        server.state.expenses().count(),
        0,
        "nothing reached the server"
    );

    phone.go_online(&mut server);
    let e = server
        .state
        .expenses()
        .next()
        .expect("the receipt arrived")
        .clone();
    assert_eq!(e.status, kvits_protocol::ExpenseStatus::Submitted);
    assert_eq!(e.fields.amount.as_ref().unwrap().amount_minor, 1250);
    assert_eq!(e.pages.len(), 1);
    assert!(server.blobs.iter().any(|(_, s)| *s == e.pages[0].sha256));
    assert!(server.applied.values().all(|n| *n == 1));
    let list = receipts(&phone);
    assert_eq!(list.receipts[0].status, ReceiptStatus::Sent);
    assert_eq!(phone.view().status.pending, 0);
}
