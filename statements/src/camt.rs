//! ISO 20022 camt.052, camt.053 and camt.054, versions `.001.02` to `.001.08`.
//!
//! The three messages share the entry (`Ntry`) structure; only the message element
//! (`BkToCstmrAcctRpt`, `BkToCstmrStmt`, `BkToCstmrDbtCdtNtfctn`) and the statement element
//! (`Rpt`, `Stmt`, `Ntfctn`) differ. The schemas change a little from version to version (the
//! entry status became a choice `Sts/Cd` in `.001.08`, the related parties `Cdtr/Pty/Nm`, the
//! transaction details gained their own `Amt` and `CdtDbtInd`), so the reader follows element
//! paths by local name and accepts each variant wherever it appears.
//!
//! One line per booked entry; an entry with several transaction details that each carry an
//! amount (a batch booking) becomes one line per detail.

use crate::amount::{self, Style};
use crate::text::{self, iso_date};
use crate::xml::{self, Attr, Handler, Root};
use crate::{Direction, Error, Format, Line, Statement, card};

/// The namespace prefix of every ISO 20022 message.
const ISO_NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:";

/// The first and last message versions read (`.001.02` to `.001.08`).
const VERSIONS: std::ops::RangeInclusive<u32> = 2..=8;

/// The camt format and message version an XML root element declares, when it is a camt.052,
/// camt.053 or camt.054 `Document` (whatever the version).
pub(crate) fn format_of(root: &Root) -> Option<(Format, u32)> {
    if root.local != "Document" {
        return None;
    }
    let name = root.namespace.as_deref()?.strip_prefix(ISO_NAMESPACE)?;
    let (message, version) = name.split_once(".001.")?;
    let format = match message {
        "camt.052" => Format::Camt052,
        "camt.053" => Format::Camt053,
        "camt.054" => Format::Camt054,
        _ => return None,
    };
    if version.is_empty() || version.len() > 3 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((format, version.parse().ok()?))
}

/// Reads a camt document whose root is `root`.
pub(crate) fn parse(doc: &str, root: &Root) -> Result<Statement, Error> {
    let (format, version) = format_of(root).ok_or(Error::UnknownFormat)?;
    let version_name = format!("{}.001.{version:02}", format.as_str());
    if !VERSIONS.contains(&version) {
        return Err(Error::UnsupportedVersion(version_name));
    }
    let mut reader = Reader::new(format);
    xml::walk(doc, &mut reader)?;
    if reader.containers.is_empty() {
        return Err(Error::malformed(
            "the message",
            format!(
                "there is no {} element in the {} message",
                reader.container, reader.message
            ),
        ));
    }
    let from = reader.containers.iter().filter_map(|c| c.from).min();
    let to = reader.containers.iter().filter_map(|c| c.to).max();
    let account = crate::common_account(
        reader
            .containers
            .iter()
            .map(|c| c.account.as_deref().unwrap_or_default()),
    );
    Ok(Statement {
        format,
        version: version_name,
        account,
        from,
        to,
        lines: reader.lines,
    })
}

/// An amount as written: its text and its `Ccy` attribute.
#[derive(Clone, Debug, Default)]
struct Money {
    text: String,
    ccy: String,
}

/// One statement, report or notification in the message.
#[derive(Debug, Default)]
struct Container {
    account: Option<String>,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
}

/// What an entry (`Ntry`) says, as written.
#[derive(Debug, Default)]
struct Entry {
    amount: Option<Money>,
    credit_debit: Option<String>,
    status: Option<String>,
    booking_date: Option<String>,
    value_date: Option<String>,
    reference: Option<String>,
    info: Vec<String>,
    instructed: Option<Money>,
    transaction_amount: Option<Money>,
    card: Option<String>,
    details: Vec<Details>,
}

/// What one transaction detail (`NtryDtls/TxDtls`) says, as written.
#[derive(Debug, Default)]
struct Details {
    reference: Option<String>,
    amount: Option<Money>,
    credit_debit: Option<String>,
    instructed: Option<Money>,
    transaction_amount: Option<Money>,
    creditor: Option<String>,
    debtor: Option<String>,
    remittance: Vec<String>,
    info: Vec<String>,
    transaction_date: Option<String>,
    card: Option<String>,
}

