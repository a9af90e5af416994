//! The people of a company, managed by its admins and the firm's accountants: invite someone
//! (they get a one-time link to set their password) and change a member's roles; and, for the
//! invited person, accepting the invitation. These talk to the server directly, because an
//! invitation only exists once the server made it: they need the network and say so.

use crux_core::Command;
use crux_http::protocol::HttpResult;
use facet::Facet;
use kvits_domain::State as _;
use kvits_protocol::{Invitation, InviteUserRequest, Role, SetAccessRequest, SetRolesRequest};
use serde::{Deserialize, Serialize};

use super::sync::{Reply, classify};
use super::{Cmd, Model, parse_id};
use crate::event::InviteInput;
use crate::format;

/// Roles a company's admin can give (accountants belong to the firm, not to a company).
pub(crate) const ASSIGNABLE: [Role; 4] = [
    Role::Employee,
    Role::Approver,
    Role::CompanyAdmin,
    Role::Client,
];

/// What an admin or accountant does to the current company's people.
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum PeopleEvent {
    /// Invite someone to the current company.
    Invite(InviteInput),
    /// Replace a member's roles in the current company.
    SetRoles { user_id: String, roles: Vec<String> },
    /// Turn a member's access off (every session of theirs ends; they cannot sign in) or on.
    SetAccess { user_id: String, on: bool },
    /// Cancel an open invitation into the current company: its link stops working.
    CancelInvitation { id: String },
}

/// What the people screen is waiting for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PeopleOp {
    Invite {
        name: String,
    },
    SetRoles {
        name: String,
    },
    /// Says what was done once the server did it (access, a cancelled invitation).
    Done {
        done: String,
    },
}

/// The people part of the settings screen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeopleState {
    pub(crate) op: Option<(u64, PeopleOp)>,
    pub(crate) error: Option<String>,
    /// What the last action did ("Send this link to …").
    pub(crate) done: Option<String>,
    /// The link to hand to the invited person (absolute), after an invitation.
    pub(crate) link: Option<String>,
}

/// When an invitation to cancel is not (or no longer) listed.
pub(crate) const NO_SUCH_INVITATION: &str =
    "That invitation is no longer open: it was accepted or cancelled.";

/// Reads the role names a shell sent; `Err` names the first unknown one.
fn parse_roles(roles: &[String]) -> Result<Vec<Role>, String> {
    let mut parsed = Vec::new();
    for r in roles {
        match Role::parse(r.trim()).filter(|r| ASSIGNABLE.contains(r)) {
            Some(role) if !parsed.contains(&role) => parsed.push(role),
            Some(_) => {}
            None => return Err(format!("\"{r}\" is not a role that can be given here.")),
        }
    }
    parsed.sort();
    Ok(parsed)
}

impl Model {
    pub(super) fn update_people(&mut self, event: PeopleEvent) -> Cmd {
        match event {
            PeopleEvent::Invite(input) => self.invite_user(input),
            PeopleEvent::SetRoles { user_id, roles } => self.set_member_roles(&user_id, &roles),
            PeopleEvent::SetAccess { user_id, on } => self.set_member_access(&user_id, on),
            PeopleEvent::CancelInvitation { id } => self.cancel_invitation(&id),
        }
    }

    /// Whether the user may manage the current company's people.
    fn manages_people(&self) -> bool {
        self.manages_catalog()
    }

    /// Checks common to both actions; the reason is shown when they fail.
    fn people_ready(&mut self) -> Option<kvits_protocol::CompanyId> {
        self.people.error = None;
        self.people.done = None;
        self.people.link = None;
        if self.people.op.is_some() {
            self.people.error = Some("Wait for the previous change to finish.".into());
            return None;
        }
        let company = self.company().filter(|_| self.manages_people());
        if company.is_none() {
            self.people.error =
                Some("Only the company's admins and its accountants manage its people.".into());
            return None;
        }
        if !self.sync.online {
            self.people.error = Some(
                "Inviting and changing roles or access needs the internet. Try again when online."
                    .into(),
            );
            return None;
        }
        company
    }

