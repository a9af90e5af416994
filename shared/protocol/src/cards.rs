//! Card statements: the payments on company cards that the bank's statements list, which
//! receipt each one was paid for, and the payments still without one.

use serde::{Deserialize, Serialize};

use crate::{
    CardTransactionId, CompanyId, Date, ExpenseId, Money, PaymentMethodId, StatementId, Timestamp,
    UserId,
};

/// A payment on a company card (or a refund to it), as the bank's statement lists it.
/// Imported by the server; the people involved only say which receipt it was paid for, or that
/// there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CardTransaction {
    pub id: CardTransactionId,
    pub company_id: CompanyId,
    /// The import that brought it first.
    pub statement_id: StatementId,
    /// The company card it was made with; `None` while the statement's card is unknown to
    /// Kvits (the firm assigns it to a card).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<PaymentMethodId>,
    /// The card's holder, who is asked for the receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_id: Option<UserId>,
    /// The card as the statement names it: a masked card number (`****4821`) or, for a card
    /// account's statement, the account.
    pub card_ref: String,
    /// The day the bank booked it.
    pub booked_on: Date,
    /// The day the card was used, when the bank says; else the booking day.
    pub spent_on: Date,
    /// What left the account (positive) or came back to it (negative, a refund), in the
    /// account's currency.
    pub amount: Money,
    /// The amount in the currency the card was used in, when that was another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_amount: Option<Money>,
    /// The merchant, as the bank writes it.
    pub merchant: String,
    /// The statement's text for it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The bank's reference, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_ref: Option<String>,
    /// Its receipt: missing, matched, or declared not to exist.
    pub receipt: CardReceipt,
    /// Whether Kvits may still match it (or unmatch it) by itself. A person's match, unmatch
    /// or declaration settles it: automatic matching leaves it alone from then on.
    pub auto_match: bool,
    pub imported_at: Timestamp,
    pub updated_at: Timestamp,
}

impl CardTransaction {
    /// A payment (money out) that needs a receipt, as opposed to a refund.
    pub fn is_payment(&self) -> bool {
        self.amount.amount_minor > 0
    }

    /// A payment with no receipt matched and none declared missing: what its holder is asked
    /// for.
    pub fn is_missing(&self) -> bool {
        self.is_payment() && matches!(self.receipt, CardReceipt::Missing)
    }

    /// The expense it is matched to.
    pub fn matched_expense(&self) -> Option<ExpenseId> {
        match &self.receipt {
            CardReceipt::Matched { expense_id, .. } => Some(*expense_id),
            _ => None,
        }
    }
}

/// What a card transaction's receipt is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CardReceipt {
    /// No receipt yet (for a refund: none needed).
    Missing,
    /// Paid for this expense. `by` is the person who matched them; none when Kvits matched
    /// them by itself (the only candidate, by amount and date or merchant).
    Matched {
        expense_id: ExpenseId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<UserId>,
        at: Timestamp,
    },
    /// The card holder (or the firm) says there is no receipt, and why; the firm accepts it.
    Declared {
        reason: NoReceiptReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        by: UserId,
        by_name: String,
        at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accepted: Option<Accepted>,
    },
}

/// Why a card payment has no receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoReceiptReason {
    /// There was one, and it is lost.
    Lost,
    /// The merchant gave none (a parking machine, a toll, an online service).
    NoneIssued,
}

/// The firm's acceptance of a declaration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Accepted {
    pub by: UserId,
    pub by_name: String,
    pub at: Timestamp,
}

/// The statement formats Kvits reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum StatementFormat {
    /// ISO 20022 account report.
    #[serde(rename = "camt.052")]
    Camt052,
    /// ISO 20022 statement.
    #[serde(rename = "camt.053")]
    Camt053,
    /// ISO 20022 debit and credit notification.
    #[serde(rename = "camt.054")]
    Camt054,
    /// The Latvian banks' XML statement.
    #[serde(rename = "fidavista")]
    Fidavista,
    /// SWIFT MT940.
    #[serde(rename = "mt940")]
    Mt940,
    /// A bank's CSV file, read with a saved bank profile.
    #[serde(rename = "csv")]
    Csv,
}

/// What one import of a statement did: the CLI prints it as one JSON line, the API answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StatementImportSummary {
    pub format: StatementFormat,
    /// Card transactions in the file (booked entries that name a card, or every entry of a
    /// card account's statement).
    pub transactions: u32,
    /// Of them, new to Kvits.
    pub new: u32,
    /// Of them, already imported (the same file again, or an overlapping period).
    pub duplicates: u32,
    /// New ones matched to a receipt automatically.
    pub matched: u32,
    /// The import; none when the file held nothing new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_id: Option<StatementId>,
    /// Cards the file names that no company card is known by, for the firm to assign.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_cards: Vec<String>,
}

/// A past import, as the console lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StatementImport {
    pub id: StatementId,
    pub company_id: CompanyId,
    pub format: StatementFormat,
    pub file_name: String,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    /// The period the statement covers, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Date>,
    pub transactions: u32,
    pub new: u32,
    pub imported_by_name: String,
    pub imported_at: Timestamp,
}

/// Per company and period: each card's payments, and how many have their receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CardReport {
    pub company_id: CompanyId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Date>,
    /// One row per card (unknown cards too, each by how the statement names it).
    pub cards: Vec<CardReportRow>,
    /// The period's payments with no receipt and no declaration, oldest first.
    pub missing: Vec<CardTransaction>,
    /// Declarations the firm has not accepted yet.
    pub declared: Vec<CardTransaction>,
}

/// One card's line in a [`CardReport`]. Counts are of payments (refunds need no receipt).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CardReportRow {
    /// The company card; none for a card the firm has not assigned yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<PaymentMethodId>,
    /// `Visa Business ·4821`, or the statement's name for an unknown card.
    pub card: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_name: Option<String>,
    pub transactions: u32,
    pub matched: u32,
    pub missing: u32,
    pub declared: u32,
    /// The sum of the payments, in the account's currency (the first one's when they differ).
    pub spent: Money,
}

/// How to read one bank's CSV statement: saved by the firm under the bank's name, chosen when a
/// CSV file is imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CsvProfile {
    /// The bank's name, as the firm calls the layout (`Swedbank LV`).
    pub name: String,
    /// The field separator: `,` (44), `;` (59) or tab (9).
    pub delimiter: u8,
    /// The file's character encoding, as a WHATWG label: `utf-8`, `windows-1257`,
    /// `windows-1250`, `iso-8859-2`, `ibm852`.
    pub encoding: String,
    /// Rows before the first transaction (the header and anything above it).
    pub header_rows: u32,
    /// How dates are written, in strftime terms (`%d.%m.%Y`, `%Y-%m-%d`).
    pub date_format: String,
    /// `.` or `,`. Thousands separators other than it are ignored.
    pub decimal_mark: char,
    pub columns: CsvColumns,
}

/// Which column (counted from 0) holds what.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CsvColumns {
    pub booking_date: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_date: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_date: Option<usize>,
    /// One signed amount (negative: money out) …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<usize>,
    /// … or money out and money in in two columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debit: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<usize>,
    /// A column saying which way an unsigned amount went (`D`/`C`, `DR`/`CR`, `-`/`+`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<usize>,
    /// The currency when no column says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_amount: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_currency: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<usize>,
}
