//! Starting, signing in and out, sessions that end, and input a shell should not send.

use crux_core::App as _;

use super::{fill_and_submit, receipts_or_tasks_empty};
use crate::effects::{Effect, StoreRequest};
use crate::event::{ApprovalEvent, MessageEvent, ReceiptEvent, SessionEvent, SyncEvent};
use crate::sim::{FakeServer, Phone};
use crate::view::ScreenView;
use crate::{Event, FormField, Route};

#[test]
fn start_asks_for_the_local_store_and_the_clock_and_nothing_else() {
    let app = crate::Kvits;
    let mut model = crate::Model::default();
    let mut cmd = app.update(
        Event::Start {
            server_url: "https://kvits.example/".into(),
            entropy: vec![1; 32],
            device_name: "Pixel".into(),
            utc_offset_minutes: 60,
        },
        &mut model,
    );
    let mut effects: Vec<Effect> = cmd.effects().collect();
    assert_eq!(effects.len(), 2, "{effects:?}");
    assert!(matches!(&effects[1], Effect::Render(_)));
    let Effect::Time(mut clock) = effects.remove(0) else {
        panic!("the clock first: {effects:?}");
    };
    assert_eq!(clock.operation, crux_time::TimeRequest::Now);
    clock
        .resolve(crux_time::TimeResponse::Now {
            instant: crux_time::Instant::new(1_800_000_000, 0),
        })
        .unwrap();
    let effects: Vec<Effect> = cmd.effects().collect();
    assert_eq!(effects.len(), 1, "{effects:?}");
    assert!(matches!(&effects[0], Effect::Store(r) if r.operation == StoreRequest::Load));
    let events: Vec<Event> = cmd.events().collect();
    assert_eq!(events.len(), 1, "the clock reading comes back as an event");
    assert_eq!(model.config.server_url, "https://kvits.example");
    assert!(matches!(app.view(&model).screen, ScreenView::Loading));
}

#[test]
fn sign_in_sends_the_install_id_and_explains_failures() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.send(Event::Session(SessionEvent::SignIn {
        email: kvits_demo::EMMA.email.into(),
        password: kvits_demo::PASSWORD.into(),
    }));
    let http = phone
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::Http(r) => Some(r.operation.clone()),
            _ => None,
        })
        .expect("a login request");
    assert_eq!(http.method, "POST");
    assert_eq!(http.url, "http://kvits.test/v1/auth/login");
    assert!(
        http.headers
            .iter()
            .any(|h| h.name == "kvits-protocol" && h.value == "1")
    );
    assert!(!http.headers.iter().any(|h| h.name == "authorization"));
    let body: serde_json::Value = serde_json::from_slice(&http.body).unwrap();
    assert_eq!(body["client_id"], phone.client_id().to_string());
    assert_eq!(body["device_name"], "Test phone");
    phone.settle(&mut server);
    assert_eq!(phone.view().user.unwrap().name, "Emma Employee");

    let mut other = Phone::new(&mut server);
    other.send(Event::Session(SessionEvent::SignIn {
        email: kvits_demo::EMMA.email.into(),
        password: "nope".into(),
    }));
    other.settle(&mut server);
    let ScreenView::SignIn(s) = other.view().screen else {
        panic!()
    };
    assert_eq!(s.error.as_deref(), Some("Wrong e-mail or password."));

    other.go_offline();
    other.sign_in(&mut server, "emma");
    let ScreenView::SignIn(s) = other.view().screen else {
        panic!()
    };
    assert!(s.error.unwrap().starts_with("No connection"));
}

#[test]
fn a_remembered_session_survives_a_restart_and_nothing_is_sent_twice() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.go_offline();
    for i in 0..3 {
        phone.capture(&mut server, &format!("r{i}"));
        fill_and_submit(&mut phone, &mut server, "9.99");
    }
    phone.capture(&mut server, "two-pages");
    phone.capture(&mut server, "two-pages-b");
    assert_eq!(phone.view().status.pending, 4);
    assert_eq!(phone.model.local.unsent_count(), 4 * 3 + 3);
    // The app is killed: only the store survives.
    let store = phone.stored();
    drop(phone);
    let mut phone = Phone::restart(&mut server, store, false);
    assert!(matches!(phone.view().screen, ScreenView::Receipts(_)));
    assert_eq!(phone.model.local.unsent_count(), 15);
    phone.go_online(&mut server);
    assert_eq!(phone.view().status.pending, 0);
    assert_eq!(server.state.expenses().count(), 4);
    let two = server.state.expenses().find(|e| e.pages.len() == 2);
    assert!(
        two.is_some(),
        "the second photo became a page of the open receipt"
    );
    assert!(server.applied.values().all(|n| *n == 1));
    assert_eq!(server.last_seq(phone.client_id()), 15);
}

#[test]
fn an_expired_session_keeps_the_queue_until_the_user_signs_in_again() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    server.revoke_all();
    phone.capture(&mut server, "kept");
    assert!(phone.view().status.needs_sign_in);
    // The form the user is on stays; the status bar asks them to sign in.
    assert!(matches!(phone.view().screen, ScreenView::Receipt(_)));
    assert_eq!(phone.view().status.pending, 1);
    phone.send(Event::Navigate(Route::SignIn));
    let ScreenView::SignIn(s) = phone.view().screen else {
        panic!()
    };
    assert_eq!(s.email, kvits_demo::EMMA.email);
    assert!(phone.view().tabs.is_empty());
    phone.sign_in(&mut server, "emma");
    assert_eq!(phone.view().status.pending, 0);
    assert_eq!(server.state.expenses().count(), 1);

    // Another person cannot sign in over unsent work.
    server.revoke_all();
    phone.capture(&mut server, "kept-2");
    phone.send(Event::Navigate(Route::SignIn));
    phone.sign_in(&mut server, "mark");
    let ScreenView::SignIn(s) = phone.view().screen else {
        panic!()
    };
    assert!(s.error.unwrap().contains("not sent yet"));
    assert_eq!(phone.view().status.pending, 1);
}

