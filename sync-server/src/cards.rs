//! Card statements on the server (issue 19): a bank's statement file becomes the company's card
//! payments, each payment finds its receipt, and the firm sees per card what is still missing.
//!
//! - **Import** ([`import`]): the file is read whole by `kvits-statements` before anything is
//!   stored, so a bad file stores nothing. Each card line gets an id derived from the company
//!   and its identity (the bank's reference, else account, booking day, amount and text; the
//!   k-th identical line of a file is told apart by k), so importing the same file again, or
//!   one whose period overlaps, finds the rows it made before.
//! - **Automatic matching** is the domain's ([`kvits_domain::reconcile`]): after an import the
//!   whole company is reconciled; after a change to a receipt ([`watch`], then [`settle`] in
//!   the same transaction) only the payments and receipts that share an amount with it.
//! - **Cards**: a statement names a card by its masked number or, for a card account's
//!   statement, by the account. [`relink`] ties each payment to the company card that name
//!   fits, again whenever a card is saved, so assigning an unknown card is editing a card.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use kvits_domain::{Actor, card_ref_key};
use kvits_protocol::{
    CardReceipt, CardReport, CardReportRow, CardTransaction, CardTransactionId, CompanyId,
    CsvProfile, Date, Entity, EntityKind, Expense, ExpenseId, Money, Mutation, PaymentMethod, Role,
    StatementFormat, StatementId, StatementImport, StatementImportSummary, Timestamp, UserId,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::api::{Operation, Routes};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Json};
use crate::openapi::{query_params_of, schema};
use crate::store::{self, DbState};
use crate::{AppState, sync};

/// Roles that import statements and read the card report: the company's admins and the firm.
const STATEMENT_ROLES: [Role; 2] = [Role::CompanyAdmin, Role::Accountant];

/// Rounds of "payments of these amounts, receipts of those" before [`settle`] stops narrowing
/// and reconciles the whole company.
const MAX_CLOSURE_ROUNDS: usize = 4;

/// One statement file to import.
#[derive(Debug)]
pub struct ImportFile<'a> {
    pub company: CompanyId,
    pub file_name: &'a str,
    pub bytes: &'a [u8],
    /// The format, when the caller says; else it is recognised from the content.
    pub format: Option<StatementFormat>,
    /// The firm's saved CSV layout to read a CSV file with (by name).
    pub profile: Option<&'a str>,
    /// The file's encoding (WHATWG label) for MT940, when not UTF-8.
    pub encoding: Option<&'a str>,
}

/// The actor, if they may import statements of `company` (the company's admins, the firm).
fn statement_actor(c: &Connection, user: UserId, company: CompanyId) -> ApiResult<Actor> {
    let actor = store::actor(c, user)?;
    if !actor.is_member(company) {
        return Err(ApiError::not_found("company"));
    }
    if !actor.has_any(company, &STATEMENT_ROLES) {
        return Err(ApiError::forbidden(
            "only the company's admins and the accounting firm handle card statements",
        ));
    }
    Ok(actor)
}

fn format_of(f: kvits_statements::Format) -> StatementFormat {
    use kvits_statements::Format as F;
    match f {
        F::Camt052 => StatementFormat::Camt052,
        F::Camt053 => StatementFormat::Camt053,
        F::Camt054 => StatementFormat::Camt054,
        F::Fidavista => StatementFormat::Fidavista,
        F::Mt940 => StatementFormat::Mt940,
        F::Csv => StatementFormat::Csv,
    }
}

fn parser_format(f: StatementFormat) -> kvits_statements::Format {
    use kvits_statements::Format as F;
    match f {
        StatementFormat::Camt052 => F::Camt052,
        StatementFormat::Camt053 => F::Camt053,
        StatementFormat::Camt054 => F::Camt054,
        StatementFormat::Fidavista => F::Fidavista,
        StatementFormat::Mt940 => F::Mt940,
        StatementFormat::Csv => F::Csv,
    }
}

/// The firm's saved CSV layout called `name`.
fn profile(c: &Connection, firm: kvits_protocol::FirmId, name: &str) -> ApiResult<CsvProfile> {
    let json: Option<String> = c
        .query_row(
            "SELECT profile FROM bank_profiles WHERE firm_id = ?1 AND name = ?2",
            params![firm.to_string(), name],
            |r| r.get(0),
        )
        .optional()?;
    let json = json.ok_or_else(|| {
        ApiError::bad_request(format!("the firm has no bank profile named \"{name}\""))
    })?;
    serde_json::from_str(&json).map_err(ApiError::internal)
}

