//! Parts every screen shares: the tabs, notices, pickers' choices and image refs, and the
//! helpers that build them.

use facet::Facet;
use kvits_domain::State as _;
use kvits_protocol::Role;
use serde::{Deserialize, Serialize};

use crate::model::{Model, Phase, Screen};

#[derive(Facet, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub enum Tab {
    /// The clients overview (the firm's staff).
    Clients,
    Receipts,
    Approvals,
    Messages,
    /// The company's expense types, cards and approval rules.
    Settings,
    /// The firm's client companies and staff (firm admins).
    Firm,
    /// The company's card payments and their receipts.
    Cards,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TabView {
    pub tab: Tab,
    pub label: String,
    /// Pending tasks or unread messages.
    pub badge: u32,
    pub selected: bool,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct NoticeView {
    pub id: String,
    pub text: String,
    pub at: String,
    pub expense_id: Option<String>,
}

/// An option in a picker.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Choice {
    pub id: String,
    pub label: String,
    /// A second line or group name ("Your cards", "Company cards", ...).
    pub detail: Option<String>,
    pub selected: bool,
}

/// An invitation not accepted yet (into the company, or into the firm's staff).
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InvitationRow {
    /// Names it to cancel it.
    pub id: String,
    pub name: String,
    pub email: String,
    /// What accepting gives: "Employee, Approver" or "Accountant: Birch Bakery".
    pub grants: String,
    /// "Link works until 2026-12-15 10:00", or "Link expired: invite them again".
    pub until: String,
    pub expired: bool,
}

/// An image: a file on this device, or a path on the server (fetched with the token).
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ImageRef {
    pub file_ref: Option<String>,
    pub url: Option<String>,
}

impl Model {
    pub(super) fn offset(&self) -> i32 {
        self.config.utc_offset_minutes
    }

    /// Rows for open invitations; `grants` says what each gives. Expiry is judged by the
    /// server's time at the last sync (this device's clock may be wrong).
    pub(super) fn invitation_rows(
        &self,
        invitations: &[kvits_protocol::PendingInvitation],
        grants: impl Fn(&kvits_protocol::PendingInvitation) -> String,
    ) -> Vec<InvitationRow> {
        let now = self.local.sync.last_synced_at;
        invitations
            .iter()
            .map(|i| {
                let expired = now.is_some_and(|now| i.expires_at <= now);
                InvitationRow {
                    id: i.id.to_string(),
                    name: i.name.clone(),
                    email: i.email.clone(),
                    grants: grants(i),
                    until: if expired {
                        "Link expired: invite them again".into()
                    } else {
                        format!(
                            "Link works until {}",
                            crate::format::date_time(i.expires_at, self.offset())
                        )
                    },
                    expired,
                }
            })
            .collect()
    }

    pub(super) fn tabs(&self) -> Vec<TabView> {
        if self.phase != Phase::Ready
            || self.local.session.is_none()
            || matches!(self.screen, Screen::SignIn | Screen::Loading)
        {
            return Vec::new();
        }
        let selected = match self.screen {
            Screen::Receipts | Screen::Receipt(_) | Screen::Export => Some(Tab::Receipts),
            Screen::Approvals | Screen::Approval(_) => Some(Tab::Approvals),
            Screen::Inbox | Screen::Thread(_) | Screen::Compose => Some(Tab::Messages),
            Screen::Catalog => Some(Tab::Settings),
            Screen::Firm => Some(Tab::Firm),
            Screen::Clients => Some(Tab::Clients),
            Screen::Cards => Some(Tab::Cards),
            Screen::Loading | Screen::SignIn => None,
        };
        let mut tabs = Vec::new();
        let mut push = |tab: Tab, label: &str, badge: u32| {
            tabs.push(TabView {
                tab,
                label: label.into(),
                badge,
                selected: selected == Some(tab),
            });
        };
        let roles = self.roles();
        if self.is_staff() {
            push(Tab::Clients, "Clients", 0);
        }
        if roles.iter().any(|r| {
            matches!(
                r,
                Role::Employee | Role::Approver | Role::CompanyAdmin | Role::Accountant
            )
        }) {
            push(Tab::Receipts, "Receipts", 0);
        }
        if self.offers_cards() {
            push(Tab::Cards, "Card payments", self.missing_receipts() as u32);
        }
        if roles
            .iter()
            .any(|r| matches!(r, Role::Approver | Role::CompanyAdmin))
        {
            push(Tab::Approvals, "Approvals", self.derived.tasks.len() as u32);
        }
        if roles
            .iter()
            .any(|r| matches!(r, Role::Client | Role::CompanyAdmin | Role::Accountant))
        {
            push(Tab::Messages, "Messages", self.derived.unread);
        }
        if self.manages_catalog() {
            push(Tab::Settings, "Company settings", 0);
        }
        if self.is_firm_admin() {
            push(Tab::Firm, "Firm", 0);
        }
        tabs
    }

    pub(super) fn thumbnail(&self, sha: &str) -> ImageRef {
        match self.local.photos.get(sha) {
            Some(p) => ImageRef {
                file_ref: Some(p.thumbnail_ref.clone()),
                url: None,
            },
            None => ImageRef {
                file_ref: None,
                url: Some(format!("/v1/blobs/{sha}/thumbnail")),
            },
        }
    }

    pub(super) fn image(&self, sha: &str) -> ImageRef {
        match self.local.photos.get(sha) {
            Some(p) => ImageRef {
                file_ref: Some(p.file_ref.clone()),
                url: None,
            },
            None => ImageRef {
                file_ref: None,
                url: Some(format!("/v1/blobs/{sha}")),
            },
        }
    }

    pub(super) fn company_name(&self, id: kvits_protocol::CompanyId) -> String {
        self.predicted
            .company(id)
            .map(|c| c.name)
            .or_else(|| {
                self.local.session.as_ref().and_then(|s| {
                    s.session
                        .memberships
                        .iter()
                        .find(|m| m.company_id == id)
                        .map(|m| m.company_name.clone())
                })
            })
            .unwrap_or_default()
    }
}
