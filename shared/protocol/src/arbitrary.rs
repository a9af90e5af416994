//! [`proptest`](mod@proptest) strategies for every wire type, for property tests here and in
//! other crates (enable this crate's `proptest` feature in their `[dev-dependencies]`).
//!
//! Every value these strategies make survives a JSON round trip unchanged
//! (`serde_json::from_str(&serde_json::to_string(&x)?)? == x`):
//!
//! - timestamps are in 2000–2100 with whole-second or whole-microsecond precision;
//! - dates are in 2000–2100;
//! - `details` of [`ErrorBody`] are small JSON objects without floats (never a bare `null`,
//!   which reads back as `None`);
//! - strings are short but may hold any `char` (quotes, backslashes, control characters,
//!   astral-plane characters), so JSON escaping is exercised;
//! - the `Unknown` fallbacks of [`ErrorCode`], [`RejectCode`] and [`ConflictCode`] are
//!   included: they are written as `"unknown"` and read back as `Unknown`;
//!
//! Collections are kept small (a few elements) so that properties run in milliseconds.

use chrono::{DateTime, NaiveDate};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use uuid::Uuid;

use crate::{
    AcceptInvitationRequest, Accepted, Approval, ApprovalRule, ApprovalRuleId, ApprovalStep,
    Attachment, CardReceipt, CardTransaction, CardTransactionId, Change, ChangeOp, ClientId,
    ClientSummary, ClientsOverview, Company, CompanyDetails, CompanyId, ConflictCode, CsvSeparator,
    Date, DecimalMark, Decision, DecisionKind, DocumentType, Entity, EntityKind, ErrorBody,
    ErrorCode, Expense, ExpenseField, ExpenseFields, ExpenseId, ExpenseStatus, ExpenseType,
    ExpenseTypeId, ExportBatchId, ExportMark, FieldChange, Firm, FirmId, FirmSettings, FirmSummary,
    Halt, HistoryAction, HistoryEntry, Invitation, InvitationId, InviteStaffRequest,
    InviteUserRequest, LoginRequest, LoginResponse, MAX_PULL_LIMIT, MAX_PULL_WAIT_SECS, Member,
    Membership, Message, MessageId, MessageRead, Money, Mutation, MutationResult, NoReceiptReason,
    OpenCompanyRequest, Outcome, PaymentKind, PaymentMethod, PaymentMethodId, PendingInvitation,
    PendingMutation, PullQuery, PullResponse, PushRequest, PushResponse, ReceiptPage, RejectCode,
    Role, Session, SetRolesRequest, SetStaffRequest, StaffMember, StaffRole, StatementId, Thread,
    ThreadId, Timestamp, UploadId, UploadStatus, UserId, UserSummary, VatLine,
};

// ---------------------------------------------------------------------------------------------
// Primitives
// ---------------------------------------------------------------------------------------------

/// 2000-01-01T00:00:00Z as a Unix timestamp.
const MIN_SECS: i64 = 946_684_800;
/// 2100-01-01T00:00:00Z as a Unix timestamp.
const MAX_SECS: i64 = 4_102_444_800;

/// Any UUID (all 128 bits random, so not necessarily a valid v4/v7).
pub fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

macro_rules! id_strategies {
    ($($fn_name:ident => $ty:ident),* $(,)?) => {$(
        #[doc = concat!("Any [`", stringify!($ty), "`].")]
        pub fn $fn_name() -> impl Strategy<Value = $ty> {
            uuid().prop_map($ty)
        }
    )*};
}

id_strategies!(
    firm_id => FirmId,
    company_id => CompanyId,
    user_id => UserId,
    client_id => ClientId,
    expense_id => ExpenseId,
    expense_type_id => ExpenseTypeId,
    payment_method_id => PaymentMethodId,
    approval_rule_id => ApprovalRuleId,
    thread_id => ThreadId,
    message_id => MessageId,
    upload_id => UploadId,
    invitation_id => InvitationId,
    export_batch_id => ExportBatchId,
    card_transaction_id => CardTransactionId,
    statement_id => StatementId,
);

/// A UTC timestamp in 2000–2100 with whole-second or whole-microsecond precision (what a
/// database `timestamptz` keeps), so it survives an RFC 3339 round trip.
pub fn timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        (MIN_SECS..MAX_SECS).prop_map(|s| DateTime::from_timestamp(s, 0)),
        (MIN_SECS * 1_000_000..MAX_SECS * 1_000_000).prop_map(DateTime::from_timestamp_micros),
    ]
    .prop_filter_map("timestamp in chrono's range", |t| t)
}

/// A calendar date in 2000–2100.
pub fn date() -> impl Strategy<Value = Date> {
    (2000i32..=2100, 1u32..=12, 1u32..=31).prop_filter_map("a real calendar day", |(y, m, d)| {
        NaiveDate::from_ymd_opt(y, m, d)
    })
}

/// A short string of any `char`s (0–16 of them), including quotes, backslashes, control and
/// non-BMP characters, to exercise JSON escaping.
pub fn text() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..16).prop_map(String::from_iter)
}

/// A plausible e-mail address.
pub fn email() -> impl Strategy<Value = String> {
    "[a-z][a-z.]{0,10}@[a-z]{1,10}\\.(lv|com|eu)"
}

/// A lower-case hex SHA-256 (64 characters), as blobs are named.
pub fn sha256_hex() -> impl Strategy<Value = String> {
    "[0-9a-f]{64}"
}

/// An ISO 4217-shaped currency code (three upper-case letters).
pub fn currency() -> impl Strategy<Value = String> {
    prop_oneof![
        // Real currencies with 2, 0 and 3 decimals, and any three capitals (mostly no currency).
        3 => select(
            ["EUR", "PLN", "SEK", "JPY", "BHD"]
                .map(str::to_owned)
                .to_vec()
        ),
        1 => "[A-Z]{3}",
    ]
}

