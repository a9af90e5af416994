//! `parse` and `detect` return on every input, under every option: arbitrary bytes, the sample
//! files cut short or with bytes changed, spliced or repeated, and soups of the formats' own
//! tokens. When a file is read anyway, its lines keep the promises of the `Line` type.
#![allow(clippy::unwrap_used)]

use kvits_statements::{CsvColumns, CsvProfile, Format, Options, Statement, detect, parse};
use proptest::prelude::*;

const SAMPLES: [&str; 19] = [
    "camt053_v02.xml",
    "camt053_v04.xml",
    "camt053_v08.xml",
    "camt052_v08.xml",
    "camt054_v02.xml",
    "fidavista_utf8.xml",
    "fidavista_1257.xml",
    "mt940_utf8.sta",
    "mt940_1250.sta",
    "csv_lv_1257.csv",
    "bad_camt_truncated.xml",
    "bad_billion_laughs.xml",
    "bad_xxe.xml",
    "bad_camt_unknown_version.xml",
    "bad_camt_decimals.xml",
    "bad_mt940_no_62f.sta",
    "bad_mt940_not_utf8.sta",
    "bad_csv_date.csv",
    "csv_lv_1257.profile.json",
];

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn profiles() -> Vec<CsvProfile> {
    let lv: CsvProfile = serde_json::from_slice(&data("csv_lv_1257.profile.json")).unwrap();
    let split = CsvProfile {
        name: "Split".into(),
        delimiter: b',',
        encoding: String::new(),
        header_rows: 0,
        date_format: "%Y-%m-%d %H:%M".into(),
        decimal_mark: '.',
        columns: CsvColumns {
            booking_date: 0,
            transaction_date: Some(1),
            debit: Some(2),
            credit: Some(3),
            default_currency: Some("JPY".into()),
            card: Some(4),
            description: Some(5),
            ..CsvColumns::default()
        },
    };
    vec![lv, split]
}

/// Every combination of the options that change how a file is read.
fn all_options(profiles: &[CsvProfile]) -> Vec<Options<'_>> {
    let mut out = Vec::new();
    let formats = std::iter::once(None).chain(Format::ALL.into_iter().map(Some));
    for format in formats {
        for csv in std::iter::once(None).chain(profiles.iter().map(Some)) {
            for encoding in [
                None,
                Some("windows-1250"),
                Some("windows-1257"),
                Some("no-such"),
            ] {
                out.push(Options {
                    format,
                    csv,
                    encoding,
                });
            }
        }
    }
    out
}

/// The promises a read statement keeps.
fn check(st: &Statement) {
    for line in &st.lines {
        assert!(line.amount_minor >= 0, "{line:?}");
        assert!(
            kvits_protocol::currency_exponent(&line.currency).is_some(),
            "{line:?}"
        );
        if let Some((minor, ccy)) = &line.original {
            assert!(*minor >= 0);
            assert!(kvits_protocol::currency_exponent(ccy).is_some());
            assert_ne!(ccy, &line.currency);
        }
        if let Some(card) = &line.card {
            assert!(
                card.bytes().all(|b| b == b'*' || b.is_ascii_digit()),
                "{card}"
            );
            assert!(line.last_four().is_some(), "{card}");
            // Never a full card number.
            assert!(card.contains('*'), "{card}");
        }
        assert_eq!(line.description, line.description.trim());
        assert!(!line.description.contains("  "));
    }
}

fn run_all(bytes: &[u8], options: &[Options<'_>]) {
    let _ = detect(bytes);
    for o in options {
        if let Ok(st) = parse(bytes, o) {
            check(&st);
        }
    }
}

fn sample() -> impl Strategy<Value = Vec<u8>> {
    (0..SAMPLES.len()).prop_map(|i| data(SAMPLES[i]))
}

/// A sample changed in one of several ways.
fn damaged_sample() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Cut short.
        (sample(), any::<prop::sample::Index>()).prop_map(|(bytes, at)| {
            let cut = at.index(bytes.len() + 1);
            bytes[..cut].to_vec()
        }),
        // Bytes overwritten.
        (
            sample(),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
        )
            .prop_map(|(mut bytes, changes)| {
                for (at, b) in changes {
                    let i = at.index(bytes.len());
                    bytes[i] = b;
                }
                bytes
            }),
        // A stretch removed or repeated.
        (
            sample(),
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            any::<bool>()
        )
            .prop_map(|(bytes, a, b, repeat)| {
                let (mut x, mut y) = (a.index(bytes.len()), b.index(bytes.len()));
                if x > y {
                    std::mem::swap(&mut x, &mut y);
                }
                let mut out = bytes[..y].to_vec();
                if repeat {
                    out.extend_from_slice(&bytes[x..y]);
                } else {
                    out.truncate(x);
                }
                out.extend_from_slice(&bytes[y..]);
                out
            }),
    ]
}

