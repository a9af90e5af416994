//! The accounting firm's review of the open receipt — correct its bookkeeping fields (expense
//! type, VAT lines, account code), return it to the employee with a question, mark it reviewed
//! — and the employee's answer to such a question. Each action is a mutation in the outbox like
//! any other, so it works offline and the domain decides it on both sides.

use crux_core::Command;
use facet::Facet;
use kvits_domain::State as _;
use kvits_protocol::{Expense, ExpenseId, ExpenseStatus, ExpenseTypeId, Mutation, Role, Timestamp};
use serde::{Deserialize, Serialize};

use super::{After, Cmd, Intent, Model, Screen, parse_id};
use crate::format;

/// What the firm's reviewer and the employee do with the open receipt.
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum ReviewEvent {
    /// Change the open receipt's correction form or question.
    Edit(ReviewField),
    /// Save the correction: expense type, VAT lines and account code.
    SaveCorrection,
    /// Send the receipt back to its employee with the question typed ("return" is a keyword
    /// in Swift and Kotlin).
    SendBack,
    /// Mark it reviewed: ready for export to the books.
    MarkReviewed,
    /// The employee's answer to the question the receipt came back with, as typed.
    EditAnswer(String),
    /// Send the answer (the employee then fixes and submits the receipt as usual).
    SendAnswer,
    /// Unlock an exported receipt to correct it (it is then changed since its export).
    Unlock,
}

/// A change to the correction form.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum ReviewField {
    /// An expense type id.
    ExpenseType(String),
    /// As typed; empty for the expense type's own code.
    AccountCode(String),
    /// A VAT line's rate in percent as typed: `21`, `5.5`, `5,5`.
    VatRate {
        line: u32,
        value: String,
    },
    /// A VAT line's net amount as typed, in the receipt's currency.
    VatNet {
        line: u32,
        value: String,
    },
    /// A VAT line's VAT amount as typed.
    VatAmount {
        line: u32,
        value: String,
    },
    AddVatLine,
    RemoveVatLine {
        line: u32,
    },
    /// The question to return the receipt with.
    Question(String),
}

/// Most VAT lines the form offers (the domain's limit).
const MAX_LINES: usize = 10;

/// The review workflow's own state: what is typed on the open receipt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReviewState {
    pub draft: Option<ReviewDraft>,
}

/// The correction form, the question and the answer of one receipt, as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewDraft {
    pub expense_id: ExpenseId,
    /// The revision the reviewer started from: a change by someone else in between makes the
    /// correction a conflict the user is told about, rather than a silent overwrite.
    pub revision: u32,
    pub expense_type_id: Option<String>,
    pub vat: Vec<VatInput>,
    pub account_code: String,
    pub question: String,
    pub answer: String,
    /// Field (`vat.0.rate`, `question`, …) and message.
    pub errors: Vec<(String, String)>,
}

/// One VAT line as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VatInput {
    pub rate: String,
    pub net: String,
    pub vat: String,
}

impl ReviewDraft {
    /// The form as the expense holds it.
    pub fn of(e: &Expense) -> Self {
        let currency = currency_of(e);
        ReviewDraft {
            expense_id: e.id,
            revision: e.revision,
            expense_type_id: e.fields.expense_type_id.map(|t| t.to_string()),
            vat: e
                .fields
                .vat
                .iter()
                .map(|l| VatInput {
                    rate: percent_input(l.rate_bp),
                    net: format::amount_input(l.net_minor, &currency),
                    vat: format::amount_input(l.vat_minor, &currency),
                })
                .collect(),
            account_code: e.fields.account_code.clone().unwrap_or_default(),
            question: String::new(),
            answer: String::new(),
            errors: Vec::new(),
        }
    }
}

/// The currency the receipt's amounts are in.
pub(crate) fn currency_of(e: &Expense) -> String {
    e.fields.amount.as_ref().map_or_else(
        || super::DEFAULT_CURRENCY.to_string(),
        |m| m.currency.clone(),
    )
}

/// `21`, `5.5`: a rate in hundredths of a percent as the form shows it.
fn percent_input(rate_bp: u32) -> String {
    kvits_protocol::percent_text(rate_bp)
        .trim_end_matches(" %")
        .to_string()
}

/// A rate typed in percent (`21`, `5.5`, `5,5 %`) in hundredths of a percent.
pub(crate) fn parse_rate(input: &str) -> Result<u32, String> {
    let cleaned: String = input.trim().trim_end_matches('%').trim().replace(',', ".");
    let invalid = || {
        format!(
            "“{}” is not a VAT rate; write it like 21 or 5.5",
            input.trim()
        )
    };
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 3
    {
        return Err(invalid());
    }
    let whole: u32 = whole.parse().map_err(|_| invalid())?;
    let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    let bp = whole * 100 + fraction;
    if bp > 10_000 {
        return Err("a VAT rate is at most 100 %".into());
    }
    Ok(bp)
}

