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

use crate::effects::{Effect, StoreErrorKind, StoreRequest};
use crate::sim::Fault;
use crux_core::App as _;
use kvits_protocol::{DecisionKind, ExpenseStatus, Mutation};

fn fill_and_submit(phone: &mut Phone, server: &mut FakeServer, amount: &str) {
    let t = server.tenant.clone();
    phone.send(Event::EditForm(FormField::ExpenseType(Some(
        t.fuel.to_string(),
    ))));
    phone.send(Event::EditForm(FormField::PaymentMethod(Some(
        t.emma_card.to_string(),
    ))));
    phone.send(Event::EditForm(FormField::Amount(amount.into())));
    phone.send(Event::Submit);
    phone.settle(server);
}

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
    phone.send(Event::SignIn {
        email: "emma@kvits.test".into(),
        password: "demo".into(),
    });
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
    other.send(Event::SignIn {
        email: "emma@kvits.test".into(),
        password: "nope".into(),
    });
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
fn a_lost_answer_after_the_server_applied_is_retried_and_applied_once() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.http_faults.push_back(Fault::LoseAnswer);
    phone.capture(&mut server, "lost");
    // The push's answer was lost: the engine backs off; the timer brings it back.
    assert!(phone.view().status.problem.is_some());
    assert_eq!(phone.view().status.pending, 1);
    phone.fire_timers(&mut server);
    assert_eq!(phone.view().status.pending, 0);
    assert_eq!(server.state.expenses().count(), 1);
    assert!(server.applied.values().all(|n| *n == 1));
}

#[test]
fn an_offline_approval_that_lost_the_race_becomes_a_notice() {
    let mut server = FakeServer::new();
    let mut emma = Phone::new(&mut server);
    emma.sign_in(&mut server, "emma");
    emma.capture(&mut server, "taxi");
    fill_and_submit(&mut emma, &mut server, "30");
    let id = server.state.expenses().next().unwrap().id;

    let mut mark = Phone::new(&mut server);
    mark.sign_in(&mut server, "mark");
    mark.send(Event::Navigate(Route::Approvals));
    let crate::view::ScreenView::Approvals(a) = mark.view().screen else {
        panic!()
    };
    assert_eq!(a.pending.len(), 1);
    assert_eq!(a.pending[0].submitter, "Emma Employee");
    mark.go_offline();
    mark.send(Event::Approve {
        expense_id: id.to_string(),
    });
    mark.settle(&mut server);
    // Alice rejects online first.
    let alice = server.tenant.user("alice");
    let revision = server.state.expense(id).unwrap().revision;
    server.now += chrono::Duration::minutes(1);
    server
        .apply_as(
            alice,
            &Mutation::DecideExpense {
                expense_id: id,
                seen_revision: revision,
                decision: DecisionKind::Reject,
                reason: Some("not a business trip".into()),
            },
        )
        .unwrap();
    mark.go_online(&mut server);
    let notices = mark.view().notices;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0]
            .text
            .starts_with("Your approval made offline at 11:")
            && notices[0]
                .text
                .contains("was not applied — Alice Approver rejected it at 11:01"),
        "{}",
        notices[0].text
    );
    assert_eq!(
        server.state.expense(id).unwrap().status,
        ExpenseStatus::Rejected
    );
    emma.send(Event::SyncNow);
    emma.settle(&mut server);
    let list = receipts(&emma);
    assert_eq!(
        list.receipts[0].status,
        ReceiptStatus::Rejected {
            reason: Some("not a business trip".into())
        }
    );
    use kvits_domain::State as _;
}

#[test]
fn reject_needs_a_reason() {
    let mut server = FakeServer::new();
    let mut emma = Phone::new(&mut server);
    emma.sign_in(&mut server, "emma");
    emma.capture(&mut server, "lunch");
    fill_and_submit(&mut emma, &mut server, "15");
    let id = server.state.expenses().next().unwrap().id;
    let mut mark = Phone::new(&mut server);
    mark.sign_in(&mut server, "mark");
    mark.send(Event::Navigate(Route::Approval {
        expense_id: id.to_string(),
    }));
    mark.send(Event::Reject {
        expense_id: id.to_string(),
        reason: "   ".into(),
    });
    mark.settle(&mut server);
    let ScreenView::Approval(a) = mark.view().screen else {
        panic!()
    };
    assert!(a.reject_error.is_some());
    assert_eq!(mark.view().status.pending, 0);
    mark.send(Event::Reject {
        expense_id: id.to_string(),
        reason: "wrong card".into(),
    });
    mark.settle(&mut server);
    use kvits_domain::State as _;
    assert_eq!(
        server.state.expense(id).unwrap().status,
        ExpenseStatus::Rejected
    );
}

