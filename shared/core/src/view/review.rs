//! What a receipt's detail shows of the accounting firm's review: the correction form, the
//! question and the answer, and the document's history.

use facet::Facet;
use kvits_domain::State as _;
use kvits_protocol::{Expense, ExpenseField, ExpenseStatus, HistoryAction};
use serde::{Deserialize, Serialize};

use super::Choice;
use super::receipts::FieldError;
use crate::format;
use crate::model::{Model, ReviewDraft, VatForm, currency_of};

/// The firm's review form of an approved or reviewed receipt.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReviewView {
    pub expense_types: Vec<Choice>,
    /// The chosen expense type's account code, used when no code is typed.
    pub type_account_code: Option<String>,
    pub account_code: String,
    pub vat: VatLinesView,
    /// The receipt's amount, which the VAT lines must add up to.
    pub amount: Option<String>,
    pub question: String,
    /// Already reviewed: ready for export.
    pub reviewed: bool,
    /// In an export batch or exported: where, and whether it is locked. Only a correction of
    /// an unlocked one is possible then (no return, no review).
    pub exported: Option<ExportedView>,
    /// Errors by field: `expense_type`, `vat.0.rate`, `vat.0.net`, `vat.0.vat`, `vat` (the
    /// lines as a whole), `question`, and `review` for what the rules refused.
    pub errors: Vec<FieldError>,
}

/// A document's export to the books, as its review shows it.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExportedView {
    /// "Exported to the books: batch 7, voucher 7-012".
    pub text: String,
    /// Nobody changes it; the firm unlocks it to correct it.
    pub locked: bool,
    /// Changed after its export: the books hold an older version.
    pub changed: bool,
    /// Exported and locked: "Unlock to correct" is offered.
    pub can_unlock: bool,
}

/// A form's VAT lines, one per rate, as typed.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct VatLinesView {
    /// The receipt's currency, which the amounts are in.
    pub currency: String,
    pub lines: Vec<VatLineView>,
    /// What the lines add up to (net + VAT), when every line reads as amounts.
    pub total: Option<String>,
    pub can_add: bool,
}

impl VatLinesView {
    pub(super) fn of(form: &VatForm, currency: &str) -> Self {
        VatLinesView {
            currency: currency.to_string(),
            lines: form
                .lines
                .iter()
                .map(|l| VatLineView {
                    rate: l.rate.clone(),
                    net: l.net.clone(),
                    vat: l.vat.clone(),
                })
                .collect(),
            total: form.total(currency).map(|t| format::money(t, currency)),
            can_add: form.can_add(),
        }
    }
}

/// One VAT line as typed. A line with a rate and neither amount takes the rest of the
/// receipt's amount, split by its rate.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct VatLineView {
    /// In percent, as typed: `21`, `5.5`.
    pub rate: String,
    pub net: String,
    pub vat: String,
}

/// The employee's side of a question: the receipt came back with it; the answer is typed here.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AnswerView {
    pub question: String,
    pub asked_by: String,
    /// The answer being typed.
    pub answer: String,
    /// The answer already sent since the question, if any.
    pub sent: Option<String>,
    pub errors: Vec<FieldError>,
}

/// One entry of the document's history.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HistoryView {
    /// "Anna Accountant corrected it".
    pub text: String,
    /// When, in the device's time zone.
    pub at: String,
    /// What the person wrote with it: a reason, a question, an answer.
    pub note: Option<String>,
    /// "Expense type: Meals → Office supplies".
    pub changes: Vec<String>,
}

impl Model {
    fn review_draft_for(&self, e: &Expense) -> ReviewDraft {
        self.review
            .draft
            .as_ref()
            .filter(|d| d.expense_id == e.id)
            .cloned()
            .unwrap_or_else(|| ReviewDraft::of(e))
    }

