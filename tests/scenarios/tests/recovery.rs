//! Issue 20's recovery with the native runtime against the real server: Emma's phone sends a
//! receipt; the server is backed up; she sends another; the server is restored from that
//! backup (losing the second receipt and her phone's place in the sync). Her phone finds out
//! at its next sync, takes a new client id and sends again what it holds: the server ends with
//! exactly the receipts her phone shows, each once, with their photos.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kvits_protocol::{ChangeOp, Entity, PullResponse};
use kvits_scenarios::{PATIENCE, Phone, World};
use shared::view::ScreenView;
use shared::{Event, FormField, ReceiptEvent, Route, ViewModel};

fn form(v: &ViewModel) -> Option<&shared::view::ReceiptView> {
    match &v.screen {
        ScreenView::Receipt(r) => Some(r),
        _ => None,
    }
}

/// A receipt with a photo, an amount and a merchant, submitted; waits until it is sent.
async fn send_receipt(world: &World, phone: &mut Phone, photo: usize, amount: &str, who: &str) {
    phone.send(Event::Navigate(Route::Receipts));
    phone.send(Event::Receipts(ReceiptEvent::PhotoCaptured {
        file_ref: world.photo(photo).display().to_string(),
    }));
    let v = phone
        .wait_for("the new receipt's form", |v| {
            form(v).is_some_and(|f| !f.pages.is_empty())
        })
        .await;
    let f = form(&v).cloned().expect("the form");
    let expense_type = f.expense_types.first().expect("an expense type").id.clone();
    let card = f
        .payment_methods
        .first()
        .expect("a payment method")
        .id
        .clone();
    for field in [
        FormField::ExpenseType(Some(expense_type)),
        FormField::PaymentMethod(Some(card)),
        FormField::Amount(amount.into()),
        FormField::Merchant(who.into()),
    ] {
        phone.send(Event::Receipts(ReceiptEvent::EditForm(field)));
    }
    phone.send(Event::Receipts(ReceiptEvent::Submit));
    phone
        .wait_for("the receipt sent", |v| {
            form(v).is_none() && !v.saving && v.status.pending == 0
        })
        .await;
}

/// Emma's receipts as the server has them: (id, amount, merchant, photos), through a pull of
/// everything as her.
async fn on_server(world: &World) -> BTreeSet<String> {
    let token = world.token("emma").await;
    let client = uuid::Uuid::now_v7();
    let mut cursor = 0;
    let mut out = BTreeSet::new();
    loop {
        let page: PullResponse = serde_json::from_value(
            world
                .get_as(
                    &token,
                    &format!("/v1/sync/pull?client_id={client}&cursor={cursor}"),
                )
                .await,
        )
        .expect("a pull page");
        for c in page.changes {
            if let ChangeOp::Upsert { entity } = c.op
                && let Entity::Expense(e) = *entity
                && e.created_by == world.demo.user("emma@demo.kvits")
            {
                let photos: Vec<&str> = e.pages.iter().map(|p| p.sha256.as_str()).collect();
                out.insert(format!(
                    "{} {:?} {:?} {photos:?}",
                    e.id, e.fields.amount, e.fields.merchant
                ));
            }
        }
        cursor = page.cursor;
        if !page.has_more {
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restored_from_an_older_backup_gets_back_what_the_phone_sent() {
    let mut world = World::start().await;
    let mut emma = world.phone("emma").await;
    send_receipt(&world, &mut emma, 0, "12.50", "Lido").await;
    let backup = world.backup();
    send_receipt(&world, &mut emma, 1, "7.20", "Narvesen").await;
    let sent = on_server(&world).await;
    assert_eq!(sent.len(), 2, "{sent:?}");

    // The server goes back to the backup: one receipt, and Emma's phone two mutations ahead.
    emma.network(false);
    world.restore(&backup).await;
    assert_eq!(on_server(&world).await.len(), 1);
    emma.network(true);
    emma.send(Event::Sync(shared::SyncEvent::Now));

    // Bounded: the phone's sync brings the server back to what it holds.
    let started = Instant::now();
    let mut now = on_server(&world).await;
    while now != sent && started.elapsed() < PATIENCE {
        tokio::time::sleep(Duration::from_millis(200)).await;
        now = on_server(&world).await;
    }
    assert_eq!(now, sent, "the server has what the phone sent, each once");
    let v = emma
        .wait_for("everything sent again", |v| {
            v.status.pending == 0 && v.status.problem.is_none()
        })
        .await;
    assert!(
        v.notices.is_empty(),
        "nothing to tell Emma: {:?}",
        v.notices
    );

    // The photos too: each downloads again.
    let token = world.token("emma").await;
    for line in &now {
        let sha = line.rsplit('"').nth(1).expect("a photo's hash in the line");
        assert!(world.blob(&token, sha).await.len() > 1000, "{line}");
    }
}
