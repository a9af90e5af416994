//! The export page: the period and its preview, the batches made (download, cancel) and the
//! company's export settings.

use facet::Facet;
use kvits_protocol::{ExportBatchStatus, money_text};
use serde::{Deserialize, Serialize};

use super::ImageRef;
use crate::format;
use crate::model::Model;

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExportView {
    pub company_name: String,
    /// The period as typed, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    pub include_changed: bool,
    /// What a batch of the period would hold; `None` until it arrives or while the period
    /// does not read as one.
    pub preview: Option<ExportPreviewView>,
    /// Newest first; `None` until they arrive.
    pub batches: Option<Vec<BatchRow>>,
    pub settings: Option<ExportSettingsView>,
    /// A batch is being made or cancelled, or the settings saved.
    pub busy: bool,
    pub error: Option<String>,
    pub done: Option<String>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExportPreviewView {
    pub documents: u32,
    /// "12 documents, 19 pages: 1 204,50 EUR".
    pub summary: String,
    /// What the batch leaves out, one line each ("3 approved documents are not reviewed yet").
    pub left_out: Vec<String>,
    /// Documents changed since their export, offered with "include changed".
    pub changed: u32,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BatchRow {
    pub id: String,
    /// "Batch 7".
    pub title: String,
    /// "2026-11-01 – 2026-11-30 · 12 documents · 18 MB".
    pub detail: String,
    /// "Made by Anna Accountant on 2026-12-02 09:15", or why it is cancelled or failed.
    pub status: String,
    /// The ZIP, fetched with the user's credentials, when it downloads.
    pub file: Option<ImageRef>,
    pub file_name: String,
    pub can_cancel: bool,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExportSettingsView {
    pub sie: bool,
    pub vat_account: String,
    pub employee_account: String,
    pub card_account: String,
}

fn plural(n: u32, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

impl Model {
    pub(super) fn export_view(&self) -> ExportView {
        let s = &self.export;
        let company_name = s
            .company
            .and_then(|id| kvits_domain::State::company(&self.predicted, id))
            .map(|c| c.name)
            .unwrap_or_default();
        let preview = s.preview.as_ref().map(|p| {
            let totals: Vec<String> = p.totals.iter().map(money_text).collect();
            let mut summary = format!(
                "{}, {}",
                plural(p.documents, "document"),
                plural(p.pages, "page")
            );
            if !totals.is_empty() {
                summary.push_str(": ");
                summary.push_str(&totals.join(", "));
            }
            let mut left_out = Vec::new();
            if p.not_reviewed > 0 {
                left_out.push(format!(
                    "{} approved but not reviewed yet",
                    plural(p.not_reviewed, "document")
                ));
            }
            if p.in_progress > 0 {
                left_out.push(format!(
                    "{} still with the employee or the approvers",
                    plural(p.in_progress, "document")
                ));
            }
            if p.changed > 0 && !s.include_changed {
                left_out.push(format!(
                    "{} changed since its export",
                    plural(p.changed, "document")
                ));
            }
            if p.exported > 0 {
                left_out.push(format!(
                    "{} exported already",
                    plural(p.exported, "document")
                ));
            }
            ExportPreviewView {
                documents: p.documents,
                summary,
                left_out,
                changed: p.changed,
            }
        });
        let batches = s.batches.as_ref().map(|batches| {
            batches
                .iter()
                .map(|b| {
                    let period = match (b.from, b.to) {
                        (Some(from), Some(to)) => format!("{from} – {to} · "),
                        _ => String::new(),
                    };
                    let size = b
                        .bytes
                        .map(|n| format!(" · {}", format::file_size(n)))
                        .unwrap_or_default();
                    let made = format!(
                        "Made by {} on {}",
                        b.created_by_name,
                        format::date_time(b.created_at, self.offset())
                    );
                    let status = match b.status {
                        ExportBatchStatus::Ready => made,
                        ExportBatchStatus::Building => format!("{made}; being written"),
                        ExportBatchStatus::Cancelled => format!(
                            "Cancelled by {}{}",
                            b.cancelled_by_name.as_deref().unwrap_or("someone"),
                            b.cancelled_at
                                .map(|t| format!(" on {}", format::date_time(t, self.offset())))
                                .unwrap_or_default()
                        ),
                        ExportBatchStatus::Failed => format!(
                            "Failed: {}",
                            b.error
                                .as_deref()
                                .unwrap_or("its file could not be written")
                        ),
                    };
                    let ready = b.status == ExportBatchStatus::Ready;
                    BatchRow {
                        id: b.id.to_string(),
                        title: format!("Batch {}", b.number),
                        detail: format!("{period}{}{size}", plural(b.documents, "document")),
                        status,
                        file: ready.then(|| ImageRef {
                            file_ref: None,
                            url: Some(format!("/v1/exports/{}/file", b.id)),
                        }),
                        file_name: b.file_name.clone(),
                        can_cancel: ready,
                    }
                })
                .collect()
        });
        ExportView {
            company_name,
            from: s.from.clone(),
            to: s.to.clone(),
            include_changed: s.include_changed,
            preview,
            batches,
            settings: s.settings.as_ref().map(|x| ExportSettingsView {
                sie: x.sie,
                vat_account: x.vat_account.clone(),
                employee_account: x.employee_account.clone(),
                card_account: x.card_account.clone(),
            }),
            busy: s.busy(),
            error: s.error.clone(),
            done: s.done.clone(),
        }
    }
}
