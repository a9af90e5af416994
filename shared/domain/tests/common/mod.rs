//! A realistic world for the domain tests: the demo firm of `kvits_demo` — "Demo Accounting"
//! with Birch Bakery and Cedar Logistics, its people (ids, names, e-mails), expense types,
//! cards and own money — plus what the tests need on top: an admin and a client who hold one
//! role alone, a company of another firm, and Birch's approval rules below (instead of the
//! demo's).
//!
//! | user  | Birch Bakery       | Cedar Logistics | Fir Foods (other firm) |
//! |-------|--------------------|-----------------|------------------------|
//! | anna  | accountant         | accountant      |                        |
//! | emma  | employee           |                 |                        |
//! | mark  | approver, employee |                 |                        |
//! | alice | approver           |                 |                        |
//! | adam  | company_admin      |                 |                        |
//! | clara | client             |                 |                        |
//! | otto  |                    | employee        |                        |
//! | cora  |                    | client          |                        |
//! | fred  |                    |                 | company_admin          |
//!
//! The demo's roles, except clara's: in the demo she is also Birch's admin; here adam is, so
//! that a client and an admin can be told apart. Vera, the demo's Cedar director, and her
//! Amex are left out: here cora is Cedar's one client and nobody approves there.
//!
//! Birch's approval rules, in position order:
//! 1. "Invoices" (10): document type invoice → alice.
//! 2. "Large expenses" (20): 500.00 EUR and more → mark or alice, then adam.
//! 3. "Fuel and travel" (30): fuel or travel below 500.00 → mark or alice.
//! 4. "Old rule" (40): inactive, every expense → adam.
//!
//! Meals, office supplies and other below 500.00 match no rule: approved on submit. Cedar has
//! no rules at all.

#![allow(dead_code, clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use kvits_domain::{Actor, Applied, DomainError, MemoryState, State, Write};
use kvits_protocol::{
    ApprovalRule, ApprovalRuleId, ApprovalStep, Attachment, Company, CompanyId, ConflictCode,
    DecisionKind, DocumentType, Entity, Expense, ExpenseFields, ExpenseId, ExpenseStatus,
    ExpenseType, ExpenseTypeId, FirmId, Member, MessageId, Money, Mutation, PaymentKind,
    PaymentMethod, PaymentMethodId, ReceiptPage, RejectCode, Role, ThreadId, Timestamp, UserId,
};
use uuid::Uuid;

/// A fixed id in a readable range: `id(0x0100, 1)`.
pub const fn id(range: u128, n: u128) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0000 | (range << 32) | n)
}

/// Monday 3 March 2025, 09:00 UTC: the world's "now".
pub fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2025, 3, 3, 9, 0, 0).unwrap()
}

/// `minutes` after [`t0`].
pub fn at(minutes: i64) -> Timestamp {
    t0() + Duration::minutes(minutes)
}

pub fn eur(cents: i64) -> Money {
    Money {
        amount_minor: cents,
        currency: "EUR".into(),
    }
}

/// A receipt page whose SHA-256 is made from `n` (not uploaded until [`World::upload`]).
pub fn page(n: u32) -> ReceiptPage {
    ReceiptPage {
        sha256: format!("{n:064x}"),
        size: 180_000 + u64::from(n),
        content_type: "image/jpeg".into(),
        width: 1512,
        height: 2016,
    }
}

pub fn attachment(n: u32) -> Attachment {
    Attachment {
        sha256: format!("{:064x}", 0xa000_0000u32 + n),
        size: 52_000,
        content_type: "application/pdf".into(),
        file_name: format!("statement-{n}.pdf"),
    }
}

pub fn fields(
    expense_type: ExpenseTypeId,
    card: PaymentMethodId,
    amount: Option<i64>,
) -> ExpenseFields {
    ExpenseFields {
        expense_type_id: Some(expense_type),
        payment_method_id: Some(card),
        amount: amount.map(eur),
        base_amount: None,
        date: Some(t0().date_naive()),
        merchant: Some("Circle K".into()),
        note: None,
        vat: Vec::new(),
        account_code: None,
    }
}

pub fn rule(
    rid: ApprovalRuleId,
    company: CompanyId,
    name: &str,
    position: i32,
    steps: &[&[UserId]],
) -> ApprovalRule {
    ApprovalRule {
        id: rid,
        company_id: company,
        name: name.into(),
        position,
        active: true,
        document_type: None,
        expense_type_ids: vec![],
        min_amount_minor: None,
        max_amount_minor: None,
        currency: "EUR".into(),
        steps: steps
            .iter()
            .map(|s| ApprovalStep {
                approver_ids: s.to_vec(),
            })
            .collect(),
    }
}

