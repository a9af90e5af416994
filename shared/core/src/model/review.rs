//! The accounting firm's review of the open receipt — correct its bookkeeping fields (expense
//! type, VAT lines, account code), return it to the employee with a question, mark it reviewed
//! — and the employee's answer to such a question. Each action is a mutation in the outbox like
//! any other, so it works offline and the domain decides it on both sides.

use crux_core::Command;
use facet::Facet;
use kvits_domain::State as _;
use kvits_protocol::{Expense, ExpenseId, ExpenseStatus, ExpenseTypeId, Mutation, Role, Timestamp};
use serde::{Deserialize, Serialize};

use super::vat::{Stale, VatEdit, VatForm};
use super::{After, Cmd, Intent, Model, Screen, parse_id};

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
    /// A change to the VAT lines.
    Vat(VatEdit),
    /// The question to return the receipt with.
    Question(String),
}

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
    pub vat: VatForm,
    pub account_code: String,
    pub question: String,
    pub answer: String,
    /// Field (`vat.0.rate`, `question`, …) and message.
    pub errors: Vec<(String, String)>,
}

impl ReviewDraft {
    /// The form as the expense holds it.
    pub fn of(e: &Expense) -> Self {
        let currency = currency_of(e);
        ReviewDraft {
            expense_id: e.id,
            revision: e.revision,
            expense_type_id: e.fields.expense_type_id.map(|t| t.to_string()),
            vat: VatForm::of(&e.fields.vat, &currency),
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
        let stale = match field {
            ReviewField::ExpenseType(id) => {
                d.expense_type_id = Some(id);
                Stale::Field("expense_type".into())
            }
            ReviewField::AccountCode(code) => {
                d.account_code = code;
                Stale::Field("account_code".into())
            }
            ReviewField::Question(q) => {
                d.question = q;
                Stale::Field("question".into())
            }
            ReviewField::Vat(edit) => d.vat.edit(edit),
        };
        d.errors.retain(|(f, _)| !stale.covers(f));
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
        let vat = d
            .vat
            .read(&currency, e.fields.amount.as_ref())
            .unwrap_or_else(|e| {
                errors.extend(e);
                Vec::new()
            });
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
