//! `MemoryState`: the in-memory `State` the core mirrors into and the server's tests compare
//! against.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kvits_domain::{MemoryState, State, Write};
use kvits_protocol::{
    Entity, EntityKind, Message, MessageId, MessageRead, ThreadId, UserId, message_read_id,
};

fn message(thread: ThreadId, n: u128, minute: i64) -> Message {
    Message {
        id: MessageId(id(0x0400, n)),
        thread_id: thread,
        company_id: birch(),
        author_id: UserId(id(0x0003, 1)),
        author_name: "Anna".into(),
        body: format!("message {n}"),
        attachment: None,
        created_at: at(minute),
    }
}

/// Birch's id, without a world.
fn birch() -> kvits_protocol::CompanyId {
    kvits_protocol::CompanyId(id(0x0002, 1))
}

#[test]
fn put_get_replace_delete_every_kind() {
    let w = World::new();
    let mut s = MemoryState::new();
    assert!(s.is_empty());
    let all: Vec<Entity> = w.state.entities().collect();
    for e in &all {
        s.put(e.clone());
    }
    assert_eq!(s.len(), all.len());
    assert_eq!(s, w.state);
    for e in &all {
        assert_eq!(s.get(e.kind(), e.id()).as_ref(), Some(e));
    }
    // Replace: same kind and id.
    let mut fuel = s.expense_type(w.birch_types.fuel).unwrap();
    fuel.name = "Diesel".into();
    s.put(Entity::ExpenseType(fuel.clone()));
    assert_eq!(s.len(), all.len());
    assert_eq!(s.expense_type(fuel.id), Some(fuel.clone()));
    // Delete through writes; a delete of something absent does nothing.
    s.apply_writes(&[
        Write::Delete {
            kind: EntityKind::ExpenseType,
            id: fuel.id.0,
            company_id: w.birch,
        },
        Write::Delete {
            kind: EntityKind::Expense,
            id: fuel.id.0,
            company_id: w.birch,
        },
    ]);
    assert_eq!(s.len(), all.len() - 1);
    assert!(s.expense_type(fuel.id).is_none());
    assert!(s.delete(EntityKind::ExpenseType, fuel.id.0).is_none());
}

#[test]
fn entities_come_by_kind_then_id_and_rebuild_the_same_state() {
    let mut w = World::new();
    let _ = w.fuel_expense();
    let anna = w.anna.clone();
    let clara = w.clara.clone();
    let m = MessageId(w.fresh());
    w.ok(&anna, at(1), &send(m, &[w.birch, w.cedar], "hi"));
    let t = ThreadId::for_recipient(m, w.birch);
    w.ok(
        &clara,
        at(2),
        &kvits_protocol::Mutation::MarkRead {
            thread_id: t,
            up_to: MessageId::for_recipient(m, w.birch),
        },
    );
    // A card payment from a statement (the server imports those; no mutation makes one).
    let payment = kvits_protocol::CardTransaction {
        id: kvits_protocol::CardTransactionId(w.fresh()),
        company_id: w.birch,
        statement_id: kvits_protocol::StatementId(w.fresh()),
        payment_method_id: Some(w.birch_visa),
        holder_id: Some(w.emma.user_id),
        card_ref: "****4821".into(),
        booked_on: t0().date_naive(),
        spent_on: t0().date_naive(),
        amount: eur(1_250),
        original_amount: None,
        merchant: "Circle K".into(),
        description: String::new(),
        bank_ref: None,
        receipt: kvits_protocol::CardReceipt::Missing,
        auto_match: true,
        imported_at: t0(),
        updated_at: t0(),
    };
    w.state.put(Entity::CardTransaction(payment));
    let all: Vec<Entity> = w.state.entities().collect();
    let keys: Vec<(EntityKind, uuid::Uuid)> = all.iter().map(|e| (e.kind(), e.id())).collect();
    let mut sorted = keys.clone();
    sorted.sort_by_key(|(k, id)| (EntityKind::ALL.iter().position(|x| x == k), *id));
    // Read records come by (message, reader), not by their derived id; there is one here.
    assert_eq!(keys, sorted);
    for kind in EntityKind::ALL {
        assert!(all.iter().any(|e| e.kind() == kind), "no {kind:?}");
    }
    // Rebuilt from its rows, a state has the same rows (blobs are not rows).
    let rebuilt: MemoryState = all.iter().cloned().collect();
    assert_eq!(rebuilt.entities().collect::<Vec<_>>(), all);
    assert_eq!(rebuilt.len(), w.state.len());
    assert_ne!(rebuilt, w.state, "the blobs differ");
}

