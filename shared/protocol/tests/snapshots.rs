//! The JSON of every wire type and every enum variant, on one realistic story: Emma Ozola of
//! SIA Zaļā Kafija photographs a Rimi receipt (EUR 12.40) on her phone, submits it offline;
//! Alice Approver rejects it while Jānis Bērziņš, offline, approves it and loses; their
//! accountant Ilze Kalniņa of Bilance SIA writes to two client companies at once.
//!
//! A changed snapshot is a changed wire format: review it as an API change (old apps in the
//! field still read and write the old one).

#![allow(clippy::unwrap_used)]

use insta::assert_json_snapshot;
use kvits_protocol::*;
use serde_json::json;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// The cast
// ---------------------------------------------------------------------------------------------

const FIRM: FirmId = FirmId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000f1));
const ZALA_KAFIJA: CompanyId = CompanyId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000c1));
const BALTIJAS_KOKS: CompanyId = CompanyId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000c2));
const EMMA: UserId = UserId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000a1));
const ALICE: UserId = UserId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000a2));
const JANIS: UserId = UserId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000a3));
const ILZE: UserId = UserId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000a4));
const EMMAS_PHONE: ClientId = ClientId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000d1));
const EXPENSE: ExpenseId = ExpenseId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000e1));
const OFFICE_UPKEEP: ExpenseTypeId =
    ExpenseTypeId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_000000000071));
const VISA: PaymentMethodId =
    PaymentMethodId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_000000000091));
const OWN_MONEY: PaymentMethodId =
    PaymentMethodId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_000000000092));
const RULE: ApprovalRuleId =
    ApprovalRuleId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_000000000081));
/// Ilze's message to both companies, as she made it.
const BROADCAST: MessageId = MessageId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000b1));
/// Emma's answer in Zaļā Kafija's thread.
const REPLY: MessageId = MessageId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000b2));
const UPLOAD: UploadId = UploadId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_000000000101));
const INVITATION: InvitationId =
    InvitationId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_000000000201));
const STAFF_INVITATION: InvitationId =
    InvitationId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_000000000202));

/// SHA-256 of the receipt photo (page 1) and of the statement PDF attached to a message.
const PHOTO: &str = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b";
const STATEMENT_PDF: &str = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

fn ts(rfc3339: &str) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

fn thread_id() -> ThreadId {
    ThreadId::for_recipient(BROADCAST, ZALA_KAFIJA)
}

fn rimi_fields() -> ExpenseFields {
    ExpenseFields {
        expense_type_id: Some(OFFICE_UPKEEP),
        payment_method_id: Some(VISA),
        amount: Some(Money {
            amount_minor: 1240,
            currency: "EUR".to_owned(),
        }),
        base_amount: None,
        date: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()),
        merchant: Some("Rimi".to_owned()),
        note: Some("Kafija un piens birojam / coffee and milk for the office".to_owned()),
        vat: Vec::new(),
        account_code: None,
    }
}

fn receipt_page() -> ReceiptPage {
    assert!(is_sha256_hex(PHOTO));
    ReceiptPage {
        sha256: PHOTO.to_owned(),
        size: 182_733,
        content_type: "image/jpeg".to_owned(),
        width: 1240,
        height: 2480,
    }
}

fn step() -> ApprovalStep {
    ApprovalStep {
        approver_ids: vec![ALICE, JANIS],
    }
}

fn alices_rejection() -> Decision {
    Decision {
        kind: DecisionKind::Reject,
        step: 0,
        revision: 2,
        by: ALICE,
        by_name: "Alice Approver".to_owned(),
        at: ts("2026-11-24T09:12:00Z"),
        reason: Some("Personīgi pirkumi netiek kompensēti / personal groceries".to_owned()),
    }
}

fn statement() -> Attachment {
    assert!(is_sha256_hex(STATEMENT_PDF));
    Attachment {
        sha256: STATEMENT_PDF.to_owned(),
        size: 48_213,
        content_type: "application/pdf".to_owned(),
        file_name: "Novembra atskaite.pdf".to_owned(),
    }
}

