//! Export to the books, for the firm's staff: the current client company's export page — a
//! period, the preview of what a batch would hold, making the batch, the batches made so far
//! (download, cancel) and the company's export settings. The server makes batches (it writes
//! their files), so this page talks to it directly and needs the network; what a batch does to
//! each document (exported, locked) reaches every device through the pull.

use crux_core::Command;
use crux_http::protocol::HttpResult;
use facet::Facet;
use kvits_protocol::{
    CompanyId, Date, ExportBatch, ExportBatchId, ExportPreview, ExportRequest, ExportSettings, Role,
};
use serde::{Deserialize, Serialize};

use super::sync::{Reply, classify};
use super::{Cmd, Model, Screen, parse_id};

/// What the user does on the export page.
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum ExportEvent {
    /// Fetch the batches and settings again.
    Refresh,
    /// The period, as typed (`YYYY-MM-DD`); the preview follows.
    Period { from: String, to: String },
    /// Also export again the period's documents changed since their export.
    IncludeChanged { on: bool },
    /// Make the batch the preview shows.
    Create,
    /// Cancel a batch: its documents go back to the queue.
    Cancel { batch_id: String },
    /// Save the company's export settings.
    SaveSettings {
        sie: bool,
        vat_account: String,
        employee_account: String,
        card_account: String,
    },
}

/// What the page is waiting for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ExportOp {
    Batches,
    Settings,
    Preview,
    Create,
    Cancel { number: u32 },
    SaveSettings,
}

/// The export page's state, for one company.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportState {
    pub(crate) company: Option<CompanyId>,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) include_changed: bool,
    pub(crate) preview: Option<ExportPreview>,
    pub(crate) batches: Option<Vec<ExportBatch>>,
    pub(crate) settings: Option<ExportSettings>,
    /// Requests on their way, by operation id (the page loads several things at once).
    pub(crate) ops: Vec<(u64, ExportOp)>,
    pub(crate) error: Option<String>,
    pub(crate) done: Option<String>,
}

impl ExportState {
    pub(crate) fn waits_for(&self, op: u64) -> bool {
        self.ops.iter().any(|(o, _)| *o == op)
    }

    /// A change (a batch made or cancelled, settings saved) is on its way.
    pub(crate) fn busy(&self) -> bool {
        self.ops.iter().any(|(_, op)| {
            matches!(
                op,
                ExportOp::Create | ExportOp::Cancel { .. } | ExportOp::SaveSettings
            )
        })
    }
}

/// The month before `today`'s, as the page first offers it: `(first day, last day)`.
pub(crate) fn last_month(today: Date) -> (Date, Date) {
    use chrono::Datelike;
    let first_this = today.with_day(1).unwrap_or(today);
    let last = first_this.pred_opt().unwrap_or(first_this);
    (last.with_day(1).unwrap_or(last), last)
}

impl Model {
    /// Whether the user exports for the current company (the firm's staff).
    pub(crate) fn exports(&self) -> bool {
        self.has_role(Role::Accountant)
    }

    /// Opens the current company's export page.
    pub(crate) fn open_export(&mut self) -> Cmd {
        let company = self.company();
        let Some(company) = company.filter(|_| self.exports()) else {
            self.alert = Some("Only the accounting firm's staff export to the books.".into());
            return Command::done();
        };
        if self.export.company != Some(company) {
            let today = self.clock.map(|t| t.date_naive()).unwrap_or_default();
            let (from, to) = last_month(today);
            self.export = ExportState {
                company: Some(company),
                from: from.to_string(),
                to: to.to_string(),
                ..ExportState::default()
            };
        }
        self.screen = Screen::Export;
        self.export.error = None;
        self.export.done = None;
        self.load_export()
    }

    /// Fetches the batches, the settings and the preview.
    fn load_export(&mut self) -> Cmd {
        let Some(company) = self.export.company else {
            return Command::done();
        };
        if !self.sync.online {
            self.export.error = Some("Exporting needs the internet.".into());
            return Command::done();
        }
        let batches = self.export_request(
            "GET",
            format!("/v1/companies/{company}/exports"),
            None,
            ExportOp::Batches,
        );
        let settings = self.export_request(
            "GET",
            format!("/v1/companies/{company}/export-settings"),
            None,
            ExportOp::Settings,
        );
        Command::all([batches, settings, self.load_preview()])
    }

    fn load_preview(&mut self) -> Cmd {
        let Some(company) = self.export.company else {
            return Command::done();
        };
        let Some((from, to)) = self.period() else {
            self.export.preview = None;
            return Command::done();
        };
        let path = format!(
            "/v1/companies/{company}/export/preview?from={from}&to={to}&include_changed={}",
            self.export.include_changed
        );
        self.export_request("GET", path, None, ExportOp::Preview)
    }

    /// The period typed, when it reads as one.
    fn period(&self) -> Option<(Date, Date)> {
        let from: Date = self.export.from.trim().parse().ok()?;
        let to: Date = self.export.to.trim().parse().ok()?;
        (from <= to).then_some((from, to))
    }

    fn export_request(
        &mut self,
        method: &'static str,
        path: String,
        body: Option<Vec<u8>>,
        op: ExportOp,
    ) -> Cmd {
        let request = self.request(method, &path, body);
        let (id, cmd) = self.send(request);
        self.export.ops.push((id, op));
        cmd
    }