/// A content type of an uploaded file.
pub fn content_type() -> impl Strategy<Value = String> {
    select(vec![
        "image/jpeg".to_owned(),
        "image/png".to_owned(),
        "image/webp".to_owned(),
        "application/pdf".to_owned(),
    ])
}

/// A small JSON object of error details: up to four snake_case keys whose values are
/// `null`, booleans, integers, strings or short arrays of those. No floats (whose text form
/// need not read back bit-identical) and never a bare `null` (which reads back as `None`).
pub fn json_details() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    let value = prop_oneof![
        3 => leaf.clone(),
        1 => vec(leaf, 0..3).prop_map(Value::Array),
    ];
    btree_map("[a-z][a-z_]{0,11}", value, 0..4).prop_map(|m| Value::Object(m.into_iter().collect()))
}

// ---------------------------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------------------------

/// Any [`Role`].
pub fn role() -> impl Strategy<Value = Role> {
    select(Role::ALL.to_vec())
}

/// Zero to three roles (duplicates possible: the wire type does not forbid them).
pub fn roles() -> impl Strategy<Value = Vec<Role>> {
    vec(role(), 0..4)
}

/// Any [`LoginRequest`].
pub fn login_request() -> impl Strategy<Value = LoginRequest> {
    (email(), text(), option::of(client_id()), option::of(text())).prop_map(
        |(email, password, client_id, device_name)| LoginRequest {
            email,
            password,
            client_id,
            device_name,
        },
    )
}

/// Any [`UserSummary`].
pub fn user_summary() -> impl Strategy<Value = UserSummary> {
    (user_id(), text(), email()).prop_map(|(id, name, email)| UserSummary { id, name, email })
}

/// Any [`FirmSummary`].
pub fn firm_summary() -> impl Strategy<Value = FirmSummary> {
    (firm_id(), text()).prop_map(|(id, name)| FirmSummary { id, name })
}

/// Any [`Membership`].
pub fn membership() -> impl Strategy<Value = Membership> {
    (company_id(), text(), roles(), any::<bool>()).prop_map(
        |(company_id, company_name, roles, active)| Membership {
            company_id,
            company_name,
            roles,
            active,
        },
    )
}

/// Any [`StaffRole`].
pub fn staff_role() -> impl Strategy<Value = StaffRole> {
    select(vec![StaffRole::Accountant, StaffRole::FirmAdmin])
}

/// Any [`Session`] (up to three memberships).
pub fn session() -> impl Strategy<Value = Session> {
    (
        user_summary(),
        firm_summary(),
        vec(membership(), 0..4),
        option::of(staff_role()),
    )
        .prop_map(|(user, firm, memberships, staff)| Session {
            user,
            firm,
            memberships,
            staff,
        })
}

/// Any [`LoginResponse`].
pub fn login_response() -> impl Strategy<Value = LoginResponse> {
    ("[A-Za-z0-9_-]{16,43}", session())
        .prop_map(|(token, session)| LoginResponse { token, session })
}

/// Optional short texts (registration and VAT numbers, country, time zone).
fn maybe_text() -> impl Strategy<Value = Option<String>> {
    option::of(text())
}

/// Any [`CompanyDetails`].
pub fn company_details() -> impl Strategy<Value = CompanyDetails> {
    (
        text(),
        currency(),
        maybe_text(),
        maybe_text(),
        maybe_text(),
        maybe_text(),
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                name,
                base_currency,
                registration_number,
                vat_number,
                country,
                time_zone,
                (active, allow_self_approval),
            )| {
                CompanyDetails {
                    name,
                    base_currency,
                    registration_number,
                    vat_number,
                    country,
                    time_zone,
                    active,
                    allow_self_approval,
                }
            },
        )
}

/// Any [`OpenCompanyRequest`].
pub fn open_company_request() -> impl Strategy<Value = OpenCompanyRequest> {
    (client_id(), company_id()).prop_map(|(client_id, company_id)| OpenCompanyRequest {
        client_id,
        company_id,
    })
}

/// Any [`ClientSummary`].
pub fn client_summary() -> impl Strategy<Value = ClientSummary> {
    (
        (
            company_id(),
            text(),
            any::<bool>(),
            maybe_text(),
            currency(),
        ),
        (any::<bool>(), any::<u32>(), any::<u32>(), any::<u32>()),
        (any::<u32>(), any::<u32>(), any::<u32>()),
    )
        .prop_map(
            |(
                (company_id, name, active, country, base_currency),
                (assigned_to_me, to_review, waiting_for_approval, returned),
                (ready_for_export, unread_replies, missing_receipts),
            )| ClientSummary {
                company_id,
                name,
                active,
                country,
                base_currency,
                assigned_to_me,
                to_review,
                waiting_for_approval,
                returned,
                ready_for_export,
                unread_replies,
                missing_receipts,
            },
        )
}

/// Any [`ClientsOverview`] (up to three clients).
pub fn clients_overview() -> impl Strategy<Value = ClientsOverview> {
    vec(client_summary(), 0..4).prop_map(|clients| ClientsOverview { clients })
}

