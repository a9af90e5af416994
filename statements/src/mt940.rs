//! SWIFT MT940, the customer statement message, as banks hand it out in files.
//!
//! A file holds one or more statements (messages), each optionally wrapped in the SWIFT envelope
//! `{1:…}{2:…}{4:` … `-}`, and each made of tagged fields: `:20:` (reference, starts a message),
//! `:25:` (account), `:28C:` (statement number), `:60F:`/`:60M:` (opening balance, which also
//! gives the currency), then pairs of `:61:` (statement line) and `:86:` (information to the
//! account owner), and `:62F:`/`:62M:` (closing balance). A statement without its closing balance
//! is taken as a file cut short.
//!
//! `:86:` is free text, but Polish (`~20`, `<20`) and German (`?20`) banks split it into numbered
//! subfields; when such markers are found, subfields 20–29 and 60–63 make the description and
//! 32–33 the counterparty's name. Without markers the whole text is the description.

use chrono::{Datelike, NaiveDate};

use crate::amount::{self, Style};
use crate::text;
use crate::{Direction, Error, Format, Line, Statement, card};

/// Whether `bytes` look like an MT940 file: a SWIFT header `{1:`, or a `:20:` line first, or at
/// least two of the statement tags at line starts near the top.
pub(crate) fn looks_like_mt940(bytes: &[u8]) -> bool {
    let head = text::strip_utf8_bom(bytes);
    let head = head.get(..head.len().min(8 * 1024)).unwrap_or(head);
    let head = String::from_utf8_lossy(head);
    let start = head.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{1}');
    if start.starts_with("{1:") || start.starts_with(":20:") {
        return true;
    }
    let tags = [":20:", ":25:", ":28C:", ":60F:", ":60M:"];
    let found = tags
        .iter()
        .filter(|tag| head.lines().any(|l| l.trim_start().starts_with(*tag)))
        .count();
    found >= 2
}

/// One tagged field: its tag, the line it starts on, and its text lines.
#[derive(Debug)]
struct Field {
    tag: String,
    line: usize,
    lines: Vec<String>,
}

/// The tag at the start of `line` (`:61:` gives `61`, `:NS:` gives `NS`) and the rest.
fn tag_of(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix(':')?;
    let end = rest.find(':')?;
    let tag = rest.get(..end)?;
    let ok = match tag.len() {
        2 => tag.bytes().all(|b| b.is_ascii_digit()) || tag.bytes().all(|b| b.is_ascii_uppercase()),
        3 => {
            let b = tag.as_bytes();
            b.first().is_some_and(u8::is_ascii_digit)
                && b.get(1).is_some_and(u8::is_ascii_digit)
                && b.get(2).is_some_and(u8::is_ascii_uppercase)
        }
        _ => false,
    };
    ok.then(|| (tag, rest.get(end + 1..).unwrap_or_default()))
}

