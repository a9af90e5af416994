//! The signed-in user (with the company switcher) and the sign-in form.

use facet::Facet;
use serde::{Deserialize, Serialize};

use super::Choice;
use crate::model::Model;

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UserView {
    pub name: String,
    pub email: String,
    pub firm: String,
    pub company_id: Option<String>,
    pub company_name: Option<String>,
    /// The user's roles in the current company.
    pub roles: Vec<String>,
    /// Every company the user belongs to (shown as a switcher when there are several).
    pub companies: Vec<Choice>,
    /// Where the user's signed-in devices are listed (`GET`, each ended with `DELETE
    /// {path}/{id}`); the shell sends it with the user's credentials. Needs the network.
    pub devices_path: String,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SignInView {
    pub email: String,
    pub error: Option<String>,
    pub busy: bool,
}

impl Model {
    pub(super) fn user_view(&self) -> Option<UserView> {
        let s = self.local.session.as_ref()?;
        let company = s
            .company_id
            .and_then(|c| s.session.memberships.iter().find(|m| m.company_id == c));
        Some(UserView {
            name: s.session.user.name.clone(),
            email: s.session.user.email.clone(),
            firm: s.session.firm.name.clone(),
            company_id: company.map(|m| m.company_id.to_string()),
            company_name: company.map(|m| m.company_name.clone()),
            roles: company
                .map(|m| m.roles.iter().map(|r| r.as_str().to_string()).collect())
                .unwrap_or_default(),
            companies: s
                .session
                .memberships
                .iter()
                .map(|m| Choice {
                    id: m.company_id.to_string(),
                    label: m.company_name.clone(),
                    detail: None,
                    selected: Some(m.company_id) == s.company_id,
                })
                .collect(),
            devices_path: "/v1/auth/sessions".into(),
        })
    }
}
