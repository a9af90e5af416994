//! The clients overview: the accountant's home.

use facet::Facet;
use kvits_protocol::{ClientSummary, StaffRole};
use serde::{Deserialize, Serialize};

use super::Choice;
use crate::format;
use crate::model::{ClientFilter, ClientSort, Model};

/// One client and the work waiting there.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ClientOverviewRow {
    pub company_id: String,
    pub name: String,
    /// "Sweden · SEK", "paused" added for a paused company.
    pub detail: String,
    pub active: bool,
    pub to_review: u32,
    pub waiting_for_approval: u32,
    pub returned: u32,
    pub ready_for_export: u32,
    pub unread_replies: u32,
    pub missing_receipts: u32,
    /// Everything waiting, for a screen reader and a compact layout ("3 to review, 1 unread
    /// reply"), or "Nothing waiting".
    pub summary: String,
}

/// The clients overview.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ClientsView {
    /// The counters have arrived at least once.
    pub loaded: bool,
    pub loading: bool,
    pub rows: Vec<ClientOverviewRow>,
    /// "4 of 300 clients".
    pub count: String,
    /// Rows beyond the list's length ("show more").
    pub more: u32,
    pub search: String,
    pub filters: Vec<Choice>,
    pub filter: ClientFilter,
    pub sorts: Vec<Choice>,
    pub sort: ClientSort,
    /// A firm admin chooses between "My clients" and "All" (others see theirs only).
    pub can_choose_mine: bool,
    pub only_mine: bool,
    /// "Counted at 10:42".
    pub as_of: Option<String>,
    pub error: Option<String>,
}

fn waiting(c: &ClientSummary) -> u64 {
    u64::from(c.to_review)
        + u64::from(c.waiting_for_approval)
        + u64::from(c.returned)
        + u64::from(c.ready_for_export)
        + u64::from(c.unread_replies)
        + u64::from(c.missing_receipts)
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Model {
    pub(super) fn clients_view(&self) -> ClientsView {
        let state = &self.clients;
        let firm_admin = self
            .local
            .session
            .as_ref()
            .is_some_and(|s| s.session.staff == Some(StaffRole::FirmAdmin));
        let all: &[ClientSummary] = state
            .overview
            .as_ref()
            .map(|o| o.clients.as_slice())
            .unwrap_or_default();
        let needle = state.search.trim().to_lowercase();
        let mut rows: Vec<&ClientSummary> = all
            .iter()
            .filter(|c| !(firm_admin && state.only_mine) || c.assigned_to_me)
            .filter(|c| needle.is_empty() || c.name.to_lowercase().contains(&needle))
            .filter(|c| state.filter.keeps(c))
            .collect();
        if state.sort == ClientSort::WorkWaiting {
            rows.sort_by_key(|c| std::cmp::Reverse(waiting(c)));
        }
        let shown = rows.len();
        let more = shown.saturating_sub(self.list_limit) as u32;
        let rows = rows
            .into_iter()
            .take(self.list_limit)
            .map(|c| {
                let mut parts = Vec::new();
                if c.to_review > 0 {
                    parts.push(format!("{} to review", c.to_review));
                }
                if c.waiting_for_approval > 0 {
                    parts.push(format!("{} waiting for approval", c.waiting_for_approval));
                }
                if c.returned > 0 {
                    parts.push(format!("{} returned", c.returned));
                }
                if c.ready_for_export > 0 {
                    parts.push(format!("{} ready for export", c.ready_for_export));
                }
                if c.unread_replies > 0 {
                    parts.push(plural(c.unread_replies, "unread reply", "unread replies"));
                }
                if c.missing_receipts > 0 {
                    parts.push(plural(
                        c.missing_receipts,
                        "missing receipt",
                        "missing receipts",
                    ));
                }
                let country = c
                    .country
                    .as_deref()
                    .and_then(|code| isocountry::CountryCode::for_alpha2(code).ok())
                    .map(|code| code.name().to_owned());
                let mut detail: Vec<String> = country.into_iter().collect();
                detail.push(c.base_currency.clone());
                if !c.active {
                    detail.push("paused".into());
                }
                ClientOverviewRow {
                    company_id: c.company_id.to_string(),
                    name: c.name.clone(),
                    detail: detail.join(" · "),
                    active: c.active,
                    to_review: c.to_review,
                    waiting_for_approval: c.waiting_for_approval,
                    returned: c.returned,
                    ready_for_export: c.ready_for_export,
                    unread_replies: c.unread_replies,
                    missing_receipts: c.missing_receipts,
                    summary: if parts.is_empty() {
                        "Nothing waiting".into()
                    } else {
                        parts.join(", ")
                    },
                }
            })
            .collect();
        ClientsView {
            loaded: state.overview.is_some(),
            loading: state.op.is_some(),
            rows,
            count: format!(
                "{shown} of {}",
                plural(all.len() as u32, "client", "clients")
            ),
            more,
            search: state.search.clone(),
            filters: ClientFilter::ALL
                .iter()
                .map(|f| Choice {
                    id: <&'static str>::from(*f).to_owned(),
                    label: f.label().to_owned(),
                    detail: None,
                    selected: *f == state.filter,
                })
                .collect(),
            filter: state.filter,
            sorts: [
                (ClientSort::Name, "Name"),
                (ClientSort::WorkWaiting, "Most work waiting"),
            ]
            .iter()
            .map(|(s, label)| Choice {
                id: <&'static str>::from(*s).to_owned(),
                label: (*label).to_owned(),
                detail: None,
                selected: *s == state.sort,
            })
            .collect(),
            sort: state.sort,
            can_choose_mine: firm_admin,
            only_mine: firm_admin && state.only_mine,
            as_of: state
                .fetched_at
                .map(|t| format!("Counted at {}", format::date_time(t, self.offset()))),
            error: state.error.clone(),
        }
    }
}
