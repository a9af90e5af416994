//! Random sessions — sequences of mutations by random people of the world — applied to a
//! `MemoryState` the way the server applies them (`apply`, then `apply_writes`) keep the
//! domain's invariants: revisions never go down, statuses move only along the lifecycle's
//! edges, decisions and read records are never lost or changed, nobody writes into a company
//! they are not in, and doing the same thing twice in a row changes nothing the second time.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use chrono::Duration;
use common::*;
use kvits_domain::{
    Actor, Applied, BlobKind, DomainError, MemoryState, State, Write, apply, can_see,
};
use kvits_protocol::{
    CompanyId, DecisionKind, DocumentType, Entity, Expense, ExpenseFields, ExpenseId,
    ExpenseStatus, ExpenseTypeId, ExportBatchId, HistoryAction, MessageId, Mutation,
    PaymentMethodId, Role, ThreadId, Timestamp, VatLine,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

/// Amounts around the thresholds of Birch's rules (500.00), and none.
const AMOUNTS: [Option<i64>; 6] = [
    None,
    Some(0),
    Some(4_250),
    Some(49_999),
    Some(50_000),
    Some(120_000),
];

/// The form, as indexes resolved against the expense's company when the step runs.
#[derive(Clone, Debug)]
struct FieldsSpec {
    expense_type: Option<u8>,
    card: Option<u8>,
    /// Take the type and card from another company (the rules must refuse them).
    foreign: bool,
    amount: u8,
    note: bool,
}

/// An expense the step is about: `n` < 6 picks the `n`-th existing one (when there is one),
/// else one of the id pool's.
type ExpenseRef = u8;

/// One step of a session, resolved against the state when it runs, so that most steps hit
/// rows that exist.
#[derive(Clone, Debug)]
enum Op {
    Create {
        e: u8,
        company: u8,
        invoice: bool,
        fields: FieldsSpec,
    },
    /// The usual flow in one go, by one person: create, attach, finish the uploads (unless
    /// `upload` is false), submit.
    Capture {
        e: u8,
        company: u8,
        invoice: bool,
        fields: FieldsSpec,
        pages: Vec<u8>,
        upload: bool,
    },
    SetFields {
        e: ExpenseRef,
        fields: FieldsSpec,
    },
    Attach {
        e: ExpenseRef,
        pages: Vec<u8>,
    },
    Submit {
        e: ExpenseRef,
    },
    Delete {
        e: ExpenseRef,
    },
    /// Decide an expense at its revision minus `back`: `e` < 4 a submitted one, `e` < 6 one
    /// already decided (at the revision its last decision saw, when `back` is 0: the race
    /// of two approvers), else any.
    Decide {
        e: u8,
        back: u8,
        kind: u8,
        reason: bool,
    },
    /// The firm's review of an approved or reviewed expense (`e` < 6 when there is one), at
    /// its revision minus `back`: `kind` 0 correct (`vat` lines that fit the amount, or not),
    /// 1 return with a question, 2 mark reviewed, 3 the employee's answer.
    Review {
        e: u8,
        back: u8,
        kind: u8,
        vat: bool,
    },
    /// The firm's export of a reviewed or exported expense (`e` < 6 when there is one), at its
    /// revision minus `back`: `kind` 0 put it in batch `batch`, 1 finish the batch, 2 cancel
    /// it, 3 unlock the expense.
    Export {
        e: u8,
        back: u8,
        kind: u8,
        batch: u8,
    },
    Send {
        m: u8,
        companies: u8,
        attach: bool,
    },
    /// Reply `r` in the `thread`-th existing thread.
    Reply {
        r: u8,
        thread: u8,
        attach: bool,
    },
    /// Mark the `thread`-th thread read up to its `msg`-th message.
    MarkRead {
        thread: u8,
        msg: u8,
    },
    /// Not a mutation: a blob's upload finishes, for one of the person's companies (`n` < 3:
    /// a receipt page, else an attachment).
    Upload {
        company: u8,
        n: u8,
    },
    /// Flip the `n`-th expense type of a company active / inactive.
    ToggleType {
        company: u8,
        n: u8,
    },
    /// Change one of Birch's approval rules.
    EditRule {
        n: u8,
        active: bool,
        min: Option<i64>,
    },
}

#[derive(Clone, Debug)]
struct Step {
    /// Who does it: the `actor`-th person of the world, or, when `fit`, the `actor`-th of the
    /// people the mutation fits (the author of the expense, an approver of its route, a
    /// participant of the thread, a capturing member) when there is one.
    actor: usize,
    fit: bool,
    /// Seconds since the previous step (0: the same instant).
    dt: u8,
    op: Op,
}

fn fields_spec() -> impl Strategy<Value = FieldsSpec> {
    (
        prop::option::weighted(0.9, 0u8..4),
        prop::option::weighted(0.9, 0u8..3),
        prop::bool::weighted(0.05),
        0u8..AMOUNTS.len() as u8,
        any::<bool>(),
    )
        .prop_map(|(expense_type, card, foreign, amount, note)| FieldsSpec {
            expense_type,
            card,
            foreign,
            amount,
            note,
        })
}

fn pages() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(vec![]),
        5 => prop::collection::vec(0u8..3, 1..3),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let e = 0u8..8;
    prop_oneof![
        3 => (0u8..4, 0u8..4, prop::bool::weighted(0.2), fields_spec()).prop_map(
            |(e, company, invoice, fields)| Op::Create { e, company, invoice, fields }
        ),
        4 => (
            0u8..4,
            0u8..4,
            prop::bool::weighted(0.2),
            fields_spec(),
            pages(),
            prop::bool::weighted(0.85),
        )
            .prop_map(|(e, company, invoice, fields, pages, upload)| Op::Capture {
                e,
                company,
                invoice,
                fields,
                pages,
                upload,
            }),
        2 => (e.clone(), fields_spec()).prop_map(|(e, fields)| Op::SetFields { e, fields }),
        3 => (e.clone(), pages()).prop_map(|(e, pages)| Op::Attach { e, pages }),
        3 => e.clone().prop_map(|e| Op::Submit { e }),
        1 => e.prop_map(|e| Op::Delete { e }),
        8 => (
            0u8..8,
            prop_oneof![3 => Just(0u8), 1 => 1u8..3],
            0u8..3,
            prop::bool::weighted(0.9),
        )
            .prop_map(|(e, back, kind, reason)| Op::Decide { e, back, kind, reason }),
        4 => (
            0u8..8,
            prop_oneof![4 => Just(0u8), 1 => Just(1u8)],
            0u8..4,
            prop::bool::weighted(0.7),
        )
            .prop_map(|(e, back, kind, vat)| Op::Review { e, back, kind, vat }),
        3 => (
            0u8..8,
            prop_oneof![4 => Just(0u8), 1 => Just(1u8)],
            prop_oneof![3 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
            0u8..3,
        )
            .prop_map(|(e, back, kind, batch)| Op::Export { e, back, kind, batch }),
        2 => (0u8..3, 1u8..8, prop::bool::weighted(0.2))
            .prop_map(|(m, companies, attach)| Op::Send { m, companies, attach }),
        2 => (0u8..6, 0u8..6, prop::bool::weighted(0.2))
            .prop_map(|(r, thread, attach)| Op::Reply { r, thread, attach }),
        3 => (0u8..6, 0u8..8).prop_map(|(thread, msg)| Op::MarkRead { thread, msg }),
        3 => (0u8..4, 0u8..5).prop_map(|(company, n)| Op::Upload { company, n }),
        1 => (0u8..3, 0u8..4).prop_map(|(company, n)| Op::ToggleType { company, n }),
        1 => (
            0u8..4,
            any::<bool>(),
            prop::option::of(prop_oneof![Just(0i64), Just(4_250), Just(50_000)]),
        )
            .prop_map(|(n, active, min)| Op::EditRule { n, active, min }),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = (
        0usize..9,
        prop::bool::weighted(0.75),
        prop_oneof![Just(0u8), Just(1), Just(60)],
        op(),
    )
        .prop_map(|(actor, fit, dt, op)| Step { actor, fit, dt, op });
    prop::collection::vec(step, 1..64)
}

fn expense_id(n: u8) -> ExpenseId {
    ExpenseId(id(0x0700, u128::from(n)))
}

fn message_id(n: u8) -> MessageId {
    MessageId(id(0x0701, u128::from(n)))
}

fn reply_id(n: u8) -> MessageId {
    MessageId(id(0x0702, u128::from(n)))
}

/// What one step does: mutations by someone, or an upload finishing.
enum Action {
    Mutate(Mutation),
    Upload(CompanyId, String, BlobKind),
}

/// The world of one session and its clock.
struct Session {
    w: World,
    actors: Vec<Actor>,
    now: Timestamp,
}

impl Session {
    fn companies(&self) -> [CompanyId; 3] {
        [self.w.birch, self.w.cedar, self.w.fir]
    }

    /// `c` < 3: one of the person's own companies; else any company.
    fn company_for(&self, actor: &Actor, c: u8) -> CompanyId {
        let own: Vec<CompanyId> = actor.roles.keys().copied().collect();
        if c < 3 && !own.is_empty() {
            own[usize::from(c) % own.len()]
        } else {
            self.companies()[usize::from(c) % 3]
        }
    }

    fn types_of(&self, company: CompanyId) -> Vec<ExpenseTypeId> {
        let t = if company == self.w.birch {
            &self.w.birch_types
        } else if company == self.w.cedar {
            &self.w.cedar_types
        } else {
            return vec![self.w.fir_type];
        };
        vec![t.fuel, t.meals, t.office, t.travel]
    }

    fn cards_of(&self, company: CompanyId) -> Vec<PaymentMethodId> {
        if company == self.w.birch {
            vec![self.w.birch_visa, self.w.birch_master, self.w.birch_own]
        } else if company == self.w.cedar {
            vec![self.w.cedar_card, self.w.cedar_own]
        } else {
            vec![self.w.fir_card]
        }
    }

    fn fields(&self, company: CompanyId, f: &FieldsSpec) -> ExpenseFields {
        let from = match (f.foreign, company == self.w.birch) {
            (false, _) => company,
            (true, true) => self.w.cedar,
            (true, false) => self.w.birch,
        };
        let types = self.types_of(from);
        let cards = self.cards_of(from);
        ExpenseFields {
            expense_type_id: f.expense_type.map(|i| types[usize::from(i) % types.len()]),
            payment_method_id: f.card.map(|i| cards[usize::from(i) % cards.len()]),
            amount: AMOUNTS[usize::from(f.amount)].map(eur),
            base_amount: None,
            date: Some(t0().date_naive()),
            merchant: None,
            note: f.note.then(|| "see the note".to_owned()),
            vat: Vec::new(),
            account_code: None,
        }
    }

    fn expenses(&self) -> Vec<Expense> {
        expenses(&self.w.state)
    }

    fn pick_expense(&self, e: ExpenseRef) -> ExpenseId {
        let all = self.expenses();
        if e < 6 && !all.is_empty() {
            all[usize::from(e) % all.len()].id
        } else {
            expense_id(e % 4)
        }
    }

    fn expense_company(&self, e: ExpenseId) -> CompanyId {
        self.w
            .state
            .expense(e)
            .map_or(self.w.birch, |x| x.company_id)
    }

    fn pick_thread(&self, n: u8) -> ThreadId {
        let threads: Vec<ThreadId> = self
            .w
            .state
            .entities()
            .filter_map(|e| match e {
                Entity::Thread(t) => Some(t.id),
                _ => None,
            })
            .collect();
        threads
            .get(usize::from(n) % threads.len().max(1))
            .copied()
            .unwrap_or(ThreadId::for_recipient(message_id(0), self.w.birch))
    }

    /// The people `m` fits, in the world's order.
    fn fitting(&self, m: &Mutation) -> Vec<Actor> {
        let who = |f: &dyn Fn(&Actor) -> bool| -> Vec<Actor> {
            self.actors.iter().filter(|a| f(a)).cloned().collect()
        };
        let s = &self.w.state;
        match m {
            Mutation::CreateExpense { company_id, .. } => who(&|a| {
                a.has_any(
                    *company_id,
                    &[
                        Role::Employee,
                        Role::Approver,
                        Role::CompanyAdmin,
                        Role::Accountant,
                    ],
                )
            }),
            Mutation::SetExpenseFields { expense_id, .. }
            | Mutation::AttachReceipt { expense_id, .. }
            | Mutation::SubmitExpense { expense_id }
            | Mutation::DeleteExpense { expense_id } => s
                .expense(*expense_id)
                .map_or_else(Vec::new, |x| who(&|a| a.user_id == x.created_by)),
            Mutation::DecideExpense { expense_id, .. } => {
                s.expense(*expense_id).map_or_else(Vec::new, |x| {
                    who(&|a| {
                        x.approval.as_ref().is_some_and(|r| {
                            r.steps.iter().any(|s| s.approver_ids.contains(&a.user_id))
                        })
                    })
                })
            }
            Mutation::ReplyMessage { thread_id, .. } | Mutation::MarkRead { thread_id, .. } => {
                s.thread(*thread_id).map_or_else(Vec::new, |t| {
                    who(&|a| can_see(a, &Entity::Thread(t.clone())))
                })
            }
            Mutation::SendMessage { .. }
            | Mutation::CorrectExpense { .. }
            | Mutation::ReturnExpense { .. }
            | Mutation::MarkReviewed { .. }
            | Mutation::StartExport { .. }
            | Mutation::FinishExport { .. }
            | Mutation::CancelExport { .. }
            | Mutation::UnlockExpense { .. } => who(&|a| a.user_id == self.w.anna.user_id),
            Mutation::AnswerExpense { expense_id, .. } => s
                .expense(*expense_id)
                .map_or_else(Vec::new, |x| who(&|a| a.user_id == x.created_by)),
            _ => vec![],
        }
    }

    /// What `op` does when `actor` does it now.
    fn resolve(&self, actor: &Actor, op: &Op) -> Vec<Action> {
        let m = match op {
            Op::Create {
                e,
                company,
                invoice,
                fields,
            } => {
                let company = self.company_for(actor, *company);
                Mutation::CreateExpense {
                    expense_id: expense_id(*e),
                    company_id: company,
                    document_type: doc(*invoice),
                    fields: self.fields(company, fields),
                }
            }
            Op::Capture {
                e,
                company,
                invoice,
                fields,
                pages,
                upload,
            } => {
                let company = self.company_for(actor, *company);
                let expense_id = expense_id(*e);
                let pages: Vec<_> = pages.iter().map(|n| page(u32::from(*n))).collect();
                let mut actions = vec![
                    Action::Mutate(Mutation::CreateExpense {
                        expense_id,
                        company_id: company,
                        document_type: doc(*invoice),
                        fields: self.fields(company, fields),
                    }),
                    Action::Mutate(Mutation::AttachReceipt {
                        expense_id,
                        pages: pages.clone(),
                    }),
                ];
                if *upload {
                    actions.extend(
                        pages
                            .into_iter()
                            .map(|p| Action::Upload(company, p.sha256, BlobKind::Image)),
                    );
                }
                actions.push(Action::Mutate(Mutation::SubmitExpense { expense_id }));
                return actions;
            }
            Op::SetFields { e, fields } => {
                let id = self.pick_expense(*e);
                Mutation::SetExpenseFields {
                    expense_id: id,
                    fields: self.fields(self.expense_company(id), fields),
                }
            }
            Op::Attach { e, pages } => Mutation::AttachReceipt {
                expense_id: self.pick_expense(*e),
                pages: pages.iter().map(|n| page(u32::from(*n))).collect(),
            },
            Op::Submit { e } => Mutation::SubmitExpense {
                expense_id: self.pick_expense(*e),
            },
            Op::Delete { e } => Mutation::DeleteExpense {
                expense_id: self.pick_expense(*e),
            },
            Op::Decide {
                e,
                back,
                kind,
                reason,
            } => {
                let all = self.expenses();
                let submitted: Vec<&Expense> = all
                    .iter()
                    .filter(|x| x.status == ExpenseStatus::Submitted)
                    .collect();
                let decided: Vec<&Expense> =
                    all.iter().filter(|x| !x.decisions.is_empty()).collect();
                let (pool, race) = if *e < 4 && !submitted.is_empty() {
                    (submitted, false)
                } else if *e < 6 && !decided.is_empty() {
                    // Racing the last decision: seen where its winner saw it.
                    (decided, *back == 0)
                } else {
                    (all.iter().collect(), false)
                };
                let (expense_id, seen_revision) =
                    match pool.get(usize::from(*e) % pool.len().max(1)) {
                        Some(x) if race => (x.id, x.decisions.last().unwrap().revision),
                        Some(x) => (x.id, x.revision.saturating_sub(u32::from(*back))),
                        None => (expense_id(*e % 4), 0),
                    };
                Mutation::DecideExpense {
                    expense_id,
                    seen_revision,
                    decision: [
                        DecisionKind::Approve,
                        DecisionKind::Reject,
                        DecisionKind::Return,
                    ][usize::from(*kind)],
                    reason: reason.then(|| "checked".to_owned()),
                }
            }
            Op::Review { e, back, kind, vat } => {
                let all = self.expenses();
                let reviewable: Vec<&Expense> = all
                    .iter()
                    .filter(|x| {
                        matches!(x.status, ExpenseStatus::Approved | ExpenseStatus::Reviewed)
                    })
                    .collect();
                let returned: Vec<&Expense> = all
                    .iter()
                    .filter(|x| x.status == ExpenseStatus::Returned)
                    .collect();
                let pool = match (*kind, *e < 6) {
                    (3, true) if !returned.is_empty() => returned,
                    (_, true) if !reviewable.is_empty() => reviewable,
                    _ => all.iter().collect(),
                };
                let Some(x) = pool.get(usize::from(*e) % pool.len().max(1)) else {
                    return Vec::new();
                };
                let seen_revision = x.revision.saturating_sub(u32::from(*back));
                let amount = x.fields.amount.as_ref().map_or(1_000, |m| m.amount_minor);
                match kind {
                    0 => Mutation::CorrectExpense {
                        expense_id: x.id,
                        seen_revision,
                        expense_type_id: x
                            .fields
                            .expense_type_id
                            .unwrap_or(self.w.birch_types.other),
                        vat: vec![VatLine {
                            rate_bp: 2100,
                            net_minor: amount - amount * 21 / 121 - i64::from(!*vat),
                            vat_minor: amount * 21 / 121,
                        }],
                        account_code: Some("7210".into()),
                    },
                    1 => Mutation::ReturnExpense {
                        expense_id: x.id,
                        seen_revision,
                        question: "Which project?".into(),
                    },
                    2 => Mutation::MarkReviewed {
                        expense_id: x.id,
                        seen_revision,
                    },
                    _ => Mutation::AnswerExpense {
                        expense_id: x.id,
                        answer: "For the Cedar project".into(),
                    },
                }
            }
            Op::Export {
                e,
                back,
                kind,
                batch,
            } => {
                let all = self.expenses();
                // Mostly an expense where the action can apply.
                let fits = |x: &&Expense| match kind {
                    0 => matches!(
                        x.status,
                        ExpenseStatus::Approved | ExpenseStatus::Reviewed | ExpenseStatus::Exported
                    ),
                    1 => x.status == ExpenseStatus::Exporting,
                    2 => matches!(x.status, ExpenseStatus::Exporting | ExpenseStatus::Exported),
                    _ => matches!(x.status, ExpenseStatus::Exporting | ExpenseStatus::Exported),
                };
                let exportable: Vec<&Expense> = all.iter().filter(fits).collect();
                let pool = if *e < 6 && !exportable.is_empty() {
                    exportable
                } else {
                    all.iter().collect()
                };
                let Some(x) = pool.get(usize::from(*e) % pool.len().max(1)) else {
                    return Vec::new();
                };
                let seen_revision = x.revision.saturating_sub(u32::from(*back));
                let made_up = ExportBatchId(uuid::Uuid::from_u128(0xba7c + u128::from(*batch)));
                // Finish and cancel mostly name the batch the expense is in.
                let batch_id = match (&x.export, kind) {
                    (Some(m), 1 | 2) if *batch == 0 => m.batch_id,
                    _ => made_up,
                };
                let start = |seen_revision| Mutation::StartExport {
                    expense_id: x.id,
                    seen_revision,
                    batch_id,
                    batch_number: u32::from(*batch) + 1,
                    voucher: format!("{}-{:03}", batch + 1, e),
                };
                match kind {
                    // An approved one is reviewed first (else few sessions export at all).
                    0 if x.status == ExpenseStatus::Approved => {
                        return vec![
                            Action::Mutate(Mutation::MarkReviewed {
                                expense_id: x.id,
                                seen_revision: x.revision,
                            }),
                            Action::Mutate(start(x.revision + 1 - u32::from(*back))),
                        ];
                    }
                    0 => start(seen_revision),
                    // One being exported is finished first.
                    3 if x.status == ExpenseStatus::Exporting => {
                        return vec![
                            Action::Mutate(Mutation::FinishExport {
                                expense_id: x.id,
                                batch_id: x.export.as_ref().map_or(made_up, |m| m.batch_id),
                            }),
                            Action::Mutate(Mutation::UnlockExpense {
                                expense_id: x.id,
                                seen_revision: x.revision + 1 - u32::from(*back),
                            }),
                        ];
                    }
                    1 => Mutation::FinishExport {
                        expense_id: x.id,
                        batch_id,
                    },
                    2 => Mutation::CancelExport {
                        expense_id: x.id,
                        batch_id,
                    },
                    _ => Mutation::UnlockExpense {
                        expense_id: x.id,
                        seen_revision,
                    },
                }
            }
            Op::Send {
                m,
                companies,
                attach,
            } => {
                let all = self.companies();
                Mutation::SendMessage {
                    message_id: message_id(*m),
                    company_ids: (0..3)
                        .filter(|i| companies & (1 << i) != 0)
                        .map(|i| all[i])
                        .collect(),
                    subject: "Documents for March".into(),
                    body: "Please upload them".into(),
                    attachment: attach.then(|| attachment(0)),
                }
            }
            Op::Reply { r, thread, attach } => Mutation::ReplyMessage {
                message_id: reply_id(*r),
                thread_id: self.pick_thread(*thread),
                body: "Done".into(),
                attachment: attach.then(|| attachment(1)),
            },
            Op::MarkRead { thread, msg } => {
                let thread_id = self.pick_thread(*thread);
                let msgs = self.w.state.thread_messages(thread_id);
                let up_to = msgs
                    .get(usize::from(*msg) % msgs.len().max(1))
                    .map_or(reply_id(0), |m| m.id);
                Mutation::MarkRead { thread_id, up_to }
            }
            Op::Upload { company, n } => {
                let company = self.company_for(actor, *company);
                let (sha, kind) = if *n < 3 {
                    (page(u32::from(*n)).sha256, BlobKind::Image)
                } else {
                    (attachment(u32::from(*n) - 3).sha256, BlobKind::Pdf)
                };
                return vec![Action::Upload(company, sha, kind)];
            }
            Op::ToggleType { company, n } => {
                let types = self.types_of(self.companies()[usize::from(*company)]);
                let mut t = self
                    .w
                    .state
                    .expense_type(types[usize::from(*n) % types.len()])
                    .unwrap();
                t.active = !t.active;
                Mutation::PutExpenseType(t)
            }
            Op::EditRule { n, active, min } => {
                let rules = self.w.state.approval_rules(self.w.birch);
                let mut r = rules[usize::from(*n) % rules.len()].clone();
                r.active = *active;
                r.min_amount_minor = *min;
                if min.is_some() {
                    r.max_amount_minor = None;
                }
                Mutation::PutApprovalRule(r)
            }
        };
        vec![Action::Mutate(m)]
    }
}

fn doc(invoice: bool) -> DocumentType {
    if invoice {
        DocumentType::Invoice
    } else {
        DocumentType::Receipt
    }
}

fn allowed(from: ExpenseStatus, to: ExpenseStatus) -> bool {
    use ExpenseStatus::*;
    from == to
        || matches!(
            (from, to),
            (Draft, Submitted | Approved)
                | (Submitted, Approved | Rejected | Returned)
                | (Returned, Submitted | Approved)
                // The firm's review.
                | (Approved, Reviewed | Returned)
                | (Reviewed, Returned)
                // Export to the books, and a cancelled batch.
                | (Reviewed | Exported, Exporting)
                | (Exporting, Exported | Reviewed)
                | (Exported, Reviewed)
        )
}

fn expenses(s: &MemoryState) -> Vec<Expense> {
    s.entities()
        .filter_map(|e| match e {
            Entity::Expense(x) => Some(x),
            _ => None,
        })
        .collect()
}

/// What must hold between the state before and after one applied mutation.
fn check_step(
    before: &MemoryState,
    after: &MemoryState,
    actor: &Actor,
    m: &Mutation,
    result: &Result<Applied, DomainError>,
) -> Result<(), TestCaseError> {
    if let Ok(Applied::Changes(writes)) = result {
        prop_assert!(!writes.is_empty(), "{} answered empty changes", m.name());
        for w in writes {
            let company = match w {
                Write::Put(e) => e.company_id(),
                Write::Delete { company_id, .. } => *company_id,
            };
            prop_assert!(
                actor.is_member(company),
                "{} by {} wrote into a company they are not in: {w:?}",
                m.name(),
                actor.name
            );
            if let Write::Put(e) = w {
                // What you wrote you can see (the core shows it at once).
                prop_assert!(
                    can_see(actor, e),
                    "{} cannot see what they wrote: {e:?}",
                    actor.name
                );
            }
            if let Write::Delete {
                kind,
                id,
                company_id,
            } = w
            {
                let gone = before.get(*kind, *id);
                prop_assert!(gone.is_some_and(|g| g.company_id() == *company_id));
            }
        }
    } else {
        prop_assert_eq!(before, after);
    }

    for x in expenses(before) {
        match after.expense(x.id) {
            Some(y) => {
                prop_assert!(
                    y.revision >= x.revision,
                    "revision went down: {x:?} -> {y:?}"
                );
                if y != x {
                    prop_assert!(y.revision > x.revision, "changed without a new revision");
                }
                prop_assert!(
                    allowed(x.status, y.status),
                    "{:?} -> {:?} by {}",
                    x.status,
                    y.status,
                    m.name()
                );
                prop_assert!(y.decisions.len() >= x.decisions.len());
                prop_assert_eq!(&y.decisions[..x.decisions.len()], &x.decisions[..]);
                prop_assert_eq!(y.created_by, x.created_by);
                prop_assert_eq!(y.company_id, x.company_id);
                prop_assert_eq!(y.created_at, x.created_at);
                // A locked document keeps its fields and pages.
                if x.export.as_ref().is_some_and(|m| m.locked) {
                    prop_assert_eq!(&y.fields, &x.fields, "a locked document changed");
                    prop_assert_eq!(&y.pages, &x.pages);
                }
            }
            None => {
                prop_assert!(
                    matches!(m, Mutation::DeleteExpense { .. }),
                    "expense vanished by {}",
                    m.name()
                );
                prop_assert_eq!(x.status, ExpenseStatus::Draft);
                prop_assert_eq!(x.submitted_at, None);
                prop_assert_eq!(x.created_by, actor.user_id);
            }
        }
    }

    // Read records: never removed, never moved. Messages and threads: never removed;
    // messages never change.
    for e in before.entities() {
        let now = after.get(e.kind(), e.id());
        match &e {
            Entity::MessageRead(_) | Entity::Message(_) => {
                prop_assert_eq!(now.as_ref(), Some(&e), "{:?} changed or vanished", e.kind());
            }
            Entity::Thread(t) => match now {
                Some(Entity::Thread(u)) => {
                    prop_assert!(u.last_message_at >= t.last_message_at);
                    prop_assert_eq!((u.company_id, u.created_at), (t.company_id, t.created_at));
                }
                other => prop_assert!(false, "thread became {other:?}"),
            },
            _ => {}
        }
    }
    Ok(())
}

/// What must hold of any state the rules produced.
fn check_state(s: &MemoryState) -> Result<(), TestCaseError> {
    for x in expenses(s) {
        let a = x.approval.as_ref();
        // VAT lines, once entered, add up to the amount; the history starts with the capture
        // and runs forward in time.
        if let Some(m) = &x.fields.amount
            && !x.fields.vat.is_empty()
        {
            let total: i64 = x.fields.vat.iter().map(|l| l.net_minor + l.vat_minor).sum();
            prop_assert_eq!(total, m.amount_minor);
        }
        prop_assert_eq!(
            x.history.first().map(|h| h.action),
            Some(HistoryAction::Created)
        );
        prop_assert!(x.history.windows(2).all(|w| w[0].at <= w[1].at));
        // Only a document in or through an export batch carries one.
        prop_assert_eq!(
            x.export.is_some(),
            matches!(x.status, ExpenseStatus::Exporting | ExpenseStatus::Exported)
        );
        match x.status {
            ExpenseStatus::Draft => {
                prop_assert!(x.submitted_at.is_none() && a.is_none() && x.decisions.is_empty());
            }
            ExpenseStatus::Submitted => {
                let a = a.unwrap();
                prop_assert!((a.current_step as usize) < a.steps.len());
                prop_assert!(x.submitted_at.is_some());
            }
            ExpenseStatus::Exporting | ExpenseStatus::Exported => {
                // In a batch, and locked while it is made.
                let mark = x.export.as_ref();
                prop_assert!(mark.is_some(), "{:?} without its batch", x.status);
                if x.status == ExpenseStatus::Exporting {
                    prop_assert!(mark.is_some_and(|m| m.locked && !m.changed));
                }
                // Changed since export only once unlocked.
                prop_assert!(mark.is_none_or(|m| !(m.locked && m.changed)));
                prop_assert!(x.submitted_at.is_some());
            }
            ExpenseStatus::Approved | ExpenseStatus::Reviewed => {
                prop_assert!(x.submitted_at.is_some());
                if let Some(a) = a {
                    // Approved by every step — or approved at once on a resubmission that no
                    // rule matched (then the route is gone).
                    prop_assert_eq!(a.current_step as usize, a.steps.len());
                }
            }
            ExpenseStatus::Rejected | ExpenseStatus::Returned => {
                // The firm may return an expense that needed no approval.
                prop_assert!(x.submitted_at.is_some());
                prop_assert!(x.status == ExpenseStatus::Returned || a.is_some());
                let last = x.decisions.last().unwrap().kind;
                let want = if x.status == ExpenseStatus::Rejected {
                    DecisionKind::Reject
                } else {
                    DecisionKind::Return
                };
                prop_assert_eq!(last, want);
            }
        }
        // Sent with its pages; only draft and returned expenses (editable) may lack them.
        if !matches!(x.status, ExpenseStatus::Draft | ExpenseStatus::Returned) {
            prop_assert!(!x.pages.is_empty());
        }
        prop_assert!(
            x.decisions
                .windows(2)
                .all(|d| d[0].revision < d[1].revision)
        );
        prop_assert!(x.decisions.iter().all(|d| d.revision < x.revision));
        // Nobody decides their own expense while someone else in the step can.
        if let Some(a) = a {
            for step in &a.steps {
                prop_assert!(
                    !step.approver_ids.contains(&x.created_by)
                        || step.approver_ids.iter().all(|u| *u == x.created_by),
                    "the author is routed alongside others: {x:?}"
                );
            }
        }
        prop_assert!(
            x.decisions
                .iter()
                .all(|d| d.kind == DecisionKind::Approve || d.reason.is_some())
        );
    }
    for e in s.entities() {
        if let Entity::MessageRead(r) = e {
            let m = s.message(r.message_id);
            prop_assert!(m.is_some());
            let m = m.unwrap();
            prop_assert!(
                m.author_id != r.user_id,
                "a read record of one's own message"
            );
            prop_assert!(r.read_at >= m.created_at);
            prop_assert_eq!((r.thread_id, r.company_id), (m.thread_id, m.company_id));
        }
    }
    Ok(())
}

/// A never-submitted draft is seen by its author and nobody else.
fn check_drafts_private(s: &MemoryState, actors: &[Actor]) -> Result<(), TestCaseError> {
    for x in expenses(s) {
        if x.submitted_at.is_some() {
            continue;
        }
        let e = Entity::Expense(x.clone());
        for a in actors {
            prop_assert_eq!(
                can_see(a, &e),
                a.user_id == x.created_by,
                "{} and the draft {:?}",
                a.name,
                x
            );
        }
    }
    Ok(())
}

/// Runs a session, checking every step; answers what was applied, to see how deep it went.
fn run(steps: &[Step]) -> Result<Stats, TestCaseError> {
    let w = World::new();
    let actors: Vec<Actor> = w.actors().into_iter().map(|(_, a)| a.clone()).collect();
    let mut s = Session {
        w,
        actors,
        now: t0(),
    };
    let mut stats = Stats::default();
    for step in steps {
        s.now += Duration::seconds(i64::from(step.dt));
        let picked = s.actors[step.actor].clone();
        let mut fitted: Option<Actor> = None;
        for action in s.resolve(&picked, &step.op) {
            let m = match action {
                Action::Upload(company, sha, kind) => {
                    s.w.state.add_blob_of_kind(company, sha, kind);
                    continue;
                }
                Action::Mutate(m) => m,
            };
            // The person is chosen once per step (a capture is one person's).
            let actor = fitted
                .get_or_insert_with(|| {
                    let fitting = if step.fit { s.fitting(&m) } else { vec![] };
                    if fitting.is_empty() {
                        picked.clone()
                    } else {
                        fitting[step.actor % fitting.len()].clone()
                    }
                })
                .clone();
            let before = s.w.state.clone();
            let result = apply(&before, &actor, s.now, &m);
            // Pure: the core's prediction and the server's decision agree.
            prop_assert_eq!(&apply(&before, &actor, s.now, &m), &result);
            if let Ok(Applied::Changes(writes)) = &result {
                s.w.state.apply_writes(writes);
            }
            stats.count(&m, &result);
            check_step(&before, &s.w.state, &actor, &m, &result)?;
            check_state(&s.w.state)?;
            check_drafts_private(&s.w.state, &s.actors)?;

            // The same mutation again by the same person (a retry after a lost response, a
            // double tap), a second later: its effect is there, nothing more happens.
            if matches!(result, Ok(Applied::Changes(_))) {
                let again = apply(&s.w.state, &actor, s.now + Duration::seconds(1), &m);
                prop_assert_eq!(
                    again,
                    Ok(Applied::AlreadyApplied),
                    "{} by {} applied twice",
                    m.name(),
                    actor.name
                );
            }
        }
    }
    Ok(stats)
}

/// Which mutations and decisions a session applied.
#[derive(Debug, Default)]
struct Stats {
    applied: BTreeSet<&'static str>,
    decisions: BTreeSet<String>,
    statuses: BTreeSet<String>,
    outcomes: Vec<String>,
}

impl Stats {
    fn count(&mut self, m: &Mutation, r: &Result<Applied, DomainError>) {
        let outcome = match r {
            Ok(Applied::Changes(_)) => "applied".to_owned(),
            Ok(Applied::AlreadyApplied) => "already".to_owned(),
            Err(DomainError::Rejected { code, .. }) => format!("rejected {code:?}"),
            Err(DomainError::Conflict { code, .. }) => format!("conflict {code:?}"),
            Err(DomainError::NotYet { .. }) => "not yet".to_owned(),
        };
        self.outcomes.push(format!("{} {outcome}", m.name()));
        if let Ok(Applied::Changes(writes)) = r {
            self.applied.insert(m.name());
            if let Mutation::DecideExpense { decision, .. } = m {
                self.decisions.insert(format!("{decision:?}"));
            }
            for w in writes {
                if let Write::Put(Entity::Expense(x)) = w {
                    self.statuses.insert(format!("{:?}", x.status));
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_sessions_keep_the_invariants(steps in steps()) {
        run(&steps)?;
    }
}

/// The generator reaches every mutation, decision and status, and the conflicts (else the
/// property above proves little). Deterministic: a fixed seed. `KVITS_PROPS_STATS=1` prints
/// how often each mutation ended how.
#[test]
fn sessions_reach_every_mutation_decision_and_conflict() {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = steps();
    let mut total = Stats::default();
    for _ in 0..256 {
        let steps = strategy.new_tree(&mut runner).unwrap().current();
        let stats = run(&steps).unwrap();
        total.applied.extend(stats.applied);
        total.decisions.extend(stats.decisions);
        total.statuses.extend(stats.statuses);
        total.outcomes.extend(stats.outcomes);
    }
    if std::env::var_os("KVITS_PROPS_STATS").is_some() {
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for o in &total.outcomes {
            *counts.entry(o).or_default() += 1;
        }
        for (o, n) in counts {
            eprintln!("{n:6} {o}");
        }
    }
    let every: BTreeSet<&str> = [
        "create_expense.v1",
        "set_expense_fields.v1",
        "attach_receipt.v1",
        "submit_expense.v1",
        "delete_expense.v1",
        "decide_expense.v1",
        "send_message.v1",
        "reply_message.v1",
        "mark_read.v1",
        "put_expense_type.v1",
        "put_approval_rule.v1",
        "correct_expense.v1",
        "return_expense.v1",
        "answer_expense.v1",
        "mark_reviewed.v1",
        "start_export.v1",
        "finish_export.v1",
        "cancel_export.v1",
        "unlock_expense.v1",
    ]
    .into();
    let missing: Vec<_> = every.difference(&total.applied).collect();
    assert!(missing.is_empty(), "never applied: {missing:?}");
    assert_eq!(total.decisions.len(), 3, "decisions: {:?}", total.decisions);
    assert_eq!(total.statuses.len(), 8, "statuses: {:?}", total.statuses);
    for wanted in [
        "decide_expense.v1 conflict AlreadyDecided",
        "decide_expense.v1 conflict StaleRevision",
        "decide_expense.v1 already",
        "submit_expense.v1 not yet",
        "mark_read.v1 already",
    ] {
        assert!(
            total.outcomes.iter().any(|o| o == wanted),
            "never reached: {wanted}"
        );
    }
}
