//! FiDAViSta, the XML statement of the Latvian banks' association (Finanšu Datu Vienotā
//! Standarta).
//!
//! A statement is `FIDAVISTA/Statement`: its `Period` (`StartDate`, `EndDate`), then one
//! `AccountSet` per account (`AccNo`) holding one `CcyStmt` per currency (`Ccy`), whose `TrxSet`
//! elements are the transactions: `BookDate` (and `RegDate`, the day the order was registered),
//! `ValueDate`, `BankRef`, `CorD` (`C` credit, `D` debit), `AccAmt` (the amount in the account's
//! currency), `PmtInfo` (free text) and `CPartySet` (the counterparty: `AccHolder/Name`, and its
//! `Ccy`/`Amt` when the payment was in another currency).
//!
//! The schema version is the file name in the namespace: `fidavista0101.xsd` is 1.01,
//! `fidavista_1-2.xsd` is 1.2.

use crate::amount::{self, Style};
use crate::text::{self, iso_date};
use crate::xml::{self, Attr, Handler, Root};
use crate::{Direction, Error, Format, Line, Statement, card};

/// The versions read.
const VERSIONS: [&str; 4] = ["1.0", "1.01", "1.1", "1.2"];

/// Whether an XML root element is a FiDAViSta document: `FIDAVISTA`, in no namespace or in the
/// association's.
pub(crate) fn is_fidavista(root: &Root) -> bool {
    root.local.eq_ignore_ascii_case("FIDAVISTA")
        && root
            .namespace
            .as_deref()
            .is_none_or(|ns| ns.is_empty() || ns.contains("bankasoc.lv/fidavista"))
}

/// The schema version a namespace names: `Some("1.01")` for `…/fidavista0101.xsd`, `Some("1.2")`
/// for `…/fidavista_1-2.xsd`; `None` for a name of another shape.
fn version_of(namespace: &str) -> Option<String> {
    let file = namespace.rsplit('/').next()?.to_ascii_lowercase();
    let stem = file.strip_prefix("fidavista")?.strip_suffix(".xsd")?;
    if let Some(dashed) = stem.strip_prefix('_') {
        let (major, minor) = dashed.split_once('-')?;
        let major: u32 = major.parse().ok()?;
        let minor: u32 = minor.parse().ok()?;
        return Some(format!("{major}.{minor}"));
    }
    if stem.len() == 4 && stem.bytes().all(|b| b.is_ascii_digit()) {
        let major: u32 = stem.get(..2)?.parse().ok()?;
        let minor = stem.get(2..)?;
        let minor = match minor {
            "00" => "0",
            m if m.ends_with('0') => m.get(..1)?,
            m => m,
        };
        return Some(format!("{major}.{minor}"));
    }
    None
}

/// Reads a FiDAViSta document whose root is `root`.
pub(crate) fn parse(doc: &str, root: &Root) -> Result<Statement, Error> {
    let version = match root.namespace.as_deref().filter(|ns| !ns.is_empty()) {
        None => "fidavista".to_owned(),
        Some(ns) => match version_of(ns) {
            Some(v) if VERSIONS.contains(&v.as_str()) => format!("fidavista {v}"),
            Some(v) => return Err(Error::UnsupportedVersion(format!("FiDAViSta {v}"))),
            None => return Err(Error::UnsupportedVersion(format!("FiDAViSta ({ns})"))),
        },
    };
    let mut reader = Reader::default();
    xml::walk(doc, &mut reader)?;
    let account = crate::common_account(reader.accounts.iter().map(String::as_str));
    Ok(Statement {
        format: Format::Fidavista,
        version,
        account,
        from: reader.from,
        to: reader.to,
        lines: reader.lines,
    })
}

/// One transaction (`TrxSet`) as written.
#[derive(Debug, Default)]
struct Trx {
    reg_date: Option<String>,
    book_date: Option<String>,
    value_date: Option<String>,
    bank_ref: Option<String>,
    c_or_d: Option<String>,
    amount: Option<String>,
    info: String,
    party_name: Option<String>,
    party_ccy: Option<String>,
    party_amount: Option<String>,
}

/// The streaming state while walking a FiDAViSta document.
#[derive(Debug, Default)]
struct Reader {
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    /// Every `AccountSet`'s account, in order.
    accounts: Vec<String>,
    /// The current `CcyStmt`'s currency.
    currency: Option<String>,
    trx: Option<Trx>,
    seen: usize,
    lines: Vec<Line>,
}

