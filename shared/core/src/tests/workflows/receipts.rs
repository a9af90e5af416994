//! Capturing receipts, the expense form, pages and uploads.

use kvits_domain::State as _;
use kvits_protocol::{DecisionKind, ExpenseStatus, Mutation, VatLine};

use super::{fill_and_submit, receipts};
use crate::effects::Effect;
use crate::event::{ReceiptEvent, SyncEvent, VatEdit};
use crate::sim::{FakeServer, Phone};
use crate::view::{ReceiptStatus, ScreenView};
use crate::{Event, FormField, Route};

/// Sends each edit to the open expense form.
fn edit_form(phone: &mut Phone, fields: impl IntoIterator<Item = FormField>) {
    for field in fields {
        phone.send(Event::Receipts(ReceiptEvent::EditForm(field)));
    }
}

/// The open expense form.
fn form(phone: &Phone) -> crate::view::ReceiptView {
    let ScreenView::Receipt(form) = phone.view().screen else {
        panic!("the form is open: {:?}", phone.view().screen)
    };
    form
}

/// The first receipt the server holds.
fn arrived(server: &FakeServer) -> kvits_protocol::Expense {
    server
        .state
        .expenses()
        .next()
        .expect("the receipt arrived")
        .clone()
}

/// The open form's messages, as (field, message); none when no form is open.
fn form_errors(phone: &Phone) -> Vec<(String, String)> {
    let ScreenView::Receipt(form) = phone.view().screen else {
        return Vec::new();
    };
    form.errors
        .iter()
        .map(|e| (e.field.clone(), e.message.clone()))
        .collect()
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
    let e = arrived(&server);
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

/// A receipt in yen or in Bahraini dinars is read with that currency's decimals (0 and 3) and
/// reaches the server in its minor units; decimals the currency does not have are an error on
/// the amount, and a code that is no currency an error on the currency.
#[test]
fn amounts_are_read_in_their_currency_s_decimals() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    for (currency, typed) in [("JPY", "1,200"), ("BHD", "1,25")] {
        phone.send(Event::Navigate(Route::Receipts));
        phone.capture(&mut server, &format!("photo-{currency}"));
        edit_form(&mut phone, [FormField::Currency(currency.to_lowercase())]);
        fill_and_submit(&mut phone, &mut server, "12.5046");
        let refused = form_errors(&phone);
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(refused[0].0, "amount");
        assert!(refused[0].1.starts_with(currency), "{refused:?}");
        edit_form(&mut phone, [FormField::Amount(typed.into())]);
        phone.send(Event::Receipts(ReceiptEvent::Submit));
        phone.settle(&mut server);
        assert!(
            form_errors(&phone).is_empty(),
            "{currency}: {:?}",
            form_errors(&phone)
        );
    }
    let mut arrived: Vec<(String, i64)> = server
        .state
        .expenses()
        .filter_map(|e| e.fields.amount.clone())
        .map(|m| (m.currency, m.amount_minor))
        .collect();
    arrived.sort();
    assert_eq!(
        arrived,
        [("BHD".to_string(), 1_250), ("JPY".to_string(), 1_200)]
    );
    let shown: Vec<String> = receipts(&phone)
        .receipts
        .iter()
        .filter_map(|r| r.amount.clone())
        .collect();
    assert!(shown.contains(&"1200 JPY".to_string()), "{shown:?}");
    assert!(shown.contains(&"1.250 BHD".to_string()), "{shown:?}");

    phone.send(Event::Navigate(Route::Receipts));
    phone.capture(&mut server, "photo-xyz");
    edit_form(
        &mut phone,
        [
            FormField::Currency("XYZ".into()),
            FormField::Amount("10".into()),
        ],
    );
    phone.send(Event::Receipts(ReceiptEvent::SaveDraft));
    phone.settle(&mut server);
    let refused = form_errors(&phone);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "currency");
    assert!(refused[0].1.contains("not a currency"), "{refused:?}");
}

/// Birch keeps its books in EUR: a receipt in zloty asks for its amount in EUR as well (what
/// approval limits are compared with), read with EUR's decimals; in EUR it asks for none.
#[test]
fn a_receipt_in_another_currency_asks_for_its_amount_in_the_base_currency() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.capture(&mut server, "photo-pln");
    assert_eq!(form(&phone).currency, "EUR");
    assert_eq!(
        form(&phone).base_currency,
        None,
        "a receipt in EUR needs no second amount"
    );
    edit_form(
        &mut phone,
        [
            FormField::Currency("PLN".into()),
            FormField::BaseAmount("460,5x".into()),
        ],
    );
    assert_eq!(form(&phone).base_currency.as_deref(), Some("EUR"));
    fill_and_submit(&mut phone, &mut server, "2 000,00");
    let errors: Vec<String> = form_errors(&phone).into_iter().map(|(f, _)| f).collect();
    assert_eq!(errors, ["base_amount"]);
    edit_form(&mut phone, [FormField::BaseAmount("460,5".into())]);
    phone.send(Event::Receipts(ReceiptEvent::Submit));
    phone.settle(&mut server);
    let e = arrived(&server);
    assert_eq!(e.status, ExpenseStatus::Submitted);
    let amounts = (
        e.fields.amount.map(|m| (m.currency, m.amount_minor)),
        e.fields.base_amount.map(|m| (m.currency, m.amount_minor)),
    );
    assert_eq!(
        amounts,
        (Some(("PLN".into(), 200_000)), Some(("EUR".into(), 46_050)))
    );
}