fn session() -> Session {
    Session {
        user: UserSummary {
            id: EMMA,
            name: "Emma Ozola".to_owned(),
            email: "emma.ozola@zalakafija.lv".to_owned(),
        },
        firm: FirmSummary {
            id: FIRM,
            name: "Bilance SIA".to_owned(),
        },
        memberships: vec![Membership {
            company_id: ZALA_KAFIJA,
            company_name: "SIA Zaļā Kafija".to_owned(),
            roles: vec![Role::Employee],
            active: true,
        }],
        staff: None,
    }
}

fn upsert(version: u64, entity: Entity) -> Change {
    Change {
        version,
        op: ChangeOp::Upsert {
            entity: Box::new(entity),
        },
    }
}

fn company() -> Company {
    Company {
        id: ZALA_KAFIJA,
        firm_id: FIRM,
        name: "SIA Zaļā Kafija".to_owned(),
        base_currency: "EUR".into(),
        registration_number: Some("40103012345".to_owned()),
        vat_number: Some("LV40103012345".to_owned()),
        country: Some("LV".to_owned()),
        time_zone: Some("Europe/Riga".to_owned()),
        active: true,
        allow_self_approval: false,
        invitations: vec![],
        members: vec![
            Member {
                user_id: EMMA,
                name: "Emma Ozola".to_owned(),
                email: "emma.ozola@zalakafija.lv".to_owned(),
                roles: vec![Role::Employee],
                disabled: false,
            },
            Member {
                user_id: ALICE,
                name: "Alice Approver".to_owned(),
                email: "alice@zalakafija.lv".to_owned(),
                roles: vec![Role::Approver, Role::CompanyAdmin],
                disabled: false,
            },
            Member {
                user_id: JANIS,
                name: "Jānis Bērziņš".to_owned(),
                email: "janis.berzins@zalakafija.lv".to_owned(),
                roles: vec![Role::Approver, Role::Client],
                disabled: true,
            },
        ],
    }
}

fn expense_type() -> ExpenseType {
    ExpenseType {
        id: OFFICE_UPKEEP,
        company_id: ZALA_KAFIJA,
        code: "7310".to_owned(),
        name: "Biroja uzturēšana".to_owned(),
        active: true,
    }
}

fn company_card() -> PaymentMethod {
    PaymentMethod {
        id: VISA,
        company_id: ZALA_KAFIJA,
        payment_kind: PaymentKind::CompanyCard,
        label: "Visa Business".to_owned(),
        last_four: Some("4821".to_owned()),
        holder_id: Some(EMMA),
        active: true,
        statement_ref: None,
    }
}

fn own_money() -> PaymentMethod {
    PaymentMethod {
        id: OWN_MONEY,
        company_id: ZALA_KAFIJA,
        payment_kind: PaymentKind::OwnMoney,
        label: "Savi līdzekļi / own money".to_owned(),
        last_four: None,
        holder_id: None,
        active: true,
        statement_ref: None,
    }
}

fn approval_rule() -> ApprovalRule {
    ApprovalRule {
        id: RULE,
        company_id: ZALA_KAFIJA,
        name: "Čeki virs 10 EUR".to_owned(),
        position: 1,
        active: true,
        document_type: Some(DocumentType::Receipt),
        expense_type_ids: vec![OFFICE_UPKEEP],
        min_amount_minor: Some(1000),
        max_amount_minor: None,
        currency: "EUR".into(),
        steps: vec![step()],
    }
}

/// The Rimi receipt after Alice's rejection.
fn rejected_expense() -> Expense {
    Expense {
        id: EXPENSE,
        company_id: ZALA_KAFIJA,
        created_by: EMMA,
        created_by_name: "Emma Ozola".to_owned(),
        document_type: DocumentType::Receipt,
        fields: rimi_fields(),
        pages: vec![receipt_page()],
        status: ExpenseStatus::Rejected,
        revision: 3,
        approval: Some(Approval {
            rule_id: RULE,
            rule_name: "Čeki virs 10 EUR".to_owned(),
            steps: vec![step()],
            current_step: 0,
        }),
        decisions: vec![alices_rejection()],
        created_at: ts("2026-11-23T14:05:00Z"),
        updated_at: ts("2026-11-24T09:12:00Z"),
        submitted_at: Some(ts("2026-11-23T14:06:30Z")),
        history: Vec::new(),
        export: None,
    }
}

