//! The approver's tasks, recent decisions and one receipt to decide.

use facet::Facet;
use kvits_domain::{State as _, is_task_for};
use kvits_protocol::{DecisionKind, Expense};
use serde::{Deserialize, Serialize};

use super::{DecisionView, ImageRef, PageView};
use crate::format;
use crate::model::Model;

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TaskRow {
    pub id: String,
    pub submitter: String,
    pub expense_type: Option<String>,
    pub payment_method: Option<String>,
    pub amount: Option<String>,
    pub date: Option<String>,
    pub merchant: Option<String>,
    pub thumbnail: Option<ImageRef>,
    pub submitted_at: Option<String>,
    /// Waiting for this user's decision.
    pub pending: bool,
    pub status_text: String,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ApprovalsView {
    /// Oldest first.
    pub pending: Vec<TaskRow>,
    /// Pending tasks not shown yet ("show more").
    pub more: u32,
    /// The last few decided by this user, newest first.
    pub decided: Vec<TaskRow>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ApprovalView {
    pub task: TaskRow,
    pub pages: Vec<PageView>,
    pub note: Option<String>,
    pub can_decide: bool,
    pub reject_error: Option<String>,
    pub decisions: Vec<DecisionView>,
}

/// Decisions the approvals screen recalls.
pub(super) const RECENT_DECISIONS: usize = 20;

impl Model {
    pub(super) fn pending_tasks(&self) -> impl Iterator<Item = &Expense> + '_ {
        let me = self.actor.as_ref().map(|a| a.user_id);
        let company = self.company();
        self.predicted.expenses().filter(move |e| {
            Some(e.company_id) == company && me.is_some_and(|me| is_task_for(e, me))
        })
    }

    pub(super) fn task_row(&self, e: &Expense, pending: bool) -> TaskRow {
        let queued = self.local.unsent().find_map(|o| match o.mutation() {
            kvits_protocol::Mutation::DecideExpense {
                expense_id,
                decision,
                ..
            } if *expense_id == e.id => Some(*decision),
            _ => None,
        });
        let status_text = match (queued, pending) {
            (Some(DecisionKind::Approve), _) => {
                "You approved it — saved on this device, not sent yet".to_string()
            }
            (Some(_), _) => "You rejected it — saved on this device, not sent yet".to_string(),
            (None, true) => "Waiting for your decision".to_string(),
            (None, false) => self.receipt_status(e).1,
        };
        TaskRow {
            id: e.id.to_string(),
            submitter: e.created_by_name.clone(),
            expense_type: e
                .fields
                .expense_type_id
                .and_then(|t| self.predicted.expense_type(t))
                .map(|t| t.name),
            payment_method: e
                .fields
                .payment_method_id
                .and_then(|m| self.predicted.payment_method(m))
                .map(|m| m.display_name()),
            amount: e
                .fields
                .amount
                .as_ref()
                .map(|m| format::money(m.amount_minor, &m.currency)),
            date: e.fields.date.map(|d| d.to_string()),
            merchant: e.fields.merchant.clone(),
            thumbnail: e.pages.first().map(|p| self.thumbnail(&p.sha256)),
            submitted_at: e.submitted_at.map(|t| format::date_time(t, self.offset())),
            pending,
            status_text,
        }
    }

    pub(super) fn approvals_view(&self) -> ApprovalsView {
        let rows = |ids: &[kvits_protocol::ExpenseId], pending: bool, limit: usize| {
            ids.iter()
                .filter_map(|id| self.predicted.expenses_get(*id))
                .take(limit)
                .map(|e| self.task_row(e, pending))
                .collect()
        };
        ApprovalsView {
            pending: rows(&self.derived.tasks, true, self.list_limit),
            more: self.derived.tasks.len().saturating_sub(self.list_limit) as u32,
            decided: rows(&self.derived.decided, false, RECENT_DECISIONS),
        }
    }

    pub(super) fn approval_view(&self, e: &Expense) -> ApprovalView {
        let pending = self
            .actor
            .as_ref()
            .is_some_and(|a| is_task_for(e, a.user_id));
        ApprovalView {
            task: self.task_row(e, pending),
            pages: self.pages(e),
            note: e.fields.note.clone(),
            can_decide: pending,
            reject_error: self.reject.as_ref().and_then(|r| r.error.clone()),
            decisions: self.decisions(e),
        }
    }
}
