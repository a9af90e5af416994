//! The expense lifecycle: draft → submitted → approved / rejected / returned, and back from
//! returned to submitted. Edits only while draft or returned. The accounting firm's part
//! (correct, return with a question, mark reviewed) is in `review`.

use kvits_protocol::{
    Approval, ApprovalRule, CompanyId, ConflictCode, Decision, DecisionKind, DocumentType, Entity,
    EntityKind, Expense, ExpenseFields, ExpenseId, ExpenseStatus, HistoryAction, ReceiptPage, Role,
};

use crate::history::{record, record_diff};
use crate::{Applied, BlobKind, Cx, DomainError, Write, validate};

/// Roles that may capture expenses.
pub(crate) const CAPTURE_ROLES: [Role; 4] = [
    Role::Employee,
    Role::Approver,
    Role::CompanyAdmin,
    Role::Accountant,
];

/// Roles that may decide a step they are named in.
const DECIDE_ROLES: [Role; 2] = [Role::Approver, Role::CompanyAdmin];

fn editable(status: ExpenseStatus) -> bool {
    matches!(status, ExpenseStatus::Draft | ExpenseStatus::Returned)
}

/// The expense, if it exists and the actor may see it.
pub(crate) fn visible(cx: &Cx<'_>, id: ExpenseId) -> Result<Expense, DomainError> {
    match cx.state.expense(id) {
        Some(e) if crate::can_see(cx.actor, &Entity::Expense(e.clone())) => Ok(e),
        _ => Err(DomainError::not_found("expense")),
    }
}

/// The expense, if the actor is its author and may still edit it.
pub(crate) fn own_editable(cx: &Cx<'_>, id: ExpenseId) -> Result<Expense, DomainError> {
    let e = visible(cx, id)?;
    if e.created_by != cx.actor.user_id {
        return Err(DomainError::forbidden(
            "only the person who captured this expense can change it",
        ));
    }
    if !editable(e.status) {
        return Err(DomainError::wrong_state(format!(
            "this expense is {} and can no longer be changed",
            status_word(e.status)
        )));
    }
    Ok(e)
}

pub(crate) fn status_word(s: ExpenseStatus) -> &'static str {
    match s {
        ExpenseStatus::Draft => "a draft",
        ExpenseStatus::Submitted => "submitted",
        ExpenseStatus::Approved => "approved",
        ExpenseStatus::Rejected => "rejected",
        ExpenseStatus::Returned => "returned",
        ExpenseStatus::Reviewed => "reviewed",
        ExpenseStatus::Exporting => "being exported",
        ExpenseStatus::Exported => "exported",
    }
}

pub(crate) fn put(mut e: Expense, cx: &Cx<'_>) -> Result<Applied, DomainError> {
    e.revision = e.revision.saturating_add(1);
    e.updated_at = cx.now;
    Ok(Applied::Changes(vec![Write::Put(Entity::Expense(e))]))
}

/// Checks the form fields against the company's catalog. `keep` is the expense's current
/// fields: a type or card that was deactivated after it was chosen may stay.
/// Applies `change` to the expense, writes what it changed into the history as `action`, and
/// puts it.
pub(crate) fn put_changed(
    mut e: Expense,
    cx: &Cx<'_>,
    action: HistoryAction,
    change: impl FnOnce(&mut Expense),
) -> Result<Applied, DomainError> {
    let before = e.clone();
    change(&mut e);
    record_diff(cx, &before, &mut e, action);
    put(e, cx)
}

