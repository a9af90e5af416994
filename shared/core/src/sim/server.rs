//! The fake sync server: a demo tenant, and push, pull, login, `/v1/me` and uploads decided
//! with the same domain rules as the real server.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use crux_http::protocol::{HttpRequest, HttpResponse};
use kvits_domain::{Actor, Applied, DomainError, MemoryState, State as _, Write};
use kvits_protocol::{
    Change, ChangeOp, ClientId, CompanyId, Entity, ExpenseType, ExpenseTypeId, FirmId, FirmSummary,
    Halt, LoginRequest, LoginResponse, Membership, MutationResult, PaymentKind, PaymentMethod,
    PaymentMethodId, PullResponse, PushRequest, PushResponse, Role, Session, UserId, UserSummary,
};

use super::{DATE, SERVER, t0, uuid};

/// The demo firm of `kvits_demo`, as the server seeds it (its welcome message aside), plus two
/// rows the tests need in Birch: an inactive expense type and a shared card without a holder.
///
/// Birch: Emma employee, Mark approver and employee, Alice approver, Clara client (only: the
/// demo also makes her admin);
/// Cedar: Otto employee, Vera approver, admin and client; Anna is the firm's accountant.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub firm: FirmId,
    pub birch: CompanyId,
    pub cedar: CompanyId,
    /// Everyone, by the e-mail's local part ("emma"): id and name.
    pub users: BTreeMap<&'static str, (UserId, &'static str)>,
    /// The firm's accountants (members of no company, they act in every one).
    pub accountants: BTreeSet<UserId>,
    pub fuel: ExpenseTypeId,
    pub meals: ExpenseTypeId,
    /// "Retired type" (inactive): the tests' own.
    pub old_type: ExpenseTypeId,
    /// Emma's Visa Business.
    pub emma_card: PaymentMethodId,
    /// Mark's Mastercard Fleet.
    pub mark_card: PaymentMethodId,
    /// "Fuel card", held by nobody: the tests' own.
    pub shared_card: PaymentMethodId,
    pub own_money: PaymentMethodId,
}

impl Tenant {
    pub fn user(&self, name: &str) -> UserId {
        self.users[name].0
    }
}

/// The fake server.
#[derive(Debug, Clone)]
pub struct FakeServer {
    pub tenant: Tenant,
    pub state: MemoryState,
    passwords: BTreeMap<String, (&'static str, String)>,
    pub(super) tokens: BTreeMap<String, UserId>,
    clients: BTreeMap<ClientId, UserId>,
    last_seq: BTreeMap<ClientId, u64>,
    results: BTreeMap<(ClientId, u64), MutationResult>,
    /// How many times each `(client, seq)` was applied (must never exceed 1).
    pub applied: BTreeMap<(ClientId, u64), u32>,
    log: Vec<(u64, Change)>,
    counter: u64,
    pub blobs: BTreeSet<(CompanyId, String)>,
    pub now: DateTime<Utc>,
    /// Protocol version the server speaks (426 when the client's differs).
    pub protocol: u32,
    next_token: u32,
    /// Phones started against this server (each gets its own entropy).
    pub phones: u8,
    /// The next pull answers `reset` with everything from the start.
    pub reset_next_pull: bool,
}

fn actor_of(tenant: &Tenant, state: &MemoryState, user: UserId) -> Actor {
    let mut roles: BTreeMap<CompanyId, Vec<Role>> = BTreeMap::new();
    let mut name = tenant
        .users
        .values()
        .find(|(id, _)| *id == user)
        .map(|(_, n)| (*n).to_string())
        .unwrap_or_default();
    for c in [tenant.birch, tenant.cedar] {
        if let Some(company) = state.company(c) {
            for m in &company.members {
                if m.user_id == user {
                    roles.insert(c, m.roles.clone());
                    name = m.name.clone();
                }
            }
        }
        // As the server: an accountant of the firm acts in each of its companies.
        if tenant.accountants.contains(&user) {
            let r = roles.entry(c).or_default();
            r.push(Role::Accountant);
            r.sort();
            r.dedup();
        }
    }
    Actor {
        user_id: user,
        name,
        firm_id: tenant.firm,
        roles,
    }
}

impl FakeServer {
    pub fn new() -> FakeServer {
        use kvits_demo::{BIRCH, BIRCH_MASTERCARD, BIRCH_VISA, CEDAR, FIRM, PEOPLE};
        let tenant = Tenant {
            firm: FIRM.id,
            birch: BIRCH.id,
            cedar: CEDAR.id,
            users: PEOPLE.iter().map(|p| (p.key(), (p.id, p.name))).collect(),
            accountants: PEOPLE
                .iter()
                .filter(|p| p.is_staff())
                .map(|p| p.id)
                .collect(),
            fuel: BIRCH.expense_type_id(kvits_demo::FUEL),
            meals: BIRCH.expense_type_id(kvits_demo::MEALS),
            old_type: ExpenseTypeId(uuid(100)),
            emma_card: BIRCH_VISA.id,
            mark_card: BIRCH_MASTERCARD.id,
            shared_card: PaymentMethodId(uuid(101)),
            own_money: BIRCH.own_money,
        };
        let mut server = FakeServer {
            passwords: users_passwords(),
            tenant: tenant.clone(),
            state: MemoryState::new(),
            tokens: BTreeMap::new(),
            clients: BTreeMap::new(),
            last_seq: BTreeMap::new(),
            results: BTreeMap::new(),
            applied: BTreeMap::new(),
            log: Vec::new(),
            counter: 0,
            blobs: BTreeSet::new(),
            now: t0(),
            protocol: kvits_protocol::PROTOCOL_VERSION,
            next_token: 0,
            phones: 0,
            reset_next_pull: false,
        };
        let mut seed = kvits_demo::entities();
        // Clara only as a client (the demo also makes her Birch's admin), so the screens of a
        // user who only reads the accountant's messages stay covered.
        let clara = tenant.user("clara");
        for e in &mut seed {
            if let Entity::Company(company) = e {
                for m in company.members.iter_mut().filter(|m| m.user_id == clara) {
                    m.roles = vec![Role::Client];
                }
            }
        }
        seed.push(Entity::ExpenseType(ExpenseType {
            id: tenant.old_type,
            company_id: tenant.birch,
            code: "OLD".into(),
            name: "Retired type".into(),
            active: false,
        }));
        seed.push(Entity::PaymentMethod(PaymentMethod {
            id: tenant.shared_card,
            company_id: tenant.birch,
            payment_kind: PaymentKind::CompanyCard,
            label: "Fuel card".into(),
            last_four: Some("0042".into()),
            holder_id: None,
            active: true,
            statement_ref: None,
        }));
        for e in seed {
            server.write(Write::Put(e));
        }
        server
    }

