//! Capturing receipts, the expense form, pages and uploads.

use kvits_protocol::{ExpenseStatus, Mutation};

use super::{fill_and_submit, receipts};
use crate::effects::Effect;
use crate::event::ReceiptEvent;
use crate::sim::{FakeServer, Phone};
use crate::view::{ReceiptStatus, ScreenView};
use crate::{Event, FormField, Route};

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
    phone.send(Event::Receipts(ReceiptEvent::EditForm(
        FormField::ExpenseType(Some(t.fuel.to_string())),
    )));
    phone.send(Event::Receipts(ReceiptEvent::EditForm(
        FormField::PaymentMethod(Some(t.emma_card.to_string())),
    )));
    phone.send(Event::Receipts(ReceiptEvent::EditForm(FormField::Amount(
        "12,50".into(),
    ))));
    phone.send(Event::Receipts(ReceiptEvent::Submit));
    phone.settle(&mut server);
    let list = receipts(&phone);
    assert_eq!(list.receipts.len(), 1);
    assert_eq!(list.receipts[0].status, ReceiptStatus::Queued);
    assert_eq!(
        phone.view().status.pending,
        1,
        "one receipt waits (four changes)"
    );
    assert_eq!(phone.model.local.unsent_count(), 4);
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

#[test]
fn a_file_that_is_not_a_photo_is_refused_and_nothing_is_queued() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.bad_photos.insert("invoice.pdf".into());
    phone.capture(&mut server, "invoice.pdf");
    assert!(
        phone
            .view()
            .alert
            .unwrap()
            .starts_with("This file cannot be used as a receipt")
    );
    assert_eq!(phone.view().status.pending, 0);
    assert!(receipts(&phone).receipts.is_empty());
}

#[test]
fn submit_without_type_or_card_shows_what_is_missing() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.capture(&mut server, "x");
    phone.send(Event::Receipts(ReceiptEvent::EditForm(FormField::Amount(
        "12.3.4x".into(),
    ))));
    phone.send(Event::Receipts(ReceiptEvent::Submit));
    phone.settle(&mut server);
    let ScreenView::Receipt(form) = phone.view().screen else {
        panic!()
    };
    let fields: Vec<&str> = form.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["amount", "expense_type", "payment_method"]);
    // The cards: Emma's own first, then other company cards, then own money.
    let cards: Vec<(&str, Option<&str>)> = form
        .payment_methods
        .iter()
        .map(|c| (c.label.as_str(), c.detail.as_deref()))
        .collect();
    assert_eq!(
        cards,
        [
            ("Visa Business ·4821", Some("Your cards")),
            ("Fuel card ·0042", Some("Company cards")),
            ("Own money / cash", None)
        ],
        "Mark's own card is not offered to Emma"
    );
    // Retired types are not offered.
    assert!(form.expense_types.iter().all(|t| t.label != "Retired type"));
}

#[test]
fn upload_progress_shows_on_the_receipt() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.go_offline();
    phone.capture(&mut server, "slow-link");
    fill_and_submit(&mut phone, &mut server, "3");
    phone.online = true;
    phone.send(Event::NetworkChanged { online: true });
    // Run everything up to the upload, then hold it half way.
    let mut upload = None;
    for _ in 0..100 {
        let Some(effect) = phone.effects.pop_front() else {
            break;
        };
        match effect {
            Effect::Upload(req) => upload = Some(req),
            other => {
                phone.resolve(other, &mut server);
                phone.drain();
            }
        }
    }
    let mut upload = upload.expect("the photo is uploaded before the submit is sent");
    assert_eq!(upload.operation.token, "token-1");
    upload
        .resolve(crate::effects::UploadUpdate::Progress {
            sent: 45_000,
            total: 150_000,
        })
        .unwrap();
    phone.drain();
    phone.send(Event::Navigate(Route::Receipts));
    let row = &receipts(&phone).receipts[0];
    assert_eq!(row.status, ReceiptStatus::Uploading { percent: 30 });
    assert_eq!(row.status_text, "Uploading 30 %");
    assert!(phone.view().status.syncing);
    // The submit waits for the photo.
    use kvits_domain::State as _;
    let id = server.state.expenses().next().map(|e| e.id);
    assert!(id.is_none_or(|id| server.state.expense(id).unwrap().submitted_at.is_none()));
}

