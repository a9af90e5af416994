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

/// The decimals a currency's amounts are typed and shown with: its ISO 4217 exponent, or two
/// for a code that is not a currency (the form says so; this only keeps the display sane).
fn decimals(currency: &str) -> u32 {
    kvits_protocol::currency_exponent(currency).unwrap_or(2)
}

fn decimal(minor: i64, currency: &str) -> String {
    kvits_protocol::decimal_amount(minor, currency)
}

/// `12.50 EUR`, `1200 JPY`, `1.250 BHD`: an amount in minor units, with its currency's decimals.
pub fn money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", decimal(minor, currency))
}

/// The amount as the form shows it for editing: `12.50`, `1200` (JPY).
pub fn amount_input(minor: i64, currency: &str) -> String {
    decimal(minor, currency)
}

/// The amount field as typed, in minor units of `currency`: `12.5`, `12,50`, `1 200`,
/// `1,200.00`. Empty means unknown.
///
/// The last `.` or `,` is the decimal separator when one to as many digits as the currency has
/// decimals follow it; any other `.` or `,` separates thousands. So `1.200` is 1200 JPY (no
/// decimals) but 1.20 EUR, and `1,250` is 1.250 BHD (three decimals). Decimals a currency does
/// not have are refused, never rounded.
pub fn parse_amount(input: &str, currency: &str) -> Result<Option<i64>, String> {
    let cleaned: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\'' && *c != '\u{a0}')
        .collect();
    if cleaned.is_empty() {
        return Ok(None);
    }
    let invalid = || format!("“{}” is not an amount; write it like 12.50", input.trim());
    let places = decimals(currency);
    let (int_part, frac_part) = match cleaned.rfind(['.', ',']) {
        None => (cleaned.as_str(), ""),
        Some(i) => match cleaned.len() - i - 1 {
            // "7." is 7.
            0 => (&cleaned[..i], ""),
            after if after as u32 <= places => (&cleaned[..i], &cleaned[i + 1..]),
            // A group of three after the last separator: thousands.
            3 => (cleaned.as_str(), ""),
            _ if places == 0 => {
                return Err(format!(
                    "{currency} amounts have no decimals; write it like 1200"
                ));
            }
            _ => {
                return Err(format!("{currency} amounts have at most {places} decimals"));
            }
        },
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
    let too_large = || "That amount is too large.".to_string();
    let whole: i64 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse().map_err(|_| too_large())?
    };
    // "12.5" is 12.50: the typed decimals, padded to the currency's.
    let frac: i64 = if frac_part.is_empty() {
        0
    } else {
        let padding = places - frac_part.len() as u32;
        frac_part.parse::<i64>().map_err(|_| invalid())? * 10_i64.pow(padding)
    };
    let minor = whole
        .checked_mul(kvits_protocol::minor_per_major(places))
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(too_large)?;
    if minor == 0 {
        return Err("The amount must be more than zero.".into());
    }
    Ok(Some(minor))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn amounts_parse_as_people_type_them() {
        for eur2 in ["EUR", "PLN", "SEK"] {
            let parse = |s: &str| parse_amount(s, eur2);
            assert_eq!(parse("12.50"), Ok(Some(1250)));
            assert_eq!(parse("12,5"), Ok(Some(1250)));
            assert_eq!(parse(" 1 200 "), Ok(Some(120_000)));
            assert_eq!(parse("1,200.00"), Ok(Some(120_000)));
            assert_eq!(parse("1.200,00"), Ok(Some(120_000)));
            assert_eq!(parse("1.200"), Ok(Some(120_000)));
            assert_eq!(parse("7"), Ok(Some(700)));
            assert_eq!(parse("7."), Ok(Some(700)));
            assert_eq!(parse(""), Ok(None));
            assert!(parse("12.5x").is_err());
            assert!(parse("0").is_err());
            assert!(parse("-5").is_err());
            assert!(parse("1.2345").is_err());
            assert!(parse("99999999999999999999").is_err());
        }
    }

    #[test]
    fn a_currency_without_decimals_counts_whole_units() {
        let jpy = |s: &str| parse_amount(s, "JPY");
        assert_eq!(jpy("1200"), Ok(Some(1200)));
        assert_eq!(jpy("1 200"), Ok(Some(1200)));
        assert_eq!(jpy("1,200"), Ok(Some(1200)));
        assert_eq!(jpy("1.200.000"), Ok(Some(1_200_000)));
        assert_eq!(jpy("980."), Ok(Some(980)));
        let no_decimals = jpy("12.50").unwrap_err();
        assert!(
            no_decimals.contains("JPY amounts have no decimals"),
            "{no_decimals}"
        );
        assert!(jpy("12.5").is_err());
        assert!(jpy("1,200.5").is_err());
        assert_eq!(money(1200, "JPY"), "1200 JPY");
        assert_eq!(amount_input(980, "JPY"), "980");
    }

    #[test]
    fn a_currency_with_three_decimals_counts_its_thousandths() {
        let bhd = |s: &str| parse_amount(s, "BHD");
        assert_eq!(bhd("1.250"), Ok(Some(1250)));
        assert_eq!(bhd("1,25"), Ok(Some(1250)));
        assert_eq!(bhd("0.005"), Ok(Some(5)));
        assert_eq!(bhd("2 000.100"), Ok(Some(2_000_100)));
        assert_eq!(bhd("12"), Ok(Some(12_000)));
        assert!(bhd("1.2345").is_err());
        assert_eq!(money(1250, "BHD"), "1.250 BHD");
        assert_eq!(amount_input(5, "BHD"), "0.005");
    }

    #[test]
    fn an_amount_reads_back_as_it_was_shown() {
        for (currency, minor) in [("EUR", 5), ("EUR", 123_456), ("JPY", 7), ("BHD", 1_001)] {
            let shown = amount_input(minor, currency);
            assert_eq!(parse_amount(&shown, currency), Ok(Some(minor)), "{shown}");
        }
    }

    #[test]
    fn times_show_in_the_device_offset() {
        let ts: Timestamp = "2026-11-23T12:05:00Z".parse().unwrap();
        assert_eq!(time(ts, 120), "14:05");
        assert_eq!(date(ts, -13 * 60), "2026-11-22");
        assert_eq!(money(1250, "EUR"), "12.50 EUR");
        assert_eq!(money(-1250, "PLN"), "-12.50 PLN");
        assert_eq!(amount_input(5, "EUR"), "0.05");
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