#[test]
fn messages_are_read_replied_and_the_accountant_sees_read_times() {
    let mut server = FakeServer::new();
    let mut anna = Phone::new(&mut server);
    anna.sign_in(&mut server, "anna");
    anna.send(Event::Navigate(Route::Compose));
    let t = server.tenant.clone();
    anna.send(Event::EditCompose(crate::ComposeField::ToggleCompany(
        t.birch.to_string(),
    )));
    anna.send(Event::EditCompose(crate::ComposeField::ToggleCompany(
        t.cedar.to_string(),
    )));
    anna.send(Event::EditCompose(crate::ComposeField::Subject(
        "VAT".into(),
    )));
    anna.send(Event::EditCompose(crate::ComposeField::Body(
        "Send November receipts".into(),
    )));
    anna.send(Event::SendMessage);
    anna.settle(&mut server);
    assert_eq!(server.state.threads().count(), 2);

    let mut clara = Phone::new(&mut server);
    clara.sign_in(&mut server, "clara");
    let ScreenView::Inbox(inbox) = clara.view().screen else {
        panic!("{:?}", clara.view().screen)
    };
    assert_eq!(inbox.threads.len(), 1);
    assert_eq!(inbox.threads[0].unread, 1);
    let thread = inbox.threads[0].id.clone();
    clara.send(Event::Navigate(Route::Thread {
        thread_id: thread.clone(),
    }));
    clara.settle(&mut server);
    let ScreenView::Thread(_) = clara.view().screen else {
        panic!()
    };
    assert_eq!(clara.view().tabs.iter().map(|t| t.badge).sum::<u32>(), 0);
    clara.send(Event::Reply {
        body: "Done!".into(),
    });
    clara.settle(&mut server);

    anna.send(Event::SyncNow);
    anna.settle(&mut server);
    anna.send(Event::Navigate(Route::Thread { thread_id: thread }));
    anna.settle(&mut server);
    let ScreenView::Thread(view) = anna.view().screen else {
        panic!()
    };
    assert_eq!(view.messages.len(), 2);
    let first = &view.messages[0];
    assert_eq!(first.reads.len(), 1);
    assert_eq!(first.reads[0].name, "Clara Client");
    assert!(first.reads[0].read_at.is_some());
    assert_eq!(view.messages[1].body, "Done!");
}

/// A file the accountant sends with a message shows in the client's thread with its name, type
/// and size, fetched from the server like a receipt photo.
#[test]
fn a_message_s_attachment_shows_with_its_name_size_and_download() {
    let mut server = FakeServer::new();
    let t = server.tenant.clone();
    let sha = "ab".repeat(32);
    server.blobs.insert((t.birch, sha.clone()));
    let sent = server.apply_as(
        t.user("anna"),
        &kvits_protocol::Mutation::SendMessage {
            message_id: kvits_protocol::MessageId(uuid::Uuid::from_u128(0x7e57_a77a)),
            company_ids: vec![t.birch],
            subject: "Your till roll".into(),
            body: "The scan you asked for.".into(),
            attachment: Some(kvits_protocol::Attachment {
                sha256: sha.clone(),
                size: 48 * 1024 + 1,
                content_type: "image/jpeg".into(),
                file_name: "till-roll.jpg".into(),
            }),
        },
    );
    assert!(sent.is_ok(), "{sent:?}");

    let mut clara = Phone::new(&mut server);
    clara.sign_in(&mut server, "clara");
    let ScreenView::Inbox(inbox) = clara.view().screen else {
        panic!("{:?}", clara.view().screen)
    };
    clara.send(Event::Navigate(Route::Thread {
        thread_id: inbox.threads[0].id.clone(),
    }));
    clara.settle(&mut server);
    let ScreenView::Thread(view) = clara.view().screen else {
        panic!("{:?}", clara.view().screen)
    };
    assert_eq!(
        view.messages[0].attachment,
        Some(crate::view::AttachmentView {
            file_name: "till-roll.jpg".into(),
            content_type: "image/jpeg".into(),
            size: "49 KB".into(),
            file: crate::view::ImageRef {
                file_ref: None,
                url: Some(format!("/v1/blobs/{sha}")),
            },
        })
    );
}

