//! Messages between the accounting firm and its client companies.

use std::collections::BTreeSet;

use crux_core::Command;
use facet::Facet;
use kvits_protocol::{CompanyId, MessageId, Mutation, Role, ThreadId, Timestamp};
use serde::{Deserialize, Serialize};

use super::{After, Cmd, Intent, Model, Screen, parse_id};
use crate::event::ComposeField;

/// Reading, answering and writing messages.
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum MessageEvent {
    /// Answer in the open thread.
    Reply { body: String },
    /// Edit the accountant's message being composed.
    EditCompose(ComposeField),
    /// Send the composed message to the chosen client companies.
    Send,
}

impl MessageEvent {
    pub(crate) fn needs_clock(&self) -> bool {
        match self {
            MessageEvent::Reply { .. } | MessageEvent::Send => true,
            MessageEvent::EditCompose(_) => false,
        }
    }
}

/// The accountant's message being written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComposeState {
    pub companies: BTreeSet<CompanyId>,
    pub subject: String,
    pub body: String,
    pub error: Option<String>,
}

impl Model {
    pub(super) fn update_messages(&mut self, event: MessageEvent, now: Timestamp) -> Cmd {
        match event {
            MessageEvent::Reply { body } => self.reply(body, now),
            MessageEvent::EditCompose(field) => {
                self.edit_compose(field);
                Command::done()
            }
            MessageEvent::Send => self.send_message(now),
        }
    }

    /// Moves the user's read marker in `thread` to its newest message from someone else.
    pub(crate) fn mark_read(&mut self, thread: ThreadId, now: Timestamp) -> Cmd {
        let Some(me) = self.actor.as_ref().map(|a| a.user_id) else {
            return Command::done();
        };
        let unread = self
            .predicted
            .thread_messages_iter(thread)
            .filter(|m| m.author_id != me)
            .filter(|m| self.predicted.read_at(m.id, me).is_none())
            .last()
            .map(|m| m.id);
        let Some(up_to) = unread else {
            return Command::done();
        };
        self.enqueue(Intent::Mutations {
            now,
            mutations: vec![Mutation::MarkRead {
                thread_id: thread,
                up_to,
            }],
            extra: Vec::new(),
            then: After::Nothing,
        })
    }

    fn reply(&mut self, body: String, now: Timestamp) -> Cmd {
        let Screen::Thread(thread_id) = self.screen else {
            self.fail("a reply with no conversation open");
            return Command::done();
        };
        let body = body.trim().to_string();
        if body.is_empty() {
            self.alert = Some("Write something first.".into());
            return Command::done();
        }
        let message_id = MessageId(self.ids.uuid(now));
        self.enqueue(Intent::Mutations {
            now,
            mutations: vec![Mutation::ReplyMessage {
                message_id,
                thread_id,
                body,
                attachment: None,
            }],
            extra: Vec::new(),
            then: After::Nothing,
        })
    }

    fn edit_compose(&mut self, field: ComposeField) {
        match field {
            ComposeField::ToggleCompany(id) => {
                let Some(id) = parse_id::<CompanyId>(&id) else {
                    self.compose.error = Some("Unknown company.".into());
                    return;
                };
                if !self.compose.companies.remove(&id) {
                    self.compose.companies.insert(id);
                }
            }
            ComposeField::AllCompanies => {
                self.compose.companies = self.accountant_companies().into_iter().collect();
            }
            ComposeField::Subject(s) => self.compose.subject = s,
            ComposeField::Body(s) => self.compose.body = s,
        }
        self.compose.error = None;
    }

    /// The client companies the accountant can write to.
    pub(crate) fn accountant_companies(&self) -> Vec<CompanyId> {
        self.actor
            .as_ref()
            .map(|a| {
                a.roles
                    .iter()
                    .filter(|(_, r)| r.contains(&Role::Accountant))
                    .map(|(c, _)| *c)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn send_message(&mut self, now: Timestamp) -> Cmd {
        let c = &self.compose;
        let error = if c.companies.is_empty() {
            Some("Choose at least one company.")
        } else if c.subject.trim().is_empty() {
            Some("Write a subject.")
        } else if c.body.trim().is_empty() {
            Some("Write the message.")
        } else {
            None
        };
        if let Some(e) = error {
            self.compose.error = Some(e.into());
            return Command::done();
        }
        let mutation = Mutation::SendMessage {
            message_id: MessageId(self.ids.uuid(now)),
            company_ids: self.compose.companies.iter().copied().collect(),
            subject: self.compose.subject.trim().to_string(),
            body: self.compose.body.trim().to_string(),
            attachment: None,
        };
        self.enqueue(Intent::Mutations {
            now,
            mutations: vec![mutation],
            extra: Vec::new(),
            then: After::MessageSent,
        })
    }
}
