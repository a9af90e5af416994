//! The firm's console: its client companies and staff, for firm admins.

use facet::Facet;
use kvits_protocol::{Company, StaffRole};
use serde::{Deserialize, Serialize};

use super::{Choice, InvitationRow};
use crate::model::Model;
use crate::model::{DECIMAL_MARKS, SEPARATORS};

/// A client company as the console lists it; its fields also fill the edit form.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub base_currency: String,
    pub registration_number: String,
    pub vat_number: String,
    /// ISO 3166-1 alpha-2, or empty.
    pub country: String,
    /// "Latvia", or empty.
    pub country_name: String,
    pub time_zone: String,
    pub active: bool,
    /// Its people may approve their own expenses when a rule names only them.
    pub allow_self_approval: bool,
    /// "Active" or "Paused: its people cannot sign in".
    pub status: String,
    /// The accountants assigned to it, by name ("Anna Accountant, Sven Senior"), or
    /// "Nobody assigned".
    pub staff: String,
    /// How many people of the company use Kvits.
    pub members: u32,
}

/// A member of the firm's staff.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StaffRow {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub firm_admin: bool,
    /// "Firm admin" or "Accountant", and "invited" until they set their password.
    pub role: String,
    /// Every client company, selected where they are assigned.
    pub assigned: Vec<Choice>,
    /// "Birch Bakery, Cedar Logistics", "Every client (firm admin)" or "No clients".
    pub assigned_text: String,
    /// Their access is turned off: they cannot sign in or sync.
    pub disabled: bool,
    /// The user may turn this colleague's access off or on (never their own).
    pub can_set_access: bool,
}

/// The firm's console.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FirmView {
    pub name: String,
    /// The staff list has arrived from the server.
    pub loaded: bool,
    pub assigned_clients_only: bool,
    /// The export journal's separator and decimal mark, the chosen one selected.
    pub journal_separators: Vec<Choice>,
    pub decimal_marks: Vec<Choice>,
    pub clients: Vec<ClientRow>,
    pub staff: Vec<StaffRow>,
    /// Colleagues invited who have not accepted yet.
    pub invitations: Vec<InvitationRow>,
    /// Every client company, for assigning a new colleague.
    pub client_choices: Vec<Choice>,
    /// Every country (ISO 3166-1), for the company form.
    pub countries: Vec<Choice>,
    /// A change is on its way to the server.
    pub busy: bool,
    pub error: Option<String>,
    pub done: Option<String>,
    /// The link to hand to an invited colleague.
    pub link: Option<String>,
}