pub(crate) fn check_fields(
    cx: &Cx<'_>,
    company: CompanyId,
    f: &ExpenseFields,
    keep: Option<&ExpenseFields>,
) -> Result<(), DomainError> {
    if let Some(id) = f.expense_type_id {
        match cx.state.expense_type(id) {
            Some(t) if t.company_id == company => {
                let kept = keep.is_some_and(|k| k.expense_type_id == Some(id));
                if !t.active && !kept {
                    return Err(DomainError::invalid(format!(
                        "expense type \"{}\" is no longer in use",
                        t.name
                    )));
                }
            }
            _ => return Err(DomainError::invalid("unknown expense type")),
        }
    }
    if let Some(id) = f.payment_method_id {
        match cx.state.payment_method(id) {
            Some(m) if m.company_id == company => {
                let kept = keep.is_some_and(|k| k.payment_method_id == Some(id));
                if !m.active && !kept {
                    return Err(DomainError::invalid(format!(
                        "payment method \"{}\" is no longer in use",
                        m.label
                    )));
                }
            }
            _ => return Err(DomainError::invalid("unknown payment method")),
        }
    }
    if let Some(m) = &f.amount {
        validate::money(m)?;
    }
    if let Some(base) = &f.base_amount {
        validate::money(base)?;
        let Some(amount) = &f.amount else {
            return Err(DomainError::invalid(
                "an amount in the base currency needs the document's own amount",
            ));
        };
        let base_currency = cx
            .state
            .company(company)
            .map_or_else(kvits_protocol::default_base_currency, |c| c.base_currency);
        if base.currency != base_currency {
            return Err(DomainError::invalid(format!(
                "the amount in the base currency must be in {base_currency}, the company's"
            )));
        }
        if amount.currency == base_currency {
            return Err(DomainError::invalid(format!(
                "the document is in {base_currency} already; it needs no second amount"
            )));
        }
    }
    if let Some(d) = f.date {
        validate::date(d, cx.now)?;
    }
    if let Some(m) = &f.merchant {
        validate::name("merchant", m, validate::MAX_SHORT_TEXT, false)?;
    }
    if let Some(n) = &f.note {
        validate::text("note", n, validate::MAX_NOTE, false)?;
    }
    validate::vat(&f.vat, f.amount.as_ref())?;
    if let Some(code) = &f.account_code {
        validate::account_code(code)?;
        if keep.and_then(|k| k.account_code.as_ref()) != Some(code)
            && !cx.actor.has_any(company, &[Role::Accountant])
        {
            return Err(DomainError::forbidden(
                "only the accounting firm sets the account code",
            ));
        }
    }
    Ok(())
}

pub(crate) fn create(
    cx: &Cx<'_>,
    id: ExpenseId,
    company: CompanyId,
    document_type: DocumentType,
    fields: &ExpenseFields,
) -> Result<Applied, DomainError> {
    if let Some(existing) = cx.state.expense(id) {
        // Creates are idempotent: the same author creating the same id again changes nothing.
        return if existing.created_by == cx.actor.user_id && existing.company_id == company {
            Ok(Applied::AlreadyApplied)
        } else {
            Err(DomainError::rejected(
                kvits_protocol::RejectCode::IdTaken,
                "this expense id is already used",
            ))
        };
    }
    cx.member_company(company)?;
    cx.require(company, &CAPTURE_ROLES, "capture expenses")?;
    check_fields(cx, company, fields, None)?;
    let mut e = Expense {
        id,
        company_id: company,
        created_by: cx.actor.user_id,
        created_by_name: cx.actor.name.clone(),
        document_type,
        fields: fields.clone(),
        pages: Vec::new(),
        status: ExpenseStatus::Draft,
        revision: 0,
        approval: None,
        decisions: Vec::new(),
        created_at: cx.now,
        updated_at: cx.now,
        submitted_at: None,
        history: Vec::new(),
        export: None,
    };
    record(cx, &mut e, HistoryAction::Created, Vec::new(), None);
    put(e, cx)
}

pub(crate) fn set_fields(
    cx: &Cx<'_>,
    id: ExpenseId,
    fields: &ExpenseFields,
) -> Result<Applied, DomainError> {
    let e = own_editable(cx, id)?;
    if e.fields == *fields {
        return Ok(Applied::AlreadyApplied);
    }
    check_fields(cx, e.company_id, fields, Some(&e.fields))?;
    put_changed(e, cx, HistoryAction::Edited, |e| e.fields = fields.clone())
}