impl Model {
    pub(super) fn update_review(&mut self, event: ReviewEvent, now: Timestamp) -> Cmd {
        let Screen::Receipt(id) = self.screen else {
            return Command::done();
        };
        let Some(expense) = self.predicted.expense(id) else {
            self.alert = Some("That receipt is not on this device.".into());
            return Command::done();
        };
        if self
            .review
            .draft
            .as_ref()
            .is_none_or(|d| d.expense_id != id)
        {
            self.review.draft = Some(ReviewDraft::of(&expense));
        }
        match event {
            ReviewEvent::Edit(field) => {
                self.edit_review(field);
                Command::done()
            }
            ReviewEvent::EditAnswer(answer) => {
                if let Some(d) = self.review.draft.as_mut() {
                    d.answer = answer;
                    d.errors.retain(|(f, _)| f != "answer");
                }
                Command::done()
            }
            ReviewEvent::SaveCorrection => self.save_correction(&expense, now),
            ReviewEvent::SendBack => self.return_with_question(&expense, now),
            ReviewEvent::MarkReviewed => self.send_review(
                Mutation::MarkReviewed {
                    expense_id: id,
                    seen_revision: expense.revision,
                },
                "Marked reviewed: ready for export.",
                now,
            ),
            ReviewEvent::SendAnswer => self.send_answer(id, now),
            ReviewEvent::Unlock => {
                if !self.in_export(&expense) {
                    self.alert = Some("Only the accounting firm unlocks exported receipts.".into());
                    return Command::done();
                }
                self.send_review(
                    Mutation::UnlockExpense {
                        expense_id: id,
                        seen_revision: expense.revision,
                    },
                    "Unlocked: correct it, then export it again.",
                    now,
                )
            }
        }
    }

    /// Whether the user reviews documents for the company of `e`, and `e` is where a review
    /// can act on it.
    pub(crate) fn can_review(&self, e: &Expense) -> bool {
        self.actor
            .as_ref()
            .is_some_and(|a| a.has_any(e.company_id, &[Role::Accountant]))
            && matches!(e.status, ExpenseStatus::Approved | ExpenseStatus::Reviewed)
    }

    /// Whether the user exports for the company of `e`, and `e` is in or through an export.
    pub(crate) fn in_export(&self, e: &Expense) -> bool {
        self.actor
            .as_ref()
            .is_some_and(|a| a.has_any(e.company_id, &[Role::Accountant]))
            && matches!(e.status, ExpenseStatus::Exporting | ExpenseStatus::Exported)
    }

    /// Whether the user may correct `e`: in review, or exported and unlocked.
    fn can_correct(&self, e: &Expense) -> bool {
        self.can_review(e)
            || (self.in_export(e)
                && e.status == ExpenseStatus::Exported
                && e.export.as_ref().is_some_and(|m| !m.locked))
    }

    fn edit_review(&mut self, field: ReviewField) {
        let Some(d) = self.review.draft.as_mut() else {
            return;
        };
        fn line(d: &mut ReviewDraft, n: u32) -> Option<&mut VatInput> {
            d.vat.get_mut(n as usize)
        }
        let key = match &field {
            ReviewField::ExpenseType(_) => "expense_type".to_string(),
            ReviewField::AccountCode(_) => "account_code".to_string(),
            ReviewField::Question(_) => "question".to_string(),
            ReviewField::VatRate { line, .. } => format!("vat.{line}.rate"),
            ReviewField::VatNet { line, .. } => format!("vat.{line}.net"),
            ReviewField::VatAmount { line, .. } => format!("vat.{line}.vat"),
            ReviewField::AddVatLine | ReviewField::RemoveVatLine { .. } => "vat".to_string(),
        };
        match field {
            ReviewField::ExpenseType(id) => d.expense_type_id = Some(id),
            ReviewField::AccountCode(code) => d.account_code = code,
            ReviewField::Question(q) => d.question = q,
            ReviewField::VatRate { line: n, value } => {
                if let Some(l) = line(d, n) {
                    l.rate = value;
                }
            }
            ReviewField::VatNet { line: n, value } => {
                if let Some(l) = line(d, n) {
                    l.net = value;
                }
            }
            ReviewField::VatAmount { line: n, value } => {
                if let Some(l) = line(d, n) {
                    l.vat = value;
                }
            }
            ReviewField::AddVatLine => {
                if d.vat.len() < MAX_LINES {
                    d.vat.push(VatInput::default());
                }
            }
            ReviewField::RemoveVatLine { line: n } => {
                if (n as usize) < d.vat.len() {
                    d.vat.remove(n as usize);
                    // The lines after it moved up: their errors no longer point at them.
                    d.errors.retain(|(f, _)| !f.starts_with("vat"));
                }
            }
        }
        d.errors.retain(|(f, _)| *f != key);
    }