/// Reads the statement, or says clearly why it cannot.
fn read_statement(
    file: &ImportFile<'_>,
    profile: Option<&CsvProfile>,
) -> ApiResult<kvits_statements::Statement> {
    if file.bytes.len() > kvits_statements::MAX_STATEMENT_BYTES {
        return Err(ApiError::too_large(format!(
            "a statement file may be at most {} MB",
            kvits_statements::MAX_STATEMENT_BYTES / (1024 * 1024)
        )));
    }
    let options = kvits_statements::Options {
        format: file.format.map(parser_format),
        csv: profile,
        encoding: file.encoding,
    };
    kvits_statements::parse(file.bytes, &options)
        .map_err(|e| ApiError::bad_request(format!("{} cannot be imported: {e}", file.file_name)))
}

/// What one card line of a statement is, before it is stored.
struct Incoming {
    id: CardTransactionId,
    card_ref: String,
    line: kvits_statements::Line,
}

/// The card lines of `statement` with their ids: lines that name a card, and every line of a
/// card account's statement (an account some company card is known by).
fn card_lines(
    company: CompanyId,
    statement: kvits_statements::Statement,
    methods: &[PaymentMethod],
) -> Vec<Incoming> {
    let card_account = |account: &str| {
        !account.is_empty()
            && methods.iter().any(|m| {
                m.statement_ref
                    .as_deref()
                    .is_some_and(|r| card_ref_key(r) == card_ref_key(account))
            })
    };
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut out = Vec::new();
    for line in statement.lines {
        let card_ref = match &line.card {
            Some(card) => card.clone(),
            None if card_account(&line.account) => line.account.clone(),
            None => continue,
        };
        let identity = identity(&line);
        let n = seen.entry(identity.clone()).or_default();
        *n += 1;
        let id = CardTransactionId::for_identity(company, &format!("{identity}\u{1f}{n}"));
        out.push(Incoming { id, card_ref, line });
    }
    out
}

/// A card line's identity across statements: the bank's reference where there is one, else
/// the account, booking day, amount and text.
fn identity(line: &kvits_statements::Line) -> String {
    let account = card_ref_key(&line.account);
    let sign = match line.direction {
        kvits_statements::Direction::Debit => '-',
        kvits_statements::Direction::Credit => '+',
    };
    match &line.bank_ref {
        Some(r) if !r.trim().is_empty() => format!("ref\u{1f}{account}\u{1f}{}", r.trim()),
        _ => format!(
            "line\u{1f}{account}\u{1f}{}\u{1f}{sign}{}{}\u{1f}{}\u{1f}{}",
            line.booking_date,
            line.amount_minor,
            line.currency,
            line.counterparty.as_deref().unwrap_or_default(),
            line.description
        ),
    }
}

/// The card payment a new card line becomes.
fn transaction(
    company: CompanyId,
    statement: StatementId,
    now: Timestamp,
    incoming: Incoming,
) -> CardTransaction {
    let Incoming { id, card_ref, line } = incoming;
    let signed = match line.direction {
        kvits_statements::Direction::Debit => line.amount_minor,
        kvits_statements::Direction::Credit => -line.amount_minor,
    };
    let merchant = line
        .counterparty
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| line.description.clone());
    CardTransaction {
        id,
        company_id: company,
        statement_id: statement,
        payment_method_id: None,
        holder_id: None,
        card_ref,
        booked_on: line.booking_date,
        spent_on: line.transaction_date.unwrap_or(line.booking_date),
        amount: Money {
            amount_minor: signed,
            currency: line.currency,
        },
        original_amount: line.original.map(|(amount_minor, currency)| Money {
            amount_minor: if signed < 0 {
                -amount_minor
            } else {
                amount_minor
            },
            currency,
        }),
        merchant,
        description: line.description,
        bank_ref: line.bank_ref,
        receipt: CardReceipt::Missing,
        auto_match: true,
        imported_at: now,
        updated_at: now,
    }
}

/// Ties `t` to the company card its reference names (and that card's holder); answers whether
/// that changed anything.
fn tie(t: &mut CardTransaction, methods: &[PaymentMethod]) -> bool {
    let card = kvits_domain::card_for(&t.card_ref, methods);
    let (method, holder) = (card.map(|m| m.id), card.and_then(|m| m.holder_id));
    let changed = t.payment_method_id != method || t.holder_id != holder;
    t.payment_method_id = method;
    t.holder_id = holder;
    changed
}

