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
}

/// A document's kind, for approval rules.
#[derive(Facet, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum DocumentKind {
    Receipt,
    Invoice,
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

/// Everything the shell can send.
// `IntoStaticStr` gives each variant's name (`<&str>::from(&event)`): what diagnostics show of
// an event, never its contents, which may hold a password.
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
    /// Pull to refresh.
    SyncNow,

    SignIn {
        email: String,
        password: String,
    },
    SignOut,
    SelectCompany {
        company_id: String,
    },

    Navigate(Route),
    Back,
    /// Show more rows of a long list.
    ShowMore,

    /// A photo from the camera or an import. On the form of a receipt that can still be edited
    /// it becomes another page of that receipt; anywhere else it starts a new receipt.
    PhotoCaptured {
        file_ref: String,
    },
    /// Edit the open expense form.
    EditForm(FormField),
    /// Keep the receipt as a draft.
    SaveDraft,
    /// Send the receipt for approval/booking.
    Submit,
    /// Delete the open receipt (only a draft that was never submitted).
    DeleteReceipt,
    /// Remove a page from the open receipt.
    RemovePage {
        sha256: String,
    },

    Approve {
        expense_id: String,
    },
    Reject {
        expense_id: String,
        reason: String,
    },

    Reply {
        body: String,
    },
    EditCompose(ComposeField),
    SendMessage,

    SaveExpenseType(ExpenseTypeInput),
    SavePaymentMethod(PaymentMethodInput),
    SaveApprovalRule(ApprovalRuleInput),
    /// Invite someone to the current company (admins, accountants; needs the network).
    InviteUser(InviteInput),
    /// Replace a member's roles in the current company (needs the network).
    SetMemberRoles {
        user_id: String,
        roles: Vec<String>,
    },
    /// The invited person sets their password with the invitation's token and is signed in.
    AcceptInvitation {
        token: String,
        password: String,
    },

    DismissNotice {
        id: String,
    },
    DismissAlert,

    /// Answers to the core's own effects; never sent by a shell.
    #[serde(skip)]
    #[facet(skip)]
    Internal(#[facet(opaque)] Internal),
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
