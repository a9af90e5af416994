//! Messages: the inbox, one thread and the accountant's composer.

use facet::Facet;
use kvits_domain::{State as _, message_recipients};
use kvits_protocol::{Company, Role, Thread};
use serde::{Deserialize, Serialize};

use super::{Choice, ImageRef};
use crate::format;
use crate::model::Model;

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ThreadRow {
    pub id: String,
    pub company: String,
    pub subject: String,
    pub preview: String,
    pub last_at: String,
    pub unread: u32,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InboxView {
    pub threads: Vec<ThreadRow>,
    /// Threads not shown yet ("show more").
    pub more: u32,
    pub unread: u32,
    pub can_compose: bool,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReadView {
    pub name: String,
    /// Local date and time, or `None` while unread.
    pub read_at: Option<String>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MessageView {
    pub id: String,
    pub author: String,
    pub mine: bool,
    pub body: String,
    pub at: String,
    /// Sent, not yet accepted by the server.
    pub queued: bool,
    /// Who of the company read it and when (shown to the accounting firm).
    pub reads: Vec<ReadView>,
    /// The file that came with it (a statement as a PDF, a photo), if any.
    pub attachment: Option<AttachmentView>,
}

/// A message's attachment: its name, type and size to show, and where to fetch it (the same
/// authorised download as a receipt photo).
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AttachmentView {
    pub file_name: String,
    pub content_type: String,
    /// `48 KB`, `1.4 MB`.
    pub size: String,
    pub file: ImageRef,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ThreadView {
    pub id: String,
    pub subject: String,
    pub company: String,
    pub messages: Vec<MessageView>,
    pub can_reply: bool,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ComposeView {
    pub companies: Vec<Choice>,
    pub subject: String,
    pub body: String,
    pub error: Option<String>,
}

impl Model {
    /// The threads the inbox shows with their unread counts, newest first: every client
    /// company's for the firm's accountants, the current company's for everyone else.
    pub(super) fn inbox_threads(&self) -> Vec<(kvits_protocol::ThreadId, u32)> {
        let accountant = self.has_role(Role::Accountant);
        let company = self.company();
        let mut threads: Vec<&Thread> = self
            .predicted
            .threads()
            .filter(|t| accountant || Some(t.company_id) == company)
            .collect();
        threads.sort_by_key(|t| std::cmp::Reverse((t.last_message_at, t.id)));
        threads
            .into_iter()
            .map(|t| (t.id, self.unread(t)))
            .collect()
    }

    pub(super) fn unread(&self, thread: &Thread) -> u32 {
        let Some(me) = self.actor.as_ref().map(|a| a.user_id) else {
            return 0;
        };
        self.predicted
            .thread_messages_iter(thread.id)
            .filter(|m| m.author_id != me && self.predicted.read_at(m.id, me).is_none())
            .count() as u32
    }

    pub(super) fn inbox_view(&self) -> InboxView {
        let threads: Vec<ThreadRow> = self
            .derived
            .threads
            .iter()
            .filter_map(|(id, unread)| self.predicted.thread_get(*id).map(|t| (t, *unread)))
            .take(self.list_limit)
            .map(|(t, unread)| {
                let last = self.predicted.thread_messages_iter(t.id).last();
                ThreadRow {
                    id: t.id.to_string(),
                    company: self.company_name(t.company_id),
                    subject: t.subject.clone(),
                    preview: last.map(|m| preview(&m.body)).unwrap_or_default(),
                    last_at: format::date_time(t.last_message_at, self.offset()),
                    unread,
                }
            })
            .collect();
        InboxView {
            unread: self.derived.unread,
            more: self.derived.threads.len().saturating_sub(threads.len()) as u32,
            threads,
            can_compose: self.has_role(Role::Accountant),
        }
    }

    pub(super) fn thread_view(&self, t: &Thread) -> ThreadView {
        let me = self.actor.as_ref().map(|a| a.user_id);
        let accountant = self.has_role(Role::Accountant);
        let company: Option<Company> = self.predicted.company(t.company_id);
        let recipients = company.as_ref().map(message_recipients).unwrap_or_default();
        let unsent: Vec<kvits_protocol::MessageId> = self
            .local
            .unsent()
            .filter_map(|o| match o.mutation() {
                kvits_protocol::Mutation::ReplyMessage { message_id, .. } => Some(*message_id),
                kvits_protocol::Mutation::SendMessage { message_id, .. } => Some(*message_id),
                _ => None,
            })
            .collect();
        let messages = self
            .predicted
            .thread_messages_iter(t.id)
            .map(|m| {
                let reads = if accountant {
                    recipients
                        .iter()
                        .filter(|u| **u != m.author_id)
                        .map(|u| ReadView {
                            name: company
                                .as_ref()
                                .and_then(|c| c.members.iter().find(|mm| mm.user_id == *u))
                                .map(|mm| mm.name.clone())
                                .unwrap_or_default(),
                            read_at: self
                                .predicted
                                .read_at(m.id, *u)
                                .map(|t| format::date_time(t, self.offset())),
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                MessageView {
                    id: m.id.to_string(),
                    author: m.author_name.clone(),
                    mine: Some(m.author_id) == me,
                    body: m.body.clone(),
                    at: format::date_time(m.created_at, self.offset()),
                    queued: unsent.iter().any(|id| {
                        *id == m.id
                            || kvits_protocol::MessageId::for_recipient(*id, m.company_id) == m.id
                    }),
                    reads,
                    attachment: m.attachment.as_ref().map(|a| AttachmentView {
                        file_name: a.file_name.clone(),
                        content_type: a.content_type.clone(),
                        size: format::file_size(a.size),
                        file: self.image(&a.sha256),
                    }),
                }
            })
            .collect();
        ThreadView {
            id: t.id.to_string(),
            subject: t.subject.clone(),
            company: self.company_name(t.company_id),
            messages,
            can_reply: true,
        }
    }

    pub(super) fn compose_view(&self) -> ComposeView {
        let mut companies: Vec<Choice> = self
            .accountant_companies()
            .into_iter()
            .map(|c| Choice {
                id: c.to_string(),
                label: self.company_name(c),
                detail: None,
                selected: self.compose.companies.contains(&c),
            })
            .collect();
        companies.sort_by(|a, b| a.label.cmp(&b.label));
        ComposeView {
            companies,
            subject: self.compose.subject.clone(),
            body: self.compose.body.clone(),
            error: self.compose.error.clone(),
        }
    }
}

fn preview(body: &str) -> String {
    let line = body.lines().next().unwrap_or_default();
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(79).collect::<String>())
    } else {
        line.to_string()
    }
}