    fn write(&mut self, w: Write) {
        self.counter += 1;
        let change = match &w {
            Write::Put(e) => ChangeOp::Upsert {
                entity: Box::new(e.clone()),
            },
            Write::Delete { kind, id, .. } => ChangeOp::Delete {
                kind: *kind,
                id: *id,
            },
        };
        self.state.apply_writes(&[w]);
        self.log.push((
            self.counter,
            Change {
                version: self.counter,
                op: change,
            },
        ));
    }

    /// Stores a row the server made by itself (a card payment from an imported statement).
    pub fn put(&mut self, e: Entity) {
        self.write(Write::Put(e));
    }

    pub fn actor(&self, user: UserId) -> Actor {
        actor_of(&self.tenant, &self.state, user)
    }

    /// Applies a mutation for `user` directly (another device, online).
    pub fn apply_as(
        &mut self,
        user: UserId,
        m: &kvits_protocol::Mutation,
    ) -> Result<Applied, DomainError> {
        let actor = self.actor(user);
        let mut st = self.state.clone();
        for (c, sha) in &self.blobs {
            st.add_blob(*c, sha.clone());
        }
        let r = kvits_domain::apply(&st, &actor, self.now, m);
        if let Ok(Applied::Changes(writes)) = &r {
            for w in writes.clone() {
                self.write(w);
            }
        }
        r
    }

    fn session(&self, user: UserId) -> Session {
        let actor = self.actor(user);
        let person = kvits_demo::PEOPLE.iter().find(|p| p.id == user).unwrap();
        Session {
            user: UserSummary {
                id: user,
                name: person.name.into(),
                email: person.email.into(),
            },
            firm: FirmSummary {
                id: self.tenant.firm,
                name: kvits_demo::FIRM.name.into(),
            },
            memberships: actor
                .roles
                .iter()
                .map(|(c, roles)| {
                    let company = self.state.company(*c);
                    Membership {
                        company_id: *c,
                        company_name: company.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
                        roles: roles.clone(),
                        active: company.is_none_or(|c| c.active),
                    }
                })
                .collect(),
            staff: person.staff,
        }
    }

    fn user_of(&self, req: &HttpRequest) -> Option<UserId> {
        let auth = header(req, "authorization")?;
        let token = auth.strip_prefix("Bearer ")?;
        self.tokens.get(token).copied()
    }

    pub fn revoke_all(&mut self) {
        self.tokens.clear();
    }

