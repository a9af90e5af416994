//! The state that comes down: every kind of row a client mirrors locally.

use serde::{Deserialize, Serialize};

use crate::{
    ApprovalRuleId, CardTransaction, CompanyId, Date, ExpenseId, ExpenseTypeId, FirmId, MessageId,
    PaymentMethodId, Role, ThreadId, Timestamp, UserId,
};

/// One row of synced state, tagged with its kind.
// An expense (with its history) is the largest row by far; boxing it would change every match
// on rows across the crates for a few hundred bytes per row in flight.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entity {
    Company(Company),
    ExpenseType(ExpenseType),
    PaymentMethod(PaymentMethod),
    ApprovalRule(ApprovalRule),
    Expense(Expense),
    Thread(Thread),
    Message(Message),
    MessageRead(MessageRead),
    CardTransaction(CardTransaction),
}

/// The kinds of [`Entity`], for deletions and storage keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Company,
    ExpenseType,
    PaymentMethod,
    ApprovalRule,
    Expense,
    Thread,
    Message,
    MessageRead,
    CardTransaction,
}

impl EntityKind {
    /// Every kind, in a stable order.
    pub const ALL: [EntityKind; 9] = [
        EntityKind::Company,
        EntityKind::ExpenseType,
        EntityKind::PaymentMethod,
        EntityKind::ApprovalRule,
        EntityKind::Expense,
        EntityKind::Thread,
        EntityKind::Message,
        EntityKind::MessageRead,
        EntityKind::CardTransaction,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Company => "company",
            EntityKind::ExpenseType => "expense_type",
            EntityKind::PaymentMethod => "payment_method",
            EntityKind::ApprovalRule => "approval_rule",
            EntityKind::Expense => "expense",
            EntityKind::Thread => "thread",
            EntityKind::Message => "message",
            EntityKind::MessageRead => "message_read",
            EntityKind::CardTransaction => "card_transaction",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl Entity {
    /// The kind tag.
    pub fn kind(&self) -> EntityKind {
        match self {
            Entity::Company(_) => EntityKind::Company,
            Entity::ExpenseType(_) => EntityKind::ExpenseType,
            Entity::PaymentMethod(_) => EntityKind::PaymentMethod,
            Entity::ApprovalRule(_) => EntityKind::ApprovalRule,
            Entity::Expense(_) => EntityKind::Expense,
            Entity::Thread(_) => EntityKind::Thread,
            Entity::Message(_) => EntityKind::Message,
            Entity::MessageRead(_) => EntityKind::MessageRead,
            Entity::CardTransaction(_) => EntityKind::CardTransaction,
        }
    }

    /// The row's id (unique within its kind).
    pub fn id(&self) -> uuid::Uuid {
        match self {
            Entity::Company(e) => e.id.0,
            Entity::ExpenseType(e) => e.id.0,
            Entity::PaymentMethod(e) => e.id.0,
            Entity::ApprovalRule(e) => e.id.0,
            Entity::Expense(e) => e.id.0,
            Entity::Thread(e) => e.id.0,
            Entity::Message(e) => e.id.0,
            Entity::MessageRead(e) => e.id(),
            Entity::CardTransaction(e) => e.id.0,
        }
    }

    /// The company the row belongs to.
    pub fn company_id(&self) -> CompanyId {
        match self {
            Entity::Company(e) => e.id,
            Entity::ExpenseType(e) => e.company_id,
            Entity::PaymentMethod(e) => e.company_id,
            Entity::ApprovalRule(e) => e.company_id,
            Entity::Expense(e) => e.company_id,
            Entity::Thread(e) => e.company_id,
            Entity::Message(e) => e.company_id,
            Entity::MessageRead(e) => e.company_id,
            Entity::CardTransaction(e) => e.company_id,
        }
    }
}

/// A client company and the people in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Company {
    pub id: CompanyId,
    pub firm_id: FirmId,
    pub name: String,
    /// The currency its books are kept in (ISO 4217): approval thresholds are in it, and a
    /// document in another currency also carries its amount in it. Rows written before
    /// companies had one read as EUR.
    #[serde(default = "default_base_currency")]
    pub base_currency: String,
    /// Members with their roles (the firm's staff are not listed; they see the company through
    /// the firm).
    pub members: Vec<Member>,
    /// People invited into the company who have not accepted yet, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invitations: Vec<crate::PendingInvitation>,
    /// The company's number in its country's business register.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<String>,
    /// Its VAT number, with the country prefix (`LV40003000000`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_number: Option<String>,
    /// Where it is registered: ISO 3166-1 alpha-2 (`LV`, `PL`, `SE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The IANA time zone its days are counted in (`Europe/Riga`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// An inactive company keeps its data and stays visible to the firm, but its members can
    /// neither sign in nor sync. Rows written before companies could be paused read as active.
    #[serde(default = "active_by_default")]
    pub active: bool,
    /// Whether a person may approve their own expense when a rule names only them (a one-person
    /// company). Off: such a step goes to the company's other admins, and a submit nobody else
    /// could approve is refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_self_approval: bool,
}

impl Company {
    /// An active company with no members and no details but its name and base currency.
    pub fn new(
        id: CompanyId,
        firm_id: FirmId,
        name: impl Into<String>,
        base_currency: impl Into<String>,
    ) -> Company {
        Company {
            id,
            firm_id,
            name: name.into(),
            base_currency: base_currency.into(),
            members: Vec::new(),
            invitations: Vec::new(),
            registration_number: None,
            vat_number: None,
            country: None,
            time_zone: None,
            active: true,
            allow_self_approval: false,
        }
    }
}

/// `true`: what a row written before there was an `active` flag reads as.
pub fn active_by_default() -> bool {
    true
}

/// The base currency of a company that names none: EUR, the currency of the firms Kvits
/// started with.
pub fn default_base_currency() -> String {
    "EUR".to_owned()
}

/// A person's roles in a company, with their display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub roles: Vec<Role>,
    /// Their access is turned off: they cannot sign in or sync until it is turned on again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

/// A category an expense is booked under (Fuel, Meals, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExpenseType {
    pub id: ExpenseTypeId,
    pub company_id: CompanyId,
    /// The accountant's booking code, e.g. `6110`.
    pub code: String,
    pub name: String,
    /// Inactive types stay on old expenses but are not offered for new ones.
    pub active: bool,
}

