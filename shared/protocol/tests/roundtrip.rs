//! Property tests of the JSON wire format: every type reads back what it wrote, readers ignore
//! fields from newer servers, unknown codes fall back to `Unknown`, and the hand-written name
//! tables (`as_str`, `parse`, `Mutation::name`) agree with serde.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fmt::Debug;

use kvits_protocol::arbitrary::{
    self as arb, ALL_CONFLICT_CODES, ALL_ERROR_CODES, ALL_REJECT_CODES,
};
use kvits_protocol::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// `x` survives JSON as text, and as a `serde_json::Value` (whose object keys come out
/// alphabetically, so tags are no longer first).
fn round_trips<T>(x: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let text = serde_json::to_string(x).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: T = serde_json::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("{e} reading back {text}")))?;
    prop_assert_eq!(&back, x, "text: {}", text);

    let value = serde_json::to_value(x).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let sorted = value.to_string();
    let back: T = serde_json::from_str(&sorted)
        .map_err(|e| TestCaseError::fail(format!("{e} reading back {sorted}")))?;
    prop_assert_eq!(&back, x, "sorted keys: {}", sorted);
    let back: T = serde_json::from_value(value)
        .map_err(|e| TestCaseError::fail(format!("{e} reading back {sorted} from a Value")))?;
    prop_assert_eq!(&back, x);
    Ok(())
}

/// Adds a field no reader knows to every JSON object in `v`, as a newer server might.
fn add_future_fields(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                add_future_fields(child);
            }
            map.insert(
                "zz_from_a_newer_server".to_owned(),
                json!({ "nested": [1, "two", null], "flag": true }),
            );
        }
        Value::Array(items) => items.iter_mut().for_each(add_future_fields),
        _ => {}
    }
}

/// `x` still reads back equal when every object of its JSON gained an unknown field.
fn ignores_future_fields<T>(x: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let mut value = serde_json::to_value(x).map_err(|e| TestCaseError::fail(e.to_string()))?;
    add_future_fields(&mut value);
    let text = value.to_string();
    let back: T = serde_json::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("{e} reading {text}")))?;
    prop_assert_eq!(&back, x, "with future fields: {}", text);
    Ok(())
}