fn company_transactions(c: &Connection, company: CompanyId) -> ApiResult<Vec<CardTransaction>> {
    Ok(
        store::company_rows(c, EntityKind::CardTransaction, company)?
            .into_iter()
            .filter_map(|e| match e {
                Entity::CardTransaction(t) => Some(t),
                _ => None,
            })
            .collect(),
    )
}

fn company_expenses(c: &Connection, company: CompanyId) -> ApiResult<Vec<Expense>> {
    Ok(store::company_rows(c, EntityKind::Expense, company)?
        .into_iter()
        .filter_map(|e| match e {
            Entity::Expense(x) => Some(x),
            _ => None,
        })
        .collect())
}

fn company_methods(c: &Connection, company: CompanyId) -> ApiResult<Vec<PaymentMethod>> {
    Ok(store::company_rows(c, EntityKind::PaymentMethod, company)?
        .into_iter()
        .filter_map(|e| match e {
            Entity::PaymentMethod(m) => Some(m),
            _ => None,
        })
        .collect())
}

/// Reconciles every automatic match of `company`; answers the writes it made.
fn reconcile_company(
    c: &Connection,
    actor: &Actor,
    now: Timestamp,
    company: CompanyId,
) -> ApiResult<Vec<kvits_domain::Write>> {
    let transactions = company_transactions(c, company)?;
    let expenses = company_expenses(c, company)?;
    reconcile(c, actor, now, &transactions, &expenses)
}

fn reconcile(
    c: &Connection,
    actor: &Actor,
    now: Timestamp,
    transactions: &[CardTransaction],
    expenses: &[Expense],
) -> ApiResult<Vec<kvits_domain::Write>> {
    let state = DbState::for_user(c, actor.user_id);
    let writes = kvits_domain::reconcile(&state, actor, now, transactions, expenses);
    if let Some(e) = state.take_error() {
        return Err(e);
    }
    store::write_all(c, actor.firm_id, &writes)?;
    Ok(writes)
}

/// Imports a statement file into `file.company`'s card payments for `user`: one transaction
/// that stores the new payments and the import, ties them to cards and matches receipts.
/// Nothing is stored when the file cannot be read, or when it holds nothing new.
pub fn import(
    c: &mut Connection,
    user: UserId,
    file: &ImportFile<'_>,
) -> ApiResult<StatementImportSummary> {
    let statement = read(c, user, file)?;
    store_statement(c, user, file, statement)
}

/// Reads `file` whole for `user`, who must be allowed to import into its company, with the
/// firm's bank profile it names: the slow half of an import, which holds no transaction (the
/// server runs it on a reader connection, so pushes go on meanwhile).
pub fn read(
    c: &Connection,
    user: UserId,
    file: &ImportFile<'_>,
) -> ApiResult<kvits_statements::Statement> {
    let actor = statement_actor(c, user, file.company)?;
    let profile = file
        .profile
        .map(|name| profile(c, actor.firm_id, name))
        .transpose()?;
    read_statement(file, profile.as_ref())
}

/// Stores what [`read`] read from `file`, in one transaction that checks the user's access
/// again: the new payments, tied to their cards, the company's matches reconciled, the import
/// recorded.
pub fn store_statement(
    c: &mut Connection,
    user: UserId,
    file: &ImportFile<'_>,
    statement: kvits_statements::Statement,
) -> ApiResult<StatementImportSummary> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let actor = statement_actor(&tx, user, file.company)?;
    let format = format_of(statement.format);
    let (from, to) = (statement.from, statement.to);
    let methods = company_methods(&tx, file.company)?;
    let lines = card_lines(file.company, statement, &methods);
    let now = crate::now();
    let statement_id = StatementId(uuid::Uuid::now_v7());
    let mut summary = StatementImportSummary {
        format,
        transactions: u32::try_from(lines.len()).unwrap_or(u32::MAX),
        new: 0,
        duplicates: 0,
        matched: 0,
        statement_id: None,
        unknown_cards: Vec::new(),
    };
    let mut unknown = BTreeSet::new();
    let mut new_ids = BTreeSet::new();
    for incoming in lines {
        if store::load(&tx, EntityKind::CardTransaction, incoming.id.0)?.is_some() {
            summary.duplicates += 1;
            continue;
        }
        let mut t = transaction(file.company, statement_id, now, incoming);
        tie(&mut t, &methods);
        if t.payment_method_id.is_none() {
            unknown.insert(t.card_ref.clone());
        }
        new_ids.insert(t.id);
        store::put(&tx, actor.firm_id, &Entity::CardTransaction(t))?;
        summary.new += 1;
    }
    summary.unknown_cards = unknown.into_iter().collect();
    if summary.new == 0 {
        // Nothing new: no import to list, nothing to reconcile.
        return Ok(summary);
    }
    let writes = reconcile_company(&tx, &actor, now, file.company)?;
    summary.matched = u32::try_from(
        writes
            .iter()
            .filter(|w| {
                matches!(w, kvits_domain::Write::Put(Entity::CardTransaction(t))
                    if new_ids.contains(&t.id) && t.matched_expense().is_some())
            })
            .count(),
    )
    .unwrap_or(u32::MAX);
    tx.execute(
        "INSERT INTO statements (id, firm_id, company_id, format, file_name, sha256, period_from,
             period_to, transactions, new, imported_by, imported_by_name, imported_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            statement_id.to_string(),
            actor.firm_id.to_string(),
            file.company.to_string(),
            format_name(format),
            file.file_name,
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(file.bytes)),
            from.map(|d| d.to_string()),
            to.map(|d| d.to_string()),
            summary.transactions,
            summary.new,
            actor.user_id.to_string(),
            actor.name,
            now.to_rfc3339(),
        ],
    )?;
    tx.commit()?;
    summary.statement_id = Some(statement_id);
    Ok(summary)
}

