//! The status bar: online, syncing, what is waiting to be sent and why syncing stopped.

use facet::Facet;
use serde::{Deserialize, Serialize};

use crate::format;
use crate::model::{Blocked, Model, Step};

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StatusView {
    pub online: bool,
    /// Talking to the server right now (not counting the idle wait for changes).
    pub syncing: bool,
    /// Things (receipts, decisions, messages) saved on this device and not yet accepted by the
    /// server.
    pub pending: u32,
    /// When the device last heard from the server, local time.
    pub last_synced: Option<String>,
    /// Why syncing does not work right now.
    pub problem: Option<String>,
    pub needs_sign_in: bool,
    pub needs_update: bool,
}

impl Model {
    pub(super) fn status_view(&self) -> StatusView {
        let syncing = matches!(
            self.sync.step,
            Step::Me { .. }
                | Step::Open { .. }
                | Step::Push { .. }
                | Step::Upload { .. }
                | Step::Applying
        ) || matches!(self.sync.step, Step::Pull { long: false, .. });
        StatusView {
            online: self.sync.online,
            syncing,
            pending: u32::try_from(self.local.unsent_items()).unwrap_or(u32::MAX),
            last_synced: self
                .local
                .sync
                .last_synced_at
                .map(|t| format::date_time(t, self.offset())),
            problem: self.sync.last_error.clone(),
            needs_sign_in: self.sync.blocked == Some(Blocked::SignIn),
            needs_update: self.sync.blocked == Some(Blocked::Upgrade),
        }
    }
}
