//! [`MemoryState`]: the whole state in memory, behind the [`State`] trait.
//!
//! The Crux core keeps its local mirror of the server's rows in one of these to predict what
//! the server will answer to a queued mutation; the server's tests use it as the reference
//! model its database must agree with. It stores rows as they are given — it checks nothing
//! and never cascades (deleting a company leaves its expenses): deciding is [`crate::apply`]'s
//! job, storing is this one's.

use std::collections::{BTreeMap, BTreeSet};

use kvits_protocol::{
    ApprovalRule, ApprovalRuleId, CardTransaction, CardTransactionId, Company, CompanyId, Entity,
    EntityKind, Expense, ExpenseId, ExpenseType, ExpenseTypeId, Message, MessageId, MessageRead,
    Mutation, PaymentMethod, PaymentMethodId, Thread, ThreadId, Timestamp, UserId,
};

use crate::{Actor, Applied, BlobKind, DomainError, State, Write};

/// Every row of every kind, keyed by id, plus the blobs each company has stored.
///
/// Lookups answer rows of any company and tenant, as the [`State`] contract says; access is
/// checked by the rules ([`crate::apply`], [`crate::can_see`]).
///
/// Orders, all deterministic:
/// - [`State::expense_types`]: by id;
/// - [`State::approval_rules`]: by `(position, id)`, the order [`crate::route`] tries them;
/// - [`State::thread_messages`]: by `(created_at, id)`, the order of the thread;
/// - [`MemoryState::entities`]: by kind ([`EntityKind::ALL`]'s order), then by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryState {
    companies: BTreeMap<CompanyId, Company>,
    expense_types: BTreeMap<ExpenseTypeId, ExpenseType>,
    payment_methods: BTreeMap<PaymentMethodId, PaymentMethod>,
    approval_rules: BTreeMap<ApprovalRuleId, ApprovalRule>,
    expenses: BTreeMap<ExpenseId, Expense>,
    threads: BTreeMap<ThreadId, Thread>,
    messages: BTreeMap<MessageId, Message>,
    /// The messages of each thread in thread order; kept in step with `messages`.
    thread_index: BTreeMap<ThreadId, BTreeSet<(Timestamp, MessageId)>>,
    /// Keyed by (message, reader): one row per reader and message (the row id is derived from
    /// the pair, see [`kvits_protocol::message_read_id`]).
    message_reads: BTreeMap<(MessageId, UserId), MessageRead>,
    card_transactions: BTreeMap<CardTransactionId, CardTransaction>,
    /// SHA-256 (lower-case hex) of the blobs each company may use, and what each is.
    blobs: BTreeMap<CompanyId, BTreeMap<String, BlobKind>>,
}

