//! The demo accounting firm: what the README's run command serves and what tests start from.
//!
//! The firm itself — "Demo Accounting" with client companies "Birch Bakery" and "Cedar
//! Logistics", their people, expense types, cards, own money, approval rules and the welcome
//! message, with fixed ids — is described once in [`kvits_demo`]; the domain tests, the core's
//! simulated server and the core benchmark start from the same description. Every password is
//! [`PASSWORD`].
//!
//! Catalog rows, rules and the message are made with the same mutations a device would push,
//! so the demo exercises the real rules.

use std::collections::BTreeMap;

use kvits_domain::Actor;
use kvits_protocol::{
    CompanyId, ExpenseTypeId, FirmId, Mutation, Outcome, PaymentMethodId, UserId,
};
use rusqlite::{Connection, OptionalExtension};

use crate::admin::{create_company_with_ids, create_firm_with_id, create_user_with_id, set_roles};
use crate::error::{ApiError, ApiResult};
use crate::{auth, store, sync};

pub use kvits_demo::{PASSWORD, PEOPLE};

/// The demo firm's name.
pub const FIRM: &str = kvits_demo::FIRM.name;

/// Ids of what [`seed`] made, for tests: [`kvits_demo`]'s, unless the data dir was seeded before
/// the demo's ids were fixed.
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
    let firm = create_firm_with_id(c, kvits_demo::FIRM.id, FIRM)?;
    for company in kvits_demo::COMPANIES {
        create_company_with_ids(c, firm, company.id, company.own_money, &company.details())?;
    }
    for p in PEOPLE {
        let id = create_user_with_id(c, p.id, firm, p.email, p.name, Some(password_hash), p.staff)?;
        for (company, roles) in p.memberships {
            set_roles(c, *company, id, roles)?;
        }
        if p.is_staff() {
            crate::firm::set_staff(
                c,
                firm,
                id,
                &kvits_protocol::SetStaffRequest {
                    role: p.staff.unwrap_or(kvits_protocol::StaffRole::Accountant),
                    assigned: p.assigned.to_vec(),
                },
            )?;
        }
    }
    crate::firm::set_settings(
        c,
        firm,
        &kvits_protocol::FirmSettings {
            assigned_clients_only: kvits_demo::ASSIGNED_CLIENTS_ONLY,
            // A Latvian firm's spreadsheets read `;` and `12,50`.
            csv_separator: kvits_protocol::CsvSeparator::Semicolon,
            decimal_mark: kvits_protocol::DecimalMark::Comma,
        },
    )?;
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
    // A data dir seeded by an older demo lacks the people and companies added since.
    for p in PEOPLE {
        let id: Option<UserId> = c
            .query_row("SELECT id FROM users WHERE email = ?1", [p.email], |r| {
                store::uuid_col(r, 0)
            })
            .optional()?;
        if let Some(id) = id {
            demo.users.insert(p.email, id);
        }
    }
    for name in kvits_demo::COMPANIES.map(|c| c.name) {
        let id: Option<CompanyId> = c
            .query_row(
                "SELECT id FROM entities WHERE kind = 'company' AND firm_id = ?1
                 AND json_extract(body, '$.name') = ?2",
                [firm.to_string(), name.to_owned()],
                |r| store::uuid_col(r, 0),
            )
            .optional()?;
        let Some(id) = id else {
            continue;
        };
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
                    if let Some(demo_type) =
                        kvits_demo::EXPENSE_TYPES.iter().find(|d| d.name == t.name)
                    {
                        demo.expense_types.insert((name, demo_type.name), t.id);
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
    // The ids of the rows the people step made: the demo's own, unless a data dir seeded before
    // the demo had fixed ids holds other ones.
    let demo = load(c)?;
    let birch = demo.company(kvits_demo::BIRCH.name);
    if has_row(c, "thread", birch, "$.subject", kvits_demo::WELCOME_SUBJECT)? {
        return Ok(());
    }
    let company = |id: CompanyId| {
        kvits_demo::COMPANIES
            .iter()
            .find(|d| d.id == id)
            .map_or(id, |d| demo.company(d.name))
    };
    let user = |id: UserId| {
        PEOPLE
            .iter()
            .find(|p| p.id == id)
            .map_or(id, |p| demo.user(p.email))
    };
    let anna = store::actor(c, demo.user(kvits_demo::ANNA.email))?;
    // The firm admin sees every client, so sets up every catalog.
    let paula = store::actor(c, demo.user(kvits_demo::PAULA.email))?;
    for d in kvits_demo::COMPANIES {
        if !demo.companies.contains_key(d.name) {
            continue;
        }
        let id = company(d.id);
        for mut t in d.expense_types() {
            if has_row(c, "expense_type", id, "$.code", &t.code)? {
                continue;
            }
            t.company_id = id;
            run(c, &paula, Mutation::PutExpenseType(t))?;
        }
        for card in d.cards() {
            if has_row(c, "payment_method", id, "$.label", card.label)? {
                continue;
            }
            let mut m = card.payment_method();
            m.company_id = id;
            m.holder_id = m.holder_id.map(user);
            run(c, &paula, Mutation::PutPaymentMethod(m))?;
        }
    }
    for mut rule in kvits_demo::approval_rules() {
        rule.company_id = company(rule.company_id);
        for step in &mut rule.steps {
            for a in &mut step.approver_ids {
                *a = user(*a);
            }
        }
        if !has_row(c, "approval_rule", rule.company_id, "$.name", &rule.name)? {
            run(c, &anna, Mutation::PutApprovalRule(rule))?;
        }
    }
    let mut welcome = kvits_demo::welcome();
    if let Mutation::SendMessage { company_ids, .. } = &mut welcome {
        for id in company_ids {
            *id = company(*id);
        }
    }
    run(c, &anna, welcome)
}
