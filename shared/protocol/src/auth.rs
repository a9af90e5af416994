//! Sign-in, sessions, invitations and the user's memberships.

use serde::{Deserialize, Serialize};

use crate::{ClientId, CompanyId, FirmId, Timestamp, UserId};

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
    /// One entry per company the user may open, with their roles there. Accountants get every
    /// client company of their firm.
    pub memberships: Vec<Membership>,
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
}

/// `POST /v1/companies` (accountants): a new client company of the firm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreateCompanyRequest {
    pub name: String,
    /// The currency its books are kept in (ISO 4217); EUR when not given.
    #[serde(default = "crate::default_base_currency")]
    pub base_currency: String,
}

/// `POST /v1/companies/{company_id}/users` (company admins and accountants): invite a person
/// into a company with roles. An existing user of the firm (same e-mail) just gets the roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InviteUserRequest {
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
}

/// An invitation: a one-time token that lets the invited person set their password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Invitation {
    pub user_id: UserId,
    /// `None` when the person already had an account and only got new roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Path of the page/endpoint that accepts it, e.g. `/invite/<token>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// `POST /v1/auth/accept-invitation`: set the password and sign in.
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
