//! The demo accounting firm: what the README's run command serves and what tests start from.
//!
//! "Demo Accounting" with client companies "Birch Bakery" and "Cedar Logistics", each with
//! expense types, two company cards, own money, an approval rule and people; a welcome
//! message from the accountant to both. Every password is `demo`.
//!
//! Catalog rows, rules and the message are made with the same mutations a device would push,
//! so the demo exercises the real rules.

use std::collections::BTreeMap;

use kvits_domain::Actor;
use kvits_protocol::{
    ApprovalRule, ApprovalRuleId, ApprovalStep, CompanyId, DocumentType, ExpenseType,
    ExpenseTypeId, FirmId, MessageId, Mutation, Outcome, PaymentKind, PaymentMethod,
    PaymentMethodId, Role, UserId,
};
use rusqlite::{Connection, OptionalExtension};

use crate::admin::{create_company, create_firm, create_user, set_roles};
use crate::error::{ApiError, ApiResult};
use crate::{auth, store, sync};

/// The demo firm's name.
pub const FIRM: &str = "Demo Accounting";
/// Every demo user's password.
pub const PASSWORD: &str = "demo";

/// A demo person: e-mail, name, firm accountant?, roles per company name.
type Person = (
    &'static str,
    &'static str,
    bool,
    &'static [(&'static str, &'static [Role])],
);

/// Everyone in the demo.
pub const PEOPLE: &[Person] = &[
    ("anna@demo.kvits", "Anna Accountant", true, &[]),
    (
        "emma@demo.kvits",
        "Emma Employee",
        false,
        &[("Birch Bakery", &[Role::Employee])],
    ),
    (
        "mark@demo.kvits",
        "Mark Manager",
        false,
        &[("Birch Bakery", &[Role::Approver, Role::Employee])],
    ),
    (
        "alice@demo.kvits",
        "Alice Approver",
        false,
        &[("Birch Bakery", &[Role::Approver])],
    ),
    (
        "clara@demo.kvits",
        "Clara Client",
        false,
        &[("Birch Bakery", &[Role::Client, Role::CompanyAdmin])],
    ),
    (
        "otto@demo.kvits",
        "Otto Operator",
        false,
        &[("Cedar Logistics", &[Role::Employee])],
    ),
    (
        "vera@demo.kvits",
        "Vera Director",
        false,
        &[(
            "Cedar Logistics",
            &[Role::Approver, Role::CompanyAdmin, Role::Client],
        )],
    ),
];

