//! The receipts list's filters and order, for the people who see everyone's receipts in a
//! company (the firm's accountants, the company's admins): by status, period, employee, expense
//! type and card, sorted by capture, document date or amount.

use facet::Facet;
use kvits_protocol::{Expense, ExpenseStatus, ExpenseTypeId, PaymentMethodId, UserId};
use serde::{Deserialize, Serialize};

use crate::model::{Model, parse_id};

/// Which receipts the list shows by where they stand.
#[derive(
    Facet, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr,
)]
#[repr(C)]
pub enum StatusFilter {
    #[default]
    All,
    /// Approved and waiting for the firm's review.
    ToReview,
    WaitingForApproval,
    /// Sent back to the employee, waiting for them.
    Returned,
    Reviewed,
    /// In an export batch or exported to the books.
    Exported,
    Rejected,
    Drafts,
}

impl StatusFilter {
    pub const ALL: [StatusFilter; 8] = [
        StatusFilter::All,
        StatusFilter::ToReview,
        StatusFilter::WaitingForApproval,
        StatusFilter::Returned,
        StatusFilter::Reviewed,
        StatusFilter::Exported,
        StatusFilter::Rejected,
        StatusFilter::Drafts,
    ];

    pub fn label(self) -> &'static str {
        match self {
            StatusFilter::All => "All",
            StatusFilter::ToReview => "To review",
            StatusFilter::WaitingForApproval => "Waiting for approval",
            StatusFilter::Returned => "Returned to the employee",
            StatusFilter::Reviewed => "Reviewed",
            StatusFilter::Exported => "Exported",
            StatusFilter::Rejected => "Rejected",
            StatusFilter::Drafts => "Drafts",
        }
    }

    pub fn admits(self, status: ExpenseStatus) -> bool {
        match self {
            StatusFilter::All => true,
            StatusFilter::ToReview => status == ExpenseStatus::Approved,
            StatusFilter::WaitingForApproval => status == ExpenseStatus::Submitted,
            StatusFilter::Returned => status == ExpenseStatus::Returned,
            StatusFilter::Reviewed => status == ExpenseStatus::Reviewed,
            StatusFilter::Exported => {
                matches!(status, ExpenseStatus::Exporting | ExpenseStatus::Exported)
            }
            StatusFilter::Rejected => status == ExpenseStatus::Rejected,
            StatusFilter::Drafts => status == ExpenseStatus::Draft,
        }
    }
}

/// The list's order.
#[derive(
    Facet, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr,
)]
#[repr(C)]
pub enum ReceiptSort {
    /// The newest capture first.
    #[default]
    Captured,
    /// By the document's date, newest first (undated last).
    DateNewest,
    DateOldest,
    /// The largest amount first (in the document's own currency; unknown amounts last).
    AmountHighest,
}

impl ReceiptSort {
    pub const ALL: [ReceiptSort; 4] = [
        ReceiptSort::Captured,
        ReceiptSort::DateNewest,
        ReceiptSort::DateOldest,
        ReceiptSort::AmountHighest,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ReceiptSort::Captured => "Newest captured",
            ReceiptSort::DateNewest => "Date, newest first",
            ReceiptSort::DateOldest => "Date, oldest first",
            ReceiptSort::AmountHighest => "Amount, highest first",
        }
    }
}

/// A change to the receipts list's filters. Ids are strings; `None` (or an id that names
/// nothing) clears that filter.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum ReceiptFilterField {
    Status(StatusFilter),
    /// A month, `YYYY-MM`, of the document's date (its capture date when it has none).
    Period(Option<String>),
    Employee(Option<String>),
    ExpenseType(Option<String>),
    PaymentMethod(Option<String>),
    Sort(ReceiptSort),
    /// Every filter off, the default order.
    Clear,
}

/// The receipts list's filters as set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptFilter {
    pub status: StatusFilter,
    pub period: Option<String>,
    pub employee: Option<UserId>,
    pub expense_type: Option<ExpenseTypeId>,
    pub payment_method: Option<PaymentMethodId>,
    pub sort: ReceiptSort,
}

impl ReceiptFilter {
    /// Whether anything narrows the list.
    pub fn narrows(&self) -> bool {
        self.status != StatusFilter::All
            || self.period.is_some()
            || self.employee.is_some()
            || self.expense_type.is_some()
            || self.payment_method.is_some()
    }

    pub fn admits(&self, e: &Expense) -> bool {
        self.status.admits(e.status)
            && self.period.as_ref().is_none_or(|p| *p == period_of(e))
            && self.employee.is_none_or(|u| u == e.created_by)
            && self
                .expense_type
                .is_none_or(|t| e.fields.expense_type_id == Some(t))
            && self
                .payment_method
                .is_none_or(|m| e.fields.payment_method_id == Some(m))
    }

    /// Puts `list` (newest capture first) in the chosen order.
    pub fn sort(&self, list: &mut [&Expense]) {
        match self.sort {
            ReceiptSort::Captured => {}
            ReceiptSort::DateNewest => {
                list.sort_by_key(|e| (e.fields.date.is_none(), std::cmp::Reverse(e.fields.date)));
            }
            ReceiptSort::DateOldest => {
                list.sort_by_key(|e| (e.fields.date.is_none(), e.fields.date));
            }
            ReceiptSort::AmountHighest => list.sort_by_key(|e| {
                let amount = e.fields.amount.as_ref().map(|m| m.amount_minor);
                (amount.is_none(), std::cmp::Reverse(amount))
            }),
        }
    }
}

/// The month a receipt belongs to, `YYYY-MM`: its document date's, else its capture's.
pub fn period_of(e: &Expense) -> String {
    match e.fields.date {
        Some(d) => d.format("%Y-%m").to_string(),
        None => e.created_at.format("%Y-%m").to_string(),
    }
}

impl Model {
    pub(crate) fn filter_receipts(&mut self, field: ReceiptFilterField) {
        let f = &mut self.receipts.filter;
        match field {
            ReceiptFilterField::Status(s) => f.status = s,
            ReceiptFilterField::Period(p) => {
                f.period = p.filter(|p| {
                    chrono::NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d").is_ok()
                });
            }
            ReceiptFilterField::Employee(id) => f.employee = id.as_deref().and_then(parse_id),
            ReceiptFilterField::ExpenseType(id) => {
                f.expense_type = id.as_deref().and_then(parse_id);
            }
            ReceiptFilterField::PaymentMethod(id) => {
                f.payment_method = id.as_deref().and_then(parse_id);
            }
            ReceiptFilterField::Sort(s) => f.sort = s,
            ReceiptFilterField::Clear => *f = ReceiptFilter::default(),
        }
        self.list_limit = super::super::LIST_PAGE;
        self.derived = self.derive();
    }
}
