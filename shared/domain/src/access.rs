//! Who may read what.

use kvits_protocol::{Company, Entity, Expense, ExpenseStatus, Role, UserId};

use crate::Actor;

/// Roles that see the firm's messages in a company.
const MESSAGE_ROLES: [Role; 3] = [Role::Client, Role::CompanyAdmin, Role::Accountant];

/// Whether someone with `role` in a company may upload files there: photos of the expenses
/// they capture, or attachments of the messages they write. (Every role does one or the other
/// today; a role added later that does neither stores nothing.)
pub fn may_upload(role: Role) -> bool {
    crate::expense::CAPTURE_ROLES.contains(&role) || crate::messages::WRITE_ROLES.contains(&role)
}

/// Roles that see every expense of a company.
const ALL_EXPENSES_ROLES: [Role; 3] = [Role::CompanyAdmin, Role::Accountant, Role::Client];

/// Roles that see every card transaction of a company (the rest see their own card's).
pub(crate) const CARD_ROLES: [Role; 2] = [Role::CompanyAdmin, Role::Accountant];

/// Whether `actor` may read `entity`.
///
/// - The company, its expense types, payment methods and approval rules: every member (the
///   expense form needs the catalog, and the core predicts routing from the rules).
/// - An expense: its author; once submitted, also approvers named in its route, company
///   admins, accountants and the company's client contacts (who see that documents arrived).
/// - Threads and messages: the company's clients and admins, and accountants.
/// - Read records: accountants (they see who read what, and when) and the reader.
/// - Card transactions: the card's holder, company admins and accountants.
pub fn can_see(actor: &Actor, entity: &Entity) -> bool {
    let company = entity.company_id();
    if !actor.is_member(company) {
        return false;
    }
    match entity {
        Entity::Company(_)
        | Entity::ExpenseType(_)
        | Entity::PaymentMethod(_)
        | Entity::ApprovalRule(_) => true,
        Entity::Expense(e) => can_see_expense(actor, e),
        Entity::Thread(_) | Entity::Message(_) => actor.has_any(company, &MESSAGE_ROLES),
        Entity::MessageRead(r) => {
            r.user_id == actor.user_id || actor.has_any(company, &[Role::Accountant])
        }
        Entity::CardTransaction(t) => {
            t.holder_id == Some(actor.user_id) || actor.has_any(company, &CARD_ROLES)
        }
    }
}

fn can_see_expense(actor: &Actor, e: &Expense) -> bool {
    if e.created_by == actor.user_id {
        return true;
    }
    // A draft is its author's business until it is submitted.
    if e.submitted_at.is_none() {
        return false;
    }
    actor.has_any(e.company_id, &ALL_EXPENSES_ROLES)
        || e.approval.as_ref().is_some_and(|a| {
            a.steps
                .iter()
                .any(|s| s.approver_ids.contains(&actor.user_id))
        })
}

/// Whether `expense` waits for `user`'s decision now: it is submitted and `user` is an
/// approver of its current step. This is an approver's task list.
pub fn is_task_for(expense: &Expense, user: UserId) -> bool {
    expense.status == ExpenseStatus::Submitted
        && expense.approval.as_ref().is_some_and(|a| {
            a.steps
                .get(a.current_step as usize)
                .is_some_and(|s| s.approver_ids.contains(&user))
        })
}

/// The users of `company` a message from the firm is addressed to: its clients and admins.
/// Their read times are what the accountant sees.
pub fn message_recipients(company: &Company) -> Vec<UserId> {
    company
        .members
        .iter()
        .filter(|m| {
            m.roles
                .iter()
                .any(|r| matches!(r, Role::Client | Role::CompanyAdmin))
        })
        .map(|m| m.user_id)
        .collect()
}