/// How an expense was paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// A company card.
    CompanyCard,
    /// The employee's own money or cash: to be reimbursed.
    OwnMoney,
}

/// A company card, or "own money / cash".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PaymentMethod {
    pub id: PaymentMethodId,
    pub company_id: CompanyId,
    /// Named `payment_kind` because an entity's `kind` is its row type.
    pub payment_kind: PaymentKind,
    /// "Visa Business", "Own money / cash".
    pub label: String,
    /// Last four digits of a card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_four: Option<String>,
    /// The person who holds the card (their cards are offered first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_id: Option<UserId>,
    pub active: bool,
    /// How the bank's statements name this card when they do not show its last four digits:
    /// the card account's number (an IBAN), as the statement writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_ref: Option<String>,
}

impl PaymentMethod {
    /// How people see it: `Visa Business ·4821`, `Own money / cash`.
    pub fn display_name(&self) -> String {
        match &self.last_four {
            Some(four) => format!("{} ·{four}", self.label),
            None => self.label.clone(),
        }
    }
}

/// What kind of document an expense is; approval rules may route by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    Receipt,
    Invoice,
    /// Anything else with an amount to book (a ticket, a contract, a bank's fee note).
    Other,
}

/// An amount in minor units (cents) of an ISO 4217 currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Money {
    pub amount_minor: i64,
    /// ISO 4217 code, upper case (`EUR`).
    pub currency: String,
}

/// When approval is needed. Rules are tried in `position` order; the first active rule that
/// matches routes the expense; an expense no rule matches needs no approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApprovalRule {
    pub id: ApprovalRuleId,
    pub company_id: CompanyId,
    pub name: String,
    pub position: i32,
    pub active: bool,
    /// Only expenses of this document type (any when `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_type: Option<DocumentType>,
    /// Only expenses of these types (any when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expense_type_ids: Vec<ExpenseTypeId>,
    /// Only amounts at or above this, in minor units (any when `None`). An expense without an
    /// amount matches whatever the limits: an unknown amount must not dodge approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_amount_minor: Option<i64>,
    /// Only amounts below this, in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount_minor: Option<i64>,
    /// The currency of both limits (ISO 4217), normally the company's base currency. An expense
    /// is compared in it: by its amount when that is in this currency, else by its amount in
    /// the company's base currency; an expense with neither matches whatever the limits.
    /// Rules written before limits had a currency read as EUR.
    #[serde(default = "default_base_currency")]
    pub currency: String,
    /// One or more steps, decided in order.
    pub steps: Vec<ApprovalStep>,
}

/// One step of approval: any one of its approvers decides it. Nobody decides their own
/// expense while someone else in the step can: at submission the author is left out of each
/// step that names others too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApprovalStep {
    pub approver_ids: Vec<UserId>,
}

/// Where an expense is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExpenseStatus {
    /// Being filled in; editable.
    Draft,
    /// Sent; waiting for approval (or accepted straight away when no rule applies).
    Submitted,
    /// Approved by every step, or needed no approval; waits for the accounting firm's review.
    Approved,
    /// Refused by an approver, with a reason. Final.
    Rejected,
    /// Sent back to the employee to fix and submit again; editable. An approver returns it
    /// while deciding, the accounting firm after approval, with a question.
    Returned,
    /// Checked by the accounting firm: ready for export to the books.
    Reviewed,
    /// In an export batch that is being made: locked.
    Exporting,
    /// Delivered to the books in an export batch: locked until the firm unlocks it.
    Exported,
}

