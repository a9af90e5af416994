//! A company's settings: expense types, cards, approval rules and its people.

use facet::Facet;
use kvits_domain::State as _;
use kvits_protocol::{PaymentKind, Role};
use serde::{Deserialize, Serialize};

use super::{Choice, InvitationRow};
use crate::format;
use crate::model::Model;

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExpenseTypeRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub active: bool,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PaymentMethodRow {
    pub id: String,
    pub own_money: bool,
    pub label: String,
    pub last_four: Option<String>,
    pub holder_id: Option<String>,
    pub holder: Option<String>,
    pub active: bool,
    /// How bank statements name the card when not by its last four digits (its account).
    pub statement_ref: Option<String>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ApprovalRuleRow {
    pub id: String,
    pub name: String,
    pub position: i32,
    pub active: bool,
    pub document_type: Option<crate::event::DocumentKind>,
    pub expense_type_ids: Vec<String>,
    /// As the form shows them (`100.00`); empty for no bound.
    pub min_amount: String,
    pub max_amount: String,
    /// The currency of both limits (ISO 4217).
    pub currency: String,
    /// Each step's approvers, by name.
    pub steps: Vec<Vec<Choice>>,
    /// "Fuel, Meals from 100.00 — Mark Manager or Alice Approver, then Vera Director".
    pub summary: String,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MemberRow {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
    /// Their access is turned off: they cannot sign in or sync.
    pub disabled: bool,
    /// The user may turn this person's access off or on (never their own).
    pub can_set_access: bool,
}

/// A company's settings, for its admins and the firm's accountants.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CatalogView {
    pub company: String,
    /// The currency the company keeps its books in: a new rule's limits are in it.
    pub base_currency: String,
    pub expense_types: Vec<ExpenseTypeRow>,
    pub payment_methods: Vec<PaymentMethodRow>,
    /// In the order routing tries them.
    pub approval_rules: Vec<ApprovalRuleRow>,
    pub members: Vec<MemberRow>,
    /// People invited who have not accepted yet.
    pub invitations: Vec<InvitationRow>,
    /// Who can be an approver in a rule's step.
    pub approvers: Vec<Choice>,
    /// The roles a member can be given (id = the role name `InviteUser` and `SetMemberRoles`
    /// take).
    pub roles: Vec<Choice>,
    /// An invitation or role change is on its way to the server.
    pub people_busy: bool,
    /// Why the last invitation or role change did not happen.
    pub people_error: Option<String>,
    /// What the last invitation or role change did.
    pub people_done: Option<String>,
    /// The link to hand to the person just invited.
    pub invite_link: Option<String>,
}

impl Model {
    pub(super) fn catalog_view(&self) -> CatalogView {
        let Some(company_id) = self.company() else {
            return CatalogView {
                company: String::new(),
                base_currency: self.base_currency(),
                expense_types: Vec::new(),
                payment_methods: Vec::new(),
                approval_rules: Vec::new(),
                members: Vec::new(),
                invitations: Vec::new(),
                approvers: Vec::new(),
                roles: Vec::new(),
                people_busy: false,
                people_error: self.people.error.clone(),
                people_done: None,
                invite_link: None,
            };
        };
        let company = self.predicted.company(company_id);
        let members = company
            .as_ref()
            .map(|c| c.members.clone())
            .unwrap_or_default();
        let name_of = |u: kvits_protocol::UserId| {
            members
                .iter()
                .find(|m| m.user_id == u)
                .map_or_else(|| "(no longer a member)".to_string(), |m| m.name.clone())
        };
        let mut types = self.predicted.expense_types(company_id);
        types.sort_by_key(|t| (!t.active, t.code.clone()));
        let type_name = |id: kvits_protocol::ExpenseTypeId| {
            types
                .iter()
                .find(|t| t.id == id)
                .map_or_else(String::new, |t| t.name.clone())
        };
        let mut methods: Vec<_> = self
            .predicted
            .payment_methods()
            .filter(|m| m.company_id == company_id)
            .collect();
        methods.sort_by_key(|m| {
            (
                !m.active,
                m.payment_kind == PaymentKind::OwnMoney,
                m.label.to_lowercase(),
            )
        });
        let rules = self.predicted.approval_rules(company_id);
        let approval_rules = rules
            .iter()
            .map(|r| {
                let mut scope: Vec<String> =
                    r.expense_type_ids.iter().map(|t| type_name(*t)).collect();
                if let Some(d) = r.document_type {
                    let kinds = match d {
                        kvits_protocol::DocumentType::Receipt => "receipts",
                        kvits_protocol::DocumentType::Invoice => "invoices",
                        kvits_protocol::DocumentType::Other => "other documents",
                    };
                    scope.insert(0, kinds.to_string());
                }
                let mut what = if scope.is_empty() {
                    "Every receipt".to_string()
                } else {
                    scope.join(", ")
                };
                if let Some(min) = r.min_amount_minor {
                    what.push_str(&format!(" from {}", format::money(min, &r.currency)));
                }
                if let Some(max) = r.max_amount_minor {
                    what.push_str(&format!(" below {}", format::money(max, &r.currency)));
                }
                let who: Vec<String> = r
                    .steps
                    .iter()
                    .map(|s| {
                        s.approver_ids
                            .iter()
                            .map(|u| name_of(*u))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    })
                    .collect();
                ApprovalRuleRow {
                    id: r.id.to_string(),
                    name: r.name.clone(),
                    position: r.position,
                    active: r.active,
                    document_type: r.document_type.map(crate::event::DocumentKind::from),
                    expense_type_ids: r.expense_type_ids.iter().map(|t| t.to_string()).collect(),
                    min_amount: r
                        .min_amount_minor
                        .map(|m| format::amount_input(m, &r.currency))
                        .unwrap_or_default(),
                    max_amount: r
                        .max_amount_minor
                        .map(|m| format::amount_input(m, &r.currency))
                        .unwrap_or_default(),
                    currency: r.currency.clone(),
                    steps: r
                        .steps
                        .iter()
                        .map(|s| {
                            s.approver_ids
                                .iter()
                                .map(|u| Choice {
                                    id: u.to_string(),
                                    label: name_of(*u),
                                    detail: None,
                                    selected: true,
                                })
                                .collect()
                        })
                        .collect(),
                    summary: format!("{what} — {}", who.join(", then ")),
                }
            })
            .collect();
        CatalogView {
            company: self.company_name(company_id),
            base_currency: self.base_currency(),
            expense_types: types
                .iter()
                .map(|t| ExpenseTypeRow {
                    id: t.id.to_string(),
                    code: t.code.clone(),
                    name: t.name.clone(),
                    active: t.active,
                })
                .collect(),
            payment_methods: methods
                .into_iter()
                .map(|m| PaymentMethodRow {
                    id: m.id.to_string(),
                    own_money: m.payment_kind == PaymentKind::OwnMoney,
                    label: m.label.clone(),
                    last_four: m.last_four.clone(),
                    holder_id: m.holder_id.map(|h| h.to_string()),
                    holder: m.holder_id.map(name_of),
                    active: m.active,
                    statement_ref: m.statement_ref.clone(),
                })
                .collect(),
            approval_rules,
            approvers: members
                .iter()
                .filter(|m| {
                    m.roles
                        .iter()
                        .any(|r| matches!(r, Role::Approver | Role::CompanyAdmin))
                })
                .map(|m| Choice {
                    id: m.user_id.to_string(),
                    label: m.name.clone(),
                    detail: Some(m.email.clone()),
                    selected: false,
                })
                .collect(),
            members: members
                .iter()
                .map(|m| MemberRow {
                    user_id: m.user_id.to_string(),
                    name: m.name.clone(),
                    email: m.email.clone(),
                    roles: m.roles.iter().map(|r| r.as_str().to_string()).collect(),
                    disabled: m.disabled,
                    can_set_access: self.may_set_access(m.user_id, company_id),
                })
                .collect(),
            invitations: company
                .as_ref()
                .map(|c| {
                    self.invitation_rows(&c.invitations, |i| {
                        i.roles
                            .iter()
                            .map(|r| role_label(*r))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                })
                .unwrap_or_default(),
            roles: crate::model::ASSIGNABLE_ROLES
                .iter()
                .map(|r| Choice {
                    id: r.as_str().to_string(),
                    label: role_label(*r).to_string(),
                    detail: None,
                    selected: false,
                })
                .collect(),
            people_busy: self.people.op.is_some(),
            people_error: self.people.error.clone(),
            people_done: self.people.done.clone(),
            invite_link: self.people.link.clone(),
        }
    }
}

/// How a role is called on screen.
fn role_label(role: Role) -> &'static str {
    match role {
        Role::Employee => "Employee",
        Role::Approver => "Approver",
        Role::CompanyAdmin => "Company admin",
        Role::Accountant => "Accountant",
        Role::Client => "Client contact",
    }
}