#[test]
fn refused_entries_come_back_in_the_form() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.go_offline();
    phone.capture(&mut server, "retired");
    phone.send(Event::Receipts(ReceiptEvent::EditForm(
        FormField::Merchant("Neste".into()),
    )));
    fill_and_submit(&mut phone, &mut server, "45.90");
    // Meanwhile the accountant retires the type Emma chose.
    use kvits_domain::State as _;
    let mut fuel = server.state.expense_type(server.tenant.fuel).unwrap();
    fuel.active = false;
    server
        .apply_as(server.tenant.user("anna"), &Mutation::PutExpenseType(fuel))
        .unwrap();
    phone.go_online(&mut server);
    let notices = phone.view().notices;
    assert_eq!(notices.len(), 1, "one action, one notice: {notices:?}");
    assert!(notices[0].text.contains("What you entered is kept"));
    let id = notices[0].expense_id.clone().unwrap();
    phone.send(Event::Navigate(Route::Receipt { expense_id: id }));
    let ScreenView::Receipt(form) = phone.view().screen else {
        panic!()
    };
    assert_eq!(form.merchant, "Neste");
    assert_eq!(form.amount, "45.90");
    assert_eq!(form.errors.len(), 1);
    assert_eq!(form.errors[0].field, "expense_type");
    // Corrected and submitted again, it goes through; the kept entries are forgotten.
    let meals = server.tenant.meals.to_string();
    phone.send(Event::Receipts(ReceiptEvent::EditForm(
        FormField::ExpenseType(Some(meals)),
    )));
    phone.send(Event::Receipts(ReceiptEvent::Submit));
    phone.settle(&mut server);
    let e = server.state.expenses().next().unwrap().clone();
    assert_eq!(e.status, ExpenseStatus::Submitted);
    assert_eq!(e.fields.merchant.as_deref(), Some("Neste"));
    assert!(
        phone
            .model
            .local
            .notices
            .values()
            .all(|n| n.fields.is_none())
    );
}

#[test]
fn a_photo_taken_just_before_a_crash_becomes_a_receipt_after_the_restart() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.go_offline();
    phone.send(Event::Receipts(ReceiptEvent::PhotoCaptured {
        file_ref: "last-photo".into(),
    }));
    // Run until the photo pipeline is asked, then the app dies.
    for _ in 0..20 {
        let Some(effect) = phone.effects.pop_front() else {
            break;
        };
        if matches!(effect, Effect::ProcessPhoto(_)) {
            break;
        }
        phone.resolve(effect, &mut server);
        phone.drain();
    }
    assert_eq!(
        phone.model.local.captures.len(),
        1,
        "recorded before processing"
    );
    assert_eq!(receipts(&phone).processing, 1);
    let store = phone.stored();
    drop(phone);
    let mut phone = Phone::restart(&mut server, store, false);
    assert!(phone.model.local.captures.is_empty());
    assert_eq!(phone.model.predicted.expenses().count(), 1);
    phone.go_online(&mut server);
    assert_eq!(server.state.expenses().count(), 1);
}

#[test]
fn a_page_for_a_receipt_submitted_meanwhile_becomes_its_own_receipt() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.capture(&mut server, "first");
    phone.send(Event::Receipts(ReceiptEvent::PhotoCaptured {
        file_ref: "second".into(),
    }));
    // The page is recorded for the open receipt; before it is processed, the receipt is
    // submitted.
    let mut photo = None;
    for _ in 0..20 {
        let Some(effect) = phone.effects.pop_front() else {
            break;
        };
        if matches!(effect, Effect::ProcessPhoto(_)) {
            photo = Some(effect);
            break;
        }
        phone.resolve(effect, &mut server);
        phone.drain();
    }
    fill_and_submit(&mut phone, &mut server, "5");
    phone.resolve(photo.expect("the second photo"), &mut server);
    phone.drain();
    phone.settle(&mut server);
    assert_eq!(
        phone.model.predicted.expenses().count(),
        2,
        "the photo was not dropped"
    );
    assert!(phone.model.local.captures.is_empty());
}