#[test]
fn a_full_disk_saves_nothing_and_says_so() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.store_fault = Some(StoreErrorKind::Full);
    phone.capture(&mut server, "big");
    assert!(phone.view().alert.unwrap().contains("storage is full"));
    assert_eq!(phone.view().status.pending, 0);
    assert!(receipts(&phone).receipts.is_empty());
    assert!(
        phone
            .stored()
            .keys()
            .all(|(c, _)| *c != crate::effects::Collection::Outbox)
    );
    phone.capture(&mut server, "big");
    assert!(matches!(phone.view().screen, ScreenView::Receipt(_)));
    assert_eq!(phone.model.predicted.expenses().count(), 1);
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
    phone.send(Event::EditForm(FormField::Amount("12.3.4x".into())));
    phone.send(Event::Submit);
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
            ("Visa ·4821", Some("Your cards")),
            ("Fuel card ·0042", Some("Company cards")),
            ("Own money / cash", None)
        ],
        "Mark's own card is not offered to Emma"
    );
    // Retired types are not offered.
    assert!(form.expense_types.iter().all(|t| t.label != "Retired type"));
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
    assert_eq!(s.email, "emma@kvits.test");
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
fn an_outdated_app_keeps_its_queue_and_asks_for_an_update() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    server.protocol = 2;
    phone.capture(&mut server, "waiting");
    let status = phone.view().status;
    assert!(status.needs_update);
    assert_eq!(status.pending, 1);
    assert_eq!(
        phone.model.sync.step,
        crate::model::Step::Idle,
        "no retries against a server that cannot accept them"
    );
}

#[test]
fn a_busy_server_is_retried_with_backoff() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone
        .http_faults
        .extend([Fault::Unavailable, Fault::Unavailable]);
    phone.capture(&mut server, "busy");
    assert_eq!(phone.model.sync.attempt, 1);
    phone.fire_timers(&mut server);
    phone.fire_timers(&mut server);
    assert_eq!(phone.view().status.pending, 0);
    assert_eq!(phone.model.sync.attempt, 0);
    assert_eq!(phone.view().status.problem, None);
}

#[test]
fn sign_out_waits_for_unsent_work_then_forgets_the_user() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.go_offline();
    phone.capture(&mut server, "unsent");
    phone.send(Event::SignOut);
    phone.settle(&mut server);
    assert!(phone.view().alert.unwrap().contains("not sent yet"));
    phone.go_online(&mut server);
    let before = phone.client_id();
    phone.send(Event::SignOut);
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

