//! What the shell tells the core: user actions, lifecycle and network changes.
//!
//! Ids travel as strings (the shells have no UUID type in common); an id that does not parse
//! or names nothing the user can see is answered with a message in the view, never a panic.

use crux_http::protocol::HttpResult;
use crux_time::TimeResponse;
use facet::Facet;
use facet_generate_attrs as typegen;
use serde::{Deserialize, Serialize};

use crate::effects::{ProcessPhotoResponse, StoreResponse, UploadUpdate};
pub use crate::model::{
    ApprovalEvent, CardEvent, CatalogEvent, ClientFilter, ClientSort, ClientsEvent, CompanyInput,
    ExportEvent, FirmEvent, MessageEvent, NoReceiptKind, PeopleEvent, ReceiptEvent,
    ReceiptFilterField, ReceiptSort, ReviewEvent, ReviewField, SessionEvent, StaffInput,
    StatusFilter, SyncEvent, VatEdit,
};

/// Where the user can go.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum Route {
    /// The home screen for the user's role in the current company.
    Home,
    /// The sign-in form (after the session ended).
    SignIn,
    Receipts,
    Receipt {
        expense_id: String,
    },
    Approvals,
    Approval {
        expense_id: String,
    },
    Inbox,
    Thread {
        thread_id: String,
    },
    Compose,
    /// The current company's expense types, cards and approval rules (admins, accountants).
    Catalog,
    /// The firm's client companies, staff and settings (firm admins).
    Firm,
    /// Every client with the work waiting in each (the firm's staff).
    Clients,
    /// The current company's export to the books (the firm's staff).
    Export,
    /// The current company's card payments: those without a receipt first.
    Cards,
}

/// A document's kind, for approval rules.
#[derive(
    Facet, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr,
)]
#[repr(C)]
pub enum DocumentKind {
    Receipt,
    Invoice,
    Other,
}

impl DocumentKind {
    /// Every kind, in the order the form offers them.
    pub const ALL: [DocumentKind; 3] = [
        DocumentKind::Receipt,
        DocumentKind::Invoice,
        DocumentKind::Other,
    ];

    /// "Receipt", "Invoice", "Other document".
    pub fn label(self) -> &'static str {
        match self {
            DocumentKind::Receipt => "Receipt",
            DocumentKind::Invoice => "Invoice",
            DocumentKind::Other => "Other document",
        }
    }
}

impl From<DocumentKind> for kvits_protocol::DocumentType {
    fn from(kind: DocumentKind) -> Self {
        match kind {
            DocumentKind::Receipt => kvits_protocol::DocumentType::Receipt,
            DocumentKind::Invoice => kvits_protocol::DocumentType::Invoice,
            DocumentKind::Other => kvits_protocol::DocumentType::Other,
        }
    }
}

impl From<kvits_protocol::DocumentType> for DocumentKind {
    fn from(t: kvits_protocol::DocumentType) -> Self {
        match t {
            kvits_protocol::DocumentType::Receipt => DocumentKind::Receipt,
            kvits_protocol::DocumentType::Invoice => DocumentKind::Invoice,
            kvits_protocol::DocumentType::Other => DocumentKind::Other,
        }
    }
}

/// An expense type to create (`id: None`) or change.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpenseTypeInput {
    pub id: Option<String>,
    pub code: String,
    pub name: String,
    pub active: bool,
}

/// A payment method to create (`id: None`) or change.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethodInput {
    pub id: Option<String>,
    /// "Own money / cash" (reimbursed) rather than a company card.
    pub own_money: bool,
    pub label: String,
    /// A card's last four digits.
    pub last_four: Option<String>,
    /// The member who holds the card; `None` for a shared card.
    pub holder_id: Option<String>,
    pub active: bool,
    /// How the bank's statements name the card when they do not show its last four digits:
    /// the card account's number.
    pub statement_ref: Option<String>,
}

/// An approval rule to create (`id: None`) or change.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRuleInput {
    pub id: Option<String>,
    pub name: String,
    /// Rules are tried in this order; the first that matches routes the receipt.
    pub position: i32,
    pub active: bool,
    /// Only this kind of document; `None` for any.
    pub document_type: Option<DocumentKind>,
    /// Only these expense types; empty for any.
    pub expense_type_ids: Vec<String>,
    /// Amounts as typed; empty for no bound. From is inclusive, up to is exclusive.
    pub min_amount: String,
    pub max_amount: String,
    /// Each step's approvers (user ids); any one of a step's approvers decides it.
    pub steps: Vec<Vec<String>>,
}

/// Someone to invite to the current company.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInput {
    pub email: String,
    pub name: String,
    /// Role names as in [`crate::view::CatalogView::roles`]: `employee`, `approver`,
    /// `company_admin`, `client`.
    pub roles: Vec<String>,
}

/// A change to one field of the open expense form.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum FormField {
    /// An expense type id, or `None` to clear.
    ExpenseType(Option<String>),
    /// A payment method id, or `None` to clear.
    PaymentMethod(Option<String>),
    /// As typed: `12.50`, `12,50`, `1 200`; empty for unknown.
    Amount(String),
    /// ISO 4217 code, e.g. `EUR`.
    Currency(String),
    /// `YYYY-MM-DD`; empty for unknown.
    Date(String),
    Merchant(String),
    Note(String),
    /// The amount in the company's base currency, for a receipt in another currency; typed
    /// like the amount, empty for unknown.
    BaseAmount(String),
    /// What kind of document it is (approval rules may route by it).
    DocumentType(DocumentKind),
    /// A change to the VAT lines, in the receipt's currency.
    Vat(VatEdit),
}

