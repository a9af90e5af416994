//! Capturing receipts and the expense form.
//!
//! A photo becomes a receipt without waiting for anything but the photo pipeline: the
//! processed image's file ref, hash and size are queued with a `create_expense` and an
//! `attach_receipt` in one local transaction, and the form opens. The upload happens later,
//! whenever the sync engine gets to it.

use std::collections::BTreeMap;

use crux_core::Command;
use kvits_domain::State as _;
use kvits_protocol::{
    CompanyId, DocumentType, ExpenseFields, ExpenseId, ExpenseStatus, ExpenseTypeId, Money,
    Mutation, PaymentKind, PaymentMethodId, ReceiptPage, Role, Timestamp,
};

use super::local::{Capture, CaptureTarget, PhotoRecord};
use super::{After, Cmd, Intent, LocalWrite, Model, Screen, parse_id};
use crate::effects::{PhotoMode, ProcessPhotoRequest, ProcessPhotoResponse, ProcessedPhoto};
use crate::event::{Event, FormField, Internal};
use crate::format;

/// Roles that may capture receipts (as the domain rules say).
const CAPTURE_ROLES: [Role; 4] = [
    Role::Employee,
    Role::Approver,
    Role::CompanyAdmin,
    Role::Accountant,
];

/// The currency a new receipt starts with.
pub const DEFAULT_CURRENCY: &str = "EUR";

/// The expense form as the user is editing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormState {
    pub expense_id: ExpenseId,
    pub expense_type_id: Option<ExpenseTypeId>,
    pub payment_method_id: Option<PaymentMethodId>,
    pub amount: String,
    pub currency: String,
    pub date: String,
    pub merchant: String,
    pub note: String,
    /// Field name → what is wrong with it.
    pub errors: BTreeMap<String, String>,
}

impl Model {
    pub(crate) fn photo_captured(&mut self, file_ref: String, now: Timestamp) -> Cmd {
        if file_ref.trim().is_empty() {
            self.alert = Some("No photo was taken.".into());
            return Command::done();
        }
        let Some(company) = self.company() else {
            self.alert = Some("Choose a company first.".into());
            return Command::done();
        };
        if !CAPTURE_ROLES.iter().any(|r| self.has_role(*r)) {
            self.alert =
                Some("Your role in this company does not include capturing receipts.".into());
            return Command::done();
        }
        let target = match (&self.screen, &self.form) {
            (Screen::Receipt(id), Some(_)) if self.editable(*id) => {
                CaptureTarget::Page { expense_id: *id }
            }
            _ => CaptureTarget::New {
                expense_id: ExpenseId(self.ids.uuid(now)),
                company_id: company,
            },
        };
        // Recorded before it is processed: a crash in between loses nothing.
        let capture = Capture {
            id: self.ids.uuid(now).to_string(),
            source: file_ref,
            target,
            started: now,
        };
        let id = capture.id.clone();
        self.enqueue(Intent::Writes {
            writes: vec![LocalWrite::CapturePut(capture)],
            then: After::Process(id),
        })
    }

    /// Asks the shell to process a recorded capture.
    pub(crate) fn process(&mut self, capture_id: &str) -> Cmd {
        let Some(capture) = self.local.captures.get(capture_id) else {
            return Command::done();
        };
        if self.processing.values().any(|id| id == capture_id) {
            return Command::done();
        }
        let source = capture.source.clone();
        let op = self.next_op();
        self.processing.insert(op, capture_id.to_string());
        Command::request_from_shell(ProcessPhotoRequest {
            source,
            mode: PhotoMode::Document,
            long_receipt: false,
        })
        .then_send(move |response| Event::Internal(Internal::Photo { op, response }))
    }

