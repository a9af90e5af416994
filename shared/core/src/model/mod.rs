//! The app's state and its update function, one workflow per module.
//!
//! Durable state lives in [`local::Local`] and changes only through store transactions
//! ([`Model::enqueue`]): one transaction at a time, each planned against the state the
//! previous one left, applied in memory only once the store says it is committed. Everything
//! else here (screens, forms, the sync engine's step) is what the user is doing right now.

pub mod local;

mod approvals;
mod cards;
mod catalog;
mod clients;
mod export;
mod firm;
mod lifecycle;
mod messages;
mod notices;
mod people;
mod queue;
mod receipts;
mod review;
mod session;
mod sync;
mod vat;

use std::collections::VecDeque;

use crux_core::{Command, render::render};
use crux_time::{TimeRequest, TimeResponse};
use kvits_domain::{Actor, MemoryState, State as _};
use kvits_protocol::{CompanyId, ExpenseId, Outcome, Role, ThreadId, Timestamp};
use rand_chacha::{
    ChaCha8Rng,
    rand_core::{RngCore, SeedableRng},
};

use crate::effects::Effect;
use crate::event::{Event, Internal};

pub use approvals::{ApprovalEvent, RejectDraft};
pub use cards::{CardEvent, CardsState, NoReceiptKind};
pub(crate) use cards::{awaits_acceptance, month_of};
pub use catalog::CatalogEvent;
pub use clients::{ClientFilter, ClientSort, ClientsEvent, OVERVIEW_EVERY_SECS};
pub use export::ExportEvent;
pub(crate) use export::ExportState;
pub use firm::{CompanyInput, FirmEvent, StaffInput};
pub(crate) use firm::{DECIMAL_MARKS, SEPARATORS};
pub use local::{Capture, CaptureTarget};
pub use local::{Local, LocalWrite, Notice, OutboxEntry, PhotoRecord};
pub use messages::ComposeState;
pub use messages::MessageEvent;
pub(crate) use people::ASSIGNABLE as ASSIGNABLE_ROLES;
pub use people::PeopleEvent;
pub(crate) use queue::{After, Intent, StoreQueue};
pub use receipts::ReceiptEvent;
pub use receipts::{DEFAULT_CURRENCY, FormState, ReceiptsState};
pub use receipts::{ReceiptFilter, ReceiptFilterField, ReceiptSort, StatusFilter, period_of};
pub(crate) use review::currency_of;
pub use review::{ReviewDraft, ReviewEvent, ReviewField, ReviewState};
pub use session::SessionEvent;
pub use session::SignInState;
pub(crate) use sync::expense_of;
pub use sync::{Blocked, Step, SyncEvent, SyncState, UploadProgress};
pub use vat::{Stale, VatEdit, VatForm, VatInput};

pub(crate) type Cmd = Command<Effect, Event>;

/// How many failures the model remembers for diagnostics.
const MAX_FAILURES: usize = 20;
/// Rows a list shows before "show more": a few screens' worth on a phone. The view model is
/// rebuilt after every event, so it carries what can be seen, not every row there is.
pub const LIST_PAGE: usize = 30;

/// Where the app is in its life.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for `Start`.
    #[default]
    NotStarted,
    /// Reading the local store.
    Loading,
    Ready,
    /// The local store could not be read; nothing is written until a new `Start` succeeds.
    Broken(String),
}

/// The screen the user is on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Screen {
    #[default]
    Loading,
    SignIn,
    Receipts,
    Receipt(ExpenseId),
    Approvals,
    Approval(ExpenseId),
    Inbox,
    Thread(ThreadId),
    Compose,
    Catalog,
    Firm,
    Clients,
    /// The current company's export to the books (the firm's staff).
    Export,
    /// The current company's card payments and their receipts.
    Cards,
}

/// What `Start` configured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub server_url: String,
    pub device_name: String,
    pub utc_offset_minutes: i32,
}

/// Ids made on the device: UUIDv7 from the clock and a generator seeded by the platform's
/// entropy at every start.
#[derive(Clone, Debug)]
pub struct Ids {
    rng: ChaCha8Rng,
}

impl Default for Ids {
    fn default() -> Self {
        Ids {
            rng: ChaCha8Rng::from_seed([0; 32]),
        }
    }
}

impl Ids {
    pub fn seeded(entropy: &[u8]) -> Self {
        let mut seed = [0u8; 32];
        for (i, b) in entropy.iter().enumerate() {
            seed[i % 32] ^= b.rotate_left((i / 32) as u32);
        }
        Ids {
            rng: ChaCha8Rng::from_seed(seed),
        }
    }

    pub fn uuid(&mut self, now: Timestamp) -> uuid::Uuid {
        let mut random = [0u8; 10];
        self.rng.fill_bytes(&mut random);
        let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }

    /// A number in `0..1`, for jitter.
    pub fn unit(&mut self) -> f64 {
        f64::from(self.rng.next_u32()) / (f64::from(u32::MAX) + 1.0)
    }
}

