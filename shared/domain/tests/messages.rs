//! Messages: sending to many companies, replies, read markers.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kvits_domain::{BlobKind, DomainError, State, Write, can_see, message_recipients};
use kvits_protocol::{
    Entity, ErrorCode, MessageId, Mutation, RejectCode, ThreadId, message_read_id,
};

fn mark_read(thread_id: ThreadId, up_to: MessageId) -> Mutation {
    Mutation::MarkRead { thread_id, up_to }
}

#[test]
fn an_accountant_writes_to_two_companies_at_once() {
    let mut w = World::new();
    let anna = w.anna.clone();
    let m = MessageId(w.fresh());
    let writes = w.ok(
        &anna,
        at(1),
        &send(m, &[w.birch, w.cedar], "Please send your receipts"),
    );
    assert_eq!(writes.len(), 4);
    for company in [w.birch, w.cedar] {
        let t = w.state.thread(ThreadId::for_recipient(m, company)).unwrap();
        assert_eq!(t.company_id, company);
        assert_eq!(t.subject, "March VAT return");
        assert_eq!(t.created_by, anna.user_id);
        assert_eq!(t.broadcast_id, Some(m));
        assert_eq!((t.created_at, t.last_message_at), (at(1), at(1)));
        let msgs = w.state.thread_messages(t.id);
        assert_eq!(msgs.len(), 1);
        let msg = &msgs[0];
        assert_eq!(msg.id, MessageId::for_recipient(m, company));
        assert_eq!(msg.thread_id, t.id);
        assert_eq!(msg.company_id, company);
        assert_eq!(msg.author_id, anna.user_id);
        assert_eq!(msg.author_name, "Anna Accountant");
        assert_eq!(msg.body, "Please send your receipts");
        assert_eq!(msg.created_at, at(1));
        assert!(writes.contains(&Write::Put(Entity::Thread(t.clone()))));
        assert!(writes.contains(&Write::Put(Entity::Message(msg.clone()))));
    }
    // The two copies are different rows.
    assert_ne!(
        MessageId::for_recipient(m, w.birch),
        MessageId::for_recipient(m, w.cedar)
    );

    // Sent again (a retry): nothing new.
    let before = w.state.clone();
    assert_already(w.run(
        &anna,
        at(2),
        &send(m, &[w.birch, w.cedar], "Please send your receipts"),
    ));
    assert_eq!(w.state, before);
    // Like creates, idempotence looks at ids and author, not content: the same id again for
    // a subset of the companies is "already applied" too (current behaviour).
    assert_already(w.run(&anna, at(2), &send(m, &[w.birch], "other words")));
    // Another accountant of the firm reusing the id: taken.
    let mut ben = anna.clone();
    ben.user_id = kvits_protocol::UserId(id(0x0003, 99));
    ben.name = "Ben Bookkeeper".into();
    assert_rejected(
        w.run(&ben, at(2), &send(m, &[w.birch, w.cedar], "again")),
        RejectCode::IdTaken,
    );
    assert_eq!(w.state, before);
}

#[test]
fn a_message_to_one_company_is_not_a_broadcast() {
    let mut w = World::new();
    let anna = w.anna.clone();
    let m = MessageId(w.fresh());
    w.ok(&anna, at(1), &send(m, &[w.cedar], "Hello Cedar"));
    let t = w.state.thread(ThreadId::for_recipient(m, w.cedar)).unwrap();
    assert_eq!(t.broadcast_id, None);
    assert!(
        w.state
            .message(MessageId::for_recipient(m, w.cedar))
            .is_some()
    );
    assert!(
        w.state
            .thread(ThreadId::for_recipient(m, w.birch))
            .is_none()
    );
}

#[test]
fn only_accountants_of_every_recipient_company_send() {
    let mut w = World::new();
    let m = MessageId(w.fresh());
    for actor in [
        w.clara.clone(),
        w.adam.clone(),
        w.emma.clone(),
        w.mark.clone(),
    ] {
        assert_rejected(
            w.run(&actor, at(1), &send(m, &[w.birch], "hi")),
            RejectCode::Forbidden,
        );
    }
    // Clara is not a member of Cedar: it is not found for her.
    let clara = w.clara.clone();
    assert_rejected(
        w.run(&clara, at(1), &send(m, &[w.cedar], "hi")),
        RejectCode::NotFound,
    );
    // Anna is not in the other firm's company; listing it fails the whole message.
    let anna = w.anna.clone();
    assert_rejected(
        w.run(&anna, at(1), &send(m, &[w.birch, w.fir], "hi")),
        RejectCode::NotFound,
    );
    assert!(
        w.state
            .thread(ThreadId::for_recipient(m, w.birch))
            .is_none()
    );
}