/// Ids of what [`seed`] made, for tests.
#[derive(Clone, Debug)]
pub struct Demo {
    pub firm: FirmId,
    pub companies: BTreeMap<&'static str, CompanyId>,
    pub users: BTreeMap<&'static str, UserId>,
    /// Expense types by (company name, type name).
    pub expense_types: BTreeMap<(&'static str, &'static str), ExpenseTypeId>,
    /// Cards by (company name, label); "Own money / cash" included.
    pub payment_methods: BTreeMap<(&'static str, String), PaymentMethodId>,
}

impl Demo {
    pub fn company(&self, name: &str) -> CompanyId {
        self.companies
            .get(name)
            .copied()
            .unwrap_or(CompanyId(uuid::Uuid::nil()))
    }
    pub fn user(&self, email: &str) -> UserId {
        self.users
            .get(email)
            .copied()
            .unwrap_or(UserId(uuid::Uuid::nil()))
    }
}

/// Seeds the demo firm unless it exists; answers its ids either way.
///
/// The people are written in one transaction, the catalog after them one mutation at a time
/// (each through the rules, in its own transaction). A seed stopped in between is finished by
/// the next one: each catalog row is only made when it is missing, and the welcome message,
/// made last, marks a finished seed — after it, nothing is ever added again (so rows people
/// changed in the demo stay as they left them).
pub fn seed(c: &mut Connection) -> ApiResult<Demo> {
    let existing: Option<String> = c
        .query_row("SELECT id FROM firms WHERE name = ?1", [FIRM], |r| r.get(0))
        .optional()?;
    if existing.is_none() {
        let password = auth::hash_password(PASSWORD)?;
        let tx = c.transaction()?;
        seed_people(&tx, &password)?;
        tx.commit()?;
    }
    seed_catalog(c)?;
    load(c)
}

fn seed_people(c: &Connection, password_hash: &str) -> ApiResult<()> {
    let firm = create_firm(c, FIRM)?;
    let mut companies = BTreeMap::new();
    for name in ["Birch Bakery", "Cedar Logistics"] {
        companies.insert(name, create_company(c, firm, name)?);
    }
    for (email, name, accountant, memberships) in PEOPLE {
        let id = create_user(c, firm, email, name, Some(password_hash), *accountant)?;
        for (company, roles) in *memberships {
            let company = companies
                .get(company)
                .copied()
                .ok_or_else(|| ApiError::internal("demo names an unknown company"))?;
            set_roles(c, company, id, roles)?;
        }
    }
    Ok(())
}

fn load(c: &Connection) -> ApiResult<Demo> {
    let firm: FirmId = c.query_row("SELECT id FROM firms WHERE name = ?1", [FIRM], |r| {
        store::uuid_col(r, 0)
    })?;
    let mut demo = Demo {
        firm,
        companies: BTreeMap::new(),
        users: BTreeMap::new(),
        expense_types: BTreeMap::new(),
        payment_methods: BTreeMap::new(),
    };
    for (email, ..) in PEOPLE {
        let id: UserId = c.query_row("SELECT id FROM users WHERE email = ?1", [email], |r| {
            store::uuid_col(r, 0)
        })?;
        demo.users.insert(email, id);
    }
    for name in ["Birch Bakery", "Cedar Logistics"] {
        let id: CompanyId = c.query_row(
            "SELECT id FROM entities WHERE kind = 'company' AND firm_id = ?1
             AND json_extract(body, '$.name') = ?2",
            [firm.to_string(), name.to_owned()],
            |r| store::uuid_col(r, 0),
        )?;
        demo.companies.insert(name, id);
        let mut stmt = c.prepare(
            "SELECT kind, id, body FROM entities WHERE company_id = ?1 AND deleted = 0
             AND kind IN ('expense_type', 'payment_method')",
        )?;
        let rows = stmt.query_map([id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(2)?))
        })?;
        for row in rows {
            let (_, body) = row?;
            match serde_json::from_str(&body)? {
                kvits_protocol::Entity::ExpenseType(t) => {
                    if let Some(&(_, type_name, _)) =
                        EXPENSE_TYPES.iter().find(|(_, n, _)| *n == t.name)
                    {
                        demo.expense_types.insert((name, type_name), t.id);
                    }
                }
                kvits_protocol::Entity::PaymentMethod(m) => {
                    demo.payment_methods.insert((name, m.label), m.id);
                }
                _ => {}
            }
        }
    }
    Ok(demo)
}

/// (code, name, active) of every company's expense types.
const EXPENSE_TYPES: &[(&str, &str, bool)] = &[
    ("6110", "Fuel", true),
    ("6120", "Meals", true),
    ("6130", "Office supplies", true),
    ("6140", "Travel", true),
    ("6190", "Other", true),
];

/// (company, label, last four, holder e-mail) of the demo cards.
const CARDS: &[(&str, &str, &str, &str)] = &[
    ("Birch Bakery", "Visa Business", "4821", "emma@demo.kvits"),
    (
        "Birch Bakery",
        "Mastercard Fleet",
        "7302",
        "mark@demo.kvits",
    ),
    (
        "Cedar Logistics",
        "Visa Business",
        "1188",
        "otto@demo.kvits",
    ),
    (
        "Cedar Logistics",
        "Amex Corporate",
        "9034",
        "vera@demo.kvits",
    ),
];

/// The subject of the welcome message: the last thing a seed makes.
const WELCOME: &str = "Welcome to Kvits";

