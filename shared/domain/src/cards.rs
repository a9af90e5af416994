//! Card payments and their receipts. The server imports a company's card payments from the
//! bank's statements; each payment then needs its receipt. A person matches one (or declares
//! there is none, and the firm accepts that), or Kvits matches it by itself when exactly one
//! receipt fits and that receipt fits no other payment.
//!
//! Automatic matching is a function of the whole set, not of the order things arrived in
//! ([`auto_matches`]): a payment fits a receipt automatically when the amounts are equal in the
//! same currency (the statement's, or the one the card was used in) and either the dates are at
//! most [`DATE_WINDOW_DAYS`] apart or the merchants' names are alike; a pair is made only when
//! each of the two has no other automatic fit. The server runs [`reconcile`] after an import and
//! after every change to a receipt, so a later import that makes a pair ambiguous undoes it. A
//! person's decision (a match, an unmatch, a declaration) takes the payment out of automatic
//! matching for good.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kvits_protocol::{
    Accepted, CardReceipt, CardTransaction, CardTransactionId, Entity, Expense, ExpenseField,
    ExpenseId, ExpenseStatus, FieldChange, HistoryAction, Money, NoReceiptReason, PaymentKind,
    PaymentMethod, Role, Timestamp, money_text,
};
use unicode_normalization::UnicodeNormalization;

use crate::access::CARD_ROLES;
use crate::expense::visible;
use crate::history::record;
use crate::{Actor, Applied, Cx, DomainError, State, Write, validate};

/// How far apart a receipt's date and a payment's day may be for an automatic match.
pub const DATE_WINDOW_DAYS: u64 = 3;

/// How far apart they may be for a suggestion by amount alone.
const SUGGEST_WINDOW_DAYS: u64 = 30;

/// How alike two merchant names must be ([`merchant_similarity`]) to count as the same.
pub const SIMILAR_MERCHANT: f64 = 0.85;

/// A tip: a card payment up to this much over the receipt's total (per cent) is suggested when
/// date and merchant agree.
const TIP_PERCENT: i64 = 25;

/// A receipt in another currency, against a payment whose statement does not say what the card
/// was used in: its base amount (at the receipt's own rate) this close to the payment (per
/// cent) is suggested when the dates agree. Card schemes' rates and the banks' fees differ from
/// the reference rates by a few per cent.
const FX_PERCENT: i64 = 5;

/// How well a receipt fits a card payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fit {
    /// Not this one.
    No,
    /// Worth showing to a person, who confirms it.
    Suggest,
    /// Fits well enough for Kvits to match them by itself, if nothing else fits either.
    Auto,
}

/// What [`auto_matches`] decided for one payment: the receipt Kvits matches it to, or none.
pub type AutoMatch = BTreeMap<CardTransactionId, Option<ExpenseId>>;

/// The company card a statement's card reference names: the company's one card whose
/// statement reference is it, or else whose last four digits end it. `None` when no card or
/// several cards fit (the firm assigns it).
pub fn card_for<'a>(
    card_ref: &str,
    methods: impl IntoIterator<Item = &'a PaymentMethod>,
) -> Option<&'a PaymentMethod> {
    let wanted = card_ref_key(card_ref);
    let digits: String = wanted.chars().filter(char::is_ascii_digit).collect();
    let last_four = (digits.len() >= 4 && wanted.ends_with(&digits[digits.len() - 4..]))
        .then(|| &digits[digits.len() - 4..]);
    let cards: Vec<&PaymentMethod> = methods
        .into_iter()
        .filter(|m| m.payment_kind == PaymentKind::CompanyCard)
        .collect();
    let by_ref: Vec<&PaymentMethod> = cards
        .iter()
        .copied()
        .filter(|m| {
            m.statement_ref.as_deref().map(card_ref_key).as_deref() == Some(wanted.as_str())
        })
        .collect();
    if let [one] = by_ref.as_slice() {
        return Some(one);
    }
    if !by_ref.is_empty() {
        return None;
    }
    let four = last_four?;
    let by_four: Vec<&PaymentMethod> = cards
        .into_iter()
        .filter(|m| m.last_four.as_deref() == Some(four))
        .collect();
    match by_four.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// A card reference as references compare: upper case, without spaces (`lv80 bank 0000…` and