/// Any [`StaffMember`].
pub fn staff_member() -> impl Strategy<Value = StaffMember> {
    (
        user_id(),
        text(),
        email(),
        staff_role(),
        vec(company_id(), 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(user_id, name, email, role, assigned, invited, disabled)| StaffMember {
                user_id,
                name,
                email,
                role,
                assigned,
                invited,
                disabled,
            },
        )
}

/// Any [`Firm`] (up to three staff).
pub fn firm() -> impl Strategy<Value = Firm> {
    (
        firm_id(),
        text(),
        firm_settings(),
        vec(staff_member(), 0..4),
        vec(pending_invitation(), 0..3),
    )
        .prop_map(|(id, name, settings, staff, invitations)| Firm {
            id,
            name,
            settings,
            staff,
            invitations,
        })
}

/// Any [`FirmSettings`].
pub fn firm_settings() -> impl Strategy<Value = FirmSettings> {
    (
        any::<bool>(),
        select(vec![
            CsvSeparator::Comma,
            CsvSeparator::Semicolon,
            CsvSeparator::Tab,
        ]),
        select(vec![DecimalMark::Point, DecimalMark::Comma]),
    )
        .prop_map(
            |(assigned_clients_only, csv_separator, decimal_mark)| FirmSettings {
                assigned_clients_only,
                csv_separator,
                decimal_mark,
            },
        )
}

/// Any [`InviteStaffRequest`].
pub fn invite_staff_request() -> impl Strategy<Value = InviteStaffRequest> {
    (email(), text(), staff_role(), vec(company_id(), 0..3)).prop_map(
        |(email, name, role, assigned)| InviteStaffRequest {
            email,
            name,
            role,
            assigned,
        },
    )
}

/// Any [`SetStaffRequest`].
pub fn set_staff_request() -> impl Strategy<Value = SetStaffRequest> {
    (staff_role(), vec(company_id(), 0..3))
        .prop_map(|(role, assigned)| SetStaffRequest { role, assigned })
}

/// Any [`InviteUserRequest`].
pub fn invite_user_request() -> impl Strategy<Value = InviteUserRequest> {
    (email(), text(), roles()).prop_map(|(email, name, roles)| InviteUserRequest {
        email,
        name,
        roles,
    })
}

/// Any [`Invitation`].
pub fn invitation() -> impl Strategy<Value = Invitation> {
    (invitation_id(), text(), text(), timestamp()).prop_map(|(id, token, link, expires_at)| {
        Invitation {
            id,
            token,
            link,
            expires_at,
        }
    })
}

/// Any [`PendingInvitation`]: into a company (roles) or into the staff (a role and clients).
pub fn pending_invitation() -> impl Strategy<Value = PendingInvitation> {
    (
        invitation_id(),
        email(),
        text(),
        prop_oneof![
            roles().prop_map(|roles| (roles, None, Vec::new())),
            (staff_role(), vec(company_id(), 0..3)).prop_map(|(role, assigned)| (
                Vec::new(),
                Some(role),
                assigned
            )),
        ],
        timestamp(),
    )
        .prop_map(
            |(id, email, name, (roles, staff_role, assigned), expires_at)| PendingInvitation {
                id,
                email,
                name,
                roles,
                staff_role,
                assigned,
                expires_at,
            },
        )
}

/// Any [`AcceptInvitationRequest`].
pub fn accept_invitation_request() -> impl Strategy<Value = AcceptInvitationRequest> {
    (text(), text(), option::of(client_id()), option::of(text())).prop_map(
        |(token, password, client_id, device_name)| AcceptInvitationRequest {
            token,
            password,
            client_id,
            device_name,
        },
    )
}

/// Any [`SetRolesRequest`].
pub fn set_roles_request() -> impl Strategy<Value = SetRolesRequest> {
    roles().prop_map(|roles| SetRolesRequest { roles })
}

// ---------------------------------------------------------------------------------------------
// Entities
// ---------------------------------------------------------------------------------------------

/// Any [`EntityKind`].
pub fn entity_kind() -> impl Strategy<Value = EntityKind> {
    select(EntityKind::ALL.to_vec())
}

/// Any [`PaymentKind`].
pub fn payment_kind() -> impl Strategy<Value = PaymentKind> {
    prop_oneof![Just(PaymentKind::CompanyCard), Just(PaymentKind::OwnMoney)]
}

/// Any [`DocumentType`].
pub fn document_type() -> impl Strategy<Value = DocumentType> {
    prop_oneof![
        Just(DocumentType::Receipt),
        Just(DocumentType::Invoice),
        Just(DocumentType::Other),
    ]
}

/// Any [`ExpenseStatus`].
pub fn expense_status() -> impl Strategy<Value = ExpenseStatus> {
    prop_oneof![
        Just(ExpenseStatus::Draft),
        Just(ExpenseStatus::Submitted),
        Just(ExpenseStatus::Approved),
        Just(ExpenseStatus::Rejected),
        Just(ExpenseStatus::Returned),
        Just(ExpenseStatus::Reviewed),
        Just(ExpenseStatus::Exporting),
        Just(ExpenseStatus::Exported),
    ]
}

/// Any [`ExportMark`] (one repeated export deep at most).
pub fn export_mark() -> impl Strategy<Value = ExportMark> {
    let one = || {
        (
            export_batch_id(),
            any::<u32>(),
            text(),
            timestamp(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(batch_id, batch_number, voucher, at, locked, changed)| {
                ExportMark {
                    batch_id,
                    batch_number,
                    voucher,
                    at,
                    locked,
                    changed,
                    replaces: None,
                }
            })
    };
    (one(), option::of(one())).prop_map(|(mark, replaces)| ExportMark {
        replaces: replaces.map(Box::new),
        ..mark
    })
}

/// Any [`VatLine`].
pub fn vat_line() -> impl Strategy<Value = VatLine> {
    (any::<u32>(), any::<i64>(), any::<i64>()).prop_map(|(rate_bp, net_minor, vat_minor)| VatLine {
        rate_bp,
        net_minor,
        vat_minor,
    })
}

/// Any [`HistoryAction`].
pub fn history_action() -> impl Strategy<Value = HistoryAction> {
    select(vec![
        HistoryAction::Created,
        HistoryAction::Edited,
        HistoryAction::Submitted,
        HistoryAction::Approved,
        HistoryAction::Rejected,
        HistoryAction::Returned,
        HistoryAction::Answered,
        HistoryAction::Corrected,
        HistoryAction::Reviewed,
        HistoryAction::ExportStarted,
        HistoryAction::Exported,
        HistoryAction::ExportCancelled,
        HistoryAction::Unlocked,
        HistoryAction::CardMatched,
        HistoryAction::CardUnmatched,
    ])
}

/// Any [`ExpenseField`].
pub fn expense_field() -> impl Strategy<Value = ExpenseField> {
    select(vec![
        ExpenseField::DocumentType,
        ExpenseField::ExpenseType,
        ExpenseField::PaymentMethod,
        ExpenseField::Amount,
        ExpenseField::BaseAmount,
        ExpenseField::Date,
        ExpenseField::Merchant,
        ExpenseField::Note,
        ExpenseField::Vat,
        ExpenseField::AccountCode,
        ExpenseField::Pages,
    ])
}

/// Any [`HistoryEntry`] (up to two field changes).
pub fn history_entry() -> impl Strategy<Value = HistoryEntry> {
    (
        timestamp(),
        user_id(),
        text(),
        history_action(),
        vec(
            (expense_field(), option::of(text()), option::of(text())).prop_map(
                |(field, before, after)| FieldChange {
                    field,
                    before,
                    after,
                },
            ),
            0..3,
        ),
        option::of(text()),
    )
        .prop_map(|(at, by, by_name, action, fields, note)| HistoryEntry {
            at,
            by,
            by_name,
            action,
            fields,
            note,
        })
}

/// Any [`DecisionKind`].
pub fn decision_kind() -> impl Strategy<Value = DecisionKind> {
    prop_oneof![
        Just(DecisionKind::Approve),
        Just(DecisionKind::Reject),
        Just(DecisionKind::Return),
    ]
}

/// Any [`Member`].
pub fn member() -> impl Strategy<Value = Member> {
    (user_id(), text(), email(), roles(), any::<bool>()).prop_map(
        |(user_id, name, email, roles, disabled)| Member {
            user_id,
            name,
            email,
            roles,
            disabled,
        },
    )
}

/// Any [`Company`] (up to three members).
pub fn company() -> impl Strategy<Value = Company> {
    (
        company_id(),
        firm_id(),
        text(),
        currency(),
        vec(member(), 0..4),
        vec(pending_invitation(), 0..3),
    )
        .prop_flat_map(|(id, firm_id, name, base_currency, members, invitations)| {
            (
                maybe_text(),
                maybe_text(),
                maybe_text(),
                maybe_text(),
                (any::<bool>(), any::<bool>()),
            )
                .prop_map(
                    move |(
                        registration_number,
                        vat_number,
                        country,
                        time_zone,
                        (active, allow_self_approval),
                    )| Company {
                        id,
                        firm_id,
                        name: name.clone(),
                        base_currency: base_currency.clone(),
                        members: members.clone(),
                        invitations: invitations.clone(),
                        registration_number,
                        vat_number,
                        country,
                        time_zone,
                        active,
                        allow_self_approval,
                    },
                )
        })
}

/// Any [`ExpenseType`].
pub fn expense_type() -> impl Strategy<Value = ExpenseType> {
    (
        expense_type_id(),
        company_id(),
        "[0-9]{4}",
        text(),
        any::<bool>(),
    )
        .prop_map(|(id, company_id, code, name, active)| ExpenseType {
            id,
            company_id,
            code,
            name,
            active,
        })
}

/// Any [`PaymentMethod`].
pub fn payment_method() -> impl Strategy<Value = PaymentMethod> {
    (
        payment_method_id(),
        company_id(),
        payment_kind(),
        text(),
        option::of("[0-9]{4}"),
        option::of(user_id()),
        any::<bool>(),
        option::of("[A-Z]{2}[0-9]{2}[A-Z0-9]{4,12}"),
    )
        .prop_map(
            |(id, company_id, payment_kind, label, last_four, holder_id, active, statement_ref)| {
                PaymentMethod {
                    id,
                    company_id,
                    payment_kind,
                    label,
                    last_four,
                    holder_id,
                    active,
                    statement_ref,
                }
            },
        )
}

/// Any [`ApprovalStep`] (one to three approvers).
pub fn approval_step() -> impl Strategy<Value = ApprovalStep> {
    vec(user_id(), 1..4).prop_map(|approver_ids| ApprovalStep { approver_ids })
}

/// Any [`ApprovalRule`] (one to three steps).
pub fn approval_rule() -> impl Strategy<Value = ApprovalRule> {
    (
        (
            approval_rule_id(),
            company_id(),
            text(),
            any::<i32>(),
            any::<bool>(),
        ),
        (
            option::of(document_type()),
            vec(expense_type_id(), 0..3),
            option::of(any::<i64>()),
            option::of(any::<i64>()),
            currency(),
            vec(approval_step(), 1..4),
        ),
    )
        .prop_map(
            |(
                (id, company_id, name, position, active),
                (
                    document_type,
                    expense_type_ids,
                    min_amount_minor,
                    max_amount_minor,
                    currency,
                    steps,
                ),
            )| ApprovalRule {
                id,
                company_id,
                name,
                position,
                active,
                document_type,
                expense_type_ids,
                min_amount_minor,
                max_amount_minor,
                currency,
                steps,
            },
        )
}

/// Any [`Money`] (any `i64` amount, negative ones included).
pub fn money() -> impl Strategy<Value = Money> {
    (any::<i64>(), currency()).prop_map(|(amount_minor, currency)| Money {
        amount_minor,
        currency,
    })
}

/// Any [`ExpenseFields`] (each field independently present or absent).
pub fn expense_fields() -> impl Strategy<Value = ExpenseFields> {
    (
        option::of(expense_type_id()),
        option::of(payment_method_id()),
        option::of(money()),
        option::of(money()),
        option::of(date()),
        option::of(text()),
        option::of(text()),
        vec(vat_line(), 0..3),
        option::of(text()),
    )
        .prop_map(
            |(
                expense_type_id,
                payment_method_id,
                amount,
                base_amount,
                date,
                merchant,
                note,
                vat,
                account_code,
            )| {
                ExpenseFields {
                    expense_type_id,
                    payment_method_id,
                    amount,
                    base_amount,
                    date,
                    merchant,
                    note,
                    vat,
                    account_code,
                }
            },
        )
}

/// Any [`ReceiptPage`].
pub fn receipt_page() -> impl Strategy<Value = ReceiptPage> {
    (
        sha256_hex(),
        any::<u64>(),
        content_type(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(sha256, size, content_type, width, height)| ReceiptPage {
            sha256,
            size,
            content_type,
            width,
            height,
        })
}

/// Any [`Decision`].
pub fn decision() -> impl Strategy<Value = Decision> {
    (
        decision_kind(),
        any::<u32>(),
        any::<u32>(),
        user_id(),
        text(),
        timestamp(),
        option::of(text()),
    )
        .prop_map(|(kind, step, revision, by, by_name, at, reason)| Decision {
            kind,
            step,
            revision,
            by,
            by_name,
            at,
            reason,
        })
}

/// Any [`Approval`].
pub fn approval() -> impl Strategy<Value = Approval> {
    (
        approval_rule_id(),
        text(),
        vec(approval_step(), 1..4),
        any::<u32>(),
    )
        .prop_map(|(rule_id, rule_name, steps, current_step)| Approval {
            rule_id,
            rule_name,
            steps,
            current_step,
        })
}

/// Any [`Expense`] (the fields are independent: a draft may carry decisions; the wire type
/// does not enforce the life cycle).
pub fn expense() -> impl Strategy<Value = Expense> {
    (
        (
            expense_id(),
            company_id(),
            user_id(),
            text(),
            document_type(),
            expense_fields(),
            vec(receipt_page(), 0..3),
        ),
        (
            expense_status(),
            any::<u32>(),
            option::of(approval()),
            vec(decision(), 0..3),
            timestamp(),
            timestamp(),
            option::of(timestamp()),
            vec(history_entry(), 0..3),
            option::of(export_mark()),
        ),
    )
        .prop_map(
            |(
                (id, company_id, created_by, created_by_name, document_type, fields, pages),
                (
                    status,
                    revision,
                    approval,
                    decisions,
                    created_at,
                    updated_at,
                    submitted_at,
                    history,
                    export,
                ),
            )| Expense {
                id,
                company_id,
                created_by,
                created_by_name,
                document_type,
                fields,
                pages,
                status,
                revision,
                approval,
                decisions,
                created_at,
                updated_at,
                submitted_at,
                history,
                export,
            },
        )
}

/// Any [`Thread`].
pub fn thread() -> impl Strategy<Value = Thread> {
    (
        thread_id(),
        company_id(),
        text(),
        user_id(),
        timestamp(),
        option::of(message_id()),
        timestamp(),
    )
        .prop_map(
            |(id, company_id, subject, created_by, created_at, broadcast_id, last_message_at)| {
                Thread {
                    id,
                    company_id,
                    subject,
                    created_by,
                    created_at,
                    broadcast_id,
                    last_message_at,
                }
            },
        )
}

/// Any [`Attachment`].
pub fn attachment() -> impl Strategy<Value = Attachment> {
    (sha256_hex(), any::<u64>(), content_type(), text()).prop_map(
        |(sha256, size, content_type, file_name)| Attachment {
            sha256,
            size,
            content_type,
            file_name,
        },
    )
}

/// Any [`Message`].
pub fn message() -> impl Strategy<Value = Message> {
    (
        message_id(),
        thread_id(),
        company_id(),
        user_id(),
        text(),
        text(),
        option::of(attachment()),
        timestamp(),
    )
        .prop_map(
            |(id, thread_id, company_id, author_id, author_name, body, attachment, created_at)| {
                Message {
                    id,
                    thread_id,
                    company_id,
                    author_id,
                    author_name,
                    body,
                    attachment,
                    created_at,
                }
            },
        )
}

/// Any [`MessageRead`].
pub fn message_read() -> impl Strategy<Value = MessageRead> {
    (
        message_id(),
        thread_id(),
        company_id(),
        user_id(),
        timestamp(),
    )
        .prop_map(
            |(message_id, thread_id, company_id, user_id, read_at)| MessageRead {
                message_id,
                thread_id,
                company_id,
                user_id,
                read_at,
            },
        )
}

/// Any [`NoReceiptReason`].
pub fn no_receipt_reason() -> impl Strategy<Value = NoReceiptReason> {
    prop_oneof![
        Just(NoReceiptReason::Lost),
        Just(NoReceiptReason::NoneIssued)
    ]
}

/// Any [`CardReceipt`].
pub fn card_receipt() -> impl Strategy<Value = CardReceipt> {
    let accepted =
        (user_id(), text(), timestamp()).prop_map(|(by, by_name, at)| Accepted { by, by_name, at });
    prop_oneof![
        Just(CardReceipt::Missing),
        (expense_id(), option::of(user_id()), timestamp())
            .prop_map(|(expense_id, by, at)| { CardReceipt::Matched { expense_id, by, at } }),
        (
            no_receipt_reason(),
            option::of(text()),
            user_id(),
            text(),
            timestamp(),
            option::of(accepted),
        )
            .prop_map(|(reason, note, by, by_name, at, accepted)| {
                CardReceipt::Declared {
                    reason,
                    note,
                    by,
                    by_name,
                    at,
                    accepted,
                }
            }),
    ]
}

/// Any [`CardTransaction`].
pub fn card_transaction() -> impl Strategy<Value = CardTransaction> {
    (
        (
            card_transaction_id(),
            company_id(),
            statement_id(),
            option::of(payment_method_id()),
            option::of(user_id()),
            text(),
            date(),
            date(),
        ),
        (
            money(),
            option::of(money()),
            text(),
            text(),
            option::of(text()),
            card_receipt(),
            any::<bool>(),
            timestamp(),
            timestamp(),
        ),
    )
        .prop_map(
            |(
                (
                    id,
                    company_id,
                    statement_id,
                    payment_method_id,
                    holder_id,
                    card_ref,
                    booked_on,
                    spent_on,
                ),
                (
                    amount,
                    original_amount,
                    merchant,
                    description,
                    bank_ref,
                    receipt,
                    auto_match,
                    imported_at,
                    updated_at,
                ),
            )| CardTransaction {
                id,
                company_id,
                statement_id,
                payment_method_id,
                holder_id,
                card_ref,
                booked_on,
                spent_on,
                amount,
                original_amount,
                merchant,
                description,
                bank_ref,
                receipt,
                auto_match,
                imported_at,
                updated_at,
            },
        )
}

/// An [`Entity`] of any kind.
pub fn entity() -> impl Strategy<Value = Entity> {
    prop_oneof![
        1 => company().prop_map(Entity::Company),
        1 => expense_type().prop_map(Entity::ExpenseType),
        1 => payment_method().prop_map(Entity::PaymentMethod),
        1 => approval_rule().prop_map(Entity::ApprovalRule),
        // expenses are what the app is about: weigh them up
        2 => expense().prop_map(Entity::Expense),
        1 => thread().prop_map(Entity::Thread),
        1 => message().prop_map(Entity::Message),
        1 => message_read().prop_map(Entity::MessageRead),
        1 => card_transaction().prop_map(Entity::CardTransaction),
    ]
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/// Any [`Mutation`] of any variant.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (
            expense_id(),
            company_id(),
            document_type(),
            expense_fields()
        )
            .prop_map(|(expense_id, company_id, document_type, fields)| {
                Mutation::CreateExpense {
                    expense_id,
                    company_id,
                    document_type,
                    fields,
                }
            }),
        (expense_id(), expense_fields())
            .prop_map(|(expense_id, fields)| { Mutation::SetExpenseFields { expense_id, fields } }),
        (expense_id(), document_type()).prop_map(|(expense_id, document_type)| {
            Mutation::SetDocumentType {
                expense_id,
                document_type,
            }
        }),
        (expense_id(), vec(receipt_page(), 0..3))
            .prop_map(|(expense_id, pages)| Mutation::AttachReceipt { expense_id, pages }),
        expense_id().prop_map(|expense_id| Mutation::SubmitExpense { expense_id }),
        expense_id().prop_map(|expense_id| Mutation::DeleteExpense { expense_id }),
        (
            expense_id(),
            any::<u32>(),
            decision_kind(),
            option::of(text())
        )
            .prop_map(|(expense_id, seen_revision, decision, reason)| {
                Mutation::DecideExpense {
                    expense_id,
                    seen_revision,
                    decision,
                    reason,
                }
            }),
        (
            expense_id(),
            any::<u32>(),
            expense_type_id(),
            vec(vat_line(), 0..3),
            option::of(text()),
        )
            .prop_map(
                |(expense_id, seen_revision, expense_type_id, vat, account_code)| {
                    Mutation::CorrectExpense {
                        expense_id,
                        seen_revision,
                        expense_type_id,
                        vat,
                        account_code,
                    }
                }
            ),
        (expense_id(), any::<u32>(), text()).prop_map(|(expense_id, seen_revision, question)| {
            Mutation::ReturnExpense {
                expense_id,
                seen_revision,
                question,
            }
        }),
        (expense_id(), text())
            .prop_map(|(expense_id, answer)| Mutation::AnswerExpense { expense_id, answer }),
        (expense_id(), any::<u32>()).prop_map(|(expense_id, seen_revision)| {
            Mutation::MarkReviewed {
                expense_id,
                seen_revision,
            }
        }),
        (
            expense_id(),
            any::<u32>(),
            export_batch_id(),
            any::<u32>(),
            text()
        )
            .prop_map(
                |(expense_id, seen_revision, batch_id, batch_number, voucher)| {
                    Mutation::StartExport {
                        expense_id,
                        seen_revision,
                        batch_id,
                        batch_number,
                        voucher,
                    }
                }
            ),
        (expense_id(), export_batch_id()).prop_map(|(expense_id, batch_id)| {
            Mutation::FinishExport {
                expense_id,
                batch_id,
            }
        }),
        (expense_id(), export_batch_id()).prop_map(|(expense_id, batch_id)| {
            Mutation::CancelExport {
                expense_id,
                batch_id,
            }
        }),
        (expense_id(), any::<u32>()).prop_map(|(expense_id, seen_revision)| {
            Mutation::UnlockExpense {
                expense_id,
                seen_revision,
            }
        }),
        (
            message_id(),
            vec(company_id(), 1..4),
            text(),
            text(),
            option::of(attachment()),
        )
            .prop_map(|(message_id, company_ids, subject, body, attachment)| {
                Mutation::SendMessage {
                    message_id,
                    company_ids,
                    subject,
                    body,
                    attachment,
                }
            }),
        (message_id(), thread_id(), text(), option::of(attachment())).prop_map(
            |(message_id, thread_id, body, attachment)| Mutation::ReplyMessage {
                message_id,
                thread_id,
                body,
                attachment,
            }
        ),
        (thread_id(), message_id())
            .prop_map(|(thread_id, up_to)| Mutation::MarkRead { thread_id, up_to }),
        (card_transaction_id(), expense_id()).prop_map(|(transaction_id, expense_id)| {
            Mutation::MatchCardTransaction {
                transaction_id,
                expense_id,
            }
        }),
        card_transaction_id()
            .prop_map(|transaction_id| Mutation::UnmatchCardTransaction { transaction_id }),
        (
            card_transaction_id(),
            no_receipt_reason(),
            option::of(text())
        )
            .prop_map(
                |(transaction_id, reason, note)| Mutation::DeclareNoReceipt {
                    transaction_id,
                    reason,
                    note,
                }
            ),
        card_transaction_id()
            .prop_map(|transaction_id| Mutation::AcceptNoReceipt { transaction_id }),
        expense_type().prop_map(Mutation::PutExpenseType),
        payment_method().prop_map(Mutation::PutPaymentMethod),
        approval_rule().prop_map(Mutation::PutApprovalRule),
    ]
}

/// Any [`PendingMutation`] (any `seq`; see [`outbox`] for a contiguous run).
pub fn pending_mutation() -> impl Strategy<Value = PendingMutation> {
    (any::<u64>(), timestamp(), mutation()).prop_map(|(seq, created_at, mutation)| {
        PendingMutation {
            seq,
            created_at,
            mutation,
        }
    })
}

/// Zero to four queued mutations with contiguous `seq`s (starting anywhere from 1 to 1000), as
/// a push carries them.
pub fn outbox() -> impl Strategy<Value = Vec<PendingMutation>> {
    (1u64..=1000, vec((timestamp(), mutation()), 0..5)).prop_map(|(first, items)| {
        (first..)
            .zip(items)
            .map(|(seq, (created_at, mutation))| PendingMutation {
                seq,
                created_at,
                mutation,
            })
            .collect()
    })
}

/// Every [`RejectCode`], [`RejectCode::Unknown`] last.
pub const ALL_REJECT_CODES: [RejectCode; 6] = [
    RejectCode::NotFound,
    RejectCode::Forbidden,
    RejectCode::Invalid,
    RejectCode::WrongState,
    RejectCode::IdTaken,
    RejectCode::Unknown,
];

/// Stops compiling when a code is added to [`RejectCode`]: add it to [`ALL_REJECT_CODES`] too.
const _: fn(RejectCode) = |code| match code {
    RejectCode::NotFound
    | RejectCode::Forbidden
    | RejectCode::Invalid
    | RejectCode::WrongState
    | RejectCode::IdTaken
    | RejectCode::Unknown => {}
};

/// Any [`RejectCode`], [`RejectCode::Unknown`] included.
pub fn reject_code() -> impl Strategy<Value = RejectCode> {
    select(ALL_REJECT_CODES.to_vec())
}

/// Every [`ConflictCode`], [`ConflictCode::Unknown`] last.
pub const ALL_CONFLICT_CODES: [ConflictCode; 3] = [
    ConflictCode::AlreadyDecided,
    ConflictCode::StaleRevision,
    ConflictCode::Unknown,
];

/// Stops compiling when a code is added to [`ConflictCode`]: add it to [`ALL_CONFLICT_CODES`]
/// too.
const _: fn(ConflictCode) = |code| match code {
    ConflictCode::AlreadyDecided | ConflictCode::StaleRevision | ConflictCode::Unknown => {}
};

/// Any [`ConflictCode`], [`ConflictCode::Unknown`] included.
pub fn conflict_code() -> impl Strategy<Value = ConflictCode> {
    select(ALL_CONFLICT_CODES.to_vec())
}

/// Any [`Outcome`] of any variant.
pub fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Applied),
        Just(Outcome::AlreadyApplied),
        (reject_code(), text()).prop_map(|(code, message)| Outcome::Rejected { code, message }),
        (conflict_code(), text(), option::of(decision())).prop_map(|(code, message, winner)| {
            Outcome::Conflict {
                code,
                message,
                winner,
            }
        }),
    ]
}

