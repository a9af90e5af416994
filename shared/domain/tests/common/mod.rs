//! A realistic world for the domain tests: the firm "Demo Accounting" with two client
//! companies, their people, catalogs and approval rules, plus a company of another firm.
//!
//! | user  | Birch Bakery   | Cedar Logistics | Fir Foods (other firm) |
//! |-------|----------------|-----------------|------------------------|
//! | anna  | accountant     | accountant      |                        |
//! | emma  | employee       |                 |                        |
//! | mark  | approver       |                 |                        |
//! | alice | approver       |                 |                        |
//! | adam  | company_admin  |                 |                        |
//! | clara | client         |                 |                        |
//! | otto  |                | employee        |                        |
//! | cora  |                | client          |                        |
//! | fred  |                |                 | company_admin          |
//!
//! Birch's approval rules, in position order:
//! 1. "Invoices" (10): document type invoice → alice.
//! 2. "Large expenses" (20): 500.00 EUR and more → mark or alice, then adam.
//! 3. "Fuel and travel" (30): fuel or travel below 500.00 → mark or alice.
//! 4. "Old rule" (40): inactive, every expense → adam.
//!
//! Meals and office supplies below 500.00 match no rule: approved on submit. Cedar has no
//! rules at all.

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
        date: Some(t0().date_naive()),
        merchant: Some("Circle K".into()),
        note: None,
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
    /// Cedar's expense types (fuel, meals, office, travel as in Birch, other ids).
    pub cedar_types: Types,
    /// Birch: Visa Business held by mark.
    pub birch_visa: PaymentMethodId,
    /// Birch: Mastercard held by emma.
    pub birch_master: PaymentMethodId,
    /// Birch: own money / cash.
    pub birch_own: PaymentMethodId,
    /// Cedar: fuel card held by otto.
    pub cedar_card: PaymentMethodId,
    /// Cedar: own money / cash.
    pub cedar_own: PaymentMethodId,
    /// Fir Foods (other firm): a card.
    pub fir_card: PaymentMethodId,
    pub fir_type: ExpenseTypeId,
    pub birch_rules: Rules,
    next: u128,
}

fn member(u: &Actor, email: &str, roles: &[Role]) -> Member {
    Member {
        user_id: u.user_id,
        name: u.name.clone(),
        email: email.into(),
        roles: roles.to_vec(),
    }
}

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
    }
}

fn own_money(n: u128, company: CompanyId) -> PaymentMethod {
    PaymentMethod {
        id: PaymentMethodId(id(0x0005, n)),
        company_id: company,
        payment_kind: PaymentKind::OwnMoney,
        label: "Own money / cash".into(),
        last_four: None,
        holder_id: None,
        active: true,
    }
}

impl World {
    pub fn new() -> World {
        let firm = FirmId(id(0x0001, 1));
        let other_firm = FirmId(id(0x0001, 2));
        let birch = CompanyId(id(0x0002, 1));
        let cedar = CompanyId(id(0x0002, 2));
        let fir = CompanyId(id(0x0002, 3));

        let acc: &[Role] = &[Role::Accountant];
        let anna = actor(1, "Anna Accountant", firm, &[(birch, acc), (cedar, acc)]);
        let emma = actor(2, "Emma Employee", firm, &[(birch, &[Role::Employee])]);
        let mark = actor(3, "Mark Manager", firm, &[(birch, &[Role::Approver])]);
        let alice = actor(4, "Alice Approver", firm, &[(birch, &[Role::Approver])]);
        let adam = actor(5, "Adam Admin", firm, &[(birch, &[Role::CompanyAdmin])]);
        let clara = actor(6, "Clara Client", firm, &[(birch, &[Role::Client])]);
        let otto = actor(7, "Otto Driver", firm, &[(cedar, &[Role::Employee])]);
        let cora = actor(8, "Cora Owner", firm, &[(cedar, &[Role::Client])]);
        let fred = actor(
            9,
            "Fred Foreign",
            other_firm,
            &[(fir, &[Role::CompanyAdmin])],
        );

        let mut state = MemoryState::new();
        state.put(Entity::Company(Company {
            id: birch,
            firm_id: firm,
            name: "Birch Bakery".into(),
            members: vec![
                member(&emma, "emma@birch.example", &[Role::Employee]),
                member(&mark, "mark@birch.example", &[Role::Approver]),
                member(&alice, "alice@birch.example", &[Role::Approver]),
                member(&adam, "adam@birch.example", &[Role::CompanyAdmin]),
                member(&clara, "clara@birch.example", &[Role::Client]),
            ],
        }));
        state.put(Entity::Company(Company {
            id: cedar,
            firm_id: firm,
            name: "Cedar Logistics".into(),
            members: vec![
                member(&otto, "otto@cedar.example", &[Role::Employee]),
                member(&cora, "cora@cedar.example", &[Role::Client]),
            ],
        }));
        state.put(Entity::Company(Company {
            id: fir,
            firm_id: other_firm,
            name: "Fir Foods".into(),
            members: vec![member(&fred, "fred@fir.example", &[Role::CompanyAdmin])],
        }));

        let mut types = |base: u128, company: CompanyId| {
            let t = [
                expense_type(base + 1, company, "6110", "Fuel"),
                expense_type(base + 2, company, "6120", "Meals"),
                expense_type(base + 3, company, "6130", "Office supplies"),
                expense_type(base + 4, company, "6140", "Travel"),
            ];
            let ids = Types {
                fuel: t[0].id,
                meals: t[1].id,
                office: t[2].id,
                travel: t[3].id,
            };
            for x in t {
                state.put(Entity::ExpenseType(x));
            }
            ids
        };
        let birch_types = types(0, birch);
        let cedar_types = types(10, cedar);
        let fir_type = expense_type(21, fir, "6110", "Fuel");
        let fir_type_id = fir_type.id;
        state.put(Entity::ExpenseType(fir_type));

        let methods = [
            card(1, birch, "Visa Business", "4242", Some(mark.user_id)),
            card(2, birch, "Mastercard", "5555", Some(emma.user_id)),
            own_money(3, birch),
            card(11, cedar, "Fuel card", "1234", Some(otto.user_id)),
            own_money(12, cedar),
            card(21, fir, "Fir card", "9999", None),
        ];
        let ids: Vec<PaymentMethodId> = methods.iter().map(|m| m.id).collect();
        for m in methods {
            state.put(Entity::PaymentMethod(m));
        }

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
            birch_visa: ids[0],
            birch_master: ids[1],
            birch_own: ids[2],
            cedar_card: ids[3],
            cedar_own: ids[4],
            fir_card: ids[5],
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
