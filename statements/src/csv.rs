//! CSV exports, read through a profile the user saved for the bank.
//!
//! Every bank's CSV is different, so nothing is guessed: the [`CsvProfile`] says which column
//! holds what, how dates and amounts are written and what encoding the file is in. The lines
//! before the data (`header_rows`) and blank rows are skipped; every other row must read cleanly
//! or the whole file is refused, naming the row by its line number. Error messages count columns
//! from 1, as a spreadsheet shows them (the profile's indexes count from 0).

use std::fmt::Write as _;

use chrono::{NaiveDate, NaiveDateTime};
use kvits_protocol::{CsvColumns, CsvProfile};

use crate::amount::{self, Style};
use crate::text;
use crate::{Direction, Error, Format, Line, Statement, card};

/// The most columns a profile may refer to.
const MAX_COLUMNS: usize = 1000;

/// Every column index a profile names.
fn columns_of(c: &CsvColumns) -> [Option<usize>; 15] {
    [
        Some(c.booking_date),
        c.value_date,
        c.transaction_date,
        c.amount,
        c.debit,
        c.credit,
        c.direction,
        c.currency,
        c.original_amount,
        c.original_currency,
        c.counterparty,
        c.description,
        c.card,
        c.reference,
        c.account,
    ]
}

/// Checks that a profile can read a file (see [`crate::validate_profile`]).
pub(crate) fn validate(profile: &CsvProfile) -> Result<(), Error> {
    let bad = |why: String| Err(Error::BadProfile(why));
    if profile.name.trim().is_empty() {
        return bad("it has no name".to_owned());
    }
    if !matches!(profile.delimiter, b',' | b';' | b'\t' | b'|') {
        return bad(format!(
            "the separator {} is not one of , ; | or tab",
            text::quote(
                &char::from(profile.delimiter).escape_default().to_string(),
                8
            )
        ));
    }
    if !profile.encoding.trim().is_empty()
        && !text::is_cp852(&profile.encoding)
        && encoding_rs::Encoding::for_label(profile.encoding.trim().as_bytes()).is_none()
    {
        return bad(format!(
            "{} is not an encoding Kvits knows (use a name such as utf-8, windows-1257, windows-1250, iso-8859-2 or ibm852)",
            text::quote(&profile.encoding, 30)
        ));
    }
    check_date_format(&profile.date_format).map_err(Error::BadProfile)?;
    if profile.decimal_mark != '.' && profile.decimal_mark != ',' {
        return bad(format!(
            "the decimal mark {} is neither . nor ,",
            text::quote(&profile.decimal_mark.to_string(), 4)
        ));
    }
    let c = &profile.columns;
    if let Some(far) = columns_of(c)
        .into_iter()
        .flatten()
        .find(|i| *i >= MAX_COLUMNS)
    {
        return bad(format!(
            "column {} is beyond the {MAX_COLUMNS} columns a CSV statement may have",
            far.saturating_add(1)
        ));
    }
    match (c.amount, c.debit, c.credit) {
        (Some(_), None, None) => {}
        (None, Some(_), Some(_)) => {
            if c.direction.is_some() {
                return bad(
                    "a direction column only goes with a single amount column, not with debit and credit columns"
                        .to_owned(),
                );
            }
        }
        (None, None, None) => {
            return bad("it names no amount column, nor a debit and a credit column".to_owned());
        }
        (Some(_), _, _) => {
            return bad(
                "it names an amount column and debit/credit columns; choose one way".to_owned(),
            );
        }
        (None, _, _) => {
            return bad("debit and credit columns go together; name both".to_owned());
        }
    }
    match (&c.currency, &c.default_currency) {
        (None, None) => {
            return bad("it names no currency column and no default currency".to_owned());
        }
        (_, Some(code)) => {
            amount::currency(code)
                .map_err(|e| Error::BadProfile(format!("default currency: {e}")))?;
        }
        (Some(_), None) => {}
    }
    if c.original_amount.is_some() != c.original_currency.is_some() {
        return bad(
            "the original amount and the original currency columns go together; name both or neither"
                .to_owned(),
        );
    }
    Ok(())
}