/// Any [`MutationResult`].
pub fn mutation_result() -> impl Strategy<Value = MutationResult> {
    (any::<u64>(), outcome()).prop_map(|(seq, outcome)| MutationResult { seq, outcome })
}

// ---------------------------------------------------------------------------------------------
// Sync
// ---------------------------------------------------------------------------------------------

/// A [`PushRequest`] whose mutations have contiguous `seq`s (see [`outbox`]).
pub fn push_request() -> impl Strategy<Value = PushRequest> {
    (client_id(), outbox()).prop_map(|(client_id, mutations)| PushRequest {
        client_id,
        mutations,
    })
}

/// Any [`Halt`].
pub fn halt() -> impl Strategy<Value = Halt> {
    (
        any::<u64>(),
        error_code(),
        text(),
        vec(sha256_hex(), 0..3),
        option::of(any::<u64>()),
    )
        .prop_map(|(seq, code, message, missing_blobs, retry_after_ms)| Halt {
            seq,
            code,
            message,
            missing_blobs,
            retry_after_ms,
        })
}

/// Any [`PushResponse`] (up to four results, maybe halted).
pub fn push_response() -> impl Strategy<Value = PushResponse> {
    (
        any::<u64>(),
        vec(mutation_result(), 0..5),
        option::of(halt()),
    )
        .prop_map(|(last_seq, results, halted)| PushResponse {
            last_seq,
            results,
            halted,
        })
}

