//! Card numbers: the bank's own card fields, and masked card numbers recognised in free text.
//!
//! Every card comes out in one shape: digits and `*` for the masked ones, ending in the last four
//! digits (`"****4821"`, `"516793******4821"`). A full card number is never kept: all but its last
//! four digits are masked.
//!
//! Free text is read conservatively: only a masked number (`4821********1234`, `****1234`,
//! `XXXX XXXX XXXX 1234`) or a number right after a card word (`KARTE NR 1234`, `CARD 1234`) is
//! taken for a card. IBANs, phone numbers, dates, amounts and references are left alone.

/// Characters banks use to mask card digits.
fn is_mask(c: char) -> bool {
    matches!(c, '*' | 'X' | 'x' | '•')
}

/// Words that name a card, in the languages of the banks Kvits reads (upper case).
const CARD_WORDS: [&str; 14] = [
    "CARD",
    "KARTE",
    "KARTA",
    "KARTES",
    "KARTĒ",
    "KARTY",
    "KARTĄ",
    "KARTĘ",
    "KORT",
    "KORTTI",
    "KAART",
    "KORTELĖ",
    "KORTELE",
    "KREDITKARTE",
];

/// Words that may sit between a card word and the number (upper case, trailing dot removed).
const NUMBER_WORDS: [&str; 8] = [
    "NR", "NO", "NUM", "NUMBER", "NUMMER", "NUMER", "NUMURS", "#",
];

/// The last four digits of a normalised card.
pub(crate) fn last_four(card: &str) -> Option<&str> {
    let start = card.len().checked_sub(4)?;
    let tail = card.get(start..)?;
    tail.bytes().all(|b| b.is_ascii_digit()).then_some(tail)
}

/// A card number as a bank's own card field gives it (camt `PAN` or `MskdPAN`, a CSV card
/// column): masked digits become `*`, spaces and dashes go, and a number given in full keeps only
/// its last four digits. `None` when the field does not hold a card number that ends in four
/// digits.
pub(crate) fn from_field(raw: &str) -> Option<String> {
    let mut out = String::new();
    for c in raw.trim().chars() {
        if c.is_ascii_digit() {
            out.push(c);
        } else if is_mask(c) {
            out.push('*');
        } else if c == ' ' || c == '-' {
            continue;
        } else {
            return None;
        }
    }
    if out.len() > 19 {
        return None;
    }
    last_four(&out)?;
    if !out.contains('*') {
        return Some(mask_all_but_last_four(&out));
    }
    Some(out)
}

/// `digits` (ASCII digits) with all but the last four masked; at least four masks in front.
fn mask_all_but_last_four(digits: &str) -> String {
    let keep = digits.len().saturating_sub(4);
    let last = digits.get(keep..).unwrap_or_default();
    let masks = keep.max(4);
    format!("{}{}", "*".repeat(masks), last)
}

/// A card number named in free text, or `None`. See the module documentation for what is
/// recognised.
pub(crate) fn find_in_text(text: &str) -> Option<String> {
    let words = words(text);
    let mut i = 0;
    while i < words.len() {
        let word = words.get(i).map(String::as_str).unwrap_or_default();
        if is_card_word(word)
            && let Some(card) = after_card_word(&words, i + 1)
        {
            return Some(card);
        }
        if let Some(card) = masked_at(&words, i) {
            return Some(card);
        }
        i += 1;
    }
    None
}

/// `text` split into words, with punctuation that never belongs to a card number made a space
/// and a trailing dot dropped.
fn words(text: &str) -> Vec<String> {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if matches!(
                c,
                ',' | ';' | ':' | '(' | ')' | '[' | ']' | '/' | '=' | '"' | '\''
            ) {
                ' '
            } else {
                c
            }
        })
        .collect();
    cleaned
        .split_whitespace()
        .map(|w| w.strip_suffix('.').unwrap_or(w).to_owned())
        .filter(|w| !w.is_empty())
        .collect()
}

fn is_card_word(word: &str) -> bool {
    let upper = word.to_uppercase();
    CARD_WORDS.contains(&upper.as_str())
}