fn thread() -> Thread {
    Thread {
        id: thread_id(),
        company_id: ZALA_KAFIJA,
        subject: "Novembra dokumenti / November documents".to_owned(),
        created_by: ILZE,
        created_at: ts("2026-11-25T08:30:00Z"),
        broadcast_id: Some(BROADCAST),
        last_message_at: ts("2026-11-25T10:02:17.250Z"),
    }
}

fn broadcast_copy() -> Message {
    Message {
        id: MessageId::for_recipient(BROADCAST, ZALA_KAFIJA),
        thread_id: thread_id(),
        company_id: ZALA_KAFIJA,
        author_id: ILZE,
        author_name: "Ilze Kalniņa".to_owned(),
        body: "Lūdzu, iesniedziet visus novembra čekus līdz 5. decembrim.\n\
               Please submit all November receipts by 5 December."
            .to_owned(),
        attachment: Some(statement()),
        created_at: ts("2026-11-25T08:30:00Z"),
    }
}

fn message_read() -> MessageRead {
    MessageRead {
        message_id: MessageId::for_recipient(BROADCAST, ZALA_KAFIJA),
        thread_id: thread_id(),
        company_id: ZALA_KAFIJA,
        user_id: EMMA,
        read_at: ts("2026-11-25T09:58:41Z"),
    }
}

fn applied(seq: u64) -> MutationResult {
    MutationResult {
        seq,
        outcome: Outcome::Applied,
    }
}

fn janis_loses() -> MutationResult {
    MutationResult {
        seq: 3,
        outcome: Outcome::Conflict {
            code: ConflictCode::AlreadyDecided,
            message: "Alice Approver already rejected this expense".to_owned(),
            winner: Some(alices_rejection()),
        },
    }
}

fn create_expense() -> Mutation {
    Mutation::CreateExpense {
        expense_id: EXPENSE,
        company_id: ZALA_KAFIJA,
        document_type: DocumentType::Receipt,
        fields: ExpenseFields {
            merchant: Some("Rimi".to_owned()),
            ..ExpenseFields::default()
        },
    }
}

fn attach_receipt() -> Mutation {
    Mutation::AttachReceipt {
        expense_id: EXPENSE,
        pages: vec![receipt_page()],
    }
}

fn submit_expense() -> Mutation {
    Mutation::SubmitExpense {
        expense_id: EXPENSE,
    }
}

fn pending(seq: u64, at: &str, mutation: Mutation) -> PendingMutation {
    PendingMutation {
        seq,
        created_at: ts(at),
        mutation,
    }
}

// ---------------------------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------------------------

#[test]
fn login_request() {
    assert_json_snapshot!(LoginRequest {
        email: "emma.ozola@zalakafija.lv".to_owned(),
        password: "correct horse battery staple".to_owned(),
        client_id: Some(EMMAS_PHONE),
        device_name: Some("Emmas iPhone".to_owned()),
    });
}

#[test]
fn login_request_from_the_web() {
    // no install id, no device name: both keys absent
    assert_json_snapshot!(LoginRequest {
        email: "ilze@bilance.lv".to_owned(),
        password: "Rudens2026!".to_owned(),
        client_id: None,
        device_name: None,
    });
}

#[test]
fn login_response() {
    // the session's fields sit next to `token` (flattened)
    assert_json_snapshot!(LoginResponse {
        token: "kv1_q8Xv3m0Rr2dW9sLkP4tYzA7nB".to_owned(),
        session: session(),
    });
}