/// A [`PullQuery`] within the protocol's limits (`wait` ≤ [`MAX_PULL_WAIT_SECS`], `limit` in
/// 1..=[`MAX_PULL_LIMIT`]).
pub fn pull_query() -> impl Strategy<Value = PullQuery> {
    (
        client_id(),
        any::<u64>(),
        option::of(any::<u64>()),
        option::of(0..=MAX_PULL_WAIT_SECS),
        option::of(1..=MAX_PULL_LIMIT),
    )
        .prop_map(
            |(client_id, cursor, results_after, wait, limit)| PullQuery {
                client_id,
                cursor,
                results_after,
                wait,
                limit,
            },
        )
}

/// A [`ChangeOp`]: an upsert of an [`entity`] or a deletion.
pub fn change_op() -> impl Strategy<Value = ChangeOp> {
    prop_oneof![
        3 => entity().prop_map(|entity| ChangeOp::Upsert { entity: Box::new(entity) }),
        1 => (entity_kind(), uuid()).prop_map(|(kind, id)| ChangeOp::Delete { kind, id }),
    ]
}

/// A [`Change`] (see [`change_op`]).
pub fn change() -> impl Strategy<Value = Change> {
    (any::<u64>(), change_op()).prop_map(|(version, op)| Change { version, op })
}

