//! Kvits' business rules, as pure functions.
//!
//! [`apply`] takes the current state (through the [`State`] trait), the acting user and one
//! [`Mutation`], and answers the rows to write — or why not. The Crux core runs it against its
//! local mirror to predict what the server will say; the sync server runs it inside the
//! transaction that stores the mutation's result, against its database, to decide. Neither
//! side has any other rule: what one accepts, the other accepts.
//!
//! [`can_see`] is the other half: which rows a user may read. The server filters every pull
//! with it; [`apply`] answers `not_found` for a row the actor cannot see, so ids of other
//! tenants and roles leak nothing.

mod access;
mod cards;
mod catalog;
mod expense;
mod export;
mod history;
mod memory;
mod messages;
mod review;
mod validate;

use std::collections::BTreeMap;

use kvits_protocol::{
    ApprovalRule, ApprovalRuleId, CardTransaction, CardTransactionId, Company, CompanyId,
    ConflictCode, Decision, Entity, EntityKind, ErrorCode, Expense, ExpenseId, ExpenseType,
    ExpenseTypeId, FirmId, Message, MessageId, MessageRead, Mutation, Outcome, PaymentMethod,
    PaymentMethodId, RejectCode, Role, Thread, ThreadId, Timestamp, UserId,
};

pub use access::{can_see, is_task_for, may_upload, message_recipients};
pub use cards::{
    AutoMatch, Fit, auto_matches, card_for, card_ref_key, fit, merchant_similarity, reconcile,
    suggestions,
};
pub use expense::route;
pub use history::vat_text;
pub use memory::MemoryState;
pub use validate::{MAX_VAT_LINES, vat as check_vat};

/// The person a mutation is applied for, with their roles per company. Accountants carry the
/// `accountant` role in every client company of their firm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub name: String,
    pub firm_id: FirmId,
    pub roles: BTreeMap<CompanyId, Vec<Role>>,
}

impl Actor {
    /// The actor's roles in `company` (empty when not a member).
    pub fn roles_in(&self, company: CompanyId) -> &[Role] {
        self.roles.get(&company).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether the actor has any of `roles` in `company`.
    pub fn has_any(&self, company: CompanyId, roles: &[Role]) -> bool {
        self.roles_in(company).iter().any(|r| roles.contains(r))
    }

    /// Whether the actor belongs to `company` at all.
    pub fn is_member(&self, company: CompanyId) -> bool {
        !self.roles_in(company).is_empty()
    }
}

/// Read access to the current state, as the server's database or the core's mirror holds it.
/// Every lookup is by id; implementations return rows of any tenant — the rules check access.
pub trait State {
    fn company(&self, id: CompanyId) -> Option<Company>;
    fn expense(&self, id: ExpenseId) -> Option<Expense>;
    fn expense_type(&self, id: ExpenseTypeId) -> Option<ExpenseType>;
    fn expense_types(&self, company: CompanyId) -> Vec<ExpenseType>;
    fn payment_method(&self, id: PaymentMethodId) -> Option<PaymentMethod>;
    fn approval_rule(&self, id: ApprovalRuleId) -> Option<ApprovalRule>;
    fn approval_rules(&self, company: CompanyId) -> Vec<ApprovalRule>;
    fn thread(&self, id: ThreadId) -> Option<Thread>;
    fn message(&self, id: MessageId) -> Option<Message>;
    fn thread_messages(&self, thread: ThreadId) -> Vec<Message>;
    fn message_read(&self, message: MessageId, user: UserId) -> Option<MessageRead>;
    /// What the blob with this SHA-256 is, when it is stored and usable by `company`.
    fn blob_kind(&self, company: CompanyId, sha256: &str) -> Option<BlobKind>;
    fn card_transaction(&self, id: CardTransactionId) -> Option<CardTransaction>;
    /// The card transaction matched to `expense`, if any (one at most).
    fn card_transaction_for_expense(&self, expense: ExpenseId) -> Option<CardTransaction>;
    /// Whether the blob with this SHA-256 is stored and usable by `company`.
    fn has_blob(&self, company: CompanyId, sha256: &str) -> bool {
        self.blob_kind(company, sha256).is_some()
    }
}

/// What a stored blob is. Receipt pages are photos; a message may also carry a PDF (a
/// statement, an invoice) from the accounting firm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BlobKind {
    /// A JPEG, PNG or WebP image, checked by the photo pipeline.
    Image,
    /// A PDF document.
    Pdf,
}

