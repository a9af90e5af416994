//! Field checks shared by the rules. Messages are for people: they name the field.

use kvits_protocol::{Money, ReceiptPage, VatLine, is_sha256_hex};

use crate::DomainError;

/// Most pages of one receipt.
pub const MAX_PAGES: usize = 20;
/// Longest free texts, in characters.
pub const MAX_SHORT_TEXT: usize = 200;
pub const MAX_NOTE: usize = 2000;
pub const MAX_MESSAGE: usize = 10_000;
/// Most companies one message goes to.
pub const MAX_RECIPIENT_COMPANIES: usize = 500;
/// Most steps of an approval rule.
pub const MAX_STEPS: usize = 10;

pub fn text(field: &str, value: &str, max: usize, required: bool) -> Result<(), DomainError> {
    let trimmed = value.trim();
    if required && trimmed.is_empty() {
        return Err(DomainError::invalid(format!("{field} is required")));
    }
    if value.chars().count() > max {
        return Err(DomainError::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(DomainError::invalid(format!(
            "{field} contains control characters"
        )));
    }
    Ok(())
}

/// A name other people read (a type, a card, a rule, a merchant): [`text`], and nothing
/// invisible or that turns the text's direction ([`kvits_protocol::hidden_character`]).
pub fn name(field: &str, value: &str, max: usize, required: bool) -> Result<(), DomainError> {
    text(field, value, max, required)?;
    if let Some(c) = kvits_protocol::hidden_character(value) {
        return Err(DomainError::invalid(format!(
            "{field} contains an invisible or text-direction character (U+{:04X})",
            u32::from(c)
        )));
    }
    Ok(())
}

/// Most VAT lines on one document (one per rate).
pub const MAX_VAT_LINES: usize = 10;
/// Longest account code, in characters.
pub const MAX_ACCOUNT_CODE: usize = 32;

/// VAT lines: each rate once, 0–100 %, no negative amounts, and nets and VAT that add up to
/// the document's amount when it is known.
pub fn vat(lines: &[VatLine], amount: Option<&Money>) -> Result<(), DomainError> {
    if lines.len() > MAX_VAT_LINES {
        return Err(DomainError::invalid(format!(
            "a document has at most {MAX_VAT_LINES} VAT rates"
        )));
    }
    let mut total: i64 = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.rate_bp > 10_000 {
            return Err(DomainError::invalid("a VAT rate is at most 100 %"));
        }
        if lines[..i].iter().any(|l| l.rate_bp == line.rate_bp) {
            return Err(DomainError::invalid(format!(
                "the VAT rate {} is there twice; put it on one line",
                kvits_protocol::percent_text(line.rate_bp)
            )));
        }
        for value in [line.net_minor, line.vat_minor] {
            if !(0..=MAX_MINOR).contains(&value) {
                return Err(DomainError::invalid(
                    "VAT and net amounts must be between zero and a plausible amount",
                ));
            }
        }
        total += line.net_minor + line.vat_minor;
    }
    if let Some(m) = amount
        && !lines.is_empty()
        && total != m.amount_minor
    {
        return Err(DomainError::invalid(format!(
            "the VAT lines add up to {}, but the document's amount is {}",
            kvits_protocol::money_text(&Money {
                amount_minor: total,
                currency: m.currency.clone()
            }),
            kvits_protocol::money_text(m)
        )));
    }
    Ok(())
}

/// An account code of the books: short, letters, digits and `.-/` only (`7210`, `44.1`).
pub fn account_code(code: &str) -> Result<(), DomainError> {
    let ok = |c: char| c.is_alphanumeric() || matches!(c, '.' | '-' | '/');
    if code.is_empty() || code.chars().count() > MAX_ACCOUNT_CODE || !code.chars().all(ok) {
        return Err(DomainError::invalid(format!(
            "an account code is 1 to {MAX_ACCOUNT_CODE} letters, digits, dots, dashes or slashes"
        )));
    }
    Ok(())
}

/// Largest amount, in minor units: more than any receipt; keeps sums far from overflow.
const MAX_MINOR: i64 = 10_000_000_000_000;

pub fn money(m: &Money) -> Result<(), DomainError> {
    if kvits_protocol::currency_exponent(&m.currency).is_none() {
        return Err(DomainError::invalid(
            "currency must be an ISO 4217 currency code such as EUR",
        ));
    }
    if m.amount_minor < 0 {
        return Err(DomainError::invalid("amount must not be negative"));
    }
    if m.amount_minor > MAX_MINOR {
        return Err(DomainError::invalid("amount is too large"));
    }
    Ok(())
}

/// Oldest expense date accepted: older papers are not receipts anyone books now.
pub const MIN_DATE: (i32, u32, u32) = (2000, 1, 1);
/// How far ahead of `now` an expense date may be (an invoice may be dated ahead).
pub const MAX_DAYS_AHEAD: i64 = 366;

pub fn date(d: kvits_protocol::Date, now: kvits_protocol::Timestamp) -> Result<(), DomainError> {
    let (y, m, day) = MIN_DATE;
    let oldest = chrono::NaiveDate::from_ymd_opt(y, m, day);
    let latest = now.date_naive() + chrono::TimeDelta::days(MAX_DAYS_AHEAD);
    if oldest.is_some_and(|o| d < o) || d > latest {
        return Err(DomainError::invalid(format!(
            "the date {d} is not a plausible expense date"
        )));
    }
    Ok(())
}

pub fn blob_ref(field: &str, sha256: &str, size: u64) -> Result<(), DomainError> {
    if !is_sha256_hex(sha256) {
        return Err(DomainError::invalid(format!(
            "{field} must name a blob by its lower-case hex SHA-256"
        )));
    }
    if size == 0 || size > kvits_protocol::MAX_BLOB_BYTES {
        return Err(DomainError::invalid(format!(
            "{field} has an impossible size"
        )));
    }
    Ok(())
}

pub fn pages(pages: &[ReceiptPage]) -> Result<(), DomainError> {
    if pages.len() > MAX_PAGES {
        return Err(DomainError::invalid(format!(
            "a receipt has at most {MAX_PAGES} pages"
        )));
    }
    for (i, p) in pages.iter().enumerate() {
        blob_ref(&format!("page {}", i + 1), &p.sha256, p.size)?;
        text("content type", &p.content_type, 100, true)?;
        if p.width == 0 || p.height == 0 {
            return Err(DomainError::invalid(format!(
                "page {} has no dimensions",
                i + 1
            )));
        }
    }
    Ok(())
}
