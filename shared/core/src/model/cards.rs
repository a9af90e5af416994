//! Card payments and their receipts, on the device: the payments the bank's statements listed
//! reach the card's holder (and the company's admins and the firm) with the pull, so the list
//! of "card payments without a receipt" works offline. From a payment the holder starts its
//! receipt (amount, day, merchant and card filled in, the two matched) or declares there is
//! none; a person matches or unmatches a receipt by hand; the firm accepts a declaration. Each
//! is a mutation in the outbox, decided by the domain on both sides.

use crux_core::Command;
use facet::Facet;
use kvits_domain::State as _;
use kvits_protocol::{
    CardReceipt, CardTransaction, CardTransactionId, DocumentType, ExpenseFields, ExpenseId,
    Mutation, NoReceiptReason, Role, Timestamp,
};
use serde::{Deserialize, Serialize};

use super::{After, Cmd, Intent, Model, Screen, parse_id};

/// What the user does with card payments.
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum CardEvent {
    /// Start the receipt of a card payment: a new receipt with the payment's amount, day,
    /// merchant and card, matched to it; the photo comes next.
    CaptureFor { transaction_id: String },
    /// This receipt paid for this card payment.
    Match {
        transaction_id: String,
        expense_id: String,
    },
    /// Undo a payment's match or declaration.
    Unmatch { transaction_id: String },
    /// There is no receipt for this payment, and why.
    DeclareNoReceipt {
        transaction_id: String,
        reason: NoReceiptKind,
        /// Optional; as typed.
        note: String,
    },
    /// Accept a declaration (the firm).
    AcceptNoReceipt { transaction_id: String },
    /// Show every payment, or only those that need something.
    ShowAll { on: bool },
    /// Show one month's payments (`2026-11`), or every month's (empty).
    Month { month: String },
}

/// Why a card payment has no receipt.
#[derive(Facet, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum NoReceiptKind {
    /// There was one, and it is lost.
    Lost,
    /// The merchant gave none.
    NoneIssued,
}

impl NoReceiptKind {
    pub(crate) fn reason(self) -> NoReceiptReason {
        match self {
            NoReceiptKind::Lost => NoReceiptReason::Lost,
            NoReceiptKind::NoneIssued => NoReceiptReason::NoneIssued,
        }
    }

    pub(crate) fn of(reason: NoReceiptReason) -> Self {
        match reason {
            NoReceiptReason::Lost => NoReceiptKind::Lost,
            NoReceiptReason::NoneIssued => NoReceiptKind::NoneIssued,
        }
    }

    /// "Lost", "None issued".
    pub fn label(self) -> &'static str {
        match self {
            NoReceiptKind::Lost => "Lost",
            NoReceiptKind::NoneIssued => "None issued",
        }
    }
}

/// The card payments screen's own state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CardsState {
    /// Every payment, not only those that need something.
    pub show_all: bool,
    /// The month whose payments are shown (year, month); every month when `None`.
    pub month: Option<(i32, u32)>,
}

/// `2026-11` as (2026, 11).
pub(crate) fn parse_month(text: &str) -> Option<(i32, u32)> {
    let (year, month) = text.trim().split_once('-')?;
    let year: i32 = year.parse().ok().filter(|y| (1900..=9999).contains(y))?;
    let month: u32 = month.parse().ok().filter(|m| (1..=12).contains(m))?;
    Some((year, month))
}

/// The (year, month) of a day.
pub(crate) fn month_of(day: kvits_protocol::Date) -> (i32, u32) {
    use chrono::Datelike as _;
    (day.year(), day.month())
}

impl Model {
    /// The card payments of the current company this user sees (their own card's, or all of
    /// them for the company's admins and the firm), newest first.
    pub(crate) fn card_payments(&self) -> Vec<&CardTransaction> {
        let Some(company) = self.company() else {
            return Vec::new();
        };
        let mut list: Vec<&CardTransaction> = self
            .predicted
            .card_transactions()
            .filter(|t| t.company_id == company)
            .collect();
        list.sort_by_key(|t| std::cmp::Reverse((t.spent_on, t.id)));
        list
    }

    /// The current company's payments without a receipt that this user is asked about: their
    /// own card's, or every one for the company's admins and the firm.
    pub(crate) fn missing_receipts(&self) -> usize {
        let user = self.actor.as_ref().map(|a| a.user_id);
        let everyone = self.sees_all_cards();
        self.card_payments()
            .into_iter()
            .filter(|t| t.is_missing() && (everyone || t.holder_id == user))
            .count()
    }

    /// Whether the user sees the whole company's card payments (admins, the firm).
    pub(crate) fn sees_all_cards(&self) -> bool {
        self.has_role(Role::CompanyAdmin) || self.has_role(Role::Accountant)
    }

    /// Whether the card payments screen is worth offering: there are payments to see, or the
    /// user imports statements.
    pub(crate) fn offers_cards(&self) -> bool {
        self.sees_all_cards() || !self.card_payments().is_empty()
    }

    pub(crate) fn open_cards(&mut self) -> Cmd {
        if self.offers_cards() {
            self.screen = Screen::Cards;
        } else {
            self.alert = Some("No card payments of yours are on this device.".into());
        }
        Command::done()
    }