impl Model {
    pub(super) fn firm_view(&self) -> FirmView {
        let firm = self.firm.firm.as_ref();
        let mut companies: Vec<Company> = self.predicted.companies().cloned().collect();
        companies.sort_by_key(|c| c.name.to_lowercase());
        let staff_names = |company: &Company| {
            let names: Vec<&str> = firm
                .map(|f| {
                    f.staff
                        .iter()
                        .filter(|s| {
                            s.role == StaffRole::Accountant && s.assigned.contains(&company.id)
                        })
                        .map(|s| s.name.as_str())
                        .collect()
                })
                .unwrap_or_default();
            if names.is_empty() {
                "Nobody assigned".to_owned()
            } else {
                names.join(", ")
            }
        };
        let clients = companies
            .iter()
            .map(|c| {
                let country = c.country.clone().unwrap_or_default();
                ClientRow {
                    id: c.id.to_string(),
                    name: c.name.clone(),
                    base_currency: c.base_currency.clone(),
                    registration_number: c.registration_number.clone().unwrap_or_default(),
                    vat_number: c.vat_number.clone().unwrap_or_default(),
                    country_name: isocountry::CountryCode::for_alpha2(&country)
                        .map(|code| code.name().to_owned())
                        .unwrap_or_default(),
                    country,
                    time_zone: c.time_zone.clone().unwrap_or_default(),
                    active: c.active,
                    allow_self_approval: c.allow_self_approval,
                    status: if c.active {
                        "Active".into()
                    } else {
                        "Paused: its people cannot sign in".into()
                    },
                    staff: staff_names(c),
                    members: c.members.len() as u32,
                }
            })
            .collect();
        let choices = |selected: &[kvits_protocol::CompanyId]| -> Vec<Choice> {
            companies
                .iter()
                .map(|c| Choice {
                    id: c.id.to_string(),
                    label: c.name.clone(),
                    detail: (!c.active).then(|| "paused".to_owned()),
                    selected: selected.contains(&c.id),
                })
                .collect()
        };
        let invitations = firm
            .map(|f| {
                self.invitation_rows(&f.invitations, |i| {
                    if i.staff_role == Some(StaffRole::FirmAdmin) {
                        return "Firm admin".into();
                    }
                    let names: Vec<&str> = companies
                        .iter()
                        .filter(|c| i.assigned.contains(&c.id))
                        .map(|c| c.name.as_str())
                        .collect();
                    if names.is_empty() {
                        "Accountant: no clients".into()
                    } else {
                        format!("Accountant: {}", names.join(", "))
                    }
                })
            })
            .unwrap_or_default();
        let me = self.actor.as_ref().map(|a| a.user_id);
        let staff = firm
            .map(|f| {
                f.staff
                    .iter()
                    .map(|s| {
                        let firm_admin = s.role == StaffRole::FirmAdmin;
                        let assigned = choices(&s.assigned);
                        let names: Vec<&str> = assigned
                            .iter()
                            .filter(|c| c.selected)
                            .map(|c| c.label.as_str())
                            .collect();
                        StaffRow {
                            user_id: s.user_id.to_string(),
                            name: s.name.clone(),
                            email: s.email.clone(),
                            firm_admin,
                            role: format!(
                                "{}{}",
                                if firm_admin {
                                    "Firm admin"
                                } else {
                                    "Accountant"
                                },
                                if s.invited { ", invited" } else { "" }
                            ),
                            assigned_text: if firm_admin {
                                "Every client (firm admin)".into()
                            } else if names.is_empty() {
                                "No clients".into()
                            } else {
                                names.join(", ")
                            },
                            assigned,
                            disabled: s.disabled,
                            can_set_access: Some(s.user_id) != me,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut countries: Vec<Choice> = isocountry::CountryCode::iter()
            .map(|c| Choice {
                id: c.alpha2().to_owned(),
                label: c.name().to_owned(),
                detail: None,
                selected: false,
            })
            .collect();
        countries.sort_by(|a, b| a.label.cmp(&b.label));
        FirmView {
            name: firm.map_or_else(
                || {
                    self.local
                        .session
                        .as_ref()
                        .map(|s| s.session.firm.name.clone())
                        .unwrap_or_default()
                },
                |f| f.name.clone(),
            ),
            loaded: firm.is_some(),
            assigned_clients_only: firm.is_some_and(|f| f.settings.assigned_clients_only),
            journal_separators: SEPARATORS
                .iter()
                .map(|(value, id, label)| Choice {
                    id: (*id).into(),
                    label: (*label).into(),
                    detail: None,
                    selected: firm.is_some_and(|f| f.settings.csv_separator == *value),
                })
                .collect(),
            decimal_marks: DECIMAL_MARKS
                .iter()
                .map(|(value, id, label)| Choice {
                    id: (*id).into(),
                    label: (*label).into(),
                    detail: None,
                    selected: firm.is_some_and(|f| f.settings.decimal_mark == *value),
                })
                .collect(),
            clients,
            staff,
            invitations,
            client_choices: choices(&[]),
            countries,
            busy: self.firm_saving(),
            error: self.firm.error.clone(),
            done: self.firm.done.clone(),
            link: self.firm.link.clone(),
        }
    }
}
