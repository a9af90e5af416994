//! Amounts: decimal text to minor units of a currency, exactly (no floating point).

use kvits_protocol::currency_exponent;

/// The characters taken as thousands separators when they are not the decimal mark.
const THOUSANDS: [char; 6] = [' ', '.', ',', '\u{a0}', '\u{202f}', '\''];

/// How an amount's text is written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    /// The decimal mark, `.` or `,`.
    pub mark: char,
    /// Whether thousands separators (space, no-break space, `.`, `,`, `'` — whichever is not the
    /// decimal mark) may appear and are skipped.
    pub thousands: bool,
    /// Whether a sign (`-`, `+`, `−`, or a trailing `-`) may appear.
    pub signed: bool,
}

impl Style {
    /// XML schema decimals: `12.30`, no sign, no separators.
    pub const XML: Style = Style {
        mark: '.',
        thousands: false,
        signed: false,
    };
    /// SWIFT amounts: `12,30` or `12,`, no sign, no separators.
    pub const SWIFT: Style = Style {
        mark: ',',
        thousands: false,
        signed: false,
    };
}

/// A parsed amount: its size in minor units and whether it was written negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Amount {
    /// The size, in minor units of the currency; never negative.
    pub minor: i64,
    /// Whether the text carried a minus sign.
    pub negative: bool,
}

/// The ISO 4217 currency `code` (trimmed, upper-cased) and its exponent, or a message saying it
/// is not a currency.
pub(crate) fn currency(code: &str) -> Result<(String, u32), String> {
    let code = code.trim().to_ascii_uppercase();
    match currency_exponent(&code) {
        Some(exponent) => Ok((code, exponent)),
        None if code.is_empty() => Err("the currency is missing".to_owned()),
        None => Err(format!(
            "{} is not an ISO 4217 currency code",
            crate::text::quote(&code, 12)
        )),
    }
}

/// Parses `text` as an amount of `currency` (a valid ISO 4217 code) into minor units.
///
/// `12.3`, `12.30` and `12` are all fine for EUR (fewer decimals than the currency has are
/// padded); `12.345` is refused for EUR but read as 12345 fils for BHD. The message of an error
/// names the amount and explains what is wrong.
pub(crate) fn parse(text: &str, currency: &str, style: Style) -> Result<Amount, String> {
    let exponent = currency_exponent(currency).ok_or_else(|| {
        format!(
            "{} is not an ISO 4217 currency code",
            crate::text::quote(currency, 12)
        )
    })?;
    parse_with_exponent(text, exponent, style).map_err(|why| match why {
        Problem::Empty => "the amount is missing".to_owned(),
        Problem::Invalid => format!("{} is not an amount", crate::text::quote(text, 40)),
        Problem::TooManyDecimals(found) => format!(
            "the amount {} has {found} decimal{}, but {currency} has {}",
            crate::text::quote(text, 40),
            if found == 1 { "" } else { "s" },
            match exponent {
                0 => "none".to_owned(),
                1 => "only 1".to_owned(),
                n => format!("only {n}"),
            }
        ),
        Problem::TooLarge => format!("the amount {} is too large", crate::text::quote(text, 40)),
    })
}

/// Why an amount's text could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Nothing but whitespace.
    Empty,
    /// Characters that do not belong in an amount, or none of its digits.
    Invalid,
    /// More decimals than the currency has (how many were found).
    TooManyDecimals(usize),
    /// Does not fit in 64 bits of minor units.
    TooLarge,
}

