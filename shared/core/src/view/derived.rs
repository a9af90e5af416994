//! The lists and counts the views share, worked out ahead of them (see
//! [`crate::model::Derived`]).

use kvits_protocol::Expense;

use super::approvals::RECENT_DECISIONS;
use crate::model::Model;

impl Model {
    /// Works out the lists and counts the views show (receipts, tasks, decisions, inbox);
    /// called whenever the prediction or the session changes, so views (which run after every
    /// event) need not scan every row.
    pub(crate) fn derive(&self) -> crate::model::Derived {
        let me = self.actor.as_ref().map(|a| a.user_id);
        let company = self.company();
        let mut tasks: Vec<&Expense> = self.pending_tasks().collect();
        tasks.sort_by_key(|e| (e.submitted_at, e.id));
        let mut decided: Vec<(Option<kvits_protocol::Timestamp>, &Expense)> = self
            .predicted
            .expenses()
            .filter(|e| Some(e.company_id) == company)
            .filter_map(|e| {
                let last = e
                    .decisions
                    .iter()
                    .filter(|d| Some(d.by) == me)
                    .map(|d| d.at)
                    .max();
                last.map(|at| (Some(at), e))
            })
            .collect();
        decided.sort_by_key(|(at, e)| std::cmp::Reverse((*at, e.id)));
        let threads = self.inbox_threads();
        crate::model::Derived {
            unread: threads.iter().map(|(_, n)| n).sum(),
            threads,
            receipts: self.listed_receipts(),
            tasks: tasks.into_iter().map(|e| e.id).collect(),
            decided: decided
                .into_iter()
                .take(RECENT_DECISIONS)
                .map(|(_, e)| e.id)
                .collect(),
        }
    }
}