fn is_number_word(word: &str) -> bool {
    let upper = word.to_uppercase();
    NUMBER_WORDS.contains(&upper.as_str())
}

/// The card after a card word at `words[start..]`: a masked number, four digits alone, or a full
/// card number that passes the Luhn check (kept masked).
fn after_card_word(words: &[String], start: usize) -> Option<String> {
    let mut at = start;
    // Skip "NR", "NO." and the like.
    while words.get(at).is_some_and(|w| is_number_word(w)) && at < start + 2 {
        at += 1;
    }
    if let Some(card) = masked_at(words, at) {
        return Some(card);
    }
    let word = words.get(at)?;
    // Some banks write only a short mask: "KARTE **1234".
    if let Some(card) = short_masked(word, 1) {
        return Some(card);
    }
    // A full number, possibly in groups of four: "4111 1111 1111 1111".
    let mut digits = String::new();
    for w in words.iter().skip(at).take(5) {
        if !w.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        digits.push_str(w);
        if (13..=19).contains(&digits.len()) && luhn_ok(&digits) {
            return Some(mask_all_but_last_four(&digits));
        }
        if digits.len() > 19 {
            break;
        }
    }
    (word.len() == 4 && word.bytes().all(|b| b.is_ascii_digit())).then(|| format!("****{word}"))
}

/// A masked card number starting at `words[at]`: one word, or up to five groups (`XXXX XXXX XXXX
/// 1234`, `5167 93** **** 4821`) that together make a full-length masked number.
fn masked_at(words: &[String], at: usize) -> Option<String> {
    let first = words.get(at)?;
    if let Some(card) = full_masked(&squash(first)?) {
        return Some(card);
    }
    if let Some(card) = short_masked(first, 4) {
        return Some(card);
    }
    // Groups: every group but the last is four to six characters long.
    let mut joined = String::new();
    for (n, word) in words.iter().skip(at).take(5).enumerate() {
        let group = squash(word)?;
        joined.push_str(&group);
        if n > 0
            && let Some(card) = full_masked(&joined)
        {
            return Some(card);
        }
        if !(4..=6).contains(&group.len()) || joined.len() > 19 {
            return None;
        }
    }
    None
}