/// Parses `text` into minor units of a currency with `exponent` decimals.
pub(crate) fn parse_with_exponent(
    text: &str,
    exponent: u32,
    style: Style,
) -> Result<Amount, Problem> {
    let mut s = text.trim();
    if s.is_empty() {
        return Err(Problem::Empty);
    }
    let mut negative = false;
    if style.signed {
        if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('\u{2212}')) {
            negative = true;
            s = rest.trim_start();
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest.trim_start();
        } else if let Some(rest) = s.strip_suffix('-') {
            negative = true;
            s = rest.trim_end();
        }
    }
    let mut whole: i64 = 0;
    let mut fraction: i64 = 0;
    let mut decimals = 0usize;
    let mut seen_mark = false;
    let mut digits = 0usize;
    let mut last_was_separator = false;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            let d = i64::from(d);
            digits += 1;
            last_was_separator = false;
            if seen_mark {
                decimals += 1;
                if decimals as u64 > u64::from(exponent) {
                    // Trailing zeros past the currency's decimals are still refused: a bank that
                    // writes 12.500 for EUR is not writing EUR.
                    continue;
                }
                fraction = fraction
                    .checked_mul(10)
                    .and_then(|f| f.checked_add(d))
                    .ok_or(Problem::TooLarge)?;
            } else {
                whole = whole
                    .checked_mul(10)
                    .and_then(|w| w.checked_add(d))
                    .ok_or(Problem::TooLarge)?;
            }
        } else if c == style.mark && !seen_mark {
            seen_mark = true;
            last_was_separator = false;
        } else if style.thousands
            && !seen_mark
            && THOUSANDS.contains(&c)
            && digits > 0
            && !last_was_separator
        {
            last_was_separator = true;
        } else {
            return Err(Problem::Invalid);
        }
    }
    if digits == 0 || last_was_separator {
        return Err(Problem::Invalid);
    }
    if decimals as u64 > u64::from(exponent) {
        return Err(Problem::TooManyDecimals(decimals));
    }
    // Pad the fraction to the currency's decimals: 12.3 EUR is 1230 cents.
    let pad = exponent.saturating_sub(u32::try_from(decimals).map_err(|_| Problem::TooLarge)?);
    let fraction = 10_i64
        .checked_pow(pad)
        .and_then(|p| fraction.checked_mul(p))
        .ok_or(Problem::TooLarge)?;
    let minor = 10_i64
        .checked_pow(exponent)
        .and_then(|unit| whole.checked_mul(unit))
        .and_then(|w| w.checked_add(fraction))
        .ok_or(Problem::TooLarge)?;
    Ok(Amount {
        minor,
        negative: negative && minor != 0,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn xml(text: &str, exponent: u32) -> Result<i64, Problem> {
        parse_with_exponent(text, exponent, Style::XML).map(|a| a.minor)
    }

    fn csv(text: &str, mark: char) -> Result<(i64, bool), Problem> {
        parse_with_exponent(
            text,
            2,
            Style {
                mark,
                thousands: true,
                signed: true,
            },
        )
        .map(|a| (a.minor, a.negative))
    }

    #[test]
    fn two_decimal_currencies() {
        assert_eq!(xml("12.30", 2), Ok(1230));
        assert_eq!(xml("12.3", 2), Ok(1230));
        assert_eq!(xml("12", 2), Ok(1200));
        assert_eq!(xml("12.", 2), Ok(1200));
        assert_eq!(xml(".5", 2), Ok(50));
        assert_eq!(xml("0.01", 2), Ok(1));
        assert_eq!(xml("000123.45", 2), Ok(12345));
        assert_eq!(xml(" 7.00 ", 2), Ok(700));
        assert_eq!(xml("12.345", 2), Err(Problem::TooManyDecimals(3)));
        assert_eq!(xml("12.300", 2), Err(Problem::TooManyDecimals(3)));
    }

    #[test]
    fn zero_decimal_currencies() {
        assert_eq!(xml("1200", 0), Ok(1200));
        assert_eq!(xml("1200.", 0), Ok(1200));
        assert_eq!(xml("1200.5", 0), Err(Problem::TooManyDecimals(1)));
        assert_eq!(xml("1200.0", 0), Err(Problem::TooManyDecimals(1)));
    }

    #[test]
    fn three_decimal_currencies() {
        assert_eq!(xml("1.250", 3), Ok(1250));
        assert_eq!(xml("1.25", 3), Ok(1250));
        assert_eq!(xml("1.2", 3), Ok(1200));
        assert_eq!(xml("1", 3), Ok(1000));
        assert_eq!(xml("0.001", 3), Ok(1));
        assert_eq!(xml("1.2345", 3), Err(Problem::TooManyDecimals(4)));
    }

    #[test]
    fn four_decimal_currencies() {
        // CLF (Unidad de Fomento) has four.
        assert_eq!(xml("1.2345", 4), Ok(12345));
        assert_eq!(xml("1.23456", 4), Err(Problem::TooManyDecimals(5)));
    }

    #[test]
    fn garbage_and_limits() {
        assert_eq!(xml("", 2), Err(Problem::Empty));
        assert_eq!(xml("  ", 2), Err(Problem::Empty));
        assert_eq!(xml(".", 2), Err(Problem::Invalid));
        assert_eq!(xml("-1.00", 2), Err(Problem::Invalid));
        assert_eq!(xml("1,00", 2), Err(Problem::Invalid));
        assert_eq!(xml("1.0.0", 2), Err(Problem::Invalid));
        assert_eq!(xml("1e5", 2), Err(Problem::Invalid));
        assert_eq!(xml("١٢", 2), Err(Problem::Invalid));
        assert_eq!(xml("92233720368547758.07", 2), Ok(i64::MAX));
        assert_eq!(xml("92233720368547758.08", 2), Err(Problem::TooLarge));
        assert_eq!(xml("99999999999999999999999", 0), Err(Problem::TooLarge));
    }

    #[test]
    fn swift_amounts() {
        let swift = |t| parse_with_exponent(t, 2, Style::SWIFT).map(|a| a.minor);
        assert_eq!(swift("123,45"), Ok(12345));
        assert_eq!(swift("123,"), Ok(12300));
        assert_eq!(swift("123,4"), Ok(12340));
        assert_eq!(swift("123.45"), Err(Problem::Invalid));
    }

    #[test]
    fn csv_amounts_with_separators_and_signs() {
        assert_eq!(csv("-1 234,56", ','), Ok((123456, true)));
        assert_eq!(csv("1.234,56", ','), Ok((123456, false)));
        assert_eq!(csv("1\u{a0}234,56", ','), Ok((123456, false)));
        assert_eq!(csv("+12,5", ','), Ok((1250, false)));
        assert_eq!(csv("12,50-", ','), Ok((1250, true)));
        assert_eq!(csv("\u{2212}3,00", ','), Ok((300, true)));
        assert_eq!(csv("1,234.56", '.'), Ok((123456, false)));
        assert_eq!(csv("-0.00", '.'), Ok((0, false)));
        assert_eq!(csv("1,,234.56", '.'), Err(Problem::Invalid));
        assert_eq!(csv(",5", '.'), Err(Problem::Invalid));
        assert_eq!(csv("12,", '.'), Err(Problem::Invalid));
        assert_eq!(csv("1.2.3,4,5", ','), Err(Problem::Invalid));
        assert_eq!(csv("--5", ','), Err(Problem::Invalid));
    }

    #[test]
    fn messages_name_the_currency() {
        assert_eq!(
            parse("12.345", "EUR", Style::XML),
            Err("the amount “12.345” has 3 decimals, but EUR has only 2".to_owned())
        );
        assert_eq!(
            parse("5.5", "JPY", Style::XML),
            Err("the amount “5.5” has 1 decimal, but JPY has none".to_owned())
        );
        assert_eq!(
            parse("1.234", "BHD", Style::XML),
            Ok(Amount {
                minor: 1234,
                negative: false
            })
        );
        assert!(parse("1", "XYZ", Style::XML).is_err());
    }

    #[test]
    fn currency_codes() {
        assert_eq!(currency(" eur "), Ok(("EUR".to_owned(), 2)));
        assert_eq!(currency("JPY"), Ok(("JPY".to_owned(), 0)));
        assert_eq!(currency("BHD"), Ok(("BHD".to_owned(), 3)));
        assert!(currency("EURO").is_err());
        assert!(currency("").is_err());
        assert!(currency("ABC").is_err());
    }
}