    /// Answers one request like the server would.
    pub fn handle(&mut self, req: &HttpRequest) -> HttpResponse {
        // Time passes on the server between requests.
        self.now += Duration::seconds(1);
        DATE.with(|d| d.set(self.now));
        if header(req, kvits_protocol::PROTOCOL_HEADER).and_then(|v| v.parse::<u32>().ok())
            != Some(self.protocol)
        {
            return error(426, "upgrade_required", "update the app");
        }
        let path = req.url.strip_prefix(SERVER).unwrap_or(&req.url).to_string();
        let (path, query) = path.split_once('?').unwrap_or((&path, ""));
        let query: BTreeMap<&str, &str> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        match (req.method.as_str(), path) {
            ("POST", "/v1/auth/login") => {
                let Ok(login) = serde_json::from_slice::<LoginRequest>(&req.body) else {
                    return error(400, "invalid", "bad body");
                };
                let Some((_, password)) = self.passwords.get(&login.email) else {
                    return error(401, "unauthorized", "wrong e-mail or password");
                };
                if *password != login.password {
                    return error(401, "unauthorized", "wrong e-mail or password");
                }
                let user = self.tenant.users[self.passwords[&login.email].0].0;
                if let Some(c) = login.client_id {
                    match self.clients.get(&c) {
                        Some(u) if *u != user => {
                            return error(
                                403,
                                "forbidden",
                                "this app install belongs to another user",
                            );
                        }
                        _ => {
                            self.clients.insert(c, user);
                        }
                    }
                }
                self.next_token += 1;
                let token = format!("token-{}", self.next_token);
                self.tokens.insert(token.clone(), user);
                json(
                    200,
                    &LoginResponse {
                        token,
                        session: self.session(user),
                    },
                )
            }
            (_, _) if self.user_of(req).is_none() => error(
                401,
                "unauthorized",
                "this session has expired; sign in again",
            ),
            ("POST", "/v1/auth/logout") => {
                if let Some(t) =
                    header(req, "authorization").and_then(|a| a.strip_prefix("Bearer "))
                {
                    self.tokens.remove(t);
                }
                HttpResponse::status(204).build()
            }
            // The simulated firm is small: every install holds every client's documents, and
            // opening one changes nothing (the real server's scope has its own tests).
            ("POST", "/v1/sync/open") => json(
                200,
                &kvits_protocol::OpenCompanyResponse {
                    newly_opened: false,
                },
            ),
            ("GET", "/v1/me") => {
                let user = self.user_of(req).unwrap();
                json(200, &self.session(user))
            }
            ("POST", "/v1/sync/push") => {
                let user = self.user_of(req).unwrap();
                let Ok(push) = serde_json::from_slice::<PushRequest>(&req.body) else {
                    return error(400, "invalid", "bad body");
                };
                // A client id is bound to its user at first use (a sign-in, or a push).
                match self.clients.get(&push.client_id) {
                    Some(owner) if *owner != user => {
                        return error(403, "forbidden", "not your client");
                    }
                    Some(_) => {}
                    None => {
                        self.clients.insert(push.client_id, user);
                    }
                }
                let actor = self.actor(user);
                let mut last = self.last_seq.get(&push.client_id).copied().unwrap_or(0);
                let mut results = Vec::new();
                let mut halted = None;
                for m in push.mutations {
                    if m.seq <= last {
                        if let Some(r) = self.results.get(&(push.client_id, m.seq)) {
                            results.push(r.clone());
                        }
                        continue;
                    }
                    if m.seq != last + 1 {
                        return error(
                            409,
                            "client_state_lost",
                            "this server no longer has what this client sent before",
                        );
                    }
                    let mut st = self.state.clone();
                    for (c, sha) in &self.blobs {
                        st.add_blob(*c, sha.clone());
                    }
                    let r = kvits_domain::apply(&st, &actor, self.now, &m.mutation);
                    if let Err(DomainError::NotYet {
                        code,
                        message,
                        missing_blobs,
                    }) = &r
                    {
                        halted = Some(Halt {
                            seq: m.seq,
                            code: *code,
                            message: message.clone(),
                            missing_blobs: missing_blobs.clone(),
                            retry_after_ms: None,
                        });
                        break;
                    }
                    if let Ok(Applied::Changes(writes)) = &r {
                        for w in writes.clone() {
                            self.write(w);
                        }
                    }
                    let outcome = kvits_domain::outcome(&r).unwrap();
                    let result = MutationResult {
                        seq: m.seq,
                        outcome,
                    };
                    *self.applied.entry((push.client_id, m.seq)).or_default() += 1;
                    self.results.insert((push.client_id, m.seq), result.clone());
                    results.push(result);
                    last = m.seq;
                    self.last_seq.insert(push.client_id, last);
                }
                json(
                    200,
                    &PushResponse {
                        last_seq: last,
                        results,
                        halted,
                    },
                )
            }
            ("GET", "/v1/sync/pull") => {
                let user = self.user_of(req).unwrap();
                let actor = self.actor(user);
                let client: ClientId = query
                    .get("client_id")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(ClientId(uuid::Uuid::nil()));
                let mut cursor: u64 = query
                    .get("cursor")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                // Asked to, or the cursor is from the server's other life (restored from an
                // older backup): start over.
                let reset = std::mem::take(&mut self.reset_next_pull) || cursor > self.counter;
                if reset {
                    cursor = 0;
                }
                let after: u64 = query
                    .get("results_after")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                let changes: Vec<Change> = self
                    .log
                    .iter()
                    .filter(|(v, _)| *v > cursor)
                    .filter(|(_, c)| match &c.op {
                        ChangeOp::Upsert { entity } => kvits_domain::can_see(&actor, entity),
                        ChangeOp::Delete { .. } => true,
                    })
                    .map(|(_, c)| c.clone())
                    .collect();
                let results = self
                    .results
                    .range((client, after + 1)..=(client, u64::MAX))
                    .map(|(_, r)| r.clone())
                    .collect();
                json(
                    200,
                    &PullResponse {
                        cursor: self.counter,
                        has_more: false,
                        reset,
                        changes,
                        results,
                        last_seq: self.last_seq.get(&client).copied().unwrap_or(0),
                        server_time: self.now,
                    },
                )
            }
            ("GET", "/v1/clients") => {
                let user = self.user_of(req).unwrap();
                json(200, &self.clients_overview(user))
            }
            _ => error(404, "not_found", "no such route"),
        }
    }