impl BlobKind {
    /// The kind a stored blob's media type names; `None` for a type Kvits does not store.
    pub fn of_media_type(media_type: &str) -> Option<BlobKind> {
        match media_type {
            "image/jpeg" | "image/png" | "image/webp" => Some(BlobKind::Image),
            "application/pdf" => Some(BlobKind::Pdf),
            _ => None,
        }
    }
}

/// A row to write.
// `Put` is much larger than `Delete`; boxing it would change the API for no gain (writes
// are few and short-lived).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    Put(Entity),
    Delete {
        kind: EntityKind,
        id: uuid::Uuid,
        company_id: CompanyId,
    },
}

/// What [`apply`] decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Write these rows (never empty).
    Changes(Vec<Write>),
    /// The mutation's effect is already there; write nothing.
    AlreadyApplied,
}

/// Why a mutation was not applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainError {
    /// Permanently refused.
    Rejected { code: RejectCode, message: String },
    /// Lost to something that happened first.
    Conflict {
        code: ConflictCode,
        message: String,
        winner: Option<Decision>,
    },
    /// Cannot be decided yet (e.g. a submit whose photos are not uploaded): try again later;
    /// the mutation is not consumed.
    NotYet {
        code: ErrorCode,
        message: String,
        missing_blobs: Vec<String>,
    },
}

impl DomainError {
    pub(crate) fn rejected(code: RejectCode, message: impl Into<String>) -> Self {
        DomainError::Rejected {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::rejected(RejectCode::Invalid, message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::rejected(RejectCode::Forbidden, message)
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self::rejected(RejectCode::NotFound, format!("{what} not found"))
    }

    pub(crate) fn wrong_state(message: impl Into<String>) -> Self {
        Self::rejected(RejectCode::WrongState, message)
    }

    /// The stored outcome of a permanent error; `None` for [`DomainError::NotYet`].
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            DomainError::Rejected { code, message } => Some(Outcome::Rejected {
                code: *code,
                message: message.clone(),
            }),
            DomainError::Conflict {
                code,
                message,
                winner,
            } => Some(Outcome::Conflict {
                code: *code,
                message: message.clone(),
                winner: winner.clone(),
            }),
            DomainError::NotYet { .. } => None,
        }
    }
}

