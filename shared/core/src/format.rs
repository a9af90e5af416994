//! Text the view shows: times in the device's offset, amounts with their currency, and the
//! parsing of what the user typed.

use chrono::{Datelike as _, Duration, FixedOffset, NaiveDate, Offset as _, Timelike as _, Utc};
use kvits_protocol::Timestamp;

fn local(ts: Timestamp, offset_minutes: i32) -> chrono::DateTime<FixedOffset> {
    // Offsets beyond ±18 h do not exist; clamped, `east_opt` cannot fail.
    let offset =
        FixedOffset::east_opt(offset_minutes.clamp(-18 * 60, 18 * 60) * 60).unwrap_or(Utc.fix());
    ts.with_timezone(&offset)
}

// Written out rather than with `format("%H:%M")`: views format many times per update, and
// parsing a strftime pattern each time costs more than the rest of a row.

/// `14:05`
pub fn time(ts: Timestamp, offset_minutes: i32) -> String {
    let t = local(ts, offset_minutes);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// `2026-11-23`
pub fn date(ts: Timestamp, offset_minutes: i32) -> String {
    let t = local(ts, offset_minutes);
    format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
}

/// `2026-11-23 14:05`
pub fn date_time(ts: Timestamp, offset_minutes: i32) -> String {
    let t = local(ts, offset_minutes);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// The server's message as a sentence fragment: capitalised, without a final full stop.
pub fn sentence(message: &str) -> String {
    let trimmed = message.trim().trim_end_matches('.');
    let mut chars = trimmed.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "no reason given".into(),
    }
}

/// A file's size as people read it: `830 B`, `48 KB`, `1.4 MB` (powers of 1024, as file
/// managers show them).
pub fn file_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    if bytes < KIB {
        format!("{bytes} B")
    } else if bytes < MIB {
        format!("{} KB", bytes.div_ceil(KIB))
    } else {
        let tenths = bytes.saturating_mul(10).div_ceil(MIB);
        format!("{}.{} MB", tenths / 10, tenths % 10)
    }
}

/// The device's calendar day at `ts`.
pub fn local_day(ts: Timestamp, offset_minutes: i32) -> NaiveDate {
    (ts + Duration::minutes(i64::from(offset_minutes))).date_naive()
}

/// `12.50 EUR`; amounts in minor units with two decimals (every currency Kvits' firms use).
pub fn money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", abs / 100, abs % 100)
}

/// The amount field as typed: `12.5`, `12,50`, `1 200`, `1,200.00`. Empty means unknown.
pub fn parse_amount(input: &str) -> Result<Option<i64>, String> {
    let cleaned: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\'' && *c != '\u{a0}')
        .collect();
    if cleaned.is_empty() {
        return Ok(None);
    }
    let invalid = || format!("“{}” is not an amount; write it like 12.50", input.trim());
    // The last '.' or ',' followed by one or two digits is the decimal separator; any other
    // is a thousands separator.
    let (int_part, frac_part) = match cleaned.rfind(['.', ',']) {
        Some(i) if cleaned.len() - i - 1 <= 2 && cleaned.len() - i > 1 => {
            (&cleaned[..i], &cleaned[i + 1..])
        }
        Some(i) if cleaned.len() - i == 1 => (&cleaned[..i], ""),
        _ => (cleaned.as_str(), ""),
    };
    let int_digits: String = int_part
        .chars()
        .filter(|c| *c != '.' && *c != ',')
        .collect();
    if int_digits.is_empty() && frac_part.is_empty() {
        return Err(invalid());
    }
    if !int_digits.chars().all(|c| c.is_ascii_digit())
        || !frac_part.chars().all(|c| c.is_ascii_digit())
    {
        return Err(invalid());
    }
    let whole: i64 = if int_digits.is_empty() {
        0
    } else {
        int_digits
            .parse()
            .map_err(|_| "That amount is too large.".to_string())?
    };
    let frac: i64 = match frac_part.len() {
        0 => 0,
        1 => frac_part.parse::<i64>().map_err(|_| invalid())? * 10,
        _ => frac_part.parse::<i64>().map_err(|_| invalid())?,
    };
    let minor = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(|| "That amount is too large.".to_string())?;
    if minor == 0 {
        return Err("The amount must be more than zero.".into());
    }
    Ok(Some(minor))
}

/// The amount as the form shows it for editing: `12.50`.
pub fn amount_input(minor: i64) -> String {
    let abs = minor.unsigned_abs();
    format!(
        "{}{}.{:02}",
        if minor < 0 { "-" } else { "" },
        abs / 100,
        abs % 100
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn amounts_parse_as_people_type_them() {
        assert_eq!(parse_amount("12.50"), Ok(Some(1250)));
        assert_eq!(parse_amount("12,5"), Ok(Some(1250)));
        assert_eq!(parse_amount(" 1 200 "), Ok(Some(120_000)));
        assert_eq!(parse_amount("1,200.00"), Ok(Some(120_000)));
        assert_eq!(parse_amount("1.200,00"), Ok(Some(120_000)));
        assert_eq!(parse_amount("7"), Ok(Some(700)));
        assert_eq!(parse_amount(""), Ok(None));
        assert!(parse_amount("12.5x").is_err());
        assert!(parse_amount("0").is_err());
        assert!(parse_amount("-5").is_err());
        assert!(parse_amount("99999999999999999999").is_err());
    }

    #[test]
    fn times_show_in_the_device_offset() {
        let ts: Timestamp = "2026-11-23T12:05:00Z".parse().unwrap();
        assert_eq!(time(ts, 120), "14:05");
        assert_eq!(date(ts, -13 * 60), "2026-11-22");
        assert_eq!(money(1250, "EUR"), "12.50 EUR");
        assert_eq!(amount_input(5), "0.05");
    }

    #[test]
    fn file_sizes_read_like_a_file_manager_s() {
        assert_eq!(file_size(830), "830 B");
        assert_eq!(file_size(1024), "1 KB");
        assert_eq!(file_size(48 * 1024 + 1), "49 KB");
        assert_eq!(file_size(1024 * 1024), "1.0 MB");
        assert_eq!(file_size(1_468_006), "1.4 MB");
        assert!(file_size(u64::MAX).ends_with(" MB"));
    }
}