#[test]
fn send_validates_its_input() {
    let mut w = World::new();
    let anna = w.anna.clone();
    let m = MessageId(w.fresh());
    let base = |companies: Vec<_>, subject: &str, body: &str| Mutation::SendMessage {
        message_id: m,
        company_ids: companies,
        subject: subject.into(),
        body: body.into(),
        attachment: None,
    };
    let (b, c) = (w.birch, w.cedar);
    for bad in [
        base(vec![], "s", "b"),
        base(vec![b, c, b], "s", "b"),
        base(vec![b], " ", "b"),
        base(vec![b], "s", ""),
        base(vec![b], &"s".repeat(201), "b"),
        base(vec![b], "s", &"b".repeat(10_001)),
        base(vec![b], "s\u{0}", "b"),
    ] {
        assert_rejected(w.run(&anna, at(1), &bad), RejectCode::Invalid);
    }
    let mut bad_attachment = attachment(1);
    bad_attachment.file_name = String::new();
    let m2 = Mutation::SendMessage {
        message_id: m,
        company_ids: vec![b],
        subject: "s".into(),
        body: "b".into(),
        attachment: Some(bad_attachment),
    };
    assert_rejected(w.run(&anna, at(1), &m2), RejectCode::Invalid);
}

#[test]
fn an_attachment_must_be_uploaded_for_every_recipient_company() {
    let mut w = World::new();
    let anna = w.anna.clone();
    let m = MessageId(w.fresh());
    let a = attachment(1);
    let msg = Mutation::SendMessage {
        message_id: m,
        company_ids: vec![w.birch, w.cedar],
        subject: "Your statement".into(),
        body: "Attached.".into(),
        attachment: Some(a.clone()),
    };
    w.state
        .add_blob_of_kind(w.birch, a.sha256.clone(), BlobKind::Pdf);
    match w.run(&anna, at(1), &msg) {
        Err(DomainError::NotYet {
            code,
            missing_blobs,
            ..
        }) => {
            assert_eq!(code, ErrorCode::BlobMissing);
            assert_eq!(missing_blobs, vec![a.sha256.clone()]);
        }
        other => panic!("expected not yet, got {other:?}"),
    }
    assert!(
        w.state
            .thread(ThreadId::for_recipient(m, w.birch))
            .is_none()
    );
    w.state
        .add_blob_of_kind(w.cedar, a.sha256.clone(), BlobKind::Pdf);
    w.ok(&anna, at(2), &msg);
    let copy = w
        .state
        .message(MessageId::for_recipient(m, w.cedar))
        .unwrap();
    assert_eq!(copy.attachment, Some(a.clone()));

    // A reply's attachment too.
    let clara = w.clara.clone();
    let t = ThreadId::for_recipient(m, w.birch);
    let r = MessageId(w.fresh());
    let b = attachment(2);
    let answer = Mutation::ReplyMessage {
        message_id: r,
        thread_id: t,
        body: "Here is the signed one".into(),
        attachment: Some(b.clone()),
    };
    assert!(matches!(
        w.run(&clara, at(3), &answer),
        Err(DomainError::NotYet { .. })
    ));
    w.state
        .add_blob_of_kind(w.birch, b.sha256.clone(), BlobKind::Pdf);
    w.ok(&clara, at(4), &answer);
}