/// Checks a strftime date format by writing a date with it and reading the date back.
fn check_date_format(format: &str) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    let shown = text::quote(format, 30);
    if format.trim().is_empty() {
        return Err("the date format is empty (use e.g. %d.%m.%Y)".to_owned());
    }
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(format!(
            "the date format {shown} is not a valid strftime format"
        ));
    }
    let sample = NaiveDate::from_ymd_opt(2024, 11, 23)
        .and_then(|d| d.and_hms_opt(13, 45, 56))
        .ok_or_else(|| "internal: no sample date".to_owned())?;
    let mut written = String::new();
    if write!(written, "{}", sample.format(format)).is_err() {
        return Err(format!(
            "the date format {shown} asks for something a date does not have (a time zone?)"
        ));
    }
    if parse_date(&written, format) != Some(sample.date()) {
        return Err(format!(
            "the date format {shown} does not give the day, month and year (use e.g. %d.%m.%Y)"
        ));
    }
    Ok(())
}

/// A date written in `format` (which may include a time).
fn parse_date(text: &str, format: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, format).ok().or_else(|| {
        NaiveDateTime::parse_from_str(text, format)
            .ok()
            .map(|dt| dt.date())
    })
}

/// Whether `bytes` look like delimited text (for a clearer error when no profile was given): the
/// first line holds at least two `;`, `,` or tab separators and the next lines hold it too.
pub(crate) fn looks_like_csv(bytes: &[u8]) -> bool {
    let head = text::strip_utf8_bom(bytes);
    let head = String::from_utf8_lossy(head.get(..head.len().min(8 * 1024)).unwrap_or(head));
    let lines: Vec<&str> = head
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(5)
        .collect();
    if lines.len() < 2 {
        return false;
    }
    [';', ',', '\t'].iter().any(|sep| {
        lines
            .first()
            .is_some_and(|first| first.matches(*sep).count() >= 2)
            && lines.iter().all(|l| l.contains(*sep))
    })
}

/// Reads a CSV file with `profile`; `fallback_encoding` is used when the profile names none.
pub(crate) fn parse(
    bytes: &[u8],
    profile: &CsvProfile,
    fallback_encoding: Option<&str>,
) -> Result<Statement, Error> {
    validate(profile)?;
    let label = Some(profile.encoding.trim())
        .filter(|e| !e.is_empty())
        .or(fallback_encoding);
    let content = text::decode(bytes, label)?;
    // The header rows are lines as a text editor shows them, blank ones included.
    let mut skipped = 0usize;
    let mut body = content.as_str();
    while skipped < usize::try_from(profile.header_rows).unwrap_or(usize::MAX) {
        match body.find('\n') {
            Some(end) => {
                body = body.get(end + 1..).unwrap_or_default();
                skipped += 1;
            }
            None => {
                body = "";
                break;
            }
        }
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(profile.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes());
    let mut lines = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let row_at = |position: Option<&::csv::Position>| match position {
            Some(p) => format!(
                "row {}",
                skipped + line_of_record(body.as_bytes(), p.byte())
            ),
            None => format!("row {}", skipped + index + 1),
        };
        let record = record.map_err(|e| {
            Error::malformed(
                row_at(e.position()),
                format!("the row cannot be read ({e})"),
            )
        })?;
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        let line =
            row(&record, profile).map_err(|d| Error::malformed(row_at(record.position()), d))?;
        lines.push(line);
    }
    let account = crate::common_account(lines.iter().map(|l: &Line| l.account.as_str()));
    Ok(Statement {
        format: Format::Csv,
        version: format!("csv {}", profile.name.trim()),
        account,
        from: None,
        to: None,
        lines,
    })
}

/// The 1-based line a record starts on, from the byte offset the csv crate gives for it. That
/// offset can point at the line end before the record (with CRLF line ends the reader stops
/// after the CR), and the crate's own line count is off for the same reason, so line ends at the
/// offset are stepped over first.
fn line_of_record(content: &[u8], offset: u64) -> usize {
    let mut at = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(content.len());
    while content.get(at).is_some_and(|b| *b == b'\r' || *b == b'\n') {
        at += 1;
    }
    text::line_of_byte(content, at)
}

/// The text of an optional column on a row, trimmed; `None` when the column is not mapped, the
/// row is short, or the cell is empty.
fn cell(record: &::csv::StringRecord, column: Option<usize>) -> Option<&str> {
    let value = record.get(column?)?.trim();
    (!value.is_empty()).then_some(value)
}

