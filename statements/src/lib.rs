//! Kvits' bank and card statement readers.
//!
//! A bookkeeper downloads a statement from the bank and hands the file to Kvits; the sync server
//! stores its lines as card transactions and matches receipts to them. This crate does the first
//! half: it reads the file's bytes and turns every booked transaction into one [`Line`], whatever
//! the format was. Everything here is a pure function: no I/O, no clock, no global state.
//!
//! # What is read
//!
//! * **ISO 20022 camt** — camt.053 (`BkToCstmrStmt`, the end-of-day statement), camt.052
//!   (`BkToCstmrAcctRpt`, the intraday report) and camt.054 (`BkToCstmrDbtCdtNtfctn`, the
//!   debit/credit notification), versions `.001.02` to `.001.08`. Only booked entries become
//!   lines (status `BOOK`, or no status at all); pending and informational entries are left out.
//!   An entry that carries several transaction details, each with its own amount, becomes one
//!   line per detail.
//! * **FiDAViSta** — the Latvian banks' XML statement (`FIDAVISTA/Statement/AccountSet/CcyStmt/
//!   TrxSet`), schema versions 1.0, 1.01, 1.1 and 1.2, in UTF-8 or in the encoding its XML
//!   declaration names (usually windows-1257).
//! * **SWIFT MT940** — one or more statements per file, with or without the SWIFT envelope
//!   (`{1:…}{2:…}{4:` … `-}`); structured `:86:` subfields (`~20`, `<20`, `?20` …) as Polish and
//!   German banks write them are split into description and counterparty. The file's encoding is
//!   given by [`Options::encoding`] (UTF-8 by default).
//! * **CSV** — any bank's CSV export, read through a [`CsvProfile`] that the user saved for
//!   that bank (which column holds what, the date format, decimal mark and encoding).
//!
//! Every line is normalised to the same shape: a positive amount in the currency's minor units
//! with a [`Direction`], the booking date (and the value and card dates when the file has them),
//! the counterparty, free text, the card as the bank masks it and the bank's reference.
//!
//! # What is refused
//!
//! A file is read whole or not at all: when any part of it is wrong, [`parse`] returns an
//! [`Error`] and no lines, so the server never stores half a statement. In particular:
//!
//! * input larger than [`MAX_STATEMENT_BYTES`], or empty;
//! * XML with a document type declaration or entity declarations (`<!DOCTYPE`, `<!ENTITY`) —
//!   the classic entity-expansion bombs and external-entity tricks — and any entity reference
//!   other than the five predefined ones and numeric character references;
//! * XML nested deeper than 64 elements or with a single text longer than 64 KiB;
//! * a file that stops before its end (an unclosed XML root, an MT940 statement without its
//!   closing balance `:62F:`/`:62M:`);
//! * text that is not valid in the encoding it is read in;
//! * camt versions other than `.001.02`–`.001.08`, unknown FiDAViSta schema versions;
//! * an amount with more decimals than its currency has (12.345 EUR), an unknown currency code,
//!   a date that is not a date, a missing mandatory field.
//!
//! A statement without any transactions is not an error: it is returned with no lines.

#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

mod amount;
mod camt;
mod card;
mod csv;
mod fidavista;
mod mt940;
mod text;
mod xml;

/// A bank's CSV layout and its columns. The types live in `kvits-protocol`, because the sync API
/// carries them (the firm saves one profile per bank); this crate reads files with them.
pub use kvits_protocol::{CsvColumns, CsvProfile};

/// The largest statement file [`parse`] reads: 20 MiB. Larger input is refused with
/// [`Error::TooLarge`] before any parsing.
pub const MAX_STATEMENT_BYTES: usize = 20 * 1024 * 1024;

/// The statement formats this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// ISO 20022 camt.052, the bank-to-customer account report (intraday).
    Camt052,
    /// ISO 20022 camt.053, the bank-to-customer statement (end of day).
    Camt053,
    /// ISO 20022 camt.054, the bank-to-customer debit/credit notification.
    Camt054,
    /// FiDAViSta, the Latvian banks' XML statement.
    Fidavista,
    /// SWIFT MT940, the customer statement message.
    Mt940,
    /// A bank's CSV export, read through a [`CsvProfile`].
    Csv,
}

impl Format {
    /// Every format, in a stable order.
    pub const ALL: [Format; 6] = [
        Format::Camt052,
        Format::Camt053,
        Format::Camt054,
        Format::Fidavista,
        Format::Mt940,
        Format::Csv,
    ];

