//! The accountant's home: every client the user sees, with the work waiting in each, searched,
//! filtered and sorted on the device. The counters come from the server (`GET /v1/clients`),
//! which counts them without sending any client's documents; the device keeps the last answer
//! for as long as the app runs and fetches it again on opening the screen, on refresh, and —
//! while it is on screen — after a pull brought changes, at most once every
//! [`OVERVIEW_EVERY_SECS`] of the server's time.

use crux_core::Command;
use crux_http::protocol::HttpResult;
use facet::Facet;
use kvits_protocol::{ClientSummary, ClientsOverview, CompanyId, Timestamp};

/// The overview on screen is counted again after changes at most this often (server time): a
/// busy firm's long polls end with every change, and counting is the server's dearest read.
pub const OVERVIEW_EVERY_SECS: i64 = 30;
use serde::{Deserialize, Serialize};

use super::sync::{Reply, classify};
use super::{After, Cmd, Intent, LocalWrite, Model, ReceiptFilter, Screen, StatusFilter, parse_id};

/// What the overview shows first.
#[derive(
    Facet, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr,
)]
#[repr(C)]
pub enum ClientSort {
    /// Alphabetical.
    #[default]
    Name,
    /// Most documents and replies waiting first.
    WorkWaiting,
}

/// Which clients the overview lists.
#[derive(
    Facet, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr,
)]
#[repr(C)]
pub enum ClientFilter {
    #[default]
    All,
    /// Clients with approved documents to review.
    ToReview,
    /// Clients with documents waiting for their approvers.
    WaitingForApproval,
    /// Clients with reviewed documents to export.
    ReadyForExport,
    /// Clients whose people wrote something the user has not read.
    UnreadReplies,
    /// Clients with card payments that have no receipt.
    MissingReceipts,
}

impl ClientFilter {
    pub const ALL: [ClientFilter; 6] = [
        ClientFilter::All,
        ClientFilter::ToReview,
        ClientFilter::WaitingForApproval,
        ClientFilter::ReadyForExport,
        ClientFilter::UnreadReplies,
        ClientFilter::MissingReceipts,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ClientFilter::All => "All clients",
            ClientFilter::ToReview => "Documents to review",
            ClientFilter::WaitingForApproval => "Waiting for approval",
            ClientFilter::ReadyForExport => "Ready for export",
            ClientFilter::UnreadReplies => "Unread client replies",
            ClientFilter::MissingReceipts => "Missing receipts",
        }
    }

    /// Whether `c` belongs in the list.
    pub(crate) fn keeps(self, c: &ClientSummary) -> bool {
        match self {
            ClientFilter::All => true,
            ClientFilter::ToReview => c.to_review > 0,
            ClientFilter::WaitingForApproval => c.waiting_for_approval > 0,
            ClientFilter::ReadyForExport => c.ready_for_export > 0,
            ClientFilter::UnreadReplies => c.unread_replies > 0,
            ClientFilter::MissingReceipts => c.missing_receipts > 0,
        }
    }
}

/// What the user does on the overview.
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum ClientsEvent {
    /// Fetch the counters again.
    Refresh,
    /// Find clients whose name holds this text.
    Search {
        text: String,
    },
    Sort {
        sort: ClientSort,
    },
    Filter {
        filter: ClientFilter,
    },
    /// A firm admin's choice between the clients assigned to them and all clients.
    OnlyMine {
        only_mine: bool,
    },
    /// Open a client: its documents, narrowed to the work the filter was looking for (or its
    /// messages, for unread replies).
    Open {
        company_id: String,
    },
}

/// The overview's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientsState {
    pub(crate) overview: Option<ClientsOverview>,
    /// When the counters were fetched (the device's clock).
    pub(crate) fetched_at: Option<Timestamp>,
    pub(crate) op: Option<u64>,
    pub(crate) error: Option<String>,
    pub(crate) search: String,
    pub(crate) sort: ClientSort,
    pub(crate) filter: ClientFilter,
    pub(crate) only_mine: bool,
    /// The server's time (of the last pull) when the counters were last asked for.
    pub(crate) asked_at: Option<Timestamp>,
    /// A pull brought changes the counters on screen do not include yet.
    pub(crate) behind: bool,
}

impl Model {
    /// Whether the user is the firm's staff (an accountant or a firm admin).
    pub(crate) fn is_staff(&self) -> bool {
        self.local
            .session
            .as_ref()
            .is_some_and(|s| s.session.staff.is_some())
    }