fn receipts_or_tasks_empty(p: &Phone) -> bool {
    match p.view().screen {
        ScreenView::Receipts(r) => r.receipts.is_empty(),
        _ => true,
    }
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
        Event::Approve {
            expense_id: "x".into(),
        },
        Event::SelectCompany {
            company_id: uuid::Uuid::nil().to_string(),
        },
        Event::EditForm(FormField::Amount("1".into())),
        Event::SaveDraft,
        Event::DeleteReceipt,
        Event::Reply { body: "hi".into() },
        Event::PhotoCaptured {
            file_ref: "".into(),
        },
        Event::DismissNotice { id: "none".into() },
        Event::RemovePage {
            sha256: "zz".into(),
        },
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
    phone.send(Event::SyncNow);
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
    phone.send(Event::EditForm(FormField::Merchant("Neste".into())));
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
    phone.send(Event::EditForm(FormField::ExpenseType(Some(meals))));
    phone.send(Event::Submit);
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
fn a_reset_replaces_the_mirror_and_keeps_the_queue() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    // A row the server no longer has (its history was compacted past our cursor).
    let ghost = kvits_protocol::Entity::ExpenseType(kvits_protocol::ExpenseType {
        id: kvits_protocol::ExpenseTypeId(uuid::Uuid::from_u128(99)),
        company_id: server.tenant.birch,
        code: "GHOST".into(),
        name: "Ghost".into(),
        active: true,
    });
    let mut store = phone.stored();
    store.insert(
        (
            crate::effects::Collection::Mirror,
            format!("expense_type/{}", ghost.id()),
        ),
        serde_json::to_string(&ghost).unwrap(),
    );
    let mut phone = Phone::restart(&mut server, store, false);
    phone.capture(&mut server, "during-reset");
    use kvits_domain::State as _;
    assert!(
        phone
            .model
            .predicted
            .expense_type(kvits_protocol::ExpenseTypeId(uuid::Uuid::from_u128(99)))
            .is_some()
    );
    server.reset_next_pull = true;
    phone.go_online(&mut server);
    assert!(
        phone
            .model
            .predicted
            .expense_type(kvits_protocol::ExpenseTypeId(uuid::Uuid::from_u128(99)))
            .is_none()
    );
    assert!(
        phone
            .model
            .predicted
            .expense_type(server.tenant.fuel)
            .is_some()
    );
    assert_eq!(
        server.state.expenses().count(),
        1,
        "the queue survived the reset"
    );
    assert_eq!(phone.view().status.pending, 0);
}

#[test]
fn a_photo_taken_just_before_a_crash_becomes_a_receipt_after_the_restart() {
    let mut server = FakeServer::new();
    let mut phone = Phone::new(&mut server);
    phone.sign_in(&mut server, "emma");
    phone.go_offline();
    phone.send(Event::PhotoCaptured {
        file_ref: "last-photo".into(),
    });
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
    phone.send(Event::PhotoCaptured {
        file_ref: "second".into(),
    });
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
    assert_eq!(catalog.expense_types.len(), 3);
    assert_eq!(
        catalog.approval_rules[0].summary,
        "Every receipt — Mark Manager or Alice Approver"
    );
    assert!(
        anna.view()
            .tabs
            .iter()
            .any(|t| t.selected && t.label == "Company settings")
    );

    anna.go_offline();
    anna.send(Event::SaveExpenseType(ExpenseTypeInput {
        id: None,
        code: "taxi".into(),
        name: "Taxi".into(),
        active: true,
    }));
    anna.settle(&mut server);
    assert_eq!(anna.view().alert.as_deref(), Some("Saved."));
    // A duplicate code is refused at once, with the rule's words.
    anna.send(Event::SaveExpenseType(ExpenseTypeInput {
        id: None,
        code: "Taxi".into(),
        name: "Cabs".into(),
        active: true,
    }));
    anna.settle(&mut server);
    assert_eq!(
        anna.view().alert.as_deref(),
        Some("Another expense type already has code TAXI.")
    );
    // A card needs its last four digits.
    anna.send(Event::SavePaymentMethod(PaymentMethodInput {
        id: None,
        own_money: false,
        label: "Amex".into(),
        last_four: Some("12".into()),
        holder_id: None,
        active: true,
    }));
    anna.settle(&mut server);
    assert!(anna.view().alert.unwrap().contains("last four digits"));
    // Fuel from 100 EUR: Alice first, then Mark; tried before the rule for every receipt.
    let t = server.tenant.clone();
    anna.send(Event::SaveApprovalRule(ApprovalRuleInput {
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
    }));
    anna.settle(&mut server);
    assert_eq!(anna.view().alert.as_deref(), Some("Saved."));
    let ScreenView::Catalog(catalog) = anna.view().screen else {
        panic!()
    };
    assert_eq!(catalog.expense_types.len(), 4);
    assert_eq!(
        catalog.approval_rules[0].summary,
        "Fuel from 100.00 — Alice Approver, then Mark Manager"
    );
    assert_eq!(anna.view().status.pending, 2);
    assert_eq!(
        server.state.expense_types(t.birch).len(),
        3,
        "nothing sent while offline"
    );

    anna.go_online(&mut server);
    assert_eq!(server.state.expense_types(t.birch).len(), 4);
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
