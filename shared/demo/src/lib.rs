//! The demo accounting firm, described once, as data built from the protocol's own types.
//!
//! "Demo Accounting" keeps the books of five client companies. "Birch Bakery" and "Cedar
//! Logistics" are in use: each has two company cards and own money, and an approval rule, and
//! the firm's accountant greets both with a welcome message. "Dune Design" (Sweden, SEK) and
//! "Elm Studio" (Poland, PLN) have only their catalog; "Fir Foods" is paused (inactive). Every
//! company has the same expense types. Every password is [`PASSWORD`].
//!
//! | person | firm                | Birch Bakery                  | Cedar Logistics               |
//! |--------|---------------------|-------------------------------|-------------------------------|
//! | paula  | firm admin (all clients) | accountant               | accountant                    |
//! | anna   | accountant, assigned to Birch and Cedar | accountant | accountant                    |
//! | emma   |                     | employee (Visa Business)      |                               |
//! | mark   |                     | approver, employee (Mastercard Fleet) |                       |
//! | alice  |                     | approver                      |                               |
//! | clara  |                     | client, company admin         |                               |
//! | otto   |                     |                               | employee (Visa Business)      |
//! | vera   |                     |                               | approver, company admin, client (Amex Corporate) |
//!
//! The firm shows its staff only their assigned clients ([`ASSIGNED_CLIENTS_ONLY`]): Anna sees
//! Birch and Cedar, Paula every company.
//!
//! Rules: in Birch every receipt needs a manager (Mark or Alice); in Cedar, from 100.00 EUR,
//! Vera approves.
//!
//! Users:
//! - the sync server's seed (`kvits_sync_server::demo::seed`) makes all of it, the catalog,
//!   rules and message through the same mutations a device would push;
//! - the domain tests' `World`, the core's simulated server and the core benchmark take the
//!   firm, companies, people and catalog from here and add what they test on top.
//!
//! Every id is fixed ([`id`]), so the same demo has the same ids on the server, in the tests and
//! in the benchmark.

use std::collections::BTreeMap;

use kvits_protocol::{
    ApprovalRule, ApprovalRuleId, ApprovalStep, Company, CompanyDetails, CompanyId, DocumentType,
    Entity, ExpenseType, ExpenseTypeId, FirmId, Member, MessageId, Mutation, PaymentKind,
    PaymentMethod, PaymentMethodId, Role, StaffRole, UserId,
};
use uuid::Uuid;

/// Every demo user's password.
pub const PASSWORD: &str = "demo";

/// The domain of every demo e-mail address.
pub const EMAIL_DOMAIN: &str = "demo.kvits";

/// The demo's `n`-th id: UUIDv7-shaped, its time part in 2024, `n` in the last bits.
///
/// The numbers in use: 1 the firm; 2 to 6 the companies; 10–17 the people; 20–24 Birch's and
/// 25–29 Cedar's expense types; 30–32 Birch's and 33–35 Cedar's payment methods; 36–38 the
/// other companies' own money; 40 and 41 the approval rules; 50 the welcome message; 60–74
/// the other companies' expense types. Tests that add their own rows use numbers from
/// 100 on (or ids of their own).
pub const fn id(n: u16) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n as u128)
}

// ---------------------------------------------------------------------------------------------
// the firm and its companies

/// The accounting firm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoFirm {
    pub id: FirmId,
    pub name: &'static str,
}

/// "Demo Accounting".
pub const FIRM: DemoFirm = DemoFirm {
    id: FirmId(id(1)),
    name: "Demo Accounting",
};

/// Whether the firm's accountants see only their assigned clients (firm admins see all).
pub const ASSIGNED_CLIENTS_ONLY: bool = true;

/// A client company of the firm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoCompany {
    pub id: CompanyId,
    pub name: &'static str,
    /// The currency its books are kept in.
    pub base_currency: &'static str,
    pub registration_number: &'static str,
    pub vat_number: &'static str,
    pub country: &'static str,
    pub time_zone: &'static str,
    /// False for a company the firm has paused.
    pub active: bool,
    /// Its "Own money / cash" payment method (the server makes one with every company).
    pub own_money: PaymentMethodId,
    /// The number ([`id`]) of its first expense type; the others follow in
    /// [`EXPENSE_TYPES`]' order.
    first_type: u16,
}

/// "Birch Bakery" (Latvia).
pub const BIRCH: DemoCompany = DemoCompany {
    id: CompanyId(id(2)),
    name: "Birch Bakery",
    base_currency: "EUR",
    registration_number: "40103000001",
    vat_number: "LV40103000001",
    country: "LV",
    time_zone: "Europe/Riga",
    active: true,
    own_money: PaymentMethodId(id(32)),
    first_type: 20,
};