    pub(crate) fn photo_processed(&mut self, op: u64, response: ProcessPhotoResponse) -> Cmd {
        let Some(capture) = self
            .processing
            .remove(&op)
            .and_then(|id| self.local.captures.get(&id).cloned())
        else {
            self.fail(format!(
                "a processed photo for request {op}, which is not waiting"
            ));
            return Command::done();
        };
        let done = LocalWrite::CaptureDelete(capture.id.clone());
        let photo = match response {
            ProcessPhotoResponse::Processed(p) => p,
            ProcessPhotoResponse::Failed(e) => {
                self.alert = Some(format!(
                    "This file cannot be used as a receipt: {}",
                    e.message
                ));
                return self.enqueue(Intent::Writes {
                    writes: vec![done],
                    then: After::Nothing,
                });
            }
        };
        if let Err(why) = check_processed(&photo) {
            self.fail(format!("the photo pipeline answered {why}"));
            self.alert = Some("This photo could not be processed; please take it again.".into());
            return self.enqueue(Intent::Writes {
                writes: vec![done],
                then: After::Nothing,
            });
        }
        match capture.target {
            CaptureTarget::New {
                expense_id,
                company_id,
            } => {
                let offset = self.config.utc_offset_minutes;
                let taken = photo
                    .taken_on
                    .as_deref()
                    .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .filter(|d| *d <= format::local_day(capture.started, offset));
                let date = taken.unwrap_or_else(|| format::local_day(capture.started, offset));
                let intent = new_receipt(
                    expense_id,
                    company_id,
                    record_of(&photo, company_id),
                    date,
                    capture.started,
                    capture.id,
                );
                self.enqueue(intent)
            }
            CaptureTarget::Page { expense_id } => {
                let company_id = self
                    .predicted
                    .expense(expense_id)
                    .map(|e| e.company_id)
                    .or(self.company())
                    .unwrap_or(CompanyId(uuid::Uuid::nil()));
                self.enqueue(Intent::AddPage {
                    now: capture.started,
                    expense_id,
                    photo: record_of(&photo, company_id),
                    capture: capture.id,
                })
            }
        }
    }

    /// What an [`Intent::AddPage`] becomes when planned: the page added to the receipt as it
    /// is now — or, when that receipt can no longer take pages (it was submitted or deleted
    /// meanwhile), a receipt of its own. A photo is never dropped.
    pub(crate) fn plan_add_page(
        &mut self,
        now: Timestamp,
        expense_id: ExpenseId,
        photo: PhotoRecord,
        capture: String,
    ) -> Intent {
        let done = LocalWrite::CaptureDelete(capture.clone());
        if self
            .predicted
            .expense(expense_id)
            .is_some_and(|e| e.pages.iter().any(|p| p.sha256 == photo.sha256))
        {
            self.alert = Some("This photo is already a page of this receipt.".into());
            return Intent::Writes {
                writes: vec![done],
                then: After::Nothing,
            };
        }
        if self.editable(expense_id)
            && let Ok(mutation) = self.add_page_mutation(expense_id, &photo)
        {
            return Intent::Mutations {
                now,
                mutations: vec![mutation],
                extra: vec![LocalWrite::PhotoPut(photo), done],
                then: After::Nothing,
            };
        }
        self.alert =
            Some("That receipt can no longer take pages; the photo became a new receipt.".into());
        let new_id = ExpenseId(self.ids.uuid(now));
        let company = photo.company_id;
        let date = format::local_day(now, self.config.utc_offset_minutes);
        new_receipt(new_id, company, photo, date, now, capture)
    }

    /// The `attach_receipt` that adds `photo` to the receipt's pages as they are now.
    pub(crate) fn add_page_mutation(
        &self,
        expense_id: ExpenseId,
        photo: &PhotoRecord,
    ) -> Result<Mutation, String> {
        let e = self
            .predicted
            .expense(expense_id)
            .ok_or("That receipt is no longer on this device.")?;
        if e.pages.iter().any(|p| p.sha256 == photo.sha256) {
            return Err("This photo is already a page of this receipt.".into());
        }
        let mut pages = e.pages.clone();
        pages.push(ReceiptPage {
            sha256: photo.sha256.clone(),
            size: photo.size,
            content_type: photo.content_type.clone(),
            width: photo.width,
            height: photo.height,
        });
        Ok(Mutation::AttachReceipt { expense_id, pages })
    }

