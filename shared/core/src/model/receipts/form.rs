//! The expense form: opening it on a receipt, editing its fields, checking them and saving
//! the receipt as a draft or submitting it.

use std::collections::BTreeMap;

use crux_core::Command;
use kvits_domain::State as _;
use kvits_protocol::{
    CompanyId, ExpenseFields, ExpenseId, Money, Mutation, PaymentKind, PaymentMethodId, Timestamp,
};

use super::{DEFAULT_CURRENCY, FormState};
use crate::event::FormField;
use crate::format;
use crate::model::{After, Cmd, Intent, LocalWrite, Model, Screen, Stale, VatForm, parse_id};

impl Model {
    pub(crate) fn open_form(&mut self, id: ExpenseId) {
        let Some(e) = self.predicted.expense(id) else {
            return;
        };
        // What the user entered in a refused change comes back, to be corrected.
        let kept = self
            .local
            .notices
            .values()
            .rev()
            .find(|n| n.expense_id == Some(id) && n.fields.is_some())
            .and_then(|n| n.fields.clone());
        let dirty = kept.is_some();
        let f = kept.as_ref().unwrap_or(&e.fields);
        self.receipts.form = Some(FormState {
            expense_id: id,
            document_type: e.document_type,
            expense_type_id: f.expense_type_id,
            payment_method_id: f.payment_method_id,
            amount: f
                .amount
                .as_ref()
                .map(|m| format::amount_input(m.amount_minor, &m.currency))
                .unwrap_or_default(),
            currency: f
                .amount
                .as_ref()
                .map_or(DEFAULT_CURRENCY.to_string(), |m| m.currency.clone()),
            base_amount: f
                .base_amount
                .as_ref()
                .map(|m| format::amount_input(m.amount_minor, &m.currency))
                .unwrap_or_default(),
            date: f.date.map(|d| d.to_string()).unwrap_or_default(),
            merchant: f.merchant.clone().unwrap_or_default(),
            note: f.note.clone().unwrap_or_default(),
            vat: VatForm::of(
                &f.vat,
                f.amount.as_ref().map_or(DEFAULT_CURRENCY, |m| &m.currency),
            ),
            errors: BTreeMap::new(),
        });
        self.screen = Screen::Receipt(id);
        if dirty
            && let Err(errors) = self.validate(false)
            && let Some(form) = &mut self.receipts.form
        {
            form.errors = errors;
        }
    }

    pub(crate) fn edit_form(&mut self, edit: FormField) {
        let Some(form) = &mut self.receipts.form else {
            self.fail("a form edit with no form open");
            return;
        };
        let field = |key: &str| Stale::Field(key.into());
        let stale = match edit {
            FormField::ExpenseType(id) => {
                form.expense_type_id = id.as_deref().and_then(parse_id);
                field("expense_type")
            }
            FormField::PaymentMethod(id) => {
                form.payment_method_id = id.as_deref().and_then(parse_id);
                field("payment_method")
            }
            FormField::Amount(s) => {
                form.amount = s;
                field("amount")
            }
            FormField::Currency(s) => {
                form.currency = s.trim().to_uppercase();
                field("currency")
            }
            FormField::Date(s) => {
                form.date = s;
                field("date")
            }
            FormField::Merchant(s) => {
                form.merchant = s;
                field("merchant")
            }
            FormField::Note(s) => {
                form.note = s;
                field("note")
            }
            FormField::BaseAmount(s) => {
                form.base_amount = s;
                field("base_amount")
            }
            FormField::DocumentType(kind) => {
                form.document_type = kind.into();
                field("document_type")
            }
            FormField::Vat(edit) => form.vat.edit(edit),
        };
        // A field the user is fixing loses its message as soon as it is right.
        let fixing: Vec<String> = form
            .errors
            .keys()
            .filter(|k| stale.covers(k))
            .cloned()
            .collect();
        if fixing.is_empty() {
            return;
        }
        let still = self.validate(false).err().unwrap_or_default();
        if let Some(form) = &mut self.receipts.form {
            for key in fixing {
                match still.get(&key) {
                    Some(m) => form.errors.insert(key, m.clone()),
                    None => form.errors.remove(&key),
                };
            }
        }
    }