/// "Cedar Logistics" (Estonia).
pub const CEDAR: DemoCompany = DemoCompany {
    id: CompanyId(id(3)),
    name: "Cedar Logistics",
    base_currency: "EUR",
    registration_number: "12000003",
    vat_number: "EE100000003",
    country: "EE",
    time_zone: "Europe/Tallinn",
    active: true,
    own_money: PaymentMethodId(id(35)),
    first_type: 25,
};

/// "Dune Design" (Sweden, books in SEK): a client nobody at the firm is assigned to but its admin.
pub const DUNE: DemoCompany = DemoCompany {
    id: CompanyId(id(4)),
    name: "Dune Design",
    base_currency: "SEK",
    registration_number: "556000-0004",
    vat_number: "SE556000000401",
    country: "SE",
    time_zone: "Europe/Stockholm",
    active: true,
    own_money: PaymentMethodId(id(36)),
    first_type: 60,
};

/// "Elm Studio" (Poland, books in PLN).
pub const ELM: DemoCompany = DemoCompany {
    id: CompanyId(id(5)),
    name: "Elm Studio",
    base_currency: "PLN",
    registration_number: "0000000005",
    vat_number: "PL5250000005",
    country: "PL",
    time_zone: "Europe/Warsaw",
    active: true,
    own_money: PaymentMethodId(id(37)),
    first_type: 65,
};

/// "Fir Foods" (Latvia): paused by the firm.
pub const FIR: DemoCompany = DemoCompany {
    id: CompanyId(id(6)),
    name: "Fir Foods",
    base_currency: "EUR",
    registration_number: "40103000006",
    vat_number: "LV40103000006",
    country: "LV",
    time_zone: "Europe/Riga",
    active: false,
    own_money: PaymentMethodId(id(38)),
    first_type: 70,
};

/// The firm's client companies.
pub const COMPANIES: [DemoCompany; 5] = [BIRCH, CEDAR, DUNE, ELM, FIR];

/// The companies in use: people, cards, rules and the welcome message.
pub const WORKING_COMPANIES: [DemoCompany; 2] = [BIRCH, CEDAR];

/// The company named `name`.
pub fn company(name: &str) -> Option<&'static DemoCompany> {
    COMPANIES.iter().find(|c| c.name == name)
}

/// The label of every company's own-money payment method.
pub const OWN_MONEY_LABEL: &str = "Own money / cash";

impl DemoCompany {
    /// The company as the server stores it: its members sorted by name, each one's roles
    /// sorted; the firm's accountants are not members (they see every company).
    pub fn entity(&self) -> Company {
        let mut members: Vec<Member> = PEOPLE.iter().filter_map(|p| p.member(self.id)).collect();
        members.sort_by(|a, b| (&a.name, a.user_id).cmp(&(&b.name, b.user_id)));
        let d = self.details();
        Company {
            id: self.id,
            firm_id: FIRM.id,
            name: d.name,
            base_currency: d.base_currency,
            members,
            invitations: Vec::new(),
            registration_number: d.registration_number,
            vat_number: d.vat_number,
            country: d.country,
            time_zone: d.time_zone,
            active: d.active,
            allow_self_approval: d.allow_self_approval,
        }
    }

    /// Its details, as the firm admin enters them.
    pub fn details(&self) -> CompanyDetails {
        CompanyDetails {
            name: self.name.into(),
            base_currency: self.base_currency.into(),
            registration_number: Some(self.registration_number.into()),
            vat_number: Some(self.vat_number.into()),
            country: Some(self.country.into()),
            time_zone: Some(self.time_zone.into()),
            active: self.active,
            allow_self_approval: false,
        }
    }

    /// The id of its expense type `t`.
    pub const fn expense_type_id(&self, t: DemoExpenseType) -> ExpenseTypeId {
        ExpenseTypeId(id(self.first_type + t.index))
    }

    /// Its expense types, in [`EXPENSE_TYPES`]' order.
    pub fn expense_types(&self) -> Vec<ExpenseType> {
        EXPENSE_TYPES
            .iter()
            .map(|t| ExpenseType {
                id: self.expense_type_id(*t),
                company_id: self.id,
                code: t.code.into(),
                name: t.name.into(),
                active: true,
            })
            .collect()
    }