proptest! {
    // auth

    #[test]
    fn login_request(x in arb::login_request()) { round_trips(&x)?; }

    #[test]
    fn login_response(x in arb::login_response()) { round_trips(&x)?; }

    #[test]
    fn session(x in arb::session()) { round_trips(&x)?; }

    #[test]
    fn company_details(x in arb::company_details()) { round_trips(&x)?; }

    #[test]
    fn firm(x in arb::firm()) { round_trips(&x)?; }

    #[test]
    fn clients_overview(x in arb::clients_overview()) { round_trips(&x)?; }

    #[test]
    fn open_company_request(x in arb::open_company_request()) { round_trips(&x)?; }

    #[test]
    fn invite_staff_request(x in arb::invite_staff_request()) { round_trips(&x)?; }

    #[test]
    fn set_staff_request(x in arb::set_staff_request()) { round_trips(&x)?; }

    #[test]
    fn invite_user_request(x in arb::invite_user_request()) { round_trips(&x)?; }

    #[test]
    fn invitation(x in arb::invitation()) { round_trips(&x)?; }

    #[test]
    fn pending_invitation(x in arb::pending_invitation()) { round_trips(&x)?; }

    #[test]
    fn accept_invitation_request(x in arb::accept_invitation_request()) { round_trips(&x)?; }

    #[test]
    fn set_roles_request(x in arb::set_roles_request()) { round_trips(&x)?; }

    // state and intents

    #[test]
    fn entity(x in arb::entity()) { round_trips(&x)?; }

    #[test]
    fn entity_parts(
        company in arb::company(),
        expense_type in arb::expense_type(),
        payment_method in arb::payment_method(),
        approval_rule in arb::approval_rule(),
        expense in arb::expense(),
        thread in arb::thread(),
        message in arb::message(),
        message_read in arb::message_read(),
    ) {
        // each row type on its own, outside the `kind`-tagged `Entity`
        round_trips(&company)?;
        round_trips(&expense_type)?;
        round_trips(&payment_method)?;
        round_trips(&approval_rule)?;
        round_trips(&expense)?;
        round_trips(&thread)?;
        round_trips(&message)?;
        round_trips(&message_read)?;
    }

    #[test]
    fn mutation(x in arb::mutation()) { round_trips(&x)?; }

    #[test]
    fn pending_mutation(x in arb::pending_mutation()) { round_trips(&x)?; }

    #[test]
    fn mutation_result(x in arb::mutation_result()) { round_trips(&x)?; }

    #[test]
    fn outcome(x in arb::outcome()) { round_trips(&x)?; }

    // sync

    #[test]
    fn push_request(x in arb::push_request()) { round_trips(&x)?; }

    #[test]
    fn push_response(x in arb::push_response()) { round_trips(&x)?; }

    #[test]
    fn pull_query(x in arb::pull_query()) { round_trips(&x)?; }

    #[test]
    fn pull_response(x in arb::pull_response()) { round_trips(&x)?; }

    #[test]
    fn change(x in arb::change()) { round_trips(&x)?; }

    // uploads and errors

    #[test]
    fn upload_status(x in arb::upload_status()) { round_trips(&x)?; }

    #[test]
    fn error_body(x in arb::error_body()) { round_trips(&x)?; }

    // forward compatibility: readers skip fields they do not know, at any depth

    #[test]
    fn pull_response_ignores_unknown_fields(x in arb::pull_response()) {
        ignores_future_fields(&x)?;
    }

    #[test]
    fn mutation_ignores_unknown_fields(x in arb::mutation()) { ignores_future_fields(&x)?; }

    #[test]
    fn push_request_ignores_unknown_fields(x in arb::push_request()) {
        ignores_future_fields(&x)?;
    }

    #[test]
    fn push_response_ignores_unknown_fields(x in arb::push_response()) {
        ignores_future_fields(&x)?;
    }

    #[test]
    fn login_response_ignores_unknown_fields(x in arb::login_response()) {
        ignores_future_fields(&x)?;
    }

    #[test]
    fn upload_status_ignores_unknown_fields(x in arb::upload_status()) {
        ignores_future_fields(&x)?;
    }

    // name tables agree with serde

    #[test]
    fn mutation_name_is_the_json_name(x in arb::mutation()) {
        let value = serde_json::to_value(&x).unwrap();
        prop_assert_eq!(value.get("name"), Some(&Value::from(x.name())));
        prop_assert!(value.get("args").is_some_and(Value::is_object), "{}", value);
    }

    #[test]
    fn pending_mutation_carries_the_name_at_top_level(x in arb::pending_mutation()) {
        let value = serde_json::to_value(&x).unwrap();
        prop_assert_eq!(value.get("name"), Some(&Value::from(x.mutation.name())));
        prop_assert_eq!(value.get("seq"), Some(&Value::from(x.seq)));
    }

    #[test]
    fn entity_kind_is_the_json_kind(x in arb::entity()) {
        let value = serde_json::to_value(&x).unwrap();
        prop_assert_eq!(value.get("kind"), Some(&Value::from(x.kind().as_str())));
    }

    #[test]
    fn unknown_error_code_reads_as_unknown(s in "[a-z][a-z_]{0,24}") {
        let code: ErrorCode = serde_json::from_value(Value::from(s.as_str())).unwrap();
        let known = ALL_ERROR_CODES.iter().find(|c| c.as_str() == s);
        prop_assert_eq!(code, known.copied().unwrap_or(ErrorCode::Unknown));
    }

    #[test]
    fn unknown_reject_and_conflict_codes_read_as_unknown(s in "[a-z][a-z_]{0,24}") {
        let reject: RejectCode = serde_json::from_value(Value::from(s.as_str())).unwrap();
        let known = ALL_REJECT_CODES.iter().find(|c| wire_name(*c) == s);
        prop_assert_eq!(reject, known.copied().unwrap_or(RejectCode::Unknown));
        let conflict: ConflictCode = serde_json::from_value(Value::from(s.as_str())).unwrap();
        let known = ALL_CONFLICT_CODES.iter().find(|c| wire_name(*c) == s);
        prop_assert_eq!(conflict, known.copied().unwrap_or(ConflictCode::Unknown));
    }

    #[test]
    fn entity_kind_parse_only_accepts_wire_names(s in "[a-z_]{0,16}") {
        match EntityKind::parse(&s) {
            Some(kind) => prop_assert_eq!(kind.as_str(), s),
            None => prop_assert!(EntityKind::ALL.iter().all(|k| k.as_str() != s)),
        }
    }

    #[test]
    fn role_parse_only_accepts_wire_names(s in "[a-z_]{0,16}") {
        match Role::parse(&s) {
            Some(role) => prop_assert_eq!(role.as_str(), s),
            None => prop_assert!(Role::ALL.iter().all(|r| r.as_str() != s)),
        }
    }

    // derived ids

    #[test]
    fn thread_for_recipient_is_deterministic_and_per_company(
        message in arb::message_id(),
        other_message in arb::message_id(),
        company in arb::company_id(),
        other_company in arb::company_id(),
    ) {
        prop_assume!(company != other_company && message != other_message);
        let thread = ThreadId::for_recipient(message, company);
        prop_assert_eq!(thread, ThreadId::for_recipient(message, company));
        prop_assert_ne!(thread, ThreadId::for_recipient(message, other_company));
        prop_assert_ne!(thread, ThreadId::for_recipient(other_message, company));
        prop_assert_eq!(thread.as_uuid().get_version_num(), 5);

        let copy = MessageId::for_recipient(message, company);
        prop_assert_eq!(copy, MessageId::for_recipient(message, company));
        prop_assert_ne!(copy, MessageId::for_recipient(message, other_company));
        prop_assert_ne!(copy, message);
        // the thread and the message copy never share an id
        prop_assert_ne!(copy.as_uuid(), thread.as_uuid());
    }

    #[test]
    fn message_read_id_is_deterministic_and_per_user(
        message in arb::message_id(),
        user in arb::user_id(),
        other_user in arb::user_id(),
    ) {
        prop_assume!(user != other_user);
        let id = message_read_id(message, user);
        prop_assert_eq!(id, message_read_id(message, user));
        prop_assert_ne!(id, message_read_id(message, other_user));
    }

    // blob names

    #[test]
    fn sha256_hex_accepts_64_lower_case_hex(s in "[0-9a-f]{64}") {
        prop_assert!(is_sha256_hex(&s));
    }

    #[test]
    fn sha256_hex_rejects_other_lengths(s in "[0-9a-f]{0,63}|[0-9a-f]{65,80}") {
        prop_assert!(!is_sha256_hex(&s));
    }

    #[test]
    fn sha256_hex_rejects_one_bad_char(
        s in "[0-9a-f]{64}",
        at in 0usize..64,
        bad in "[A-Fg-zG-Z \\-_+/=.:]|\\PC",
    ) {
        prop_assume!(!bad.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        let mut chars: Vec<char> = s.chars().collect();
        chars.splice(at..=at, bad.chars());
        let s: String = chars.into_iter().collect();
        prop_assert!(!is_sha256_hex(&s), "{:?}", s);
    }

    #[test]
    fn sha256_hex_agrees_with_its_definition(s in "[0-9a-fA-F]{62,66}|\\PC{0,70}") {
        let expected = s.chars().count() == 64
            && s.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
        prop_assert_eq!(is_sha256_hex(&s), expected);
    }
}

/// The wire name of a fieldless enum (reject and conflict codes have no `as_str`): serde's.
fn wire_name<T: Serialize>(x: T) -> String {
    match serde_json::to_value(x) {
        Ok(Value::String(s)) => s,
        other => panic!("not a string enum: {other:?}"),
    }
}

/// Exhaustive: stops compiling when a kind is added without being put in `EntityKind::ALL`'s
/// check below.
fn entity_kind_index(k: EntityKind) -> usize {
    match k {
        EntityKind::Company => 0,
        EntityKind::ExpenseType => 1,
        EntityKind::PaymentMethod => 2,
        EntityKind::ApprovalRule => 3,
        EntityKind::Expense => 4,
        EntityKind::Thread => 5,
        EntityKind::Message => 6,
        EntityKind::MessageRead => 7,
        EntityKind::CardTransaction => 8,
    }
}

fn role_index(r: Role) -> usize {
    match r {
        Role::Employee => 0,
        Role::Approver => 1,
        Role::CompanyAdmin => 2,
        Role::Accountant => 3,
        Role::Client => 4,
    }
}

#[test]
fn entity_kind_names_agree_with_serde() {
    let mut seen = BTreeSet::new();
    for (i, kind) in EntityKind::ALL.into_iter().enumerate() {
        assert_eq!(entity_kind_index(kind), i, "ALL is in declaration order");
        assert_eq!(EntityKind::parse(kind.as_str()), Some(kind));
        assert_eq!(
            serde_json::to_value(kind).unwrap(),
            Value::from(kind.as_str())
        );
        let back: EntityKind = serde_json::from_value(Value::from(kind.as_str())).unwrap();
        assert_eq!(back, kind);
        assert!(seen.insert(kind.as_str()), "{} twice", kind.as_str());
    }
    assert_eq!(seen.len(), 9);
    assert_eq!(EntityKind::parse("Company"), None);
    assert_eq!(EntityKind::parse(""), None);
}

#[test]
fn role_names_agree_with_serde() {
    let mut seen = BTreeSet::new();
    for (i, role) in Role::ALL.into_iter().enumerate() {
        assert_eq!(role_index(role), i, "ALL is in declaration order");
        assert_eq!(Role::parse(role.as_str()), Some(role));
        assert_eq!(
            serde_json::to_value(role).unwrap(),
            Value::from(role.as_str())
        );
        let back: Role = serde_json::from_value(Value::from(role.as_str())).unwrap();
        assert_eq!(back, role);
        assert!(seen.insert(role.as_str()), "{} twice", role.as_str());
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(Role::parse("CompanyAdmin"), None);
    // a role from a newer server is an error, not a fallback: there is no `Role::Unknown`
    assert!(serde_json::from_value::<Role>(json!("auditor")).is_err());
}

#[test]
fn error_code_names_agree_with_serde() {
    let mut seen = BTreeSet::new();
    for code in ALL_ERROR_CODES {
        assert_eq!(
            serde_json::to_value(code).unwrap(),
            Value::from(code.as_str())
        );
        let back: ErrorCode = serde_json::from_value(Value::from(code.as_str())).unwrap();
        assert_eq!(back, code);
        assert!(seen.insert(code.as_str()), "{} twice", code.as_str());
    }
    assert_eq!(seen.len(), ALL_ERROR_CODES.len());
}

#[test]
fn unknown_codes_read_as_unknown() {
    let body: ErrorBody = serde_json::from_str(
        r#"{"code": "seats_exceeded", "message": "Every seat is taken", "details": {"limit": 500}}"#,
    )
    .unwrap();
    assert_eq!(body.code, ErrorCode::Unknown);
    assert_eq!(body.details, Some(json!({"limit": 500})));

    let result: MutationResult = serde_json::from_str(
        r#"{"seq": 4, "status": "rejected", "code": "budget_exceeded", "message": "Over budget"}"#,
    )
    .unwrap();
    assert_eq!(
        result,
        MutationResult {
            seq: 4,
            outcome: Outcome::Rejected {
                code: RejectCode::Unknown,
                message: "Over budget".to_owned(),
            },
        }
    );

    let result: MutationResult = serde_json::from_str(
        r#"{"seq": 5, "status": "conflict", "code": "expense_locked", "message": "Locked"}"#,
    )
    .unwrap();
    assert_eq!(
        result.outcome,
        Outcome::Conflict {
            code: ConflictCode::Unknown,
            message: "Locked".to_owned(),
            winner: None,
        }
    );

    let halt: Halt =
        serde_json::from_str(r#"{"seq": 9, "code": "scan_pending", "message": "Wait"}"#).unwrap();
    assert_eq!(halt.code, ErrorCode::Unknown);
}

#[test]
fn pull_response_from_a_newer_server() {
    // New top-level, change, entity and nested fields; tags not first.
    let json = r#"{
        "cursor": 42,
        "has_more": false,
        "compression": "none",
        "changes": [
            {
                "version": 41,
                "entity": {
                    "company_id": "0193f0a0-0000-7000-8000-0000000000c1",
                    "id": "0193f0a0-0000-7000-8000-000000000071",
                    "kind": "expense_type",
                    "code": "6110",
                    "name": "Degviela",
                    "active": true,
                    "vat_rate": 21,
                    "translations": {"en": "Fuel"}
                },
                "op": "upsert",
                "changed_by": "someone"
            },
            {
                "op": "delete",
                "version": 42,
                "kind": "expense",
                "id": "0193f0a0-0000-7000-8000-0000000000e1",
                "reason": "draft deleted"
            }
        ],
        "last_seq": 7,
        "server_time": "2026-11-23T14:05:00Z",
        "server_region": "eu-north"
    }"#;
    let page: PullResponse = serde_json::from_str(json).unwrap();
    assert_eq!(page.cursor, 42);
    assert!(!page.reset);
    assert!(page.results.is_empty());
    assert_eq!(page.changes.len(), 2);
    match &page.changes[0].op {
        ChangeOp::Upsert { entity } if matches!(**entity, Entity::ExpenseType(_)) => {
            let Entity::ExpenseType(t) = &**entity else {
                unreachable!()
            };
            assert_eq!(t.code, "6110");
            assert_eq!(t.name, "Degviela");
        }
        other => panic!("expected an expense type upsert, got {other:?}"),
    }
    assert_eq!(
        page.changes[1].op,
        ChangeOp::Delete {
            kind: EntityKind::Expense,
            id: "0193f0a0-0000-7000-8000-0000000000e1".parse().unwrap(),
        }
    );
}

#[test]
fn mutation_from_a_newer_client() {
    // An unknown field next to the tag and one inside the args: both ignored.
    let json = r#"{
        "args": {"expense_id": "0193f0a0-0000-7000-8000-0000000000e1", "priority": "high"},
        "trace_id": "abc",
        "name": "submit_expense.v1"
    }"#;
    let mutation: Mutation = serde_json::from_str(json).unwrap();
    assert_eq!(
        mutation,
        Mutation::SubmitExpense {
            expense_id: ExpenseId("0193f0a0-0000-7000-8000-0000000000e1".parse().unwrap()),
        }
    );

    // An unknown *name* is an error: a new meaning gets a new name that old servers refuse.
    let json = r#"{"name": "submit_expense.v2", "args": {"expense_id": "0193f0a0-0000-7000-8000-0000000000e1"}}"#;
    assert!(serde_json::from_str::<Mutation>(json).is_err());
}

#[test]
fn optional_fields_may_be_null_or_absent() {
    // Writers in other languages may send `null` for an absent option.
    let json = r#"{"email": "emma@zalakafija.lv", "password": "x", "client_id": null, "device_name": null}"#;
    let req: LoginRequest = serde_json::from_str(json).unwrap();
    assert_eq!(req.client_id, None);
    assert_eq!(req.device_name, None);

    // `cursor` defaults to 0; `reset` and `results` to false / empty.
    let q: PullQuery =
        serde_json::from_str(r#"{"client_id": "0193f0a0-0000-7000-8000-0000000000d1"}"#).unwrap();
    assert_eq!(q.cursor, 0);
    let page: PullResponse = serde_json::from_str(
        r#"{"cursor": 0, "has_more": false, "changes": [], "last_seq": 0, "server_time": "2026-11-23T14:05:00Z"}"#,
    )
    .unwrap();
    assert!(!page.reset && page.results.is_empty());
}

/// Draws `n` values of `strategy` with a fixed seed.
fn sample<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

#[test]
fn strategies_reach_every_variant() {
    let names: BTreeSet<&str> = sample(arb::mutation(), 2000)
        .iter()
        .map(Mutation::name)
        .collect();
    assert_eq!(names.len(), 25, "{names:?}");

    let kinds: BTreeSet<EntityKind> = sample(arb::entity(), 2000)
        .iter()
        .map(Entity::kind)
        .collect();
    assert_eq!(kinds.len(), EntityKind::ALL.len(), "{kinds:?}");

    let statuses: BTreeSet<String> = sample(arb::outcome(), 500)
        .iter()
        .map(|o| serde_json::to_value(o).unwrap()["status"].to_string())
        .collect();
    assert_eq!(statuses.len(), 4, "{statuses:?}");

    let ops: BTreeSet<String> = sample(arb::change(), 500)
        .iter()
        .map(|c| serde_json::to_value(c).unwrap()["op"].to_string())
        .collect();
    assert_eq!(ops.len(), 2, "{ops:?}");
}

#[test]
fn outbox_seqs_are_contiguous() {
    for request in sample(arb::push_request(), 200) {
        let seqs: Vec<u64> = request.mutations.iter().map(|m| m.seq).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        assert!(seqs.first().is_none_or(|&s| s >= 1));
    }
}

#[test]
fn timestamps_survive_rfc3339() {
    for t in sample(arb::timestamp(), 500) {
        let text = t.to_rfc3339();
        let back = chrono::DateTime::parse_from_rfc3339(&text).unwrap();
        assert_eq!(back, t);
        assert!((2000..2100).contains(&chrono::Datelike::year(&t)), "{text}");
    }
}