/// The text of a required column, or a message naming it.
fn required<'r>(
    record: &'r ::csv::StringRecord,
    column: usize,
    what: &str,
) -> Result<&'r str, String> {
    cell(record, Some(column))
        .ok_or_else(|| format!("the {what} (column {}) is empty", column.saturating_add(1)))
}

/// One data row as a line.
fn row(record: &::csv::StringRecord, profile: &CsvProfile) -> Result<Line, String> {
    let c = &profile.columns;
    let date = |column: usize, what: &str| -> Result<NaiveDate, String> {
        let t = required(record, column, what)?;
        parse_date(t, &profile.date_format).ok_or_else(|| {
            format!(
                "the {what} {} is not a date in the form {}",
                text::quote(t, 30),
                profile.date_format
            )
        })
    };
    let optional_date = |column: Option<usize>, what: &str| -> Result<Option<NaiveDate>, String> {
        match (column, cell(record, column)) {
            (Some(col), Some(_)) => date(col, what).map(Some),
            _ => Ok(None),
        }
    };
    let booking_date = date(c.booking_date, "booking date")?;
    let value_date = optional_date(c.value_date, "value date")?;
    let transaction_date = optional_date(c.transaction_date, "transaction date")?;

    let currency = match cell(record, c.currency).or(c.default_currency.as_deref()) {
        Some(code) => amount::currency(code)?.0,
        None => {
            return Err("the currency is empty and the profile has no default currency".to_owned());
        }
    };
    let style = Style {
        mark: profile.decimal_mark,
        thousands: true,
        signed: true,
    };
    let read = |column: usize, text: &str, what: &str| {
        amount::parse(text, &currency, style)
            .map_err(|e| format!("{what} (column {}): {e}", column.saturating_add(1)))
    };
    let (amount_minor, direction) = match (c.amount, c.debit, c.credit) {
        (Some(col), _, _) => {
            let a = read(col, required(record, col, "amount")?, "amount")?;
            let direction = match c.direction {
                Some(dcol) => direction_of(required(record, dcol, "debit/credit mark")?)
                    .ok_or_else(|| {
                        format!(
                            "the debit/credit mark (column {}) {} is not D or C",
                            dcol.saturating_add(1),
                            text::quote(cell(record, Some(dcol)).unwrap_or_default(), 20)
                        )
                    })?,
                None if a.negative => Direction::Debit,
                None => Direction::Credit,
            };
            (a.minor, direction)
        }
        (None, Some(dcol), Some(ccol)) => {
            let debit = cell(record, Some(dcol))
                .map(|t| read(dcol, t, "debit"))
                .transpose()?
                .filter(|a| a.minor != 0);
            let credit = cell(record, Some(ccol))
                .map(|t| read(ccol, t, "credit"))
                .transpose()?
                .filter(|a| a.minor != 0);
            match (debit, credit) {
                (Some(d), None) => (d.minor, Direction::Debit),
                (None, Some(c)) => (c.minor, Direction::Credit),
                (None, None) => {
                    return Err(format!(
                        "both the debit (column {}) and the credit (column {}) are empty",
                        dcol.saturating_add(1),
                        ccol.saturating_add(1)
                    ));
                }
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "both the debit (column {}) and the credit (column {}) hold an amount",
                        dcol.saturating_add(1),
                        ccol.saturating_add(1)
                    ));
                }
            }
        }
        _ => return Err("the profile names no amount column".to_owned()),
    };

    let original = match (
        cell(record, c.original_amount),
        cell(record, c.original_currency),
    ) {
        (Some(amt), Some(code)) => {
            let (code, _) =
                amount::currency(code).map_err(|e| format!("original currency: {e}"))?;
            if code == currency {
                None
            } else {
                let a = amount::parse(amt, &code, style)
                    .map_err(|e| format!("original amount: {e}"))?;
                Some((a.minor, code))
            }
        }
        _ => None,
    };
    let description = text::collapse(cell(record, c.description).unwrap_or_default());
    let card = match cell(record, c.card) {
        Some(value) => card::from_field(value).or_else(|| card::find_in_text(value)),
        None => None,
    }
    .or_else(|| card::find_in_text(&description));
    Ok(Line {
        account: cell(record, c.account)
            .map(text::collapse)
            .unwrap_or_default(),
        booking_date,
        value_date,
        transaction_date,
        direction,
        amount_minor,
        currency,
        original,
        counterparty: cell(record, c.counterparty).and_then(text::non_empty),
        description,
        card,
        bank_ref: cell(record, c.reference).and_then(text::non_empty),
    })
}

