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

#[cfg(test)]
mod tests {
    use super::*;

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
