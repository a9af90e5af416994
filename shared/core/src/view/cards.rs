//! The card payments screen: the payments without a receipt first (the card holder's, or the
//! whole company's for its admins and the firm), what each can do, and a line per card.

use std::collections::BTreeSet;

use facet::Facet;
use kvits_domain::{Fit, State as _};
use kvits_protocol::{CardReceipt, CardTransaction, ExpenseId, PaymentMethod, money_text};
use serde::{Deserialize, Serialize};

use super::Choice;
use crate::model::{Model, NoReceiptKind, awaits_acceptance, month_of};

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "November 2026".
fn month_label((year, month): (i32, u32)) -> String {
    let name = MONTH_NAMES
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("?");
    format!("{name} {year}")
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CardsView {
    /// "Your card payments" or "Card payments of Birch Bakery".
    pub title: String,
    /// Payments with no receipt and no declaration.
    pub missing: u32,
    /// Every payment is listed, not only those that need something.
    pub show_all: bool,
    /// The months with payments, newest first, after "Every month" (id empty); the one shown
    /// is selected. The counts, the list and the card report are that month's.
    pub months: Vec<Choice>,
    /// Newest first.
    pub rows: Vec<CardPaymentRow>,
    /// More payments than the list shows.
    pub more: u32,
    /// One line per card (the company's admins and the firm).
    pub cards: Vec<CardSummaryRow>,
    /// Where a statement file is sent (`POST`, the file as the body), for those who import
    /// statements; the shell sends it with the user's credentials.
    pub import_path: Option<String>,
    /// Where the firm's CSV bank profiles are listed, for the import form.
    pub profiles_path: Option<String>,
    /// The reasons a declaration offers.
    pub reasons: Vec<Choice>,
}

/// Where a card payment's receipt is.
#[derive(Facet, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub enum CardPaymentState {
    Missing,
    Matched,
    /// Declared without a receipt; the firm has not accepted it yet.
    Declared,
    /// Declared without a receipt, and accepted.
    Accepted,
    /// A refund: no receipt needed.
    Refund,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CardPaymentRow {
    pub id: String,
    /// The day the card was used.
    pub date: String,
    pub merchant: String,
    /// "12.50 EUR".
    pub amount: String,
    /// "250.00 SEK", when the card was used in another currency.
    pub original_amount: Option<String>,
    /// "Visa Business ·4821", or the statement's name for a card not assigned yet.
    pub card: String,
    pub holder: Option<String>,
    pub state: CardPaymentState,
    /// "No receipt yet", "Receipt: Circle K, 12.50 EUR", "No receipt: lost (declared by Emma)".
    pub state_text: String,
    /// The matched receipt, to open.
    pub receipt_id: Option<String>,
    /// Receipts that may be this payment's, best first (label: amount, merchant, day).
    pub suggestions: Vec<Choice>,
    pub can_capture: bool,
    pub can_declare: bool,
    pub can_unmatch: bool,
    pub can_accept: bool,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CardSummaryRow {
    pub card: String,
    pub holder: Option<String>,
    pub payments: u32,
    pub matched: u32,
    pub missing: u32,
    pub declared: u32,
}

/// Most suggestions a row offers.
const MAX_SUGGESTIONS: usize = 3;

impl Model {
    pub(super) fn cards_view(&self) -> CardsView {
        let user = self.actor.as_ref().map(|a| a.user_id);
        let everyone = self.sees_all_cards();
        let all: Vec<&CardTransaction> = self
            .card_payments()
            .into_iter()
            .filter(|t| everyone || t.holder_id == user)
            .collect();
        let shown = self.cards.month;
        let mut with_payments: Vec<(i32, u32)> = all.iter().map(|t| month_of(t.spent_on)).collect();
        with_payments.extend(shown);
        with_payments.sort_unstable_by(|a, b| b.cmp(a));
        with_payments.dedup();
        let months = std::iter::once(Choice {
            id: String::new(),
            label: "Every month".into(),
            detail: None,
            selected: shown.is_none(),
        })
        .chain(with_payments.into_iter().map(|m| Choice {
            id: format!("{:04}-{:02}", m.0, m.1),
            label: month_label(m),
            detail: None,
            selected: Some(m) == shown,
        }))
        .collect();
        let payments: Vec<&CardTransaction> = all
            .into_iter()
            .filter(|t| shown.is_none_or(|m| month_of(t.spent_on) == m))
            .collect();
        let company = self.company().and_then(|c| self.predicted.company(c));
        let name_of = |id: kvits_protocol::UserId| {
            company
                .as_ref()
                .and_then(|c| c.members.iter().find(|m| m.user_id == id))
                .map(|m| m.name.clone())
        };
        let methods: Vec<PaymentMethod> = self
            .predicted
            .payment_methods()
            .filter(|m| Some(m.company_id) == self.company())
            .cloned()
            .collect();
        let card_name = |t: &CardTransaction| {
            t.payment_method_id
                .and_then(|id| methods.iter().find(|m| m.id == id))
                .map_or_else(|| t.card_ref.clone(), PaymentMethod::display_name)
        };
        let matched: BTreeSet<ExpenseId> = payments
            .iter()
            .filter_map(|t| t.matched_expense())
            .collect();
        let wanted: Vec<&&CardTransaction> = payments
            .iter()
            .filter(|t| self.cards.show_all || t.is_missing() || awaits_acceptance(t))
            .collect();
        let more = wanted.len().saturating_sub(self.list_limit) as u32;
        let rows = wanted
            .into_iter()
            .take(self.list_limit)
            .map(|t| self.card_row(t, &card_name(t), name_of, &matched, &methods))
            .collect();
        let mut cards: Vec<CardSummaryRow> = Vec::new();
        if everyone {
            for t in payments.iter().filter(|t| t.is_payment()) {
                let card = card_name(t);
                let i = match cards.iter().position(|c| c.card == card) {
                    Some(i) => i,
                    None => {
                        cards.push(CardSummaryRow {
                            card,
                            holder: t.holder_id.and_then(name_of),
                            payments: 0,
                            matched: 0,
                            missing: 0,
                            declared: 0,
                        });
                        cards.len() - 1
                    }
                };
                let row = &mut cards[i];
                row.payments += 1;
                match t.receipt {
                    CardReceipt::Missing => row.missing += 1,
                    CardReceipt::Matched { .. } => row.matched += 1,
                    CardReceipt::Declared { .. } => row.declared += 1,
                }
            }
            cards.sort_by(|a, b| a.card.cmp(&b.card));
        }
        let company_id = self.company();
        CardsView {
            title: match (&company, everyone) {
                (Some(c), true) => format!("Card payments of {}", c.name),
                _ => "Your card payments".into(),
            },
            missing: payments.iter().filter(|t| t.is_missing()).count() as u32,
            show_all: self.cards.show_all,
            months,
            rows,
            more,
            cards,
            import_path: company_id
                .filter(|_| everyone)
                .map(|c| format!("/v1/companies/{c}/statements")),
            profiles_path: everyone.then(|| "/v1/bank-profiles".to_string()),
            reasons: [NoReceiptKind::Lost, NoReceiptKind::NoneIssued]
                .into_iter()
                .map(|k| Choice {
                    id: format!("{k:?}"),
                    label: k.label().into(),
                    detail: None,
                    selected: false,
                })
                .collect(),
        }
    }

    fn card_row(
        &self,
        t: &CardTransaction,
        card: &str,
        name_of: impl Fn(kvits_protocol::UserId) -> Option<String>,
        matched: &BTreeSet<ExpenseId>,
        methods: &[PaymentMethod],
    ) -> CardPaymentRow {
        let user = self.actor.as_ref().map(|a| a.user_id);
        let mine = t.holder_id.is_some() && t.holder_id == user;
        let acts = mine || self.sees_all_cards();
        let (state, state_text) = match &t.receipt {
            _ if !t.is_payment() => (CardPaymentState::Refund, "Refund: no receipt needed".into()),
            CardReceipt::Missing => (CardPaymentState::Missing, "No receipt yet".to_string()),
            CardReceipt::Matched { expense_id, by, .. } => {
                let what = self
                    .predicted
                    .expense(*expense_id)
                    .map(|e| {
                        let merchant = e.fields.merchant.unwrap_or_else(|| "receipt".into());
                        match e.fields.amount {
                            Some(m) => format!("{merchant}, {}", money_text(&m)),
                            None => merchant,
                        }
                    })
                    .unwrap_or_else(|| "a receipt not on this device".into());
                let how = if by.is_none() {
                    " (matched by Kvits)"
                } else {
                    ""
                };
                (CardPaymentState::Matched, format!("Receipt: {what}{how}"))
            }
            CardReceipt::Declared {
                reason,
                note,
                by_name,
                accepted,
                ..
            } => {
                let why = NoReceiptKind::of(*reason).label().to_lowercase();
                let note = note
                    .as_deref()
                    .map(|n| format!(" — {n}"))
                    .unwrap_or_default();
                match accepted {
                    Some(a) => (
                        CardPaymentState::Accepted,
                        format!("No receipt: {why}{note} (accepted by {})", a.by_name),
                    ),
                    None => (
                        CardPaymentState::Declared,
                        format!("No receipt: {why}{note} (declared by {by_name})"),
                    ),
                }
            }
        };
        let suggestions = if state == CardPaymentState::Missing && acts {
            let card_of = |e: &kvits_protocol::Expense| {
                e.fields
                    .payment_method_id
                    .and_then(|id| methods.iter().find(|m| m.id == id))
            };
            let candidates = self
                .predicted
                .expenses()
                .filter(|e| e.company_id == t.company_id)
                .filter(|e| self.sees_all_cards() || Some(e.created_by) == user);
            kvits_domain::suggestions(t, candidates, matched, card_of)
                .into_iter()
                .take(MAX_SUGGESTIONS)
                .filter_map(|(id, fit)| {
                    let e = self.predicted.expense(id)?;
                    let amount = e.fields.amount.as_ref().map(money_text).unwrap_or_default();
                    let merchant = e.fields.merchant.clone().unwrap_or_default();
                    let day = e.fields.date.map(|d| d.to_string()).unwrap_or_default();
                    Some(Choice {
                        id: id.to_string(),
                        label: format!("{amount} · {merchant} · {day}"),
                        detail: Some(
                            match fit {
                                Fit::Auto => "Fits",
                                _ => "Might fit",
                            }
                            .into(),
                        ),
                        selected: false,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        CardPaymentRow {
            id: t.id.to_string(),
            date: t.spent_on.to_string(),
            merchant: t.merchant.clone(),
            amount: money_text(&t.amount),
            original_amount: t.original_amount.as_ref().map(money_text),
            card: card.to_string(),
            holder: t.holder_id.and_then(&name_of),
            state,
            state_text,
            receipt_id: t.matched_expense().map(|e| e.to_string()),
            suggestions,
            can_capture: state == CardPaymentState::Missing && mine,
            can_declare: state == CardPaymentState::Missing && acts,
            can_unmatch: matches!(
                state,
                CardPaymentState::Matched | CardPaymentState::Declared
            ) && acts,
            can_accept: state == CardPaymentState::Declared
                && self.has_role(kvits_protocol::Role::Accountant),
        }
    }
}