#[test]
fn session_of_an_accountant() {
    assert_json_snapshot!(Session {
        user: UserSummary {
            id: ILZE,
            name: "Ilze Kalniņa".to_owned(),
            email: "ilze@bilance.lv".to_owned(),
        },
        firm: FirmSummary {
            id: FIRM,
            name: "Bilance SIA".to_owned(),
        },
        memberships: vec![
            Membership {
                company_id: BALTIJAS_KOKS,
                company_name: "SIA Baltijas Koks".to_owned(),
                roles: vec![Role::Accountant],
                active: false,
            },
            Membership {
                company_id: ZALA_KAFIJA,
                company_name: "SIA Zaļā Kafija".to_owned(),
                roles: vec![Role::Accountant],
                active: true,
            },
        ],
        staff: Some(StaffRole::FirmAdmin),
    });
}

#[test]
fn company_details() {
    assert_json_snapshot!(CompanyDetails {
        name: "SIA Baltijas Koks".to_owned(),
        base_currency: "EUR".to_owned(),
        registration_number: Some("40003012345".to_owned()),
        vat_number: Some("LV40003012345".to_owned()),
        country: Some("LV".to_owned()),
        time_zone: Some("Europe/Riga".to_owned()),
        active: true,
        allow_self_approval: false,
    });
}

#[test]
fn firm() {
    assert_json_snapshot!(Firm {
        id: FIRM,
        name: "Bilance SIA".to_owned(),
        settings: FirmSettings {
            assigned_clients_only: true,
            csv_separator: kvits_protocol::CsvSeparator::Semicolon,
            decimal_mark: kvits_protocol::DecimalMark::Comma,
        },
        staff: vec![
            StaffMember {
                user_id: ILZE,
                name: "Ilze Kalniņa".to_owned(),
                email: "ilze@bilance.lv".to_owned(),
                role: StaffRole::FirmAdmin,
                assigned: vec![],
                invited: false,
                disabled: false,
            },
            StaffMember {
                user_id: EMMA,
                name: "Pēteris Liepa".to_owned(),
                email: "peteris@bilance.lv".to_owned(),
                role: StaffRole::Accountant,
                assigned: vec![ZALA_KAFIJA],
                invited: true,
                disabled: true,
            },
        ],
        invitations: vec![],
    });
}

#[test]
fn invite_staff_request() {
    assert_json_snapshot!(InviteStaffRequest {
        email: "peteris@bilance.lv".to_owned(),
        name: "Pēteris Liepa".to_owned(),
        role: StaffRole::Accountant,
        assigned: vec![ZALA_KAFIJA],
    });
}

#[test]
fn set_staff_request() {
    assert_json_snapshot!(SetStaffRequest {
        role: StaffRole::Accountant,
        assigned: vec![ZALA_KAFIJA, BALTIJAS_KOKS],
    });
}

#[test]
fn invite_user_request() {
    assert_json_snapshot!(InviteUserRequest {
        email: "janis.berzins@zalakafija.lv".to_owned(),
        name: "Jānis Bērziņš".to_owned(),
        roles: vec![Role::Approver, Role::Client],
    });
}

#[test]
fn invitation() {
    // the same shape whether or not the e-mail already has an account
    assert_json_snapshot!(Invitation {
        id: INVITATION,
        token: "kvi_7Fh2kLq9Zp0wXc4V".to_owned(),
        link: "/invite/kvi_7Fh2kLq9Zp0wXc4V".to_owned(),
        expires_at: ts("2026-11-30T14:05:00Z"),
    });
}

#[test]
fn pending_invitations() {
    assert_json_snapshot!(vec![
        PendingInvitation {
            id: INVITATION,
            email: "janis.berzins@zalakafija.lv".to_owned(),
            name: "Jānis Bērziņš".to_owned(),
            roles: vec![Role::Approver, Role::Client],
            staff_role: None,
            assigned: vec![],
            expires_at: ts("2026-11-30T14:05:00Z"),
        },
        PendingInvitation {
            id: STAFF_INVITATION,
            email: "peteris@bilance.lv".to_owned(),
            name: "Pēteris Liepa".to_owned(),
            roles: vec![],
            staff_role: Some(StaffRole::Accountant),
            assigned: vec![ZALA_KAFIJA],
            expires_at: ts("2026-12-02T09:00:00Z"),
        },
    ]);
}