    /// The format's usual name: `"camt.052"`, `"camt.053"`, `"camt.054"`, `"fidavista"`,
    /// `"mt940"` or `"csv"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Camt052 => "camt.052",
            Format::Camt053 => "camt.053",
            Format::Camt054 => "camt.054",
            Format::Fidavista => "fidavista",
            Format::Mt940 => "mt940",
            Format::Csv => "csv",
        }
    }

    /// The format named by `s`: the names [`Format::as_str`] gives, or the serde names
    /// (`"camt053"`), in any letter case and with surrounding spaces ignored.
    pub fn parse(s: &str) -> Option<Format> {
        let wanted = s.trim().to_ascii_lowercase();
        let squashed: String = wanted.chars().filter(|c| *c != '.' && *c != '_').collect();
        Format::ALL.into_iter().find(|f| {
            let name = f.as_str();
            name == wanted || name.replace('.', "") == squashed
        })
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way the money went, seen from the statement's account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Money out of the account: a card purchase, a fee, a payment.
    Debit,
    /// Money into the account: a refund, a repayment, a transfer in.
    Credit,
}

/// One statement file, read and normalised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// The file's format.
    pub format: Format,
    /// The format's version as the file states it, e.g. `"camt.053.001.08"`, `"fidavista 1.01"`,
    /// `"mt940"`, `"csv <profile name>"`.
    pub version: String,
    /// The statement's account (IBAN or the bank's account number) when the file names one
    /// account; `None` when it names none, or several different ones (each line still carries
    /// its own).
    pub account: Option<String>,
    /// The first day the statement covers, when the file says: camt `FrToDt/FrDtTm` (the
    /// earliest, when the file holds several statements), FiDAViSta `Period/StartDate`, MT940 the
    /// date of the first opening balance `:60F:`; CSV files never say.
    pub from: Option<chrono::NaiveDate>,
    /// The last day the statement covers, when the file says: camt `FrToDt/ToDtTm` (the latest),
    /// FiDAViSta `Period/EndDate`, MT940 the date of the last closing balance `:62F:`.
    pub to: Option<chrono::NaiveDate>,
    /// The booked transactions, in file order. May be empty.
    pub lines: Vec<Line>,
}

/// One booked transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The account the line was booked on (IBAN / account number); the statement's account when
    /// the line does not name one; `""` if neither.
    pub account: String,
    /// The day the bank booked the transaction.
    pub booking_date: chrono::NaiveDate,
    /// The value date, when the file gives one.
    pub value_date: Option<chrono::NaiveDate>,
    /// The day the card was used, when the file says so in a field of its own (camt
    /// `RltdDts/TxDtTm`, FiDAViSta never, a CSV column). A date inside free text is not guessed.
    pub transaction_date: Option<chrono::NaiveDate>,
    /// Money out ([`Direction::Debit`]) or in ([`Direction::Credit`]).
    pub direction: Direction,
    /// The amount, positive, in minor units of `currency` (cents for EUR, yen for JPY, fils for
    /// BHD).
    pub amount_minor: i64,
    /// The amount's currency: an ISO 4217 code, upper case.
    pub currency: String,
    /// The amount in the currency the card was used in, when that differs from `currency`:
    /// positive minor units and the ISO 4217 code.
    pub original: Option<(i64, String)>,
    /// The merchant or counterparty name, when the file has one.
    pub counterparty: Option<String>,
    /// The free text the bank gives (remittance information, payment details), whitespace
    /// collapsed; may be `""`.
    pub description: String,
    /// The card as the bank shows it, with `*` for masked digits: `"****4821"`,
    /// `"516793******4821"`. `None` when no card is named.
    pub card: Option<String>,
    /// The bank's own reference for the transaction, when it has one.
    pub bank_ref: Option<String>,
}

impl Line {
    /// The card's last four digits, when the line names a card.
    pub fn last_four(&self) -> Option<&str> {
        self.card.as_deref().and_then(card::last_four)
    }
}

/// How [`parse`] should read a file.
#[derive(Clone, Debug, Default)]
pub struct Options<'a> {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// The bank's CSV layout. Needed for CSV ([`Error::CsvNeedsProfile`] otherwise); its
    /// `encoding` is also used for MT940 when [`Options::encoding`] is not given.
    pub csv: Option<&'a CsvProfile>,
    /// For MT940 (and CSV whose profile names no encoding): the file's encoding as a WHATWG
    /// label such as `"windows-1250"`, `"iso-8859-2"`, `"windows-1257"` or `"windows-1252"`;
    /// UTF-8 by default (a UTF-8 byte order mark is skipped). DOS code pages other than 866 (for
    /// example `ibm852`) are not WHATWG encodings and are refused as unknown.
    pub encoding: Option<&'a str>,
}

