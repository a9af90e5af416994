//! The receipts list and one receipt's form, with where each receipt stands for its owner.

use facet::Facet;
use kvits_domain::State as _;
use kvits_protocol::{DecisionKind, Expense, ExpenseStatus, PaymentKind, Role};
use serde::{Deserialize, Serialize};

use super::review::{AnswerView, HistoryView, ReviewView, VatLinesView};
use super::{Choice, ImageRef};
use crate::event::DocumentKind;
use crate::format;
use crate::model::{DEFAULT_CURRENCY, Model, ReceiptSort, StatusFilter, period_of};

/// Where a receipt stands, as its owner sees it.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[repr(C)]
pub enum ReceiptStatus {
    Draft,
    /// Saved on the device, waiting for the network.
    Queued,
    Uploading {
        percent: u8,
    },
    /// The server has it.
    Sent,
    Approved,
    Rejected {
        reason: Option<String>,
    },
    Returned {
        reason: Option<String>,
    },
    /// Checked by the accounting firm: ready for export.
    Reviewed,
    /// In an export batch, or exported to the books.
    Exported,
    /// The server refused a change to it.
    NotAccepted {
        reason: String,
    },
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReceiptRow {
    pub id: String,
    pub title: String,
    pub amount: Option<String>,
    pub date: Option<String>,
    pub thumbnail: Option<ImageRef>,
    pub pages: u32,
    pub status: ReceiptStatus,
    pub status_text: String,
}

/// The list's filters, for those who see everyone's receipts in the company.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReceiptFiltersView {
    /// Ids as [`crate::event::StatusFilter`] names them (`All`, `ToReview`, …); the detail is
    /// how many receipts of the company are in that status.
    pub statuses: Vec<Choice>,
    /// Months (`2026-11`) that have receipts, newest first.
    pub periods: Vec<Choice>,
    pub employees: Vec<Choice>,
    pub expense_types: Vec<Choice>,
    pub payment_methods: Vec<Choice>,
    /// Ids as [`crate::event::ReceiptSort`] names them.
    pub sorts: Vec<Choice>,
    /// Whether any filter narrows the list.
    pub narrowed: bool,
    /// "12 of 240 receipts".
    pub summary: String,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReceiptsView {
    pub can_capture: bool,
    /// The firm's staff: "Export to the books" opens the company's export page.
    pub can_export: bool,
    /// `None` for someone who sees only their own receipts.
    pub filters: Option<ReceiptFiltersView>,
    /// Photos being processed right now.
    pub processing: u32,
    pub receipts: Vec<ReceiptRow>,
    /// Rows not shown yet ("show more").
    pub more: u32,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PageView {
    pub sha256: String,
    pub image: ImageRef,
    pub thumbnail: ImageRef,
    pub size: String,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DecisionView {
    pub text: String,
    pub reason: Option<String>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReceiptView {
    pub id: String,
    pub editable: bool,
    pub status: ReceiptStatus,
    pub status_text: String,
    pub pages: Vec<PageView>,
    pub processing: u32,
    /// Receipt, invoice or other document (id: `Receipt`, `Invoice`, `Other`, as
    /// [`crate::event::DocumentKind`] names them); the selected one is what it is.
    pub document_types: Vec<Choice>,
    pub expense_types: Vec<Choice>,
    pub payment_methods: Vec<Choice>,
    pub amount: String,
    pub currency: String,
    /// The company's base currency when the receipt is in another one: the form then asks for
    /// the amount in it too ([`Self::base_amount`]). `None` for a receipt in the base currency.
    pub base_currency: Option<String>,
    pub base_amount: String,
    pub date: String,
    pub merchant: String,
    pub note: String,
    pub errors: Vec<FieldError>,
    pub can_delete: bool,
    pub decisions: Vec<DecisionView>,
    /// The VAT lines entered, as text (`21 %: 10.00 + 2.10 VAT`).
    pub vat: Option<String>,
    /// The VAT lines to edit, while the form is open on an editable receipt.
    pub vat_lines: Option<VatLinesView>,
    /// The bookkeeping account the firm set, when it differs from the expense type's.
    pub account_code: Option<String>,
    /// The firm's review form (accountants, once the receipt is approved).
    pub review: Option<ReviewView>,
    /// The question the receipt came back with, for its employee to answer.
    pub answer: Option<AnswerView>,
    /// Every change to the receipt, newest first.
    pub history: Vec<HistoryView>,
}

impl Model {
    /// The receipts the list shows, newest first. "Newest" is the capture order: receipts get
    /// UUIDv7 ids from the capturing device's clock, which orders one device's captures
    /// exactly; `created_at` would mix that clock with the server's (a synced receipt carries the
    /// server's time, a queued one the device's) and reorder them whenever the two disagree.
    pub(super) fn listed_receipts(&self) -> Vec<kvits_protocol::ExpenseId> {
        let me = self.actor.as_ref().map(|a| a.user_id);
        let company = self.company();
        let all = self.sees_all_receipts();
        let filter = &self.receipts.filter;
        let mut listed: Vec<&Expense> = self
            .predicted
            .expenses()
            .filter(|e| Some(e.company_id) == company && (all || Some(e.created_by) == me))
            .filter(|e| !all || filter.admits(e))
            .collect();
        listed.sort_by_key(|e| std::cmp::Reverse(e.id));
        if all {
            filter.sort(&mut listed);
        }
        listed.into_iter().map(|e| e.id).collect()
    }

    /// Whether the list holds everyone's receipts in the company (and so has filters).
    fn sees_all_receipts(&self) -> bool {
        self.has_role(Role::Accountant) || self.has_role(Role::CompanyAdmin)
    }

    fn receipt_filters(&self, shown: usize) -> Option<ReceiptFiltersView> {
        if !self.sees_all_receipts() {
            return None;
        }
        let company = self.company()?;
        let f = &self.receipts.filter;
        let everyone: Vec<Expense> = self
            .predicted
            .expenses()
            .filter(|e| e.company_id == company)
            .cloned()
            .collect();
        let statuses = StatusFilter::ALL
            .into_iter()
            .map(|s| Choice {
                id: <&str>::from(s).to_string(),
                label: s.label().to_string(),
                detail: Some(
                    everyone
                        .iter()
                        .filter(|e| s.admits(e.status))
                        .count()
                        .to_string(),
                ),
                selected: s == f.status,
            })
            .collect();
        let mut periods: Vec<String> = everyone.iter().map(period_of).collect();
        periods.sort_unstable_by(|a, b| b.cmp(a));
        periods.dedup();
        let mut people: Vec<(kvits_protocol::UserId, String)> = everyone
            .iter()
            .map(|e| (e.created_by, e.created_by_name.clone()))
            .collect();
        people.sort_by(|a, b| {
            a.1.to_lowercase()
                .cmp(&b.1.to_lowercase())
                .then(a.0.cmp(&b.0))
        });
        people.dedup_by_key(|p| p.0);
        let mut types = self.predicted.expense_types(company);
        types.sort_by_key(|t| t.name.to_lowercase());
        let mut methods: Vec<_> = self
            .predicted
            .payment_methods()
            .filter(|m| m.company_id == company)
            .collect();
        methods.sort_by_key(|m| (m.label.to_lowercase(), m.id));
        Some(ReceiptFiltersView {
            statuses,
            periods: periods
                .into_iter()
                .map(|p| Choice {
                    selected: f.period.as_ref() == Some(&p),
                    label: p.clone(),
                    id: p,
                    detail: None,
                })
                .collect(),
            employees: people
                .into_iter()
                .map(|(id, name)| Choice {
                    id: id.to_string(),
                    label: name,
                    detail: None,
                    selected: f.employee == Some(id),
                })
                .collect(),
            expense_types: types
                .into_iter()
                .map(|t| Choice {
                    id: t.id.to_string(),
                    selected: f.expense_type == Some(t.id),
                    label: t.name,
                    detail: Some(t.code),
                })
                .collect(),
            payment_methods: methods
                .into_iter()
                .map(|m| Choice {
                    id: m.id.to_string(),
                    label: m.display_name(),
                    detail: None,
                    selected: f.payment_method == Some(m.id),
                })
                .collect(),
            sorts: ReceiptSort::ALL
                .into_iter()
                .map(|s| Choice {
                    id: <&str>::from(s).to_string(),
                    label: s.label().to_string(),
                    detail: None,
                    selected: s == f.sort,
                })
                .collect(),
            narrowed: f.narrows(),
            summary: format!(
                "{shown} of {} receipt{}",
                everyone.len(),
                if everyone.len() == 1 { "" } else { "s" }
            ),
        })
    }

    pub(super) fn receipts_view(&self) -> ReceiptsView {
        let ids = &self.derived.receipts;
        let receipts: Vec<ReceiptRow> = ids
            .iter()
            .filter_map(|id| self.predicted.expenses_get(*id))
            .take(self.list_limit)
            .map(|e| self.receipt_row(e))
            .collect();
        ReceiptsView {
            can_capture: self.can_capture(),
            can_export: self.exports(),
            filters: self.receipt_filters(ids.len()),
            processing: self.local.captures.len() as u32,
            more: ids.len().saturating_sub(receipts.len()) as u32,
            receipts,
        }
    }

    pub(super) fn can_capture(&self) -> bool {
        self.roles().iter().any(|r| {
            matches!(
                r,
                Role::Employee | Role::Approver | Role::CompanyAdmin | Role::Accountant
            )
        })
    }

    pub(super) fn receipt_row(&self, e: &Expense) -> ReceiptRow {
        let (status, status_text) = self.receipt_status(e);
        ReceiptRow {
            id: e.id.to_string(),
            title: self.title(e),
            amount: e
                .fields
                .amount
                .as_ref()
                .map(|m| format::money(m.amount_minor, &m.currency)),
            date: e.fields.date.map(|d| d.to_string()),
            thumbnail: e.pages.first().map(|p| self.thumbnail(&p.sha256)),
            pages: e.pages.len() as u32,
            status,
            status_text,
        }
    }

    pub(super) fn title(&self, e: &Expense) -> String {
        if let Some(m) = e.fields.merchant.as_ref().filter(|m| !m.is_empty()) {
            return m.clone();
        }
        e.fields
            .expense_type_id
            .and_then(|t| self.predicted.expense_type(t))
            .map_or_else(|| "Receipt".to_string(), |t| t.name)
    }

    /// Where the receipt stands, for its owner. A receipt shows as sent only once the server
    /// accepted every change to it.
    pub(crate) fn receipt_status(&self, e: &Expense) -> (ReceiptStatus, String) {
        let unsent: Vec<_> = self
            .local
            .unsent()
            .filter(|o| crate::model::expense_of(o.mutation()) == Some(e.id))
            .collect();
        if !unsent.is_empty() {
            if let Some(up) = &self.sync.upload
                && e.pages.iter().any(|p| p.sha256 == up.sha256)
            {
                let percent = (up.sent.saturating_mul(100) / up.total.max(1)).min(100) as u8;
                return (
                    ReceiptStatus::Uploading { percent },
                    format!("Uploading {percent} %"),
                );
            }
            return (
                ReceiptStatus::Queued,
                "Saved on this device, waiting to be sent".into(),
            );
        }
        if let Some(outcome) = self.refused(e.id) {
            let reason = match outcome {
                kvits_protocol::Outcome::Rejected { message, .. }
                | kvits_protocol::Outcome::Conflict { message, .. } => message.clone(),
                _ => String::new(),
            };
            return (
                ReceiptStatus::NotAccepted {
                    reason: reason.clone(),
                },
                format!("Not accepted: {reason}"),
            );
        }
        let last_reason = || e.decisions.last().and_then(|d| d.reason.clone());
        match e.status {
            ExpenseStatus::Draft => (ReceiptStatus::Draft, "Draft".into()),
            ExpenseStatus::Submitted => (ReceiptStatus::Sent, "Sent, waiting for approval".into()),
            ExpenseStatus::Approved => (
                ReceiptStatus::Approved,
                if e.approval.is_some() {
                    "Approved"
                } else {
                    "Sent"
                }
                .into(),
            ),
            ExpenseStatus::Rejected => {
                let reason = last_reason();
                let text = match &reason {
                    Some(r) => format!("Rejected: {r}"),
                    None => "Rejected".into(),
                };
                (ReceiptStatus::Rejected { reason }, text)
            }
            ExpenseStatus::Returned => {
                let reason = last_reason();
                let text = match &reason {
                    Some(r) => format!("Returned for changes: {r}"),
                    None => "Returned for changes".into(),
                };
                (ReceiptStatus::Returned { reason }, text)
            }
            ExpenseStatus::Reviewed => (
                ReceiptStatus::Reviewed,
                "Reviewed by the accounting firm".into(),
            ),
            ExpenseStatus::Exporting | ExpenseStatus::Exported => {
                (ReceiptStatus::Exported, export_text(e))
            }
        }
    }

    pub(super) fn pages(&self, e: &Expense) -> Vec<PageView> {
        e.pages
            .iter()
            .map(|p| PageView {
                sha256: p.sha256.clone(),
                image: self.image(&p.sha256),
                thumbnail: self.thumbnail(&p.sha256),
                size: format!("{} KB", p.size.div_ceil(1024)),
            })
            .collect()
    }

    pub(super) fn decisions(&self, e: &Expense) -> Vec<DecisionView> {
        e.decisions
            .iter()
            .map(|d| DecisionView {
                text: format!(
                    "{} {} at {}",
                    d.by_name,
                    match d.kind {
                        DecisionKind::Approve => "approved",
                        DecisionKind::Reject => "rejected",
                        DecisionKind::Return => "returned it",
                    },
                    format::date_time(d.at, self.offset())
                ),
                reason: d.reason.clone(),
            })
            .collect()
    }

    pub(super) fn receipt_view(&self, id: kvits_protocol::ExpenseId) -> Option<ReceiptView> {
        let e = self.predicted.expense(id)?;
        let form = self.receipts.form.as_ref().filter(|f| f.expense_id == id);
        let (status, status_text) = self.receipt_status(&e);
        let editable = self.editable(id);
        let type_id = form.map_or(e.fields.expense_type_id, |f| f.expense_type_id);
        let method_id = form.map_or(e.fields.payment_method_id, |f| f.payment_method_id);
        let mut types: Vec<_> = self
            .predicted
            .expense_types(e.company_id)
            .into_iter()
            .filter(|t| t.active || Some(t.id) == type_id)
            .collect();
        types.sort_by_key(|t| t.name.to_lowercase());
        let me = self.actor.as_ref().map(|a| a.user_id);
        let payment_methods = self
            .payment_choices(e.company_id, method_id)
            .into_iter()
            .map(|m| Choice {
                id: m.id.to_string(),
                label: m.display_name(),
                detail: match (m.payment_kind, m.holder_id) {
                    (PaymentKind::CompanyCard, Some(h)) if Some(h) == me => {
                        Some("Your cards".into())
                    }
                    (PaymentKind::CompanyCard, Some(_)) => Some("Another person's card".into()),
                    (PaymentKind::CompanyCard, None) => Some("Company cards".into()),
                    (PaymentKind::OwnMoney, _) => None,
                },
                selected: Some(m.id) == method_id,
            })
            .collect();
        let processing = self
            .local
            .captures
            .values()
            .filter(|c| c.target == crate::model::CaptureTarget::Page { expense_id: id })
            .count() as u32;
        let fields = &e.fields;
        let currency = form.map_or_else(
            || {
                fields
                    .amount
                    .as_ref()
                    .map_or(DEFAULT_CURRENCY.to_string(), |m| m.currency.clone())
            },
            |f| f.currency.clone(),
        );
        let base = self.base_currency_of(e.company_id);
        let document_type: DocumentKind = form.map_or(e.document_type, |f| f.document_type).into();
        Some(ReceiptView {
            id: id.to_string(),
            editable,
            status,
            status_text,
            pages: self.pages(&e),
            processing,
            document_types: DocumentKind::ALL
                .into_iter()
                .map(|kind| Choice {
                    id: <&str>::from(kind).to_string(),
                    label: kind.label().to_string(),
                    detail: None,
                    selected: kind == document_type,
                })
                .collect(),
            expense_types: types
                .into_iter()
                .map(|t| Choice {
                    id: t.id.to_string(),
                    label: t.name.clone(),
                    detail: Some(t.code.clone()),
                    selected: Some(t.id) == type_id,
                })
                .collect(),
            payment_methods,
            amount: form.map_or_else(
                || {
                    fields
                        .amount
                        .as_ref()
                        .map(|m| format::amount_input(m.amount_minor, &m.currency))
                        .unwrap_or_default()
                },
                |f| f.amount.clone(),
            ),
            base_amount: form.map_or_else(
                || {
                    fields
                        .base_amount
                        .as_ref()
                        .map(|m| format::amount_input(m.amount_minor, &m.currency))
                        .unwrap_or_default()
                },
                |f| f.base_amount.clone(),
            ),
            base_currency: (currency != base).then_some(base),
            currency,
            date: form.map_or_else(
                || fields.date.map(|d| d.to_string()).unwrap_or_default(),
                |f| f.date.clone(),
            ),
            merchant: form.map_or_else(
                || fields.merchant.clone().unwrap_or_default(),
                |f| f.merchant.clone(),
            ),
            note: form.map_or_else(
                || fields.note.clone().unwrap_or_default(),
                |f| f.note.clone(),
            ),
            errors: form
                .map(|f| {
                    f.errors
                        .iter()
                        .map(|(field, message)| FieldError {
                            field: field.clone(),
                            message: message.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            can_delete: editable && e.status == ExpenseStatus::Draft && e.submitted_at.is_none(),
            decisions: self.decisions(&e),
            vat: (!e.fields.vat.is_empty())
                .then(|| kvits_domain::vat_text(&e.fields.vat, &crate::model::currency_of(&e))),
            vat_lines: form
                .filter(|_| editable)
                .map(|f| VatLinesView::of(&f.vat, &f.currency)),
            account_code: e.fields.account_code.clone(),
            review: self.review_view(&e),
            answer: self.answer_view(&e),
            history: self.history_view(&e),
        })
    }
}

/// "Exported to the books: batch 7, voucher 7-012", with what the firm did since.
pub(super) fn export_text(e: &Expense) -> String {
    let Some(m) = &e.export else {
        return "Exported to the books".into();
    };
    let place = format!("batch {}, voucher {}", m.batch_number, m.voucher);
    match (e.status, m.locked, m.changed) {
        (ExpenseStatus::Exporting, ..) => format!("Being exported: {place}"),
        (_, true, _) => format!("Exported to the books: {place}"),
        (_, false, false) => format!("Exported ({place}), unlocked for a correction"),
        (_, false, true) => format!("Changed since its export ({place})"),
    }
}
