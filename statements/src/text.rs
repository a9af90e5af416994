//! Text helpers shared by every format: decoding bytes in a named encoding, collapsing
//! whitespace, joining free-text pieces, reading dates.

use chrono::NaiveDate;
use encoding_rs::Encoding;

use crate::Error;

/// The UTF-8 byte order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The encodings to suggest when a file is not UTF-8.
const ENCODINGS_TO_TRY: &str = "windows-1257 (Baltic banks), windows-1250, iso-8859-2 or ibm852 (Polish and Central European banks), windows-1252 (Western Europe)";

/// Whether `label` names IBM code page 852, the DOS code page Polish banking software still
/// writes MT940 in. The WHATWG encodings (`encoding_rs`) leave it out, so it is decoded with
/// its own table.
pub(crate) fn is_cp852(label: &str) -> bool {
    matches!(
        label.trim().to_ascii_lowercase().as_str(),
        "ibm852" | "cp852" | "852" | "csibm852" | "x-ibm852"
    )
}

/// `bytes` without a leading UTF-8 byte order mark.
pub(crate) fn strip_utf8_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
}

/// Whether `bytes` hold nothing but whitespace (after a UTF-8 byte order mark).
pub(crate) fn is_blank(bytes: &[u8]) -> bool {
    strip_utf8_bom(bytes)
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c'))
}

/// The encoding a WHATWG label names, or an [`Error::Encoding`] saying the label is unknown.
pub(crate) fn encoding_for_label(label: &str) -> Result<&'static Encoding, Error> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        Error::Encoding(format!(
            "“{}” is not an encoding Kvits knows. Use a name such as utf-8, {ENCODINGS_TO_TRY}.",
            label.trim()
        ))
    })
}

/// Decodes `bytes` to text: in the encoding `label` names, or UTF-8 when there is none. A byte
/// order mark wins over the label (it is unambiguous) and is dropped. Bytes that are not valid
/// in the encoding are an [`Error::Encoding`]; UTF-8 that merely stops in the middle of a
/// character at the very end is [`Error::Truncated`].
pub(crate) fn decode(bytes: &[u8], label: Option<&str>) -> Result<String, Error> {
    let (encoding, body) = match Encoding::for_bom(bytes) {
        Some((encoding, bom_len)) => (encoding, bytes.get(bom_len..).unwrap_or_default()),
        // Every byte is a character in code page 852: nothing to refuse.
        None if label.is_some_and(is_cp852) => {
            return Ok(oem_cp::decode_string_complete_table(
                bytes,
                &oem_cp::code_table::DECODING_TABLE_CP852,
            ));
        }
        None => match label {
            Some(label) => (encoding_for_label(label)?, bytes),
            None => (encoding_rs::UTF_8, bytes),
        },
    };
    decode_as(body, encoding)
}

/// Decodes `bytes` (no byte order mark) strictly in `encoding`.
pub(crate) fn decode_as(bytes: &[u8], encoding: &'static Encoding) -> Result<String, Error> {
    if encoding == encoding_rs::UTF_8 {
        return match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(e) if e.error_len().is_none() => Err(Error::Truncated),
            Err(e) => {
                let at = e.valid_up_to();
                Err(Error::Encoding(format!(
                    "The file is not UTF-8 text (the first wrong byte is on line {}, byte {}). Choose the file's encoding and try again: {ENCODINGS_TO_TRY}.",
                    line_of_byte(bytes, at),
                    at + 1
                )))
            }
        };
    }
    match encoding.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => Ok(text.into_owned()),
        None => Err(Error::Encoding(format!(
            "The file is not valid {} text. Choose the file's real encoding and try again: utf-8, {ENCODINGS_TO_TRY}.",
            encoding.name()
        ))),
    }
}

/// The 1-based line number of byte offset `at` in `bytes`.
pub(crate) fn line_of_byte(bytes: &[u8], at: usize) -> usize {
    let upto = bytes.get(..at).unwrap_or(bytes);
    upto.iter().filter(|b| **b == b'\n').count() + 1
}

/// `s` with runs of whitespace (and control characters) made one space, and trimmed.
pub(crate) fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The non-empty `pieces`, whitespace collapsed, each kept once, joined by single spaces.
pub(crate) fn join_pieces<'a>(pieces: impl IntoIterator<Item = &'a str>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for piece in pieces {
        let piece = collapse(piece);
        if !piece.is_empty() && !seen.contains(&piece) {
            seen.push(piece);
        }
    }
    seen.join(" ")
}

