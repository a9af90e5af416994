//! Capturing receipts and the expense form.
//!
//! A photo becomes a receipt without waiting for anything but the photo pipeline: the
//! processed image's file ref, hash and size are queued with a `create_expense` and an
//! `attach_receipt` in one local transaction, and the form opens. The upload happens later,
//! whenever the sync engine gets to it.

mod filter;
mod form;

pub use filter::{ReceiptFilter, ReceiptFilterField, ReceiptSort, StatusFilter, period_of};

use std::collections::BTreeMap;

use crux_core::Command;
use facet::Facet;
use kvits_domain::State as _;
use kvits_protocol::{
    CompanyId, DocumentType, ExpenseFields, ExpenseId, ExpenseStatus, ExpenseTypeId, Mutation,
    PaymentMethodId, ReceiptPage, Role, Timestamp,
};
use serde::{Deserialize, Serialize};

use super::local::{Capture, CaptureTarget, PhotoRecord};
use super::{After, Cmd, Intent, LocalWrite, Model, Screen};
use crate::effects::{PhotoMode, ProcessPhotoRequest, ProcessPhotoResponse, ProcessedPhoto};
use crate::event::{Event, FormField, Internal};
use crate::format;
use crate::model::VatForm;

/// Roles that may capture receipts (as the domain rules say).
const CAPTURE_ROLES: [Role; 4] = [
    Role::Employee,
    Role::Approver,
    Role::CompanyAdmin,
    Role::Accountant,
];

/// The currency a new receipt starts with.
pub const DEFAULT_CURRENCY: &str = "EUR";

/// What the user does with receipts.
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum ReceiptEvent {
    /// A photo from the camera or an import. On the form of a receipt that can still be edited
    /// it becomes another page of that receipt; anywhere else it starts a new receipt.
    PhotoCaptured { file_ref: String },
    /// Edit the open expense form.
    EditForm(FormField),
    /// Keep the receipt as a draft.
    SaveDraft,
    /// Send the receipt for approval/booking.
    Submit,
    /// Delete the open receipt (only a draft that was never submitted).
    Delete,
    /// Remove a page from the open receipt.
    RemovePage { sha256: String },
    /// Narrow or order the receipts list (those who see everyone's receipts).
    Filter(ReceiptFilterField),
}

impl ReceiptEvent {
    pub(crate) fn needs_clock(&self) -> bool {
        match self {
            ReceiptEvent::EditForm(_) | ReceiptEvent::Filter(_) => false,
            ReceiptEvent::PhotoCaptured { .. }
            | ReceiptEvent::SaveDraft
            | ReceiptEvent::Submit
            | ReceiptEvent::Delete
            | ReceiptEvent::RemovePage { .. } => true,
        }
    }
}

/// The receipts workflow's own state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptsState {
    /// The open expense form.
    pub form: Option<FormState>,
    /// Captures being processed, by operation id.
    pub processing: BTreeMap<u64, String>,
    /// The list's filters and order.
    pub filter: ReceiptFilter,
}

/// The expense form as the user is editing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormState {
    pub expense_id: ExpenseId,
    pub document_type: DocumentType,
    pub expense_type_id: Option<ExpenseTypeId>,
    pub payment_method_id: Option<PaymentMethodId>,
    pub amount: String,
    pub currency: String,
    /// The amount in the company's base currency, as typed; used only while the receipt is in
    /// another currency.
    pub base_amount: String,
    pub date: String,
    pub merchant: String,
    pub note: String,
    pub vat: VatForm,
    /// Field name → what is wrong with it.
    pub errors: BTreeMap<String, String>,
}

impl Model {
    pub(in crate::model) fn update_receipts(&mut self, event: ReceiptEvent, now: Timestamp) -> Cmd {
        match event {
            ReceiptEvent::PhotoCaptured { file_ref } => self.photo_captured(file_ref, now),
            ReceiptEvent::EditForm(field) => {
                self.edit_form(field);
                Command::done()
            }
            ReceiptEvent::SaveDraft => self.save_form(now, false),
            ReceiptEvent::Submit => self.save_form(now, true),
            ReceiptEvent::Delete => self.delete_receipt(now),
            ReceiptEvent::RemovePage { sha256 } => self.remove_page(&sha256, now),
            ReceiptEvent::Filter(field) => {
                self.filter_receipts(field);
                Command::done()
            }
        }
    }

    fn photo_captured(&mut self, file_ref: String, now: Timestamp) -> Cmd {
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
        let target = match (&self.screen, &self.receipts.form) {
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
        if self.receipts.processing.values().any(|id| id == capture_id) {
            return Command::done();
        }
        let source = capture.source.clone();
        let op = self.next_op();
        self.receipts.processing.insert(op, capture_id.to_string());
        Command::request_from_shell(ProcessPhotoRequest {
            source,
            mode: PhotoMode::Document,
            long_receipt: false,
        })
        .then_send(move |response| Event::Internal(Internal::Photo { op, response }))
    }

    pub(crate) fn photo_processed(&mut self, op: u64, response: ProcessPhotoResponse) -> Cmd {
        let Some(capture) = self
            .receipts
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

    fn delete_receipt(&mut self, now: Timestamp) -> Cmd {
        let Some(id) = self.receipts.form.as_ref().map(|f| f.expense_id) else {
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

    fn remove_page(&mut self, sha256: &str, now: Timestamp) -> Cmd {
        let Some(id) = self.receipts.form.as_ref().map(|f| f.expense_id) else {
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
