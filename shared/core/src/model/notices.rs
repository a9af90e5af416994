//! Notices: things the user must know about (a refused change, a lost approval race) until
//! they dismiss them.

use crux_core::Command;
use kvits_protocol::{ExpenseId, Timestamp};

use super::{After, Cmd, Intent, LocalWrite, Model, Notice};

impl Model {
    pub(crate) fn dismiss_notice(&mut self, id: &str) -> Cmd {
        if !self.local.notices.contains_key(id) {
            return Command::done();
        }
        self.enqueue(Intent::Writes {
            writes: vec![LocalWrite::NoticeDelete(id.to_string())],
            then: After::Nothing,
        })
    }

    /// Adds a notice in its own transaction.
    pub(crate) fn notice_write(
        &mut self,
        now: Timestamp,
        text: String,
        expense: Option<ExpenseId>,
    ) -> LocalWrite {
        LocalWrite::NoticePut(Notice {
            id: self.ids.uuid(now).to_string(),
            at: now,
            text,
            expense_id: expense,
            fields: None,
            action_at: None,
        })
    }
}