/// The direction a debit/credit mark names, in the words banks use.
fn direction_of(mark: &str) -> Option<Direction> {
    match mark.trim().to_uppercase().as_str() {
        "D" | "DR" | "DB" | "DBIT" | "DEBIT" | "DEBET" | "DEBETS" | "-" => Some(Direction::Debit),
        "C" | "CR" | "K" | "KR" | "CRDT" | "CREDIT" | "KREDIT" | "KREDĪTS" | "KREDITS" | "+" => {
            Some(Direction::Credit)
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn profile() -> CsvProfile {
        CsvProfile {
            name: "Test".into(),
            delimiter: b';',
            encoding: "utf-8".into(),
            header_rows: 1,
            date_format: "%d.%m.%Y".into(),
            decimal_mark: ',',
            columns: CsvColumns {
                booking_date: 0,
                amount: Some(1),
                default_currency: Some("EUR".into()),
                description: Some(2),
                ..CsvColumns::default()
            },
        }
    }

    fn bad_profile(change: impl FnOnce(&mut CsvProfile)) -> String {
        let mut p = profile();
        change(&mut p);
        match validate(&p) {
            Err(Error::BadProfile(why)) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn validation_explains() {
        assert_eq!(validate(&profile()), Ok(()));
        assert!(bad_profile(|p| p.name = " ".into()).contains("no name"));
        assert!(bad_profile(|p| p.delimiter = b'x').contains("separator"));
        assert!(bad_profile(|p| p.encoding = "ebcdic-37".into()).contains("ebcdic-37"));
        let mut cp852 = profile();
        cp852.encoding = "ibm852".into();
        assert_eq!(
            validate(&cp852),
            Ok(()),
            "code page 852 is read by its own table"
        );
        assert!(bad_profile(|p| p.date_format = "%Q".into()).contains("not a valid"));
        assert!(bad_profile(|p| p.date_format = "%d.%m".into()).contains("day, month and year"));
        assert!(bad_profile(|p| p.date_format = "%d.%m.%Y %z".into()).contains("time zone"));
        assert!(bad_profile(|p| p.date_format = String::new()).contains("empty"));
        assert!(bad_profile(|p| p.decimal_mark = ';').contains("decimal mark"));
        assert!(bad_profile(|p| p.columns.amount = None).contains("no amount column"));
        assert!(bad_profile(|p| p.columns.debit = Some(3)).contains("choose one"));
        assert!(
            bad_profile(|p| {
                p.columns.amount = None;
                p.columns.debit = Some(3);
            })
            .contains("name both")
        );
        assert!(bad_profile(|p| p.columns.default_currency = None).contains("no currency"));
        assert!(
            bad_profile(|p| p.columns.default_currency = Some("EURO".into())).contains("ISO 4217")
        );
        assert!(bad_profile(|p| p.columns.original_amount = Some(5)).contains("go together"));
        assert!(bad_profile(|p| p.columns.card = Some(usize::MAX)).contains("beyond"));
        assert!(
            bad_profile(|p| {
                p.columns.amount = None;
                p.columns.debit = Some(3);
                p.columns.credit = Some(4);
                p.columns.direction = Some(5);
            })
            .contains("direction column")
        );
        let mut with_time = profile();
        with_time.date_format = "%d.%m.%Y %H:%M".into();
        assert_eq!(validate(&with_time), Ok(()));
    }

    #[test]
    fn rows_read_and_fail_by_row() {
        let p = profile();
        let s = parse(
            "Datums;Summa;Apraksts\n05.03.2024;-1 234,50;Pirkums ****1234\n\n06.03.2024;+2,00;Atmaksa\n;;\n".as_bytes(),
            &p,
            None,
        )
        .unwrap();
        assert_eq!(s.version, "csv Test");
        assert_eq!(s.lines.len(), 2);
        assert_eq!(s.lines[0].amount_minor, 123450);
        assert_eq!(s.lines[0].direction, Direction::Debit);
        assert_eq!(s.lines[0].card.as_deref(), Some("****1234"));
        assert_eq!(s.lines[1].direction, Direction::Credit);
        assert_eq!(s.account, None);
        let err = parse(b"h\n05.03.2024;1,00;x\n5/3/2024;1,00;y\n", &p, None).unwrap_err();
        assert!(
            matches!(&err, Error::Malformed { at, detail } if at == "row 3" && detail.contains("not a date")),
            "{err:?}"
        );
        let err = parse(b"h\n05.03.2024;;x\n", &p, None).unwrap_err();
        assert!(
            matches!(&err, Error::Malformed { detail, .. } if detail.contains("amount (column 2) is empty")),
            "{err:?}"
        );
        let err = parse(b"h\n05.03.2024\n", &p, None).unwrap_err();
        assert!(
            matches!(&err, Error::Malformed { detail, .. } if detail.contains("column 2")),
            "{err:?}"
        );
        let err = parse(b"h\n05.03.2024;1,005;x\n", &p, None).unwrap_err();
        assert!(
            matches!(&err, Error::Malformed { detail, .. } if detail.contains("3 decimals")),
            "{err:?}"
        );
    }

    #[test]
    fn debit_credit_and_direction_columns() {
        let mut p = profile();
        p.columns.amount = None;
        p.columns.debit = Some(1);
        p.columns.credit = Some(2);
        p.columns.description = None;
        let s = parse(b"h\n05.03.2024;5,00;\n05.03.2024;0,00;7,00\n", &p, None).unwrap();
        assert_eq!(
            s.lines
                .iter()
                .map(|l| (l.amount_minor, l.direction))
                .collect::<Vec<_>>(),
            vec![(500, Direction::Debit), (700, Direction::Credit)]
        );
        assert!(parse(b"h\n05.03.2024;5,00;1,00\n", &p, None).is_err());
        assert!(parse(b"h\n05.03.2024;;\n", &p, None).is_err());

        let mut p = profile();
        p.columns.direction = Some(2);
        p.columns.description = None;
        let s = parse(b"h\n05.03.2024;5,00;D\n05.03.2024;5,00;Kredits\n", &p, None).unwrap();
        assert_eq!(s.lines[0].direction, Direction::Debit);
        assert_eq!(s.lines[1].direction, Direction::Credit);
        assert!(parse(b"h\n05.03.2024;5,00;Q\n", &p, None).is_err());
    }

    #[test]
    fn header_rows_are_lines() {
        let mut p = profile();
        p.header_rows = 3;
        let file = b"Konta izraksts\n\nDatums;Summa;Apraksts\n05.03.2024;1,00;a\n06.03.2024;x;b\n";
        match parse(file, &p, None) {
            Err(Error::Malformed { at, .. }) => assert_eq!(at, "row 5"),
            other => panic!("{other:?}"),
        }
        p.header_rows = 9;
        assert_eq!(parse(file, &p, None).unwrap().lines, Vec::new());
    }

    #[test]
    fn rows_are_named_by_their_line() {
        let mut p = profile();
        p.header_rows = 0;
        for (file, want) in [
            (&b"05.03.2024;1,00;a\r\nX;1,00;b\r\n"[..], "row 2"),
            (b"05.03.2024;1,00;a\n\n\nX;1,00;b\n", "row 4"),
            (b"05.03.2024;1,00;\"a\r\nb\"\r\nX;1,00;c\r\n", "row 3"),
            (b"X;1,00;a", "row 1"),
        ] {
            match parse(file, &p, None) {
                Err(Error::Malformed { at, .. }) => assert_eq!(at, want),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn direction_words() {
        assert_eq!(direction_of(" debit "), Some(Direction::Debit));
        assert_eq!(direction_of("CR"), Some(Direction::Credit));
        assert_eq!(direction_of("Kredīts"), Some(Direction::Credit));
        assert_eq!(direction_of("-"), Some(Direction::Debit));
        assert_eq!(direction_of("x"), None);
    }

    #[test]
    fn csv_sniffing() {
        assert!(looks_like_csv(b"a;b;c\n1;2;3\n"));
        assert!(looks_like_csv(b"a,b,c\n1,\"2,5\",3\n"));
        assert!(!looks_like_csv(b"a,b\n1,2\n"));
        assert!(!looks_like_csv(b"just some text\nmore text\n"));
        assert!(!looks_like_csv(b"a;b\n"));
    }
}