/// `s` collapsed, or `None` when nothing is left.
pub(crate) fn non_empty(s: &str) -> Option<String> {
    let s = collapse(s);
    (!s.is_empty()).then_some(s)
}

/// An ISO 8601 date (`2024-03-05`), or the date part of an ISO date-time
/// (`2024-03-05T14:03:00+02:00`, `2024-03-05T14:03:00.000Z`), taken as written.
pub(crate) fn iso_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let date = s.get(..10)?;
    let rest = s.get(10..)?;
    // A time, or a zone after a bare date (`2024-03-05+02:00`, `2024-03-05Z`), may follow.
    if !(rest.is_empty() || rest.starts_with(['T', '+', '-', 'Z'])) {
        return None;
    }
    let bytes = date.as_bytes();
    let digits_ok = bytes.iter().enumerate().all(|(i, b)| {
        if i == 4 || i == 7 {
            *b == b'-'
        } else {
            b.is_ascii_digit()
        }
    });
    if !digits_ok {
        return None;
    }
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// `s` cut to at most `max` characters, for quoting in error messages.
pub(crate) fn quote(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        format!("“{s}”")
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("“{cut}…”")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn collapses_whitespace() {
        assert_eq!(collapse("  a \t b\r\n\n c  "), "a b c");
        assert_eq!(collapse(""), "");
        assert_eq!(collapse("a\u{a0}b"), "a b");
    }

    #[test]
    fn joins_pieces_once() {
        assert_eq!(
            join_pieces(["RIMI", "  ", "RIMI", "Riga\n 12"]),
            "RIMI Riga 12"
        );
    }

    #[test]
    fn reads_iso_dates() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 5);
        assert_eq!(iso_date("2024-03-05"), d);
        assert_eq!(iso_date(" 2024-03-05T14:03:00+02:00 "), d);
        assert_eq!(iso_date("2024-03-05T14:03:00.123Z"), d);
        assert_eq!(iso_date("2024-03-05+02:00"), d);
        assert_eq!(iso_date("2024-02-30"), None);
        assert_eq!(iso_date("05.03.2024"), None);
        assert_eq!(iso_date("2024-03-0"), None);
        assert_eq!(iso_date("2024-03-05x"), None);
        assert_eq!(iso_date("+024-03-05"), None);
        assert_eq!(iso_date("ā024-03-05"), None);
    }

    #[test]
    fn code_page_852_is_read_for_polish_files() {
        let polish = "Zażółć gęślą jaźń ŁÓDŹ";
        let bytes =
            oem_cp::encode_string_checked(polish, &oem_cp::code_table::ENCODING_TABLE_CP852)
                .expect("every letter is in CP852");
        assert_ne!(bytes, polish.as_bytes());
        assert_eq!(decode(&bytes, Some("ibm852")).as_deref(), Ok(polish));
        assert_eq!(decode(&bytes, Some(" CP852 ")).as_deref(), Ok(polish));
        assert!(matches!(decode(&bytes, None), Err(Error::Encoding(_))));
    }

    #[test]
    fn decodes_strictly() {
        assert_eq!(decode(b"\xEF\xBB\xBFabc", None), Ok("abc".into()));
        assert_eq!(decode(b"a\xE2\x82", None), Err(Error::Truncated));
        assert!(
            matches!(decode(b"a\n\xB3b", None), Err(Error::Encoding(m)) if m.contains("line 2"))
        );
        assert_eq!(decode(b"\xB3", Some("windows-1250")), Ok("ł".into()));
        assert_eq!(decode(b"\xE0", Some("windows-1257")), Ok("ą".into()));
        assert!(matches!(
            decode(b"x", Some("klingon")),
            Err(Error::Encoding(_))
        ));
        // A byte order mark wins over the label.
        assert_eq!(
            decode(b"\xEF\xBB\xBF\xC5\x82", Some("windows-1250")),
            Ok("ł".into())
        );
        // windows-1257 leaves some bytes unassigned.
        assert!(matches!(
            decode(b"\xA1", Some("windows-1257")),
            Err(Error::Encoding(_))
        ));
    }

    #[test]
    fn quotes_short() {
        assert_eq!(quote("abc", 5), "“abc”");
        assert_eq!(quote("abcdef", 3), "“abc…”");
    }
}
