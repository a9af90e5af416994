//! Approving and rejecting, online or not. The decision carries the revision the approver
//! saw; the server decides races in arrival order and a lost race comes back as a notice.

use crux_core::Command;
use facet::Facet;
use kvits_domain::State as _;
use kvits_protocol::{DecisionKind, ExpenseId, Mutation, Timestamp};
use serde::{Deserialize, Serialize};

use super::{After, Cmd, Intent, Model, Screen, parse_id};

/// An approver's decision.
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum ApprovalEvent {
    Approve { expense_id: String },
    Reject { expense_id: String, reason: String },
}

/// The reject dialog of the open task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RejectDraft {
    pub error: Option<String>,
}

impl Model {
    pub(super) fn update_approvals(&mut self, event: ApprovalEvent, now: Timestamp) -> Cmd {
        match event {
            ApprovalEvent::Approve { expense_id } => self.decide(&expense_id, None, now),
            ApprovalEvent::Reject { expense_id, reason } => {
                self.decide(&expense_id, Some(reason), now)
            }
        }
    }

    fn decide(&mut self, expense_id: &str, reason: Option<String>, now: Timestamp) -> Cmd {
        let Some(id) = parse_id::<ExpenseId>(expense_id) else {
            self.alert = Some("That receipt is not on this device.".into());
            return Command::done();
        };
        let Some(expense) = self.predicted.expense(id) else {
            self.alert = Some("That receipt is not on this device.".into());
            return Command::done();
        };
        let (decision, reason) = match reason {
            None => (DecisionKind::Approve, None),
            Some(r) => {
                let r = r.trim().to_string();
                if r.is_empty() {
                    self.reject = Some(RejectDraft {
                        error: Some("Say why you reject it; the employee sees your reason.".into()),
                    });
                    return Command::done();
                }
                (DecisionKind::Reject, Some(r))
            }
        };
        self.reject = None;
        let message = match decision {
            DecisionKind::Approve => "Approved.",
            _ => "Rejected.",
        };
        let cmd = self.enqueue(Intent::Mutations {
            now,
            mutations: vec![Mutation::DecideExpense {
                expense_id: id,
                seen_revision: expense.revision,
                decision,
                reason,
            }],
            extra: Vec::new(),
            then: After::Saved {
                message: Some(message.into()),
                close_form: false,
            },
        });
        if self.screen == Screen::Approval(id) {
            self.screen = Screen::Approvals;
        }
        cmd
    }
}