    /// `GET /v1/clients` as the real server answers it for the documents' statuses (messages
    /// and card payments are not counted here).
    fn clients_overview(&self, user: UserId) -> kvits_protocol::ClientsOverview {
        let actor = self.actor(user);
        let mut clients: Vec<kvits_protocol::ClientSummary> = self
            .state
            .companies()
            .filter(|c| {
                actor
                    .roles_in(c.id)
                    .contains(&kvits_protocol::Role::Accountant)
            })
            .map(|c| {
                let count = |status: kvits_protocol::ExpenseStatus| {
                    self.state
                        .expenses()
                        .filter(|e| e.company_id == c.id && e.status == status)
                        .count() as u32
                };
                kvits_protocol::ClientSummary {
                    company_id: c.id,
                    name: c.name.clone(),
                    active: c.active,
                    country: c.country.clone(),
                    base_currency: c.base_currency.clone(),
                    assigned_to_me: true,
                    to_review: count(kvits_protocol::ExpenseStatus::Approved),
                    waiting_for_approval: count(kvits_protocol::ExpenseStatus::Submitted),
                    returned: count(kvits_protocol::ExpenseStatus::Returned),
                    ready_for_export: count(kvits_protocol::ExpenseStatus::Reviewed),
                    unread_replies: 0,
                    missing_receipts: 0,
                }
            })
            .collect();
        clients.sort_by(|a, b| a.name.cmp(&b.name));
        kvits_protocol::ClientsOverview { clients }
    }

    /// Whether a long-poll from this cursor would return at once.
    pub fn has_changes_after(&self, cursor: u64) -> bool {
        self.counter > cursor
    }

    pub fn last_seq(&self, client: ClientId) -> u64 {
        self.last_seq.get(&client).copied().unwrap_or(0)
    }

    /// Puts back an earlier copy of the server (restored from an older backup), keeping the
    /// sessions signed in since and the clock.
    pub fn restore(&mut self, backup: &FakeServer) {
        let tokens = std::mem::take(&mut self.tokens);
        let clients = std::mem::take(&mut self.clients);
        let (now, phones) = (self.now, self.phones);
        *self = backup.clone();
        self.tokens = tokens;
        // Client ids bound since the backup stay bound (their sign-ins are the sessions).
        for (client, user) in clients {
            self.clients.entry(client).or_insert(user);
        }
        self.now = now;
        self.phones = phones;
    }
}

impl Default for FakeServer {
    fn default() -> Self {
        Self::new()
    }
}

/// Every demo person's e-mail, with their key and password.
fn users_passwords() -> BTreeMap<String, (&'static str, String)> {
    kvits_demo::PEOPLE
        .iter()
        .map(|p| {
            (
                p.email.to_string(),
                (p.key(), kvits_demo::PASSWORD.to_string()),
            )
        })
        .collect()
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn json<T: serde::Serialize>(status: u16, body: &T) -> HttpResponse {
    HttpResponse::status(status)
        .header("content-type", "application/json")
        .header("date", DATE.with(|d| d.get()).to_rfc2822())
        .json(body)
        .build()
}

pub(super) fn error(status: u16, code: &str, message: &str) -> HttpResponse {
    json(
        status,
        &serde_json::json!({ "code": code, "message": message }),
    )
}
