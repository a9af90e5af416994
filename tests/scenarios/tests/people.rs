//! A company's people: an admin invites someone, who sets a password from the link on a new
//! phone and works there; the admin changes their roles and the new phone follows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kvits_scenarios::World;
use shared::view::{CatalogView, ScreenView, Tab};
use shared::{Event, InviteInput, Route, ViewModel};
use shared::{PeopleEvent, SyncEvent};

fn catalog(v: &ViewModel) -> Option<&CatalogView> {
    match &v.screen {
        ScreenView::Catalog(c) => Some(c),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_invites_someone_who_signs_in_with_the_link_and_gets_new_roles() {
    let world = World::start().await;
    let mut clara = world.phone("clara").await;
    clara.send(Event::Navigate(Route::Catalog));
    let v = clara
        .wait_for("the settings", |v| catalog(v).is_some())
        .await;
    let roles: Vec<String> = catalog(&v)
        .unwrap()
        .roles
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(roles, ["employee", "approver", "company_admin", "client"]);

    // Offline, nothing is sent and the admin is told why.
    clara.network(false);
    clara.send(Event::People(PeopleEvent::Invite(InviteInput {
        email: "dana@demo.kvits".into(),
        name: "Dana Baker".into(),
        roles: vec!["employee".into()],
    })));
    let v = clara
        .wait_for("the offline refusal", |v| {
            catalog(v).is_some_and(|c| c.people_error.is_some())
        })
        .await;
    assert!(
        catalog(&v)
            .unwrap()
            .people_error
            .as_deref()
            .unwrap()
            .contains("needs the internet"),
        "{v:#?}"
    );
    clara.network(true);
    // Back online, the phone's first pull goes out before the invitation does. (A request sent
    // in the same instant may meet a connection the offline proxy cut, and fail once with "No
    // connection to the server", as it failed in one CI run.)
    clara
        .wait_for("the first sync back online", |v| {
            v.status.online && !v.status.syncing && v.status.problem.is_none()
        })
        .await;

    // A role that cannot be given here is refused before anything is sent.
    clara.send(Event::People(PeopleEvent::Invite(InviteInput {
        email: "dana@demo.kvits".into(),
        name: "Dana Baker".into(),
        roles: vec!["accountant".into()],
    })));
    let v = clara.view();
    assert!(
        catalog(&v)
            .unwrap()
            .people_error
            .as_deref()
            .unwrap()
            .contains("accountant")
    );

    clara.send(Event::People(PeopleEvent::Invite(InviteInput {
        email: "dana@demo.kvits".into(),
        name: "Dana Baker".into(),
        roles: vec!["employee".into()],
    })));
    let v = clara
        .wait_for(
            "the invitation link and Dana among the open invitations",
            |v| {
                catalog(v).is_some_and(|c| {
                    c.invite_link.is_some() && c.invitations.iter().any(|i| i.name == "Dana Baker")
                })
            },
        )
        .await;
    let c = catalog(&v).unwrap();
    assert!(!c.people_busy);
    assert!(
        c.people_done
            .as_deref()
            .unwrap()
            .contains("Dana Baker is invited")
    );
    // Nobody is a member before accepting, and the list says only what Clara typed.
    assert!(!c.members.iter().any(|m| m.email == "dana@demo.kvits"));
    let open = c
        .invitations
        .iter()
        .find(|i| i.name == "Dana Baker")
        .unwrap();
    assert_eq!(
        (open.email.as_str(), open.grants.as_str(), open.expired),
        ("dana@demo.kvits", "Employee", false)
    );
    assert!(
        open.until.starts_with("Link works until "),
        "{}",
        open.until
    );
    let link = c.invite_link.clone().unwrap();
    assert!(link.contains("/invite/"), "{link}");

    // Dana opens the link on a new phone: the server refuses a too-short new password.
    let mut dana = world.install_signed_out("dana").await;
    dana.accept_invitation(&link, "short");
    dana.sign_in_error("the short password refused", |e| {
        e == "Choose a password of at least 12 characters."
    })
    .await;
    dana.accept_invitation(&link, "Dana's rye loaves rise at dawn");
    let v = dana
        .wait_for("Dana signed in and synced", |v| {
            v.user.is_some() && v.status.last_synced.is_some()
        })
        .await;
    let user = v.user.as_ref().unwrap();
    assert_eq!(user.email, "dana@demo.kvits");
    assert_eq!(user.company_name.as_deref(), Some("Birch Bakery"));
    assert!(
        !v.tabs.iter().any(|t| t.tab == Tab::Approvals),
        "{:?}",
        v.tabs
    );
    clara.send(Event::Sync(SyncEvent::Now));
    let v = clara
        .wait_for("Dana a member, her invitation gone", |v| {
            catalog(v).is_some_and(|c| {
                c.members.iter().any(|m| m.name == "Dana Baker") && c.invitations.is_empty()
            })
        })
        .await;
    let dana_id = catalog(&v)
        .unwrap()
        .members
        .iter()
        .find(|m| m.name == "Dana Baker")
        .unwrap()
        .user_id
        .clone();

    // The link works once.
    let mut again = world.install_signed_out("dana-again").await;
    again.accept_invitation(&link, "bread and butter");
    again
        .sign_in_error("the used link refused", |e| e.contains("already used"))
        .await;

    // Clara makes Dana an approver too; Dana's phone follows.
    clara.send(Event::People(PeopleEvent::SetRoles {
        user_id: dana_id,
        roles: vec!["employee".into(), "approver".into()],
    }));
    clara
        .wait_for("the role change", |v| {
            catalog(v).is_some_and(|c| {
                c.people_done.as_deref() == Some("Dana Baker's roles are changed.")
                    && c.members
                        .iter()
                        .any(|m| m.name == "Dana Baker" && m.roles.len() == 2)
            })
        })
        .await;
    dana.send(Event::Sync(SyncEvent::Now));
    dana.wait_for("the Approvals tab on Dana's phone", |v| {
        v.tabs.iter().any(|t| t.tab == Tab::Approvals)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_cannot_invite_anyone() {
    let world = World::start().await;
    let emma = world.phone("emma").await;
    assert!(!emma.view().tabs.iter().any(|t| t.tab == Tab::Settings));
    emma.send(Event::People(PeopleEvent::Invite(InviteInput {
        email: "eve@demo.kvits".into(),
        name: "Eve".into(),
        roles: vec!["employee".into()],
    })));
    // Nothing reached the server: when an admin invites the same address afterwards, it is a
    // new person who gets a link.
    let mut clara = world.phone("clara").await;
    clara.send(Event::Navigate(Route::Catalog));
    clara.send(Event::People(PeopleEvent::Invite(InviteInput {
        email: "eve@demo.kvits".into(),
        name: "Eve".into(),
        roles: vec!["employee".into()],
    })));
    clara
        .wait_for("Eve invited as a new person", |v| {
            catalog(v).is_some_and(|c| c.invite_link.is_some())
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_with_an_account_accepts_with_their_password_and_a_cancelled_link_dies() {
    let world = World::start().await;
    let mut clara = world.phone("clara").await;
    clara.send(Event::Navigate(Route::Catalog));
    clara
        .wait_for("the settings", |v| catalog(v).is_some())
        .await;

    // Otto works for Cedar Logistics; Clara invites him into Birch Bakery. What she is told
    // is what she is told for anyone: no member appears, and no word about an account.
    clara.send(Event::People(PeopleEvent::Invite(InviteInput {
        email: "otto@demo.kvits".into(),
        name: "Otto".into(),
        roles: vec!["employee".into()],
    })));
    let v = clara
        .wait_for("Otto's invitation", |v| {
            catalog(v).is_some_and(|c| c.invitations.iter().any(|i| i.name == "Otto"))
        })
        .await;
    let c = catalog(&v).unwrap();
    assert!(
        c.people_done
            .as_deref()
            .unwrap()
            .starts_with("Otto is invited. Send them this link"),
        "{:?}",
        c.people_done
    );
    assert!(!c.members.iter().any(|m| m.email == "otto@demo.kvits"));
    let link = c.invite_link.clone().unwrap();

    // Otto opens it on a new install; a password that is not his account's is refused.
    let mut otto = world.install_signed_out("otto-link").await;
    otto.accept_invitation(&link, "a brand new password of mine");
    otto.sign_in_error("the wrong password refused", |e| {
        e.starts_with("This e-mail already has a Kvits account")
    })
    .await;
    otto.accept_invitation(&link, "demo");
    let v = otto
        .wait_for("Otto signed in", |v| {
            v.user.is_some() && v.status.last_synced.is_some()
        })
        .await;
    assert_eq!(v.user.as_ref().unwrap().email, "otto@demo.kvits");
    // He keeps his company and gains the new one.
    let ViewModel {
        user: Some(user), ..
    } = &v
    else {
        panic!("{v:#?}")
    };
    let mut companies: Vec<&str> = user.companies.iter().map(|c| c.label.as_str()).collect();
    companies.sort_unstable();
    assert_eq!(companies, ["Birch Bakery", "Cedar Logistics"]);
    clara.send(Event::Sync(SyncEvent::Now));
    clara
        .wait_for("Otto a member of Birch", |v| {
            catalog(v).is_some_and(|c| {
                c.members
                    .iter()
                    .any(|m| m.email == "otto@demo.kvits" && m.roles == ["employee"])
                    && c.invitations.is_empty()
            })
        })
        .await;

    // An invitation to a mistyped address is cancelled: it leaves the list, its link dies.
    clara.send(Event::People(PeopleEvent::Invite(InviteInput {
        email: "dnaa@demo.kvits".into(),
        name: "Dana Baker".into(),
        roles: vec!["employee".into()],
    })));
    let v = clara
        .wait_for("the mistyped invitation", |v| {
            catalog(v).is_some_and(|c| c.invitations.len() == 1 && c.invite_link.is_some())
        })
        .await;
    let c = catalog(&v).unwrap();
    let id = c.invitations[0].id.clone();
    let link = c.invite_link.clone().unwrap();
    clara.send(Event::People(PeopleEvent::CancelInvitation { id }));
    clara
        .wait_for("the invitation cancelled", |v| {
            catalog(v).is_some_and(|c| {
                c.invitations.is_empty()
                    && c.people_done.as_deref()
                        == Some(
                            "The invitation of Dana Baker is cancelled: its link no longer works.",
                        )
            })
        })
        .await;
    let mut typo = world.install_signed_out("typo").await;
    typo.accept_invitation(&link, "Dana's rye loaves rise at dawn");
    typo.sign_in_error("the cancelled link refused", |e| {
        e == "Invitation not found."
    })
    .await;
}