#[test]
fn accept_invitation_request() {
    assert_json_snapshot!(AcceptInvitationRequest {
        token: "inv_7Fh2kLq9Zp0wXc4V".to_owned(),
        password: "Jāņi-2026".to_owned(),
        client_id: Some(ClientId(Uuid::from_u128(
            0x0193f0a0_0000_7000_8000_0000000000d2
        ))),
        device_name: Some("Jāņa Pixel".to_owned()),
    });
}

#[test]
fn set_roles_request() {
    assert_json_snapshot!(SetRolesRequest {
        roles: vec![Role::Employee, Role::Approver],
    });
}

// ---------------------------------------------------------------------------------------------
// Every fieldless enum
// ---------------------------------------------------------------------------------------------

#[test]
fn enum_values() {
    assert_json_snapshot!(json!({
        "role": Role::ALL,
        "entity_kind": EntityKind::ALL,
        "payment_kind": [PaymentKind::CompanyCard, PaymentKind::OwnMoney],
        "document_type": [DocumentType::Receipt, DocumentType::Invoice],
        "expense_status": [
            ExpenseStatus::Draft,
            ExpenseStatus::Submitted,
            ExpenseStatus::Approved,
            ExpenseStatus::Rejected,
            ExpenseStatus::Returned,
        ],
        "decision_kind": [DecisionKind::Approve, DecisionKind::Reject, DecisionKind::Return],
        "reject_code": kvits_protocol::arbitrary::ALL_REJECT_CODES,
        "conflict_code": kvits_protocol::arbitrary::ALL_CONFLICT_CODES,
        "error_code": kvits_protocol::arbitrary::ALL_ERROR_CODES,
    }));
}

// ---------------------------------------------------------------------------------------------
// Mutations, one per variant
// ---------------------------------------------------------------------------------------------

#[test]
fn mutation_create_expense() {
    assert_json_snapshot!(create_expense());
}

#[test]
fn mutation_set_expense_fields() {
    assert_json_snapshot!(Mutation::SetExpenseFields {
        expense_id: EXPENSE,
        fields: rimi_fields(),
    });
}

#[test]
fn mutation_attach_receipt() {
    assert_json_snapshot!(attach_receipt());
}

#[test]
fn mutation_submit_expense() {
    assert_json_snapshot!(submit_expense());
}

#[test]
fn mutation_delete_expense() {
    assert_json_snapshot!(Mutation::DeleteExpense {
        expense_id: EXPENSE,
    });
}

#[test]
fn mutation_decide_expense_approve() {
    // Jānis, offline, approves what he saw at revision 2; no reason needed
    assert_json_snapshot!(Mutation::DecideExpense {
        expense_id: EXPENSE,
        seen_revision: 2,
        decision: DecisionKind::Approve,
        reason: None,
    });
}

#[test]
fn mutation_decide_expense_return() {
    assert_json_snapshot!(Mutation::DecideExpense {
        expense_id: EXPENSE,
        seen_revision: 2,
        decision: DecisionKind::Return,
        reason: Some("Lūdzu, pievienojiet čeka otru pusi / please add page 2".to_owned()),
    });
}

#[test]
fn mutation_send_message() {
    assert_json_snapshot!(Mutation::SendMessage {
        message_id: BROADCAST,
        company_ids: vec![ZALA_KAFIJA, BALTIJAS_KOKS],
        subject: "Novembra dokumenti / November documents".to_owned(),
        body: "Lūdzu, iesniedziet visus novembra čekus līdz 5. decembrim.\n\
               Please submit all November receipts by 5 December."
            .to_owned(),
        attachment: Some(statement()),
    });
}

#[test]
fn mutation_reply_message() {
    assert_json_snapshot!(Mutation::ReplyMessage {
        message_id: REPLY,
        thread_id: thread_id(),
        body: "Paldies! Rimi čeks jau iesniegts.".to_owned(),
        attachment: None,
    });
}

#[test]
fn mutation_mark_read() {
    assert_json_snapshot!(Mutation::MarkRead {
        thread_id: thread_id(),
        up_to: MessageId::for_recipient(BROADCAST, ZALA_KAFIJA),
    });
}

