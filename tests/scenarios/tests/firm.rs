//! The firm's console on the native runtime against the real server: the firm admin adds a
//! client company and a colleague assigned to it; the colleague, on a new install, sees only
//! that client; unassigned mid-sync, their device loses the company's rows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kvits_scenarios::World;
use shared::view::{FirmView, ScreenView, Tab};
use shared::{CompanyInput, Event, FirmEvent, Route, StaffInput, SyncEvent, ViewModel};

fn firm(v: &ViewModel) -> Option<&FirmView> {
    match &v.screen {
        ScreenView::Firm(f) => Some(f),
        _ => None,
    }
}

fn companies(v: &ViewModel) -> Vec<String> {
    v.user
        .as_ref()
        .map(|u| u.companies.iter().map(|c| c.label.clone()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_colleague_sees_only_their_client_and_loses_it_when_unassigned() {
    let world = World::start().await;
    let mut paula = world.phone("paula").await;
    assert!(paula.view().tabs.iter().any(|t| t.tab == Tab::Firm));
    // Nobody else has the console.
    let anna = world.phone("anna").await;
    assert!(!anna.view().tabs.iter().any(|t| t.tab == Tab::Firm));
    anna.send(Event::Navigate(Route::Firm));
    assert!(firm(&anna.view()).is_none());

    paula.send(Event::Navigate(Route::Firm));
    let v = paula
        .wait_for("the staff list", |v| firm(v).is_some_and(|f| f.loaded))
        .await;
    let f = firm(&v).unwrap();
    assert!(f.assigned_clients_only);
    assert_eq!(f.clients.len(), 5, "{:#?}", f.clients);
    let anna_row = f
        .staff
        .iter()
        .find(|s| s.name == "Anna Accountant")
        .unwrap();
    assert_eq!(anna_row.assigned_text, "Birch Bakery, Cedar Logistics");
    assert!(f.countries.iter().any(|c| c.id == "LV"));

    // A bad country is refused before anything is sent.
    let gale = |country: &str| CompanyInput {
        id: None,
        name: "Gale Garden".into(),
        base_currency: "SEK".into(),
        registration_number: "556123-4567".into(),
        vat_number: "SE556123456701".into(),
        country: country.into(),
        time_zone: "Europe/Stockholm".into(),
        active: true,
        allow_self_approval: false,
    };
    paula.send(Event::Firm(FirmEvent::SaveCompany(gale("Sweden"))));
    let v = paula.view();
    assert!(
        firm(&v)
            .unwrap()
            .error
            .as_deref()
            .unwrap()
            .contains("country")
    );

    paula.send(Event::Firm(FirmEvent::SaveCompany(gale("SE"))));
    let v = paula
        .wait_for("Gale Garden in the list", |v| {
            firm(v).is_some_and(|f| !f.busy && f.clients.iter().any(|c| c.name == "Gale Garden"))
        })
        .await;
    let f = firm(&v).unwrap();
    let gale_row = f.clients.iter().find(|c| c.name == "Gale Garden").unwrap();
    assert_eq!(gale_row.country_name, "Sweden");
    assert_eq!(gale_row.staff, "Nobody assigned");
    let gale_id = gale_row.id.clone();

    paula.send(Event::Firm(FirmEvent::InviteStaff(StaffInput {
        email: "sven@demo.kvits".into(),
        name: "Sven Senior".into(),
        firm_admin: false,
        assigned: vec![gale_id.clone()],
    })));
    let v = paula
        .wait_for("the invitation link", |v| {
            firm(v).is_some_and(|f| {
                f.link.is_some() && f.invitations.iter().any(|i| i.name == "Sven Senior")
            })
        })
        .await;
    let f = firm(&v).unwrap();
    // Sven is on the staff only once he accepts.
    assert!(!f.staff.iter().any(|s| s.name == "Sven Senior"));
    let invitation = f
        .invitations
        .iter()
        .find(|i| i.name == "Sven Senior")
        .unwrap();
    assert_eq!(invitation.grants, "Accountant: Gale Garden");
    let link = f.link.clone().unwrap();

    let mut sven = world.install_signed_out("sven").await;
    sven.accept_invitation(&link, "Sven counts spruce cones 42");
    let v = sven
        .wait_for("Sven signed in and synced", |v| {
            v.user.is_some() && v.status.last_synced.is_some()
        })
        .await;
    assert_eq!(companies(&v), ["Gale Garden"]);
    assert_eq!(
        v.user.as_ref().unwrap().company_name.as_deref(),
        Some("Gale Garden")
    );
    paula.send(Event::Firm(FirmEvent::Refresh));
    let v = paula
        .wait_for("Sven on the staff", |v| {
            firm(v).is_some_and(|f| {
                f.invitations.is_empty() && f.staff.iter().any(|s| s.name == "Sven Senior")
            })
        })
        .await;
    let f = firm(&v).unwrap();
    let sven_row = f.staff.iter().find(|s| s.name == "Sven Senior").unwrap();
    assert_eq!(sven_row.role, "Accountant");
    assert_eq!(sven_row.assigned_text, "Gale Garden");
    let sven_id = sven_row.user_id.clone();

    // Paula moves Sven from Gale to Birch while his device is synced.
    let birch_id = firm(&paula.view())
        .unwrap()
        .clients
        .iter()
        .find(|c| c.name == "Birch Bakery")
        .unwrap()
        .id
        .clone();
    paula.send(Event::Firm(FirmEvent::SetStaff {
        user_id: sven_id,
        firm_admin: false,
        assigned: vec![birch_id],
    }));
    paula
        .wait_for("the change saved", |v| {
            firm(v).is_some_and(|f| {
                f.staff
                    .iter()
                    .any(|s| s.name == "Sven Senior" && s.assigned_text == "Birch Bakery")
            })
        })
        .await;
    sven.send(Event::Sync(SyncEvent::Now));
    let v = sven
        .wait_for("Gale gone from Sven's device", |v| {
            companies(v) == ["Birch Bakery"] && !v.status.syncing
        })
        .await;
    assert_eq!(
        v.user.as_ref().unwrap().company_name.as_deref(),
        Some("Birch Bakery")
    );
}

fn clients(v: &ViewModel) -> Option<&shared::view::ClientsView> {
    match &v.screen {
        ScreenView::Clients(c) => Some(c),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_firm_lands_on_its_clients_and_opens_one_at_its_work() {
    let world = World::start().await;
    let mut anna = world.phone("anna").await;
    let v = anna
        .wait_for("Anna's clients counted", |v| {
            clients(v).is_some_and(|c| c.loaded)
        })
        .await;
    let c = clients(&v).unwrap();
    let names: Vec<&str> = c.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Birch Bakery", "Cedar Logistics"]);
    assert!(!c.can_choose_mine);
    assert_eq!(c.count, "2 of 2 clients");

    anna.send(Event::Clients(shared::ClientsEvent::Search {
        text: "ced".into(),
    }));
    let v = anna.view();
    let c = clients(&v).unwrap();
    assert_eq!(c.rows.len(), 1);
    assert_eq!(c.rows[0].name, "Cedar Logistics");
    anna.send(Event::Clients(shared::ClientsEvent::Search {
        text: String::new(),
    }));
    anna.send(Event::Clients(shared::ClientsEvent::Filter {
        filter: shared::ClientFilter::UnreadReplies,
    }));
    anna.send(Event::Clients(shared::ClientsEvent::Open {
        company_id: c.rows[0].company_id.clone(),
    }));
    let v = anna
        .wait_for("Cedar's messages", |v| {
            matches!(v.screen, ScreenView::Inbox(_))
        })
        .await;
    assert_eq!(
        v.user.as_ref().unwrap().company_name.as_deref(),
        Some("Cedar Logistics")
    );

    // A firm admin sees every client and can narrow to the ones assigned to her (none).
    let mut paula = world.phone("paula").await;
    let v = paula
        .wait_for("Paula's clients counted", |v| {
            clients(v).is_some_and(|c| c.loaded)
        })
        .await;
    assert_eq!(clients(&v).unwrap().rows.len(), 5);
    assert!(clients(&v).unwrap().can_choose_mine);
    paula.send(Event::Clients(shared::ClientsEvent::OnlyMine {
        only_mine: true,
    }));
    let v = paula.view();
    assert_eq!(clients(&v).unwrap().count, "0 of 5 clients");
}
