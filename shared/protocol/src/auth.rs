//! Sign-in, sessions, invitations and the user's memberships.

use serde::{Deserialize, Serialize};

use crate::{ClientId, CompanyId, FirmId, InvitationId, Timestamp, UserId};

/// What a person may do in a company. A membership may hold several roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Captures and submits receipts.
    Employee,
    /// Decides approval tasks routed to them.
    Approver,
    /// Manages the company's catalog, rules and users; sees all its expenses.
    CompanyAdmin,
    /// Staff of the accounting firm: sees and manages every client company of the firm.
    Accountant,
    /// The company's owner or contact: reads and answers the firm's messages, sees documents.
    Client,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 5] = [
        Role::Employee,
        Role::Approver,
        Role::CompanyAdmin,
        Role::Accountant,
        Role::Client,
    ];

    /// The wire name (`company_admin`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Employee => "employee",
            Role::Approver => "approver",
            Role::CompanyAdmin => "company_admin",
            Role::Accountant => "accountant",
            Role::Client => "client",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// `POST /v1/auth/login`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The install signing in. Bound to this user on first use; another user cannot use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// Shown in the user's list of devices ("Emma's iPhone").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
}

/// Answer to a successful sign-in or accepted invitation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LoginResponse {
    /// Opaque bearer token for `Authorization: Bearer …`. The server keeps only its hash.
    pub token: String,
    #[serde(flatten)]
    pub session: Session,
}

/// `GET /v1/me`: who the token belongs to and where they work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Session {
    pub user: UserSummary,
    pub firm: FirmSummary,
    /// One entry per company the user may open, with their roles there. The firm's staff get
    /// the `accountant` role in every client company they may see (all of them, or only those
    /// assigned to them when the firm says so).
    pub memberships: Vec<Membership>,
    /// The user's place in the firm, when they are its staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<StaffRole>,
}

/// What a member of the firm's staff may do beyond an accountant's work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Works on the clients' documents.
    Accountant,
    /// Also manages the firm's staff, their assignments and the client companies; sees every
    /// client.
    FirmAdmin,
}

/// A person, as others see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UserSummary {
    pub id: UserId,
    pub name: String,
    pub email: String,
}

/// The accounting firm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FirmSummary {
    pub id: FirmId,
    pub name: String,
}

/// A user's roles in one company.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Membership {
    pub company_id: CompanyId,
    pub company_name: String,
    pub roles: Vec<Role>,
    /// False for a company the firm has paused: only the firm's staff still open it.
    #[serde(default = "crate::active_by_default")]
    pub active: bool,
}

/// `POST /v1/companies` and `PUT /v1/companies/{company_id}` (firm admins): a client company's
/// details. Empty optional texts clear the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CompanyDetails {
    pub name: String,
    /// The currency its books are kept in (ISO 4217); EUR when not given. It cannot change
    /// once the company has documents.
    #[serde(default = "crate::default_base_currency")]
    pub base_currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_number: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// An IANA time zone name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Whether its members may sign in and sync; true when not given.
    #[serde(default = "crate::active_by_default")]
    pub active: bool,
    /// Whether a person may approve their own expense when a rule names only them; false when
    /// not given.
    #[serde(default)]
    pub allow_self_approval: bool,
}

impl CompanyDetails {
    /// Details naming only a company's name (the rest as defaults).
    pub fn named(name: impl Into<String>) -> CompanyDetails {
        CompanyDetails {
            name: name.into(),
            base_currency: crate::default_base_currency(),
            registration_number: None,
            vat_number: None,
            country: None,
            time_zone: None,
            active: true,
            allow_self_approval: false,
        }
    }
}

/// `GET /v1/clients` (the firm's staff): every client company the user sees, with the work
/// waiting in each. Small for any firm (a row per client), so a new device shows it at once
/// without pulling any client's documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClientsOverview {
    /// Sorted by name.
    pub clients: Vec<ClientSummary>,
}

/// One client company and its counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClientSummary {
    pub company_id: CompanyId,
    pub name: String,
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub base_currency: String,
    /// Assigned to the user (what "My clients" shows a firm admin).
    pub assigned_to_me: bool,
    /// Approved documents the firm has not reviewed yet.
    pub to_review: u32,
    /// Submitted documents waiting for the company's approvers.
    pub waiting_for_approval: u32,
    /// Documents sent back to their employee.
    pub returned: u32,
    /// Reviewed documents: ready for export.
    pub ready_for_export: u32,
    /// Messages from the company's people the user has not read.
    pub unread_replies: u32,
    /// Card payments with no receipt matched and none declared missing.
    #[serde(default)]
    pub missing_receipts: u32,
}

