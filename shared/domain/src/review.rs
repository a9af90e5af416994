//! The accounting firm's review of an approved expense: correct its bookkeeping fields, send it
//! back to the employee with a question (who answers, fixes and submits again), and mark it
//! reviewed — ready for export.

use kvits_protocol::{
    ConflictCode, Decision, DecisionKind, Expense, ExpenseFields, ExpenseId, ExpenseStatus,
    ExpenseTypeId, HistoryAction, Role, VatLine,
};

use crate::expense::{check_fields, own_editable, put, put_changed, status_word, visible};
use crate::history::record;
use crate::{Applied, Cx, DomainError, validate};

/// Roles that review documents: the firm's staff.
const REVIEW_ROLES: [Role; 1] = [Role::Accountant];

/// Whether the firm may still review (correct, return, mark) an expense in this status.
fn in_review(status: ExpenseStatus) -> bool {
    matches!(status, ExpenseStatus::Approved | ExpenseStatus::Reviewed)
}

/// The expense, if the actor reviews for its company and it is where a review can act.
fn reviewable(cx: &Cx<'_>, id: ExpenseId, what: &str) -> Result<Expense, DomainError> {
    let e = visible(cx, id)?;
    cx.require(e.company_id, &REVIEW_ROLES, what)?;
    if !in_review(e.status) {
        return Err(DomainError::wrong_state(format!(
            "this expense is {}; the firm reviews approved expenses",
            status_word(e.status)
        )));
    }
    Ok(e)
}

/// Refuses an action on a revision the actor did not see.
pub(crate) fn as_seen(e: &Expense, seen_revision: u32) -> Result<(), DomainError> {
    if e.revision == seen_revision {
        return Ok(());
    }
    Err(DomainError::Conflict {
        code: ConflictCode::StaleRevision,
        message: "this expense changed since you saw it; look at it again".into(),
        winner: None,
    })
}

/// Whether the expense's last change is this very action by the actor (a replay).
fn last_is(cx: &Cx<'_>, e: &Expense, action: HistoryAction, note: &str) -> bool {
    e.history.last().is_some_and(|h| {
        h.action == action && h.by == cx.actor.user_id && h.note.as_deref() == Some(note)
    })
}

/// The expense, if the actor may correct it: in review, or exported and unlocked.
fn correctable(cx: &Cx<'_>, id: ExpenseId) -> Result<Expense, DomainError> {
    let e = visible(cx, id)?;
    let unlocked =
        e.status == ExpenseStatus::Exported && e.export.as_ref().is_some_and(|m| !m.locked);
    if !unlocked && matches!(e.status, ExpenseStatus::Exporting | ExpenseStatus::Exported) {
        cx.require(e.company_id, &REVIEW_ROLES, "correct expenses")?;
        return Err(DomainError::wrong_state(
            "this document is locked by its export; unlock it to correct it",
        ));
    }
    if unlocked {
        cx.require(e.company_id, &REVIEW_ROLES, "correct expenses")?;
        return Ok(e);
    }
    reviewable(cx, id, "correct expenses")
}

pub(crate) fn correct(
    cx: &Cx<'_>,
    id: ExpenseId,
    seen_revision: u32,
    expense_type_id: ExpenseTypeId,
    vat: &[VatLine],
    account_code: Option<&str>,
) -> Result<Applied, DomainError> {
    let e = correctable(cx, id)?;
    let account_code = account_code.map(str::trim).filter(|c| !c.is_empty());
    let fields = ExpenseFields {
        expense_type_id: Some(expense_type_id),
        vat: vat.to_vec(),
        account_code: account_code.map(str::to_owned),
        ..e.fields.clone()
    };
    if fields == e.fields {
        return Ok(Applied::AlreadyApplied);
    }
    as_seen(&e, seen_revision)?;
    check_fields(cx, e.company_id, &fields, Some(&e.fields))?;
    put_changed(e, cx, HistoryAction::Corrected, |e| {
        e.fields = fields;
        // The books hold the version that was exported: say so until it is exported again.
        if let Some(mark) = e.export.as_mut() {
            mark.changed = true;
        }
    })
}

pub(crate) fn send_back(
    cx: &Cx<'_>,
    id: ExpenseId,
    seen_revision: u32,
    question: &str,
) -> Result<Applied, DomainError> {
    let question = question.trim();
    validate::text("question", question, validate::MAX_NOTE, true)?;
    if let Some(e) = cx.state.expense(id)
        && e.status == ExpenseStatus::Returned
        && last_is(cx, &e, HistoryAction::Returned, question)
    {
        return Ok(Applied::AlreadyApplied);
    }
    let mut e = reviewable(cx, id, "return expenses")?;
    as_seen(&e, seen_revision)?;
    // The question travels as a decision too, so every app that shows why an expense came back
    // shows it, and the approval trail reads in order.
    e.decisions.push(Decision {
        kind: DecisionKind::Return,
        step: e.approval.as_ref().map_or(0, |a| a.current_step),
        revision: seen_revision,
        by: cx.actor.user_id,
        by_name: cx.actor.name.clone(),
        at: cx.now,
        reason: Some(question.to_owned()),
    });
    e.status = ExpenseStatus::Returned;
    record(
        cx,
        &mut e,
        HistoryAction::Returned,
        Vec::new(),
        Some(question),
    );
    put(e, cx)
}

pub(crate) fn answer(cx: &Cx<'_>, id: ExpenseId, answer: &str) -> Result<Applied, DomainError> {
    let answer = answer.trim();
    validate::text("answer", answer, validate::MAX_NOTE, true)?;
    let mut e = own_editable(cx, id)?;
    if last_is(cx, &e, HistoryAction::Answered, answer) {
        return Ok(Applied::AlreadyApplied);
    }
    if e.status != ExpenseStatus::Returned {
        return Err(DomainError::wrong_state(
            "only an expense returned with a question can be answered",
        ));
    }
    record(
        cx,
        &mut e,
        HistoryAction::Answered,
        Vec::new(),
        Some(answer),
    );
    put(e, cx)
}

pub(crate) fn mark_reviewed(
    cx: &Cx<'_>,
    id: ExpenseId,
    seen_revision: u32,
) -> Result<Applied, DomainError> {
    if let Some(e) = cx.state.expense(id)
        && e.status == ExpenseStatus::Reviewed
        && visible(cx, id).is_ok()
        && cx.actor.has_any(e.company_id, &REVIEW_ROLES)
    {
        return Ok(Applied::AlreadyApplied);
    }
    let mut e = reviewable(cx, id, "review expenses")?;
    as_seen(&e, seen_revision)?;
    e.status = ExpenseStatus::Reviewed;
    record(cx, &mut e, HistoryAction::Reviewed, Vec::new(), None);
    put(e, cx)
}