pub(crate) fn set_document_type(
    cx: &Cx<'_>,
    id: ExpenseId,
    document_type: DocumentType,
) -> Result<Applied, DomainError> {
    let e = own_editable(cx, id)?;
    if e.document_type == document_type {
        return Ok(Applied::AlreadyApplied);
    }
    put_changed(e, cx, HistoryAction::Edited, |e| {
        e.document_type = document_type
    })
}

pub(crate) fn attach(
    cx: &Cx<'_>,
    id: ExpenseId,
    pages: &[ReceiptPage],
) -> Result<Applied, DomainError> {
    let e = own_editable(cx, id)?;
    if e.pages == pages {
        return Ok(Applied::AlreadyApplied);
    }
    validate::pages(pages)?;
    put_changed(e, cx, HistoryAction::Edited, |e| e.pages = pages.to_vec())
}

pub(crate) fn delete(cx: &Cx<'_>, id: ExpenseId) -> Result<Applied, DomainError> {
    let Some(e) = cx.state.expense(id) else {
        // Deleted already (or never there): deleting is idempotent and reveals nothing.
        return Ok(Applied::AlreadyApplied);
    };
    if !crate::can_see(cx.actor, &Entity::Expense(e.clone())) {
        return Ok(Applied::AlreadyApplied);
    }
    if e.created_by != cx.actor.user_id {
        return Err(DomainError::forbidden(
            "only the person who captured this expense can delete it",
        ));
    }
    if e.status != ExpenseStatus::Draft || e.submitted_at.is_some() {
        return Err(DomainError::wrong_state(
            "only a draft that was never submitted can be deleted",
        ));
    }
    let mut writes = vec![Write::Delete {
        kind: EntityKind::Expense,
        id: id.0,
        company_id: e.company_id,
    }];
    writes.extend(crate::cards::released(cx, id));
    Ok(Applied::Changes(writes))
}

/// The first active rule, in `position` order, that matches the expense; `None` when the
/// expense needs no approval.
pub fn route<'r>(rules: &'r [ApprovalRule], e: &Expense) -> Option<&'r ApprovalRule> {
    let mut sorted: Vec<&ApprovalRule> = rules
        .iter()
        .filter(|r| r.active && r.company_id == e.company_id && !r.steps.is_empty())
        .collect();
    sorted.sort_by_key(|r| (r.position, r.id));
    sorted.into_iter().find(|r| matches(r, e))
}

fn matches(r: &ApprovalRule, e: &Expense) -> bool {
    if r.document_type.is_some_and(|d| d != e.document_type) {
        return false;
    }
    if !r.expense_type_ids.is_empty()
        && !e
            .fields
            .expense_type_id
            .is_some_and(|t| r.expense_type_ids.contains(&t))
    {
        return false;
    }
    if r.min_amount_minor.is_some() || r.max_amount_minor.is_some() {
        // The limits are in the rule's currency: the expense's own amount when it is in that
        // currency, else its amount in the base currency. An amount not known in the rule's
        // currency could be anything: it must not dodge approval.
        let Some(amount) = [&e.fields.amount, &e.fields.base_amount]
            .into_iter()
            .flatten()
            .find(|m| m.currency == r.currency)
            .map(|m| m.amount_minor)
        else {
            return true;
        };
        if r.min_amount_minor.is_some_and(|min| amount < min) {
            return false;
        }
        if r.max_amount_minor.is_some_and(|max| amount >= max) {
            return false;
        }
    }
    true
}