impl std::fmt::Display for DomainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DomainError::Rejected { message, .. }
            | DomainError::Conflict { message, .. }
            | DomainError::NotYet { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for DomainError {}

/// Decides `mutation` by `actor` at server time `now` against `state`.
pub fn apply(
    state: &dyn State,
    actor: &Actor,
    now: Timestamp,
    mutation: &Mutation,
) -> Result<Applied, DomainError> {
    let cx = Cx { state, actor, now };
    match mutation {
        Mutation::CreateExpense {
            expense_id,
            company_id,
            document_type,
            fields,
        } => expense::create(&cx, *expense_id, *company_id, *document_type, fields),
        Mutation::SetExpenseFields { expense_id, fields } => {
            expense::set_fields(&cx, *expense_id, fields)
        }
        Mutation::SetDocumentType {
            expense_id,
            document_type,
        } => expense::set_document_type(&cx, *expense_id, *document_type),
        Mutation::AttachReceipt { expense_id, pages } => expense::attach(&cx, *expense_id, pages),
        Mutation::SubmitExpense { expense_id } => expense::submit(&cx, *expense_id),
        Mutation::DeleteExpense { expense_id } => expense::delete(&cx, *expense_id),
        Mutation::DecideExpense {
            expense_id,
            seen_revision,
            decision,
            reason,
        } => expense::decide(
            &cx,
            *expense_id,
            *seen_revision,
            *decision,
            reason.as_deref(),
        ),
        Mutation::CorrectExpense {
            expense_id,
            seen_revision,
            expense_type_id,
            vat,
            account_code,
        } => review::correct(
            &cx,
            *expense_id,
            *seen_revision,
            *expense_type_id,
            vat,
            account_code.as_deref(),
        ),
        Mutation::ReturnExpense {
            expense_id,
            seen_revision,
            question,
        } => review::send_back(&cx, *expense_id, *seen_revision, question),
        Mutation::AnswerExpense { expense_id, answer } => review::answer(&cx, *expense_id, answer),
        Mutation::MarkReviewed {
            expense_id,
            seen_revision,
        } => review::mark_reviewed(&cx, *expense_id, *seen_revision),
        Mutation::StartExport {
            expense_id,
            seen_revision,
            batch_id,
            batch_number,
            voucher,
        } => export::start(
            &cx,
            *expense_id,
            *seen_revision,
            *batch_id,
            *batch_number,
            voucher,
        ),
        Mutation::FinishExport {
            expense_id,
            batch_id,
        } => export::finish(&cx, *expense_id, *batch_id),
        Mutation::CancelExport {
            expense_id,
            batch_id,
        } => export::cancel(&cx, *expense_id, *batch_id),
        Mutation::UnlockExpense {
            expense_id,
            seen_revision,
        } => export::unlock(&cx, *expense_id, *seen_revision),
        Mutation::MatchCardTransaction {
            transaction_id,
            expense_id,
        } => cards::match_receipt(&cx, *transaction_id, *expense_id),
        Mutation::UnmatchCardTransaction { transaction_id } => cards::unmatch(&cx, *transaction_id),
        Mutation::DeclareNoReceipt {
            transaction_id,
            reason,
            note,
        } => cards::declare(&cx, *transaction_id, *reason, note.as_deref()),
        Mutation::AcceptNoReceipt { transaction_id } => cards::accept(&cx, *transaction_id),
        Mutation::SendMessage {
            message_id,
            company_ids,
            subject,
            body,
            attachment,
        } => messages::send(
            &cx,
            *message_id,
            company_ids,
            subject,
            body,
            attachment.as_ref(),
        ),
        Mutation::ReplyMessage {
            message_id,
            thread_id,
            body,
            attachment,
        } => messages::reply(&cx, *message_id, *thread_id, body, attachment.as_ref()),
        Mutation::MarkRead { thread_id, up_to } => messages::mark_read(&cx, *thread_id, *up_to),
        Mutation::PutExpenseType(t) => catalog::put_expense_type(&cx, t),
        Mutation::PutPaymentMethod(m) => catalog::put_payment_method(&cx, m),
        Mutation::PutApprovalRule(r) => catalog::put_approval_rule(&cx, r),
    }
}

/// The stored outcome of [`apply`]'s answer; `None` when the mutation must wait.
pub fn outcome(result: &Result<Applied, DomainError>) -> Option<Outcome> {
    match result {
        Ok(Applied::Changes(_)) => Some(Outcome::Applied),
        Ok(Applied::AlreadyApplied) => Some(Outcome::AlreadyApplied),
        Err(e) => e.outcome(),
    }
}

/// Everything a rule needs.
pub(crate) struct Cx<'a> {
    pub state: &'a dyn State,
    pub actor: &'a Actor,
    pub now: Timestamp,
}

impl Cx<'_> {
    /// The company, if the actor belongs to it (else `not_found`: no leaking of other
    /// tenants' ids).
    pub fn member_company(&self, id: CompanyId) -> Result<Company, DomainError> {
        match self.state.company(id) {
            Some(c) if c.firm_id == self.actor.firm_id && self.actor.is_member(id) => Ok(c),
            _ => Err(DomainError::not_found("company")),
        }
    }

    /// Requires one of `roles` in `company`.
    pub fn require(
        &self,
        company: CompanyId,
        roles: &[Role],
        what: &str,
    ) -> Result<(), DomainError> {
        if self.actor.has_any(company, roles) {
            Ok(())
        } else {
            Err(DomainError::forbidden(format!(
                "your role in this company does not allow you to {what}"
            )))
        }
    }
}