    /// The form's fields, or what is wrong with them.
    pub(crate) fn validate(&self, submit: bool) -> Result<ExpenseFields, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let Some(form) = &self.receipts.form else {
            return Err(errors);
        };
        let company = self
            .predicted
            .expense(form.expense_id)
            .map(|e| e.company_id);
        let current = self.predicted.expense(form.expense_id).map(|e| e.fields);
        match form.expense_type_id {
            Some(id) => match self.predicted.expense_type(id) {
                Some(t) if Some(t.company_id) == company => {
                    let kept = current
                        .as_ref()
                        .is_some_and(|c| c.expense_type_id == Some(id));
                    if !t.active && !kept {
                        errors.insert(
                            "expense_type".into(),
                            format!("“{}” is no longer in use.", t.name),
                        );
                    }
                }
                _ => {
                    errors.insert(
                        "expense_type".into(),
                        "Choose an expense type from the list.".into(),
                    );
                }
            },
            None if submit => {
                errors.insert("expense_type".into(), "Choose an expense type.".into());
            }
            None => {}
        }
        match form.payment_method_id {
            Some(id)
                if self
                    .predicted
                    .payment_method(id)
                    .is_none_or(|m| Some(m.company_id) != company) =>
            {
                errors.insert(
                    "payment_method".into(),
                    "Choose a card or “own money” from the list.".into(),
                );
            }
            Some(_) => {}
            None if submit => {
                errors.insert("payment_method".into(), "Choose how it was paid.".into());
            }
            None => {}
        }
        // The amount is read in the currency's own decimals, so the currency is checked first.
        let currency_ok = kvits_protocol::currency_exponent(&form.currency).is_some();
        let amount = if currency_ok {
            match format::parse_amount(&form.amount, &form.currency) {
                Ok(a) => a,
                Err(m) => {
                    errors.insert("amount".into(), m);
                    None
                }
            }
        } else {
            if !form.amount.trim().is_empty() || !form.vat.lines.is_empty() {
                errors.insert(
                    "currency".into(),
                    format!(
                        "“{}” is not a currency; write its ISO code, such as EUR, PLN or SEK.",
                        form.currency
                    ),
                );
            }
            None
        };
        // A receipt in another currency may also carry its amount in the base currency (what
        // approval limits are compared with); in the base currency it needs none.
        let base_currency = company.map(|c| self.base_currency_of(c));
        let base_amount = match &base_currency {
            Some(base) if currency_ok && form.currency != *base => {
                match format::parse_amount(&form.base_amount, base) {
                    Ok(Some(_)) if amount.is_none() && !errors.contains_key("amount") => {
                        errors.insert(
                            "base_amount".into(),
                            "Enter the amount on the receipt first.".into(),
                        );
                        None
                    }
                    Ok(minor) => minor.map(|amount_minor| Money {
                        amount_minor,
                        currency: base.clone(),
                    }),
                    Err(m) => {
                        errors.insert("base_amount".into(), m);
                        None
                    }
                }
            }
            _ => None,
        };
        let date = match form.date.trim() {
            "" => None,
            d => match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.insert("date".into(), "Write the date as YYYY-MM-DD.".into());
                    None
                }
            },
        };
        if let (Some(d), Some(now)) = (date, self.clock)
            && d > format::local_day(now, self.config.utc_offset_minutes)
                + chrono::Duration::days(1)
        {
            errors.insert("date".into(), "The date is in the future.".into());
        }
        if submit
            && self
                .predicted
                .expense(form.expense_id)
                .is_some_and(|e| e.pages.is_empty())
        {
            errors.insert("pages".into(), "Add a photo of the receipt first.".into());
        }
        let amount = amount.map(|amount_minor| Money {
            amount_minor,
            currency: form.currency.clone(),
        });
        // VAT amounts are in the receipt's currency and add up to its amount: read once both are.
        let vat = if currency_ok && !errors.contains_key("amount") {
            form.vat
                .read(&form.currency, amount.as_ref())
                .unwrap_or_else(|wrong| {
                    errors.extend(wrong);
                    Vec::new()
                })
        } else {
            Vec::new()
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        // The account code is the firm's (its review sets it); it stays.
        let account_code = current.and_then(|c| c.account_code);
        Ok(ExpenseFields {
            expense_type_id: form.expense_type_id,
            payment_method_id: form.payment_method_id,
            amount,
            base_amount,
            date,
            merchant: text(&form.merchant),
            note: text(&form.note),
            vat,
            account_code,
        })
    }

    pub(crate) fn save_form(&mut self, now: Timestamp, submit: bool) -> Cmd {
        let Some(id) = self.receipts.form.as_ref().map(|f| f.expense_id) else {
            self.fail("save with no form open");
            return Command::done();
        };
        if !self.editable(id) {
            self.alert = Some("This receipt can no longer be changed.".into());
            return Command::done();
        }
        let fields = match self.validate(submit) {
            Ok(f) => f,
            Err(errors) => {
                if let Some(form) = &mut self.receipts.form {
                    form.errors = errors;
                }
                return Command::done();
            }
        };
        let document_type = self.receipts.form.as_ref().map(|f| f.document_type);
        let current = self.predicted.expense(id);
        let mut mutations = Vec::new();
        if let Some(document_type) = document_type
            && current
                .as_ref()
                .is_some_and(|e| e.document_type != document_type)
        {
            mutations.push(Mutation::SetDocumentType {
                expense_id: id,
                document_type,
            });
        }
        let current = current.map(|e| e.fields);
        if current.as_ref() != Some(&fields) {
            mutations.push(Mutation::SetExpenseFields {
                expense_id: id,
                fields,
            });
        }
        if submit {
            mutations.push(Mutation::SubmitExpense { expense_id: id });
        }
        let message = match (submit, self.sync.online) {
            (true, true) => "Submitted.",
            (true, false) => {
                "Submitted. It is saved on this device and goes out as soon as there is a connection."
            }
            (false, _) => "Saved as a draft.",
        };
        // Entries kept from a refused change are now saved again: forget them.
        let extra = self
            .local
            .notices
            .values()
            .filter(|n| n.expense_id == Some(id) && n.fields.is_some())
            .map(|n| {
                LocalWrite::NoticePut(crate::model::Notice {
                    fields: None,
                    ..n.clone()
                })
            })
            .collect();
        self.enqueue(Intent::Mutations {
            now,
            mutations,
            extra,
            then: After::Saved {
                message: Some(message.into()),
                close_form: true,
            },
        })
    }

    /// The payment methods the form offers: the user's own cards first, then the company's
    /// shared cards (no holder), then "own money / cash" — and whatever the receipt already
    /// names (`keep`), even another person's card or one no longer in use.
    pub(crate) fn payment_choices(
        &self,
        company: CompanyId,
        keep: Option<PaymentMethodId>,
    ) -> Vec<&kvits_protocol::PaymentMethod> {
        let me = self.actor.as_ref().map(|a| a.user_id);
        let mut methods: Vec<_> = self
            .predicted
            .payment_methods()
            .filter(|m| m.company_id == company)
            .filter(|m| {
                Some(m.id) == keep || (m.active && (m.holder_id.is_none() || m.holder_id == me))
            })
            .collect();
        methods.sort_by_key(|m| {
            let rank = match (m.payment_kind, m.holder_id) {
                (PaymentKind::CompanyCard, Some(h)) if Some(h) == me => 0,
                (PaymentKind::CompanyCard, _) => 1,
                (PaymentKind::OwnMoney, _) => 2,
            };
            (rank, m.label.to_lowercase())
        });
        methods
    }
}