pub(crate) fn submit(cx: &Cx<'_>, id: ExpenseId) -> Result<Applied, DomainError> {
    let e = visible(cx, id)?;
    if e.created_by != cx.actor.user_id {
        return Err(DomainError::forbidden(
            "only the person who captured this expense can submit it",
        ));
    }
    if e.status == ExpenseStatus::Submitted || (!editable(e.status) && e.submitted_at.is_some()) {
        return Ok(Applied::AlreadyApplied);
    }
    let mut e = own_editable(cx, id)?;
    if e.pages.is_empty() {
        return Err(DomainError::invalid("add a photo of the receipt first"));
    }
    if e.fields.expense_type_id.is_none() {
        return Err(DomainError::invalid("choose an expense type"));
    }
    if e.fields.payment_method_id.is_none() {
        return Err(DomainError::invalid("choose how it was paid"));
    }
    check_fields(cx, e.company_id, &e.fields.clone(), Some(&e.fields))?;
    if let Some(n) = e.pages.iter().position(|p| {
        cx.state
            .blob_kind(e.company_id, &p.sha256)
            .is_some_and(|kind| kind != BlobKind::Image)
    }) {
        return Err(DomainError::invalid(format!(
            "page {} of this receipt is not a photo; receipt pages are JPEG, PNG or WebP images",
            n + 1
        )));
    }
    let missing: Vec<String> = e
        .pages
        .iter()
        .filter(|p| !cx.state.has_blob(e.company_id, &p.sha256))
        .map(|p| p.sha256.clone())
        .collect();
    if !missing.is_empty() {
        return Err(DomainError::NotYet {
            code: kvits_protocol::ErrorCode::BlobMissing,
            message: format!(
                "{} photo(s) of this receipt are not uploaded yet",
                missing.len()
            ),
            missing_blobs: missing,
        });
    }
    let rules = cx.state.approval_rules(e.company_id);
    let company = cx.state.company(e.company_id);
    let others = SelfApproval::of(company.as_ref(), e.created_by);
    e.approval = match route(&rules, &e) {
        Some(r) => Some(Approval {
            rule_id: r.id,
            rule_name: r.name.clone(),
            steps: r
                .steps
                .iter()
                .map(|s| others.step(s))
                .collect::<Result<_, _>>()?,
            current_step: 0,
        }),
        None => None,
    };
    e.status = if e.approval.is_some() {
        ExpenseStatus::Submitted
    } else {
        ExpenseStatus::Approved
    };
    e.submitted_at = Some(cx.now);
    record(cx, &mut e, HistoryAction::Submitted, Vec::new(), None);
    put(e, cx)
}