    pub(crate) fn update_export(&mut self, event: ExportEvent) -> Cmd {
        if self.screen != Screen::Export {
            return Command::done();
        }
        self.export.done = None;
        if !self.sync.online
            && !matches!(
                event,
                ExportEvent::Period { .. } | ExportEvent::IncludeChanged { .. }
            )
        {
            self.export.error = Some("Exporting needs the internet. Nothing was changed.".into());
            return Command::done();
        }
        match event {
            ExportEvent::Refresh => {
                self.export.error = None;
                self.load_export()
            }
            ExportEvent::Period { from, to } => {
                self.export.from = from;
                self.export.to = to;
                self.export.error = None;
                if self.period().is_none() {
                    self.export.preview = None;
                    return Command::done();
                }
                self.load_preview()
            }
            ExportEvent::IncludeChanged { on } => {
                self.export.include_changed = on;
                self.load_preview()
            }
            ExportEvent::Create => {
                let (Some(company), Some((from, to))) = (self.export.company, self.period()) else {
                    self.export.error =
                        Some("Enter the period: its first and last day, YYYY-MM-DD.".into());
                    return Command::done();
                };
                if self.export.busy() {
                    self.export.error = Some("Wait for the previous change to finish.".into());
                    return Command::done();
                }
                let body = ExportRequest {
                    from: Some(from),
                    to: Some(to),
                    documents: Vec::new(),
                    include_changed: self.export.include_changed,
                };
                match serde_json::to_vec(&body) {
                    Ok(body) => self.export_request(
                        "POST",
                        format!("/v1/companies/{company}/exports"),
                        Some(body),
                        ExportOp::Create,
                    ),
                    Err(e) => {
                        self.export.error = Some(e.to_string());
                        Command::done()
                    }
                }
            }
            ExportEvent::Cancel { batch_id } => {
                let batch = parse_id::<ExportBatchId>(&batch_id).and_then(|id| {
                    self.export
                        .batches
                        .as_ref()
                        .and_then(|b| b.iter().find(|b| b.id == id))
                        .map(|b| (b.id, b.number))
                });
                let Some((id, number)) = batch else {
                    self.export.error = Some("That batch is not on this page.".into());
                    return Command::done();
                };
                self.export_request(
                    "POST",
                    format!("/v1/exports/{id}/cancel"),
                    None,
                    ExportOp::Cancel { number },
                )
            }
            ExportEvent::SaveSettings {
                sie,
                vat_account,
                employee_account,
                card_account,
            } => {
                let Some(company) = self.export.company else {
                    return Command::done();
                };
                let settings = ExportSettings {
                    sie,
                    vat_account: vat_account.trim().to_owned(),
                    employee_account: employee_account.trim().to_owned(),
                    card_account: card_account.trim().to_owned(),
                };
                match serde_json::to_vec(&settings) {
                    Ok(body) => self.export_request(
                        "PUT",
                        format!("/v1/companies/{company}/export-settings"),
                        Some(body),
                        ExportOp::SaveSettings,
                    ),
                    Err(e) => {
                        self.export.error = Some(e.to_string());
                        Command::done()
                    }
                }
            }
        }
    }

    /// The server's answer to the page's request `op`.
    pub(crate) fn export_answered(&mut self, op: u64, result: HttpResult) -> Cmd {
        let Some(at) = self.export.ops.iter().position(|(o, _)| *o == op) else {
            return Command::done();
        };
        let (_, what) = self.export.ops.remove(at);
        let body = match classify(result) {
            Reply::Ok(body) => body,
            Reply::Unauthorized(reason) => return self.session_expired(reason),
            Reply::Upgrade => {
                self.export.error =
                    Some("This version of Kvits is too old for the server. Update the app.".into());
                return Command::done();
            }
            Reply::Transient(message, _) | Reply::Refused(message) => {
                self.export.error = Some(message);
                return Command::done();
            }
        };
        let unreadable = |m: &mut Model| {
            m.fail("the server's export answer could not be read");
            m.export.error = Some("The server answered something this app cannot read.".into());
            Command::done()
        };
        match what {
            ExportOp::Batches => match serde_json::from_slice(&body) {
                Ok(b) => self.export.batches = Some(b),
                Err(_) => return unreadable(self),
            },
            ExportOp::Settings | ExportOp::SaveSettings => match serde_json::from_slice(&body) {
                Ok(s) => {
                    self.export.settings = Some(s);
                    if what == ExportOp::SaveSettings {
                        self.export.done = Some("The export settings are saved.".into());
                    }
                }
                Err(_) => return unreadable(self),
            },
            ExportOp::Preview => match serde_json::from_slice(&body) {
                Ok(p) => self.export.preview = Some(p),
                Err(_) => return unreadable(self),
            },
            ExportOp::Create | ExportOp::Cancel { .. } => {
                let made = match serde_json::from_slice::<Option<ExportBatch>>(&body) {
                    Ok(made) => made,
                    Err(_) => return unreadable(self),
                };
                self.export.done = Some(match (&what, made) {
                    (ExportOp::Cancel { number }, _) => {
                        format!("Batch {number} is cancelled: its documents are back in the queue.")
                    }
                    (_, Some(b)) => format!(
                        "Batch {} is ready: {} document{}.",
                        b.number,
                        b.documents,
                        if b.documents == 1 { "" } else { "s" }
                    ),
                    (_, None) => "Nothing to export: every reviewed document of the period is \
                                  exported already."
                        .into(),
                });
                // The documents changed (exported or back in the queue): list and count again,
                // and pull so every screen shows it.
                let reload = self.load_export();
                return Command::all([reload, self.kick()]);
            }
        }
        Command::done()
    }
}

#[cfg(test)]
mod tests {
    use super::last_month;

    #[test]
    fn the_page_starts_at_last_month() {
        let d = |s: &str| s.parse().expect("a date");
        assert_eq!(
            last_month(d("2026-12-07")),
            (d("2026-11-01"), d("2026-11-30"))
        );
        assert_eq!(
            last_month(d("2026-01-15")),
            (d("2025-12-01"), d("2025-12-31"))
        );
    }
}