/// A [`PullResponse`] of up to four [`change`]s and three results.
pub fn pull_response() -> impl Strategy<Value = PullResponse> {
    (
        any::<u64>(),
        any::<bool>(),
        any::<bool>(),
        vec(change(), 0..5),
        vec(mutation_result(), 0..4),
        any::<u64>(),
        timestamp(),
    )
        .prop_map(
            |(cursor, has_more, reset, changes, results, last_seq, server_time)| PullResponse {
                cursor,
                has_more,
                reset,
                changes,
                results,
                last_seq,
                server_time,
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Uploads and errors
// ---------------------------------------------------------------------------------------------

/// Any [`UploadStatus`] (`offset` ≤ `length`; `complete` independent of them).
pub fn upload_status() -> impl Strategy<Value = UploadStatus> {
    (
        upload_id(),
        sha256_hex(),
        any::<u64>(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(|(upload_id, sha256, a, b, complete)| UploadStatus {
            upload_id,
            sha256,
            offset: a.min(b),
            length: a.max(b),
            complete,
        })
}

/// Every [`ErrorCode`], [`ErrorCode::Unknown`] last.
pub const ALL_ERROR_CODES: [ErrorCode; 28] = [
    ErrorCode::BadRequest,
    ErrorCode::Unauthenticated,
    ErrorCode::BadCredentials,
    ErrorCode::Forbidden,
    ErrorCode::CompanyInactive,
    ErrorCode::AccountDisabled,
    ErrorCode::NotFound,
    ErrorCode::SeqGap,
    ErrorCode::ClientStateLost,
    ErrorCode::OffsetMismatch,
    ErrorCode::AlreadyExists,
    ErrorCode::TimedOut,
    ErrorCode::Gone,
    ErrorCode::TooLarge,
    ErrorCode::UnsupportedMediaType,
    ErrorCode::InvalidImage,
    ErrorCode::InvalidDocument,
    ErrorCode::HashMismatch,
    ErrorCode::RangeNotSatisfiable,
    ErrorCode::RateLimited,
    ErrorCode::UpgradeRequired,
    ErrorCode::ChecksumMismatch,
    ErrorCode::BlobMissing,
    ErrorCode::Unavailable,
    ErrorCode::QuotaExceeded,
    ErrorCode::InsufficientStorage,
    ErrorCode::Internal,
    ErrorCode::Unknown,
];

/// Stops compiling when a code is added to [`ErrorCode`]: add it to [`ALL_ERROR_CODES`] too.
const _: fn(ErrorCode) = |code| match code {
    ErrorCode::BadRequest
    | ErrorCode::Unauthenticated
    | ErrorCode::BadCredentials
    | ErrorCode::Forbidden
    | ErrorCode::CompanyInactive
    | ErrorCode::AccountDisabled
    | ErrorCode::NotFound
    | ErrorCode::SeqGap
    | ErrorCode::ClientStateLost
    | ErrorCode::OffsetMismatch
    | ErrorCode::AlreadyExists
    | ErrorCode::TimedOut
    | ErrorCode::Gone
    | ErrorCode::TooLarge
    | ErrorCode::UnsupportedMediaType
    | ErrorCode::InvalidImage
    | ErrorCode::InvalidDocument
    | ErrorCode::HashMismatch
    | ErrorCode::RangeNotSatisfiable
    | ErrorCode::RateLimited
    | ErrorCode::UpgradeRequired
    | ErrorCode::ChecksumMismatch
    | ErrorCode::BlobMissing
    | ErrorCode::Unavailable
    | ErrorCode::QuotaExceeded
    | ErrorCode::InsufficientStorage
    | ErrorCode::Internal
    | ErrorCode::Unknown => {}
};

/// Any [`ErrorCode`], [`ErrorCode::Unknown`] included.
pub fn error_code() -> impl Strategy<Value = ErrorCode> {
    select(ALL_ERROR_CODES.to_vec())
}

/// Any [`ErrorBody`] (details, when present, from [`json_details`]).
pub fn error_body() -> impl Strategy<Value = ErrorBody> {
    (error_code(), text(), option::of(json_details())).prop_map(|(code, message, details)| {
        ErrorBody {
            code,
            message,
            details,
        }
    })
}
