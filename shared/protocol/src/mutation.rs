//! Intents: what a user did, queued on the device and replayed once by the server.

use serde::{Deserialize, Serialize};

use crate::{
    ApprovalRule, Attachment, CardTransactionId, CompanyId, Decision, DecisionKind, DocumentType,
    ExpenseFields, ExpenseId, ExpenseType, ExpenseTypeId, ExportBatchId, MessageId,
    NoReceiptReason, PaymentMethod, ReceiptPage, ThreadId, Timestamp, VatLine,
};

/// A named, versioned mutation. The wire name (`"name"`) carries the version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "name", content = "args")]
pub enum Mutation {
    /// Start a draft expense (idempotent: the id is made on the device).
    #[serde(rename = "create_expense.v1")]
    CreateExpense {
        expense_id: ExpenseId,
        company_id: CompanyId,
        document_type: DocumentType,
        fields: ExpenseFields,
    },
    /// Replace the form fields of a draft or returned expense.
    #[serde(rename = "set_expense_fields.v1")]
    SetExpenseFields {
        expense_id: ExpenseId,
        fields: ExpenseFields,
    },
    /// Say what kind of document a draft or returned expense is (receipt, invoice, other).
    #[serde(rename = "set_document_type.v1")]
    SetDocumentType {
        expense_id: ExpenseId,
        document_type: DocumentType,
    },
    /// Replace the receipt pages of a draft or returned expense.
    #[serde(rename = "attach_receipt.v1")]
    AttachReceipt {
        expense_id: ExpenseId,
        pages: Vec<ReceiptPage>,
    },
    /// Send a draft or returned expense for approval. Every page must have been uploaded.
    #[serde(rename = "submit_expense.v1")]
    SubmitExpense { expense_id: ExpenseId },
    /// Delete a draft that was never submitted.
    #[serde(rename = "delete_expense.v1")]
    DeleteExpense { expense_id: ExpenseId },
    /// Decide the current approval step of a submitted expense, as seen at `seen_revision`.
    #[serde(rename = "decide_expense.v1")]
    DecideExpense {
        expense_id: ExpenseId,
        seen_revision: u32,
        decision: DecisionKind,
        /// Required for reject and return.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Correct the bookkeeping fields of an approved or reviewed expense (the accounting firm):
    /// the expense type, the VAT lines and the account code, all three as they are to be
    /// (no VAT lines: none entered; no account code: the expense type's). The rest is the
    /// employee's.
    #[serde(rename = "correct_expense.v1")]
    CorrectExpense {
        expense_id: ExpenseId,
        seen_revision: u32,
        expense_type_id: ExpenseTypeId,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        vat: Vec<VatLine>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_code: Option<String>,
    },
    /// Send an approved or reviewed expense back to its employee with a question (the
    /// accounting firm); the employee answers or fixes it and submits it again.
    #[serde(rename = "return_expense.v1")]
    ReturnExpense {
        expense_id: ExpenseId,
        seen_revision: u32,
        question: String,
    },
    /// Answer the question a returned expense came back with (its employee).
    #[serde(rename = "answer_expense.v1")]
    AnswerExpense {
        expense_id: ExpenseId,
        answer: String,
    },
    /// Mark an approved expense reviewed: ready for export (the accounting firm).
    #[serde(rename = "mark_reviewed.v1")]
    MarkReviewed {
        expense_id: ExpenseId,
        seen_revision: u32,
    },
    /// Put a reviewed (or, explicitly, an exported) expense in an export batch: locked while
    /// the batch's file is written. Made by the server's export, never sent by an app.
    #[serde(rename = "start_export.v1")]
    StartExport {
        expense_id: ExpenseId,
        seen_revision: u32,
        batch_id: ExportBatchId,
        batch_number: u32,
        voucher: String,
    },
    /// The batch's file is written: the expense is exported. Made by the server's export.
    #[serde(rename = "finish_export.v1")]
    FinishExport {
        expense_id: ExpenseId,
        batch_id: ExportBatchId,
    },
    /// The batch was cancelled (or its file failed): the expense goes back to the export
    /// queue, or to its earlier export. Made by the server's export.
    #[serde(rename = "cancel_export.v1")]
    CancelExport {
        expense_id: ExpenseId,
        batch_id: ExportBatchId,
    },
    /// Unlock an exported expense so the firm can correct it; it is then marked changed since
    /// export (the accounting firm).
    #[serde(rename = "unlock_expense.v1")]
    UnlockExpense {
        expense_id: ExpenseId,
        seen_revision: u32,
    },
    /// Say which expense a card payment paid for (its holder, the company's admins, the
    /// firm). One receipt to one payment; a foreign-currency receipt takes its amount in the
    /// company's currency from the payment.
    #[serde(rename = "match_card_transaction.v1")]
    MatchCardTransaction {
        transaction_id: CardTransactionId,
        expense_id: ExpenseId,
    },
    /// Undo a card payment's match, or its declaration: its receipt is missing again, and
    /// automatic matching leaves it alone.
    #[serde(rename = "unmatch_card_transaction.v1")]
    UnmatchCardTransaction { transaction_id: CardTransactionId },
    /// Declare that a card payment has no receipt, and why (its holder, the firm).
    #[serde(rename = "declare_no_receipt.v1")]
    DeclareNoReceipt {
        transaction_id: CardTransactionId,
        reason: NoReceiptReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Accept a declaration that a card payment has no receipt (the firm).
    #[serde(rename = "accept_no_receipt.v1")]
    AcceptNoReceipt { transaction_id: CardTransactionId },
    /// Write to one or many client companies at once (accountants): opens one thread per
    /// company, with ids derived by [`ThreadId::for_recipient`] and [`MessageId::for_recipient`].
    #[serde(rename = "send_message.v1")]
    SendMessage {
        message_id: MessageId,
        company_ids: Vec<CompanyId>,
        subject: String,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<Attachment>,
    },
    /// Answer in an existing thread.
    #[serde(rename = "reply_message.v1")]
    ReplyMessage {
        message_id: MessageId,
        thread_id: ThreadId,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<Attachment>,
    },
    /// Mark a thread read up to and including `up_to`. Read markers only move forward.
    #[serde(rename = "mark_read.v1")]
    MarkRead {
        thread_id: ThreadId,
        up_to: MessageId,
    },
    /// Create or change an expense type (company admins, accountants).
    #[serde(rename = "put_expense_type.v1")]
    PutExpenseType(ExpenseType),
    /// Create or change a payment method (company admins, accountants).
    #[serde(rename = "put_payment_method.v1")]
    PutPaymentMethod(PaymentMethod),
    /// Create or change an approval rule (company admins, accountants).
    #[serde(rename = "put_approval_rule.v1")]
    PutApprovalRule(ApprovalRule),
}

impl Mutation {
    /// The versioned wire name, e.g. `submit_expense.v1`.
    pub fn name(&self) -> &'static str {
        match self {
            Mutation::CreateExpense { .. } => "create_expense.v1",
            Mutation::SetExpenseFields { .. } => "set_expense_fields.v1",
            Mutation::SetDocumentType { .. } => "set_document_type.v1",
            Mutation::AttachReceipt { .. } => "attach_receipt.v1",
            Mutation::SubmitExpense { .. } => "submit_expense.v1",
            Mutation::DeleteExpense { .. } => "delete_expense.v1",
            Mutation::DecideExpense { .. } => "decide_expense.v1",
            Mutation::CorrectExpense { .. } => "correct_expense.v1",
            Mutation::StartExport { .. } => "start_export.v1",
            Mutation::FinishExport { .. } => "finish_export.v1",
            Mutation::CancelExport { .. } => "cancel_export.v1",
            Mutation::UnlockExpense { .. } => "unlock_expense.v1",
            Mutation::ReturnExpense { .. } => "return_expense.v1",
            Mutation::AnswerExpense { .. } => "answer_expense.v1",
            Mutation::MarkReviewed { .. } => "mark_reviewed.v1",
            Mutation::MatchCardTransaction { .. } => "match_card_transaction.v1",
            Mutation::UnmatchCardTransaction { .. } => "unmatch_card_transaction.v1",
            Mutation::DeclareNoReceipt { .. } => "declare_no_receipt.v1",
            Mutation::AcceptNoReceipt { .. } => "accept_no_receipt.v1",
            Mutation::SendMessage { .. } => "send_message.v1",
            Mutation::ReplyMessage { .. } => "reply_message.v1",
            Mutation::MarkRead { .. } => "mark_read.v1",
            Mutation::PutExpenseType(_) => "put_expense_type.v1",
            Mutation::PutPaymentMethod(_) => "put_payment_method.v1",
            Mutation::PutApprovalRule(_) => "put_approval_rule.v1",
        }
    }

    /// Made only by the server itself (its export batches): a server refuses it from an app.
    pub fn is_server_only(&self) -> bool {
        matches!(
            self,
            Mutation::StartExport { .. }
                | Mutation::FinishExport { .. }
                | Mutation::CancelExport { .. }
        )
    }
}

/// A mutation as queued in a device's outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PendingMutation {
    /// 1, 2, 3, … per client, without gaps.
    pub seq: u64,
    /// Device time of the user's action: shown back to the user ("your approval made offline
    /// at 14:05"), never used to decide anything.
    pub created_at: Timestamp,
    #[serde(flatten)]
    pub mutation: Mutation,
}

