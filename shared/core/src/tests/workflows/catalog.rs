//! A company catalog managed by the accountant.

use crate::event::CatalogEvent;
use crate::sim::{FakeServer, Phone};
use crate::view::ScreenView;
use crate::{Event, Route};

#[test]
fn the_accountant_manages_a_company_catalog_offline_too() {
    use crate::{ApprovalRuleInput, ExpenseTypeInput, PaymentMethodInput};
    let mut server = FakeServer::new();
    let mut anna = Phone::new(&mut server);
    anna.sign_in(&mut server, "anna");
    anna.send(Event::Navigate(Route::Catalog));
    let ScreenView::Catalog(catalog) = anna.view().screen else {
        panic!("{:?}", anna.view().screen)
    };
    assert_eq!(catalog.company, "Birch Bakery");
    // The demo's types and the tests' retired one.
    let types = kvits_demo::EXPENSE_TYPES.len() + 1;
    assert_eq!(catalog.expense_types.len(), types);
    assert_eq!(
        catalog.approval_rules[0].summary,
        "receipts — Mark Manager or Alice Approver"
    );
    assert!(
        anna.view()
            .tabs
            .iter()
            .any(|t| t.selected && t.label == "Company settings")
    );

    anna.go_offline();
    anna.send(Event::Catalog(CatalogEvent::SaveExpenseType(
        ExpenseTypeInput {
            id: None,
            code: "taxi".into(),
            name: "Taxi".into(),
            active: true,
        },
    )));
    anna.settle(&mut server);
    assert_eq!(anna.view().alert.as_deref(), Some("Saved."));
    // A duplicate code is refused at once, with the rule's words.
    anna.send(Event::Catalog(CatalogEvent::SaveExpenseType(
        ExpenseTypeInput {
            id: None,
            code: "Taxi".into(),
            name: "Cabs".into(),
            active: true,
        },
    )));
    anna.settle(&mut server);
    assert_eq!(
        anna.view().alert.as_deref(),
        Some("Another expense type already has code TAXI.")
    );
    // A card needs its last four digits.
    anna.send(Event::Catalog(CatalogEvent::SavePaymentMethod(
        PaymentMethodInput {
            id: None,
            own_money: false,
            label: "Amex".into(),
            last_four: Some("12".into()),
            holder_id: None,
            active: true,
            statement_ref: None,
        },
    )));
    anna.settle(&mut server);
    assert!(anna.view().alert.unwrap().contains("last four digits"));
    // Fuel from 100 EUR: Alice first, then Mark; tried before the rule for every receipt.
    let t = server.tenant.clone();
    anna.send(Event::Catalog(CatalogEvent::SaveApprovalRule(
        ApprovalRuleInput {
            id: None,
            name: "Big fuel".into(),
            position: -1,
            active: true,
            document_type: None,
            expense_type_ids: vec![t.fuel.to_string()],
            min_amount: "100".into(),
            max_amount: String::new(),
            steps: vec![
                vec![t.user("alice").to_string()],
                vec![t.user("mark").to_string()],
            ],
        },
    )));
    anna.settle(&mut server);
    assert_eq!(anna.view().alert.as_deref(), Some("Saved."));
    let ScreenView::Catalog(catalog) = anna.view().screen else {
        panic!()
    };
    assert_eq!(catalog.expense_types.len(), types + 1);
    assert_eq!(
        catalog.approval_rules[0].summary,
        "Fuel from 100.00 EUR — Alice Approver, then Mark Manager"
    );
    // A new rule's limits are in the company's base currency.
    assert_eq!(catalog.base_currency, "EUR");
    assert_eq!(catalog.approval_rules[0].currency, "EUR");
    assert_eq!(catalog.approval_rules[0].min_amount, "100.00");
    assert_eq!(anna.view().status.pending, 2);
    assert_eq!(
        server.state.expense_types(t.birch).len(),
        types,
        "nothing sent while offline"
    );

    anna.go_online(&mut server);
    assert_eq!(server.state.expense_types(t.birch).len(), types + 1);
    // Emma's form offers the new type after her next sync.
    let mut emma = Phone::new(&mut server);
    emma.sign_in(&mut server, "emma");
    emma.capture(&mut server, "cab");
    let ScreenView::Receipt(form) = emma.view().screen else {
        panic!()
    };
    assert!(form.expense_types.iter().any(|c| c.label == "Taxi"));
    // Emma cannot open the settings.
    emma.send(Event::Navigate(Route::Catalog));
    assert!(
        emma.view()
            .alert
            .unwrap()
            .contains("Only the company's admins")
    );
    assert!(
        emma.view()
            .tabs
            .iter()
            .all(|t| t.label != "Company settings")
    );
    use kvits_domain::State as _;
}

/// Open invitations are listed with what they give and until when their link works, judged by
/// the server's time at the last sync (the device's clock may be wrong).
#[test]
fn open_invitations_show_what_they_give_and_whether_their_link_still_works() {
    use kvits_protocol::{Entity, InvitationId, PendingInvitation, Role};
    let mut server = FakeServer::new();
    let birch = server.tenant.birch;
    let mut company = kvits_domain::State::company(&server.state, birch).unwrap();
    let invitation = |n: u128, name: &str, roles: Vec<Role>, days: i64| PendingInvitation {
        id: InvitationId(uuid::Uuid::from_u128(n)),
        email: format!("{}@new.test", name.to_lowercase()),
        name: name.into(),
        roles,
        staff_role: None,
        assigned: Vec::new(),
        expires_at: server.now + chrono::TimeDelta::days(days),
    };
    company.invitations = vec![
        invitation(1, "Nina", vec![Role::Employee, Role::Approver], 3),
        invitation(2, "Olaf", vec![Role::Client], -1),
    ];
    server.put(Entity::Company(company));
    let mut anna = Phone::new(&mut server);
    anna.sign_in(&mut server, "anna");
    anna.send(Event::Navigate(Route::Catalog));
    let ScreenView::Catalog(catalog) = anna.view().screen else {
        panic!("{:?}", anna.view().screen)
    };
    let rows: Vec<(&str, &str, &str, bool)> = catalog
        .invitations
        .iter()
        .map(|i| {
            (
                i.name.as_str(),
                i.grants.as_str(),
                i.until.as_str(),
                i.expired,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "Nina",
                "Employee, Approver",
                "Link works until 2026-11-26 11:00",
                false
            ),
            (
                "Olaf",
                "Client contact",
                "Link expired: invite them again",
                true
            ),
        ]
    );
    // Nobody invited is a member yet.
    assert!(!catalog.members.iter().any(|m| m.name == "Nina"));
}