/// `word` with mask characters made `*` and inner dashes dropped, when it holds nothing but
/// digits and masks.
fn squash(word: &str) -> Option<String> {
    let mut out = String::new();
    for c in word.chars() {
        if c.is_ascii_digit() {
            out.push(c);
        } else if is_mask(c) {
            out.push('*');
        } else if c == '-' && !out.is_empty() {
            continue;
        } else {
            return None;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `s` (digits and `*`) when it has the shape of a full masked card number: up to eight leading
/// digits, at least one mask, then exactly four digits, 12 to 19 characters in all.
fn full_masked(s: &str) -> Option<String> {
    if !(12..=19).contains(&s.len()) {
        return None;
    }
    let lead = s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = s.get(lead..)?;
    let masks = rest.bytes().take_while(|b| *b == b'*').count();
    let tail = rest.get(masks..)?;
    (lead <= 8 && masks >= 1 && tail.len() == 4 && tail.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.to_owned())
}

/// `word` when it is masks followed by exactly four digits (`****1234`, `XXXX1234`), with at least
/// `min_masks` masks.
fn short_masked(word: &str, min_masks: usize) -> Option<String> {
    let s = squash(word)?;
    let masks = s.bytes().take_while(|b| *b == b'*').count();
    let tail = s.get(masks..)?;
    (masks >= min_masks && tail.len() == 4 && tail.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// Whether `digits` (ASCII digits) pass the Luhn check every card number passes.
fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn found(text: &str) -> Option<String> {
        find_in_text(text)
    }

    #[test]
    fn fields_are_normalised_and_masked() {
        assert_eq!(
            from_field("5167930012344821").as_deref(),
            Some("************4821")
        );
        assert_eq!(
            from_field("516793******4821").as_deref(),
            Some("516793******4821")
        );
        assert_eq!(
            from_field("5167 93XX XXXX 4821").as_deref(),
            Some("516793******4821")
        );
        assert_eq!(
            from_field("xxxxxxxxxxxx4821").as_deref(),
            Some("************4821")
        );
        assert_eq!(from_field("4821").as_deref(), Some("****4821"));
        assert_eq!(from_field("****4821").as_deref(), Some("****4821"));
        assert_eq!(from_field("4821****").as_deref(), None);
        assert_eq!(from_field("VISA 4821").as_deref(), None);
        assert_eq!(from_field("").as_deref(), None);
        assert_eq!(from_field("123").as_deref(), None);
        assert_eq!(from_field("12345678901234567890").as_deref(), None);
    }

    #[test]
    fn last_four_of_cards() {
        assert_eq!(last_four("****4821"), Some("4821"));
        assert_eq!(last_four("516793******4821"), Some("4821"));
        assert_eq!(last_four("***"), None);
        assert_eq!(last_four("4821****"), None);
    }

    #[test]
    fn masked_numbers_in_text() {
        assert_eq!(
            found("PIRKUMS 4821********1234 RIMI").as_deref(),
            Some("4821********1234")
        );
        assert_eq!(found("Pirkums ****1234 Rimi").as_deref(), Some("****1234"));
        assert_eq!(
            found("XXXX XXXX XXXX 1234 AMAZON").as_deref(),
            Some("************1234")
        );
        assert_eq!(
            found("card 5167 93** **** 4821, shop").as_deref(),
            Some("516793******4821")
        );
        assert_eq!(
            found("ZAKUP 424671xxxxxx9876 BIEDRONKA").as_deref(),
            Some("424671******9876")
        );
        assert_eq!(found("(xxxx1234)").as_deref(), Some("****1234"));
        assert_eq!(
            found("4821-****-****-1234").as_deref(),
            Some("4821********1234")
        );
        assert_eq!(
            found("Karte ****1234 2024-03-05").as_deref(),
            Some("****1234")
        );
    }

    #[test]
    fn card_words_in_text() {
        assert_eq!(found("KARTE NR 1234 REWE").as_deref(), Some("****1234"));
        assert_eq!(found("Karte Nr. 1234").as_deref(), Some("****1234"));
        assert_eq!(found("KARTA: 9876 ZABKA").as_deref(), Some("****9876"));
        assert_eq!(found("CARD 5555").as_deref(), Some("****5555"));
        assert_eq!(found("kortti **4821").as_deref(), Some("**4821"));
        assert_eq!(
            found("KARTES NR 4111 1111 1111 1111").as_deref(),
            Some("************1111")
        );
        assert_eq!(
            found("Kartę 4111111111111111").as_deref(),
            Some("************1111")
        );
    }

    #[test]
    fn other_numbers_are_not_cards() {
        // IBANs.
        assert_eq!(found("LV80BANK0000435195001 Janis Berzins"), None);
        assert_eq!(found("PL61 1090 1014 0000 0712 1981 2874"), None);
        assert_eq!(found("DE89 3704 0044 0532 0130 00"), None);
        assert_eq!(found("XK05 1212 0123 4567 8906"), None);
        // Phone numbers.
        assert_eq!(found("Tel. +371 67444444"), None);
        assert_eq!(found("call 0800 123 4567"), None);
        assert_eq!(found("+48 22 123 45 67"), None);
        // Dates and times.
        assert_eq!(found("2024-03-05 14:03"), None);
        assert_eq!(found("05.03.2024"), None);
        assert_eq!(found("20240305"), None);
        // Amounts, references, a plain long number without a card word.
        assert_eq!(found("EUR 1 234,56"), None);
        assert_eq!(found("REF 2024030512345678"), None);
        assert_eq!(found("4111111111111111"), None);
        assert_eq!(found("Rēķins Nr. 1234"), None);
        // Masks that are not card numbers.
        assert_eq!(found("*** AKCIJA ***"), None);
        assert_eq!(found("XXXX 2024 summer"), None);
        assert_eq!(found("x 1234"), None);
        assert_eq!(found("****12345"), None);
        // A card word followed by something else.
        assert_eq!(found("CARD PAYMENT 2024-03-05"), None);
        assert_eq!(found("KARTE 1 2024"), None);
        assert_eq!(found("CARD 4111111111111112"), None);
        assert_eq!(found(""), None);
    }
}
