//! Signing in and out, the company switcher, and moving between screens.

use crux_core::Command;
use crux_http::protocol::HttpResult;
use facet::Facet;
use kvits_protocol::{
    AcceptInvitationRequest, ClientId, CompanyId, ErrorBody, ExpenseId, LoginRequest,
    LoginResponse, ThreadId, Timestamp,
};

use super::local::{DeviceRecord, SessionRecord, SyncRecord};
use super::{After, Cmd, Intent, LocalWrite, Model, Screen, parse_id};
use crate::event::Route;
use serde::{Deserialize, Serialize};

/// What the user does to their session.
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum SessionEvent {
    SignIn {
        email: String,
        password: String,
    },
    SignOut,
    /// The invited person accepts with the invitation's token: someone new with the password
    /// they choose, someone with an account with that account's password. They are signed in.
    AcceptInvitation {
        token: String,
        password: String,
    },
    SelectCompany {
        company_id: String,
    },
}

/// The sign-in form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignInState {
    pub email: String,
    pub error: Option<String>,
    /// The login request in flight.
    pub op: Option<u64>,
    /// The client id the request in flight uses.
    pub client_id: Option<ClientId>,
}

impl Model {
    pub(super) fn update_session(&mut self, event: SessionEvent) -> Cmd {
        match event {
            SessionEvent::SignIn { email, password } => self.sign_in(email, password),
            SessionEvent::SignOut => self.sign_out(),
            SessionEvent::AcceptInvitation { token, password } => {
                self.accept_invitation(token, password)
            }
            SessionEvent::SelectCompany { company_id } => self.select_company(&company_id),
        }
    }

    fn sign_in(&mut self, email: String, password: String) -> Cmd {
        let email = email.trim().to_string();
        self.sign_in.email = email.clone();
        if self.sign_in.op.is_some() {
            return Command::done();
        }
        if email.is_empty() || password.is_empty() {
            self.sign_in.error = Some("Enter your e-mail and password.".into());
            return Command::done();
        }
        let Some(device) = self.local.device.clone() else {
            self.sign_in.error = Some("This device is still getting ready; try again.".into());
            return Command::done();
        };
        let previous = self
            .local
            .session
            .as_ref()
            .map(|s| s.session.user.email.clone());
        let other_user = previous
            .as_ref()
            .is_some_and(|p| !p.eq_ignore_ascii_case(&email));
        if other_user {
            let unsent = self.local.unsent_count();
            if unsent > 0 {
                self.sign_in.error = Some(format!(
                    "This device holds {unsent} change(s) of {} that are not sent yet. Sign in as them to send those first.",
                    previous.unwrap_or_default()
                ));
                return Command::done();
            }
        }
        // Someone else gets a new client id.
        let client_id = self.session_client_id(
            &device,
            other_user || (device.user_id.is_some() && previous.is_none()),
        );
        let body = LoginRequest {
            email,
            password,
            client_id: Some(client_id),
            device_name: self.device_name(),
        };
        self.send_sign_in("/v1/auth/login", &body, client_id)
    }

    /// The client id a new session uses: a client id belongs to one user, so a `fresh` one when
    /// the device's own may have served someone else.
    fn session_client_id(&mut self, device: &DeviceRecord, fresh: bool) -> ClientId {
        if fresh {
            ClientId(self.ids.uuid(self.clock.unwrap_or_default()))
        } else {
            device.client_id
        }
    }

    /// The device's name as the user's other sessions show it, if the shell gave one.
    fn device_name(&self) -> Option<String> {
        Some(self.config.device_name.clone()).filter(|d| !d.is_empty())
    }

    /// Sends a request whose answer is a new session (a login, an accepted invitation): it
    /// carries no token of a previous session, and its answer is read by [`Self::signed_in`].
    pub(crate) fn send_sign_in(
        &mut self,
        path: &str,
        body: &impl serde::Serialize,
        client_id: ClientId,
    ) -> Cmd {
        let Ok(body) = serde_json::to_vec(body) else {
            return Command::done();
        };
        let request = self.request("POST", path, Some(body));
        let request = crux_http::protocol::HttpRequest {
            headers: request
                .headers
                .into_iter()
                .filter(|h| !h.name.eq_ignore_ascii_case("authorization"))
                .collect(),
            ..request
        };
        let (op, cmd) = self.send(request);
        self.sign_in.op = Some(op);
        self.sign_in.client_id = Some(client_id);
        self.sign_in.error = None;
        cmd
    }