/// Why a statement file was refused. Every message is written for the bookkeeper who uploaded
/// the file, and names the place in the file when it is known.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The file is larger than [`MAX_STATEMENT_BYTES`].
    #[error(
        "The file is too large for a statement ({} MiB at most). Download a shorter period from the bank.",
        limit / (1024 * 1024)
    )]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The file has no content.
    #[error("The file is empty.")]
    Empty,
    /// The file is none of the formats this crate reads (or is CSV without a profile to read
    /// it by, see [`Error::CsvNeedsProfile`]).
    #[error(
        "This file is not a statement format Kvits reads (camt.052/053/054, FiDAViSta, MT940, or CSV with a bank profile)."
    )]
    UnknownFormat,
    /// The format is known but this version of it is not, e.g. `camt.053.001.01`.
    #[error(
        "This statement is in {0}, a version Kvits does not read. Ask the bank for another version (for camt: .001.02 to .001.08) or another format."
    )]
    UnsupportedVersion(String),
    /// Something in the file is wrong.
    #[error("The statement is damaged at {at}: {detail}")]
    Malformed {
        /// Where: `"line 12"`, `"entry 4"`, `"row 7"`, `"byte 3051"`.
        at: String,
        /// What is wrong there.
        detail: String,
    },
    /// The file ends before the statement does: it was cut off while downloading or copying.
    #[error(
        "The statement ends too early: the file was probably cut off. Download it from the bank again."
    )]
    Truncated,
    /// The text is not valid in the encoding it is read in, or the encoding is unknown.
    #[error("{0}")]
    Encoding(String),
    /// The XML file declares a document type or entities, which statements never need and
    /// which can be used to attack the reader.
    #[error(
        "The XML file contains a document type declaration (<!DOCTYPE> or <!ENTITY>), which bank statements never have. It was refused for safety."
    )]
    DtdRefused,
    /// The file looks like CSV, but no CSV profile was given to read it.
    #[error(
        "This looks like a CSV file. Choose the bank's CSV profile (which column holds what) to read it."
    )]
    CsvNeedsProfile,
    /// The CSV profile itself is wrong.
    #[error("The CSV profile cannot be used: {0}")]
    BadProfile(String),
}

impl Error {
    pub(crate) fn malformed(at: impl Into<String>, detail: impl Into<String>) -> Error {
        Error::Malformed {
            at: at.into(),
            detail: detail.into(),
        }
    }
}

/// The format of a statement file, judged by its content: the XML root element and its namespace
/// for camt (`urn:iso:std:iso:20022:tech:xsd:camt.05X.001.NN`) and FiDAViSta (root `FIDAVISTA`,
/// namespace `http://www.bankasoc.lv/fidavista/…`), the `:20:`, `:25:`, `:60F:` tags for MT940
/// (optionally after a `{1:…}{4:` SWIFT header). CSV cannot be told from other text, so `detect`
/// never answers [`Format::Csv`]; [`parse`] reads a file as CSV when it is given a profile and the
/// file is none of the other formats.
///
/// The version is not checked here: a camt.053.001.13 file is detected as [`Format::Camt053`],
/// and [`parse`] refuses it.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let bytes = bytes.get(..bytes.len().min(MAX_STATEMENT_BYTES))?;
    if xml::looks_like_xml(bytes) {
        return xml::sniff(bytes).ok().and_then(|root| xml_format(&root));
    }
    if mt940::looks_like_mt940(bytes) {
        return Some(Format::Mt940);
    }
    None
}

/// Reads a statement file and returns its booked lines, or the reason it was refused.
///
/// The format is detected from the content unless [`Options::format`] forces one; CSV is read
/// only with a [`CsvProfile`]. No input makes this function panic.
pub fn parse(bytes: &[u8], options: &Options<'_>) -> Result<Statement, Error> {
    if bytes.len() > MAX_STATEMENT_BYTES {
        return Err(Error::TooLarge {
            limit: MAX_STATEMENT_BYTES,
        });
    }
    if text::is_blank(bytes) {
        return Err(Error::Empty);
    }
    match options.format {
        Some(Format::Camt052 | Format::Camt053 | Format::Camt054 | Format::Fidavista) => {
            let wanted = options.format;
            let statement = parse_xml(bytes)?;
            if Some(statement.format) != wanted {
                return Err(Error::malformed(
                    "the root element",
                    format!(
                        "this is a {} file, not {} as was chosen",
                        statement.format,
                        options.format.map(Format::as_str).unwrap_or_default()
                    ),
                ));
            }
            Ok(statement)
        }
        Some(Format::Mt940) => mt940::parse(bytes, mt940_encoding(options)),
        Some(Format::Csv) => match options.csv {
            Some(profile) => csv::parse(bytes, profile, options.encoding),
            None => Err(Error::CsvNeedsProfile),
        },
        None => {
            if xml::looks_like_xml(bytes) {
                parse_xml(bytes)
            } else if mt940::looks_like_mt940(bytes) {
                mt940::parse(bytes, mt940_encoding(options))
            } else if let Some(profile) = options.csv {
                csv::parse(bytes, profile, options.encoding)
            } else if csv::looks_like_csv(bytes) {
                Err(Error::CsvNeedsProfile)
            } else {
                Err(Error::UnknownFormat)
            }
        }
    }
}