#[test]
fn thread_messages_are_in_time_then_id_order_and_follow_changes() {
    let mut s = MemoryState::new();
    let t = ThreadId(id(0x0301, 1));
    let other = ThreadId(id(0x0301, 2));
    let m3 = message(t, 3, 5);
    let m1 = message(t, 1, 5);
    let m2 = message(t, 2, 1);
    let elsewhere = message(other, 4, 0);
    for m in [&m3, &elsewhere, &m1, &m2] {
        s.put(Entity::Message(m.clone()));
    }
    let ids = |s: &MemoryState, t| {
        s.thread_messages(t)
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&s, t), [m2.id, m1.id, m3.id]);
    assert_eq!(ids(&s, other), [elsewhere.id]);
    assert!(ids(&s, ThreadId(id(0x0301, 9))).is_empty());

    // A replaced row moves (time changed) or changes thread; nothing is left behind.
    let mut m2_later = m2.clone();
    m2_later.created_at = at(9);
    s.put(Entity::Message(m2_later));
    assert_eq!(ids(&s, t), [m1.id, m3.id, m2.id]);
    let mut m1_moved = m1.clone();
    m1_moved.thread_id = other;
    s.put(Entity::Message(m1_moved));
    assert_eq!(ids(&s, t), [m3.id, m2.id]);
    assert_eq!(ids(&s, other), [elsewhere.id, m1.id]);
    s.delete(EntityKind::Message, m3.id.0);
    assert_eq!(ids(&s, t), [m2.id]);
    assert!(s.message(m3.id).is_none());
    s.delete(EntityKind::Message, m2.id.0);
    assert!(ids(&s, t).is_empty());
}

#[test]
fn read_records_by_message_and_reader() {
    let mut s = MemoryState::new();
    let t = ThreadId(id(0x0301, 1));
    let (m1, m2) = (message(t, 1, 0), message(t, 2, 1));
    let read = |m: &Message, user: u128, minute| MessageRead {
        message_id: m.id,
        thread_id: t,
        company_id: m.company_id,
        user_id: UserId(id(0x0003, user)),
        read_at: at(minute),
    };
    let reads = [read(&m1, 7, 3), read(&m1, 6, 4), read(&m2, 6, 5)];
    for r in &reads {
        s.put(Entity::MessageRead(r.clone()));
    }
    assert_eq!(
        s.message_read(m1.id, reads[0].user_id),
        Some(reads[0].clone())
    );
    assert_eq!(s.message_read(m2.id, reads[0].user_id), None);
    assert_eq!(s.message_reads(m1.id), [reads[1].clone(), reads[0].clone()]);
    assert_eq!(s.message_reads(m2.id), [reads[2].clone()]);
    assert!(s.message_reads(MessageId(id(0x0400, 9))).is_empty());
    // By the derived row id, as a tombstone names it.
    let rid = message_read_id(m1.id, reads[0].user_id);
    assert_eq!(
        s.get(EntityKind::MessageRead, rid),
        Some(Entity::MessageRead(reads[0].clone()))
    );
    assert_eq!(
        s.delete(EntityKind::MessageRead, rid),
        Some(Entity::MessageRead(reads[0].clone()))
    );
    assert_eq!(s.message_reads(m1.id), [reads[1].clone()]);
    assert_eq!(s.len(), 2);
}

#[test]
fn blobs_belong_to_a_company() {
    let w = World::new();
    let mut s = w.state.clone();
    let p = page(1);
    assert!(!s.has_blob(w.birch, &p.sha256));
    s.add_blob(w.birch, p.sha256.clone());
    s.add_blob(w.birch, p.sha256.clone());
    assert!(s.has_blob(w.birch, &p.sha256));
    assert!(!s.has_blob(w.cedar, &p.sha256));
    assert!(!s.has_blob(w.birch, &page(2).sha256));
    // Blobs are not rows.
    assert_eq!(s.len(), w.state.len());
}

#[test]
fn per_company_lists() {
    let mut w = World::new();
    // A rule with the same position as another, and a smaller id, sorts first.
    let mut r = w.state.approval_rule(w.birch_rules.fuel_travel).unwrap();
    r.id = kvits_protocol::ApprovalRuleId(id(0x0006, 0));
    r.name = "Tie".into();
    w.state.put(Entity::ApprovalRule(r));
    let names: Vec<_> = w
        .state
        .approval_rules(w.birch)
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        names,
        [
            "Invoices",
            "Large expenses",
            "Tie",
            "Fuel and travel",
            "Old rule"
        ]
    );
    assert!(w.state.approval_rules(w.fir).is_empty());
    assert!(
        w.state
            .expense_types(w.cedar)
            .windows(2)
            .all(|p| p[0].id < p[1].id)
    );
}

#[test]
fn apply_mutation_writes_only_changes() {
    let mut w = World::new();
    let before = w.state.clone();
    let emma = w.emma.clone();
    let e = kvits_protocol::ExpenseId(w.fresh());
    // Refused: nothing written.
    let bad = kvits_protocol::Mutation::CreateExpense {
        expense_id: e,
        company_id: w.cedar,
        document_type: kvits_protocol::DocumentType::Receipt,
        fields: Default::default(),
    };
    assert!(w.state.apply_mutation(&emma, at(1), &bad).is_err());
    assert_eq!(w.state, before);
    let good = kvits_protocol::Mutation::CreateExpense {
        expense_id: e,
        company_id: w.birch,
        document_type: kvits_protocol::DocumentType::Receipt,
        fields: Default::default(),
    };
    let r = w.state.apply_mutation(&emma, at(1), &good).unwrap();
    let kvits_domain::Applied::Changes(writes) = r else {
        panic!("expected changes")
    };
    let mut by_hand = before.clone();
    by_hand.apply_writes(&writes);
    assert_eq!(w.state, by_hand);
    assert_eq!(w.state.len(), before.len() + 1);
}