    pub(super) fn review_view(&self, e: &Expense) -> Option<ReviewView> {
        if !self.can_review(e) && !self.in_export(e) {
            return None;
        }
        let d = self.review_draft_for(e);
        let currency = currency_of(e);
        let chosen = d.expense_type_id.clone();
        let mut types: Vec<_> = self
            .predicted
            .expense_types(e.company_id)
            .into_iter()
            .filter(|t| t.active || Some(t.id.to_string()) == chosen)
            .collect();
        types.sort_by_key(|t| t.name.to_lowercase());
        let type_account_code = types
            .iter()
            .find(|t| Some(t.id.to_string()) == chosen)
            .map(|t| t.code.clone());
        Some(ReviewView {
            expense_types: types
                .into_iter()
                .map(|t| Choice {
                    id: t.id.to_string(),
                    selected: Some(t.id.to_string()) == chosen,
                    label: t.name,
                    detail: Some(t.code),
                })
                .collect(),
            type_account_code,
            account_code: d.account_code.clone(),
            vat: VatLinesView::of(&d.vat, &currency),
            amount: e
                .fields
                .amount
                .as_ref()
                .map(|m| format::money(m.amount_minor, &m.currency)),
            question: d.question.clone(),
            reviewed: e.status == ExpenseStatus::Reviewed,
            exported: e.export.as_ref().map(|m| ExportedView {
                text: super::receipts::export_text(e),
                locked: m.locked,
                changed: m.changed,
                can_unlock: m.locked && e.status == ExpenseStatus::Exported,
            }),
            errors: errors(&d.errors),
        })
    }

    pub(super) fn answer_view(&self, e: &Expense) -> Option<AnswerView> {
        let me = self.actor.as_ref()?.user_id;
        if e.created_by != me || e.status != ExpenseStatus::Returned {
            return None;
        }
        let asked = e
            .history
            .iter()
            .rposition(|h| h.action == HistoryAction::Returned)?;
        let question = &e.history[asked];
        let sent = e.history[asked..]
            .iter()
            .rev()
            .find(|h| h.action == HistoryAction::Answered)
            .and_then(|h| h.note.clone());
        let d = self.review_draft_for(e);
        Some(AnswerView {
            question: question.note.clone().unwrap_or_default(),
            asked_by: question.by_name.clone(),
            answer: d.answer.clone(),
            sent,
            errors: errors(&d.errors),
        })
    }

    pub(super) fn history_view(&self, e: &Expense) -> Vec<HistoryView> {
        e.history
            .iter()
            .rev()
            .map(|h| HistoryView {
                text: format!(
                    "{} {}",
                    h.by_name,
                    match h.action {
                        HistoryAction::Created => "captured it",
                        HistoryAction::Edited => "edited it",
                        HistoryAction::Submitted => "sent it",
                        HistoryAction::Approved => "approved it",
                        HistoryAction::Rejected => "rejected it",
                        HistoryAction::Returned => "returned it",
                        HistoryAction::Answered => "answered",
                        HistoryAction::Corrected => "corrected it",
                        HistoryAction::Reviewed => "marked it reviewed",
                        HistoryAction::ExportStarted => "put it in an export batch",
                        HistoryAction::Exported => "exported it to the books",
                        HistoryAction::ExportCancelled => "cancelled its export",
                        HistoryAction::Unlocked => "unlocked it for a correction",
                        HistoryAction::CardMatched => "matched it to a card payment",
                        HistoryAction::CardUnmatched => "unmatched it from a card payment",
                    }
                ),
                at: format::date_time(h.at, self.offset()),
                note: h.note.clone(),
                changes: h
                    .fields
                    .iter()
                    .map(|c| {
                        let none = || "—".to_string();
                        format!(
                            "{}: {} → {}",
                            field_label(c.field),
                            c.before.clone().unwrap_or_else(none),
                            c.after.clone().unwrap_or_else(none)
                        )
                    })
                    .collect(),
            })
            .collect()
    }
}

fn errors(list: &[(String, String)]) -> Vec<FieldError> {
    list.iter()
        .map(|(field, message)| FieldError {
            field: field.clone(),
            message: message.clone(),
        })
        .collect()
}

fn field_label(f: ExpenseField) -> &'static str {
    match f {
        ExpenseField::DocumentType => "Document",
        ExpenseField::ExpenseType => "Expense type",
        ExpenseField::PaymentMethod => "Paid with",
        ExpenseField::Amount => "Amount",
        ExpenseField::BaseAmount => "Amount in base currency",
        ExpenseField::Date => "Date",
        ExpenseField::Merchant => "Merchant",
        ExpenseField::Note => "Note",
        ExpenseField::Vat => "VAT",
        ExpenseField::AccountCode => "Account",
        ExpenseField::Pages => "Photos",
    }
}