#[test]
fn mutation_put_expense_type() {
    assert_json_snapshot!(Mutation::PutExpenseType(expense_type()));
}

#[test]
fn mutation_put_payment_method() {
    // adjacently tagged: the payment method's own `kind` sits inside `args`, no clash
    assert_json_snapshot!(Mutation::PutPaymentMethod(company_card()));
}

#[test]
fn mutation_put_approval_rule() {
    // the rule's own `name` sits inside `args`, apart from the mutation's `name`
    assert_json_snapshot!(Mutation::PutApprovalRule(approval_rule()));
}

// ---------------------------------------------------------------------------------------------
// Outcomes, one per variant
// ---------------------------------------------------------------------------------------------

#[test]
fn result_applied() {
    assert_json_snapshot!(applied(1));
}

#[test]
fn result_already_applied() {
    assert_json_snapshot!(MutationResult {
        seq: 2,
        outcome: Outcome::AlreadyApplied,
    });
}

#[test]
fn result_rejected() {
    assert_json_snapshot!(MutationResult {
        seq: 4,
        outcome: Outcome::Rejected {
            code: RejectCode::WrongState,
            message: "The expense was already submitted and can no longer be edited".to_owned(),
        },
    });
}

#[test]
fn result_conflict() {
    assert_json_snapshot!(janis_loses());
}

// ---------------------------------------------------------------------------------------------
// Push
// ---------------------------------------------------------------------------------------------

#[test]
fn push_request() {
    assert_json_snapshot!(PushRequest {
        client_id: EMMAS_PHONE,
        mutations: vec![
            pending(7, "2026-11-23T14:05:00Z", create_expense()),
            pending(
                8,
                "2026-11-23T14:05:42.318Z",
                Mutation::SetExpenseFields {
                    expense_id: EXPENSE,
                    fields: rimi_fields(),
                },
            ),
            pending(9, "2026-11-23T14:06:03Z", attach_receipt()),
            pending(10, "2026-11-23T14:06:30Z", submit_expense()),
        ],
    });
}

#[test]
fn push_response() {
    assert_json_snapshot!(PushResponse {
        last_seq: 10,
        results: vec![applied(7), applied(8), applied(9), applied(10)],
        halted: None,
    });
}

#[test]
fn push_response_halted_blob_missing() {
    // the submit (seq 10) waits for its photo: not consumed, `last_seq` stays at 9
    assert_json_snapshot!(PushResponse {
        last_seq: 9,
        results: vec![applied(7), applied(8), applied(9)],
        halted: Some(Halt {
            seq: 10,
            code: ErrorCode::BlobMissing,
            message: "Upload the receipt photo before submitting".to_owned(),
            missing_blobs: vec![PHOTO.to_owned()],
            retry_after_ms: None,
        }),
    });
}

#[test]
fn push_response_halted_unavailable() {
    assert_json_snapshot!(PushResponse {
        last_seq: 6,
        results: vec![],
        halted: Some(Halt {
            seq: 7,
            code: ErrorCode::Unavailable,
            message: "Database failover in progress".to_owned(),
            missing_blobs: vec![],
            retry_after_ms: Some(5000),
        }),
    });
}

// ---------------------------------------------------------------------------------------------
// Pull
// ---------------------------------------------------------------------------------------------

#[test]
fn pull_query() {
    assert_json_snapshot!(PullQuery {
        client_id: EMMAS_PHONE,
        cursor: 1187,
        results_after: Some(9),
        wait: Some(MAX_PULL_WAIT_SECS),
        limit: Some(500),
    });
}

#[test]
fn pull_query_first() {
    assert_json_snapshot!(PullQuery {
        client_id: EMMAS_PHONE,
        cursor: 0,
        results_after: None,
        wait: None,
        limit: None,
    });
}

#[test]
fn pull_response() {
    assert_json_snapshot!(PullResponse {
        cursor: 1203,
        has_more: false,
        reset: false,
        changes: vec![upsert(1203, Entity::Expense(rejected_expense()))],
        results: vec![janis_loses()],
        last_seq: 3,
        server_time: ts("2026-11-24T09:12:05.482913Z"),
    });
}