/// An attachment is a PDF or a photo, and what was uploaded under its hash must be that: a
/// declared type Kvits does not store is refused at once, and so is a PDF named as a photo.
#[test]
fn an_attachment_is_a_pdf_or_a_photo_as_uploaded() {
    let mut w = World::new();
    let anna = w.anna.clone();
    let send_with = |w: &mut World, a: kvits_protocol::Attachment| Mutation::SendMessage {
        message_id: MessageId(w.fresh()),
        company_ids: vec![w.birch],
        subject: "Your statement".into(),
        body: "Attached.".into(),
        attachment: Some(a),
    };
    let pdf = attachment(7);
    w.state
        .add_blob_of_kind(w.birch, pdf.sha256.clone(), BlobKind::Pdf);
    let before = w.state.clone();

    let mut zip = pdf.clone();
    zip.content_type = "application/zip".into();
    let m = send_with(&mut w, zip);
    match w.run(&anna, at(1), &m) {
        Err(DomainError::Rejected { code, message }) => {
            assert_eq!(code, RejectCode::Invalid);
            assert!(message.contains("application/zip"), "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }

    let mut as_photo = pdf.clone();
    as_photo.content_type = "image/jpeg".into();
    let m = send_with(&mut w, as_photo);
    assert!(matches!(
        w.run(&anna, at(2), &m),
        Err(DomainError::Rejected {
            code: RejectCode::Invalid,
            ..
        })
    ));
    assert_eq!(w.state, before, "a refused message writes nothing");

    let m = send_with(&mut w, pdf);
    w.ok(&anna, at(3), &m);
}

/// Anna writes to Birch and Cedar; answers (message, Birch's thread).
fn broadcast(w: &mut World) -> (MessageId, ThreadId) {
    let anna = w.anna.clone();
    let m = MessageId(w.fresh());
    w.ok(
        &anna,
        at(1),
        &send(m, &[w.birch, w.cedar], "Please send your receipts"),
    );
    (m, ThreadId::for_recipient(m, w.birch))
}

#[test]
fn the_client_replies_and_the_thread_moves_on() {
    let mut w = World::new();
    let (_, t) = broadcast(&mut w);
    let clara = w.clara.clone();
    let r = MessageId(w.fresh());
    let writes = w.ok(&clara, at(5), &reply(r, t, "Sent them yesterday"));
    assert_eq!(writes.len(), 2);
    let msg = w.state.message(r).unwrap();
    assert_eq!(msg.thread_id, t);
    assert_eq!(msg.company_id, w.birch);
    assert_eq!(msg.author_id, clara.user_id);
    assert_eq!(msg.author_name, "Clara Client");
    assert_eq!(msg.created_at, at(5));
    assert_eq!(w.state.thread(t).unwrap().last_message_at, at(5));
    let ids: Vec<_> = w.state.thread_messages(t).iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[1], r);

    // Retried: already there. The same id by someone else or in another thread: taken.
    assert_already(w.run(&clara, at(6), &reply(r, t, "Sent them yesterday")));
    let adam = w.adam.clone();
    assert_rejected(
        w.run(&adam, at(6), &reply(r, t, "me too")),
        RejectCode::IdTaken,
    );
    let anna = w.anna.clone();
    let other = broadcast(&mut w).1;
    assert_rejected(
        w.run(&clara, at(6), &reply(r, other, "x")),
        RejectCode::IdTaken,
    );
    // The admin and the accountant write too.
    let r2 = MessageId(w.fresh());
    w.ok(&adam, at(7), &reply(r2, t, "I will check"));
    let r3 = MessageId(w.fresh());
    w.ok(&anna, at(8), &reply(r3, t, "Thanks!"));
    assert_eq!(w.state.thread_messages(t).len(), 4);
}

#[test]
fn employees_and_approvers_neither_see_nor_answer_threads() {
    let mut w = World::new();
    let (m, t) = broadcast(&mut w);
    let thread = Entity::Thread(w.state.thread(t).unwrap());
    let message = Entity::Message(
        w.state
            .message(MessageId::for_recipient(m, w.birch))
            .unwrap(),
    );
    for actor in [w.emma.clone(), w.mark.clone(), w.alice.clone()] {
        assert!(!can_see(&actor, &thread));
        assert!(!can_see(&actor, &message));
        let r = MessageId(w.fresh());
        assert_rejected(
            w.run(&actor, at(5), &reply(r, t, "hello?")),
            RejectCode::NotFound,
        );
        assert_rejected(
            w.run(
                &actor,
                at(5),
                &mark_read(t, MessageId::for_recipient(m, w.birch)),
            ),
            RejectCode::NotFound,
        );
    }
    // Cedar's people do not see Birch's thread.
    for actor in [w.otto.clone(), w.cora.clone(), w.fred.clone()] {
        assert!(!can_see(&actor, &thread));
        let r = MessageId(w.fresh());
        assert_rejected(
            w.run(&actor, at(5), &reply(r, t, "hello?")),
            RejectCode::NotFound,
        );
    }
    // An unknown thread.
    let clara = w.clara.clone();
    let r = MessageId(w.fresh());
    assert_rejected(
        w.run(&clara, at(5), &reply(r, ThreadId(id(0x0999, 1)), "?")),
        RejectCode::NotFound,
    );
    // Empty replies are refused.
    assert_rejected(
        w.run(&clara, at(5), &reply(r, t, "  ")),
        RejectCode::Invalid,
    );
}

#[test]
fn recipients_are_the_clients_and_admins() {
    let w = World::new();
    let birch = w.state.company(w.birch).unwrap();
    assert_eq!(
        message_recipients(&birch),
        vec![w.adam.user_id, w.clara.user_id]
    );
    let cedar = w.state.company(w.cedar).unwrap();
    assert_eq!(message_recipients(&cedar), vec![w.cora.user_id]);
}

#[test]
fn mark_read_records_when_each_message_was_first_read() {
    let mut w = World::new();
    let (m, t) = broadcast(&mut w);
    let first = MessageId::for_recipient(m, w.birch);
    let (anna, clara, adam) = (w.anna.clone(), w.clara.clone(), w.adam.clone());
    // Clara answers, anna writes twice more.
    let c1 = MessageId(w.fresh());
    w.ok(&clara, at(2), &reply(c1, t, "Which ones?"));
    let a2 = MessageId(w.fresh());
    w.ok(&anna, at(3), &reply(a2, t, "The fuel receipts of March"));
    let a3 = MessageId(w.fresh());
    w.ok(&anna, at(4), &reply(a3, t, "And the Lidl invoice"));

    // Clara reads up to a2: rows for `first` and a2, not for her own c1, not for a3.
    let writes = w.ok(&clara, at(10), &mark_read(t, a2));
    assert_eq!(writes.len(), 2);
    for msg in [first, a2] {
        let r = w.state.message_read(msg, clara.user_id).unwrap();
        assert_eq!(r.read_at, at(10));
        assert_eq!(r.thread_id, t);
        assert_eq!(r.company_id, w.birch);
        assert_eq!(r.id(), message_read_id(msg, clara.user_id));
        assert!(writes.contains(&Write::Put(Entity::MessageRead(r))));
    }
    assert!(w.state.message_read(c1, clara.user_id).is_none());
    assert!(w.state.message_read(a3, clara.user_id).is_none());

    // Again, or an earlier message: nothing moves.
    let before = w.state.clone();
    assert_already(w.run(&clara, at(20), &mark_read(t, a2)));
    assert_already(w.run(&clara, at(20), &mark_read(t, first)));
    assert_already(w.run(&clara, at(20), &mark_read(t, c1)));
    assert_eq!(w.state, before);

    // Further: only a3 is new; the earlier read times stay.
    let writes = w.ok(&clara, at(30), &mark_read(t, a3));
    assert_eq!(writes.len(), 1);
    assert_eq!(
        w.state.message_read(a3, clara.user_id).unwrap().read_at,
        at(30)
    );
    assert_eq!(
        w.state.message_read(first, clara.user_id).unwrap().read_at,
        at(10)
    );

    // Adam reads everything at once; his own reads are his.
    w.ok(&adam, at(40), &mark_read(t, a3));
    for msg in [first, c1, a2, a3] {
        assert_eq!(
            w.state.message_read(msg, adam.user_id).unwrap().read_at,
            at(40)
        );
    }
    // The accountant reading the thread records clara's reply only.
    let writes = w.ok(&anna, at(50), &mark_read(t, a3));
    assert_eq!(writes.len(), 1);
    assert!(w.state.message_read(c1, anna.user_id).is_some());
    // Anna sees who read what, and when.
    assert_eq!(
        w.state
            .message_reads(first)
            .iter()
            .map(|r| (r.user_id, r.read_at))
            .collect::<Vec<_>>(),
        {
            let mut v = vec![(clara.user_id, at(10)), (adam.user_id, at(40))];
            v.sort();
            v
        }
    );
}

#[test]
fn mark_read_of_an_own_message_only_or_an_unknown_one() {
    let mut w = World::new();
    let (m, t) = broadcast(&mut w);
    let anna = w.anna.clone();
    // Anna's only message is her own: nothing to record.
    assert_already(w.run(
        &anna,
        at(5),
        &mark_read(t, MessageId::for_recipient(m, w.birch)),
    ));
    // A message of another thread (Cedar's copy), or no message: not found.
    let clara = w.clara.clone();
    assert_rejected(
        w.run(
            &clara,
            at(5),
            &mark_read(t, MessageId::for_recipient(m, w.cedar)),
        ),
        RejectCode::NotFound,
    );
    assert_rejected(
        w.run(&clara, at(5), &mark_read(t, MessageId(id(0x0999, 3)))),
        RejectCode::NotFound,
    );
}

#[test]
fn messages_at_the_same_time_are_ordered_by_id() {
    let mut w = World::new();
    let (_, t) = broadcast(&mut w);
    let clara = w.clara.clone();
    let adam = w.adam.clone();
    let hi = MessageId(id(0x0200, 9));
    let lo = MessageId(id(0x0200, 1));
    w.ok(&clara, at(5), &reply(hi, t, "first sent, larger id"));
    w.ok(&adam, at(5), &reply(lo, t, "second sent, smaller id"));
    let order: Vec<_> = w.state.thread_messages(t).iter().map(|m| m.id).collect();
    assert_eq!(order[1..], [lo, hi]);
    // Reading up to `lo` covers messages ordered before it, not `hi` (same time, larger id).
    let anna = w.anna.clone();
    w.ok(&anna, at(6), &mark_read(t, lo));
    assert!(w.state.message_read(lo, anna.user_id).is_some());
    assert!(w.state.message_read(hi, anna.user_id).is_none());
}
