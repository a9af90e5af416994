//! `journal.csv`: one row per document of a batch, for the accountant's software and their
//! spreadsheets. UTF-8 with a byte-order mark (so spreadsheet programs read the letters of
//! Latvian, Polish and Swedish names right), RFC 4180 quoting and CRLF line ends; the firm
//! chooses the separator (`,` `;` or tab) and the decimal mark (`.` or `,`).
//!
//! The columns, in order (see [`FIXED_BEFORE`], the VAT rates, [`FIXED_AFTER`]):
//!
//! | Column | What |
//! |---|---|
//! | `voucher` | The document's number in the batch, `7-012` (the PDF and the SIE voucher carry it too) |
//! | `date` | The document's date, `YYYY-MM-DD` (the capture day when it has none) |
//! | `document_type` | `receipt`, `invoice` or `other` |
//! | `merchant` | As entered |
//! | `merchant_vat_number`, `merchant_registration_number` | When known (empty until receipts are read) |
//! | `amount`, `currency` | The document's total in its own currency |
//! | `base_amount`, `base_currency` | In the company's currency: the amount itself for a document in it |
//! | `net`, `vat` | The VAT lines added up, in the document's currency (empty: no VAT entered) |
//! | `net <rate>`, `vat <rate>` | Per VAT rate present in the batch, e.g. `net 21 %`, `vat 21 %` |
//! | `expense_type`, `account` | The expense type and the account it is booked to (the firm's correction, else the type's code) |
//! | `paid_with`, `card_last_four` | The payment method; a card's last four digits |
//! | `employee` | Who captured it |
//! | `approved_by` | Each approval: `name YYYY-MM-DD`, separated by `; ` |
//! | `reviewed_by`, `reviewed_on` | The firm's review |
//! | `note` | The employee's note |
//! | `exported_again` | `yes` when an earlier batch exported it already |
//! | `kvits_id` | The document's id in Kvits |
//! | `pdf_file` | Its PDF in the ZIP, `pdf/7-012.pdf` |

use kvits_protocol::{Company, CsvSeparator, DecimalMark, decimal_amount, percent_text};

use super::{Doc, day_of};

/// The journal's separator and decimal mark.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    pub separator: CsvSeparator,
    pub decimal_mark: DecimalMark,
}

/// The columns before the per-rate VAT columns.
pub const FIXED_BEFORE: [&str; 12] = [
    "voucher",
    "date",
    "document_type",
    "merchant",
    "merchant_vat_number",
    "merchant_registration_number",
    "amount",
    "currency",
    "base_amount",
    "base_currency",
    "net",
    "vat",
];

/// The columns after them.
pub const FIXED_AFTER: [&str; 12] = [
    "expense_type",
    "account",
    "paid_with",
    "card_last_four",
    "employee",
    "approved_by",
    "reviewed_by",
    "reviewed_on",
    "note",
    "exported_again",
    "kvits_id",
    "pdf_file",
];

/// The journal of `docs` (in their order).
pub fn write(docs: &[Doc], company: &Company, format: Format) -> anyhow::Result<Vec<u8>> {
    let mut rates: Vec<u32> = docs
        .iter()
        .flat_map(|d| d.expense.fields.vat.iter().map(|l| l.rate_bp))
        .collect();
    rates.sort_unstable_by(|a, b| b.cmp(a));
    rates.dedup();
    let number = |minor: i64, currency: &str| {
        let text = decimal_amount(minor, currency);
        match format.decimal_mark {
            DecimalMark::Point => text,
            DecimalMark::Comma => text.replace('.', ","),
        }
    };

    let mut out = csv::WriterBuilder::new()
        .delimiter(format.separator.byte())
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut header: Vec<String> = FIXED_BEFORE.iter().map(|c| (*c).to_string()).collect();
    for r in &rates {
        header.push(format!("net {}", percent_text(*r)));
        header.push(format!("vat {}", percent_text(*r)));
    }
    header.extend(FIXED_AFTER.iter().map(|c| (*c).to_string()));
    out.write_record(&header)?;

    for d in docs {
        let e = &d.expense;
        let f = &e.fields;
        let currency = f
            .amount
            .as_ref()
            .map_or_else(|| company.base_currency.clone(), |m| m.currency.clone());
        let base = match (&f.base_amount, &f.amount) {
            (Some(b), _) => Some(b.clone()),
            (None, Some(m)) if m.currency == company.base_currency => Some(m.clone()),
            _ => None,
        };
        let (net, vat) = if f.vat.is_empty() {
            (String::new(), String::new())
        } else {
            (
                number(f.vat.iter().map(|l| l.net_minor).sum(), &currency),
                number(f.vat.iter().map(|l| l.vat_minor).sum(), &currency),
            )
        };
        let mut row: Vec<String> = vec![
            d.voucher.clone(),
            day_of(e).to_string(),
            format!("{:?}", e.document_type).to_lowercase(),
            f.merchant.clone().unwrap_or_default(),
            String::new(),
            String::new(),
            f.amount
                .as_ref()
                .map(|m| number(m.amount_minor, &m.currency))
                .unwrap_or_default(),
            f.amount
                .as_ref()
                .map(|m| m.currency.clone())
                .unwrap_or_default(),
            base.as_ref()
                .map(|m| number(m.amount_minor, &m.currency))
                .unwrap_or_default(),
            company.base_currency.clone(),
            net,
            vat,
        ];
        for r in &rates {
            let line = f.vat.iter().find(|l| l.rate_bp == *r);
            row.push(
                line.map(|l| number(l.net_minor, &currency))
                    .unwrap_or_default(),
            );
            row.push(
                line.map(|l| number(l.vat_minor, &currency))
                    .unwrap_or_default(),
            );
        }
        row.extend([
            d.expense_type
                .as_ref()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
            d.account.clone().unwrap_or_default(),
            d.payment
                .as_ref()
                .map(|p| p.label.clone())
                .unwrap_or_default(),
            d.payment
                .as_ref()
                .and_then(|p| p.last_four.clone())
                .unwrap_or_default(),
            e.created_by_name.clone(),
            d.approvals(),
            d.reviewed.as_ref().map(|r| r.0.clone()).unwrap_or_default(),
            d.reviewed
                .as_ref()
                .map(|r| r.1.date_naive().to_string())
                .unwrap_or_default(),
            f.note.clone().unwrap_or_default(),
            if d.again { "yes" } else { "" }.to_string(),
            e.id.to_string(),
            d.pdf_name.clone(),
        ]);
        out.write_record(&row)?;
    }
    Ok(out.into_inner().map_err(|e| e.into_error())?)
}