/// What became of one mutation. Stored by the server and answered again for a duplicate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MutationResult {
    pub seq: u64,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The outcome of a mutation. `rejected` and `conflict` are permanent: the queue moves on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Applied now.
    Applied,
    /// Its effect was already there (same create, same decision): nothing changed.
    AlreadyApplied,
    /// Refused: the user is told why; nothing changed.
    Rejected { code: RejectCode, message: String },
    /// Lost to a change that arrived first (e.g. another approver's decision, named in
    /// `winner`); nothing changed.
    Conflict {
        code: ConflictCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        winner: Option<Decision>,
    },
}

impl Outcome {
    /// Applied or already applied.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Applied | Outcome::AlreadyApplied)
    }
}

/// Why a mutation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// No such row, or not one this user may see.
    NotFound,
    /// The user's role does not allow it.
    Forbidden,
    /// A field is missing or wrong; the message says which.
    Invalid,
    /// Not possible in the row's current state (e.g. editing a submitted expense).
    WrongState,
    /// The id is already used by a different row.
    IdTaken,
    /// A code from a newer server.
    #[serde(other)]
    Unknown,
}

/// Why a mutation lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConflictCode {
    /// Someone else decided this step first, differently (see `winner`).
    AlreadyDecided,
    /// The expense changed since the approver saw it.
    StaleRevision,
    /// A code from a newer server.
    #[serde(other)]
    Unknown,
}