/// The whole state of the app.
#[derive(Debug, Default)]
pub struct Model {
    pub(crate) phase: Phase,
    pub(crate) config: Config,
    pub(crate) ids: Ids,
    /// The latest wall-clock reading.
    pub(crate) clock: Option<Timestamp>,
    pub(crate) local: Local,
    /// The mirror with every queued mutation applied: what the user sees.
    pub(crate) predicted: MemoryState,
    pub(crate) actor: Option<Actor>,
    pub(crate) store: StoreQueue,
    pub(crate) sync: SyncState,
    pub(crate) screen: Screen,
    // Each workflow's own state; the data they share is above (the store, the prediction).
    pub(crate) sign_in: SignInState,
    pub(crate) receipts: ReceiptsState,
    pub(crate) compose: ComposeState,
    pub(crate) people: people::PeopleState,
    pub(crate) firm: firm::FirmState,
    pub(crate) clients: clients::ClientsState,
    pub(crate) export: ExportState,
    pub(crate) cards: CardsState,
    pub(crate) reject: Option<RejectDraft>,
    pub(crate) review: ReviewState,
    /// A message for the user about their last action.
    pub(crate) alert: Option<String>,
    pub(crate) list_limit: usize,
    next_op: u64,
    /// Answers the core could not use (wrong shape, unknown id, twice): kept for diagnostics.
    pub(crate) failures: VecDeque<String>,
    /// The tabs' counts, kept current with the prediction.
    pub(crate) derived: Derived,
}

/// What the approvals screen and the tabs need from every row, worked out when the prediction
/// or the session changes rather than in every view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Derived {
    /// Receipts waiting for this user's decision in the current company, oldest first.
    pub tasks: Vec<ExpenseId>,
    /// The last receipts this user decided in the current company, newest first.
    pub decided: Vec<ExpenseId>,
    /// The receipts list: the user's own in the current company (everyone's for accountants
    /// and admins), newest first.
    pub receipts: Vec<ExpenseId>,
    /// The inbox, newest first, with each thread's unread count.
    pub threads: Vec<(ThreadId, u32)>,
    /// Unread messages in the inbox.
    pub unread: u32,
}

impl Model {
    pub fn update(&mut self, event: Event) -> Cmd {
        let cmd = match event {
            Event::Start {
                server_url,
                entropy,
                device_name,
                utc_offset_minutes,
            } => self.start(server_url, &entropy, device_name, utc_offset_minutes),
            Event::Internal(internal) => self.internal(internal),
            Event::NetworkChanged { online } => self.network_changed(online),
            event if self.phase != Phase::Ready => {
                self.fail(format!("{} ignored: the app is not started", event.name()));
                Command::done()
            }
            event if event.needs_clock() => Command::request_from_shell(TimeRequest::Now)
                .then_send(move |response| {
                    Event::Internal(Internal::Timed {
                        response,
                        event: Box::new(event),
                    })
                }),
            event => self.user(event, None),
        };
        cmd.and(render())
    }

    fn internal(&mut self, internal: Internal) -> Cmd {
        match internal {
            Internal::Loaded(response) => self.loaded(response),
            Internal::Committed { txn, response } => self.committed(txn, response),
            Internal::Timed { response, event } => {
                let now = self.read_clock(&response);
                if self.phase != Phase::Ready {
                    self.fail(format!("{} ignored: the app is not started", event.name()));
                    return Command::done();
                }
                self.user(*event, now)
            }
            Internal::Timer { response } => self.timer(response),
            Internal::Http { op, result } => self.http(op, result),
            Internal::Photo { op, response } => self.photo_processed(op, response),
            Internal::Upload { op, update } => self.upload_update(op, update),
        }
    }

    /// Reads a clock answer; `None` (and a recorded failure) when it is not one.
    fn read_clock(&mut self, response: &TimeResponse) -> Option<Timestamp> {
        match response {
            TimeResponse::Now { instant } => match Timestamp::try_from(*instant) {
                Ok(now) => {
                    self.clock = Some(now);
                    Some(now)
                }
                Err(_) => {
                    self.fail("the clock answered a time out of range");
                    None
                }
            },
            other => {
                self.fail(format!(
                    "the clock answered {other:?} to a request for the time"
                ));
                None
            }
        }
    }