/// Expense type ids of one company.
#[derive(Clone, Debug)]
pub struct Types {
    pub fuel: ExpenseTypeId,
    pub meals: ExpenseTypeId,
    pub office: ExpenseTypeId,
    pub travel: ExpenseTypeId,
    pub other: ExpenseTypeId,
}

impl Types {
    fn of(company: &kvits_demo::DemoCompany) -> Types {
        Types {
            fuel: company.expense_type_id(kvits_demo::FUEL),
            meals: company.expense_type_id(kvits_demo::MEALS),
            office: company.expense_type_id(kvits_demo::OFFICE),
            travel: company.expense_type_id(kvits_demo::TRAVEL),
            other: company.expense_type_id(kvits_demo::OTHER),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Rules {
    pub invoices: ApprovalRuleId,
    pub large: ApprovalRuleId,
    pub fuel_travel: ApprovalRuleId,
    pub old: ApprovalRuleId,
}

#[derive(Debug)]
pub struct World {
    pub state: MemoryState,
    pub firm: FirmId,
    pub other_firm: FirmId,
    pub birch: CompanyId,
    pub cedar: CompanyId,
    pub fir: CompanyId,
    pub anna: Actor,
    pub emma: Actor,
    pub mark: Actor,
    pub alice: Actor,
    pub adam: Actor,
    pub clara: Actor,
    pub otto: Actor,
    pub cora: Actor,
    pub fred: Actor,
    /// Birch's expense types.
    pub birch_types: Types,
    /// Cedar's expense types (as in Birch, other ids).
    pub cedar_types: Types,
    /// Birch: Visa Business held by emma.
    pub birch_visa: PaymentMethodId,
    /// Birch: Mastercard Fleet held by mark.
    pub birch_master: PaymentMethodId,
    /// Birch: own money / cash.
    pub birch_own: PaymentMethodId,
    /// Cedar: Visa Business held by otto.
    pub cedar_card: PaymentMethodId,
    /// Cedar: own money / cash.
    pub cedar_own: PaymentMethodId,
    /// Fir Foods (other firm): a card.
    pub fir_card: PaymentMethodId,
    pub fir_type: ExpenseTypeId,
    pub birch_rules: Rules,
    next: u128,
}

/// `a` as a member of `company`, with their roles there.
fn member(a: &Actor, email: &str, company: CompanyId) -> Member {
    Member {
        user_id: a.user_id,
        name: a.name.clone(),
        email: email.into(),
        roles: a.roles.get(&company).cloned().unwrap_or_default(),
        disabled: false,
    }
}

/// A person of the demo, with the demo's roles.
fn demo_actor(p: &kvits_demo::Person) -> Actor {
    Actor {
        user_id: p.id,
        name: p.name.into(),
        firm_id: kvits_demo::FIRM.id,
        roles: p.roles(),
    }
}

/// A person the tests add: `id(0x0003, n)`.
fn actor(n: u128, name: &str, firm: FirmId, roles: &[(CompanyId, &[Role])]) -> Actor {
    Actor {
        user_id: UserId(id(0x0003, n)),
        name: name.into(),
        firm_id: firm,
        roles: roles.iter().map(|(c, r)| (*c, r.to_vec())).collect(),
    }
}

fn expense_type(n: u128, company: CompanyId, code: &str, name: &str) -> ExpenseType {
    ExpenseType {
        id: ExpenseTypeId(id(0x0004, n)),
        company_id: company,
        code: code.into(),
        name: name.into(),
        active: true,
    }
}

fn card(
    n: u128,
    company: CompanyId,
    label: &str,
    last_four: &str,
    holder: Option<UserId>,
) -> PaymentMethod {
    PaymentMethod {
        id: PaymentMethodId(id(0x0005, n)),
        company_id: company,
        payment_kind: PaymentKind::CompanyCard,
        label: label.into(),
        last_four: Some(last_four.into()),
        holder_id: holder,
        active: true,
        statement_ref: None,
    }
}

impl World {
    pub fn new() -> World {
        use kvits_demo::{ALICE, ANNA, BIRCH, CEDAR, CLARA, EMMA, FIRM, MARK, OTTO, VERA};
        let firm = FIRM.id;
        let other_firm = FirmId(id(0x0001, 2));
        let birch = BIRCH.id;
        let cedar = CEDAR.id;
        let fir = CompanyId(id(0x0002, 3));

        let anna = demo_actor(&ANNA);
        let emma = demo_actor(&EMMA);
        let mark = demo_actor(&MARK);
        let alice = demo_actor(&ALICE);
        let adam = actor(5, "Adam Admin", firm, &[(birch, &[Role::CompanyAdmin])]);
        let mut clara = demo_actor(&CLARA);
        clara.roles.insert(birch, vec![Role::Client]);
        let otto = demo_actor(&OTTO);
        let cora = actor(8, "Cora Owner", firm, &[(cedar, &[Role::Client])]);
        let fred = actor(
            9,
            "Fred Foreign",
            other_firm,
            &[(fir, &[Role::CompanyAdmin])],
        );

        let mut state = MemoryState::new();
        state.put(Entity::Company(Company {
            members: vec![
                member(&emma, EMMA.email, birch),
                member(&mark, MARK.email, birch),
                member(&alice, ALICE.email, birch),
                member(&adam, "adam@birch.example", birch),
                member(&clara, CLARA.email, birch),
            ],
            ..Company::new(birch, firm, BIRCH.name, "EUR")
        }));
        state.put(Entity::Company(Company {
            members: vec![
                member(&otto, OTTO.email, cedar),
                member(&cora, "cora@cedar.example", cedar),
            ],
            ..Company::new(cedar, firm, CEDAR.name, "EUR")
        }));
        state.put(Entity::Company(Company {
            members: vec![member(&fred, "fred@fir.example", fir)],
            ..Company::new(fir, other_firm, "Fir Foods", "EUR")
        }));

        for company in [BIRCH, CEDAR] {
            for t in company.expense_types() {
                state.put(Entity::ExpenseType(t));
            }
            // Vera is not in this world; nor is the card she holds.
            for m in company.payment_methods() {
                if m.holder_id != Some(VERA.id) {
                    state.put(Entity::PaymentMethod(m));
                }
            }
        }
        let birch_types = Types::of(&BIRCH);
        let cedar_types = Types::of(&CEDAR);
        let fir_type = expense_type(21, fir, "6110", "Fuel");
        let fir_type_id = fir_type.id;
        state.put(Entity::ExpenseType(fir_type));
        let fir_card = card(21, fir, "Fir card", "9999", None);
        let fir_card_id = fir_card.id;
        state.put(Entity::PaymentMethod(fir_card));

        let birch_rules = Rules {
            invoices: ApprovalRuleId(id(0x0006, 1)),
            large: ApprovalRuleId(id(0x0006, 2)),
            fuel_travel: ApprovalRuleId(id(0x0006, 3)),
            old: ApprovalRuleId(id(0x0006, 4)),
        };
        let mut invoices = rule(
            birch_rules.invoices,
            birch,
            "Invoices",
            10,
            &[&[alice.user_id]],
        );
        invoices.document_type = Some(DocumentType::Invoice);
        let mut large = rule(
            birch_rules.large,
            birch,
            "Large expenses",
            20,
            &[&[mark.user_id, alice.user_id], &[adam.user_id]],
        );
        large.min_amount_minor = Some(50_000);
        let mut fuel_travel = rule(
            birch_rules.fuel_travel,
            birch,
            "Fuel and travel",
            30,
            &[&[mark.user_id, alice.user_id]],
        );
        fuel_travel.expense_type_ids = vec![birch_types.fuel, birch_types.travel];
        fuel_travel.max_amount_minor = Some(50_000);
        let mut old = rule(birch_rules.old, birch, "Old rule", 40, &[&[adam.user_id]]);
        old.active = false;
        for r in [invoices, large, fuel_travel, old] {
            state.put(Entity::ApprovalRule(r));
        }

        World {
            state,
            firm,
            other_firm,
            birch,
            cedar,
            fir,
            anna,
            emma,
            mark,
            alice,
            adam,
            clara,
            otto,
            cora,
            fred,
            birch_types,
            cedar_types,
            birch_visa: kvits_demo::BIRCH_VISA.id,
            birch_master: kvits_demo::BIRCH_MASTERCARD.id,
            birch_own: BIRCH.own_money,
            cedar_card: kvits_demo::CEDAR_VISA.id,
            cedar_own: CEDAR.own_money,
            fir_card: fir_card_id,
            fir_type: fir_type_id,
            birch_rules,
            next: 0,
        }
    }

    /// Every actor of the world, by name.
    pub fn actors(&self) -> Vec<(&'static str, &Actor)> {
        vec![
            ("anna", &self.anna),
            ("emma", &self.emma),
            ("mark", &self.mark),
            ("alice", &self.alice),
            ("adam", &self.adam),
            ("clara", &self.clara),
            ("otto", &self.otto),
            ("cora", &self.cora),
            ("fred", &self.fred),
        ]
    }

    /// A fresh id (UUIDv7-shaped, increasing).
    pub fn fresh(&mut self) -> Uuid {
        self.next += 1;
        id(0x0100, self.next)
    }

    /// Applies `m` by `actor` at `now` and writes the changes.
    pub fn run(
        &mut self,
        actor: &Actor,
        now: Timestamp,
        m: &Mutation,
    ) -> Result<Applied, DomainError> {
        self.state.apply_mutation(actor, now, m)
    }

    /// Like [`World::run`], expecting changes; answers the writes.
    #[track_caller]
    pub fn ok(&mut self, actor: &Actor, now: Timestamp, m: &Mutation) -> Vec<Write> {
        match self.run(actor, now, m) {
            Ok(Applied::Changes(w)) => w,
            other => panic!(
                "{} by {}: expected changes, got {other:?}",
                m.name(),
                actor.name
            ),
        }
    }

    pub fn upload(&mut self, company: CompanyId, p: &ReceiptPage) {
        self.state.add_blob(company, p.sha256.clone());
    }

    pub fn expense(&self, e: ExpenseId) -> Expense {
        self.state.expense(e).expect("expense exists")
    }

    /// A draft by `actor` in `company` with `fields` and one uploaded page.
    #[track_caller]
    pub fn draft(
        &mut self,
        actor: &Actor,
        company: CompanyId,
        document_type: DocumentType,
        f: ExpenseFields,
    ) -> ExpenseId {
        let e = ExpenseId(self.fresh());
        let n = self.next as u32;
        self.ok(
            actor,
            at(0),
            &Mutation::CreateExpense {
                expense_id: e,
                company_id: company,
                document_type,
                fields: f,
            },
        );
        let p = page(n);
        self.upload(company, &p);
        self.ok(
            actor,
            at(1),
            &Mutation::AttachReceipt {
                expense_id: e,
                pages: vec![p],
            },
        );
        e
    }

    /// A Birch receipt by `actor`, submitted.
    #[track_caller]
    pub fn submitted(&mut self, actor: &Actor, f: ExpenseFields) -> ExpenseId {
        let birch = self.birch;
        let e = self.draft(actor, birch, DocumentType::Receipt, f);
        self.ok(actor, at(2), &Mutation::SubmitExpense { expense_id: e });
        e
    }

    /// A Birch fuel receipt of 42.50 by emma on her Mastercard: routed to "Fuel and travel"
    /// (mark or alice, one step).
    #[track_caller]
    pub fn fuel_expense(&mut self) -> ExpenseId {
        let f = fields(self.birch_types.fuel, self.birch_master, Some(4_250));
        let emma = self.emma.clone();
        self.submitted(&emma, f)
    }

    /// A Birch receipt of 1 200.00 by emma: routed to "Large expenses" (mark or alice, then
    /// adam).
    #[track_caller]
    pub fn large_expense(&mut self) -> ExpenseId {
        let f = fields(self.birch_types.office, self.birch_master, Some(120_000));
        let emma = self.emma.clone();
        self.submitted(&emma, f)
    }

    pub fn replace_rules(&mut self, company: CompanyId, rules: Vec<ApprovalRule>) {
        for r in self.state.approval_rules(company) {
            self.state
                .delete(kvits_protocol::EntityKind::ApprovalRule, r.id.0);
        }
        for r in rules {
            self.state.put(Entity::ApprovalRule(r));
        }
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

pub fn decide(
    e: ExpenseId,
    seen_revision: u32,
    decision: DecisionKind,
    reason: Option<&str>,
) -> Mutation {
    Mutation::DecideExpense {
        expense_id: e,
        seen_revision,
        decision,
        reason: reason.map(str::to_owned),
    }
}

pub fn send(message_id: MessageId, companies: &[CompanyId], body: &str) -> Mutation {
    Mutation::SendMessage {
        message_id,
        company_ids: companies.to_vec(),
        subject: "March VAT return".into(),
        body: body.into(),
        attachment: None,
    }
}

pub fn reply(message_id: MessageId, thread_id: ThreadId, body: &str) -> Mutation {
    Mutation::ReplyMessage {
        message_id,
        thread_id,
        body: body.into(),
        attachment: None,
    }
}

#[track_caller]
pub fn assert_rejected(r: Result<Applied, DomainError>, code: RejectCode) {
    match r {
        Err(DomainError::Rejected { code: c, message }) => {
            assert_eq!(
                c, code,
                "rejected with {c:?} ({message}), expected {code:?}"
            );
            assert!(!message.is_empty());
        }
        other => panic!("expected rejected {code:?}, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_conflict(r: Result<Applied, DomainError>, code: ConflictCode) -> DomainError {
    match r {
        Err(e @ DomainError::Conflict { code: c, .. }) if c == code => e,
        other => panic!("expected conflict {code:?}, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_already(r: Result<Applied, DomainError>) {
    assert_eq!(r, Ok(Applied::AlreadyApplied));
}

#[track_caller]
pub fn assert_status(w: &World, e: ExpenseId, status: ExpenseStatus) {
    assert_eq!(w.expense(e).status, status);
}