    fn invite_user(&mut self, input: InviteInput) -> Cmd {
        let Some(company) = self.people_ready() else {
            return Command::done();
        };
        let email = input.email.trim().to_string();
        let name = input.name.trim().to_string();
        if email.is_empty() || !email.contains('@') {
            self.people.error = Some("Enter the person's e-mail address.".into());
            return Command::done();
        }
        if name.is_empty() {
            self.people.error = Some("Enter the person's name.".into());
            return Command::done();
        }
        let roles = match parse_roles(&input.roles) {
            Ok(r) if r.is_empty() => {
                self.people.error = Some("Give the person at least one role.".into());
                return Command::done();
            }
            Ok(r) => r,
            Err(message) => {
                self.people.error = Some(message);
                return Command::done();
            }
        };
        let body = InviteUserRequest {
            email,
            name: name.clone(),
            roles,
        };
        let Ok(body) = serde_json::to_vec(&body) else {
            return Command::done();
        };
        let request = self.request(
            "POST",
            &format!("/v1/companies/{company}/users"),
            Some(body),
        );
        let (op, cmd) = self.send(request);
        self.people.op = Some((op, PeopleOp::Invite { name }));
        cmd
    }

    /// The current company and its member `user_id`, once the user may change its people;
    /// else why not is on the screen.
    fn member_to_change(
        &mut self,
        user_id: &str,
    ) -> Option<(kvits_protocol::CompanyId, kvits_protocol::Member)> {
        let company = self.people_ready()?;
        let member = parse_id::<kvits_protocol::UserId>(user_id).and_then(|id| {
            self.predicted
                .company(company)
                .and_then(|c| c.members.into_iter().find(|m| m.user_id == id))
        });
        if member.is_none() {
            self.people.error = Some("That person is not a member of this company.".into());
        }
        Some((company, member?))
    }

    fn set_member_roles(&mut self, user_id: &str, roles: &[String]) -> Cmd {
        let Some((company, member)) = self.member_to_change(user_id) else {
            return Command::done();
        };
        let roles = match parse_roles(roles) {
            Ok(r) => r,
            Err(message) => {
                self.people.error = Some(message);
                return Command::done();
            }
        };
        let Ok(body) = serde_json::to_vec(&SetRolesRequest { roles }) else {
            return Command::done();
        };
        let path = format!("/v1/companies/{company}/users/{}/roles", member.user_id);
        let request = self.request("PUT", &path, Some(body));
        let (op, cmd) = self.send(request);
        self.people.op = Some((op, PeopleOp::SetRoles { name: member.name }));
        cmd
    }

    fn set_member_access(&mut self, user_id: &str, on: bool) -> Cmd {
        let Some((_, member)) = self.member_to_change(user_id) else {
            return Command::done();
        };
        match self.access_request(member.user_id, &member.name, on) {
            Ok((request, done)) => {
                let (op, cmd) = self.send(request);
                self.people.op = Some((op, PeopleOp::Done { done }));
                cmd
            }
            Err(message) => {
                self.people.error = Some(message);
                Command::done()
            }
        }
    }

    /// Whether the user may turn `user`'s access off or on, as far as this device knows: the
    /// firm's admins, and a company's admins (the server also checks that they manage every
    /// company the person belongs to); nobody their own.
    pub(crate) fn may_set_access(
        &self,
        user: kvits_protocol::UserId,
        company: kvits_protocol::CompanyId,
    ) -> bool {
        let Some(actor) = &self.actor else {
            return false;
        };
        actor.user_id != user
            && (self.is_firm_admin() || actor.has_any(company, &[Role::CompanyAdmin]))
    }

