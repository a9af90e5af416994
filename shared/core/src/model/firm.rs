//! The firm's console, for its firm admins: the client companies with their details (added,
//! changed, paused), the staff with their role and assigned clients, and the setting that
//! keeps accountants to their assigned clients. Like inviting people, these talk to the server
//! directly and need the network: the staff list is not synced to devices, and a new company
//! or a changed one reaches every device through the next pull.

use crux_core::Command;
use crux_http::protocol::HttpResult;
use facet::Facet;
use kvits_protocol::{
    CompanyDetails, CompanyId, CsvSeparator, DecimalMark, Firm, FirmSettings, Invitation,
    InviteStaffRequest, SetStaffRequest, StaffRole, UserId,
};
use serde::{Deserialize, Serialize};

use super::people::NO_SUCH_INVITATION;
use super::sync::{Reply, classify};
use super::{Cmd, Model, Screen, parse_id};

/// A client company's details as the console's form holds them: `id: None` for a new one.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyInput {
    pub id: Option<String>,
    pub name: String,
    /// ISO 4217, e.g. `EUR`.
    pub base_currency: String,
    pub registration_number: String,
    pub vat_number: String,
    /// ISO 3166-1 alpha-2, e.g. `LV`; empty for none.
    pub country: String,
    /// IANA, e.g. `Europe/Riga`; empty for none.
    pub time_zone: String,
    pub active: bool,
    /// A person may approve their own expense when a rule names only them.
    pub allow_self_approval: bool,
}

/// A colleague to invite into the firm's staff.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffInput {
    pub email: String,
    pub name: String,
    pub firm_admin: bool,
    /// Ids of the client companies to assign them to.
    pub assigned: Vec<String>,
}

/// What a firm admin does in the firm's console.
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum FirmEvent {
    /// Fetch the staff and settings again.
    Refresh,
    /// Add a client company, or change one.
    SaveCompany(CompanyInput),
    InviteStaff(StaffInput),
    /// Replace a colleague's role and assigned clients.
    SetStaff {
        user_id: String,
        firm_admin: bool,
        assigned: Vec<String>,
    },
    /// Turn a colleague's access off (every session of theirs ends; they cannot sign in) or on.
    SetStaffAccess {
        user_id: String,
        on: bool,
    },
    /// Cancel an open invitation into the staff: its link stops working.
    CancelStaffInvitation {
        id: String,
    },
    /// Keep accountants to their assigned clients, or let them see every client.
    SetAssignedClientsOnly {
        assigned_clients_only: bool,
    },
    /// The export journal's separator (`comma`, `semicolon`, `tab`) and decimal mark
    /// (`point`, `comma`), for the firm's spreadsheets.
    SetJournalFormat {
        separator: String,
        decimal_mark: String,
    },
}

/// The journal separators the console offers: (id, label).
pub(crate) const SEPARATORS: [(CsvSeparator, &str, &str); 3] = [
    (CsvSeparator::Comma, "comma", "Comma ( , )"),
    (CsvSeparator::Semicolon, "semicolon", "Semicolon ( ; )"),
    (CsvSeparator::Tab, "tab", "Tab"),
];

/// The decimal marks the console offers: (id, label).
pub(crate) const DECIMAL_MARKS: [(DecimalMark, &str, &str); 2] = [
    (DecimalMark::Point, "point", "Point: 12.50"),
    (DecimalMark::Comma, "comma", "Comma: 12,50"),
];

/// What the console is waiting for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FirmOp {
    Load,
    SaveCompany {
        name: String,
        new: bool,
    },
    Invite {
        name: String,
    },
    SetStaff {
        name: String,
    },
    /// Says what was done once the server did it (settings, access, a cancelled invitation).
    Done {
        done: String,
    },
}

/// The console's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FirmState {
    /// The firm as the server last answered.
    pub(crate) firm: Option<Firm>,
    pub(crate) op: Option<(u64, FirmOp)>,
    pub(crate) error: Option<String>,
    /// What the last action did.
    pub(crate) done: Option<String>,
    /// The invitation link to hand over (absolute), after an invitation.
    pub(crate) link: Option<String>,
}