/// Splits the text into fields, dropping the SWIFT envelope. `-` stands for the end of a message.
fn fields(content: &str) -> Result<Vec<Field>, Error> {
    let mut out: Vec<Field> = Vec::new();
    for (n, raw) in content.split('\n').enumerate() {
        let line_no = n + 1;
        let line = raw
            .trim_end_matches(['\r', '\u{3}'])
            .trim_start_matches('\u{1}');
        let mut line = line.trim_end_matches(['\u{3}', '\r']);
        if line.starts_with('{') {
            // `{1:…}{2:…}{3:{…}}{4:` opens a message; `{5:…}` trails one.
            match line.find("{4:") {
                Some(at) => {
                    line = line.get(at + 3..).unwrap_or_default();
                    if line.trim().is_empty() {
                        continue;
                    }
                }
                None => continue,
            }
        }
        if line.starts_with("-}") || line.trim() == "-" {
            out.push(Field {
                tag: "-".to_owned(),
                line: line_no,
                lines: Vec::new(),
            });
            continue;
        }
        if let Some((tag, rest)) = tag_of(line) {
            out.push(Field {
                tag: tag.to_owned(),
                line: line_no,
                lines: vec![rest.to_owned()],
            });
            continue;
        }
        match out.last_mut() {
            Some(field) if field.tag != "-" => field.lines.push(line.to_owned()),
            _ if line.trim().is_empty() => {}
            _ => {
                return Err(Error::malformed(
                    format!("line {line_no}"),
                    format!(
                        "{} is not part of an MT940 field (fields start with a tag such as :61:)",
                        text::quote(line, 40)
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// A `:61:` line read, waiting for its `:86:`.
#[derive(Debug)]
struct Pending {
    line: Line,
    supplementary: String,
    has_info: bool,
}

/// One statement (message) in the file.
#[derive(Debug, Default)]
struct Message {
    account: String,
    currency: Option<(String, u32)>,
    opening: Option<NaiveDate>,
    closing: Option<NaiveDate>,
    closed: bool,
    lines: Vec<Pending>,
}

/// Reads an MT940 file in the encoding `label` names (UTF-8 when `None`).
pub(crate) fn parse(bytes: &[u8], label: Option<&str>) -> Result<Statement, Error> {
    let content = text::decode(bytes, label)?;
    let fields = fields(&content)?;
    let mut done: Vec<Message> = Vec::new();
    let mut current: Option<Message> = None;
    let mut last_tag = String::new();
    for field in &fields {
        let at = format!("line {}", field.line);
        let first = field.lines.first().map(String::as_str).unwrap_or_default();
        match field.tag.as_str() {
            "-" => {
                if let Some(m) = current.take() {
                    if !m.closed {
                        return Err(Error::Truncated);
                    }
                    done.push(m);
                }
            }
            "20" => {
                if let Some(m) = current.take() {
                    if !m.closed {
                        return Err(Error::Truncated);
                    }
                    done.push(m);
                }
                current = Some(Message::default());
            }
            "25" => {
                let m = open_message(&mut current, &mut done);
                m.account = account_of(first);
            }
            "60F" | "60M" => {
                let m = open_message(&mut current, &mut done);
                let (currency, date) = balance(first).map_err(|d| Error::malformed(&at, d))?;
                if m.opening.is_none() {
                    m.opening = Some(date);
                }
                m.currency = Some(currency);
            }
            "61" => {
                let Some(m) = current.as_mut() else {
                    return Err(Error::malformed(
                        at,
                        "a statement line :61: comes before the statement's :20: and :60F:",
                    ));
                };
                if m.closed {
                    return Err(Error::malformed(
                        at,
                        "a statement line :61: comes after the closing balance :62F:",
                    ));
                }
                let Some((currency, _)) = m.currency.clone() else {
                    return Err(Error::malformed(
                        at,
                        "a statement line :61: comes before the opening balance :60F: that gives the currency",
                    ));
                };
                let rest = field.lines.get(1..).unwrap_or_default();
                let pending = statement_line(first, rest, &currency, &m.account)
                    .map_err(|d| Error::malformed(&at, d))?;
                m.lines.push(pending);
            }
            "86" => {
                if last_tag == "61"
                    && let Some(pending) = current.as_mut().and_then(|m| m.lines.last_mut())
                {
                    apply_info(pending, &field.lines);
                }
            }
            "62F" | "62M" => {
                let Some(m) = current.as_mut() else {
                    return Err(Error::malformed(
                        at,
                        "a closing balance :62F: comes before any statement",
                    ));
                };
                let (currency, date) = balance(first).map_err(|d| Error::malformed(&at, d))?;
                if let Some((opening, _)) = &m.currency
                    && *opening != currency.0
                {
                    return Err(Error::malformed(
                        at,
                        format!(
                            "the closing balance is in {}, the opening balance in {opening}",
                            currency.0
                        ),
                    ));
                }
                m.currency.get_or_insert(currency);
                m.closing = Some(date);
                m.closed = true;
            }
            _ => {}
        }
        last_tag.clone_from(&field.tag);
    }
    if let Some(m) = current.take() {
        if !m.closed {
            return Err(Error::Truncated);
        }
        done.push(m);
    }
    if done.is_empty() {
        return Err(Error::malformed(
            "the file",
            "no MT940 statement (:20: … :62F:) was found in it",
        ));
    }
    let account = crate::common_account(done.iter().map(|m| m.account.as_str()));
    let from = done.iter().filter_map(|m| m.opening).min();
    let to = done.iter().filter_map(|m| m.closing).max();
    let lines = done.into_iter().flat_map(|m| m.lines).map(finish).collect();
    Ok(Statement {
        format: Format::Mt940,
        version: "mt940".to_owned(),
        account,
        from,
        to,
        lines,
    })
}

/// The open message, starting one when there is none or the open one is closed (files that
/// leave out `:20:`).
fn open_message<'a>(current: &'a mut Option<Message>, done: &mut Vec<Message>) -> &'a mut Message {
    if current.as_ref().is_some_and(|m| m.closed)
        && let Some(m) = current.take()
    {
        done.push(m);
    }
    current.get_or_insert_with(Message::default)
}

/// The account in a `:25:` field: `PL61109010140000071219812874`, `/LV80BANK0000435195001`,
/// `BANKLV2X/LV80BANK0000435195001`.
fn account_of(text: &str) -> String {
    let text = text.trim();
    text.strip_prefix('/').unwrap_or(text).trim().to_owned()
}

/// A balance field (`C240105EUR1234,56`): its currency (and exponent) and date.
fn balance(text: &str) -> Result<((String, u32), NaiveDate), String> {
    let text = text.trim();
    let bad = || {
        format!(
            "the balance {} is not of the form C240105EUR1234,56",
            text::quote(text, 40)
        )
    };
    let mark = text.get(..1).ok_or_else(bad)?;
    if mark != "C" && mark != "D" {
        return Err(bad());
    }
    let date = yymmdd(text.get(1..7).ok_or_else(bad)?).ok_or_else(bad)?;
    let currency = amount::currency(text.get(7..10).ok_or_else(bad)?)?;
    amount::parse(
        text.get(10..).unwrap_or_default(),
        &currency.0,
        Style::SWIFT,
    )?;
    Ok((currency, date))
}

/// A `YYMMDD` date (years 70–99 are 1970–1999, the rest 2000–2069).
fn yymmdd(s: &str) -> Option<NaiveDate> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yy: i32 = s.get(..2)?.parse().ok()?;
    let month: u32 = s.get(2..4)?.parse().ok()?;
    let day: u32 = s.get(4..6)?.parse().ok()?;
    let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The `MMDD` entry date closest to the value date: a line valued on 31 December and booked on
/// 2 January is booked in the next year.
fn entry_date(mmdd: &str, value: NaiveDate) -> Option<NaiveDate> {
    let month: u32 = mmdd.get(..2)?.parse().ok()?;
    let day: u32 = mmdd.get(2..4)?.parse().ok()?;
    [value.year() - 1, value.year(), value.year() + 1]
        .into_iter()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
        .min_by_key(|d| (*d - value).num_days().abs())
}

/// Reads a `:61:` field: `YYMMDD[MMDD](D|C|RD|RC)[funds code]amount(N|F|S)xxx
/// customer-reference[//bank-reference]`, then an optional line of supplementary details.
fn statement_line(
    first: &str,
    rest: &[String],
    currency: &str,
    account: &str,
) -> Result<Pending, String> {
    let s = first.trim();
    let value_text = s.get(..6).unwrap_or(s);
    let value_date = yymmdd(value_text).ok_or_else(|| {
        format!(
            "the statement line should start with its value date (YYMMDD), not {}",
            text::quote(value_text, 10)
        )
    })?;
    let mut pos = 6;
    let booking_date = match s.get(6..10) {
        Some(mmdd) if mmdd.bytes().all(|b| b.is_ascii_digit()) => {
            pos = 10;
            entry_date(mmdd, value_date)
                .ok_or_else(|| format!("the entry date {} is not a date", text::quote(mmdd, 10)))?
        }
        _ => value_date,
    };
    let after = s.get(pos..).unwrap_or_default();
    let (direction, used) = if after.starts_with("RD") {
        (Direction::Credit, 2)
    } else if after.starts_with("RC") {
        (Direction::Debit, 2)
    } else if after.starts_with('D') {
        (Direction::Debit, 1)
    } else if after.starts_with('C') {
        (Direction::Credit, 1)
    } else {
        return Err(format!(
            "the debit/credit mark (D, C, RD or RC) is missing before {}",
            text::quote(after, 20)
        ));
    };
    let mut after = after.get(used..).unwrap_or_default();
    // An optional funds code: the third letter of the currency code.
    if after.starts_with(|c: char| c.is_ascii_alphabetic()) {
        after = after.get(1..).unwrap_or_default();
    }
    let amount_len = after
        .find(|c: char| !(c.is_ascii_digit() || c == ','))
        .unwrap_or(after.len());
    let amount_text = after.get(..amount_len).unwrap_or_default();
    let size = amount::parse(amount_text, currency, Style::SWIFT)?;
    let after = after.get(amount_len..).unwrap_or_default();
    let kind = after.get(..4).unwrap_or(after);
    let kind_ok = kind.len() == 4
        && kind.starts_with(['N', 'F', 'S'])
        && kind.bytes().skip(1).all(|b| b.is_ascii_alphanumeric());
    if !kind_ok {
        return Err(format!(
            "the transaction type after the amount should be N, F or S and three characters, not {}",
            text::quote(kind, 10)
        ));
    }
    let refs = after.get(4..).unwrap_or_default();
    let (customer, bank) = match refs.split_once("//") {
        Some((c, b)) => (c.trim(), b.trim()),
        None => (refs.trim(), ""),
    };
    let usable =
        |r: &str| (!r.is_empty() && !r.eq_ignore_ascii_case("NONREF")).then(|| r.to_owned());
    let bank_ref = usable(bank).or_else(|| usable(customer));
    let supplementary = text::collapse(&rest.join(" "));
    Ok(Pending {
        line: Line {
            account: account.to_owned(),
            booking_date,
            value_date: Some(value_date),
            transaction_date: None,
            direction,
            amount_minor: size.minor,
            currency: currency.to_owned(),
            original: None,
            counterparty: None,
            description: String::new(),
            card: None,
            bank_ref,
        },
        supplementary,
        has_info: false,
    })
}

/// The subfield marker of a structured `:86:` (`~`, `<` or `?`), when the text starts with one
/// (optionally after a three-digit transaction code).
fn marker(text: &str) -> Option<char> {
    let digits = |s: &str| s.len() >= 2 && s.bytes().take(2).all(|b| b.is_ascii_digit());
    for m in ['~', '<', '?'] {
        for skip in [0, 3] {
            let Some(head) = text.get(..skip) else {
                continue;
            };
            if !head.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Some(rest) = text.get(skip..).and_then(|r| r.strip_prefix(m))
                && digits(rest)
            {
                return Some(m);
            }
        }
    }
    None
}

/// The subfields of a structured `:86:`: (number, text) in order.
fn subfields(text: &str, marker: char) -> Vec<(u32, String)> {
    let mut out: Vec<(u32, String)> = Vec::new();
    let mut rest = text;
    // Text before the first marker is the transaction code.
    if let Some(at) = rest.find(marker) {
        rest = rest.get(at..).unwrap_or_default();
    }
    while let Some(body) = rest.strip_prefix(marker) {
        let code = body.get(..2).and_then(|c| c.parse::<u32>().ok());
        let body = body.get(2..).unwrap_or_default();
        // The subfield runs to the next marker followed by two digits.
        let mut end = body.len();
        for (i, c) in body.char_indices() {
            if c == marker
                && body
                    .get(i + 1..i + 3)
                    .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
            {
                end = i;
                break;
            }
        }
        match code {
            Some(code) => out.push((code, body.get(..end).unwrap_or_default().to_owned())),
            None => {
                // A lone marker inside the text: keep it with the previous subfield.
                if let Some(last) = out.last_mut() {
                    last.1.push(marker);
                    last.1.push_str(body.get(..end).unwrap_or_default());
                }
            }
        }
        rest = body.get(end..).unwrap_or_default();
    }
    out
}

/// Attaches a `:86:` field to its statement line.
fn apply_info(pending: &mut Pending, lines: &[String]) {
    if pending.has_info {
        return;
    }
    pending.has_info = true;
    let joined = lines.concat();
    match marker(joined.trim_start()) {
        Some(m) => {
            let parts = subfields(joined.trim_start(), m);
            let pick = |wanted: &dyn Fn(u32) -> bool| {
                let pieces: Vec<&str> = parts
                    .iter()
                    .filter(|(code, _)| wanted(*code))
                    .map(|(_, t)| t.as_str())
                    .collect();
                text::collapse(&pieces.join(" "))
            };
            pending.line.description = pick(&|c| (20..=29).contains(&c) || (60..=63).contains(&c));
            pending.line.counterparty = text::non_empty(&pick(&|c| c == 32 || c == 33));
        }
        None => pending.line.description = text::collapse(&lines.join(" ")),
    }
}

/// The finished line: description from `:86:` (or the supplementary details), card from the text.
fn finish(pending: Pending) -> Line {
    let mut line = pending.line;
    if line.description.is_empty() {
        line.description = pending.supplementary;
    }
    line.card = card::find_in_text(&line.description);
    line
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn tags() {
        assert_eq!(tag_of(":61:2401"), Some(("61", "2401")));
        assert_eq!(tag_of(":60F:C24"), Some(("60F", "C24")));
        assert_eq!(tag_of(":NS:22x"), Some(("NS", "22x")));
        assert_eq!(tag_of(":6:x"), None);
        assert_eq!(tag_of("61:x"), None);
        assert_eq!(tag_of(":6a1:x"), None);
    }

    #[test]
    fn entry_dates_roll_over_the_year() {
        assert_eq!(entry_date("0102", d(2024, 12, 31)), Some(d(2025, 1, 2)));
        assert_eq!(entry_date("1231", d(2025, 1, 2)), Some(d(2024, 12, 31)));
        assert_eq!(entry_date("0305", d(2024, 3, 5)), Some(d(2024, 3, 5)));
        assert_eq!(entry_date("1301", d(2024, 3, 5)), None);
        assert_eq!(entry_date("0229", d(2023, 3, 1)), Some(d(2024, 2, 29)));
    }

    #[test]
    fn statement_lines() {
        let p = statement_line(
            "2403050305D12,50NMSCNONREF//BR24030512345",
            &[],
            "EUR",
            "ACC",
        )
        .unwrap();
        assert_eq!(p.line.direction, Direction::Debit);
        assert_eq!(p.line.amount_minor, 1250);
        assert_eq!(p.line.booking_date, d(2024, 3, 5));
        assert_eq!(p.line.bank_ref.as_deref(), Some("BR24030512345"));
        let p = statement_line("240305CR7,NTRFREF123", &["SUPPLEMENT".into()], "EUR", "").unwrap();
        assert_eq!(p.line.direction, Direction::Credit);
        assert_eq!(p.line.amount_minor, 700);
        assert_eq!(p.line.bank_ref.as_deref(), Some("REF123"));
        assert_eq!(p.supplementary, "SUPPLEMENT");
        let p = statement_line("240305RD1,00FCHGNONREF", &[], "EUR", "").unwrap();
        assert_eq!(p.line.direction, Direction::Credit);
        assert_eq!(p.line.bank_ref, None);
        let p = statement_line("240305RC1,00S103X//Y", &[], "EUR", "").unwrap();
        assert_eq!(p.line.direction, Direction::Debit);
        for (bad, needle) in [
            ("24030X", "value date"),
            ("2403051399D1,00NMSC", "entry date"),
            ("240305X1,00NMSC", "debit/credit"),
            ("240305D1,234NMSC", "3 decimals"),
            ("240305D,NMSC", "not an amount"),
            ("240305D1,00XMSC", "transaction type"),
            ("240305D1,00N", "transaction type"),
        ] {
            let err = statement_line(bad, &[], "EUR", "").map(|_| ()).unwrap_err();
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn structured_information() {
        assert_eq!(marker("020~00ZAKUP"), Some('~'));
        assert_eq!(marker("<20TEXT"), Some('<'));
        assert_eq!(marker("166?00GUTSCHRIFT"), Some('?'));
        assert_eq!(marker("Card payment ~20 no"), None);
        assert_eq!(marker("12~x"), None);
        let parts = subfields(
            "073~00ZAKUP~20Zakup ~ kartą~21BIEDRONKA~32JAN~33KOWALSKI",
            '~',
        );
        assert_eq!(
            parts,
            vec![
                (0, "ZAKUP".to_owned()),
                (20, "Zakup ~ kartą".to_owned()),
                (21, "BIEDRONKA".to_owned()),
                (32, "JAN".to_owned()),
                (33, "KOWALSKI".to_owned()),
            ]
        );
    }

    #[test]
    fn balances() {
        assert_eq!(
            balance("C240105EUR1234,56"),
            Ok((("EUR".to_owned(), 2), d(2024, 1, 5)))
        );
        assert!(
            balance("C240105EUR1234,567")
                .unwrap_err()
                .contains("3 decimals")
        );
        assert!(balance("C240105XXQ1,00").unwrap_err().contains("ISO 4217"));
        assert!(balance("X240105EUR1,00").is_err());
        assert!(balance("C2401").is_err());
    }

    #[test]
    fn detection() {
        assert!(looks_like_mt940(b":20:STMT\n:25:X"));
        assert!(looks_like_mt940(
            b"\xEF\xBB\xBF{1:F01BANK}{2:O940}{4:\n:20:X"
        ));
        assert!(looks_like_mt940(
            b"\r\nheader\r\n:25:ACC\r\n:60F:C240105EUR1,00"
        ));
        assert!(!looks_like_mt940(b"date;amount\n05.03.2024;1,00"));
        assert!(!looks_like_mt940(b":25: only one tag"));
    }

    #[test]
    fn missing_closing_balance_is_truncation() {
        let file = b":20:A\n:25:X\n:60F:C240105EUR1,00\n:61:240105D1,00NMSCNONREF\n";
        assert_eq!(parse(file, None), Err(Error::Truncated));
        let two = b":20:A\n:25:X\n:60F:C240105EUR1,00\n:20:B\n:25:X\n:60F:C240105EUR1,00\n:62F:C240105EUR1,00\n";
        assert_eq!(parse(two, None), Err(Error::Truncated));
    }

    #[test]
    fn structural_errors() {
        let bad = |file: &[u8]| match parse(file, None) {
            Err(Error::Malformed { at, detail }) => format!("{at}: {detail}"),
            other => panic!("{other:?}"),
        };
        assert!(bad(b":20:A\n:61:240105D1,00NMSCNONREF\n:62F:C240105EUR1,00").contains("line 2"));
        assert!(bad(b":20:A\n:60F:C240105EUR1,00\n:62F:C240105PLN1,00").contains("PLN"));
        assert!(bad(b"junk\n:20:A").contains("line 1"));
        assert!(bad(b":28C:1\n").contains("no MT940 statement"));
        assert!(
            bad(b":20:A\n:60F:C240105EUR1,00\n:62F:C240105EUR1,00\n:61:240105D1,00NMSCNONREF")
                .contains("after the closing balance")
        );
    }
}