/// The fields the expense form edits. All optional while a draft; submission needs an
/// expense type, a payment method and at least one receipt page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExpenseFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expense_type_id: Option<ExpenseTypeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<PaymentMethodId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// The amount in the company's base currency, for a document in another currency: entered
    /// by a person (or, later, taken from the card transaction it was paid with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_amount: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The VAT on the document, one line per rate, in the document's currency. Empty: not
    /// entered. When entered, nets and VAT add up to the amount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vat: Vec<VatLine>,
    /// The bookkeeping account the accountant books it to, when it differs from the expense
    /// type's own code (e.g. `7210`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_code: Option<String>,
}

/// The VAT at one rate on a document, in minor units of the document's currency.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct VatLine {
    /// The rate in hundredths of a percent: 2100 is 21 %, 550 is 5.5 %, 0 is zero-rated.
    pub rate_bp: u32,
    /// The amount before VAT at this rate.
    pub net_minor: i64,
    /// The VAT at this rate.
    pub vat_minor: i64,
}

/// One page of a receipt: a content-addressed, uploaded image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReceiptPage {
    /// Lower-case hex SHA-256 of the compressed image bytes.
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
}

/// An approver's decision on one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Reject,
    /// Send back to the employee for correction.
    Return,
}

/// A decision as recorded by the server (and named in conflict results).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Decision {
    pub kind: DecisionKind,
    /// The step decided (0-based).
    pub step: u32,
    /// The expense revision the decider saw.
    pub revision: u32,
    pub by: UserId,
    pub by_name: String,
    /// Server time of the decision.
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The route a submitted expense takes, fixed at submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Approval {
    pub rule_id: ApprovalRuleId,
    pub rule_name: String,
    pub steps: Vec<ApprovalStep>,
    /// The step now waiting for a decision (== `steps.len()` once all approved).
    pub current_step: u32,
}

/// A receipt (or invoice) and everything about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Expense {
    pub id: ExpenseId,
    pub company_id: CompanyId,
    pub created_by: UserId,
    pub created_by_name: String,
    pub document_type: DocumentType,
    pub fields: ExpenseFields,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<ReceiptPage>,
    pub status: ExpenseStatus,
    /// Bumped by every change; decisions name the revision they saw.
    pub revision: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// Every decision ever made, oldest first (returns included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<Decision>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<Timestamp>,
    /// Every change to the document, oldest first, as the server decided it: who, when, what.
    /// Consecutive edits by the same person are one entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// The export batch it is in or went to the books with (exporting and exported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<crate::ExportMark>,
}

/// One change in an expense's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub by: UserId,
    pub by_name: String,
    pub action: HistoryAction,
    /// The fields it changed, with their values before and after as people read them
    /// (names of types and cards, amounts with their currency).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// What the person wrote with it: a reason, a question, an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a change in an expense's history did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HistoryAction {
    Created,
    Edited,
    Submitted,
    Approved,
    Rejected,
    /// Returned to the employee, by an approver or the accounting firm.
    Returned,
    /// The employee answered the question it was returned with.
    Answered,
    /// The accounting firm corrected bookkeeping fields.
    Corrected,
    Reviewed,
    /// Put in an export batch (the note names the batch and the voucher).
    ExportStarted,
    /// Delivered to the books with its batch.
    Exported,
    /// Its export batch was cancelled: back in the export queue.
    ExportCancelled,
    /// Unlocked by the accounting firm for a correction after export.
    Unlocked,
    /// Matched to the card payment it was paid with (the note names the payment).
    CardMatched,
    /// No longer matched to that card payment.
    CardUnmatched,
}

/// One field a change touched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FieldChange {
    pub field: ExpenseField,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// A field of an expense, as its history names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExpenseField {
    DocumentType,
    ExpenseType,
    PaymentMethod,
    Amount,
    BaseAmount,
    Date,
    Merchant,
    Note,
    Vat,
    AccountCode,
    Pages,
}

/// A conversation between the accounting firm and one client company.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Thread {
    pub id: ThreadId,
    pub company_id: CompanyId,
    pub subject: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
    /// Set when the thread was opened by a message sent to several companies at once: the id
    /// of that message as the sender made it, shared by all its threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast_id: Option<MessageId>,
    /// Time of the newest message.
    pub last_message_at: Timestamp,
}

/// A file attached to a message, uploaded like a receipt page: a PDF (`application/pdf`) or a
/// photo (`image/jpeg`, `image/png`, `image/webp`), as the server found it at upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Attachment {
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
    pub file_name: String,
}

/// One message in a thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Message {
    pub id: MessageId,
    pub thread_id: ThreadId,
    pub company_id: CompanyId,
    pub author_id: UserId,
    pub author_name: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
    /// Server time the message was accepted; orders the thread.
    pub created_at: Timestamp,
}

/// When a recipient first read a message. Set once, never moved or removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MessageRead {
    pub message_id: MessageId,
    pub thread_id: ThreadId,
    pub company_id: CompanyId,
    pub user_id: UserId,
    pub read_at: Timestamp,
}

impl MessageRead {
    /// The row id, derived from message and reader.
    pub fn id(&self) -> uuid::Uuid {
        crate::message_read_id(self.message_id, self.user_id)
    }
}