fn non_empty(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl Handler for Reader {
    fn start(&mut self, path: &[String], _attrs: &[Attr]) -> Result<(), Error> {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        match p.as_slice() {
            [_, "Statement", "AccountSet"] => self.accounts.push(String::new()),
            [_, "Statement", "AccountSet", "CcyStmt"] => self.currency = None,
            [_, "Statement", "AccountSet", "CcyStmt", "TrxSet"] => {
                self.seen += 1;
                self.trx = Some(Trx::default());
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, path: &[String], text: &str) -> Result<(), Error> {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        match p.as_slice() {
            [_, "Statement", "Period", which @ ("StartDate" | "EndDate")] => {
                let date = match non_empty(text) {
                    None => None,
                    Some(t) => Some(iso_date(&t).ok_or_else(|| {
                        Error::malformed(
                            "the statement period",
                            format!("{} is not a date", text::quote(&t, 40)),
                        )
                    })?),
                };
                if *which == "StartDate" {
                    self.from = date;
                } else {
                    self.to = date;
                }
            }
            [_, "Statement", "AccountSet", field @ ("AccNo" | "IBAN")] => {
                if let (Some(account), Some(value)) = (self.accounts.last_mut(), non_empty(text)) {
                    // The account number is the one banks fill in; IBAN only when it is missing.
                    if *field == "AccNo" || account.is_empty() {
                        *account = value;
                    }
                }
            }
            [_, "Statement", "AccountSet", "CcyStmt", "Ccy"] => {
                let (ccy, _) = amount::currency(text).map_err(|e| {
                    Error::malformed(
                        format!(
                            "the currency statement before transaction {}",
                            self.seen + 1
                        ),
                        e,
                    )
                })?;
                self.currency = Some(ccy);
            }
            [_, "Statement", "AccountSet", "CcyStmt", "TrxSet"] => {
                let trx = self.trx.take().unwrap_or_default();
                let account = self.accounts.last().cloned().unwrap_or_default();
                let line = line(trx, &account, self.currency.as_deref()).map_err(|detail| {
                    Error::malformed(format!("transaction {}", self.seen), detail)
                })?;
                self.lines.push(line);
            }
            [_, "Statement", "AccountSet", "CcyStmt", "TrxSet", rest @ ..] => {
                if let Some(trx) = self.trx.as_mut() {
                    match rest {
                        ["RegDate"] => trx.reg_date = non_empty(text),
                        ["BookDate"] => trx.book_date = non_empty(text),
                        ["ValueDate"] => trx.value_date = non_empty(text),
                        ["BankRef"] => trx.bank_ref = text::non_empty(text),
                        ["CorD"] => trx.c_or_d = non_empty(text),
                        ["AccAmt"] => trx.amount = non_empty(text),
                        ["PmtInfo"] => trx.info = text::collapse(text),
                        ["CPartySet", "AccHolder", "Name"] => {
                            trx.party_name = text::non_empty(text)
                        }
                        ["CPartySet", "Ccy"] => trx.party_ccy = non_empty(text),
                        ["CPartySet", "Amt"] => trx.party_amount = non_empty(text),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Amounts as FiDAViSta writes them: a decimal point; a sign is tolerated (the direction comes
/// from `CorD`).
const STYLE: Style = Style {
    mark: '.',
    thousands: false,
    signed: true,
};

fn date(text: Option<&str>, what: &str) -> Result<Option<chrono::NaiveDate>, String> {
    match text {
        None => Ok(None),
        Some(t) => iso_date(t)
            .map(Some)
            .ok_or_else(|| format!("the {what} {} is not a date", text::quote(t, 40))),
    }
}

/// The line one `TrxSet` becomes.
fn line(trx: Trx, account: &str, currency: Option<&str>) -> Result<Line, String> {
    let currency = currency.ok_or("the currency statement names no currency (Ccy)")?;
    let booking_date = date(trx.book_date.as_deref(), "booking date")?
        .or(date(trx.reg_date.as_deref(), "registration date")?)
        .ok_or("the transaction has no booking date (BookDate)")?;
    let value_date = date(trx.value_date.as_deref(), "value date")?;
    let direction = match trx.c_or_d.as_deref() {
        Some("D" | "d") => Direction::Debit,
        Some("C" | "c") => Direction::Credit,
        Some(other) => {
            return Err(format!(
                "the credit/debit mark {} is neither C nor D",
                text::quote(other, 20)
            ));
        }
        None => return Err("the credit/debit mark (CorD) is missing".to_owned()),
    };
    let amount_text = trx
        .amount
        .as_deref()
        .ok_or("the transaction has no amount (AccAmt)")?;
    let amount_minor = amount::parse(amount_text, currency, STYLE)?.minor;
    let original = match (trx.party_ccy.as_deref(), trx.party_amount.as_deref()) {
        (Some(ccy), Some(amt)) => {
            let (ccy, _) = amount::currency(ccy).map_err(|e| format!("the counterparty's {e}"))?;
            if ccy == currency {
                None
            } else {
                let minor = amount::parse(amt, &ccy, STYLE)
                    .map_err(|e| format!("the counterparty's amount: {e}"))?
                    .minor;
                Some((minor, ccy))
            }
        }
        _ => None,
    };
    Ok(Line {
        account: account.to_owned(),
        booking_date,
        value_date,
        transaction_date: None,
        direction,
        amount_minor,
        currency: currency.to_owned(),
        original,
        counterparty: trx.party_name,
        card: card::find_in_text(&trx.info),
        description: trx.info,
        bank_ref: trx.bank_ref,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_namespaces() {
        assert_eq!(
            version_of("http://www.bankasoc.lv/fidavista/fidavista0101.xsd").as_deref(),
            Some("1.01")
        );
        assert_eq!(
            version_of("http://bankasoc.lv/fidavista/fidavista0100.xsd").as_deref(),
            Some("1.0")
        );
        assert_eq!(
            version_of("http://bankasoc.lv/fidavista/fidavista0110.xsd").as_deref(),
            Some("1.1")
        );
        assert_eq!(
            version_of("http://bankasoc.lv/fidavista/fidavista_1-2.xsd").as_deref(),
            Some("1.2")
        );
        assert_eq!(
            version_of("http://bankasoc.lv/fidavista/fidavista_2-0.xsd").as_deref(),
            Some("2.0")
        );
        assert_eq!(version_of("http://bankasoc.lv/fidavista/"), None);
        assert_eq!(version_of("http://bankasoc.lv/fidavista/other.xsd"), None);
    }

    #[test]
    fn roots() {
        let root = |local: &str, ns: Option<&str>| Root {
            local: local.into(),
            namespace: ns.map(Into::into),
        };
        assert!(is_fidavista(&root("FIDAVISTA", None)));
        assert!(is_fidavista(&root(
            "FIDAVISTA",
            Some("http://www.bankasoc.lv/fidavista/fidavista0101.xsd")
        )));
        assert!(!is_fidavista(&root("FIDAVISTA", Some("urn:other"))));
        assert!(!is_fidavista(&root("Document", None)));
    }

    fn parse_str(doc: &str) -> Result<Statement, Error> {
        let root = xml::root_of(doc)?;
        parse(doc, &root)
    }

    #[test]
    fn refuses_unknown_versions() {
        assert_eq!(
            parse_str(r#"<FIDAVISTA xmlns="http://bankasoc.lv/fidavista/fidavista_2-0.xsd"/>"#),
            Err(Error::UnsupportedVersion("FiDAViSta 2.0".into()))
        );
    }

    #[test]
    fn transaction_problems_name_the_transaction() {
        let doc = |trx: &str| {
            format!(
                "<FIDAVISTA><Statement><AccountSet><AccNo>LV1</AccNo><CcyStmt><Ccy>EUR</Ccy><TrxSet><BookDate>2024-03-05</BookDate><CorD>D</CorD><AccAmt>1.00</AccAmt></TrxSet><TrxSet>{trx}</TrxSet></CcyStmt></AccountSet></Statement></FIDAVISTA>"
            )
        };
        let ok = parse_str(&doc(
            "<BookDate>2024-03-05</BookDate><CorD>C</CorD><AccAmt>2</AccAmt>",
        ))
        .unwrap();
        assert_eq!(ok.version, "fidavista");
        assert_eq!(ok.lines.len(), 2);
        assert_eq!(ok.lines[1].amount_minor, 200);
        assert_eq!(ok.lines[1].direction, Direction::Credit);
        for (trx, needle) in [
            (
                "<BookDate>2024-03-05</BookDate><CorD>X</CorD><AccAmt>2</AccAmt>",
                "neither C nor D",
            ),
            (
                "<BookDate>2024-03-05</BookDate><CorD>C</CorD><AccAmt>2.001</AccAmt>",
                "3 decimals",
            ),
            ("<CorD>C</CorD><AccAmt>2</AccAmt>", "booking date"),
            ("<BookDate>2024-03-05</BookDate><CorD>C</CorD>", "no amount"),
        ] {
            match parse_str(&doc(trx)) {
                Err(Error::Malformed { at, detail }) => {
                    assert_eq!(at, "transaction 2");
                    assert!(detail.contains(needle), "{detail}");
                }
                other => panic!("{trx}: {other:?}"),
            }
        }
    }
}