/// An optional text the server takes: `None` when blank.
fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

impl Model {
    /// A `PUT /v1/firm/settings` of the settings the server last answered, changed by `change`.
    fn plan_settings(
        &self,
        change: impl FnOnce(&mut FirmSettings),
        done: &str,
    ) -> Result<(&'static str, String, Vec<u8>, FirmOp), String> {
        let Some(firm) = &self.firm.firm else {
            return Err("The firm's settings have not arrived yet; try again.".into());
        };
        let mut settings = firm.settings.clone();
        change(&mut settings);
        let body = serde_json::to_vec(&settings).map_err(|e| e.to_string())?;
        Ok((
            "PUT",
            "/v1/firm/settings".to_owned(),
            body,
            FirmOp::Done { done: done.into() },
        ))
    }

    /// Whether the user runs the firm (staff with the firm admin role).
    pub(crate) fn is_firm_admin(&self) -> bool {
        self.local
            .session
            .as_ref()
            .is_some_and(|s| s.session.staff == Some(StaffRole::FirmAdmin))
    }

    /// Whether a change is on its way to the server (not just the staff list being fetched).
    pub(crate) fn firm_saving(&self) -> bool {
        self.firm
            .op
            .as_ref()
            .is_some_and(|(_, op)| *op != FirmOp::Load)
    }

    /// Opens the console and fetches the staff.
    pub(crate) fn open_firm(&mut self) -> Cmd {
        if !self.is_firm_admin() {
            self.alert = Some("Only the firm's admins open the firm's console.".into());
            return Command::done();
        }
        self.screen = Screen::Firm;
        self.firm.error = None;
        self.firm.done = None;
        self.firm.link = None;
        self.load_firm()
    }

    fn load_firm(&mut self) -> Cmd {
        if self.firm.op.is_some() {
            return Command::done();
        }
        if !self.sync.online {
            self.firm.error = Some("The firm's console needs the internet.".into());
            return Command::done();
        }
        let request = self.request("GET", "/v1/firm", None);
        let (op, cmd) = self.send(request);
        self.firm.op = Some((op, FirmOp::Load));
        cmd
    }

    pub(super) fn update_firm(&mut self, event: FirmEvent) -> Cmd {
        if let FirmEvent::Refresh = event {
            self.firm.error = None;
            return self.load_firm();
        }
        self.firm.error = None;
        self.firm.done = None;
        self.firm.link = None;
        if !self.is_firm_admin() {
            self.firm.error = Some("Only the firm's admins manage the firm.".into());
            return Command::done();
        }
        if self.firm.op.is_some() {
            self.firm.error = Some("Wait for the previous change to finish.".into());
            return Command::done();
        }
        if !self.sync.online {
            self.firm.error = Some(
                "Changing the firm needs the internet. Try again when online; nothing was changed."
                    .into(),
            );
            return Command::done();
        }
        let planned = match event {
            FirmEvent::Refresh => return Command::done(),
            FirmEvent::SaveCompany(input) => self.plan_company(input),
            FirmEvent::InviteStaff(input) => self.plan_invite(input),
            FirmEvent::SetStaff {
                user_id,
                firm_admin,
                assigned,
            } => self.plan_set_staff(&user_id, firm_admin, &assigned),
            FirmEvent::SetStaffAccess { user_id, on } => {
                return self.set_staff_access(&user_id, on);
            }
            FirmEvent::CancelStaffInvitation { id } => {
                let invitation = self
                    .firm
                    .firm
                    .as_ref()
                    .and_then(|f| f.invitations.iter().find(|i| i.id.to_string() == id));
                return match invitation {
                    Some(invitation) => {
                        let (request, done) = self.cancel_request(invitation);
                        let (op, cmd) = self.send(request);
                        self.firm.op = Some((op, FirmOp::Done { done }));
                        cmd
                    }
                    None => {
                        self.firm.error = Some(NO_SUCH_INVITATION.into());
                        Command::done()
                    }
                };
            }
            FirmEvent::SetAssignedClientsOnly {
                assigned_clients_only,
            } => self.plan_settings(
                |s| s.assigned_clients_only = assigned_clients_only,
                if assigned_clients_only {
                    "Accountants now see only the clients assigned to them."
                } else {
                    "Every accountant now sees every client."
                },
            ),
            FirmEvent::SetJournalFormat {
                separator,
                decimal_mark,
            } => {
                let separator = SEPARATORS.iter().find(|s| s.1 == separator).map(|s| s.0);
                let mark = DECIMAL_MARKS
                    .iter()
                    .find(|m| m.1 == decimal_mark)
                    .map(|m| m.0);
                match (separator, mark) {
                    (Some(CsvSeparator::Comma), Some(DecimalMark::Comma)) => {
                        Err("A comma cannot separate the columns and the decimals at once.".into())
                    }
                    (Some(separator), Some(mark)) => self.plan_settings(
                        |s| {
                            s.csv_separator = separator;
                            s.decimal_mark = mark;
                        },
                        "The journal's format is saved.",
                    ),
                    _ => Err("Choose a separator and a decimal mark.".into()),
                }
            }
        };
        match planned {
            Ok((method, path, body, op)) => {
                let request = self.request(method, &path, Some(body));
                let (id, cmd) = self.send(request);
                self.firm.op = Some((id, op));
                cmd
            }
            Err(message) => {
                self.firm.error = Some(message);
                Command::done()
            }
        }
    }