    /// Whether the user can still change the receipt.
    pub(crate) fn editable(&self, id: ExpenseId) -> bool {
        let Some(actor) = &self.actor else {
            return false;
        };
        self.predicted.expense(id).is_some_and(|e| {
            e.created_by == actor.user_id
                && matches!(e.status, ExpenseStatus::Draft | ExpenseStatus::Returned)
        })
    }

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
        self.form = Some(FormState {
            expense_id: id,
            expense_type_id: f.expense_type_id,
            payment_method_id: f.payment_method_id,
            amount: f
                .amount
                .as_ref()
                .map(|m| format::amount_input(m.amount_minor))
                .unwrap_or_default(),
            currency: f
                .amount
                .as_ref()
                .map_or(DEFAULT_CURRENCY.to_string(), |m| m.currency.clone()),
            date: f.date.map(|d| d.to_string()).unwrap_or_default(),
            merchant: f.merchant.clone().unwrap_or_default(),
            note: f.note.clone().unwrap_or_default(),
            errors: BTreeMap::new(),
        });
        self.screen = Screen::Receipt(id);
        if dirty
            && let Err(errors) = self.validate(false)
            && let Some(form) = &mut self.form
        {
            form.errors = errors;
        }
    }

    pub(crate) fn edit_form(&mut self, field: FormField) {
        let Some(form) = &mut self.form else {
            self.fail("a form edit with no form open");
            return;
        };
        let key = match field {
            FormField::ExpenseType(id) => {
                form.expense_type_id = id.as_deref().and_then(parse_id);
                "expense_type"
            }
            FormField::PaymentMethod(id) => {
                form.payment_method_id = id.as_deref().and_then(parse_id);
                "payment_method"
            }
            FormField::Amount(s) => {
                form.amount = s;
                "amount"
            }
            FormField::Currency(s) => {
                form.currency = s.trim().to_uppercase();
                "currency"
            }
            FormField::Date(s) => {
                form.date = s;
                "date"
            }
            FormField::Merchant(s) => {
                form.merchant = s;
                "merchant"
            }
            FormField::Note(s) => {
                form.note = s;
                "note"
            }
        };
        // A field the user is fixing loses its message as soon as it is right.
        if form.errors.contains_key(key)
            && let Err(errors) = self.validate(false)
        {
            let still = errors.get(key).cloned();
            if let Some(form) = &mut self.form {
                match still {
                    Some(m) => form.errors.insert(key.to_string(), m),
                    None => form.errors.remove(key),
                };
            }
        } else if let Some(form) = &mut self.form {
            form.errors.remove(key);
        }
    }

    /// The form's fields, or what is wrong with them.
    pub(crate) fn validate(&self, submit: bool) -> Result<ExpenseFields, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let Some(form) = &self.form else {
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
        let amount = match format::parse_amount(&form.amount) {
            Ok(a) => a,
            Err(m) => {
                errors.insert("amount".into(), m);
                None
            }
        };
        let currency_ok =
            form.currency.len() == 3 && form.currency.chars().all(|c| c.is_ascii_uppercase());
        if amount.is_some() && !currency_ok {
            errors.insert(
                "currency".into(),
                "The currency is a three-letter code such as EUR.".into(),
            );
        }
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
        if !errors.is_empty() {
            return Err(errors);
        }
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(ExpenseFields {
            expense_type_id: form.expense_type_id,
            payment_method_id: form.payment_method_id,
            amount: amount.map(|amount_minor| Money {
                amount_minor,
                currency: form.currency.clone(),
            }),
            date,
            merchant: text(&form.merchant),
            note: text(&form.note),
        })
    }

    pub(crate) fn save_form(&mut self, now: Timestamp, submit: bool) -> Cmd {
        let Some(id) = self.form.as_ref().map(|f| f.expense_id) else {
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
                if let Some(form) = &mut self.form {
                    form.errors = errors;
                }
                return Command::done();
            }
        };
        let current = self.predicted.expense(id).map(|e| e.fields);
        let mut mutations = Vec::new();
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
                LocalWrite::NoticePut(super::Notice {
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

    pub(crate) fn delete_receipt(&mut self, now: Timestamp) -> Cmd {
        let Some(id) = self.form.as_ref().map(|f| f.expense_id) else {
            return Command::done();
        };
        self.enqueue(Intent::Mutations {
            now,
            mutations: vec![Mutation::DeleteExpense { expense_id: id }],
            extra: Vec::new(),
            then: After::Saved {
                message: Some("Receipt deleted.".into()),
                close_form: true,
            },
        })
    }

    pub(crate) fn remove_page(&mut self, sha256: &str, now: Timestamp) -> Cmd {
        let Some(id) = self.form.as_ref().map(|f| f.expense_id) else {
            return Command::done();
        };
        let Some(e) = self.predicted.expense(id) else {
            return Command::done();
        };
        if !e.pages.iter().any(|p| p.sha256 == sha256) {
            self.alert = Some("That page is not on this receipt.".into());
            return Command::done();
        }
        let pages = e.pages.into_iter().filter(|p| p.sha256 != sha256).collect();
        self.enqueue(Intent::Mutations {
            now,
            mutations: vec![Mutation::AttachReceipt {
                expense_id: id,
                pages,
            }],
            extra: Vec::new(),
            then: After::Nothing,
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

/// Queues a new receipt made of one photo, and forgets the capture it came from.
fn new_receipt(
    expense_id: ExpenseId,
    company_id: CompanyId,
    photo: PhotoRecord,
    date: chrono::NaiveDate,
    started: Timestamp,
    capture: String,
) -> Intent {
    let page = ReceiptPage {
        sha256: photo.sha256.clone(),
        size: photo.size,
        content_type: photo.content_type.clone(),
        width: photo.width,
        height: photo.height,
    };
    Intent::Mutations {
        now: started,
        mutations: vec![
            Mutation::CreateExpense {
                expense_id,
                company_id,
                document_type: DocumentType::Receipt,
                fields: ExpenseFields {
                    date: Some(date),
                    ..ExpenseFields::default()
                },
            },
            Mutation::AttachReceipt {
                expense_id,
                pages: vec![page],
            },
        ],
        extra: vec![
            LocalWrite::PhotoPut(photo),
            LocalWrite::CaptureDelete(capture),
        ],
        then: After::OpenReceipt(expense_id),
    }
}

fn check_processed(p: &ProcessedPhoto) -> Result<(), String> {
    if !kvits_protocol::is_sha256_hex(&p.sha256) {
        return Err(format!("a hash that is not SHA-256 hex ({:?})", p.sha256));
    }
    if p.size == 0 || p.size > kvits_protocol::MAX_BLOB_BYTES {
        return Err(format!("a size of {} bytes", p.size));
    }
    if p.width == 0 || p.height == 0 {
        return Err("an image with no pixels".into());
    }
    if p.file_ref.is_empty() {
        return Err("no file".into());
    }
    Ok(())
}

fn record_of(p: &ProcessedPhoto, company_id: CompanyId) -> PhotoRecord {
    PhotoRecord {
        sha256: p.sha256.clone(),
        company_id,
        file_ref: p.file_ref.clone(),
        thumbnail_ref: p.thumbnail_ref.clone(),
        size: p.size,
        width: p.width,
        height: p.height,
        content_type: p.content_type.clone(),
        uploaded: false,
        broken: None,
    }
}