    pub(super) fn update_cards(&mut self, event: CardEvent, now: Timestamp) -> Cmd {
        let payment = |model: &mut Model, id: &str| -> Option<CardTransaction> {
            let found = parse_id::<CardTransactionId>(id)
                .and_then(|id| model.predicted.card_transaction(id));
            if found.is_none() {
                model.alert = Some("That card payment is not on this device.".into());
            }
            found
        };
        match event {
            CardEvent::ShowAll { on } => {
                self.cards.show_all = on;
                Command::done()
            }
            CardEvent::Month { month } => {
                if month.trim().is_empty() {
                    self.cards.month = None;
                } else if let Some(m) = parse_month(&month) {
                    self.cards.month = Some(m);
                } else {
                    self.alert = Some(format!("\"{month}\" is not a month (2026-11)."));
                }
                Command::done()
            }
            CardEvent::CaptureFor { transaction_id } => {
                let Some(t) = payment(self, &transaction_id) else {
                    return Command::done();
                };
                self.capture_for(&t, now)
            }
            CardEvent::Match {
                transaction_id,
                expense_id,
            } => {
                let Some(t) = payment(self, &transaction_id) else {
                    return Command::done();
                };
                let Some(expense_id) = parse_id::<ExpenseId>(&expense_id) else {
                    self.alert = Some("That receipt is not on this device.".into());
                    return Command::done();
                };
                self.send_card(
                    Mutation::MatchCardTransaction {
                        transaction_id: t.id,
                        expense_id,
                    },
                    "Matched.",
                    now,
                )
            }
            CardEvent::Unmatch { transaction_id } => {
                let Some(t) = payment(self, &transaction_id) else {
                    return Command::done();
                };
                self.send_card(
                    Mutation::UnmatchCardTransaction {
                        transaction_id: t.id,
                    },
                    "Its receipt is missing again.",
                    now,
                )
            }
            CardEvent::DeclareNoReceipt {
                transaction_id,
                reason,
                note,
            } => {
                let Some(t) = payment(self, &transaction_id) else {
                    return Command::done();
                };
                let note = note.trim();
                self.send_card(
                    Mutation::DeclareNoReceipt {
                        transaction_id: t.id,
                        reason: reason.reason(),
                        note: (!note.is_empty()).then(|| note.to_string()),
                    },
                    "Declared: the accounting firm will see it.",
                    now,
                )
            }
            CardEvent::AcceptNoReceipt { transaction_id } => {
                let Some(t) = payment(self, &transaction_id) else {
                    return Command::done();
                };
                self.send_card(
                    Mutation::AcceptNoReceipt {
                        transaction_id: t.id,
                    },
                    "Accepted without a receipt.",
                    now,
                )
            }
        }
    }

    /// A new receipt for `t`, filled in from it and matched to it, opened for its photo. A
    /// payment made in another currency gives the receipt that currency's amount, and its
    /// amount in the company's currency as the second one.
    fn capture_for(&mut self, t: &CardTransaction, now: Timestamp) -> Cmd {
        if !t.is_missing() {
            self.alert = Some("This card payment already has its receipt, or a reason.".into());
            return Command::done();
        }
        let expense_id = ExpenseId(self.ids.uuid(now));
        let (amount, base_amount) = match &t.original_amount {
            Some(original) if original.currency != t.amount.currency => {
                (original.clone(), Some(t.amount.clone()))
            }
            _ => (t.amount.clone(), None),
        };
        let fields = ExpenseFields {
            payment_method_id: t.payment_method_id,
            amount: Some(amount),
            base_amount,
            date: Some(t.spent_on),
            merchant: Some(t.merchant.clone()).filter(|m| !m.trim().is_empty()),
            ..ExpenseFields::default()
        };
        let mutations = vec![
            Mutation::CreateExpense {
                expense_id,
                company_id: t.company_id,
                document_type: DocumentType::Receipt,
                fields,
            },
            Mutation::MatchCardTransaction {
                transaction_id: t.id,
                expense_id,
            },
        ];
        if let Some(refused) = self.domain_refusal(&mutations, now) {
            self.alert = Some(refused);
            return Command::done();
        }
        self.enqueue(Intent::Mutations {
            now,
            mutations,
            extra: Vec::new(),
            then: After::OpenReceipt(expense_id),
        })
    }

    /// Why the domain would refuse `mutations` in a row against the prediction, if it would.
    fn domain_refusal(&self, mutations: &[Mutation], now: Timestamp) -> Option<String> {
        let actor = self.actor.as_ref()?;
        let mut state = self.predicted.clone();
        for m in mutations {
            match state.apply_mutation(actor, now, m) {
                Ok(_) | Err(kvits_domain::DomainError::NotYet { .. }) => {}
                Err(refused) => return Some(refused.to_string()),
            }
        }
        None
    }

    fn send_card(&mut self, mutation: Mutation, message: &str, now: Timestamp) -> Cmd {
        if let Some(refused) = self.domain_refusal(std::slice::from_ref(&mutation), now) {
            self.alert = Some(refused);
            return Command::done();
        }
        self.enqueue(Intent::Mutations {
            now,
            mutations: vec![mutation],
            extra: Vec::new(),
            then: After::Saved {
                message: Some(message.into()),
                close_form: false,
            },
        })
    }
}

/// Whether a declaration is still waiting for the firm.
pub(crate) fn awaits_acceptance(t: &CardTransaction) -> bool {
    matches!(t.receipt, CardReceipt::Declared { accepted: None, .. })
}
