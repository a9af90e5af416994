//! Field checks shared by the rules. Messages are for people: they name the field.

use kvits_protocol::{Money, ReceiptPage, is_sha256_hex};

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

pub fn money(m: &Money) -> Result<(), DomainError> {
    if kvits_protocol::currency_exponent(&m.currency).is_none() {
        return Err(DomainError::invalid(
            "currency must be an ISO 4217 currency code such as EUR",
        ));
    }
    if m.amount_minor < 0 {
        return Err(DomainError::invalid("amount must not be negative"));
    }
    // 10^13 minor units: more than any receipt; keeps sums far from overflow.
    if m.amount_minor > 10_000_000_000_000 {
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
