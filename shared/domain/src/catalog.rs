//! Company catalogs: expense types, payment methods, approval rules.

use std::collections::BTreeSet;

use kvits_protocol::{
    ApprovalRule, CompanyId, Entity, ExpenseType, PaymentKind, PaymentMethod, RejectCode, Role,
};

use crate::{Applied, Cx, DomainError, Write, validate};

/// Roles that manage a company's catalog and rules.
const MANAGE_ROLES: [Role; 2] = [Role::CompanyAdmin, Role::Accountant];

fn manage(cx: &Cx<'_>, company: CompanyId) -> Result<kvits_protocol::Company, DomainError> {
    let c = cx.member_company(company)?;
    cx.require(company, &MANAGE_ROLES, "manage this company's settings")?;
    Ok(c)
}

/// An existing row with this id must belong to the same company.
fn same_company(existing: Option<CompanyId>, company: CompanyId) -> Result<(), DomainError> {
    match existing {
        Some(c) if c != company => Err(DomainError::rejected(
            RejectCode::IdTaken,
            "this id is already used",
        )),
        _ => Ok(()),
    }
}

fn changes<T: PartialEq>(old: Option<T>, new: &T, entity: Entity) -> Applied {
    if old.as_ref() == Some(new) {
        Applied::AlreadyApplied
    } else {
        Applied::Changes(vec![Write::Put(entity)])
    }
}

pub(crate) fn put_expense_type(cx: &Cx<'_>, t: &ExpenseType) -> Result<Applied, DomainError> {
    manage(cx, t.company_id)?;
    let old = cx.state.expense_type(t.id);
    same_company(old.as_ref().map(|o| o.company_id), t.company_id)?;
    validate::name("code", &t.code, 32, true)?;
    validate::name("name", &t.name, validate::MAX_SHORT_TEXT, true)?;
    let clash = cx
        .state
        .expense_types(t.company_id)
        .into_iter()
        .any(|o| o.id != t.id && o.code.trim().eq_ignore_ascii_case(t.code.trim()));
    if clash {
        return Err(DomainError::invalid(format!(
            "another expense type already has code {}",
            t.code.trim()
        )));
    }
    Ok(changes(old, t, Entity::ExpenseType(t.clone())))
}

pub(crate) fn put_payment_method(cx: &Cx<'_>, m: &PaymentMethod) -> Result<Applied, DomainError> {
    let company = manage(cx, m.company_id)?;
    let old = cx.state.payment_method(m.id);
    same_company(old.as_ref().map(|o| o.company_id), m.company_id)?;
    validate::name("label", &m.label, validate::MAX_SHORT_TEXT, true)?;
    match m.payment_kind {
        PaymentKind::CompanyCard => {
            let ok = m
                .last_four
                .as_deref()
                .is_some_and(|d| d.len() == 4 && d.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Err(DomainError::invalid(
                    "a card needs the last four digits of its number",
                ));
            }
        }
        PaymentKind::OwnMoney => {
            if m.last_four.is_some() || m.holder_id.is_some() {
                return Err(DomainError::invalid(
                    "own money has no card number and no holder",
                ));
            }
        }
    }
    if let Some(holder) = m.holder_id
        && !company.members.iter().any(|p| p.user_id == holder)
    {
        return Err(DomainError::invalid(
            "the card holder must be a member of the company",
        ));
    }
    Ok(changes(old, m, Entity::PaymentMethod(m.clone())))
}

pub(crate) fn put_approval_rule(cx: &Cx<'_>, r: &ApprovalRule) -> Result<Applied, DomainError> {
    let company = manage(cx, r.company_id)?;
    let old = cx.state.approval_rule(r.id);
    same_company(old.as_ref().map(|o| o.company_id), r.company_id)?;
    validate::name("name", &r.name, validate::MAX_SHORT_TEXT, true)?;
    if r.steps.is_empty() || r.steps.len() > validate::MAX_STEPS {
        return Err(DomainError::invalid(format!(
            "a rule has between 1 and {} steps",
            validate::MAX_STEPS
        )));
    }
    for (i, step) in r.steps.iter().enumerate() {
        if step.approver_ids.is_empty() {
            return Err(DomainError::invalid(format!(
                "step {} has no approver",
                i + 1
            )));
        }
        let unique: BTreeSet<_> = step.approver_ids.iter().collect();
        if unique.len() != step.approver_ids.len() {
            return Err(DomainError::invalid(format!(
                "step {} names an approver twice",
                i + 1
            )));
        }
        for id in &step.approver_ids {
            let ok = company.members.iter().any(|m| {
                m.user_id == *id
                    && m.roles
                        .iter()
                        .any(|r| matches!(r, Role::Approver | Role::CompanyAdmin))
            });
            if !ok {
                return Err(DomainError::invalid(format!(
                    "step {}: every approver must be an approver or admin of the company",
                    i + 1
                )));
            }
        }
    }
    for t in &r.expense_type_ids {
        if cx
            .state
            .expense_type(*t)
            .is_none_or(|x| x.company_id != r.company_id)
        {
            return Err(DomainError::invalid(
                "the rule names an unknown expense type",
            ));
        }
    }
    if let (Some(min), Some(max)) = (r.min_amount_minor, r.max_amount_minor)
        && min >= max
    {
        return Err(DomainError::invalid(
            "the lower amount limit must be below the upper one",
        ));
    }
    if r.min_amount_minor.is_some_and(|v| v < 0) || r.max_amount_minor.is_some_and(|v| v < 0) {
        return Err(DomainError::invalid("amount limits must not be negative"));
    }
    if kvits_protocol::currency_exponent(&r.currency).is_none() {
        return Err(DomainError::invalid(
            "the amount limits' currency must be an ISO 4217 currency code such as EUR",
        ));
    }
    Ok(changes(old, r, Entity::ApprovalRule(r.clone())))
}