#[test]
fn pull_response_reset() {
    // a fresh start after access changed: drop the mirror, apply this page (cursor from 0)
    assert_json_snapshot!(PullResponse {
        cursor: 412,
        has_more: true,
        reset: true,
        changes: vec![
            upsert(15, Entity::Company(company())),
            upsert(16, Entity::ExpenseType(expense_type())),
            upsert(412, Entity::ApprovalRule(approval_rule())),
        ],
        results: vec![],
        last_seq: 10,
        server_time: ts("2026-11-23T14:07:00Z"),
    });
}

#[test]
fn change_upsert_company() {
    assert_json_snapshot!(upsert(15, Entity::Company(company())));
}

#[test]
fn change_upsert_expense_type() {
    assert_json_snapshot!(upsert(16, Entity::ExpenseType(expense_type())));
}

#[test]
fn change_upsert_payment_method() {
    assert_json_snapshot!(upsert(17, Entity::PaymentMethod(company_card())));
}

#[test]
fn change_upsert_payment_method_own_money() {
    assert_json_snapshot!(upsert(18, Entity::PaymentMethod(own_money())));
}

#[test]
fn change_upsert_approval_rule() {
    assert_json_snapshot!(upsert(412, Entity::ApprovalRule(approval_rule())));
}

#[test]
fn change_upsert_expense() {
    assert_json_snapshot!(upsert(1203, Entity::Expense(rejected_expense())));
}

#[test]
fn change_upsert_expense_draft() {
    // a fresh draft: empty `fields`; no pages, approval, decisions or submitted_at keys
    assert_json_snapshot!(upsert(
        1190,
        Entity::Expense(Expense {
            id: EXPENSE,
            company_id: ZALA_KAFIJA,
            created_by: EMMA,
            created_by_name: "Emma Ozola".to_owned(),
            document_type: DocumentType::Receipt,
            fields: ExpenseFields::default(),
            pages: vec![],
            status: ExpenseStatus::Draft,
            revision: 1,
            approval: None,
            decisions: vec![],
            created_at: ts("2026-11-23T14:05:00Z"),
            updated_at: ts("2026-11-23T14:05:00Z"),
            submitted_at: None,
            history: Vec::new(),
            export: None,
        })
    ));
}

#[test]
fn change_upsert_thread() {
    assert_json_snapshot!(upsert(1301, Entity::Thread(thread())));
}

#[test]
fn change_upsert_message() {
    assert_json_snapshot!(upsert(1302, Entity::Message(broadcast_copy())));
}

#[test]
fn change_upsert_message_read() {
    // no `id` on the wire: it is derived from message and reader
    assert_json_snapshot!(upsert(1310, Entity::MessageRead(message_read())));
}

#[test]
fn change_delete() {
    assert_json_snapshot!(Change {
        version: 1195,
        op: ChangeOp::Delete {
            kind: EntityKind::Expense,
            id: EXPENSE.as_uuid(),
        },
    });
}

// ---------------------------------------------------------------------------------------------
// Uploads and errors
// ---------------------------------------------------------------------------------------------

#[test]
fn upload_status_in_progress() {
    assert_json_snapshot!(UploadStatus {
        upload_id: UPLOAD,
        sha256: PHOTO.to_owned(),
        offset: 65_536,
        length: 182_733,
        complete: false,
    });
}

#[test]
fn upload_status_complete() {
    assert_json_snapshot!(UploadStatus {
        upload_id: UPLOAD,
        sha256: PHOTO.to_owned(),
        offset: 182_733,
        length: 182_733,
        complete: true,
    });
}

#[test]
fn error_seq_gap() {
    assert_json_snapshot!(ErrorBody {
        code: ErrorCode::SeqGap,
        message: "Push starts at seq 12; the next one expected is 8".to_owned(),
        details: Some(json!({"expected": 8})),
    });
}

