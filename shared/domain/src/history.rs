//! An expense's history: every change the rules accept is written into the expense itself —
//! who, when, what it did, and the fields it touched with their values before and after as
//! people read them. The server decides it like everything else, so every device that may see
//! the expense sees the same history, offline too.

use kvits_protocol::{
    DocumentType, Expense, ExpenseField, FieldChange, HistoryAction, HistoryEntry, VatLine,
    money_text, percent_text,
};

use crate::Cx;

/// Longest value a history entry keeps of a free text (a note); the expense holds the rest.
const MAX_VALUE_CHARS: usize = 200;

/// Adds a change by the actor at `cx.now`. Consecutive edits by the same person are one entry:
/// a field changed twice keeps its first "before" and its last "after", and a field changed
/// back to where it was leaves the entry.
pub(crate) fn record(
    cx: &Cx<'_>,
    e: &mut Expense,
    action: HistoryAction,
    fields: Vec<FieldChange>,
    note: Option<&str>,
) {
    if action == HistoryAction::Edited
        && let Some(last) = e.history.last_mut()
        && last.action == HistoryAction::Edited
        && last.by == cx.actor.user_id
    {
        for change in fields {
            match last.fields.iter_mut().find(|f| f.field == change.field) {
                Some(earlier) => earlier.after = change.after,
                None => last.fields.push(change),
            }
        }
        last.fields.retain(|f| f.before != f.after);
        last.fields.sort_by_key(|f| f.field);
        last.at = cx.now;
        if last.fields.is_empty() {
            e.history.pop();
        }
        return;
    }
    e.history.push(HistoryEntry {
        at: cx.now,
        by: cx.actor.user_id,
        by_name: cx.actor.name.clone(),
        action,
        fields,
        note: note.map(str::to_owned),
    });
}

/// Adds a change that turned `before` into `e`, with the fields it touched.
pub(crate) fn record_diff(cx: &Cx<'_>, before: &Expense, e: &mut Expense, action: HistoryAction) {
    let fields = diff(cx, before, e);
    record(cx, e, action, fields, None);
}

/// The fields that differ between two states of one expense, as people read them.
fn diff(cx: &Cx<'_>, before: &Expense, after: &Expense) -> Vec<FieldChange> {
    let old = values(cx, before);
    let new = values(cx, after);
    old.into_iter()
        .zip(new)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((field, before), (_, after))| FieldChange {
            field,
            before,
            after,
        })
        .collect()
}

/// Every field the history names, with its value as text (`None`: empty).
fn values(cx: &Cx<'_>, e: &Expense) -> Vec<(ExpenseField, Option<String>)> {
    let f = &e.fields;
    let currency = f.amount.as_ref().map_or("EUR", |m| m.currency.as_str());
    vec![
        (
            ExpenseField::DocumentType,
            Some(
                match e.document_type {
                    DocumentType::Receipt => "Receipt",
                    DocumentType::Invoice => "Invoice",
                    DocumentType::Other => "Other",
                }
                .to_owned(),
            ),
        ),
        (
            ExpenseField::ExpenseType,
            f.expense_type_id.map(|id| {
                cx.state
                    .expense_type(id)
                    .map_or_else(|| "an unknown type".to_owned(), |t| t.name)
            }),
        ),
        (
            ExpenseField::PaymentMethod,
            f.payment_method_id.map(|id| {
                cx.state.payment_method(id).map_or_else(
                    || "an unknown payment method".to_owned(),
                    |m| m.display_name(),
                )
            }),
        ),
        (ExpenseField::Amount, f.amount.as_ref().map(money_text)),
        (
            ExpenseField::BaseAmount,
            f.base_amount.as_ref().map(money_text),
        ),
        (ExpenseField::Date, f.date.map(|d| d.to_string())),
        (ExpenseField::Merchant, f.merchant.as_deref().map(shortened)),
        (ExpenseField::Note, f.note.as_deref().map(shortened)),
        (
            ExpenseField::Vat,
            (!f.vat.is_empty()).then(|| vat_text(&f.vat, currency)),
        ),
        (ExpenseField::AccountCode, f.account_code.clone()),
        (
            ExpenseField::Pages,
            (!e.pages.is_empty()).then(|| {
                // The start of each page's hash tells a replaced photo from the same one.
                let hashes: Vec<String> = e
                    .pages
                    .iter()
                    .map(|p| p.sha256.chars().take(8).collect())
                    .collect();
                match e.pages.len() {
                    1 => format!("1 page ({})", hashes.join(", ")),
                    n => format!("{n} pages ({})", hashes.join(", ")),
                }
            }),
        ),
    ]
}

/// `21 %: 10.00 + 2.10 VAT; 9 %: 5.00 + 0.45 VAT`.
pub fn vat_text(lines: &[VatLine], currency: &str) -> String {
    lines
        .iter()
        .map(|l| {
            format!(
                "{}: {} + {} VAT",
                percent_text(l.rate_bp),
                kvits_protocol::decimal_amount(l.net_minor, currency),
                kvits_protocol::decimal_amount(l.vat_minor, currency)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn shortened(text: &str) -> String {
    if text.chars().count() <= MAX_VALUE_CHARS {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(MAX_VALUE_CHARS - 1).collect();
    short.push('…');
    short
}