    /// Its company cards, in [`CARDS`]' order.
    pub fn cards(&self) -> impl Iterator<Item = &'static Card> + use<> {
        let company = self.id;
        CARDS.iter().filter(move |c| c.company == company)
    }

    /// Its "Own money / cash" payment method.
    pub fn own_money(&self) -> PaymentMethod {
        PaymentMethod {
            id: self.own_money,
            company_id: self.id,
            payment_kind: PaymentKind::OwnMoney,
            label: OWN_MONEY_LABEL.into(),
            last_four: None,
            holder_id: None,
            active: true,
            statement_ref: None,
        }
    }

    /// Its payment methods: the cards, then own money.
    pub fn payment_methods(&self) -> Vec<PaymentMethod> {
        self.cards()
            .map(Card::payment_method)
            .chain([self.own_money()])
            .collect()
    }

    /// Its approval rules.
    pub fn approval_rules(&self) -> Vec<ApprovalRule> {
        approval_rules()
            .into_iter()
            .filter(|r| r.company_id == self.id)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// people

/// A person of the firm: staff (an accountant) or someone of a client company.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Person {
    pub id: UserId,
    pub email: &'static str,
    pub name: &'static str,
    /// The firm's staff: they work on client companies without a membership.
    pub staff: Option<StaffRole>,
    /// The client companies assigned to a staff member.
    pub assigned: &'static [CompanyId],
    /// Roles per company (as set by a company admin; never [`Role::Accountant`]).
    pub memberships: &'static [(CompanyId, &'static [Role])],
}

pub const ANNA: Person = Person {
    id: UserId(id(10)),
    email: "anna@demo.kvits",
    name: "Anna Accountant",
    staff: Some(StaffRole::Accountant),
    assigned: &[BIRCH.id, CEDAR.id],
    memberships: &[],
};
pub const EMMA: Person = Person {
    id: UserId(id(11)),
    email: "emma@demo.kvits",
    name: "Emma Employee",
    staff: None,
    assigned: &[],
    memberships: &[(BIRCH.id, &[Role::Employee])],
};
pub const MARK: Person = Person {
    id: UserId(id(12)),
    email: "mark@demo.kvits",
    name: "Mark Manager",
    staff: None,
    assigned: &[],
    memberships: &[(BIRCH.id, &[Role::Approver, Role::Employee])],
};
pub const ALICE: Person = Person {
    id: UserId(id(13)),
    email: "alice@demo.kvits",
    name: "Alice Approver",
    staff: None,
    assigned: &[],
    memberships: &[(BIRCH.id, &[Role::Approver])],
};
pub const CLARA: Person = Person {
    id: UserId(id(14)),
    email: "clara@demo.kvits",
    name: "Clara Client",
    staff: None,
    assigned: &[],
    memberships: &[(BIRCH.id, &[Role::Client, Role::CompanyAdmin])],
};
pub const OTTO: Person = Person {
    id: UserId(id(15)),
    email: "otto@demo.kvits",
    name: "Otto Operator",
    staff: None,
    assigned: &[],
    memberships: &[(CEDAR.id, &[Role::Employee])],
};
pub const VERA: Person = Person {
    id: UserId(id(16)),
    email: "vera@demo.kvits",
    name: "Vera Director",
    staff: None,
    assigned: &[],
    memberships: &[(
        CEDAR.id,
        &[Role::Approver, Role::CompanyAdmin, Role::Client],
    )],
};

pub const PAULA: Person = Person {
    id: UserId(id(17)),
    email: "paula@demo.kvits",
    name: "Paula Partner",
    staff: Some(StaffRole::FirmAdmin),
    assigned: &[],
    memberships: &[],
};

/// Everyone in the demo.
pub const PEOPLE: [Person; 8] = [ANNA, EMMA, MARK, ALICE, CLARA, OTTO, VERA, PAULA];

/// The person with e-mail `email`, or whose e-mail starts with `key@` ("emma").
pub fn person(email_or_key: &str) -> Option<&'static Person> {
    PEOPLE
        .iter()
        .find(|p| p.email == email_or_key || p.key() == email_or_key)
}

