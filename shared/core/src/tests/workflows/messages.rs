//! Messages: reading, replying, read receipts and attachments.

use crate::event::{MessageEvent, SyncEvent};
use crate::sim::{FakeServer, Phone};
use crate::view::ScreenView;
use crate::{Event, Route};

#[test]
fn messages_are_read_replied_and_the_accountant_sees_read_times() {
    let mut server = FakeServer::new();
    let mut anna = Phone::new(&mut server);
    anna.sign_in(&mut server, "anna");
    anna.send(Event::Navigate(Route::Compose));
    let t = server.tenant.clone();
    anna.send(Event::Messages(MessageEvent::EditCompose(
        crate::ComposeField::ToggleCompany(t.birch.to_string()),
    )));
    anna.send(Event::Messages(MessageEvent::EditCompose(
        crate::ComposeField::ToggleCompany(t.cedar.to_string()),
    )));
    anna.send(Event::Messages(MessageEvent::EditCompose(
        crate::ComposeField::Subject("VAT".into()),
    )));
    anna.send(Event::Messages(MessageEvent::EditCompose(
        crate::ComposeField::Body("Send November receipts".into()),
    )));
    anna.send(Event::Messages(MessageEvent::Send));
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
    clara.send(Event::Messages(MessageEvent::Reply {
        body: "Done!".into(),
    }));
    clara.settle(&mut server);

    anna.send(Event::Sync(SyncEvent::Now));
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