/// `GET /v1/firm` (firm admins): the firm's settings and staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Firm {
    pub id: FirmId,
    pub name: String,
    pub settings: FirmSettings,
    /// Sorted by name.
    pub staff: Vec<StaffMember>,
    /// Colleagues invited into the staff who have not accepted yet, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invitations: Vec<PendingInvitation>,
}

/// `PUT /v1/firm/settings` (firm admins).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FirmSettings {
    /// Accountants see only the client companies assigned to them (firm admins see all).
    /// Off: every accountant sees every client.
    pub assigned_clients_only: bool,
    /// The export journal's field separator and decimal mark, for the firm's spreadsheets
    /// (`;` and `,` in Latvia, Poland and Sweden).
    #[serde(default)]
    pub csv_separator: crate::CsvSeparator,
    #[serde(default)]
    pub decimal_mark: crate::DecimalMark,
}

/// A person of the firm's staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StaffMember {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub role: StaffRole,
    /// The client companies assigned to them.
    pub assigned: Vec<CompanyId>,
    /// An account made by an older server at invitation, whose password is not set yet.
    pub invited: bool,
    /// Their access is turned off: they cannot sign in or sync until it is turned on again.
    #[serde(default)]
    pub disabled: bool,
}

/// `POST /v1/firm/staff` (firm admins): invite a colleague into the firm's staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InviteStaffRequest {
    pub email: String,
    pub name: String,
    pub role: StaffRole,
    /// Client companies to assign them to straight away.
    #[serde(default)]
    pub assigned: Vec<CompanyId>,
}

/// `PUT /v1/firm/staff/{user_id}` (firm admins): a colleague's role and assigned clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SetStaffRequest {
    pub role: StaffRole,
    pub assigned: Vec<CompanyId>,
}

/// `POST /v1/companies/{company_id}/users` (company admins and accountants): invite a person
/// into a company with roles. The answer is the same whether or not the e-mail already has an
/// account: the roles are given when the invitation is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InviteUserRequest {
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
}

/// An invitation: a one-time token for the invited person. Someone new sets their password
/// with it; someone who already has an account with the e-mail accepts it with their password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Invitation {
    /// Names the invitation in lists, and to cancel it.
    pub id: InvitationId,
    pub token: String,
    /// Path of the page that accepts it: `/invite/<token>`.
    pub link: String,
    pub expires_at: Timestamp,
}

/// An invitation not accepted yet, as the people who manage it see it (in the company's row,
/// or the firm's staff list): what the inviter typed, never whether the e-mail has an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PendingInvitation {
    pub id: InvitationId,
    pub email: String,
    pub name: String,
    /// Into a company: the roles they get there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    /// Into the firm's staff: the role they get, and the clients assigned to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_role: Option<StaffRole>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assigned: Vec<CompanyId>,
    /// The link stops working then; inviting the same e-mail again replaces it.
    pub expires_at: Timestamp,
}

/// `POST /v1/auth/accept-invitation`: sign in with the invitation. `password` is the new
/// password of someone new, or the existing password of the account the e-mail already has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AcceptInvitationRequest {
    pub token: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
}

/// `PUT /v1/companies/{company_id}/users/{user_id}/roles`: replace a member's roles (an empty
/// list removes the member from the company).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SetRolesRequest {
    pub roles: Vec<Role>,
}

/// One signed-in device of the user (`GET /v1/auth/sessions`): a token, named by an id of its
/// own (never the token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SignedInDevice {
    /// Names the session to end it (`DELETE /v1/auth/sessions/{id}`).
    pub id: String,
    /// As the app named the device at sign-in ("Pixel 8", "Chrome on Linux").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    pub signed_in_at: Timestamp,
    /// Its last request (to the hour).
    pub last_used_at: Timestamp,
    /// When it ends unless used before: the idle limit from its last use, at most its longest
    /// lifetime from the sign-in.
    pub expires_at: Timestamp,
    /// The session of this request.
    pub current: bool,
}

/// `PUT /v1/users/{user_id}/access`: turn a person's access off (every session ends, and
/// signing in is refused) or on again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SetAccessRequest {
    pub disabled: bool,
}