#[test]
fn sign_out_waits_for_unsent_work_then_forgets_the_user() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.go_offline();
    phone.capture(&mut server, "unsent");
    phone.send(Event::Session(SessionEvent::SignOut));
    phone.settle(&mut server);
    assert!(phone.view().alert.unwrap().contains("not sent yet"));
    phone.go_online(&mut server);
    let before = phone.client_id();
    phone.send(Event::Session(SessionEvent::SignOut));
    phone.settle(&mut server);
    assert!(matches!(phone.view().screen, ScreenView::SignIn(_)));
    assert!(phone.view().user.is_none());
    assert_ne!(
        phone.client_id(),
        before,
        "the next user gets a new install id"
    );
    phone.sign_in(&mut server, "mark");
    assert!(receipts_or_tasks_empty(&phone));
}

#[test]
fn bad_input_from_the_shell_changes_nothing_and_never_panics() {
    let mut server = FakeServer::new();
    // Before Start.
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    for e in [
        Event::Navigate(Route::Receipt {
            expense_id: "nope".into(),
        }),
        Event::Navigate(Route::Approval {
            expense_id: uuid::Uuid::nil().to_string(),
        }),
        Event::Navigate(Route::Thread {
            thread_id: "".into(),
        }),
        Event::Approvals(ApprovalEvent::Approve {
            expense_id: "x".into(),
        }),
        Event::Session(SessionEvent::SelectCompany {
            company_id: uuid::Uuid::nil().to_string(),
        }),
        Event::Receipts(ReceiptEvent::EditForm(FormField::Amount("1".into()))),
        Event::Receipts(ReceiptEvent::SaveDraft),
        Event::Receipts(ReceiptEvent::Delete),
        Event::Messages(MessageEvent::Reply { body: "hi".into() }),
        Event::Receipts(ReceiptEvent::PhotoCaptured {
            file_ref: "".into(),
        }),
        Event::Sync(SyncEvent::DismissNotice { id: "none".into() }),
        Event::Receipts(ReceiptEvent::RemovePage {
            sha256: "zz".into(),
        }),
    ] {
        phone.send(e);
        phone.settle(&mut server);
    }
    assert_eq!(phone.view().status.pending, 0);
    assert_eq!(phone.model.local.outbox.len(), 0);

    // Answers of the wrong kind, unknown ids and answers twice are recorded, not obeyed.
    use crate::event::Internal;
    let failures_before = phone.model.failures.len();
    phone.send(Event::Internal(Internal::Committed {
        txn: 999,
        response: crate::effects::StoreResponse::Committed,
    }));
    phone.send(Event::Internal(Internal::Loaded(
        crate::effects::StoreResponse::Committed,
    )));
    phone.send(Event::Internal(Internal::Photo {
        op: 12345,
        response: crate::effects::ProcessPhotoResponse::Processed(crate::sim::processed("ghost")),
    }));
    phone.send(Event::Internal(Internal::Http {
        op: 1_000_000,
        result: crux_http::protocol::HttpResult::Ok(
            crux_http::protocol::HttpResponse::ok().build(),
        ),
    }));
    phone.settle(&mut server);
    assert!(phone.model.failures.len() >= failures_before + 4);
    assert_eq!(phone.model.local.outbox.len(), 0);

    // A request resolved twice: the second resolution is refused by Crux.
    phone.send(Event::Sync(SyncEvent::Now));
    let mut http = None;
    while let Some(e) = phone.effects.pop_front() {
        if let Effect::Http(r) = e {
            http = Some(r);
        }
    }
    let mut req = http.expect("a pull");
    let garbage = crux_http::protocol::HttpResponse::ok()
        .body(b"{not json".to_vec())
        .build();
    req.resolve(crux_http::protocol::HttpResult::Ok(garbage.clone()))
        .unwrap();
    assert!(
        req.resolve(crux_http::protocol::HttpResult::Ok(garbage))
            .is_err()
    );
    phone.drain();
    assert!(
        phone.view().status.problem.is_some(),
        "an unreadable answer is a sync problem"
    );
}

/// Diagnostics name an event by its variant (`Internal(_)` too), never by what it carries.
#[test]
fn an_event_before_start_is_noted_by_its_name_only() {
    let mut model = crate::Model::default();
    let _ = model.update(Event::Session(SessionEvent::SignIn {
        email: "emma@example.com".into(),
        password: "secret".into(),
    }));
    assert_eq!(
        model.failures.back().map(String::as_str),
        Some("Session::SignIn ignored: the app is not started")
    );
    assert_eq!(Event::Sync(SyncEvent::Now).name(), "Sync::Now");
    assert_eq!(
        Event::Receipts(ReceiptEvent::EditForm(FormField::Note(String::new()))).name(),
        "Receipts::EditForm"
    );
    assert_eq!(Event::Back.name(), "Back");
    let timer = crate::event::Internal::Timer {
        response: crux_time::TimeResponse::Cleared {
            id: crux_time::TimerId(1),
        },
    };
    assert_eq!(Event::Internal(timer).name(), "Internal");
}
