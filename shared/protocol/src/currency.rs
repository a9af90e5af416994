//! Currencies: which codes are ISO 4217 currencies, and how many decimals each one's minor
//! unit has. Amounts travel as whole minor units ([`crate::Money`]); the exponent says what a
//! minor unit is — a cent of EUR (2), a yen (0), a fils of BHD (3) — for reading amounts as
//! people type them and for showing them.

use iso_currency::Currency;

/// The minor-unit exponent of an ISO 4217 currency (`EUR` 2, `JPY` 0, `BHD` 3); `None` for a
/// code that is not a currency, or is one without minor units to count in (gold, SDRs, the
/// testing code `XTS`). The code must be upper case, as it travels.
pub fn currency_exponent(code: &str) -> Option<u32> {
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    Currency::from_code(code)
        .and_then(|c| c.exponent())
        .map(u32::from)
}

/// `10^exponent`: minor units in one major unit.
pub fn minor_per_major(exponent: u32) -> i64 {
    10_i64.pow(exponent)
}

/// `minor` as a decimal number with the currency's decimals: `12.50` (EUR), `1200` (JPY),
/// `1.250` (BHD), `-3.10`. A code that is not a currency shows two decimals.
pub fn decimal_amount(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    match currency_exponent(currency).unwrap_or(2) {
        0 => format!("{sign}{abs}"),
        d => {
            let unit = 10_u64.pow(d);
            let width = d as usize;
            format!("{sign}{}.{:0width$}", abs / unit, abs % unit)
        }
    }
}

/// `12.50 EUR`, `1200 JPY`: an amount with its currency, as people read it.
pub fn money_text(m: &crate::Money) -> String {
    format!(
        "{} {}",
        decimal_amount(m.amount_minor, &m.currency),
        m.currency
    )
}

/// A VAT rate in hundredths of a percent as people write it: `21 %`, `5.5 %`, `0 %`,
/// `12.34 %`.
pub fn percent_text(rate_bp: u32) -> String {
    let whole = rate_bp / 100;
    match rate_bp % 100 {
        0 => format!("{whole} %"),
        f if f % 10 == 0 => format!("{whole}.{} %", f / 10),
        f => format!("{whole}.{f:02} %"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_rates_read_as_people_write_them() {
        assert_eq!(decimal_amount(1250, "EUR"), "12.50");
        assert_eq!(decimal_amount(-5, "EUR"), "-0.05");
        assert_eq!(decimal_amount(1200, "JPY"), "1200");
        assert_eq!(decimal_amount(1250, "BHD"), "1.250");
        assert_eq!(percent_text(2100), "21 %");
        assert_eq!(percent_text(550), "5.5 %");
        assert_eq!(percent_text(0), "0 %");
        assert_eq!(percent_text(1234), "12.34 %");
        assert_eq!(percent_text(805), "8.05 %");
    }

    #[test]
    fn exponents_follow_iso_4217() {
        for (code, exponent) in [
            ("EUR", 2),
            ("PLN", 2),
            ("SEK", 2),
            ("USD", 2),
            ("JPY", 0),
            ("KRW", 0),
            ("ISK", 0),
            ("BHD", 3),
            ("KWD", 3),
            ("TND", 3),
        ] {
            assert_eq!(currency_exponent(code), Some(exponent), "{code}");
        }
    }

    #[test]
    fn what_is_not_a_countable_currency_has_no_exponent() {
        for code in ["XAU", "XDR", "XTS", "ABC", "eur", "EURO", "", "€"] {
            assert_eq!(currency_exponent(code), None, "{code}");
        }
    }

    #[test]
    fn a_major_unit_holds_ten_to_the_exponent_minor_units() {
        assert_eq!(minor_per_major(0), 1);
        assert_eq!(minor_per_major(2), 100);
        assert_eq!(minor_per_major(3), 1000);
    }
}