impl Details {
    /// The amount this detail was booked with: its own `Amt`, else `AmtDtls/TxAmt`.
    fn booked_amount(&self) -> Option<&Money> {
        self.amount.as_ref().or(self.transaction_amount.as_ref())
    }
}

/// The fields of an entry this reader keeps, by path below `Ntry`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EntryField {
    Amount,
    CreditDebit,
    Status,
    BookingDate,
    ValueDate,
    Reference,
    Info,
    Instructed,
    TransactionAmount,
    Pan,
    MaskedPan,
}

/// The fields of a transaction detail this reader keeps, by path below `TxDtls`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DetailField {
    Reference,
    Amount,
    CreditDebit,
    Instructed,
    TransactionAmount,
    Creditor,
    Debtor,
    Remittance,
    Info,
    TransactionDate,
    Pan,
    MaskedPan,
}

fn entry_field(path: &[&str]) -> Option<EntryField> {
    Some(match path {
        ["Amt"] => EntryField::Amount,
        ["CdtDbtInd"] => EntryField::CreditDebit,
        ["Sts"] | ["Sts", "Cd" | "Prtry"] => EntryField::Status,
        ["BookgDt", "Dt" | "DtTm"] => EntryField::BookingDate,
        ["ValDt", "Dt" | "DtTm"] => EntryField::ValueDate,
        ["AcctSvcrRef"] => EntryField::Reference,
        ["AddtlNtryInf"] => EntryField::Info,
        ["AmtDtls", "InstdAmt", "Amt"] => EntryField::Instructed,
        ["AmtDtls", "TxAmt", "Amt"] => EntryField::TransactionAmount,
        ["CardTx", "Card", "PlainCardData", "PAN"] => EntryField::Pan,
        ["CardTx", "Card", "MskdPAN"] => EntryField::MaskedPan,
        _ => return None,
    })
}

fn detail_field(path: &[&str]) -> Option<DetailField> {
    Some(match path {
        ["Refs", "AcctSvcrRef"] => DetailField::Reference,
        ["Amt"] => DetailField::Amount,
        ["CdtDbtInd"] => DetailField::CreditDebit,
        ["AmtDtls", "InstdAmt", "Amt"] => DetailField::Instructed,
        ["AmtDtls", "TxAmt", "Amt"] => DetailField::TransactionAmount,
        ["RltdPties", "Cdtr", "Nm"] | ["RltdPties", "Cdtr", "Pty", "Nm"] => DetailField::Creditor,
        ["RltdPties", "Dbtr", "Nm"] | ["RltdPties", "Dbtr", "Pty", "Nm"] => DetailField::Debtor,
        ["RmtInf", "Ustrd"] => DetailField::Remittance,
        ["AddtlTxInf"] => DetailField::Info,
        ["RltdDts", "TxDtTm"] | ["CardTx", "Tx", "TxId", "TxDtTm"] => DetailField::TransactionDate,
        ["CardTx", "Card", "PlainCardData", "PAN"] => DetailField::Pan,
        ["CardTx", "Card", "MskdPAN"] => DetailField::MaskedPan,
        _ => return None,
    })
}

/// The streaming state while walking a camt document.
#[derive(Debug)]
struct Reader {
    message: &'static str,
    container: &'static str,
    containers: Vec<Container>,
    entry: Option<Entry>,
    entries_seen: usize,
    /// The `Ccy` attribute of the element opened last (amounts are leaves, so it is theirs).
    ccy: String,
    lines: Vec<Line>,
}

impl Reader {
    fn new(format: Format) -> Reader {
        let (message, container) = match format {
            Format::Camt052 => ("BkToCstmrAcctRpt", "Rpt"),
            Format::Camt054 => ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
            _ => ("BkToCstmrStmt", "Stmt"),
        };
        Reader {
            message,
            container,
            containers: Vec::new(),
            entry: None,
            entries_seen: 0,
            ccy: String::new(),
            lines: Vec::new(),
        }
    }