impl MemoryState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces the row with `e`'s kind and id.
    pub fn put(&mut self, e: Entity) {
        match e {
            Entity::Company(c) => {
                self.companies.insert(c.id, c);
            }
            Entity::ExpenseType(t) => {
                self.expense_types.insert(t.id, t);
            }
            Entity::PaymentMethod(m) => {
                self.payment_methods.insert(m.id, m);
            }
            Entity::ApprovalRule(r) => {
                self.approval_rules.insert(r.id, r);
            }
            Entity::Expense(x) => {
                self.expenses.insert(x.id, x);
            }
            Entity::Thread(t) => {
                self.threads.insert(t.id, t);
            }
            Entity::Message(m) => {
                self.unindex_message(m.id);
                self.thread_index
                    .entry(m.thread_id)
                    .or_default()
                    .insert((m.created_at, m.id));
                self.messages.insert(m.id, m);
            }
            Entity::MessageRead(r) => {
                self.message_reads.insert((r.message_id, r.user_id), r);
            }
            Entity::CardTransaction(t) => {
                self.card_transactions.insert(t.id, t);
            }
        }
    }

    /// Removes the row of `kind` with `id` (its uuid, as [`Entity::id`] gives it) and answers
    /// it; `None` when there was none. Nothing else is removed.
    pub fn delete(&mut self, kind: EntityKind, id: uuid::Uuid) -> Option<Entity> {
        match kind {
            EntityKind::Company => self.companies.remove(&id.into()).map(Entity::Company),
            EntityKind::ExpenseType => self
                .expense_types
                .remove(&id.into())
                .map(Entity::ExpenseType),
            EntityKind::PaymentMethod => self
                .payment_methods
                .remove(&id.into())
                .map(Entity::PaymentMethod),
            EntityKind::ApprovalRule => self
                .approval_rules
                .remove(&id.into())
                .map(Entity::ApprovalRule),
            EntityKind::Expense => self.expenses.remove(&id.into()).map(Entity::Expense),
            EntityKind::Thread => self.threads.remove(&id.into()).map(Entity::Thread),
            EntityKind::Message => {
                self.unindex_message(id.into());
                self.messages.remove(&id.into()).map(Entity::Message)
            }
            EntityKind::MessageRead => {
                let key = self
                    .message_reads
                    .iter()
                    .find(|(_, r)| r.id() == id)
                    .map(|(k, _)| *k)?;
                self.message_reads.remove(&key).map(Entity::MessageRead)
            }
            EntityKind::CardTransaction => self
                .card_transactions
                .remove(&id.into())
                .map(Entity::CardTransaction),
        }
    }

    /// Writes what [`crate::apply`] answered, in order. A delete removes the row of that kind
    /// and id whatever its company (`company_id` is for the server's change log).
    pub fn apply_writes(&mut self, writes: &[Write]) {
        for w in writes {
            match w {
                Write::Put(e) => self.put(e.clone()),
                Write::Delete { kind, id, .. } => {
                    self.delete(*kind, *id);
                }
            }
        }
    }

    /// Runs [`crate::apply`] against this state and, when it answers changes, writes them.
    /// Answers what `apply` answered.
    pub fn apply_mutation(
        &mut self,
        actor: &Actor,
        now: Timestamp,
        mutation: &Mutation,
    ) -> Result<Applied, DomainError> {
        let result = crate::apply(self, actor, now, mutation);
        if let Ok(Applied::Changes(writes)) = &result {
            self.apply_writes(writes);
        }
        result
    }

    /// Records that `company` has the image with this SHA-256 stored (its upload finished).
    pub fn add_blob(&mut self, company: CompanyId, sha256: impl Into<String>) {
        self.add_blob_of_kind(company, sha256, BlobKind::Image);
    }

    /// Records that `company` has the blob with this SHA-256 stored, a file of `kind`.
    pub fn add_blob_of_kind(
        &mut self,
        company: CompanyId,
        sha256: impl Into<String>,
        kind: BlobKind,
    ) {
        self.blobs
            .entry(company)
            .or_default()
            .insert(sha256.into(), kind);
    }

    /// The row of `kind` with `id`, if any.
    pub fn get(&self, kind: EntityKind, id: uuid::Uuid) -> Option<Entity> {
        match kind {
            EntityKind::Company => self.companies.get(&id.into()).cloned().map(Entity::Company),
            EntityKind::ExpenseType => self.expense_type(id.into()).map(Entity::ExpenseType),
            EntityKind::PaymentMethod => self.payment_method(id.into()).map(Entity::PaymentMethod),
            EntityKind::ApprovalRule => self.approval_rule(id.into()).map(Entity::ApprovalRule),
            EntityKind::Expense => self.expense(id.into()).map(Entity::Expense),
            EntityKind::Thread => self.thread(id.into()).map(Entity::Thread),
            EntityKind::Message => self.message(id.into()).map(Entity::Message),
            EntityKind::MessageRead => self
                .message_reads
                .values()
                .find(|r| r.id() == id)
                .cloned()
                .map(Entity::MessageRead),
            EntityKind::CardTransaction => self
                .card_transaction(id.into())
                .map(Entity::CardTransaction),
        }
    }

    /// Every row, cloned: by kind in [`EntityKind::ALL`]'s order, then by id (read records by
    /// message, then reader).
    pub fn entities(&self) -> impl Iterator<Item = Entity> + '_ {
        let companies = self.companies.values().cloned().map(Entity::Company);
        let types = self
            .expense_types
            .values()
            .cloned()
            .map(Entity::ExpenseType);
        let methods = self
            .payment_methods
            .values()
            .cloned()
            .map(Entity::PaymentMethod);
        let rules = self
            .approval_rules
            .values()
            .cloned()
            .map(Entity::ApprovalRule);
        let expenses = self.expenses.values().cloned().map(Entity::Expense);
        let threads = self.threads.values().cloned().map(Entity::Thread);
        let messages = self.messages.values().cloned().map(Entity::Message);
        let reads = self
            .message_reads
            .values()
            .cloned()
            .map(Entity::MessageRead);
        let card_transactions = self
            .card_transactions
            .values()
            .cloned()
            .map(Entity::CardTransaction);
        companies
            .chain(types)
            .chain(methods)
            .chain(rules)
            .chain(expenses)
            .chain(threads)
            .chain(messages)
            .chain(reads)
            .chain(card_transactions)
    }

    /// Every company, by id.
    pub fn companies(&self) -> impl DoubleEndedIterator<Item = &Company> + '_ {
        self.companies.values()
    }

    /// Every payment method of every company, by id.
    pub fn payment_methods(&self) -> impl DoubleEndedIterator<Item = &PaymentMethod> + '_ {
        self.payment_methods.values()
    }

    /// Every expense, by id (UUIDv7 ids: roughly by creation time).
    pub fn expenses(&self) -> impl DoubleEndedIterator<Item = &Expense> + '_ {
        self.expenses.values()
    }

    /// The expense with `id`, borrowed.
    pub fn expenses_get(&self, id: ExpenseId) -> Option<&Expense> {
        self.expenses.get(&id)
    }

    /// The thread with `id`, borrowed.
    pub fn thread_get(&self, id: ThreadId) -> Option<&Thread> {
        self.threads.get(&id)
    }

    /// Every thread, by id.
    pub fn threads(&self) -> impl DoubleEndedIterator<Item = &Thread> + '_ {
        self.threads.values()
    }

    /// The messages of `thread` in thread order, borrowed.
    pub fn thread_messages_iter(&self, thread: ThreadId) -> impl Iterator<Item = &Message> + '_ {
        self.thread_index
            .get(&thread)
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| self.messages.get(id))
    }

    /// Whether `company` has the blob with this SHA-256 recorded.
    pub fn blob_known(&self, company: CompanyId, sha256: &str) -> bool {
        self.blobs
            .get(&company)
            .is_some_and(|b| b.contains_key(sha256))
    }

    /// How many rows there are, of every kind (blobs not counted).
    pub fn len(&self) -> usize {
        self.companies.len()
            + self.expense_types.len()
            + self.payment_methods.len()
            + self.approval_rules.len()
            + self.expenses.len()
            + self.threads.len()
            + self.messages.len()
            + self.message_reads.len()
            + self.card_transactions.len()
    }

    /// Whether there is no row at all (blobs not counted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every card transaction, by id.
    pub fn card_transactions(&self) -> impl DoubleEndedIterator<Item = &CardTransaction> + '_ {
        self.card_transactions.values()
    }

    /// When `user` read `message`, borrowed (no copy: views ask this for every message).
    pub fn read_at(&self, message: MessageId, user: UserId) -> Option<Timestamp> {
        self.message_reads.get(&(message, user)).map(|r| r.read_at)
    }

    /// The read records of `message`, by reader.
    pub fn message_reads(&self, message: MessageId) -> Vec<MessageRead> {
        self.message_reads
            .range((message, UserId(uuid::Uuid::nil()))..)
            .take_while(|((m, _), _)| *m == message)
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// Drops `id` from the thread index (before the message is replaced or removed).
    fn unindex_message(&mut self, id: MessageId) {
        if let Some(old) = self.messages.get(&id) {
            let thread = old.thread_id;
            let key = (old.created_at, old.id);
            if let Some(set) = self.thread_index.get_mut(&thread) {
                set.remove(&key);
                if set.is_empty() {
                    self.thread_index.remove(&thread);
                }
            }
        }
    }
}

