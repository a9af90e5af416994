//! Messages between the accounting firm and its client companies, and read markers.

use kvits_protocol::{
    Attachment, CompanyId, Entity, Message, MessageId, MessageRead, RejectCode, Role, Thread,
    ThreadId,
};

use crate::{Applied, BlobKind, Cx, DomainError, Write, validate};

/// Roles that write in a company's threads.
pub(crate) const WRITE_ROLES: [Role; 3] = [Role::Accountant, Role::Client, Role::CompanyAdmin];

/// An attachment is a photo (JPEG, PNG, WebP) or a PDF, named by its SHA-256, with a file name.
fn check_attachment(a: Option<&Attachment>) -> Result<(), DomainError> {
    if let Some(a) = a {
        validate::blob_ref("attachment", &a.sha256, a.size)?;
        validate::text(
            "attachment name",
            &a.file_name,
            validate::MAX_SHORT_TEXT,
            true,
        )?;
        validate::text("attachment type", &a.content_type, 100, true)?;
        if BlobKind::of_media_type(&a.content_type).is_none() {
            return Err(DomainError::invalid(format!(
                "an attachment is a PDF or a JPEG, PNG or WebP image, not {}",
                a.content_type
            )));
        }
    }
    Ok(())
}

/// The attachment's file is uploaded, and is what its type says (a PDF is not sent as a photo,
/// nor a photo as a PDF).
fn check_attachment_uploaded(
    cx: &Cx<'_>,
    company: CompanyId,
    a: Option<&Attachment>,
) -> Result<(), DomainError> {
    let Some(a) = a else {
        return Ok(());
    };
    match cx.state.blob_kind(company, &a.sha256) {
        None => Err(DomainError::NotYet {
            code: kvits_protocol::ErrorCode::BlobMissing,
            message: "the attachment is not uploaded yet".into(),
            missing_blobs: vec![a.sha256.clone()],
        }),
        Some(kind) if BlobKind::of_media_type(&a.content_type) != Some(kind) => {
            Err(DomainError::invalid(format!(
                "the attachment {} is not a {} file",
                a.file_name, a.content_type
            )))
        }
        Some(_) => Ok(()),
    }
}

pub(crate) fn send(
    cx: &Cx<'_>,
    message_id: MessageId,
    companies: &[CompanyId],
    subject: &str,
    body: &str,
    attachment: Option<&Attachment>,
) -> Result<Applied, DomainError> {
    if companies.is_empty() {
        return Err(DomainError::invalid("choose at least one company"));
    }
    if companies.len() > validate::MAX_RECIPIENT_COMPANIES {
        return Err(DomainError::invalid(format!(
            "a message goes to at most {} companies",
            validate::MAX_RECIPIENT_COMPANIES
        )));
    }
    let mut unique = companies.to_vec();
    unique.sort();
    unique.dedup();
    if unique.len() != companies.len() {
        return Err(DomainError::invalid("a company is listed twice"));
    }
    validate::text("subject", subject, validate::MAX_SHORT_TEXT, true)?;
    validate::text("message", body, validate::MAX_MESSAGE, true)?;
    check_attachment(attachment)?;
    for &company in companies {
        cx.member_company(company)?;
        cx.require(company, &[Role::Accountant], "write to client companies")?;
    }
    // Idempotent: the threads' ids derive from the message id.
    let existing = companies
        .iter()
        .filter_map(|&c| cx.state.thread(ThreadId::for_recipient(message_id, c)))
        .collect::<Vec<_>>();
    if !existing.is_empty() {
        return if existing.len() == companies.len()
            && existing.iter().all(|t| t.created_by == cx.actor.user_id)
        {
            Ok(Applied::AlreadyApplied)
        } else {
            Err(DomainError::rejected(
                RejectCode::IdTaken,
                "this message id is already used",
            ))
        };
    }
    for &company in companies {
        check_attachment_uploaded(cx, company, attachment)?;
    }
    let broadcast = (companies.len() > 1).then_some(message_id);
    let mut writes = Vec::with_capacity(companies.len() * 2);
    for &company in companies {
        let thread_id = ThreadId::for_recipient(message_id, company);
        writes.push(Write::Put(Entity::Thread(Thread {
            id: thread_id,
            company_id: company,
            subject: subject.trim().to_owned(),
            created_by: cx.actor.user_id,
            created_at: cx.now,
            broadcast_id: broadcast,
            last_message_at: cx.now,
        })));
        writes.push(Write::Put(Entity::Message(Message {
            id: MessageId::for_recipient(message_id, company),
            thread_id,
            company_id: company,
            author_id: cx.actor.user_id,
            author_name: cx.actor.name.clone(),
            body: body.to_owned(),
            attachment: attachment.cloned(),
            created_at: cx.now,
        })));
    }
    Ok(Applied::Changes(writes))
}

/// The thread, if the actor may see it.
fn visible_thread(cx: &Cx<'_>, id: ThreadId) -> Result<Thread, DomainError> {
    match cx.state.thread(id) {
        Some(t) if crate::can_see(cx.actor, &Entity::Thread(t.clone())) => Ok(t),
        _ => Err(DomainError::not_found("conversation")),
    }
}

pub(crate) fn reply(
    cx: &Cx<'_>,
    message_id: MessageId,
    thread_id: ThreadId,
    body: &str,
    attachment: Option<&Attachment>,
) -> Result<Applied, DomainError> {
    let mut thread = visible_thread(cx, thread_id)?;
    if let Some(existing) = cx.state.message(message_id) {
        return if existing.author_id == cx.actor.user_id && existing.thread_id == thread_id {
            Ok(Applied::AlreadyApplied)
        } else {
            Err(DomainError::rejected(
                RejectCode::IdTaken,
                "this message id is already used",
            ))
        };
    }
    cx.require(
        thread.company_id,
        &WRITE_ROLES,
        "write in this conversation",
    )?;
    validate::text("message", body, validate::MAX_MESSAGE, true)?;
    check_attachment(attachment)?;
    check_attachment_uploaded(cx, thread.company_id, attachment)?;
    thread.last_message_at = cx.now;
    let message = Message {
        id: message_id,
        thread_id,
        company_id: thread.company_id,
        author_id: cx.actor.user_id,
        author_name: cx.actor.name.clone(),
        body: body.to_owned(),
        attachment: attachment.cloned(),
        created_at: cx.now,
    };
    Ok(Applied::Changes(vec![
        Write::Put(Entity::Message(message)),
        Write::Put(Entity::Thread(thread)),
    ]))
}

pub(crate) fn mark_read(
    cx: &Cx<'_>,
    thread_id: ThreadId,
    up_to: MessageId,
) -> Result<Applied, DomainError> {
    let thread = visible_thread(cx, thread_id)?;
    let messages = cx.state.thread_messages(thread_id);
    let Some(last) = messages.iter().find(|m| m.id == up_to) else {
        return Err(DomainError::not_found("message"));
    };
    let (until, until_id) = (last.created_at, last.id);
    let writes: Vec<Write> = messages
        .iter()
        .filter(|m| (m.created_at, m.id) <= (until, until_id))
        .filter(|m| m.author_id != cx.actor.user_id)
        .filter(|m| cx.state.message_read(m.id, cx.actor.user_id).is_none())
        .map(|m| {
            Write::Put(Entity::MessageRead(MessageRead {
                message_id: m.id,
                thread_id,
                company_id: thread.company_id,
                user_id: cx.actor.user_id,
                read_at: cx.now,
            }))
        })
        .collect();
    if writes.is_empty() {
        Ok(Applied::AlreadyApplied)
    } else {
        Ok(Applied::Changes(writes))
    }
}
