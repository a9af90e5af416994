//! Every bad sample in `tests/data` is refused whole, with the error that says why.
#![allow(clippy::unwrap_used)]

use kvits_statements::{CsvProfile, Error, Format, MAX_STATEMENT_BYTES, Options, parse};

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn refused(name: &str) -> Error {
    match parse(&data(name), &Options::default()) {
        Err(e) => e,
        Ok(st) => panic!("{name} was read: {st:?}"),
    }
}

#[test]
fn truncated_camt() {
    assert_eq!(refused("bad_camt_truncated.xml"), Error::Truncated);
    // Cut anywhere after the root element opened, the file is never read as a statement.
    let whole = data("camt053_v04.xml");
    let root = whole.windows(9).position(|w| w == b"<Document").unwrap();
    for cut in (root + 10..whole.len() - 12).step_by(97) {
        assert!(
            parse(&whole[..cut], &Options::default()).is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn entity_bomb_and_external_entity() {
    assert_eq!(refused("bad_billion_laughs.xml"), Error::DtdRefused);
    assert_eq!(refused("bad_xxe.xml"), Error::DtdRefused);
    // Forcing a format does not get around it.
    for format in [Format::Camt053, Format::Fidavista] {
        let options = Options {
            format: Some(format),
            ..Options::default()
        };
        assert_eq!(
            parse(&data("bad_xxe.xml"), &options),
            Err(Error::DtdRefused)
        );
    }
}

#[test]
fn unknown_camt_version() {
    assert_eq!(
        refused("bad_camt_unknown_version.xml"),
        Error::UnsupportedVersion("camt.053.001.13".into())
    );
}

#[test]
fn too_many_decimals() {
    match refused("bad_camt_decimals.xml") {
        Error::Malformed { at, detail } => {
            assert_eq!(at, "entry 2");
            assert_eq!(
                detail,
                "the entry amount: the amount “12.345” has 3 decimals, but EUR has only 2"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn mt940_without_closing_balance() {
    assert_eq!(refused("bad_mt940_no_62f.sta"), Error::Truncated);
}

#[test]
fn mt940_not_utf8() {
    match refused("bad_mt940_not_utf8.sta") {
        Error::Encoding(message) => {
            assert!(message.contains("windows-1250"), "{message}");
            assert!(message.contains("line 6"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // With the right encoding it reads.
    let options = Options {
        encoding: Some("windows-1250"),
        ..Options::default()
    };
    let st = parse(&data("bad_mt940_not_utf8.sta"), &options).unwrap();
    assert_eq!(
        st.lines[0].description,
        "Zakup kartą 4246xxxxxxxx1234 Piekarnia Łańcut"
    );
    // Read as code page 852 it decodes (every byte is a character there), only with other
    // letters than the bank meant: the encoding is the person's choice, so the file is read.
    let options = Options {
        encoding: Some("ibm852"),
        ..Options::default()
    };
    let st = parse(&data("bad_mt940_not_utf8.sta"), &options).unwrap();
    assert_ne!(
        st.lines[0].description,
        "Zakup kartą 4246xxxxxxxx1234 Piekarnia Łańcut"
    );
    // An encoding name Kvits does not know is an encoding error too.
    let options = Options {
        encoding: Some("ebcdic-37"),
        ..Options::default()
    };
    assert!(matches!(
        parse(&data("bad_mt940_not_utf8.sta"), &options),
        Err(Error::Encoding(m)) if m.contains("ebcdic-37")
    ));
}

#[test]
fn csv_row_with_a_bad_date() {
    let profile: CsvProfile = serde_json::from_slice(&data("csv_lv_1257.profile.json")).unwrap();
    let options = Options {
        csv: Some(&profile),
        ..Options::default()
    };
    match parse(&data("bad_csv_date.csv"), &options) {
        Err(Error::Malformed { at, detail }) => {
            assert_eq!(at, "row 3");
            assert_eq!(
                detail,
                "the booking date “31.09.2024” is not a date in the form %d.%m.%Y"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn csv_needs_a_profile() {
    assert_eq!(refused("csv_lv_1257.csv"), Error::CsvNeedsProfile);
    let bad = CsvProfile {
        encoding: "klingon".into(),
        ..serde_json::from_slice(&data("csv_lv_1257.profile.json")).unwrap()
    };
    let options = Options {
        csv: Some(&bad),
        ..Options::default()
    };
    assert!(matches!(
        parse(&data("csv_lv_1257.csv"), &options),
        Err(Error::BadProfile(m)) if m.contains("klingon")
    ));
}

#[test]
fn size_and_emptiness() {
    let mut big = data("camt053_v02.xml");
    big.resize(MAX_STATEMENT_BYTES + 1, b' ');
    assert_eq!(
        parse(&big, &Options::default()),
        Err(Error::TooLarge {
            limit: MAX_STATEMENT_BYTES
        })
    );
    assert_eq!(parse(b"", &Options::default()), Err(Error::Empty));
    assert_eq!(
        parse(b"%PDF-1.7 not a statement", &Options::default()),
        Err(Error::UnknownFormat)
    );
    assert_eq!(
        parse(b"<html><body>Login</body></html>", &Options::default()),
        Err(Error::UnknownFormat)
    );
}

#[test]
fn a_statement_without_lines_is_fine() {
    let doc = br#"<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Acct><Id><IBAN>LV10KVIT0000000000001</IBAN></Id></Acct></Stmt></BkToCstmrStmt></Document>"#;
    let st = parse(doc, &Options::default()).unwrap();
    assert!(st.lines.is_empty());
    assert_eq!(st.account.as_deref(), Some("LV10KVIT0000000000001"));
}