    pub(crate) fn signed_in(&mut self, result: HttpResult) -> Cmd {
        self.sign_in.op = None;
        let client_id = self.sign_in.client_id.take();
        let response = match result {
            HttpResult::Ok(r) => r,
            HttpResult::Err(_) => {
                self.sign_in.error = Some(
                    "No connection to the server. Signing in needs the internet once; after that Kvits works offline."
                        .into(),
                );
                return Command::done();
            }
        };
        let server_message = serde_json::from_slice::<ErrorBody>(&response.body)
            .map(|b| format!("{}.", crate::format::sentence(&b.message)))
            .ok();
        let error = match response.status {
            200..=299 => None,
            // Accepting an invitation with an account's password says so in its own words.
            401 => Some(server_message.unwrap_or_else(|| "Wrong e-mail or password.".into())),
            429 => {
                Some(server_message.unwrap_or_else(|| {
                    "Too many attempts. Wait a few minutes and try again.".into()
                }))
            }
            426 => Some("This version of Kvits is too old for the server. Update the app.".into()),
            status => Some(
                server_message
                    .unwrap_or_else(|| format!("Sign-in failed (the server answered {status}).")),
            ),
        };
        if let Some(error) = error {
            self.sign_in.error = Some(error);
            return Command::done();
        }
        let (Ok(login), Some(client_id), Some(device)) = (
            serde_json::from_slice::<LoginResponse>(&response.body),
            client_id,
            self.local.device.clone(),
        ) else {
            self.fail("the server's sign-in answer could not be read");
            self.sign_in.error = Some("The server answered something this app cannot read.".into());
            return Command::done();
        };
        let user = login.session.user.id;
        let same_user = self
            .local
            .session
            .as_ref()
            .is_some_and(|s| s.session.user.id == user);
        let previous_company = self
            .local
            .session
            .as_ref()
            .filter(|_| same_user)
            .and_then(|s| s.company_id);
        let company_id = previous_company
            .filter(|c| login.session.memberships.iter().any(|m| m.company_id == *c))
            .or_else(|| login.session.memberships.first().map(|m| m.company_id));
        let mut writes = Vec::new();
        if !same_user || client_id != device.client_id {
            // Someone else's (or another install's) state must not show: start clean. Only
            // answered mutations can be left here (unsent ones block this above).
            writes.push(LocalWrite::MirrorClear);
            writes.push(LocalWrite::PhotoClear);
            writes.push(LocalWrite::Sync(SyncRecord::default()));
            for seq in self.local.outbox.keys() {
                writes.push(LocalWrite::OutboxDelete(*seq));
            }
            for id in self.local.notices.keys() {
                writes.push(LocalWrite::NoticeDelete(id.clone()));
            }
        }
        writes.push(LocalWrite::Device(DeviceRecord {
            client_id,
            user_id: Some(user),
            next_seq: if client_id == device.client_id {
                device.next_seq
            } else {
                1
            },
        }));
        writes.push(LocalWrite::Session(Some(SessionRecord {
            token: Some(login.token),
            session: login.session,
            company_id,
        })));
        self.sync.needs_pull = true;
        self.enqueue(Intent::Writes {
            writes,
            then: After::SignedIn,
        })
    }

    pub(crate) fn sign_out(&mut self) -> Cmd {
        let unsent = self.local.unsent_count();
        if unsent > 0 {
            self.alert = Some(format!(
                "{unsent} change(s) are not sent yet. Connect to the internet and wait until they are sent, then sign out."
            ));
            return Command::done();
        }
        if self.local.session.is_none() {
            return Command::done();
        }
        self.sync.opened.clear();
        let logout = if self
            .local
            .session
            .as_ref()
            .is_some_and(|s| s.token.is_some())
        {
            let request = self.request("POST", "/v1/auth/logout", None);
            self.send(request).1
        } else {
            Command::done()
        };
        let now = self.clock.unwrap_or_default();
        let mut writes = vec![
            LocalWrite::Session(None),
            // The next person to sign in here gets a new client id.
            LocalWrite::Device(DeviceRecord {
                client_id: ClientId(self.ids.uuid(now)),
                user_id: None,
                next_seq: 1,
            }),
            LocalWrite::MirrorClear,
            LocalWrite::PhotoClear,
            LocalWrite::Sync(SyncRecord::default()),
        ];
        writes.extend(
            self.local
                .outbox
                .keys()
                .map(|s| LocalWrite::OutboxDelete(*s)),
        );
        writes.extend(
            self.local
                .notices
                .keys()
                .map(|id| LocalWrite::NoticeDelete(id.clone())),
        );
        self.sync.step = super::Step::Idle;
        self.sync.blocked = None;
        self.sync.last_error = None;
        logout.and(self.enqueue(Intent::Writes {
            writes,
            then: After::SignedOut,
        }))
    }

    pub(crate) fn select_company(&mut self, company_id: &str) -> Cmd {
        let Some(mut record) = self.local.session.clone() else {
            return Command::done();
        };
        let Some(company) = parse_id::<CompanyId>(company_id).filter(|c| {
            record
                .session
                .memberships
                .iter()
                .any(|m| m.company_id == *c)
        }) else {
            self.alert = Some("You are not a member of that company.".into());
            return Command::done();
        };
        if record.company_id == Some(company) {
            return Command::done();
        }
        record.company_id = Some(company);
        self.receipts.form = None;
        // The filters name the old company's people, types and cards.
        self.receipts.filter = super::ReceiptFilter::default();
        self.reject = None;
        // The switch is applied when committed; the home screen follows the new roles (the
        // firm's staff, whose home is the clients overview, go to the company's documents).
        let then = if self.is_staff() {
            After::Show(Screen::Receipts)
        } else {
            After::Home
        };
        self.enqueue(Intent::Writes {
            writes: vec![LocalWrite::Session(Some(record))],
            then,
        })
    }