/// The wire name of a format (`camt.053`).
pub fn format_name(f: StatementFormat) -> &'static str {
    parser_format(f).as_str()
}

/// What a change to the company's receipts or cards may change about automatic matches,
/// noted before the change is applied (an edited receipt's earlier amount matters too).
#[derive(Debug, Default)]
pub(crate) struct Watch {
    company: Option<CompanyId>,
    amounts: BTreeSet<i64>,
    expenses: BTreeSet<ExpenseId>,
    /// A card was saved: tie the company's payments to cards again, then reconcile it whole.
    relink: bool,
}

/// What `m` may change about the automatic matches of a company with card payments; `None`
/// when it cannot change any (most mutations, and every company without card payments).
pub(crate) fn watch(c: &Connection, m: &Mutation) -> ApiResult<Option<Watch>> {
    let mut w = Watch::default();
    let expense = |id: ExpenseId| -> ApiResult<Option<Expense>> {
        Ok(match store::load(c, EntityKind::Expense, id.0)? {
            Some(Entity::Expense(e)) => Some(e),
            _ => None,
        })
    };
    match m {
        Mutation::CreateExpense {
            expense_id,
            company_id,
            fields,
            ..
        } => {
            w.company = Some(*company_id);
            w.expenses.insert(*expense_id);
            w.amounts
                .extend(fields.amount.as_ref().map(|a| a.amount_minor));
        }
        Mutation::SetExpenseFields { expense_id, fields } => {
            w.expenses.insert(*expense_id);
            w.amounts
                .extend(fields.amount.as_ref().map(|a| a.amount_minor));
            if let Some(e) = expense(*expense_id)? {
                w.company = Some(e.company_id);
                w.amounts.extend(e.fields.amount.map(|a| a.amount_minor));
            }
        }
        Mutation::SubmitExpense { expense_id }
        | Mutation::DeleteExpense { expense_id }
        | Mutation::DecideExpense { expense_id, .. } => {
            w.expenses.insert(*expense_id);
            if let Some(e) = expense(*expense_id)? {
                w.company = Some(e.company_id);
                w.amounts.extend(e.fields.amount.map(|a| a.amount_minor));
            }
        }
        Mutation::PutPaymentMethod(pm) => {
            w.company = Some(pm.company_id);
            w.relink = true;
        }
        _ => return Ok(None),
    }
    let Some(company) = w.company else {
        return Ok(None);
    };
    let has_payments: bool = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM entities
             WHERE company_id = ?1 AND kind = 'card_transaction' AND deleted = 0)",
        )?
        .query_row([company.to_string()], |r| r.get(0))?;
    Ok(has_payments.then_some(w))
}

/// Brings the automatic matches a change may have touched up to date, after its writes, in
/// the same transaction.
pub(crate) fn settle(c: &Connection, actor: &Actor, now: Timestamp, w: Watch) -> ApiResult<()> {
    let Some(company) = w.company else {
        return Ok(());
    };
    if w.relink {
        relink(c, actor, now, company)?;
        reconcile_company(c, actor, now, company)?;
        return Ok(());
    }
    let mut amounts = w.amounts;
    let mut expense_ids = w.expenses;
    for _ in 0..MAX_CLOSURE_ROUNDS {
        let transactions = payments_touching(c, company, &amounts, &expense_ids)?;
        let mut wanted = amounts.clone();
        for t in &transactions {
            wanted.insert(t.amount.amount_minor);
            wanted.extend(t.original_amount.as_ref().map(|m| m.amount_minor));
        }
        let expenses = receipts_of_amounts(c, company, &wanted)?;
        let mut ids = expense_ids.clone();
        ids.extend(expenses.iter().map(|e| e.id));
        for e in &expenses {
            wanted.extend(e.fields.amount.as_ref().map(|m| m.amount_minor));
        }
        if wanted == amounts && ids == expense_ids {
            // Closed: every payment and receipt sharing an amount with these is here, and
            // so is every payment matched to one of these receipts.
            reconcile(c, actor, now, &transactions, &expenses)?;
            return Ok(());
        }
        amounts = wanted;
        expense_ids = ids;
    }
    reconcile_company(c, actor, now, company)?;
    Ok(())
}