    fn save_correction(&mut self, e: &Expense, now: Timestamp) -> Cmd {
        if !self.can_correct(e) {
            self.alert = Some("Only the accounting firm corrects approved receipts.".into());
            return Command::done();
        }
        let Some(d) = self.review.draft.as_mut() else {
            return Command::done();
        };
        let currency = currency_of(e);
        let mut errors = Vec::new();
        let expense_type_id = d
            .expense_type_id
            .as_deref()
            .and_then(parse_id::<ExpenseTypeId>);
        if expense_type_id.is_none() {
            errors.push((
                "expense_type".to_string(),
                "Choose an expense type.".to_string(),
            ));
        }
        let mut vat = Vec::new();
        for (n, l) in d.vat.iter().enumerate() {
            let rate = parse_rate(&l.rate).map_err(|m| (format!("vat.{n}.rate"), m));
            let amount = |input: &str, key: &str| match format::parse_amount(input, &currency) {
                Ok(Some(minor)) => Ok(minor),
                Ok(None) => Err((format!("vat.{n}.{key}"), "Enter an amount.".to_string())),
                Err(m) => Err((format!("vat.{n}.{key}"), m)),
            };
            match (rate, amount(&l.net, "net"), amount(&l.vat, "vat")) {
                (Ok(rate_bp), Ok(net_minor), Ok(vat_minor)) => vat.push(kvits_protocol::VatLine {
                    rate_bp,
                    net_minor,
                    vat_minor,
                }),
                (r, n, v) => errors.extend([r.err(), n.err(), v.err()].into_iter().flatten()),
            }
        }
        let (Some(expense_type_id), true) = (expense_type_id, errors.is_empty()) else {
            d.errors = errors;
            return Command::done();
        };
        let code = d.account_code.trim();
        let mutation = Mutation::CorrectExpense {
            expense_id: e.id,
            seen_revision: d.revision,
            expense_type_id,
            vat,
            account_code: (!code.is_empty()).then(|| code.to_string()),
        };
        self.send_review(mutation, "Correction saved.", now)
    }

    fn return_with_question(&mut self, e: &Expense, now: Timestamp) -> Cmd {
        if !self.can_review(e) {
            self.alert = Some("Only the accounting firm returns approved receipts.".into());
            return Command::done();
        }
        let Some(d) = self.review.draft.as_mut() else {
            return Command::done();
        };
        let question = d.question.trim().to_string();
        if question.is_empty() {
            d.errors = vec![(
                "question".into(),
                "Write your question; the employee sees it with the receipt.".into(),
            )];
            return Command::done();
        }
        let mutation = Mutation::ReturnExpense {
            expense_id: e.id,
            seen_revision: e.revision,
            question,
        };
        self.send_review(
            mutation,
            "Returned to the employee with your question.",
            now,
        )
    }

    fn send_answer(&mut self, id: ExpenseId, now: Timestamp) -> Cmd {
        let Some(d) = self.review.draft.as_mut() else {
            return Command::done();
        };
        let answer = d.answer.trim().to_string();
        if answer.is_empty() {
            d.errors = vec![("answer".into(), "Write your answer first.".into())];
            return Command::done();
        }
        self.send_review(
            Mutation::AnswerExpense {
                expense_id: id,
                answer,
            },
            "Answer saved. Fix the receipt if needed, then send it again.",
            now,
        )
    }

    /// Queues one review mutation, once the rules accept it here; the draft is then done with
    /// (the next edit starts from the receipt as it then is). A refusal stays on the form with
    /// what was typed.
    fn send_review(&mut self, mutation: Mutation, message: &str, now: Timestamp) -> Cmd {
        if let Some(actor) = &self.actor
            && let Err(refused) = kvits_domain::apply(&self.predicted, actor, now, &mutation)
            && !matches!(refused, kvits_domain::DomainError::NotYet { .. })
        {
            if let Some(d) = self.review.draft.as_mut() {
                d.errors = vec![("review".into(), refused.to_string())];
            }
            return Command::done();
        }
        self.review.draft = None;
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

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn rates_are_read_as_people_type_them() {
        assert_eq!(parse_rate("21"), Ok(2100));
        assert_eq!(parse_rate("5.5"), Ok(550));
        assert_eq!(parse_rate("5,5 %"), Ok(550));
        assert_eq!(parse_rate(" 0 "), Ok(0));
        assert_eq!(parse_rate("12.34"), Ok(1234));
        assert_eq!(parse_rate("100"), Ok(10_000));
        for bad in ["", "%", "abc", "21.555", "-5", "101", "1e2", "2 1"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }
}