/// Emma enters the VAT herself: a line that does not add up stays on the form with its
/// message and nothing is queued; the rate alone splits the rest; a new amount that the lines
/// no longer fit is refused rather than the lines silently dropped.
#[test]
fn emma_enters_vat_lines_that_must_add_up_to_the_amount() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.capture(&mut server, "photo-lunch");
    let lines = form(&phone)
        .vat_lines
        .expect("an editable form offers VAT lines");
    assert!(lines.lines.is_empty() && lines.can_add);
    assert_eq!(lines.currency, "EUR");
    let vat = |edit: VatEdit| FormField::Vat(edit);
    edit_form(
        &mut phone,
        [
            FormField::Amount("23,80".into()),
            vat(VatEdit::Add),
            vat(VatEdit::Rate {
                line: 0,
                value: "14".into(),
            }),
            vat(VatEdit::Net {
                line: 0,
                value: "10".into(),
            }),
            vat(VatEdit::Amount {
                line: 0,
                value: "1.40".into(),
            }),
        ],
    );
    assert_eq!(
        form(&phone).vat_lines.unwrap().total.as_deref(),
        Some("11.40 EUR")
    );
    let queued = phone.model.local.unsent_count();
    phone.send(Event::Receipts(ReceiptEvent::SaveDraft));
    phone.settle(&mut server);
    let errors = form_errors(&phone);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "vat");
    assert!(errors[0].1.contains("add up to 11.40 EUR"), "{errors:?}");
    assert_eq!(
        phone.model.local.unsent_count(),
        queued,
        "nothing was queued"
    );

    // A second rate with no amounts takes the rest: 12.40 at 24 % is 10.00 + 2.40.
    edit_form(
        &mut phone,
        [
            vat(VatEdit::Add),
            vat(VatEdit::Rate {
                line: 1,
                value: "24".into(),
            }),
        ],
    );
    assert!(
        form_errors(&phone).is_empty(),
        "editing the lines clears their message"
    );
    fill_and_submit(&mut phone, &mut server, "23,80");
    let e = arrived(&server);
    assert_eq!(e.status, ExpenseStatus::Submitted);
    let line = |rate_bp, net_minor, vat_minor| VatLine {
        rate_bp,
        net_minor,
        vat_minor,
    };
    assert_eq!(
        e.fields.vat,
        vec![line(1400, 1000, 140), line(2400, 1000, 240)]
    );

    // Returned, Emma fixes the amount: the lines no longer fit and she is told so.
    let returned = Some("Was it 25.80?");
    super::review::decide(&mut server, e.id, DecisionKind::Return, returned);
    phone.send(Event::Sync(SyncEvent::Now));
    phone.settle(&mut server);
    phone.send(Event::Navigate(Route::Receipt {
        expense_id: e.id.to_string(),
    }));
    let lines = form(&phone)
        .vat_lines
        .expect("a returned receipt is editable");
    assert_eq!(lines.lines[1].net, "10.00", "the lines as stored come back");
    edit_form(&mut phone, [FormField::Amount("25,80".into())]);
    phone.send(Event::Receipts(ReceiptEvent::Submit));
    phone.settle(&mut server);
    assert_eq!(form_errors(&phone)[0].0, "vat");
    edit_form(
        &mut phone,
        [
            vat(VatEdit::Remove { line: 0 }),
            vat(VatEdit::Net {
                line: 0,
                value: String::new(),
            }),
            vat(VatEdit::Amount {
                line: 0,
                value: String::new(),
            }),
        ],
    );
    assert!(form_errors(&phone).is_empty(), "{:?}", form_errors(&phone));
    phone.send(Event::Receipts(ReceiptEvent::Submit));
    phone.settle(&mut server);
    let e = server.state.expense(e.id).expect("still there");
    assert_eq!(e.status, ExpenseStatus::Submitted);
    // 25.80 at 24 %: VAT 4.99, net 20.81.
    assert_eq!(e.fields.vat, vec![line(2400, 2081, 499)]);
}

/// The form says what the document is; an invoice is routed as one — Birch's only rule is
/// for receipts, so Emma's invoice needs no approval.
#[test]
fn an_invoice_is_routed_as_an_invoice() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.capture(&mut server, "invoice-scan");
    let ScreenView::Receipt(form) = phone.view().screen else {
        panic!("the form is open")
    };
    let offered: Vec<(&str, bool)> = form
        .document_types
        .iter()
        .map(|c| (c.label.as_str(), c.selected))
        .collect();
    assert_eq!(
        offered,
        [
            ("Receipt", true),
            ("Invoice", false),
            ("Other document", false)
        ]
    );
    edit_form(
        &mut phone,
        [FormField::DocumentType(crate::DocumentKind::Invoice)],
    );
    fill_and_submit(&mut phone, &mut server, "310");
    let e = server
        .state
        .expenses()
        .next()
        .expect("the invoice arrived")
        .clone();
    assert_eq!(e.document_type, kvits_protocol::DocumentType::Invoice);
    assert_eq!(e.status, ExpenseStatus::Approved, "no rule for invoices");
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
    let e = arrived(&server);
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