/// A change to the accountant's message being composed.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum ComposeField {
    /// Add or remove one recipient company.
    ToggleCompany(String),
    /// Address every client company.
    AllCompanies,
    Subject(String),
    Body(String),
}

/// Everything the shell can send: the app's life and navigation here, each workflow's actions
/// in its own enum, handled by that workflow's `update` (see [`crate::model`]).
// `IntoStaticStr` (here and on each workflow's enum) gives the variants' names for
// [`Event::name`].
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum Event {
    /// Sent once at launch: the core loads the local store and resumes where it was.
    Start {
        /// The sync server, e.g. `https://kvits.example`.
        server_url: String,
        /// At least 16 random bytes from the platform (ids made on this device derive from
        /// them).
        #[serde(with = "serde_bytes")]
        #[facet(typegen::bytes)]
        entropy: Vec<u8>,
        /// Shown to the user's other sessions ("Emma's iPhone").
        device_name: String,
        /// The device's offset from UTC, for showing times.
        utc_offset_minutes: i32,
    },
    /// The platform's view of connectivity changed.
    NetworkChanged {
        online: bool,
    },
    /// The app came to the foreground.
    Foregrounded,

    Navigate(Route),
    Back,
    /// Show more rows of a long list.
    ShowMore,
    /// Close the message about the last action.
    DismissAlert,

    /// Signing in and out, accepting an invitation, the company switcher.
    Session(SessionEvent),
    /// Capturing receipts and the expense form.
    Receipts(ReceiptEvent),
    /// Pull to refresh, and the notices sync leaves.
    Sync(SyncEvent),
    Approvals(ApprovalEvent),
    /// The accounting firm's review of the open receipt, and the employee's answer.
    Review(ReviewEvent),
    Messages(MessageEvent),
    /// The company's expense types, cards and approval rules.
    Catalog(CatalogEvent),
    /// Inviting people and changing their roles (needs the network).
    People(PeopleEvent),
    /// The firm's console: client companies, staff, assignments (firm admins; needs the
    /// network).
    Firm(FirmEvent),
    /// The clients overview (the firm's staff).
    Clients(ClientsEvent),
    /// The current company's export page (the firm's staff; needs the network).
    Export(ExportEvent),
    /// Card payments and their receipts.
    Cards(CardEvent),

    /// Answers to the core's own effects; never sent by a shell.
    #[serde(skip)]
    #[facet(skip)]
    Internal(#[facet(opaque)] Internal),
}

impl Event {
    /// What diagnostics show of an event: its name (`Receipts::Submit`), never its contents,
    /// which may hold a password.
    pub fn name(&self) -> String {
        let outer: &'static str = self.into();
        let inner: Option<&'static str> = match self {
            Event::Session(e) => Some(e.into()),
            Event::Receipts(e) => Some(e.into()),
            Event::Sync(e) => Some(e.into()),
            Event::Approvals(e) => Some(e.into()),
            Event::Review(e) => Some(e.into()),
            Event::Messages(e) => Some(e.into()),
            Event::Catalog(e) => Some(e.into()),
            Event::People(e) => Some(e.into()),
            Event::Firm(e) => Some(e.into()),
            Event::Clients(e) => Some(e.into()),
            Event::Export(e) => Some(e.into()),
            Event::Cards(e) => Some(e.into()),
            _ => None,
        };
        match inner {
            Some(inner) => format!("{outer}::{inner}"),
            None => outer.to_string(),
        }
    }

    /// Whether the action needs the time (it makes ids or timestamps): the core reads the
    /// clock before it runs.
    pub(crate) fn needs_clock(&self) -> bool {
        match self {
            Event::Navigate(Route::Thread { .. }) => true,
            Event::Receipts(e) => e.needs_clock(),
            Event::Approvals(_) | Event::Catalog(_) => true,
            Event::Review(e) => !matches!(e, ReviewEvent::Edit(_) | ReviewEvent::EditAnswer(_)),
            Event::Messages(e) => e.needs_clock(),
            Event::Cards(e) => !matches!(e, CardEvent::ShowAll { .. } | CardEvent::Month { .. }),
            Event::Start { .. }
            | Event::NetworkChanged { .. }
            | Event::Foregrounded
            | Event::Navigate(_)
            | Event::Back
            | Event::ShowMore
            | Event::DismissAlert
            | Event::Session(_)
            | Event::Sync(_)
            | Event::People(_)
            | Event::Firm(_)
            | Event::Clients(_)
            | Event::Export(_)
            | Event::Internal(_) => false,
        }
    }
}

/// Answers to effects, routed back with the id of the operation that asked.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Internal {
    Loaded(StoreResponse),
    Committed {
        txn: u64,
        response: StoreResponse,
    },
    /// The clock was read for `event`, which now runs with it.
    Timed {
        response: TimeResponse,
        event: Box<Event>,
    },
    Timer {
        response: TimeResponse,
    },
    Http {
        op: u64,
        result: HttpResult,
    },
    Photo {
        op: u64,
        response: ProcessPhotoResponse,
    },
    Upload {
        op: u64,
        update: UploadUpdate,
    },
}
