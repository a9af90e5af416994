//! Export to the books: batches of reviewed documents, each delivered once, in one ZIP file
//! (journal, one PDF per document, SIE for Swedish companies, a manifest of checksums).

use serde::{Deserialize, Serialize};

use crate::{CompanyId, Date, ExpenseId, ExportBatchId, Money, Timestamp, UserId};

/// Where an expense went to the books: the batch it is in, and whether it is locked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExportMark {
    pub batch_id: ExportBatchId,
    /// The batch's number within its company (1, 2, …), as people name it.
    pub batch_number: u32,
    /// The document's voucher number in the batch, e.g. `7-012`: the journal's row, the PDF's
    /// file name and the SIE voucher all carry it.
    pub voucher: String,
    /// When it was put in the batch.
    pub at: Timestamp,
    /// Locked: nobody changes it. The firm unlocks an exported document to correct it.
    pub locked: bool,
    /// Changed after its export: the books hold an older version until it is exported again.
    #[serde(default)]
    pub changed: bool,
    /// The export this one repeats, for a document exported again: where it returns when
    /// this batch is cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Box<ExportMark>>,
}

/// Where an export batch is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportBatchStatus {
    /// Its file is being written.
    Building,
    /// Its file is written and can be downloaded (again and again, byte for byte).
    Ready,
    /// Cancelled: its documents went back to the export queue.
    Cancelled,
    /// Its file could not be written; its documents went back to the export queue.
    Failed,
}

/// An export batch as the console lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExportBatch {
    pub id: ExportBatchId,
    pub company_id: CompanyId,
    /// 1, 2, … within the company.
    pub number: u32,
    /// The period asked for (documents dated from … to, both included); none for a
    /// selection of documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Date>,
    pub status: ExportBatchStatus,
    pub documents: u32,
    /// The ZIP file's size and SHA-256 (lower-case hex), once ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The ZIP's file name, e.g. `kvits-birch-export-7.zip`.
    pub file_name: String,
    pub created_by: UserId,
    pub created_by_name: String,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by_name: Option<String>,
    /// Why a failed batch failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /v1/companies/{id}/exports` and the preview's query: what to export.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExportRequest {
    /// The reviewed documents dated in this period (both ends included) that were never
    /// exported. Needs both ends, unless `documents` names the documents instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Date>,
    /// These documents, reviewed or already exported (exporting one again is an explicit
    /// choice). With a period, added to the period's documents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<ExpenseId>,
    /// Also export again the period's documents that changed since their export.
    #[serde(default)]
    pub include_changed: bool,
}

/// What an export of a period would hold, before it is made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExportPreview {
    /// Documents the batch would hold.
    pub documents: u32,
    /// Their photographed pages (one PDF page each).
    pub pages: u32,
    /// Their amounts added up per currency, largest first.
    pub totals: Vec<Money>,
    /// Exported documents of the period that changed since (unlocked and corrected): in the
    /// batch only with `include_changed`.
    pub changed: u32,
    /// Approved documents of the period the firm has not reviewed yet: not in the batch.
    pub not_reviewed: u32,
    /// Documents of the period still with the employee or the approvers: not in the batch.
    pub in_progress: u32,
    /// Documents of the period already exported and unchanged.
    pub exported: u32,
}

/// How a company's documents are booked and exported (`GET`/`PUT
/// /v1/companies/{id}/export-settings`). The expense types' own codes are the accounts the
/// expenses are booked to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExportSettings {
    /// Write `sie/…se` (SIE 4I) in every batch. On by default for Swedish companies.
    pub sie: bool,
    /// The account input VAT is booked to (BAS: 2640).
    pub vat_account: String,
    /// The account a document paid with the employee's own money is owed from (BAS: 2820).
    pub employee_account: String,
    /// The account a document paid with a company card is booked against (BAS: 2890).
    pub card_account: String,
}

impl ExportSettings {
    /// What a company starts with: SIE for Swedish companies, BAS accounts.
    pub fn defaults_for(country: Option<&str>) -> Self {
        ExportSettings {
            sie: country == Some("SE"),
            vat_account: "2640".into(),
            employee_account: "2820".into(),
            card_account: "2890".into(),
        }
    }
}

/// The journal's field separator, a firm's choice for its spreadsheets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CsvSeparator {
    #[default]
    Comma,
    Semicolon,
    Tab,
}

impl CsvSeparator {
    pub fn byte(self) -> u8 {
        match self {
            CsvSeparator::Comma => b',',
            CsvSeparator::Semicolon => b';',
            CsvSeparator::Tab => b'\t',
        }
    }
}

/// The journal's decimal mark: `12.50` or `12,50`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecimalMark {
    #[default]
    Point,
    Comma,
}