    /// The companies among `ids` (strings from the shell), or which one is not the firm's.
    fn client_ids(&self, ids: &[String]) -> Result<Vec<CompanyId>, String> {
        let mut out = Vec::new();
        for id in ids {
            let company = parse_id::<CompanyId>(id)
                .filter(|c| kvits_domain::State::company(&self.predicted, *c).is_some());
            match company {
                Some(c) if !out.contains(&c) => out.push(c),
                Some(_) => {}
                None => return Err("That client company is not on this device.".into()),
            }
        }
        Ok(out)
    }

    fn plan_company(
        &self,
        input: CompanyInput,
    ) -> Result<(&'static str, String, Vec<u8>, FirmOp), String> {
        let name = input.name.trim().to_owned();
        if name.is_empty() {
            return Err("Enter the company's name.".into());
        }
        let base_currency = input.base_currency.trim().to_ascii_uppercase();
        if kvits_protocol::currency_exponent(&base_currency).is_none() {
            return Err(format!(
                "\"{}\" is not a currency code; enter one such as EUR, PLN or SEK.",
                input.base_currency.trim()
            ));
        }
        let country = optional(&input.country);
        if let Some(c) = &country
            && isocountry::CountryCode::for_alpha2_caseless(c).is_err()
        {
            return Err(format!(
                "\"{c}\" is not a country code; choose the country."
            ));
        }
        let details = CompanyDetails {
            name: name.clone(),
            base_currency,
            registration_number: optional(&input.registration_number),
            vat_number: optional(&input.vat_number),
            country,
            time_zone: optional(&input.time_zone),
            active: input.active,
            allow_self_approval: input.allow_self_approval,
        };
        let body = serde_json::to_vec(&details).map_err(|e| e.to_string())?;
        match input.id.as_deref().filter(|id| !id.is_empty()) {
            None => Ok((
                "POST",
                "/v1/companies".to_owned(),
                body,
                FirmOp::SaveCompany { name, new: true },
            )),
            Some(id) => {
                let id = self
                    .client_ids(&[id.to_owned()])?
                    .pop()
                    .ok_or("That client company is not on this device.")?;
                Ok((
                    "PUT",
                    format!("/v1/companies/{id}"),
                    body,
                    FirmOp::SaveCompany { name, new: false },
                ))
            }
        }
    }

    fn plan_invite(
        &self,
        input: StaffInput,
    ) -> Result<(&'static str, String, Vec<u8>, FirmOp), String> {
        let email = input.email.trim().to_owned();
        let name = input.name.trim().to_owned();
        if email.is_empty() || !email.contains('@') {
            return Err("Enter your colleague's e-mail address.".into());
        }
        if name.is_empty() {
            return Err("Enter your colleague's name.".into());
        }
        let body = InviteStaffRequest {
            email,
            name: name.clone(),
            role: if input.firm_admin {
                StaffRole::FirmAdmin
            } else {
                StaffRole::Accountant
            },
            assigned: self.client_ids(&input.assigned)?,
        };
        let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        Ok((
            "POST",
            "/v1/firm/staff".to_owned(),
            body,
            FirmOp::Invite { name },
        ))
    }