/// Checks that a CSV profile can read a file: a name, a separator of `,` `;` `|` or tab, an
/// encoding label Kvits knows (or none), a date format that gives day, month and year (a time may
/// follow), a decimal mark of `.` or `,`, one amount column or a debit and a credit column (a
/// direction column only with a single amount column), a currency column or a valid default
/// currency, original amount and currency columns together or not at all, and no column beyond
/// the 1000th. The [`Error::BadProfile`] message says what to fix.
pub fn validate_profile(profile: &CsvProfile) -> Result<(), Error> {
    csv::validate(profile)
}

/// `profile.validate()` for [`CsvProfile`], which is defined in `kvits-protocol`: the same check
/// as [`validate_profile`].
pub trait CsvProfileExt {
    /// See [`validate_profile`].
    fn validate(&self) -> Result<(), Error>;
}

impl CsvProfileExt for CsvProfile {
    fn validate(&self) -> Result<(), Error> {
        csv::validate(self)
    }
}

/// The encoding to read MT940 in: the explicit option, else the CSV profile's, else UTF-8.
fn mt940_encoding<'a>(options: &Options<'a>) -> Option<&'a str> {
    options.encoding.or_else(|| {
        options
            .csv
            .map(|p| p.encoding.as_str())
            .filter(|e| !e.trim().is_empty())
    })
}

/// The format an XML root element stands for.
fn xml_format(root: &xml::Root) -> Option<Format> {
    if let Some((format, _)) = camt::format_of(root) {
        return Some(format);
    }
    fidavista::is_fidavista(root).then_some(Format::Fidavista)
}

/// Reads an XML statement, choosing camt or FiDAViSta by its root element.
fn parse_xml(bytes: &[u8]) -> Result<Statement, Error> {
    let doc = xml::decode(bytes)?;
    let root = xml::root_of(&doc)?;
    if camt::format_of(&root).is_some() {
        camt::parse(&doc, &root)
    } else if fidavista::is_fidavista(&root) {
        fidavista::parse(&doc, &root)
    } else {
        Err(Error::UnknownFormat)
    }
}

/// The one account all `accounts` agree on, or `None` when there is none or they differ.
pub(crate) fn common_account<'a>(accounts: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut found: Option<&str> = None;
    for account in accounts {
        if account.is_empty() {
            continue;
        }
        match found {
            None => found = Some(account),
            Some(f) if f == account => {}
            Some(_) => return None,
        }
    }
    found.map(str::to_owned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
            let serde_name = serde_json::to_value(f).unwrap();
            assert_eq!(Format::parse(serde_name.as_str().unwrap()), Some(f));
        }
        assert_eq!(Format::parse(" CAMT.053 "), Some(Format::Camt053));
        assert_eq!(Format::parse("camt.055"), None);
        assert_eq!(Format::parse(""), None);
    }

    #[test]
    fn too_large_and_empty_come_first() {
        let big = vec![b' '; MAX_STATEMENT_BYTES + 1];
        assert_eq!(
            parse(&big, &Options::default()),
            Err(Error::TooLarge {
                limit: MAX_STATEMENT_BYTES
            })
        );
        assert_eq!(parse(b"", &Options::default()), Err(Error::Empty));
        assert_eq!(parse(b" \r\n\t", &Options::default()), Err(Error::Empty));
        assert_eq!(
            parse(b"\xEF\xBB\xBF\n", &Options::default()),
            Err(Error::Empty)
        );
    }

    #[test]
    fn common_account_needs_agreement() {
        assert_eq!(common_account(["", "A", "A"]), Some("A".into()));
        assert_eq!(common_account(["A", "B"]), None);
        assert_eq!(common_account([""]), None);
    }

    #[test]
    fn error_messages_read_well() {
        let e = Error::malformed("entry 4", "the amount “12.345” has 3 decimals");
        assert_eq!(
            e.to_string(),
            "The statement is damaged at entry 4: the amount “12.345” has 3 decimals"
        );
        assert!(
            Error::TooLarge {
                limit: MAX_STATEMENT_BYTES
            }
            .to_string()
            .contains("20 MiB")
        );
    }
}