    /// Fetches the counters when the overview is on screen and no fetch is on its way.
    pub(crate) fn load_clients(&mut self) -> Cmd {
        if self.screen != Screen::Clients || self.clients.op.is_some() {
            return Command::done();
        }
        if !self.sync.online {
            self.clients.error = Some(if self.clients.overview.is_some() {
                "Offline: these counts are from the last time the device was online.".into()
            } else {
                "The clients overview needs the internet.".into()
            });
            return Command::done();
        }
        let request = self.request("GET", "/v1/clients", None);
        let (op, cmd) = self.send(request);
        self.clients.op = Some(op);
        self.clients.asked_at = self.local.sync.last_synced_at;
        self.clients.behind = false;
        cmd
    }

    /// After a pull at `server_time`: counts the overview on screen again when changes arrived
    /// since it was counted, once [`OVERVIEW_EVERY_SECS`] have passed. Changes inside that
    /// window wait for the first pull after it (a long poll ends at least every 30 s).
    pub(crate) fn overview_after_pull(&mut self, changed: bool, server_time: Timestamp) -> Cmd {
        if self.screen != Screen::Clients {
            // Opening the overview counts anyway.
            return Command::done();
        }
        self.clients.behind |= changed;
        let due = self
            .clients
            .asked_at
            .is_none_or(|at| server_time - at >= chrono::TimeDelta::seconds(OVERVIEW_EVERY_SECS));
        if !self.clients.behind || !due || self.clients.op.is_some() {
            return Command::done();
        }
        let cmd = self.load_clients();
        self.clients.asked_at = Some(server_time);
        cmd
    }

    pub(super) fn update_clients(&mut self, event: ClientsEvent) -> Cmd {
        match event {
            ClientsEvent::Refresh => {
                self.clients.error = None;
                self.load_clients()
            }
            ClientsEvent::Search { text } => {
                self.clients.search = text;
                Command::done()
            }
            ClientsEvent::Sort { sort } => {
                self.clients.sort = sort;
                Command::done()
            }
            ClientsEvent::Filter { filter } => {
                self.clients.filter = filter;
                Command::done()
            }
            ClientsEvent::OnlyMine { only_mine } => {
                self.clients.only_mine = only_mine;
                Command::done()
            }
            ClientsEvent::Open { company_id } => self.open_client(&company_id),
        }
    }

    fn open_client(&mut self, company_id: &str) -> Cmd {
        let Some(mut record) = self.local.session.clone() else {
            return Command::done();
        };
        let company = parse_id::<CompanyId>(company_id).filter(|c| {
            record
                .session
                .memberships
                .iter()
                .any(|m| m.company_id == *c)
        });
        let Some(company) = company else {
            self.alert = Some("That client is not one of yours.".into());
            return Command::done();
        };
        let (screen, status) = match self.clients.filter {
            ClientFilter::All => (Screen::Receipts, StatusFilter::All),
            ClientFilter::ToReview => (Screen::Receipts, StatusFilter::ToReview),
            ClientFilter::WaitingForApproval => {
                (Screen::Receipts, StatusFilter::WaitingForApproval)
            }
            ClientFilter::ReadyForExport => (Screen::Receipts, StatusFilter::Reviewed),
            ClientFilter::UnreadReplies => (Screen::Inbox, StatusFilter::All),
            ClientFilter::MissingReceipts => (Screen::Cards, StatusFilter::All),
        };
        self.receipts.form = None;
        self.reject = None;
        self.receipts.filter = ReceiptFilter {
            status,
            ..ReceiptFilter::default()
        };
        if record.company_id == Some(company) {
            self.screen = screen;
            return Command::done();
        }
        record.company_id = Some(company);
        self.enqueue(Intent::Writes {
            writes: vec![LocalWrite::Session(Some(record))],
            then: After::Show(screen),
        })
    }

    /// The server's answer to the overview's fetch.
    pub(crate) fn clients_answered(&mut self, result: HttpResult) -> Cmd {
        self.clients.op = None;
        match classify(result) {
            Reply::Ok(body) => match serde_json::from_slice::<ClientsOverview>(&body) {
                Ok(overview) => {
                    self.clients.overview = Some(overview);
                    self.clients.fetched_at = self.clock;
                    self.clients.error = None;
                }
                Err(_) => {
                    self.fail("the server's clients overview could not be read");
                    self.clients.error =
                        Some("The server answered something this app cannot read.".into());
                }
            },
            Reply::Unauthorized(reason) => return self.session_expired(reason),
            Reply::Upgrade => {
                self.clients.error =
                    Some("This version of Kvits is too old for the server. Update the app.".into());
            }
            Reply::Transient(message, _) | Reply::Refused(message) => {
                self.clients.error = Some(message);
            }
        }
        Command::done()
    }
}