/// The company's payments of one of `amounts` (in either of their currencies), and those
/// matched to one of `expenses`.
fn payments_touching(
    c: &Connection,
    company: CompanyId,
    amounts: &BTreeSet<i64>,
    expenses: &BTreeSet<ExpenseId>,
) -> ApiResult<Vec<CardTransaction>> {
    let amounts = serde_json::to_string(amounts)?;
    let expenses =
        serde_json::to_string(&expenses.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    let mut stmt = c.prepare_cached(
        "SELECT body FROM entities WHERE company_id = ?1 AND kind = 'card_transaction'
             AND deleted = 0
             AND json_extract(body, '$.amount.amount_minor') IN (SELECT value FROM json_each(?2))
         UNION
         SELECT body FROM entities WHERE company_id = ?1 AND kind = 'card_transaction'
             AND deleted = 0
             AND json_extract(body, '$.original_amount.amount_minor')
                 IN (SELECT value FROM json_each(?2))
         UNION
         SELECT body FROM entities WHERE kind = 'card_transaction' AND deleted = 0
             AND parent_id IN (SELECT value FROM json_each(?3))",
    )?;
    let rows = stmt.query_map(params![company.to_string(), amounts, expenses], |r| {
        r.get::<_, String>(0)
    })?;
    let mut out = Vec::new();
    for body in rows {
        if let Entity::CardTransaction(t) = serde_json::from_str(&body?)? {
            out.push(t);
        }
    }
    Ok(out)
}

/// The company's receipts of one of `amounts`.
fn receipts_of_amounts(
    c: &Connection,
    company: CompanyId,
    amounts: &BTreeSet<i64>,
) -> ApiResult<Vec<Expense>> {
    let amounts = serde_json::to_string(amounts)?;
    let mut stmt = c.prepare_cached(
        "SELECT body FROM entities WHERE company_id = ?1 AND kind = 'expense' AND deleted = 0
             AND json_extract(body, '$.fields.amount.amount_minor')
                 IN (SELECT value FROM json_each(?2))",
    )?;
    let rows = stmt.query_map(params![company.to_string(), amounts], |r| {
        r.get::<_, String>(0)
    })?;
    let mut out = Vec::new();
    for body in rows {
        if let Entity::Expense(e) = serde_json::from_str(&body?)? {
            out.push(e);
        }
    }
    Ok(out)
}

/// Ties every payment of `company` to the card its reference names now (cards saved since,
/// holders changed).
fn relink(c: &Connection, actor: &Actor, now: Timestamp, company: CompanyId) -> ApiResult<()> {
    let methods = company_methods(c, company)?;
    for mut t in company_transactions(c, company)? {
        if tie(&mut t, &methods) {
            t.updated_at = now;
            store::put(c, actor.firm_id, &Entity::CardTransaction(t))?;
        }
    }
    Ok(())
}

/// The card report of `company` for payments made `from`..=`to` (either end open).
pub fn report(
    c: &Connection,
    company: CompanyId,
    from: Option<Date>,
    to: Option<Date>,
) -> ApiResult<CardReport> {
    let methods: BTreeMap<_, PaymentMethod> = company_methods(c, company)?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let members: BTreeMap<UserId, String> = store::company(c, company)?
        .map(|co| {
            co.members
                .into_iter()
                .map(|m| (m.user_id, m.name))
                .collect()
        })
        .unwrap_or_default();
    let mut payments: Vec<CardTransaction> = company_transactions(c, company)?
        .into_iter()
        .filter(|t| from.is_none_or(|f| t.spent_on >= f) && to.is_none_or(|l| t.spent_on <= l))
        .collect();
    payments.sort_by(|a, b| (a.spent_on, &a.card_ref, a.id).cmp(&(b.spent_on, &b.card_ref, b.id)));
    let mut rows: BTreeMap<(String, Option<kvits_protocol::PaymentMethodId>), CardReportRow> =
        BTreeMap::new();
    for t in payments.iter().filter(|t| t.is_payment()) {
        let method = t.payment_method_id.and_then(|id| methods.get(&id));
        let card = method.map_or_else(|| t.card_ref.clone(), PaymentMethod::display_name);
        let row = rows
            .entry((card.clone(), t.payment_method_id))
            .or_insert_with(|| CardReportRow {
                payment_method_id: t.payment_method_id,
                card,
                holder_name: method
                    .and_then(|m| m.holder_id)
                    .and_then(|h| members.get(&h).cloned()),
                transactions: 0,
                matched: 0,
                missing: 0,
                declared: 0,
                spent: Money {
                    amount_minor: 0,
                    currency: t.amount.currency.clone(),
                },
            });
        row.transactions += 1;
        match t.receipt {
            CardReceipt::Missing => row.missing += 1,
            CardReceipt::Matched { .. } => row.matched += 1,
            CardReceipt::Declared { .. } => row.declared += 1,
        }
        if row.spent.currency == t.amount.currency {
            row.spent.amount_minor = row.spent.amount_minor.saturating_add(t.amount.amount_minor);
        }
    }
    let missing = payments
        .iter()
        .filter(|t| t.is_missing())
        .cloned()
        .collect();
    let declared = payments
        .iter()
        .filter(|t| matches!(t.receipt, CardReceipt::Declared { accepted: None, .. }))
        .cloned()
        .collect();
    Ok(CardReport {
        company_id: company,
        from,
        to,
        cards: rows.into_values().collect(),
        missing,
        declared,
    })
}

/// The company's imports, newest first.
pub fn imports(c: &Connection, company: CompanyId) -> ApiResult<Vec<StatementImport>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, format, file_name, sha256, period_from, period_to, transactions, new,
                imported_by_name, imported_at
         FROM statements WHERE company_id = ?1 ORDER BY imported_at DESC, id DESC",
    )?;
    let rows = stmt.query_map([company.to_string()], |r| {
        Ok((
            store::uuid_col::<StatementId>(r, 0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, u32>(6)?,
            r.get::<_, u32>(7)?,
            r.get::<_, String>(8)?,
            r.get::<_, String>(9)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, format, file_name, sha256, from, to, transactions, new, by, at) = row?;
        let format = kvits_statements::Format::parse(&format)
            .map(format_of)
            .ok_or_else(|| ApiError::internal(format!("stored format {format} is unknown")))?;
        let date = |d: Option<String>| d.and_then(|d| d.parse::<Date>().ok());
        out.push(StatementImport {
            id,
            company_id: company,
            format,
            file_name,
            sha256,
            from: date(from),
            to: date(to),
            transactions,
            new,
            imported_by_name: by,
            imported_at: chrono::DateTime::parse_from_rfc3339(&at)
                .map_err(ApiError::internal)?
                .with_timezone(&chrono::Utc),
        });
    }
    Ok(out)
}

/// The firm's saved CSV layouts, by name.
pub fn profiles(c: &Connection, firm: kvits_protocol::FirmId) -> ApiResult<Vec<CsvProfile>> {
    let mut stmt =
        c.prepare_cached("SELECT profile FROM bank_profiles WHERE firm_id = ?1 ORDER BY name")?;
    let rows = stmt.query_map([firm.to_string()], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for json in rows {
        out.push(serde_json::from_str(&json?).map_err(ApiError::internal)?);
    }
    Ok(out)
}

/// Saves a CSV layout under its name (replacing the firm's layout of that name).
pub fn save_profile(
    c: &Connection,
    firm: kvits_protocol::FirmId,
    profile: &CsvProfile,
) -> ApiResult<()> {
    kvits_statements::validate_profile(profile)
        .map_err(|e| ApiError::bad_request(format!("this bank profile cannot be used: {e}")))?;
    c.execute(
        "INSERT INTO bank_profiles (id, firm_id, name, profile, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (firm_id, name) DO UPDATE SET profile = excluded.profile,
             updated_at = excluded.updated_at",
        params![
            uuid::Uuid::now_v7().to_string(),
            firm.to_string(),
            profile.name,
            serde_json::to_string(profile)?,
            crate::now().to_rfc3339(),
        ],
    )?;
    Ok(())
}

/// Forgets the firm's CSV layout of this name; false when there is none. Imports made with it
/// keep their payments.
pub fn delete_profile(c: &Connection, firm: kvits_protocol::FirmId, name: &str) -> ApiResult<bool> {
    let n = c.execute(
        "DELETE FROM bank_profiles WHERE firm_id = ?1 AND name = ?2",
        params![firm.to_string(), name],
    )?;
    Ok(n > 0)
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/// Who may use the card endpoints, as their 403 says.
const WHO: &str =
    "`forbidden`: only the company's admins and the accounting firm handle card statements.";

pub(crate) fn routes() -> Routes {
    Routes::new()
        .post(
            "/v1/companies/{company_id}/statements",
            import_handler,
            |g| {
                Operation::new("importStatement", "cards", "Import a bank statement")
                    .describe(
                        "The company's admins and the firm's staff. The body is the statement \
                         file as the bank gave it: ISO 20022 camt.052/053/054 (versions \
                         .001.02 to .001.08), FiDAViSta, MT940, or CSV read with one of the \
                         firm's bank profiles. Its card payments become the company's card \
                         transactions; lines already imported (the same file again, an \
                         overlapping period) are counted as duplicates and change nothing. \
                         A file that cannot be read is refused whole: nothing is stored.",
                    )
                    .bearer()
                    .path_param("company_id", schema::<CompanyId>(g), "The company.")
                    .query_params(query_params_of::<ImportQuery>(g))
                    .body("application/octet-stream", "The statement file.")
                    .db()
                    .json(200, "What the import did.", schema::<StatementImportSummary>(g))
                    .error(
                        400,
                        "`bad_request`: the file is not a statement Kvits reads (malformed, \
                         truncated, a DTD or entities, an unknown format or version, a wrong \
                         encoding), or the bank profile is unknown.",
                    )
                    .error(403, WHO)
                    .error(413, "`too_large`: the file is over 20 MB.")
            },
        )
        .get("/v1/companies/{company_id}/statements", list_handler, |g| {
            Operation::new("listStatements", "cards", "A company's statement imports")
                .describe("The company's admins and the firm's staff. Newest first.")
                .bearer()
                .path_param("company_id", schema::<CompanyId>(g), "The company.")
                .db()
                .json(
                    200,
                    "The imports.",
                    serde_json::json!({"type": "array", "items": schema::<StatementImport>(g)}),
                )
                .error(403, WHO)
        })
        .get("/v1/companies/{company_id}/card-report", report_handler, |g| {
            Operation::new("cardReport", "cards", "The card report")
                .describe(
                    "The company's admins and the firm's staff. Per card, the period's payments \
                     and how many are matched to a receipt, missing one, or declared without \
                     one; the missing payments; the declarations waiting for the firm.",
                )
                .bearer()
                .path_param("company_id", schema::<CompanyId>(g), "The company.")
                .query_params(query_params_of::<ReportQuery>(g))
                .db()
                .json(200, "The report.", schema::<CardReport>(g))
                .error(403, WHO)
        })
        .get("/v1/bank-profiles", profiles_handler, |g| {
            Operation::new("listBankProfiles", "cards", "The firm's bank profiles")
                .describe("The firm's staff and company admins. The saved CSV layouts, by name.")
                .bearer()
                .db()
                .json(
                    200,
                    "The profiles.",
                    serde_json::json!({"type": "array", "items": schema::<CsvProfile>(g)}),
                )
        })
        .post("/v1/bank-profiles", save_profile_handler, |g| {
            Operation::new("saveBankProfile", "cards", "Save a bank profile")
                .describe(
                    "The firm's staff. Saves a bank's CSV layout under its name, replacing the \
                     firm's layout of that name.",
                )
                .bearer()
                .json_body(schema::<CsvProfile>(g))
                .db()
                .empty(204, "Saved.")
                .error(400, "`bad_request`: the layout cannot read a statement (no amount column, a bad date format, an unknown encoding).")
                .error(403, "`forbidden`: only the firm's staff save bank profiles.")
        })
        .delete("/v1/bank-profiles/{name}", delete_profile_handler, |g| {
            Operation::new("deleteBankProfile", "cards", "Delete a bank profile")
                .describe(
                    "The firm's staff. Forgets the firm's CSV layout of this name; the payments \
                     imported with it stay.",
                )
                .bearer()
                .path_param("name", schema::<String>(g), "The profile's name.")
                .db()
                .empty(204, "Deleted.")
                .error(403, "`forbidden`: only the firm's staff delete bank profiles.")
                .error(404, "`not_found`: the firm has no bank profile of this name.")
        })
        // The JSON bodies' limit; an import reads its file itself, up to the statement limit.
        .layer(DefaultBodyLimit::max(crate::MAX_JSON_BODY))
}

/// The query of an import.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ImportQuery {
    /// The file's name, as the user chose it (shown in the list of imports).
    #[serde(default)]
    file_name: Option<String>,
    /// `camt.053`, `fidavista`, `mt940`, `csv`, …; recognised from the content when absent
    /// (a CSV file needs `profile`).
    #[serde(default)]
    format: Option<StatementFormat>,
    /// The firm's bank profile to read a CSV file with.
    #[serde(default)]
    profile: Option<String>,
    /// The file's encoding when not UTF-8 (MT940): `windows-1250`, `iso-8859-2`, `ibm852`.
    #[serde(default)]
    encoding: Option<String>,
}

/// The period of a card report.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ReportQuery {
    /// First day (payments made on or after it).
    #[serde(default)]
    from: Option<Date>,
    /// Last day, included.
    #[serde(default)]
    to: Option<Date>,
}

async fn import_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(company): Path<CompanyId>,
    Query(q): Query<ImportQuery>,
    body: Body,
) -> ApiResult<(StatusCode, Json<StatementImportSummary>)> {
    // Read here, not by an extractor, so the limit is the statement's (not the JSON bodies')
    // and a file over it is answered with what the limit is.
    let body = axum::body::to_bytes(body, kvits_statements::MAX_STATEMENT_BYTES)
        .await
        .map_err(|_| {
            ApiError::too_large(format!(
                "a statement file may be at most {} MB",
                kvits_statements::MAX_STATEMENT_BYTES / (1024 * 1024)
            ))
        })?;
    let q = std::sync::Arc::new(q);
    let (read_q, read_body) = (q.clone(), body.clone());
    let statement = state
        .db
        .read(move |c| read(c, user.user_id, &import_file(company, &read_q, &read_body)))
        .await?;
    let summary = state
        .db
        .write(move |c| {
            store_statement(c, user.user_id, &import_file(company, &q, &body), statement)
        })
        .await?;
    if summary.new > 0 {
        sync::announce(&state, user.firm_id).await?;
    }
    Ok((StatusCode::OK, Json(summary)))
}

/// The file an import request sends, with what its query says of it.
fn import_file<'a>(company: CompanyId, q: &'a ImportQuery, body: &'a [u8]) -> ImportFile<'a> {
    ImportFile {
        company,
        file_name: q.file_name.as_deref().unwrap_or("statement"),
        bytes: body,
        format: q.format,
        profile: q.profile.as_deref(),
        encoding: q.encoding.as_deref(),
    }
}

async fn list_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(company): Path<CompanyId>,
) -> ApiResult<Json<Vec<StatementImport>>> {
    let list = state
        .db
        .read(move |c| {
            statement_actor(c, user.user_id, company)?;
            imports(c, company)
        })
        .await?;
    Ok(Json(list))
}