#[test]
fn error_offset_mismatch() {
    assert_json_snapshot!(ErrorBody {
        code: ErrorCode::OffsetMismatch,
        message: "Upload is at offset 65536".to_owned(),
        details: Some(json!({"offset": 65536})),
    });
}

#[test]
fn error_unauthenticated() {
    // no details: the key is absent
    assert_json_snapshot!(ErrorBody {
        code: ErrorCode::Unauthenticated,
        message: "Session expired; sign in again".to_owned(),
        details: None,
    });
}

const BATCH: ExportBatchId = ExportBatchId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000b7));

#[test]
fn export_batch_and_mark() {
    assert_json_snapshot!(ExportBatch {
        id: BATCH,
        company_id: ZALA_KAFIJA,
        number: 7,
        from: Some("2026-11-01".parse().unwrap()),
        to: Some("2026-11-30".parse().unwrap()),
        status: ExportBatchStatus::Ready,
        documents: 42,
        bytes: Some(18_204_311),
        sha256: Some("9f".repeat(32)),
        file_name: "kvits-zala-kafija-export-7.zip".to_owned(),
        created_by: ILZE,
        created_by_name: "Ilze Kalniņa".to_owned(),
        created_at: ts("2026-12-02T09:15:00Z"),
        cancelled_at: None,
        cancelled_by_name: None,
        error: None,
    });
    // Exported again after a correction: the earlier export is kept to return to.
    assert_json_snapshot!(ExportMark {
        batch_id: BATCH,
        batch_number: 8,
        voucher: "8-003".to_owned(),
        at: ts("2026-12-09T10:00:00Z"),
        locked: true,
        changed: false,
        replaces: Some(Box::new(ExportMark {
            batch_id: BATCH,
            batch_number: 7,
            voucher: "7-012".to_owned(),
            at: ts("2026-12-02T09:15:00Z"),
            locked: false,
            changed: true,
            replaces: None,
        })),
    });
    assert_json_snapshot!(ExportRequest {
        from: Some("2026-11-01".parse().unwrap()),
        to: Some("2026-11-30".parse().unwrap()),
        documents: vec![EXPENSE],
        include_changed: true,
    });
}

#[test]
fn card_transaction_and_statement_import() {
    let payment = CardTransaction {
        id: CardTransactionId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000c1)),
        company_id: ZALA_KAFIJA,
        statement_id: StatementId(Uuid::from_u128(0x0193f0a0_0000_7000_8000_0000000000c2)),
        payment_method_id: None,
        holder_id: Some(EMMA),
        card_ref: "****4821".to_owned(),
        booked_on: "2026-11-04".parse().unwrap(),
        spent_on: "2026-11-03".parse().unwrap(),
        amount: Money {
            amount_minor: 2_315,
            currency: "EUR".to_owned(),
        },
        original_amount: Some(Money {
            amount_minor: 25_000,
            currency: "SEK".to_owned(),
        }),
        merchant: "ESPRESSO HOUSE STOCKHOLM".to_owned(),
        description: "CARD 4821 ESPRESSO HOUSE".to_owned(),
        bank_ref: Some("2026110400123".to_owned()),
        receipt: CardReceipt::Declared {
            reason: NoReceiptReason::Lost,
            note: Some("left on the train".to_owned()),
            by: EMMA,
            by_name: "Emma Employee".to_owned(),
            at: ts("2026-11-20T08:00:00Z"),
            accepted: Some(Accepted {
                by: ILZE,
                by_name: "Ilze Kalniņa".to_owned(),
                at: ts("2026-11-21T09:00:00Z"),
            }),
        },
        auto_match: false,
        imported_at: ts("2026-11-05T07:00:00Z"),
        updated_at: ts("2026-11-21T09:00:00Z"),
    };
    assert_json_snapshot!(payment);
    assert_json_snapshot!(StatementImportSummary {
        format: StatementFormat::Camt053,
        transactions: 41,
        new: 12,
        duplicates: 29,
        matched: 9,
        statement_id: Some(StatementId(Uuid::from_u128(
            0x0193f0a0_0000_7000_8000_0000000000c2
        ))),
        unknown_cards: vec!["****0042".to_owned()],
    });
}
