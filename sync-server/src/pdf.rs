//! PDF attachments: what the server checks before it stores one.
//!
//! An accounting firm sends its clients statements and invoices as PDFs. The server does not
//! render them (a client's PDF viewer does); it checks that the bytes are a whole PDF file, so
//! that a file cut short on the way, or something else named `.pdf`, is refused at upload with
//! a clear reason rather than reaching a client who cannot open it:
//!
//! - the header `%PDF-M.N` with version 1.0–1.7 or 2.0 (ISO 32000);
//! - a `startxref` keyword followed by a byte offset inside the file, and an `%%EOF` marker,
//!   both in the last kilobyte (where readers look for them; a file cut short has neither).
//!
//! Readers repair many other defects (a wrong cross-reference offset, a damaged table), so
//! those are left to them: refusing a statement a reader would open helps nobody.

/// How every PDF starts.
pub const MAGIC: &[u8] = b"%PDF-";

/// Where the end-of-file marker and the cross-reference offset must be: the last kilobyte, as
/// readers search it.
const TAIL: usize = 1024;

/// Why an upload that starts like a PDF is not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    #[error("the file starts like a PDF but its header is not %PDF-1.0 … %PDF-1.7 or %PDF-2.0")]
    Header,
    #[error("the PDF is cut short: it does not end with an end-of-file marker (%%EOF)")]
    Truncated,
    #[error("the PDF has no cross-reference offset (startxref) pointing inside the file")]
    NoCrossReference,
}

impl PdfError {
    /// A stable code for `details.reason`.
    pub fn code(&self) -> &'static str {
        match self {
            PdfError::Header => "pdf_header",
            PdfError::Truncated => "truncated",
            PdfError::NoCrossReference => "no_cross_reference",
        }
    }
}

/// Checks that `data` is a whole PDF file (see the module's doc for what that means here).
pub fn check(data: &[u8]) -> Result<(), PdfError> {
    let version = data
        .get(MAGIC.len()..MAGIC.len() + 3)
        .ok_or(PdfError::Header)?;
    let known = matches!(version, [b'1', b'.', b'0'..=b'7'] | b"2.0");
    if !data.starts_with(MAGIC) || !known {
        return Err(PdfError::Header);
    }
    let tail = &data[data.len().saturating_sub(TAIL)..];
    let eof = rfind(tail, b"%%EOF").ok_or(PdfError::Truncated)?;
    // Only line ends and spaces may follow the last marker.
    if !tail[eof + 5..].iter().all(u8::is_ascii_whitespace) {
        return Err(PdfError::Truncated);
    }
    let startxref = rfind(&tail[..eof], b"startxref").ok_or(PdfError::NoCrossReference)?;
    let digits: Vec<u8> = tail[startxref + 9..eof]
        .iter()
        .copied()
        .skip_while(u8::is_ascii_whitespace)
        .take_while(u8::is_ascii_digit)
        .collect();
    let offset: usize = std::str::from_utf8(&digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or(PdfError::NoCrossReference)?;
    if offset >= data.len() {
        return Err(PdfError::NoCrossReference);
    }
    Ok(())
}

/// Where `needle` last occurs in `haystack`.
fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_page() -> Vec<u8> {
        kvits_testkit::pdf::one_page("")
    }

    #[test]
    fn a_whole_pdf_passes() {
        assert_eq!(check(&one_page()), Ok(()));
        // Version 2.0, and CR LF line ends after the marker.
        let mut v2 = one_page();
        v2[5..8].copy_from_slice(b"2.0");
        v2.pop();
        v2.extend_from_slice(b"\r\n");
        assert_eq!(check(&v2), Ok(()));
    }

    #[test]
    fn a_pdf_cut_anywhere_is_refused() {
        let whole = one_page();
        for cut in 0..whole.len() - 1 {
            let e = check(&whole[..cut]).expect_err("cut short");
            assert!(
                matches!(
                    e,
                    PdfError::Header | PdfError::Truncated | PdfError::NoCrossReference
                ),
                "cut at {cut}: {e:?}"
            );
        }
    }

    #[test]
    fn other_files_and_bad_trailers_are_refused() {
        assert_eq!(check(b"%PDF-9.9\n%%EOF\n"), Err(PdfError::Header));
        assert_eq!(check(b"%PDF-"), Err(PdfError::Header));
        assert_eq!(check(b"%PDX-1.4 ..."), Err(PdfError::Header));
        let mut junk_after = one_page();
        junk_after.extend_from_slice(b"<html>not a pdf</html>");
        assert_eq!(check(&junk_after), Err(PdfError::Truncated));
        let no_xref = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
        assert_eq!(check(no_xref), Err(PdfError::NoCrossReference));
        let far = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\nstartxref\n99999\n%%EOF\n";
        assert_eq!(check(far), Err(PdfError::NoCrossReference));
        // A marker only in the first kilobyte of a longer file: not where readers look.
        let mut early = one_page();
        early.extend(std::iter::repeat_n(b' ', TAIL).chain(b"x".iter().copied()));
        assert_eq!(check(&early), Err(PdfError::Truncated));
    }

    #[test]
    fn error_codes_are_stable_and_messages_say_what_is_wrong() {
        for (e, code, word) in [
            (PdfError::Header, "pdf_header", "header"),
            (PdfError::Truncated, "truncated", "cut short"),
            (
                PdfError::NoCrossReference,
                "no_cross_reference",
                "startxref",
            ),
        ] {
            assert_eq!(e.code(), code);
            assert!(e.to_string().contains(word), "{e}");
        }
    }
}
