//! A company's catalog, managed by its admins and the firm's accountants: expense types,
//! payment methods (cards and "own money") and approval rules. Every save is a mutation like
//! any other: checked by the domain rules at once, queued, synced — offline too.

use crux_core::Command;
use facet::Facet;
use kvits_protocol::{
    ApprovalRule, ApprovalRuleId, ApprovalStep, CompanyId, DocumentType, ExpenseType,
    ExpenseTypeId, Mutation, PaymentKind, PaymentMethod, PaymentMethodId, Role, Timestamp, UserId,
};
use serde::{Deserialize, Serialize};

use super::{After, Cmd, Intent, Model, parse_id};
use crate::event::{ApprovalRuleInput, ExpenseTypeInput, PaymentMethodInput};
use crate::format;
use kvits_domain::State as _;

/// A change to the current company's catalog: create (`id: None`) or change one entry.
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum CatalogEvent {
    SaveExpenseType(ExpenseTypeInput),
    SavePaymentMethod(PaymentMethodInput),
    SaveApprovalRule(ApprovalRuleInput),
}

impl Model {
    pub(super) fn update_catalog(&mut self, event: CatalogEvent, now: Timestamp) -> Cmd {
        match event {
            CatalogEvent::SaveExpenseType(input) => self.save_expense_type(input, now),
            CatalogEvent::SavePaymentMethod(input) => self.save_payment_method(input, now),
            CatalogEvent::SaveApprovalRule(input) => self.save_approval_rule(input, now),
        }
    }

    /// Whether the user manages the current company's catalog.
    pub(crate) fn manages_catalog(&self) -> bool {
        self.has_role(Role::Accountant) || self.has_role(Role::CompanyAdmin)
    }

    /// The company being managed, or why not.
    fn managed_company(&mut self) -> Option<CompanyId> {
        let company = self.company();
        if company.is_none() || !self.manages_catalog() {
            self.alert =
                Some("Only the company's admins and its accountants change its settings.".into());
            return None;
        }
        company
    }

    /// An id the shell sent for an existing row, or a new one.
    fn id_or_new<T: From<uuid::Uuid>>(&mut self, id: Option<&str>, now: Timestamp) -> Option<T> {
        match id.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => {
                let parsed = parse_id::<T>(s);
                if parsed.is_none() {
                    self.alert = Some("That entry is not on this device.".into());
                }
                parsed
            }
            None => Some(T::from(self.ids.uuid(now))),
        }
    }

    fn save_catalog(&mut self, now: Timestamp, mutation: Mutation) -> Cmd {
        self.enqueue(Intent::Mutations {
            now,
            mutations: vec![mutation],
            extra: Vec::new(),
            then: After::Saved {
                message: Some("Saved.".into()),
                close_form: false,
            },
        })
    }

    fn save_expense_type(&mut self, input: ExpenseTypeInput, now: Timestamp) -> Cmd {
        let Some(company_id) = self.managed_company() else {
            return Command::done();
        };
        let Some(id) = self.id_or_new::<ExpenseTypeId>(input.id.as_deref(), now) else {
            return Command::done();
        };
        let t = ExpenseType {
            id,
            company_id,
            code: input.code.trim().to_uppercase(),
            name: input.name.trim().to_string(),
            active: input.active,
        };
        self.save_catalog(now, Mutation::PutExpenseType(t))
    }

    fn save_payment_method(&mut self, input: PaymentMethodInput, now: Timestamp) -> Cmd {
        let Some(company_id) = self.managed_company() else {
            return Command::done();
        };
        let Some(id) = self.id_or_new::<PaymentMethodId>(input.id.as_deref(), now) else {
            return Command::done();
        };
        let holder_id = match input
            .holder_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(h) => match parse_id::<UserId>(h) {
                Some(u) => Some(u),
                None => {
                    self.alert = Some("Choose the card holder from the company's people.".into());
                    return Command::done();
                }
            },
            None => None,
        };
        let m = PaymentMethod {
            id,
            company_id,
            payment_kind: if input.own_money {
                PaymentKind::OwnMoney
            } else {
                PaymentKind::CompanyCard
            },
            label: input.label.trim().to_string(),
            last_four: input
                .last_four
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty()),
            holder_id,
            active: input.active,
            statement_ref: input
                .statement_ref
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty()),
        };
        self.save_catalog(now, Mutation::PutPaymentMethod(m))
    }

    fn save_approval_rule(&mut self, input: ApprovalRuleInput, now: Timestamp) -> Cmd {
        let Some(company_id) = self.managed_company() else {
            return Command::done();
        };
        let Some(id) = self.id_or_new::<ApprovalRuleId>(input.id.as_deref(), now) else {
            return Command::done();
        };
        // The limits are typed in the rule's currency: a new rule's is the company's base
        // currency, and a rule keeps its own.
        let currency = self
            .predicted
            .approval_rule(id)
            .map_or_else(|| self.base_currency(), |r| r.currency);
        let amount = |s: &str, what: &str| match format::parse_amount(s, &currency) {
            Ok(a) => Ok(a),
            Err(e) => Err(format!("{what}: {e}")),
        };
        let (min, max) = match (
            amount(&input.min_amount, "From amount"),
            amount(&input.max_amount, "Up to amount"),
        ) {
            (Ok(min), Ok(max)) => (min, max),
            (Err(e), _) | (_, Err(e)) => {
                self.alert = Some(e);
                return Command::done();
            }
        };
        if let (Some(min), Some(max)) = (min, max)
            && min >= max
        {
            self.alert = Some("The “up to” amount must be more than the “from” amount.".into());
            return Command::done();
        }
        let mut expense_type_ids = Vec::new();
        for t in &input.expense_type_ids {
            match parse_id::<ExpenseTypeId>(t) {
                Some(t) => expense_type_ids.push(t),
                None => {
                    self.alert = Some("Choose expense types from the list.".into());
                    return Command::done();
                }
            }
        }
        let mut steps = Vec::new();
        for step in &input.steps {
            let mut approver_ids = Vec::new();
            for a in step {
                match parse_id::<UserId>(a) {
                    Some(u) => approver_ids.push(u),
                    None => {
                        self.alert = Some("Choose approvers from the company's people.".into());
                        return Command::done();
                    }
                }
            }
            steps.push(ApprovalStep { approver_ids });
        }
        let r = ApprovalRule {
            id,
            company_id,
            name: input.name.trim().to_string(),
            position: input.position,
            active: input.active,
            document_type: input.document_type.map(DocumentType::from),
            expense_type_ids,
            min_amount_minor: min,
            max_amount_minor: max,
            currency,
            steps,
        };
        self.save_catalog(now, Mutation::PutApprovalRule(r))
    }
}