    fn at(&self) -> String {
        format!("entry {}", self.entries_seen)
    }
}

impl Handler for Reader {
    fn start(&mut self, path: &[String], attrs: &[Attr]) -> Result<(), Error> {
        self.ccy = attrs
            .iter()
            .find(|(k, _)| k == "Ccy")
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default();
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        match p.as_slice() {
            [_, message] if *message != self.message => Err(Error::malformed(
                "the message",
                format!(
                    "the document holds {}, not the expected {}",
                    text::quote(message, 40),
                    self.message
                ),
            )),
            [_, _, c] if *c == self.container => {
                self.containers.push(Container::default());
                Ok(())
            }
            [_, _, c, "Ntry"] if *c == self.container => {
                self.entries_seen += 1;
                self.entry = Some(Entry::default());
                Ok(())
            }
            [_, _, c, "Ntry", "NtryDtls", "TxDtls"] if *c == self.container => {
                if let Some(entry) = self.entry.as_mut() {
                    entry.details.push(Details::default());
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn end(&mut self, path: &[String], text: &str) -> Result<(), Error> {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        let [_, _, c, rest @ ..] = p.as_slice() else {
            return Ok(());
        };
        if *c != self.container {
            return Ok(());
        }
        match rest {
            ["Acct", "Id", "IBAN"] | ["Acct", "Id", "Othr", "Id"] => {
                if let Some(container) = self.containers.last_mut() {
                    container.account = text::non_empty(text);
                }
            }
            ["FrToDt", which @ ("FrDtTm" | "ToDtTm")] => {
                let date = iso_date(text).ok_or_else(|| {
                    Error::malformed(
                        "the statement period",
                        format!("{} is not a date", text::quote(text, 40)),
                    )
                })?;
                if let Some(container) = self.containers.last_mut() {
                    if *which == "FrDtTm" {
                        container.from = Some(date);
                    } else {
                        container.to = Some(date);
                    }
                }
            }
            ["Ntry"] => {
                let entry = self.entry.take().unwrap_or_default();
                let account = self
                    .containers
                    .last()
                    .and_then(|c| c.account.clone())
                    .unwrap_or_default();
                let at = self.at();
                self.lines.extend(
                    entry_lines(entry, &account).map_err(|detail| Error::malformed(at, detail))?,
                );
            }
            ["Ntry", "NtryDtls", "TxDtls", below @ ..] => {
                let ccy = std::mem::take(&mut self.ccy);
                if let Some(field) = detail_field(below)
                    && let Some(details) = self.entry.as_mut().and_then(|e| e.details.last_mut())
                {
                    keep_detail(details, field, text, ccy);
                }
            }
            ["Ntry", below @ ..] => {
                let ccy = std::mem::take(&mut self.ccy);
                if let Some(field) = entry_field(below)
                    && let Some(entry) = self.entry.as_mut()
                {
                    keep_entry(entry, field, text, ccy);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn money(text: &str, ccy: String) -> Option<Money> {
    Some(Money {
        text: text.trim().to_owned(),
        ccy,
    })
}

fn keep_entry(entry: &mut Entry, field: EntryField, text: &str, ccy: String) {
    let value = text.trim();
    match field {
        EntryField::Amount => entry.amount = money(text, ccy),
        EntryField::CreditDebit => entry.credit_debit = Some(value.to_owned()),
        EntryField::Status => {
            // `<Sts>BOOK</Sts>` (up to .001.07) or `<Sts><Cd>BOOK</Cd></Sts>` (.001.08): the
            // outer element of the second form has no text of its own.
            if !value.is_empty() {
                entry.status = Some(value.to_owned());
            }
        }
        EntryField::BookingDate => entry.booking_date = Some(value.to_owned()),
        EntryField::ValueDate => entry.value_date = Some(value.to_owned()),
        EntryField::Reference => entry.reference = text::non_empty(text),
        EntryField::Info => entry.info.push(text.to_owned()),
        EntryField::Instructed => entry.instructed = money(text, ccy),
        EntryField::TransactionAmount => entry.transaction_amount = money(text, ccy),
        EntryField::Pan | EntryField::MaskedPan => {
            if entry.card.is_none() {
                entry.card = card::from_field(value);
            }
        }
    }
}

fn keep_detail(details: &mut Details, field: DetailField, text: &str, ccy: String) {
    let value = text.trim();
    match field {
        DetailField::Reference => details.reference = text::non_empty(text),
        DetailField::Amount => details.amount = money(text, ccy),
        DetailField::CreditDebit => details.credit_debit = Some(value.to_owned()),
        DetailField::Instructed => details.instructed = money(text, ccy),
        DetailField::TransactionAmount => details.transaction_amount = money(text, ccy),
        DetailField::Creditor => details.creditor = text::non_empty(text),
        DetailField::Debtor => details.debtor = text::non_empty(text),
        DetailField::Remittance => details.remittance.push(text.to_owned()),
        DetailField::Info => details.info.push(text.to_owned()),
        DetailField::TransactionDate => {
            if details.transaction_date.is_none() {
                details.transaction_date = Some(value.to_owned());
            }
        }
        DetailField::Pan | DetailField::MaskedPan => {
            if details.card.is_none() {
                details.card = card::from_field(value);
            }
        }
    }
}

/// An amount in minor units and its currency.
fn read_money(m: &Money, what: &str) -> Result<(i64, String), String> {
    let (ccy, _) = amount::currency(&m.ccy).map_err(|e| format!("{what}: {e}"))?;
    let parsed = amount::parse(&m.text, &ccy, Style::XML).map_err(|e| format!("{what}: {e}"))?;
    Ok((parsed.minor, ccy))
}

fn direction(code: Option<&str>) -> Result<Direction, String> {
    match code.map(str::trim) {
        Some("DBIT") => Ok(Direction::Debit),
        Some("CRDT") => Ok(Direction::Credit),
        Some(other) => Err(format!(
            "the credit/debit indicator {} is neither CRDT nor DBIT",
            text::quote(other, 20)
        )),
        None => Err("the credit/debit indicator (CdtDbtInd) is missing".to_owned()),
    }
}

fn date(text: Option<&str>, what: &str) -> Result<Option<chrono::NaiveDate>, String> {
    match text {
        None => Ok(None),
        Some(t) => iso_date(t)
            .map(Some)
            .ok_or_else(|| format!("the {what} {} is not a date", text::quote(t, 40))),
    }
}

/// The first of `candidates` that is in another currency than `currency`.
fn original(
    candidates: &[Option<&Money>],
    currency: &str,
) -> Result<Option<(i64, String)>, String> {
    for m in candidates.iter().flatten() {
        let (minor, ccy) = read_money(m, "the original amount")?;
        if ccy != currency {
            return Ok(Some((minor, ccy)));
        }
    }
    Ok(None)
}

/// The lines a finished entry becomes: none when it is not booked, one per transaction detail
/// when it is split, else one.
fn entry_lines(entry: Entry, account: &str) -> Result<Vec<Line>, String> {
    if let Some(status) = &entry.status
        && !status.eq_ignore_ascii_case("BOOK")
    {
        return Ok(Vec::new());
    }
    let amount = entry
        .amount
        .as_ref()
        .ok_or("the entry has no amount (Amt)")?;
    let (amount_minor, currency) = read_money(amount, "the entry amount")?;
    let entry_direction = direction(entry.credit_debit.as_deref())?;
    let booking_date = date(entry.booking_date.as_deref(), "booking date")?
        .ok_or("the entry has no booking date (BookgDt)")?;
    let value_date = date(entry.value_date.as_deref(), "value date")?;
    let entry_card = entry
        .card
        .clone()
        .or_else(|| entry.info.iter().find_map(|t| card::find_in_text(t)));

    let split =
        entry.details.len() >= 2 && entry.details.iter().all(|d| d.booked_amount().is_some());
    if split {
        let mut lines = Vec::with_capacity(entry.details.len());
        for (n, details) in entry.details.iter().enumerate() {
            let what = format!("transaction detail {}", n + 1);
            let booked = details
                .booked_amount()
                .ok_or("a transaction detail has no amount")?;
            let (amount_minor, currency) = read_money(booked, &format!("{what} amount"))?;
            let direction = match details.credit_debit.as_deref() {
                Some(code) => direction(Some(code))?,
                None => entry_direction,
            };
            let original = original(
                &[
                    details.instructed.as_ref(),
                    details.transaction_amount.as_ref(),
                ],
                &currency,
            )?;
            let description = text::join_pieces(
                details
                    .remittance
                    .iter()
                    .chain(details.info.iter())
                    .map(String::as_str),
            );
            let description = if description.is_empty() {
                text::join_pieces(entry.info.iter().map(String::as_str))
            } else {
                description
            };
            let card = details
                .card
                .clone()
                .or_else(|| card::find_in_text(&description))
                .or_else(|| entry_card.clone());
            lines.push(Line {
                account: account.to_owned(),
                booking_date,
                value_date,
                transaction_date: date(details.transaction_date.as_deref(), "transaction date")?,
                direction,
                amount_minor,
                currency,
                original,
                counterparty: counterparty(std::slice::from_ref(details), direction),
                description,
                card,
                bank_ref: details
                    .reference
                    .clone()
                    .or_else(|| entry.reference.clone()),
            });
        }
        return Ok(lines);
    }

    let only = match entry.details.as_slice() {
        [one] => Some(one),
        _ => None,
    };
    let mut candidates = vec![entry.instructed.as_ref(), entry.transaction_amount.as_ref()];
    if let Some(one) = only {
        candidates.extend([
            one.instructed.as_ref(),
            one.transaction_amount.as_ref(),
            one.amount.as_ref(),
        ]);
    }
    let original = original(&candidates, &currency)?;
    let description = text::join_pieces(
        entry
            .details
            .iter()
            .flat_map(|d| d.remittance.iter().chain(d.info.iter()))
            .chain(entry.info.iter())
            .map(String::as_str),
    );
    let card = entry_card
        .or_else(|| entry.details.iter().find_map(|d| d.card.clone()))
        .or_else(|| card::find_in_text(&description));
    let transaction_date = match entry
        .details
        .iter()
        .find_map(|d| d.transaction_date.as_deref())
    {
        Some(t) => date(Some(t), "transaction date")?,
        None => None,
    };
    Ok(vec![Line {
        account: account.to_owned(),
        booking_date,
        value_date,
        transaction_date,
        direction: entry_direction,
        amount_minor,
        currency,
        original,
        counterparty: counterparty(&entry.details, entry_direction),
        description,
        card,
        bank_ref: entry
            .reference
            .clone()
            .or_else(|| entry.details.iter().find_map(|d| d.reference.clone())),
    }])
}

/// The other party: the creditor (merchant) of a debit, the debtor (payer) of a credit.
fn counterparty(details: &[Details], direction: Direction) -> Option<String> {
    details.iter().find_map(|d| match direction {
        Direction::Debit => d.creditor.clone(),
        Direction::Credit => d.debtor.clone(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn root(ns: &str) -> Root {
        Root {
            local: "Document".into(),
            namespace: Some(ns.into()),
        }
    }

    #[test]
    fn formats_and_versions_from_the_namespace() {
        assert_eq!(
            format_of(&root("urn:iso:std:iso:20022:tech:xsd:camt.053.001.02")),
            Some((Format::Camt053, 2))
        );
        assert_eq!(
            format_of(&root("urn:iso:std:iso:20022:tech:xsd:camt.052.001.08")),
            Some((Format::Camt052, 8))
        );
        assert_eq!(
            format_of(&root("urn:iso:std:iso:20022:tech:xsd:camt.054.001.13")),
            Some((Format::Camt054, 13))
        );
        assert_eq!(
            format_of(&root("urn:iso:std:iso:20022:tech:xsd:camt.086.001.02")),
            None
        );
        assert_eq!(
            format_of(&root("urn:iso:std:iso:20022:tech:xsd:pain.001.001.03")),
            None
        );
        assert_eq!(
            format_of(&root("urn:iso:std:iso:20022:tech:xsd:camt.053.001.")),
            None
        );
        assert_eq!(
            format_of(&root("urn:iso:std:iso:20022:tech:xsd:camt.053.001.x1")),
            None
        );
        let other_root = Root {
            local: "FIDAVISTA".into(),
            namespace: Some("urn:iso:std:iso:20022:tech:xsd:camt.053.001.02".into()),
        };
        assert_eq!(format_of(&other_root), None);
    }

    fn parse_str(doc: &str) -> Result<Statement, Error> {
        let root = xml::root_of(doc)?;
        parse(doc, &root)
    }

    const HEAD: &str = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"><BkToCstmrStmt><Stmt><Acct><Id><IBAN>LV00TEST0000000000001</IBAN></Id></Acct>"#;
    const TAIL: &str = "</Stmt></BkToCstmrStmt></Document>";

    fn one_entry(entry: &str) -> Result<Statement, Error> {
        parse_str(&format!("{HEAD}<Ntry>{entry}</Ntry>{TAIL}"))
    }

    #[test]
    fn refuses_unsupported_versions() {
        let doc = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.01"><BkToCstmrStmt/></Document>"#;
        assert_eq!(
            parse_str(doc),
            Err(Error::UnsupportedVersion("camt.053.001.01".into()))
        );
    }

    #[test]
    fn refuses_the_wrong_message_element() {
        let doc = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"><BkToCstmrAcctRpt><Rpt/></BkToCstmrAcctRpt></Document>"#;
        assert!(matches!(parse_str(doc), Err(Error::Malformed { .. })));
        let empty = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"><BkToCstmrStmt><GrpHdr/></BkToCstmrStmt></Document>"#;
        assert!(matches!(parse_str(empty), Err(Error::Malformed { .. })));
    }

    #[test]
    fn a_minimal_entry() {
        let s = one_entry(
            r#"<Amt Ccy="EUR">3.5</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><DtTm>2024-03-05T10:00:00+02:00</DtTm></BookgDt>"#,
        )
        .unwrap();
        assert_eq!(s.account.as_deref(), Some("LV00TEST0000000000001"));
        let line = &s.lines[0];
        assert_eq!(line.amount_minor, 350);
        assert_eq!(line.direction, Direction::Debit);
        assert_eq!(line.account, "LV00TEST0000000000001");
        assert_eq!(
            line.booking_date,
            chrono::NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()
        );
        assert_eq!(line.value_date, None);
        assert_eq!(line.description, "");
        assert_eq!(line.card, None);
    }

    #[test]
    fn entry_problems_name_the_entry() {
        let bad = |entry: &str| match one_entry(entry) {
            Err(Error::Malformed { at, detail }) => (at, detail),
            other => panic!("expected Malformed, got {other:?}"),
        };
        let (at, detail) = bad(
            r#"<Amt Ccy="EUR">1.234</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2024-03-05</Dt></BookgDt>"#,
        );
        assert_eq!(at, "entry 1");
        assert!(detail.contains("3 decimals"), "{detail}");
        let (_, detail) = bad(
            r#"<Amt Ccy="XXY">1</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2024-03-05</Dt></BookgDt>"#,
        );
        assert!(detail.contains("ISO 4217"), "{detail}");
        let (_, detail) =
            bad(r#"<Amt>1</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2024-03-05</Dt></BookgDt>"#);
        assert!(detail.contains("currency is missing"), "{detail}");
        let (_, detail) = bad(
            r#"<Amt Ccy="EUR">1</Amt><CdtDbtInd>DEBIT</CdtDbtInd><BookgDt><Dt>2024-03-05</Dt></BookgDt>"#,
        );
        assert!(detail.contains("CRDT"), "{detail}");
        let (_, detail) = bad(r#"<Amt Ccy="EUR">1</Amt><CdtDbtInd>DBIT</CdtDbtInd>"#);
        assert!(detail.contains("booking date"), "{detail}");
        let (_, detail) = bad(
            r#"<Amt Ccy="EUR">1</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2024-02-30</Dt></BookgDt>"#,
        );
        assert!(detail.contains("not a date"), "{detail}");
        let (_, detail) =
            bad(r#"<CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2024-03-05</Dt></BookgDt>"#);
        assert!(detail.contains("no amount"), "{detail}");
    }

    #[test]
    fn pending_and_informational_entries_are_skipped() {
        for status in [
            "<Sts>PDNG</Sts>",
            "<Sts><Cd>INFO</Cd></Sts>",
            "<Sts>FUTR</Sts>",
        ] {
            // Not even checked: a pending entry may lack a booking date.
            let s = one_entry(&format!(
                r#"<Amt Ccy="EUR">1</Amt><CdtDbtInd>DBIT</CdtDbtInd>{status}"#
            ))
            .unwrap();
            assert!(s.lines.is_empty(), "{status}");
        }
    }

    #[test]
    fn details_without_amounts_do_not_split() {
        let s = one_entry(
            r#"<Amt Ccy="EUR">3.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2024-03-05</Dt></BookgDt>
            <AmtDtls><InstdAmt><Amt Ccy="BHD">1.234</Amt></InstdAmt></AmtDtls>
            <NtryDtls><TxDtls><Refs><AcctSvcrRef>A</AcctSvcrRef></Refs><RmtInf><Ustrd>one</Ustrd></RmtInf>
              <CardTx><Card><MskdPAN>XXXX XXXX XXXX 9876</MskdPAN></Card><Tx><TxId><TxDtTm>2024-03-04T23:59:00</TxDtTm></TxId></Tx></CardTx></TxDtls>
            <TxDtls><Refs><AcctSvcrRef>B</AcctSvcrRef></Refs><Amt Ccy="EUR">1.00</Amt><RmtInf><Ustrd>two</Ustrd></RmtInf></TxDtls></NtryDtls>"#,
        )
        .unwrap();
        assert_eq!(s.lines.len(), 1);
        let line = &s.lines[0];
        assert_eq!(line.amount_minor, 300);
        assert_eq!(line.original, Some((1234, "BHD".to_owned())));
        assert_eq!(line.description, "one two");
        assert_eq!(line.card.as_deref(), Some("************9876"));
        assert_eq!(line.bank_ref.as_deref(), Some("A"));
        assert_eq!(
            line.transaction_date,
            chrono::NaiveDate::from_ymd_opt(2024, 3, 4)
        );
    }

    #[test]
    fn split_details_keep_their_own_direction() {
        let s = one_entry(
            r#"<Amt Ccy="EUR">8.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2024-03-05</Dt></BookgDt>
            <NtryDtls><TxDtls><Amt Ccy="EUR">10.00</Amt><RltdPties><Cdtr><Nm>Shop</Nm></Cdtr></RltdPties></TxDtls>
            <TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">2.00</Amt></TxAmt></AmtDtls><CdtDbtInd>CRDT</CdtDbtInd><RltdPties><Dbtr><Nm>Shop</Nm></Dbtr></RltdPties></TxDtls></NtryDtls>
            <AddtlNtryInf>batch</AddtlNtryInf>"#,
        )
        .unwrap();
        let got: Vec<_> = s
            .lines
            .iter()
            .map(|l| {
                (
                    l.amount_minor,
                    l.direction,
                    l.counterparty.as_deref(),
                    l.description.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1000, Direction::Debit, Some("Shop"), "batch"),
                (200, Direction::Credit, Some("Shop"), "batch"),
            ]
        );
    }

    #[test]
    fn reversal_keeps_the_booked_direction() {
        let s = one_entry(
            r#"<Amt Ccy="EUR">1</Amt><CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd><BookgDt><Dt>2024-03-05</Dt></BookgDt>"#,
        )
        .unwrap();
        assert_eq!(s.lines[0].direction, Direction::Credit);
    }
}