pub(crate) fn decide(
    cx: &Cx<'_>,
    id: ExpenseId,
    seen_revision: u32,
    kind: DecisionKind,
    reason: Option<&str>,
) -> Result<Applied, DomainError> {
    let mut e = visible(cx, id)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if kind != DecisionKind::Approve && reason.is_none() {
        return Err(DomainError::invalid("give a reason"));
    }
    if let Some(r) = reason {
        validate::text("reason", r, validate::MAX_NOTE, true)?;
    }
    let Some(approval) = e.approval.clone() else {
        return Err(DomainError::wrong_state("this expense needs no approval"));
    };
    // The step the decider saw: one they are an approver of, decided at `seen_revision`?
    if let Some(earlier) = e
        .decisions
        .iter()
        .find(|d| d.revision == seen_revision && is_step_approver(&approval, d.step, cx))
    {
        return if earlier.kind == kind {
            Ok(Applied::AlreadyApplied)
        } else {
            Err(DomainError::Conflict {
                code: ConflictCode::AlreadyDecided,
                message: format!(
                    "{} already {} this expense",
                    earlier.by_name,
                    decided_word(earlier.kind)
                ),
                winner: Some(earlier.clone()),
            })
        };
    }
    let step = approval.current_step;
    if e.status != ExpenseStatus::Submitted || !is_step_approver(&approval, step, cx) {
        if approval
            .steps
            .iter()
            .any(|s| s.approver_ids.contains(&cx.actor.user_id))
            && e.revision != seen_revision
        {
            return Err(DomainError::Conflict {
                code: ConflictCode::StaleRevision,
                message: "this expense changed since you saw it".into(),
                winner: e.decisions.last().cloned(),
            });
        }
        return Err(DomainError::forbidden(
            "this expense is not waiting for your decision",
        ));
    }
    cx.require(e.company_id, &DECIDE_ROLES, "decide approvals")?;
    if e.revision != seen_revision {
        return Err(DomainError::Conflict {
            code: ConflictCode::StaleRevision,
            message: "this expense changed since you saw it; look at it again".into(),
            winner: e.decisions.last().cloned(),
        });
    }
    e.decisions.push(Decision {
        kind,
        step,
        revision: seen_revision,
        by: cx.actor.user_id,
        by_name: cx.actor.name.clone(),
        at: cx.now,
        reason: reason.map(str::to_owned),
    });
    match kind {
        DecisionKind::Approve => {
            let next = step + 1;
            if let Some(a) = e.approval.as_mut() {
                a.current_step = next;
            }
            if next as usize >= approval.steps.len() {
                e.status = ExpenseStatus::Approved;
            }
        }
        DecisionKind::Reject => e.status = ExpenseStatus::Rejected,
        DecisionKind::Return => e.status = ExpenseStatus::Returned,
    }
    let action = match kind {
        DecisionKind::Approve => HistoryAction::Approved,
        DecisionKind::Reject => HistoryAction::Rejected,
        DecisionKind::Return => HistoryAction::Returned,
    };
    record(cx, &mut e, action, Vec::new(), reason);
    // A rejected receipt stands for no card payment: the payment's receipt is missing again.
    let released = if kind == DecisionKind::Reject {
        crate::cards::released(cx, e.id)
    } else {
        None
    };
    let mut applied = put(e, cx)?;
    if let (Applied::Changes(writes), Some(w)) = (&mut applied, released) {
        writes.push(w);
    }
    Ok(applied)
}

/// Who approves a step of an expense's route instead of its author.
struct SelfApproval {
    author: kvits_protocol::UserId,
    /// The company lets a person approve their own expense when a rule names only them.
    allowed: bool,
    /// The company's admins but the author: a step that names only the author goes to them.
    admins: Vec<kvits_protocol::UserId>,
}

impl SelfApproval {
    fn of(company: Option<&kvits_protocol::Company>, author: kvits_protocol::UserId) -> Self {
        SelfApproval {
            author,
            allowed: company.is_some_and(|c| c.allow_self_approval),
            admins: company
                .map(|c| {
                    c.members
                        .iter()
                        .filter(|m| m.user_id != author && m.roles.contains(&Role::CompanyAdmin))
                        .map(|m| m.user_id)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The step's approvers without the author. A step that names nobody else keeps the
    /// author when the company allows it, else goes to the company's other admins; with none,
    /// the expense cannot be submitted.
    fn step(
        &self,
        step: &kvits_protocol::ApprovalStep,
    ) -> Result<kvits_protocol::ApprovalStep, DomainError> {
        let others: Vec<_> = step
            .approver_ids
            .iter()
            .copied()
            .filter(|id| *id != self.author)
            .collect();
        let approver_ids = if !others.is_empty() {
            others
        } else if self.allowed {
            step.approver_ids.clone()
        } else if !self.admins.is_empty() {
            self.admins.clone()
        } else {
            return Err(DomainError::rejected(
                kvits_protocol::RejectCode::Forbidden,
                "nobody but you could approve this expense: ask the company's admin to name \
                 another approver in the rule, or to let people approve their own expenses",
            ));
        };
        Ok(kvits_protocol::ApprovalStep { approver_ids })
    }
}

fn is_step_approver(a: &Approval, step: u32, cx: &Cx<'_>) -> bool {
    a.steps
        .get(step as usize)
        .is_some_and(|s| s.approver_ids.contains(&cx.actor.user_id))
}

fn decided_word(k: DecisionKind) -> &'static str {
    match k {
        DecisionKind::Approve => "approved",
        DecisionKind::Reject => "rejected",
        DecisionKind::Return => "returned",
    }
}