impl Person {
    /// The e-mail's local part: "emma".
    pub fn key(&self) -> &'static str {
        self.email
            .split_once('@')
            .map_or(self.email, |(key, _)| key)
    }

    /// Roles in `company` by membership (an accountant has none).
    pub fn roles_in(&self, company: CompanyId) -> &'static [Role] {
        self.memberships
            .iter()
            .find(|(c, _)| *c == company)
            .map_or(&[], |(_, roles)| *roles)
    }

    /// Whether they are the firm's staff.
    pub fn is_staff(&self) -> bool {
        self.staff.is_some()
    }

    /// Whether, as staff, they see `company`: a firm admin sees every client, an accountant
    /// those assigned to them (or all, when the firm does not keep staff to assignments).
    pub fn sees_as_staff(&self, company: CompanyId) -> bool {
        match self.staff {
            None => false,
            Some(StaffRole::FirmAdmin) => true,
            Some(StaffRole::Accountant) => {
                !ASSIGNED_CLIENTS_ONLY || self.assigned.contains(&company)
            }
        }
    }

    /// Roles per company as the server grants them at sign-in: the memberships in active
    /// companies, and [`Role::Accountant`] in every company the staff member sees; each list
    /// sorted.
    pub fn roles(&self) -> BTreeMap<CompanyId, Vec<Role>> {
        let mut roles: BTreeMap<CompanyId, Vec<Role>> = BTreeMap::new();
        for (company, r) in self.memberships {
            if COMPANIES.iter().any(|c| c.id == *company && c.active) {
                roles.entry(*company).or_default().extend(r.iter().copied());
            }
        }
        for company in COMPANIES {
            if self.sees_as_staff(company.id) {
                roles.entry(company.id).or_default().push(Role::Accountant);
            }
        }
        for r in roles.values_mut() {
            r.sort();
            r.dedup();
        }
        roles
    }

    /// The person as a member of `company` (roles sorted), if they have a membership there.
    pub fn member(&self, company: CompanyId) -> Option<Member> {
        let roles = self.roles_in(company);
        if roles.is_empty() {
            return None;
        }
        let mut roles = roles.to_vec();
        roles.sort();
        Some(Member {
            user_id: self.id,
            name: self.name.into(),
            email: self.email.into(),
            roles,
            disabled: false,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// the catalog

/// An expense type every company has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoExpenseType {
    /// Its place in [`EXPENSE_TYPES`].
    index: u16,
    pub code: &'static str,
    pub name: &'static str,
}

pub const FUEL: DemoExpenseType = DemoExpenseType {
    index: 0,
    code: "6110",
    name: "Fuel",
};
pub const MEALS: DemoExpenseType = DemoExpenseType {
    index: 1,
    code: "6120",
    name: "Meals",
};
pub const OFFICE: DemoExpenseType = DemoExpenseType {
    index: 2,
    code: "6130",
    name: "Office supplies",
};
pub const TRAVEL: DemoExpenseType = DemoExpenseType {
    index: 3,
    code: "6140",
    name: "Travel",
};
pub const OTHER: DemoExpenseType = DemoExpenseType {
    index: 4,
    code: "6190",
    name: "Other",
};

/// Every company's expense types.
pub const EXPENSE_TYPES: [DemoExpenseType; 5] = [FUEL, MEALS, OFFICE, TRAVEL, OTHER];

/// A company card and who holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Card {
    pub id: PaymentMethodId,
    pub company: CompanyId,
    pub label: &'static str,
    pub last_four: &'static str,
    pub holder: UserId,
}

/// Birch: Emma's Visa Business.
pub const BIRCH_VISA: Card = Card {
    id: PaymentMethodId(id(30)),
    company: BIRCH.id,
    label: "Visa Business",
    last_four: "4821",
    holder: EMMA.id,
};
/// Birch: Mark's Mastercard Fleet.
pub const BIRCH_MASTERCARD: Card = Card {
    id: PaymentMethodId(id(31)),
    company: BIRCH.id,
    label: "Mastercard Fleet",
    last_four: "7302",
    holder: MARK.id,
};
/// Cedar: Otto's Visa Business.
pub const CEDAR_VISA: Card = Card {
    id: PaymentMethodId(id(33)),
    company: CEDAR.id,
    label: "Visa Business",
    last_four: "1188",
    holder: OTTO.id,
};
/// Cedar: Vera's Amex Corporate.
pub const CEDAR_AMEX: Card = Card {
    id: PaymentMethodId(id(34)),
    company: CEDAR.id,
    label: "Amex Corporate",
    last_four: "9034",
    holder: VERA.id,
};

/// Every company card.
pub const CARDS: [Card; 4] = [BIRCH_VISA, BIRCH_MASTERCARD, CEDAR_VISA, CEDAR_AMEX];

impl Card {
    pub fn payment_method(&self) -> PaymentMethod {
        PaymentMethod {
            id: self.id,
            company_id: self.company,
            payment_kind: PaymentKind::CompanyCard,
            label: self.label.into(),
            last_four: Some(self.last_four.into()),
            holder_id: Some(self.holder),
            active: true,
            statement_ref: None,
        }
    }
}

/// Birch's rule: every receipt needs a manager, Mark or Alice.
pub const BIRCH_RULE: ApprovalRuleId = ApprovalRuleId(id(40));
/// Cedar's rule: from 100.00 EUR, Vera approves.
pub const CEDAR_RULE: ApprovalRuleId = ApprovalRuleId(id(41));

/// Every approval rule of the demo.
pub fn approval_rules() -> Vec<ApprovalRule> {
    vec![
        ApprovalRule {
            id: BIRCH_RULE,
            company_id: BIRCH.id,
            name: "Every receipt needs a manager".into(),
            position: 10,
            active: true,
            document_type: Some(DocumentType::Receipt),
            expense_type_ids: Vec::new(),
            min_amount_minor: None,
            max_amount_minor: None,
            currency: BIRCH.base_currency.into(),
            steps: vec![ApprovalStep {
                approver_ids: vec![MARK.id, ALICE.id],
            }],
        },
        ApprovalRule {
            id: CEDAR_RULE,
            company_id: CEDAR.id,
            name: "From 100 EUR the director approves".into(),
            position: 10,
            active: true,
            document_type: None,
            expense_type_ids: Vec::new(),
            min_amount_minor: Some(10_000),
            max_amount_minor: None,
            currency: CEDAR.base_currency.into(),
            steps: vec![ApprovalStep {
                approver_ids: vec![VERA.id],
            }],
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// the welcome message

/// The welcome message's id.
pub const WELCOME: MessageId = MessageId(id(50));
/// Its subject.
pub const WELCOME_SUBJECT: &str = "Welcome to Kvits";
/// Its text.
pub const WELCOME_BODY: &str = "Hello! From now on, photograph every receipt in Kvits right \
    after paying: pick the expense type and the card, and send it. It works without network \
    too. Questions? Answer here. — Anna";

/// The accountant's welcome message to Birch and Cedar, as [`ANNA`] sends it.
pub fn welcome() -> Mutation {
    Mutation::SendMessage {
        message_id: WELCOME,
        company_ids: WORKING_COMPANIES.iter().map(|c| c.id).collect(),
        subject: WELCOME_SUBJECT.into(),
        body: WELCOME_BODY.into(),
        attachment: None,
    }
}

// ---------------------------------------------------------------------------------------------
// all of it

/// The firm's companies and catalogs as a device mirrors them after the seed (the welcome
/// message aside): each company, then its expense types, payment methods and rules.
pub fn entities() -> Vec<Entity> {
    let mut out = Vec::new();
    for c in COMPANIES {
        out.push(Entity::Company(c.entity()));
        out.extend(c.expense_types().into_iter().map(Entity::ExpenseType));
        out.extend(c.payment_methods().into_iter().map(Entity::PaymentMethod));
        out.extend(c.approval_rules().into_iter().map(Entity::ApprovalRule));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct() {
        let mut ids: Vec<Uuid> = vec![FIRM.id.0, WELCOME.0];
        ids.extend(PEOPLE.iter().map(|p| p.id.0));
        for e in entities() {
            ids.push(e.id());
        }
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    #[test]
    fn everyone_can_be_found_and_belongs_to_a_company() {
        for p in PEOPLE {
            assert_eq!(person(p.email), Some(&p));
            assert_eq!(person(p.key()), Some(&p));
            assert!(p.email.ends_with(EMAIL_DOMAIN));
            assert!(!p.roles().is_empty());
            assert!(p.memberships.iter().all(|(c, r)| {
                company_named(*c).is_some() && !r.is_empty() && !r.contains(&Role::Accountant)
            }));
        }
        assert_eq!(ANNA.roles().len(), ANNA.assigned.len());
        assert_eq!(PAULA.roles().len(), COMPANIES.len());
    }

    #[test]
    fn card_holders_and_approvers_are_members() {
        for card in CARDS {
            let holder = PEOPLE.iter().find(|p| p.id == card.holder);
            assert!(holder.is_some_and(|p| !p.roles_in(card.company).is_empty()));
        }
        for rule in approval_rules() {
            for step in &rule.steps {
                for a in &step.approver_ids {
                    let p = PEOPLE.iter().find(|p| p.id == *a);
                    assert!(
                        p.is_some_and(|p| p.roles_in(rule.company_id).contains(&Role::Approver))
                    );
                }
            }
        }
    }

    fn company_named(id: CompanyId) -> Option<&'static str> {
        COMPANIES.iter().find(|c| c.id == id).map(|c| c.name)
    }
}
