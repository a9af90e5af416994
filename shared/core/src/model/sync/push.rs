//! Pushing the outbox: a batch of queued mutations in `seq` order, and what the server's
//! results mean for the queue and the user.

use crux_http::protocol::HttpResult;
use kvits_protocol::{
    DecisionKind, ErrorBody, ErrorCode, ExpenseId, Mutation, MutationResult, Outcome, PushResponse,
    Timestamp,
};

use super::{Reply, Step, classify, expense_of};
use crate::format;
use crate::model::local::{OutboxEntry, PhotoRecord};
use crate::model::{Cmd, Intent, LocalWrite, Model};

/// "Your receipt", "Your approval", ... for notices.
pub(super) fn what(m: &Mutation) -> &'static str {
    match m {
        Mutation::CreateExpense { .. } => "A new receipt",
        Mutation::SetExpenseFields { .. } => "A change to a receipt",
        Mutation::SetDocumentType { .. } => "A receipt's document type",
        Mutation::AttachReceipt { .. } => "A receipt photo",
        Mutation::SubmitExpense { .. } => "A submitted receipt",
        Mutation::DeleteExpense { .. } => "Deleting a receipt",
        Mutation::DecideExpense { .. } => "Your decision",
        Mutation::CorrectExpense { .. } => "Your correction",
        Mutation::ReturnExpense { .. } => "Your question",
        Mutation::AnswerExpense { .. } => "Your answer",
        Mutation::MarkReviewed { .. } => "Marking a receipt reviewed",
        Mutation::StartExport { .. }
        | Mutation::FinishExport { .. }
        | Mutation::CancelExport { .. } => "An export",
        Mutation::UnlockExpense { .. } => "Unlocking an exported receipt",
        Mutation::SendMessage { .. } => "Your message",
        Mutation::ReplyMessage { .. } => "Your reply",
        Mutation::MarkRead { .. } => "A read receipt",
        Mutation::PutExpenseType(_) => "An expense type",
        Mutation::PutPaymentMethod(_) => "A payment method",
        Mutation::PutApprovalRule(_) => "An approval rule",
        Mutation::MatchCardTransaction { .. } => "Matching a card payment",
        Mutation::UnmatchCardTransaction { .. } => "Unmatching a card payment",
        Mutation::DeclareNoReceipt { .. } => "Your declaration of a missing receipt",
        Mutation::AcceptNoReceipt { .. } => "Accepting a missing receipt",
    }
}

impl Model {
    pub(super) fn pushed(&mut self, result: HttpResult) -> Cmd {
        if let HttpResult::Ok(r) = &result
            && r.status == 409
            && serde_json::from_slice::<ErrorBody>(&r.body)
                .is_ok_and(|e| e.code == ErrorCode::ClientStateLost)
        {
            return self.client_state_lost();
        }
        let body = match classify(result) {
            Reply::Ok(body) => body,
            other => return self.stop_or_retry(other),
        };
        let Ok(response) = serde_json::from_slice::<PushResponse>(&body) else {
            self.fail("the server's push answer could not be read");
            self.sync.step = Step::Idle;
            return self.backoff(
                "The server answered something this app cannot read.".into(),
                None,
            );
        };
        let mut writes = self.result_writes(response.results);
        if let Some(halt) = response.halted {
            if halt.code == ErrorCode::BlobMissing {
                for sha in &halt.missing_blobs {
                    if let Some(p) = self.local.photos.get(sha) {
                        // The server does not have it (after all): send it again.
                        writes.push(LocalWrite::PhotoPut(PhotoRecord {
                            uploaded: false,
                            ..p.clone()
                        }));
                    }
                }
                if halt
                    .missing_blobs
                    .iter()
                    .all(|s| !self.local.photos.contains_key(s))
                {
                    // Not ours to upload (another device's photo): wait for it.
                    self.sync.then_backoff = Some((halt.message, halt.retry_after_ms));
                }
            } else {
                self.sync.then_backoff = Some((halt.message, halt.retry_after_ms));
            }
        }
        self.sync.needs_pull = true;
        self.sync.step = Step::Applying;
        self.enqueue(Intent::Sync { writes })
    }

    /// Records the server's results on their outbox rows, with a notice for each refusal.
    pub(super) fn result_writes(&mut self, results: Vec<MutationResult>) -> Vec<LocalWrite> {
        let mut writes = Vec::new();
        // One notice per action: a refused change usually takes the submit made with it along
        // (and they may be answered in different pushes, around the photo's upload).
        let mut noticed: std::collections::BTreeSet<(Option<ExpenseId>, Timestamp)> = self
            .local
            .notices
            .values()
            .filter_map(|n| n.action_at.map(|a| (n.expense_id, a)))
            .collect();
        for r in results {
            let Some(entry) = self.local.outbox.get(&r.seq) else {
                continue;
            };
            if entry.result.is_some() {
                continue;
            }
            let mut entry = entry.clone();
            let expense = expense_of(entry.mutation());
            let action = entry.pending.created_at;
            if !r.outcome.is_success() && entry.replay {
                // Applied before the server lost it; refused now because the server's row
                // has moved past it. Nothing for the user to do.
                self.fail(format!(
                    "a change sent again after the server lost it was refused: {:?}",
                    r.outcome
                ));
            } else if !r.outcome.is_success() && noticed.insert((expense, action)) {
                let now = self.clock.unwrap_or(action);
                let mut text = self.refusal_text(&entry, &r.outcome);
                let mut notice = self.notice_write(now, String::new(), expense);
                if let LocalWrite::NoticePut(n) = &mut notice {
                    if let Mutation::SetExpenseFields { fields, .. } = entry.mutation() {
                        text.push_str(" What you entered is kept: open the receipt to correct it.");
                        n.fields = Some(fields.clone());
                    }
                    n.text = text;
                    n.action_at = Some(action);
                }
                writes.push(notice);
            }
            entry.result = Some(r);
            writes.push(LocalWrite::OutboxPut(entry));
        }
        writes
    }

    /// What the user reads when the server refused something they did.
    pub(crate) fn refusal_text(&self, entry: &OutboxEntry, outcome: &Outcome) -> String {
        let offset = self.config.utc_offset_minutes;
        let made = format::time(entry.pending.created_at, offset);
        match (entry.mutation(), outcome) {
            (
                Mutation::DecideExpense { decision, .. },
                Outcome::Conflict {
                    winner: Some(w), ..
                },
            ) => format!(
                "Your {} made offline at {made} was not applied — {} {} it at {}.",
                match decision {
                    DecisionKind::Approve => "approval",
                    DecisionKind::Reject => "rejection",
                    DecisionKind::Return => "return",
                },
                w.by_name,
                match w.kind {
                    DecisionKind::Approve => "approved",
                    DecisionKind::Reject => "rejected",
                    DecisionKind::Return => "returned",
                },
                format::time(w.at, offset)
            ),
            (m, Outcome::Rejected { message, .. } | Outcome::Conflict { message, .. }) => {
                format!(
                    "{} ({made}) was not accepted: {}.",
                    what(m),
                    format::sentence(message)
                )
            }
            (m, _) => format!("{} ({made}) was not accepted.", what(m)),
        }
    }
}