    fn plan_set_staff(
        &self,
        user_id: &str,
        firm_admin: bool,
        assigned: &[String],
    ) -> Result<(&'static str, String, Vec<u8>, FirmOp), String> {
        let member = parse_id::<UserId>(user_id).and_then(|id| {
            self.firm
                .firm
                .as_ref()
                .and_then(|f| f.staff.iter().find(|s| s.user_id == id))
        });
        let Some(member) = member else {
            return Err("That person is not on the firm's staff.".into());
        };
        let body = SetStaffRequest {
            role: if firm_admin {
                StaffRole::FirmAdmin
            } else {
                StaffRole::Accountant
            },
            assigned: self.client_ids(assigned)?,
        };
        let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        Ok((
            "PUT",
            format!("/v1/firm/staff/{}", member.user_id),
            body,
            FirmOp::SetStaff {
                name: member.name.clone(),
            },
        ))
    }

    fn set_staff_access(&mut self, user_id: &str, on: bool) -> Cmd {
        let member = parse_id::<UserId>(user_id).and_then(|id| {
            self.firm
                .firm
                .as_ref()
                .and_then(|f| f.staff.iter().find(|s| s.user_id == id))
                .map(|s| (s.user_id, s.name.clone()))
        });
        let Some((user, name)) = member else {
            self.firm.error = Some("That person is not on the firm's staff.".into());
            return Command::done();
        };
        match self.access_request(user, &name, on) {
            Ok((request, done)) => {
                let (op, cmd) = self.send(request);
                self.firm.op = Some((op, FirmOp::Done { done }));
                cmd
            }
            Err(message) => {
                self.firm.error = Some(message);
                Command::done()
            }
        }
    }

    /// The server's answer to the console's request `op`.
    pub(crate) fn firm_answered(&mut self, result: HttpResult) -> Cmd {
        let Some((_, op)) = self.firm.op.take() else {
            return Command::done();
        };
        let body = match classify(result) {
            Reply::Ok(body) => body,
            Reply::Unauthorized(reason) => return self.session_expired(reason),
            Reply::Upgrade => {
                self.firm.error =
                    Some("This version of Kvits is too old for the server. Update the app.".into());
                return Command::done();
            }
            Reply::Transient(message, _) | Reply::Refused(message) => {
                self.firm.error = Some(message);
                return Command::done();
            }
        };
        match op {
            FirmOp::Load => {
                match serde_json::from_slice::<Firm>(&body) {
                    Ok(firm) => self.firm.firm = Some(firm),
                    Err(_) => {
                        self.fail("the server's firm could not be read");
                        self.firm.error =
                            Some("The server answered something this app cannot read.".into());
                    }
                }
                return Command::done();
            }
            FirmOp::SaveCompany { name, new } => {
                self.firm.done = Some(if new {
                    format!("{name} is added. Invite its people from its company settings.")
                } else {
                    format!("{name} is saved.")
                });
            }
            FirmOp::Invite { name } => match serde_json::from_slice::<Invitation>(&body) {
                Ok(invitation) => {
                    let (done, link) = self.invitation_texts(&name, &invitation);
                    self.firm.done = Some(done);
                    self.firm.link = Some(link);
                }
                Err(_) => {
                    self.fail("the server's invitation could not be read");
                    self.firm.error =
                        Some("The server answered something this app cannot read.".into());
                }
            },
            FirmOp::SetStaff { name } => {
                self.firm.done = Some(format!("{name}'s role and clients are saved."));
            }
            FirmOp::Done { done } => self.firm.done = Some(done),
        }
        // The staff list and (through the next pull) the companies changed: fetch both.
        self.sync.refresh_session = true;
        let reload = self.load_firm();
        Command::all([reload, self.kick()])
    }
}