    pub(crate) fn navigate(&mut self, route: Route, now: Timestamp) -> Cmd {
        if self.local.session.is_none() || route == Route::SignIn {
            self.screen = Screen::SignIn;
            return Command::done();
        }
        self.list_limit = super::LIST_PAGE;
        self.reject = None;
        match route {
            Route::SignIn => {}
            Route::Home => {
                self.receipts.form = None;
                self.screen = self.home();
            }
            Route::Receipts => {
                self.receipts.form = None;
                self.screen = Screen::Receipts;
            }
            Route::Receipt { expense_id } => match self.visible_expense(&expense_id) {
                Some(id) => self.open_form(id),
                None => self.alert = Some("That receipt is not on this device.".into()),
            },
            Route::Approvals => self.screen = Screen::Approvals,
            Route::Approval { expense_id } => match self.visible_expense(&expense_id) {
                Some(id) => {
                    self.reject = Some(super::RejectDraft::default());
                    self.screen = Screen::Approval(id);
                }
                None => self.alert = Some("That receipt is not on this device.".into()),
            },
            Route::Inbox => self.screen = Screen::Inbox,
            Route::Thread { thread_id } => {
                let Some(id) = parse_id::<ThreadId>(&thread_id)
                    .filter(|id| kvits_domain::State::thread(&self.predicted, *id).is_some())
                else {
                    self.alert = Some("That conversation is not on this device.".into());
                    return Command::done();
                };
                self.screen = Screen::Thread(id);
                return self.mark_read(id, now);
            }
            Route::Catalog => {
                if self.manages_catalog() {
                    self.screen = Screen::Catalog;
                } else {
                    self.alert = Some(
                        "Only the company's admins and its accountants change its settings.".into(),
                    );
                }
            }
            Route::Firm => return self.open_firm(),
            Route::Export => return self.open_export(),
            Route::Cards => return self.open_cards(),
            Route::Clients => {
                if self.is_staff() {
                    self.screen = Screen::Clients;
                    self.clients.error = None;
                    return self.load_clients();
                }
                self.alert = Some("Only the accounting firm's staff have clients.".into());
            }
            Route::Compose => {
                if self.has_role(kvits_protocol::Role::Accountant) {
                    self.screen = Screen::Compose;
                } else {
                    self.alert = Some(
                        "Only the accounting firm writes to several companies at once.".into(),
                    );
                }
            }
        }
        Command::done()
    }

    pub(crate) fn back(&mut self) -> Cmd {
        self.reject = None;
        self.screen = match self.screen {
            Screen::Receipt(_) => {
                self.receipts.form = None;
                Screen::Receipts
            }
            Screen::Approval(_) => Screen::Approvals,
            Screen::Thread(_) | Screen::Compose => Screen::Inbox,
            Screen::Catalog | Screen::Firm | Screen::Clients | Screen::Cards => self.home(),
            Screen::Export => Screen::Receipts,
            Screen::SignIn | Screen::Loading => self.screen.clone(),
            _ => self.home(),
        };
        Command::done()
    }

    /// The invited person accepts with a new password, or with the password of the account
    /// their e-mail already has, and is signed in (the answer is a sign-in).
    fn accept_invitation(&mut self, token: String, password: String) -> Cmd {
        if self.sign_in.op.is_some() {
            return Command::done();
        }
        let token = token.trim().to_string();
        if token.is_empty() {
            self.sign_in.error = Some("This invitation link is incomplete.".into());
            return Command::done();
        }
        // A new password is judged by the server (length, how easy it is to guess), an
        // existing account's by its hash: only an empty one is refused here.
        if password.is_empty() {
            self.sign_in.error = Some("Enter a password.".into());
            return Command::done();
        }
        let Some(device) = self.local.device.clone() else {
            self.sign_in.error = Some("This device is still getting ready; try again.".into());
            return Command::done();
        };
        let unsent = self.local.unsent_count();
        if unsent > 0 {
            self.sign_in.error = Some(format!(
                "This device holds {unsent} change(s) of another person that are not sent yet. Accept the invitation on another device, or let them sign in and send those first."
            ));
            return Command::done();
        }
        // A device someone used before gets a new client id.
        let client_id = self.session_client_id(
            &device,
            device.user_id.is_some() || self.local.session.is_some(),
        );
        let body = AcceptInvitationRequest {
            token,
            password,
            client_id: Some(client_id),
            device_name: self.device_name(),
        };
        self.send_sign_in("/v1/auth/accept-invitation", &body, client_id)
    }

    fn visible_expense(&self, id: &str) -> Option<ExpenseId> {
        parse_id::<ExpenseId>(id)
            .filter(|id| kvits_domain::State::expense(&self.predicted, *id).is_some())
    }
}