/// Pieces of the formats themselves, to reach deeper than random bytes do.
const TOKENS: [&str; 48] = [
    "<?xml version=\"1.0\" encoding=\"windows-1257\"?>",
    "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">",
    "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\">",
    "<FIDAVISTA xmlns=\"http://www.bankasoc.lv/fidavista/fidavista0101.xsd\">",
    "<BkToCstmrStmt>",
    "<BkToCstmrDbtCdtNtfctn>",
    "<Stmt>",
    "<Ntfctn>",
    "<Ntry>",
    "</Ntry>",
    "<Amt Ccy=\"EUR\">",
    "<Amt Ccy=\"JPY\">",
    "12.34",
    "99999999999999999999",
    "</Amt>",
    "<CdtDbtInd>DBIT</CdtDbtInd>",
    "<Sts><Cd>BOOK</Cd></Sts>",
    "<BookgDt><Dt>2024-02-29</Dt></BookgDt>",
    "<NtryDtls><TxDtls>",
    "</TxDtls></NtryDtls>",
    "<PAN>5167930012344821</PAN>",
    "<Ustrd>KARTE ****1234</Ustrd>",
    "&amp;",
    "&#x0;",
    "&bogus;",
    "<![CDATA[x]]>",
    "<!DOCTYPE x>",
    "<Statement><AccountSet><CcyStmt><Ccy>EUR</Ccy><TrxSet>",
    "<CorD>D</CorD><AccAmt>1.5</AccAmt><BookDate>2024-01-01</BookDate>",
    "</TrxSet></CcyStmt></AccountSet></Statement>",
    "{1:F01X}{2:O940}{4:",
    ":20:REF",
    ":25:/PL61",
    ":60F:C240101EUR1,00",
    ":60M:D991231JPY5,",
    ":61:2412310102D1,00NMSCNONREF//B",
    ":61:240229RC12,NTRF",
    ":86:073~00X~20Zakup~32NAME",
    ":86:<20",
    ":62F:C240101EUR1,00",
    "-}",
    "\r\n",
    "\n",
    ";",
    ",",
    "\u{a0}",
    "ą",
    "\u{feff}",
];

fn token_soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0..TOKENS.len(), 0..60)
        .prop_map(|picks| picks.into_iter().flat_map(|i| TOKENS[i].bytes()).collect())
}

// 256 cases each by default; set PROPTEST_CASES for a longer run.
proptest! {
    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let profiles = profiles();
        run_all(&bytes, &all_options(&profiles));
    }

    #[test]
    fn token_soups(bytes in token_soup()) {
        let profiles = profiles();
        run_all(&bytes, &all_options(&profiles));
    }

    #[test]
    fn arbitrary_profiles(
        delimiter in any::<u8>(),
        encoding in prop_oneof![Just(String::new()), Just("windows-1257".to_owned()), ".{0,12}"],
        header_rows in 0u32..4,
        date_format in prop_oneof![Just("%d.%m.%Y".to_owned()), "%[a-zA-Z%+.:#0-9-]{0,3}.{0,8}"],
        decimal_mark in any::<char>(),
        columns in prop::collection::vec(prop::option::of(prop_oneof![0usize..12, Just(usize::MAX)]), 16),
        currency in prop::option::of("[A-Z]{3}|.{0,4}"),
        damaged in damaged_sample(),
    ) {
        let column = |i: usize| columns.get(i).copied().flatten();
        let profile = CsvProfile {
            name: "Fuzz".into(),
            delimiter,
            encoding,
            header_rows,
            date_format,
            decimal_mark,
            columns: CsvColumns {
                booking_date: column(0).unwrap_or(0),
                value_date: column(1),
                transaction_date: column(2),
                amount: column(3),
                debit: column(4),
                credit: column(5),
                direction: column(6),
                currency: column(7),
                default_currency: currency,
                original_amount: column(8),
                original_currency: column(9),
                counterparty: column(10),
                description: column(11),
                card: column(12),
                reference: column(13),
                account: column(14),
            },
        };
        let _ = kvits_statements::validate_profile(&profile);
        let options = Options { csv: Some(&profile), ..Options::default() };
        for bytes in [data("csv_lv_1257.csv"), data("bad_csv_date.csv"), damaged] {
            if let Ok(st) = parse(&bytes, &options) {
                check(&st);
            }
        }
    }

    #[test]
    fn damaged_samples(bytes in damaged_sample(), pick in any::<prop::sample::Index>()) {
        let profiles = profiles();
        let options = all_options(&profiles);
        let _ = detect(&bytes);
        // Detection, then one forced reading chosen at random: all of them would be slow.
        if let Ok(st) = parse(&bytes, &Options::default()) {
            check(&st);
        }
        if let Ok(st) = parse(&bytes, &options[pick.index(options.len())]) {
            check(&st);
        }
    }
}

#[test]
fn every_sample_under_every_option() {
    let profiles = profiles();
    let options = all_options(&profiles);
    for name in SAMPLES {
        run_all(&data(name), &options);
    }
}