impl FromIterator<Entity> for MemoryState {
    fn from_iter<I: IntoIterator<Item = Entity>>(iter: I) -> Self {
        let mut s = MemoryState::new();
        s.extend(iter);
        s
    }
}

impl Extend<Entity> for MemoryState {
    fn extend<I: IntoIterator<Item = Entity>>(&mut self, iter: I) {
        for e in iter {
            self.put(e);
        }
    }
}

impl State for MemoryState {
    fn company(&self, id: CompanyId) -> Option<Company> {
        self.companies.get(&id).cloned()
    }

    fn expense(&self, id: ExpenseId) -> Option<Expense> {
        self.expenses.get(&id).cloned()
    }

    fn expense_type(&self, id: ExpenseTypeId) -> Option<ExpenseType> {
        self.expense_types.get(&id).cloned()
    }

    fn expense_types(&self, company: CompanyId) -> Vec<ExpenseType> {
        self.expense_types
            .values()
            .filter(|t| t.company_id == company)
            .cloned()
            .collect()
    }

    fn payment_method(&self, id: PaymentMethodId) -> Option<PaymentMethod> {
        self.payment_methods.get(&id).cloned()
    }

    fn approval_rule(&self, id: ApprovalRuleId) -> Option<ApprovalRule> {
        self.approval_rules.get(&id).cloned()
    }

    fn approval_rules(&self, company: CompanyId) -> Vec<ApprovalRule> {
        let mut rules: Vec<ApprovalRule> = self
            .approval_rules
            .values()
            .filter(|r| r.company_id == company)
            .cloned()
            .collect();
        rules.sort_by_key(|r| (r.position, r.id));
        rules
    }

    fn thread(&self, id: ThreadId) -> Option<Thread> {
        self.threads.get(&id).cloned()
    }

    fn message(&self, id: MessageId) -> Option<Message> {
        self.messages.get(&id).cloned()
    }

    fn thread_messages(&self, thread: ThreadId) -> Vec<Message> {
        self.thread_index
            .get(&thread)
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| self.messages.get(id).cloned())
            .collect()
    }

    fn message_read(&self, message: MessageId, user: UserId) -> Option<MessageRead> {
        self.message_reads.get(&(message, user)).cloned()
    }

    fn blob_kind(&self, company: CompanyId, sha256: &str) -> Option<BlobKind> {
        self.blobs.get(&company)?.get(sha256).copied()
    }

    fn card_transaction(&self, id: CardTransactionId) -> Option<CardTransaction> {
        self.card_transactions.get(&id).cloned()
    }

    fn card_transaction_for_expense(&self, expense: ExpenseId) -> Option<CardTransaction> {
        self.card_transactions
            .values()
            .find(|t| t.matched_expense() == Some(expense))
            .cloned()
    }
}