    fn user(&mut self, event: Event, now: Option<Timestamp>) -> Cmd {
        // An action that needs the time and did not get it uses the last reading.
        let now = now.or(self.clock).unwrap_or_default();
        if matches!(
            event,
            Event::Navigate(_) | Event::Back | Event::Session(SessionEvent::SelectCompany { .. })
        ) {
            // A message about the last action belongs to the screen it was shown on.
            self.alert = None;
        }
        match event {
            Event::Start { .. } | Event::Internal(_) | Event::NetworkChanged { .. } => {
                Command::done()
            }
            Event::Foregrounded => {
                self.sync.refresh_session = true;
                self.kick()
            }
            Event::Navigate(route) => self.navigate(route, now),
            Event::Back => self.back(),
            Event::ShowMore => {
                self.list_limit += LIST_PAGE;
                Command::done()
            }
            Event::DismissAlert => {
                self.alert = None;
                Command::done()
            }
            Event::Session(event) => self.update_session(event),
            Event::Receipts(event) => self.update_receipts(event, now),
            Event::Sync(event) => self.update_sync(event),
            Event::Approvals(event) => self.update_approvals(event, now),
            Event::Review(event) => self.update_review(event, now),
            Event::Messages(event) => self.update_messages(event, now),
            Event::Catalog(event) => self.update_catalog(event, now),
            Event::People(event) => self.update_people(event),
            Event::Firm(event) => self.update_firm(event),
            Event::Clients(event) => self.update_clients(event),
            Event::Export(event) => self.update_export(event),
            Event::Cards(event) => self.update_cards(event, now),
        }
    }

    pub(crate) fn next_op(&mut self) -> u64 {
        self.next_op += 1;
        self.next_op
    }

    /// Records an answer the core could not use.
    pub(crate) fn fail(&mut self, what: impl Into<String>) {
        if self.failures.len() == MAX_FAILURES {
            self.failures.pop_front();
        }
        self.failures.push_back(what.into());
    }

    /// The signed-in user's company now.
    pub(crate) fn company(&self) -> Option<CompanyId> {
        self.local.session.as_ref().and_then(|s| s.company_id)
    }

    /// The currency the current company keeps its books in (its approval thresholds, and the
    /// second amount of a document in another currency).
    pub(crate) fn base_currency(&self) -> String {
        self.company()
            .map_or_else(kvits_protocol::default_base_currency, |c| {
                self.base_currency_of(c)
            })
    }

    /// The base currency of `company`.
    pub(crate) fn base_currency_of(&self, company: CompanyId) -> String {
        self.predicted
            .company(company)
            .map_or_else(kvits_protocol::default_base_currency, |c| c.base_currency)
    }

    pub(crate) fn roles(&self) -> &[Role] {
        match (&self.actor, self.company()) {
            (Some(a), Some(c)) => a.roles_in(c),
            _ => &[],
        }
    }

    pub(crate) fn has_role(&self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// The home screen for the user's roles.
    pub(crate) fn home(&self) -> Screen {
        if self.local.session.is_none() {
            return Screen::SignIn;
        }
        if self.is_staff() {
            return Screen::Clients;
        }
        if self.has_role(Role::Employee) {
            Screen::Receipts
        } else if self.has_role(Role::Approver) {
            Screen::Approvals
        } else if self.has_role(Role::Accountant) || self.has_role(Role::Client) {
            Screen::Inbox
        } else {
            Screen::Receipts
        }
    }

    /// Rebuilds the actor from the session.
    pub(crate) fn refresh_actor(&mut self) {
        self.actor = self.local.session.as_ref().map(|s| Actor {
            user_id: s.session.user.id,
            name: s.session.user.name.clone(),
            firm_id: s.session.firm.id,
            roles: s
                .session
                .memberships
                .iter()
                .map(|m| (m.company_id, m.roles.clone()))
                .collect(),
        });
    }

    /// Recomputes the prediction: the mirror, plus every queued mutation that still counts.
    pub(crate) fn recompute(&mut self) {
        let mut predicted = self.local.mirror.clone();
        for p in self.local.photos.values() {
            predicted.add_blob(p.company_id, p.sha256.clone());
        }
        let server_pages: Vec<(CompanyId, String)> = self
            .local
            .mirror
            .expenses()
            .flat_map(|e| e.pages.iter().map(|p| (e.company_id, p.sha256.clone())))
            .collect();
        for (company, sha) in server_pages {
            predicted.add_blob(company, sha);
        }
        if let Some(actor) = &self.actor {
            for e in self.local.outbox.values().filter(|e| e.counts()) {
                // A mutation the prediction refuses is the server's to answer; it changes
                // nothing here.
                let _ = predicted.apply_mutation(actor, e.pending.created_at, e.mutation());
            }
        }
        self.predicted = predicted;
    }

    /// The outcome of the newest mutation about `expense` that the server refused.
    pub(crate) fn refused(&self, expense: ExpenseId) -> Option<&Outcome> {
        self.local
            .outbox
            .values()
            .rev()
            .filter(|e| {
                !e.is_confirmed() && !e.replay && sync::expense_of(e.mutation()) == Some(expense)
            })
            .find_map(|e| {
                e.result
                    .as_ref()
                    .map(|r| &r.outcome)
                    .filter(|o| !o.is_success())
            })
    }
}

/// Parses an id the shell sent.
pub(crate) fn parse_id<T: From<uuid::Uuid>>(s: &str) -> Option<T> {
    uuid::Uuid::parse_str(s.trim()).ok().map(T::from)
}
