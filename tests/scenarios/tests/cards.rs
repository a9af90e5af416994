//! Issue 19's scenario with the native runtime against the real server: Anna imports Birch's
//! November card statement; Emma's phone lists three payments of her card without a receipt;
//! offline she captures one straight from its payment; back online it is matched on the server;
//! she declares another lost; Anna's clients overview shows one receipt missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kvits_scenarios::{Phone, World};
use shared::view::{CardsView, ScreenView, Tab};
use shared::{CardEvent, Event, FormField, NoReceiptKind, ReceiptEvent, Route, ViewModel};

/// Birch's November statement with the payments of Emma's Visa only (the full file also has
/// Mark's card and a card nobody knows).
fn emmas_statement() -> String {
    let full = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../sync-server/tests/fixtures/statements/birch-2026-11.camt053.xml"),
    )
    .expect("the statement");
    let mut parts = full.split("<Ntry>");
    let head = parts.next().expect("the header");
    let kept: Vec<&str> = parts
        .filter(|entry| !entry.contains("7302") && !entry.contains("9999"))
        .collect();
    let mine = format!("{head}<Ntry>{}", kept.join("<Ntry>"));
    let parsed = kvits_statements::parse(mine.as_bytes(), &Default::default()).expect("reads");
    assert_eq!(
        parsed.lines.len(),
        6,
        "Emma's five card lines and the top-up"
    );
    mine
}

fn cards(v: &ViewModel) -> Option<&CardsView> {
    match &v.screen {
        ScreenView::Cards(c) => Some(c),
        _ => None,
    }
}

fn badge(v: &ViewModel) -> Option<u32> {
    v.tabs.iter().find(|t| t.tab == Tab::Cards).map(|t| t.badge)
}

fn form(v: &ViewModel) -> Option<&shared::view::ReceiptView> {
    match &v.screen {
        ScreenView::Receipt(r) => Some(r),
        _ => None,
    }
}

/// Adds the photo to the open form, picks the first expense type, submits; waits until saved.
async fn photograph_and_submit(world: &World, phone: &mut Phone, photo: usize) {
    phone.send(Event::Receipts(ReceiptEvent::PhotoCaptured {
        file_ref: world.photo(photo).display().to_string(),
    }));
    let f = phone
        .wait_for("the photo on the form", |v| {
            form(v).is_some_and(|f| !f.pages.is_empty())
        })
        .await;
    let f = form(&f).cloned().expect("the form");
    let expense_type = f.expense_types.first().expect("an expense type").id.clone();
    phone.send(Event::Receipts(ReceiptEvent::EditForm(
        FormField::ExpenseType(Some(expense_type)),
    )));
    phone.send(Event::Receipts(ReceiptEvent::Submit));
    phone
        .wait_for("the receipt saved", |v| form(v).is_none() && !v.saving)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emma_answers_for_her_card_payments_and_anna_sees_what_is_left() {
    let world = World::start().await;
    let mut emma = world.phone("emma").await;

    // Emma already sent the receipt of her Circle K fuel stop of 3 November.
    emma.send(Event::Navigate(Route::Receipts));
    emma.send(Event::Receipts(ReceiptEvent::PhotoCaptured {
        file_ref: world.photo(0).display().to_string(),
    }));
    let v = emma
        .wait_for("the new receipt's form", |v| {
            form(v).is_some_and(|f| !f.pages.is_empty())
        })
        .await;
    let f = form(&v).cloned().unwrap();
    let visa = f
        .payment_methods
        .iter()
        .find(|c| c.label.contains("4821"))
        .expect("Emma's Visa")
        .id
        .clone();
    for field in [
        FormField::PaymentMethod(Some(visa)),
        FormField::Amount("12.50".into()),
        FormField::Date("2026-11-03".into()),
        FormField::Merchant("Circle K".into()),
    ] {
        emma.send(Event::Receipts(ReceiptEvent::EditForm(field)));
    }
    photograph_and_submit(&world, &mut emma, 1).await;
    emma.wait_for("sent", |v| v.status.pending == 0).await;

    // Anna imports the statement: the Circle K payment finds its receipt.
    let anna = world.token("anna").await;
    let birch = world.demo.companies["Birch Bakery"];
    let summary: serde_json::Value = world
        .http
        .post(format!("{}/v1/companies/{birch}/statements", world.direct))
        .bearer_auth(&anna)
        .body(emmas_statement())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&summary["new"], &summary["matched"]),
        (&serde_json::json!(5), &serde_json::json!(1)),
        "{summary}"
    );

    // Emma's phone: three payments of her card without a receipt.
    emma.send(Event::Sync(shared::SyncEvent::Now));
    emma.wait_for("three missing", |v| badge(v) == Some(3))
        .await;
    emma.send(Event::Navigate(Route::Cards));
    let v = emma.view();
    let list = cards(&v).expect("the card payments");
    let id_of = |merchant: &str| {
        list.rows
            .iter()
            .find(|r| r.merchant == merchant)
            .unwrap_or_else(|| panic!("{merchant} in {list:?}"))
            .id
            .clone()
    };
    let (narvesen, parking) = (id_of("NARVESEN RIGA"), id_of("RIGAS SATIKSME PARKING"));

    // Offline, the Narvesen receipt straight from its payment.
    emma.network(false);
    emma.send(Event::Cards(CardEvent::CaptureFor {
        transaction_id: narvesen.clone(),
    }));
    let v = emma
        .wait_for("the receipt filled in from the payment", |v| {
            form(v).is_some()
        })
        .await;
    let f = form(&v).unwrap();
    assert_eq!((f.amount.as_str(), f.date.as_str()), ("4.80", "2026-11-05"));
    photograph_and_submit(&world, &mut emma, 2).await;
    emma.wait_for("two missing, offline", |v| badge(v) == Some(2))
        .await;

    // Back online: matched on the server too.
    emma.network(true);
    emma.wait_for("sent", |v| v.status.online && v.status.pending == 0)
        .await;
    let report = world
        .get_as(&anna, &format!("/v1/companies/{birch}/card-report"))
        .await;
    let visa_row = report["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["card"].as_str().unwrap().contains("4821"))
        .cloned()
        .unwrap();
    assert_eq!(
        (&visa_row["matched"], &visa_row["missing"]),
        (&serde_json::json!(2), &serde_json::json!(2))
    );

    // The parking ticket is lost.
    emma.send(Event::Navigate(Route::Cards));
    emma.send(Event::Cards(CardEvent::DeclareNoReceipt {
        transaction_id: parking,
        reason: NoReceiptKind::Lost,
        note: String::new(),
    }));
    emma.wait_for("declared and sent", |v| {
        badge(v) == Some(1) && v.status.pending == 0
    })
    .await;

    // Anna's overview: one receipt missing at Birch.
    let overview = world.get_as(&anna, "/v1/clients").await;
    let birch_row = overview["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Birch Bakery")
        .cloned()
        .unwrap();
    assert_eq!(birch_row["missing_receipts"], 1);
}