/// `LV80BANK0000…` are one account).
pub fn card_ref_key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// How alike two merchant names are, from 0 to 1, after folding case and accents and dropping
/// legal forms (SIA, AS, Sp. z o.o., AB, Oy, GmbH …) and words with digits (store and terminal
/// numbers). A name that starts the other one whole ("Rimi" and "RIMI LATVIA RIGA") is 1.
pub fn merchant_similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (merchant_key(a), merchant_key(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    if short.len() >= 3
        && long.starts_with(short.as_str())
        && long[short.len()..].chars().next().is_none_or(|c| c == ' ')
    {
        return 1.0;
    }
    strsim::jaro_winkler(&a, &b)
}

/// Words of a company's legal form, which say nothing about which merchant it is.
const LEGAL_FORMS: [&str; 24] = [
    "sia", "as", "ab", "oy", "oyj", "gmbh", "ltd", "llc", "inc", "uab", "ou", "sp", "z", "o", "oo",
    "spzoo", "sa", "spa", "srl", "bv", "nv", "aps", "asa", "plc",
];

fn merchant_key(name: &str) -> String {
    let folded: String = name
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded
        .split_whitespace()
        .filter(|w| !LEGAL_FORMS.contains(w) && !w.chars().any(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How well expense `e` fits payment `t`. `card` is the payment method `e` names, if any: a
/// receipt paid with own money fits no card payment, one paid with another known card neither.
pub fn fit(t: &CardTransaction, e: &Expense, card: Option<&PaymentMethod>) -> Fit {
    if !t.is_payment() || e.company_id != t.company_id {
        return Fit::No;
    }
    if matches!(e.status, ExpenseStatus::Draft | ExpenseStatus::Rejected) {
        return Fit::No;
    }
    if let Some(card) = card {
        if card.payment_kind == PaymentKind::OwnMoney {
            return Fit::No;
        }
        if t.payment_method_id.is_some_and(|m| m != card.id) {
            return Fit::No;
        }
    }
    let Some(amount) = &e.fields.amount else {
        return Fit::No;
    };
    let same_amount = *amount == t.amount || Some(amount) == t.original_amount.as_ref();
    let days_apart = e
        .fields
        .date
        .map(|d| (d - t.spent_on).num_days().unsigned_abs());
    let near = |window: u64| days_apart.is_some_and(|d| d <= window);
    let same_merchant = e
        .fields
        .merchant
        .as_deref()
        .is_some_and(|m| merchant_similarity(m, &t.merchant) >= SIMILAR_MERCHANT);
    if same_amount && (near(DATE_WINDOW_DAYS) || same_merchant) {
        return Fit::Auto;
    }
    if same_amount && near(SUGGEST_WINDOW_DAYS) {
        return Fit::Suggest;
    }
    let with_tip = amount.currency == t.amount.currency
        && t.amount.amount_minor >= amount.amount_minor
        && t.amount.amount_minor * 100 <= amount.amount_minor * (100 + TIP_PERCENT);
    if with_tip && near(DATE_WINDOW_DAYS) && same_merchant {
        return Fit::Suggest;
    }
    let converted_alike = amount.currency != t.amount.currency
        && t.original_amount
            .as_ref()
            .is_none_or(|o| o.currency != amount.currency)
        && e.fields.base_amount.as_ref().is_some_and(|base| {
            base.currency == t.amount.currency
                && (base.amount_minor - t.amount.amount_minor).abs() * 100
                    <= t.amount.amount_minor.abs() * FX_PERCENT
        });
    if converted_alike && near(DATE_WINDOW_DAYS) {
        return Fit::Suggest;
    }
    Fit::No
}

/// Whether automatic matching decides `t`'s receipt: a payment nobody has decided about, whose
/// receipt is missing or was matched automatically.
fn in_auto_pool(t: &CardTransaction) -> bool {
    t.auto_match
        && t.is_payment()
        && matches!(
            t.receipt,
            CardReceipt::Missing | CardReceipt::Matched { by: None, .. }
        )
}

/// The amounts a payment can be matched by: its own, and the one in the currency the card was
/// used in.
fn amount_keys(t: &CardTransaction) -> impl Iterator<Item = &Money> {
    std::iter::once(&t.amount).chain(t.original_amount.as_ref())
}

/// Which receipt Kvits matches each payment of the automatic pool to, among `expenses`: the
/// one receipt that fits it automatically, when that receipt fits no other pooled payment
/// automatically either. Receipts a person matched are out of the running. `card_of` answers
/// the payment method an expense names.
///
/// The answer depends on the sets only, never on their order. Given every payment and receipt
/// that share an amount with the ones of interest, it is the same as for the whole company.
pub fn auto_matches<'a>(
    transactions: &[CardTransaction],
    expenses: &[Expense],
    card_of: impl Fn(&Expense) -> Option<&'a PaymentMethod>,
) -> AutoMatch {
    let taken: BTreeSet<ExpenseId> = transactions
        .iter()
        .filter(|t| !in_auto_pool(t))
        .filter_map(CardTransaction::matched_expense)
        .collect();
    let mut by_amount: HashMap<(&str, i64), Vec<&Expense>> = HashMap::new();
    for e in expenses {
        if taken.contains(&e.id) {
            continue;
        }
        if let Some(m) = &e.fields.amount {
            by_amount
                .entry((m.currency.as_str(), m.amount_minor))
                .or_default()
                .push(e);
        }
    }
    let mut fits: BTreeMap<CardTransactionId, BTreeSet<ExpenseId>> = BTreeMap::new();
    let mut degree: HashMap<ExpenseId, u32> = HashMap::new();
    for t in transactions.iter().filter(|t| in_auto_pool(t)) {
        let mut found = BTreeSet::new();
        for key in amount_keys(t) {
            let candidates = by_amount.get(&(key.currency.as_str(), key.amount_minor));
            for e in candidates.into_iter().flatten() {
                if fit(t, e, card_of(e)) == Fit::Auto {
                    found.insert(e.id);
                }
            }
        }
        for e in &found {
            *degree.entry(*e).or_default() += 1;
        }
        fits.insert(t.id, found);
    }
    fits.into_iter()
        .map(|(t, found)| {
            let only = match found.iter().collect::<Vec<_>>().as_slice() {
                [one] if degree.get(one) == Some(&1) => Some(**one),
                _ => None,
            };
            (t, only)
        })
        .collect()
}

/// The receipts a person might match `t` to, best first: automatic fits, then suggestions,
/// nearer dates first. Receipts already matched to another payment are left out.
pub fn suggestions<'a>(
    t: &CardTransaction,
    expenses: impl IntoIterator<Item = &'a Expense>,
    matched: &BTreeSet<ExpenseId>,
    card_of: impl Fn(&Expense) -> Option<&'a PaymentMethod>,
) -> Vec<(ExpenseId, Fit)> {
    let mut found: Vec<(Fit, u64, ExpenseId)> = expenses
        .into_iter()
        .filter(|e| !matched.contains(&e.id) || t.matched_expense() == Some(e.id))
        .filter_map(|e| {
            let f = fit(t, e, card_of(e));
            let days = e
                .fields
                .date
                .map_or(u64::MAX, |d| (d - t.spent_on).num_days().unsigned_abs());
            (f != Fit::No).then_some((f, days, e.id))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    found.into_iter().map(|(f, _, id)| (id, f)).collect()
}

/// The writes that bring the automatic matches among `transactions` and `expenses` (all of one
/// company, or everything sharing an amount with what changed: see [`auto_matches`]) to what
/// [`auto_matches`] decides, for `actor` at `now`. Empty when nothing changes.
pub fn reconcile(
    state: &dyn State,
    actor: &Actor,
    now: Timestamp,
    transactions: &[CardTransaction],
    expenses: &[Expense],
) -> Vec<Write> {
    let methods: BTreeMap<_, PaymentMethod> = expenses
        .iter()
        .filter_map(|e| e.fields.payment_method_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter_map(|id| state.payment_method(id).map(|m| (id, m)))
        .collect();
    let decided = auto_matches(transactions, expenses, |e| {
        e.fields.payment_method_id.and_then(|id| methods.get(&id))
    });
    let cx = Cx { state, actor, now };
    let mut changed_expenses: BTreeMap<ExpenseId, Expense> = BTreeMap::new();
    let mut writes = Vec::new();
    let by_id: HashMap<ExpenseId, &Expense> = expenses.iter().map(|e| (e.id, e)).collect();
    for t in transactions {
        let Some(wanted) = decided.get(&t.id) else {
            continue;
        };
        let now_matched = t.matched_expense();
        if now_matched == *wanted {
            continue;
        }
        let mut t = t.clone();
        if let Some(old) = now_matched
            && let Some(e) = changed_expenses
                .get(&old)
                .cloned()
                .or_else(|| by_id.get(&old).map(|e| (*e).clone()))
        {
            let mut e = e;
            note_unmatched(&cx, &t, &mut e, true);
            changed_expenses.insert(e.id, e);
        }
        t.receipt = CardReceipt::Missing;
        if let Some(new) = wanted
            && let Some(e) = changed_expenses
                .get(new)
                .cloned()
                .or_else(|| by_id.get(new).map(|e| (*e).clone()))
        {
            let mut e = e;
            link(&cx, &mut t, &mut e, None);
            changed_expenses.insert(e.id, e);
        }
        t.updated_at = now;
        writes.push(Write::Put(Entity::CardTransaction(t)));
    }
    for (id, e) in changed_expenses {
        let fields_changed = by_id.get(&id).is_some_and(|old| old.fields != e.fields);
        writes.push(Write::Put(Entity::Expense(stamped(e, now, fields_changed))));
    }
    writes
}

/// `e` as changed at `now`. Its revision moves only when its fields changed: a match alone
/// changes nothing an approver decides on, so their pending decision stays valid.
fn stamped(mut e: Expense, now: Timestamp, fields_changed: bool) -> Expense {
    if fields_changed {
        e.revision = e.revision.saturating_add(1);
    }
    e.updated_at = now;
    e
}

/// Matches `t` to `e` by `by` (none: automatically): the payment's receipt is `e`, and `e` takes
/// its amount in the company's currency from the payment when it is in another currency and
/// not locked. Both get their history.
fn link(cx: &Cx<'_>, t: &mut CardTransaction, e: &mut Expense, by: Option<&Actor>) {
    t.receipt = CardReceipt::Matched {
        expense_id: e.id,
        by: by.map(|a| a.user_id),
        at: cx.now,
    };
    t.auto_match = by.is_none();
    t.updated_at = cx.now;
    let mut fields = Vec::new();
    let base = cx.state.company(e.company_id).map(|c| c.base_currency);
    let locked = e.export.as_ref().is_some_and(|m| m.locked);
    if let (Some(base), Some(amount)) = (base, &e.fields.amount)
        && amount.currency != base
        && t.amount.currency == base
        && e.fields.base_amount.as_ref() != Some(&t.amount)
        && !locked
        && e.status != ExpenseStatus::Rejected
    {
        fields.push(FieldChange {
            field: ExpenseField::BaseAmount,
            before: e.fields.base_amount.as_ref().map(money_text),
            after: Some(money_text(&t.amount)),
        });
        e.fields.base_amount = Some(t.amount.clone());
    }
    let how = if by.is_some() { "" } else { " automatically" };
    let note = format!("matched{how} to {}", payment_text(t));
    record(cx, e, HistoryAction::CardMatched, fields, Some(&note));
}

/// Writes into `e`'s history that it is no longer `t`'s receipt.
fn note_unmatched(cx: &Cx<'_>, t: &CardTransaction, e: &mut Expense, automatic: bool) {
    let why = if automatic {
        " (another payment or receipt fits as well)"
    } else {
        ""
    };
    let note = format!("no longer matched to {}{why}", payment_text(t));
    record(cx, e, HistoryAction::CardUnmatched, Vec::new(), Some(&note));
}

/// `the card payment of 2026-11-03, 12.50 EUR at Circle K (****4821)`.
fn payment_text(t: &CardTransaction) -> String {
    format!(
        "the card payment of {}, {} at {} ({})",
        t.spent_on,
        money_text(&t.amount),
        t.merchant,
        t.card_ref
    )
}

/// The write that gives `expense`'s card payment back, when the receipt goes away (deleted) or
/// can no longer stand for it (rejected): its receipt is missing again, and Kvits may match it
/// by itself again.
pub(crate) fn released(cx: &Cx<'_>, expense: ExpenseId) -> Option<Write> {
    let mut t = cx.state.card_transaction_for_expense(expense)?;
    t.receipt = CardReceipt::Missing;
    t.auto_match = true;
    t.updated_at = cx.now;
    Some(Write::Put(Entity::CardTransaction(t)))
}

/// The card transaction, if the actor may see it.
fn transaction(cx: &Cx<'_>, id: CardTransactionId) -> Result<CardTransaction, DomainError> {
    match cx.state.card_transaction(id) {
        Some(t) if crate::can_see(cx.actor, &Entity::CardTransaction(t.clone())) => Ok(t),
        _ => Err(DomainError::not_found("card payment")),
    }
}

/// Whether the actor acts for the company (its admins, the firm), not only as the card's
/// holder.
fn for_company(cx: &Cx<'_>, t: &CardTransaction) -> bool {
    cx.actor.has_any(t.company_id, &CARD_ROLES)
}

fn payment(t: &CardTransaction) -> Result<(), DomainError> {
    if t.is_payment() {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "a refund to the card needs no receipt",
        ))
    }
}

fn put_transaction(mut t: CardTransaction, now: Timestamp, mut writes: Vec<Write>) -> Applied {
    t.updated_at = now;
    writes.insert(0, Write::Put(Entity::CardTransaction(t)));
    Applied::Changes(writes)
}

pub(crate) fn match_receipt(
    cx: &Cx<'_>,
    id: CardTransactionId,
    expense_id: ExpenseId,
) -> Result<Applied, DomainError> {
    let mut t = transaction(cx, id)?;
    payment(&t)?;
    let mut e = visible(cx, expense_id)?;
    if e.company_id != t.company_id {
        return Err(DomainError::not_found("expense"));
    }
    if !for_company(cx, &t) && e.created_by != cx.actor.user_id {
        return Err(DomainError::forbidden(
            "you can match your card's payments to your own receipts only",
        ));
    }
    if e.status == ExpenseStatus::Rejected {
        return Err(DomainError::wrong_state(
            "this receipt was rejected; it cannot stand for a card payment",
        ));
    }
    match &t.receipt {
        CardReceipt::Matched {
            expense_id: matched,
            by,
            ..
        } if *matched == expense_id => {
            if by.is_some() {
                return Ok(Applied::AlreadyApplied);
            }
        }
        CardReceipt::Matched { .. } => {
            return Err(DomainError::wrong_state(
                "this card payment is matched to another receipt; unmatch it first",
            ));
        }
        CardReceipt::Missing | CardReceipt::Declared { .. } => {}
    }
    if let Some(other) = cx.state.card_transaction_for_expense(expense_id)
        && other.id != id
    {
        return Err(DomainError::wrong_state(format!(
            "this receipt is already matched to {}; unmatch that first",
            payment_text(&other)
        )));
    }
    let before = e.fields.clone();
    link(cx, &mut t, &mut e, Some(cx.actor));
    let fields_changed = before != e.fields;
    let e = stamped(e, cx.now, fields_changed);
    Ok(put_transaction(
        t,
        cx.now,
        vec![Write::Put(Entity::Expense(e))],
    ))
}

pub(crate) fn unmatch(cx: &Cx<'_>, id: CardTransactionId) -> Result<Applied, DomainError> {
    let mut t = transaction(cx, id)?;
    let mut writes = Vec::new();
    match &t.receipt {
        CardReceipt::Missing if !t.auto_match => return Ok(Applied::AlreadyApplied),
        CardReceipt::Missing => {}
        CardReceipt::Matched { expense_id, .. } => {
            if let Some(mut e) = cx.state.expense(*expense_id) {
                note_unmatched(cx, &t, &mut e, false);
                writes.push(Write::Put(Entity::Expense(stamped(e, cx.now, false))));
            }
        }
        CardReceipt::Declared { accepted, .. } => {
            if accepted.is_some() && !for_company(cx, &t) {
                return Err(DomainError::forbidden(
                    "the firm has accepted this declaration; ask them to withdraw it",
                ));
            }
        }
    }
    t.receipt = CardReceipt::Missing;
    t.auto_match = false;
    Ok(put_transaction(t, cx.now, writes))
}

pub(crate) fn declare(
    cx: &Cx<'_>,
    id: CardTransactionId,
    reason: NoReceiptReason,
    note: Option<&str>,
) -> Result<Applied, DomainError> {
    let mut t = transaction(cx, id)?;
    payment(&t)?;
    if let Some(note) = note {
        validate::text("note", note, validate::MAX_SHORT_TEXT, false)?;
    }
    match &t.receipt {
        CardReceipt::Matched { .. } => {
            return Err(DomainError::wrong_state(
                "this card payment is matched to a receipt; unmatch it first",
            ));
        }
        CardReceipt::Declared {
            reason: r, note: n, ..
        } if *r == reason && n.as_deref() == note => return Ok(Applied::AlreadyApplied),
        CardReceipt::Declared {
            accepted: Some(_), ..
        } if !for_company(cx, &t) => {
            return Err(DomainError::forbidden(
                "the firm has accepted this declaration already",
            ));
        }
        _ => {}
    }
    t.receipt = CardReceipt::Declared {
        reason,
        note: note.map(str::to_owned),
        by: cx.actor.user_id,
        by_name: cx.actor.name.clone(),
        at: cx.now,
        accepted: None,
    };
    t.auto_match = false;
    Ok(put_transaction(t, cx.now, Vec::new()))
}

pub(crate) fn accept(cx: &Cx<'_>, id: CardTransactionId) -> Result<Applied, DomainError> {
    let mut t = transaction(cx, id)?;
    cx.require(
        t.company_id,
        &[Role::Accountant],
        "accept a payment without a receipt",
    )?;
    let CardReceipt::Declared { accepted, .. } = &mut t.receipt else {
        return Err(DomainError::wrong_state(
            "nobody has declared that this card payment has no receipt",
        ));
    };
    if accepted.is_some() {
        return Ok(Applied::AlreadyApplied);
    }
    *accepted = Some(Accepted {
        by: cx.actor.user_id,
        by_name: cx.actor.name.clone(),
        at: cx.now,
    });
    Ok(put_transaction(t, cx.now, Vec::new()))
}