/// Applies `m` as `actor` through the rules; anything but applied is a bug of the demo.
fn run(c: &mut Connection, actor: &Actor, m: Mutation) -> ApiResult<()> {
    match sync::apply_direct(c, actor, &m)? {
        Outcome::Applied | Outcome::AlreadyApplied => Ok(()),
        other => Err(ApiError::internal(format!("demo seed refused: {other:?}"))),
    }
}

/// Whether `company` has a live row of `kind` whose JSON `field` is `value`.
fn has_row(
    c: &Connection,
    kind: &str,
    company: CompanyId,
    field: &str,
    value: &str,
) -> ApiResult<bool> {
    Ok(c.prepare_cached(
        "SELECT 1 FROM entities WHERE company_id = ?1 AND kind = ?2 AND deleted = 0
         AND json_extract(body, ?3) = ?4",
    )?
    .exists(rusqlite::params![company.to_string(), kind, field, value])?)
}

fn seed_catalog(c: &mut Connection) -> ApiResult<()> {
    let demo = load(c)?;
    let birch = demo.company("Birch Bakery");
    let cedar = demo.company("Cedar Logistics");
    if has_row(c, "thread", birch, "$.subject", WELCOME)? {
        return Ok(());
    }
    let anna = store::actor(c, demo.user("anna@demo.kvits"))?;
    for (company_name, &company) in &demo.companies {
        for (code, name, active) in EXPENSE_TYPES {
            if has_row(c, "expense_type", company, "$.code", code)? {
                continue;
            }
            run(
                c,
                &anna,
                Mutation::PutExpenseType(ExpenseType {
                    id: ExpenseTypeId(crate::new_id()),
                    company_id: company,
                    code: (*code).into(),
                    name: (*name).into(),
                    active: *active,
                }),
            )?;
        }
        for (_, label, last_four, holder) in CARDS.iter().filter(|c| c.0 == *company_name) {
            if has_row(c, "payment_method", company, "$.label", label)? {
                continue;
            }
            run(
                c,
                &anna,
                Mutation::PutPaymentMethod(PaymentMethod {
                    id: PaymentMethodId(crate::new_id()),
                    company_id: company,
                    payment_kind: PaymentKind::CompanyCard,
                    label: (*label).into(),
                    last_four: Some((*last_four).into()),
                    holder_id: Some(demo.user(holder)),
                    active: true,
                }),
            )?;
        }
    }
    // Birch: every receipt needs a manager (Mark or Alice). Cedar: from 100 EUR, Vera.
    let rules = [
        ApprovalRule {
            id: ApprovalRuleId(crate::new_id()),
            company_id: birch,
            name: "Every receipt needs a manager".into(),
            position: 10,
            active: true,
            document_type: Some(DocumentType::Receipt),
            expense_type_ids: Vec::new(),
            min_amount_minor: None,
            max_amount_minor: None,
            steps: vec![ApprovalStep {
                approver_ids: vec![demo.user("mark@demo.kvits"), demo.user("alice@demo.kvits")],
            }],
        },
        ApprovalRule {
            id: ApprovalRuleId(crate::new_id()),
            company_id: cedar,
            name: "From 100 EUR the director approves".into(),
            position: 10,
            active: true,
            document_type: None,
            expense_type_ids: Vec::new(),
            min_amount_minor: Some(10_000),
            max_amount_minor: None,
            steps: vec![ApprovalStep {
                approver_ids: vec![demo.user("vera@demo.kvits")],
            }],
        },
    ];
    for rule in rules {
        if !has_row(c, "approval_rule", rule.company_id, "$.name", &rule.name)? {
            run(c, &anna, Mutation::PutApprovalRule(rule))?;
        }
    }
    run(
        c,
        &anna,
        Mutation::SendMessage {
            message_id: MessageId(crate::new_id()),
            company_ids: vec![birch, cedar],
            subject: WELCOME.into(),
            body: "Hello! From now on, photograph every receipt in Kvits right after paying: \
                   pick the expense type and the card, and send it. It works without network \
                   too. Questions? Answer here. — Anna"
                .into(),
            attachment: None,
        },
    )?;
    Ok(())
}