    /// The request that turns `user`'s access on or off, and what to say once it is done.
    pub(crate) fn access_request(
        &self,
        user: kvits_protocol::UserId,
        name: &str,
        on: bool,
    ) -> Result<(crux_http::protocol::HttpRequest, String), String> {
        if self.actor.as_ref().is_some_and(|a| a.user_id == user) {
            return Err("You cannot turn off your own access; sign out instead.".into());
        }
        let body =
            serde_json::to_vec(&SetAccessRequest { disabled: !on }).map_err(|e| e.to_string())?;
        let request = self.request("PUT", &format!("/v1/users/{user}/access"), Some(body));
        let done = if on {
            format!("{name} can sign in again.")
        } else {
            format!(
                "{name}'s access is off: every session of theirs has ended, and they cannot \
                 sign in until it is turned on again."
            )
        };
        Ok((request, done))
    }

    /// What to tell whoever invited `name`, and the absolute link to hand over.
    pub(crate) fn invitation_texts(&self, name: &str, invitation: &Invitation) -> (String, String) {
        (
            format!(
                "{name} is invited. Send them this link; it works once, until {}. Someone new \
                 chooses a password there; someone who already has a Kvits account accepts \
                 with its password.",
                format::date_time(invitation.expires_at, self.config.utc_offset_minutes)
            ),
            format!("{}{}", self.config.server_url, invitation.link),
        )
    }

    /// The request that cancels `invitation`, and what to say once it is done.
    pub(crate) fn cancel_request(
        &self,
        invitation: &kvits_protocol::PendingInvitation,
    ) -> (crux_http::protocol::HttpRequest, String) {
        let request = self.request(
            "DELETE",
            &format!("/v1/invitations/{}", invitation.id),
            None,
        );
        let done = format!(
            "The invitation of {} is cancelled: its link no longer works.",
            invitation.name
        );
        (request, done)
    }

    fn cancel_invitation(&mut self, id: &str) -> Cmd {
        let Some(company) = self.people_ready() else {
            return Command::done();
        };
        let invitation = self
            .predicted
            .company(company)
            .and_then(|c| c.invitations.into_iter().find(|i| i.id.to_string() == id));
        let Some(invitation) = invitation else {
            self.people.error = Some(NO_SUCH_INVITATION.into());
            return Command::done();
        };
        let (request, done) = self.cancel_request(&invitation);
        let (op, cmd) = self.send(request);
        self.people.op = Some((op, PeopleOp::Done { done }));
        cmd
    }

    /// The server's answer to an invitation or a role change.
    pub(crate) fn people_answered(&mut self, result: HttpResult) -> Cmd {
        let Some((_, op)) = self.people.op.take() else {
            return Command::done();
        };
        match classify(result) {
            Reply::Ok(body) => match op {
                PeopleOp::Invite { name } => {
                    match serde_json::from_slice::<Invitation>(&body) {
                        Ok(invitation) => {
                            let (done, link) = self.invitation_texts(&name, &invitation);
                            self.people.done = Some(done);
                            self.people.link = Some(link);
                        }
                        Err(_) => {
                            self.fail("the server's invitation could not be read");
                            self.people.error =
                                Some("The server answered something this app cannot read.".into());
                        }
                    }
                    // The company's row lists the invitation now: fetch it.
                    self.kick()
                }
                PeopleOp::SetRoles { name } => {
                    self.people.done = Some(format!("{name}'s roles are changed."));
                    self.kick()
                }
                PeopleOp::Done { done } => {
                    self.people.done = Some(done);
                    self.kick()
                }
            },
            Reply::Unauthorized(reason) => self.session_expired(reason),
            Reply::Upgrade => {
                self.people.error =
                    Some("This version of Kvits is too old for the server. Update the app.".into());
                Command::done()
            }
            Reply::Transient(message, _) | Reply::Refused(message) => {
                self.people.error = Some(message);
                Command::done()
            }
        }
    }
}