async fn report_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(company): Path<CompanyId>,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Json<CardReport>> {
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Err(ApiError::bad_request(format!(
            "the period starts on {from}, after it ends on {to}"
        )));
    }
    let report = state
        .db
        .read(move |c| {
            statement_actor(c, user.user_id, company)?;
            report(c, company, q.from, q.to)
        })
        .await?;
    Ok(Json(report))
}

async fn profiles_handler(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<CsvProfile>>> {
    let list = state
        .db
        .read(move |c| {
            let actor = store::actor(c, user.user_id)?;
            let allowed = actor
                .roles
                .values()
                .any(|roles| roles.iter().any(|r| STATEMENT_ROLES.contains(r)));
            if !allowed {
                return Err(ApiError::forbidden(
                    "only the company's admins and the accounting firm handle card statements",
                ));
            }
            profiles(c, actor.firm_id)
        })
        .await?;
    Ok(Json(list))
}

/// Refuses anyone but the firm's staff (as they are now, not as the token was issued).
fn staff_only(c: &Connection, user: &AuthUser, what: &str) -> ApiResult<()> {
    if store::standing(c, user.user_id)?.staff.is_none() {
        return Err(ApiError::forbidden(format!(
            "only the accounting firm's staff {what}"
        )));
    }
    Ok(())
}

async fn save_profile_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Json(profile): Json<CsvProfile>,
) -> ApiResult<StatusCode> {
    state
        .db
        .write(move |c| {
            staff_only(c, &user, "save bank profiles")?;
            save_profile(c, user.firm_id, &profile)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_profile_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .db
        .write(move |c| {
            staff_only(c, &user, "delete bank profiles")?;
            if delete_profile(c, user.firm_id, &name)? {
                Ok(())
            } else {
                Err(ApiError::not_found("bank profile"))
            }
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
