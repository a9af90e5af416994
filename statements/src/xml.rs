//! A guarded XML walk shared by the camt and FiDAViSta readers.
//!
//! The file is decoded to text first (byte order mark, else the XML declaration's `encoding`,
//! else UTF-8), then read with quick-xml's streaming reader. Elements are matched by local name
//! (namespace prefixes ignored); the handler sees each element's path from the root when it opens
//! (with its attributes) and when it closes (with its own text).
//!
//! Refused outright: any document type declaration (and so every entity declaration), entity
//! references other than the five predefined ones and numeric character references, nesting
//! deeper than [`MAX_DEPTH`], a text longer than [`MAX_TEXT`], a second root element, and text
//! outside the root. A document that ends before its root element closes is [`Error::Truncated`].

use encoding_rs::Encoding;
use quick_xml::XmlVersion;
use quick_xml::errors::{IllFormedError, SyntaxError};
use quick_xml::events::Event;

use crate::Error;
use crate::text;

/// The deepest element nesting accepted (camt needs about 12).
pub(crate) const MAX_DEPTH: usize = 64;
/// The longest text accepted in one element, in bytes.
pub(crate) const MAX_TEXT: usize = 64 * 1024;
/// How much of a file [`sniff`] looks at to find the root element.
const SNIFF_BYTES: usize = 64 * 1024;

/// The root element of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Root {
    /// Its local name (`Document`, `FIDAVISTA`).
    pub local: String,
    /// The namespace its name is in, when one is declared.
    pub namespace: Option<String>,
}

/// One attribute: local name and value.
pub(crate) type Attr = (String, String);

/// What a format reader does with the elements of a document.
pub(crate) trait Handler {
    /// An element opened. `path` holds the local names from the root to it.
    fn start(&mut self, path: &[String], attrs: &[Attr]) -> Result<(), Error>;
    /// An element closed. `path` holds the local names from the root to it; `text` is its own
    /// character data (entities resolved, not trimmed).
    fn end(&mut self, path: &[String], text: &str) -> Result<(), Error>;
}

/// Whether `bytes` start like an XML document: `<` after a byte order mark and whitespace.
pub(crate) fn looks_like_xml(bytes: &[u8]) -> bool {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes)
        && encoding != encoding_rs::UTF_8
    {
        // UTF-16: the first character after the mark, whichever byte holds it.
        let rest = bytes.get(bom_len..).unwrap_or_default();
        let (text, _) = encoding.decode_without_bom_handling(rest.get(..256).unwrap_or(rest));
        return text.trim_start().starts_with('<');
    }
    text::strip_utf8_bom(bytes)
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<')
}

/// The encoding of an XML file without a byte order mark, from its declaration
/// (`<?xml version="1.0" encoding="windows-1257"?>`); UTF-8 when it names none.
fn declared_encoding(bytes: &[u8]) -> Result<&'static Encoding, Error> {
    let head = bytes.get(..bytes.len().min(1024)).unwrap_or(bytes);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = head.get(start..).unwrap_or_default();
    if !head.starts_with(b"<?xml") {
        return Ok(encoding_rs::UTF_8);
    }
    let Some(end) = head.windows(2).position(|w| w == b"?>") else {
        return Ok(encoding_rs::UTF_8);
    };
    let decl = String::from_utf8_lossy(head.get(..end).unwrap_or_default()).into_owned();
    let Some(at) = decl.find("encoding") else {
        return Ok(encoding_rs::UTF_8);
    };
    let rest = decl
        .get(at + "encoding".len()..)
        .unwrap_or_default()
        .trim_start();
    let Some(rest) = rest.strip_prefix('=') else {
        return Ok(encoding_rs::UTF_8);
    };
    let rest = rest.trim_start();
    let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        return Ok(encoding_rs::UTF_8);
    };
    let label: String = rest.chars().skip(1).take_while(|c| *c != quote).collect();
    match Encoding::for_label(label.trim().as_bytes()) {
        // The declaration was readable as ASCII, so the file cannot really be UTF-16.
        Some(e) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE => {
            Ok(encoding_rs::UTF_8)
        }
        Some(e) => Ok(e),
        None => Err(Error::Encoding(format!(
            "The XML file says it is in the encoding “{}”, which Kvits does not know.",
            label.trim()
        ))),
    }
}

/// Decodes a whole XML file to text, strictly.
pub(crate) fn decode(bytes: &[u8]) -> Result<String, Error> {
    match Encoding::for_bom(bytes) {
        Some((encoding, bom_len)) => {
            text::decode_as(bytes.get(bom_len..).unwrap_or_default(), encoding)
        }
        None => text::decode_as(bytes, declared_encoding(bytes)?),
    }
}

/// The root element of an XML file, judged from its first 64 KiB (for format detection).
pub(crate) fn sniff(bytes: &[u8]) -> Result<Root, Error> {
    let head = bytes.get(..bytes.len().min(SNIFF_BYTES)).unwrap_or(bytes);
    let (encoding, body) = match Encoding::for_bom(head) {
        Some((encoding, bom_len)) => (encoding, head.get(bom_len..).unwrap_or_default()),
        None => (declared_encoding(head)?, head),
    };
    let (doc, _) = encoding.decode_without_bom_handling(body);
    root_of(&doc)
}

/// The root element of a decoded document. Refuses a document type declaration before it.
pub(crate) fn root_of(doc: &str) -> Result<Root, Error> {
    let mut reader = quick_xml::Reader::from_str(doc);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let name = e.name();
                let local = name.local_name().as_ref().to_owned();
                let prefix = name.prefix().map(|p| p.as_ref().to_owned());
                let wanted = match &prefix {
                    Some(p) => format!("xmlns:{p}"),
                    None => "xmlns".to_owned(),
                };
                let mut namespace = None;
                for attr in e.attributes().flatten() {
                    if attr.key.as_ref() == wanted {
                        namespace = attr
                            .normalized_value(XmlVersion::Implicit1_0)
                            .ok()
                            .map(|v| v.trim().to_owned());
                    }
                }
                return Ok(Root { local, namespace });
            }
            Ok(Event::DocType(_)) => return Err(Error::DtdRefused),
            Ok(Event::Eof) => return Err(Error::Truncated),
            Ok(Event::Text(t)) if !t.trim().is_empty() => {
                return Err(Error::malformed(
                    position(doc, reader.buffer_position()),
                    "there is text before the first element",
                ));
            }
            Ok(_) => {}
            Err(e) => return Err(map_error(doc, &reader, &e)),
        }
    }
}

/// Walks the whole document, feeding `handler`.
pub(crate) fn walk(doc: &str, handler: &mut impl Handler) -> Result<(), Error> {
    let mut reader = quick_xml::Reader::from_str(doc);
    reader.config_mut().expand_empty_elements = true;
    let mut path: Vec<String> = Vec::new();
    // Each open element's own text; `None` once it has a child element (the formats read have
    // no mixed content, so the whitespace between children is dropped, not collected).
    let mut texts: Vec<Option<String>> = Vec::new();
    let mut root_closed = false;
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => return Err(map_error(doc, &reader, &e)),
        };
        match event {
            Event::Start(e) => {
                if root_closed {
                    return Err(Error::malformed(
                        position(doc, reader.buffer_position()),
                        "there is a second root element after the first one closed",
                    ));
                }
                if path.len() >= MAX_DEPTH {
                    return Err(Error::malformed(
                        position(doc, reader.buffer_position()),
                        format!("the elements are nested more than {MAX_DEPTH} deep"),
                    ));
                }
                let mut attrs = Vec::new();
                for attr in e.attributes() {
                    let attr = attr.map_err(|err| {
                        Error::malformed(
                            position(doc, reader.buffer_position()),
                            format!("an attribute is broken ({err})"),
                        )
                    })?;
                    let value = attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|err| {
                            Error::malformed(
                                position(doc, reader.buffer_position()),
                                format!("an attribute value is broken ({err})"),
                            )
                        })?;
                    attrs.push((
                        attr.key.local_name().as_ref().to_owned(),
                        value.into_owned(),
                    ));
                }
                if let Some(parent) = texts.last_mut() {
                    *parent = None;
                }
                path.push(e.local_name().as_ref().to_owned());
                texts.push(Some(String::new()));
                handler.start(&path, &attrs)?;
            }
            Event::End(_) => {
                let text = texts.pop().flatten().unwrap_or_default();
                handler.end(&path, &text)?;
                path.pop();
                if path.is_empty() {
                    root_closed = true;
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                push_text(doc, &reader, &mut texts, &content)?;
            }
            Event::CData(c) => {
                let content = c.xml10_content();
                push_text(doc, &reader, &mut texts, &content)?;
            }
            Event::GeneralRef(r) => {
                let resolved = resolve_entity(&r).ok_or_else(|| {
                    Error::malformed(
                        position(doc, reader.buffer_position()),
                        format!(
                            "the entity reference {} is not allowed (only &lt; &gt; &amp; &apos; &quot; and &#…; are)",
                            text::quote(&format!("&{};", &*r), 40)
                        ),
                    )
                })?;
                let mut buf = [0u8; 4];
                push_text(doc, &reader, &mut texts, resolved.encode_utf8(&mut buf))?;
            }
            Event::DocType(_) => return Err(Error::DtdRefused),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::Empty(_) => {}
            Event::Eof => {
                return if root_closed {
                    Ok(())
                } else {
                    Err(Error::Truncated)
                };
            }
        }
    }
}

/// Adds character data to the innermost open element's text.
fn push_text(
    doc: &str,
    reader: &quick_xml::Reader<&[u8]>,
    texts: &mut [Option<String>],
    content: &str,
) -> Result<(), Error> {
    match texts.last_mut() {
        Some(None) => Ok(()),
        Some(Some(text)) => {
            if text.len() + content.len() > MAX_TEXT {
                return Err(Error::malformed(
                    position(doc, reader.buffer_position()),
                    format!("a text is longer than {} KiB", MAX_TEXT / 1024),
                ));
            }
            text.push_str(content);
            Ok(())
        }
        None if content.trim().is_empty() => Ok(()),
        None => Err(Error::malformed(
            position(doc, reader.buffer_position()),
            "there is text outside the root element",
        )),
    }
}

/// The character an entity reference stands for: the five predefined entities and numeric
/// character references only.
fn resolve_entity(r: &quick_xml::events::BytesRef<'_>) -> Option<char> {
    if r.is_char_ref() {
        let c = r.resolve_char_ref().ok().flatten()?;
        // XML 1.0 allows no control characters but tab, newline and carriage return.
        return (!c.is_control() || matches!(c, '\t' | '\n' | '\r')).then_some(c);
    }
    match &**r {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

/// A quick-xml error as ours: unclosed markup at the end is truncation, a DTD is refused, the
/// rest is malformed at a line.
fn map_error(doc: &str, reader: &quick_xml::Reader<&[u8]>, e: &quick_xml::Error) -> Error {
    let at = reader.error_position();
    match e {
        quick_xml::Error::Syntax(SyntaxError::UnclosedDoctype) => Error::DtdRefused,
        quick_xml::Error::Syntax(SyntaxError::InvalidBangMarkup)
            if starts_with_declaration(doc, at) =>
        {
            Error::DtdRefused
        }
        quick_xml::Error::Syntax(
            SyntaxError::UnclosedTag
            | SyntaxError::UnclosedPI
            | SyntaxError::UnclosedXmlDecl
            | SyntaxError::UnclosedComment
            | SyntaxError::UnclosedCData
            | SyntaxError::UnclosedSingleQuotedAttributeValue
            | SyntaxError::UnclosedDoubleQuotedAttributeValue,
        ) => Error::Truncated,
        quick_xml::Error::IllFormed(IllFormedError::MissingEndTag(_)) => Error::Truncated,
        quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            Error::malformed(
                position(doc, at),
                format!(
                    "the element {} is closed by {}",
                    text::quote(expected, 40),
                    text::quote(found, 40)
                ),
            )
        }
        other => Error::malformed(
            position(doc, at),
            format!("the XML is not well-formed ({other})"),
        ),
    }
}

/// Whether the markup at byte `at` is an entity, element, attribute list or notation
/// declaration (which only belong in a DTD).
fn starts_with_declaration(doc: &str, at: u64) -> bool {
    let at = usize::try_from(at).unwrap_or(usize::MAX);
    let rest = doc.as_bytes().get(at..).unwrap_or_default();
    let rest = rest.get(..rest.len().min(12)).unwrap_or_default();
    let upper = rest.to_ascii_uppercase();
    [
        &b"<!ENTITY"[..],
        b"<!ELEMENT",
        b"<!ATTLIST",
        b"<!NOTATION",
        b"<!DOCTYPE",
    ]
    .iter()
    .any(|d| upper.starts_with(d))
}

/// "line N" for a byte offset in the decoded document.
pub(crate) fn position(doc: &str, at: u64) -> String {
    let at = usize::try_from(at).unwrap_or(usize::MAX);
    format!("line {}", text::line_of_byte(doc.as_bytes(), at))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Collects `path=text` for every closed element.
    #[derive(Default)]
    struct Collect(Vec<String>);

    impl Handler for Collect {
        fn start(&mut self, path: &[String], attrs: &[Attr]) -> Result<(), Error> {
            for (k, v) in attrs {
                self.0.push(format!("{}@{k}={v}", path.join("/")));
            }
            Ok(())
        }
        fn end(&mut self, path: &[String], text: &str) -> Result<(), Error> {
            self.0.push(format!("{}={}", path.join("/"), text.trim()));
            Ok(())
        }
    }

    fn run(doc: &str) -> Result<Vec<String>, Error> {
        let mut c = Collect::default();
        walk(doc, &mut c)?;
        Ok(c.0)
    }

    #[test]
    fn walks_with_local_names_and_entities() {
        let got = run(
            "<?xml version='1.0'?><n:A xmlns:n='urn:x'><n:B k='1&amp;2'>x &lt; y &#x41;&#66;</n:B><C/><D><![CDATA[<z>]]></D></n:A>",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                "A@n=urn:x",
                "A/B@k=1&2",
                "A/B=x < y AB",
                "A/C=",
                "A/D=<z>",
                "A="
            ]
        );
    }

    #[test]
    fn finds_the_root_and_its_namespace() {
        let root = root_of(
            "<?xml version='1.0'?>\n<!-- hi -->\n<ns2:Document xmlns:ns2='urn:a' xmlns='urn:b'>",
        )
        .unwrap();
        assert_eq!(
            root,
            Root {
                local: "Document".into(),
                namespace: Some("urn:a".into())
            }
        );
        let root = root_of("<FIDAVISTA xmlns=\"http://x\"/>").unwrap();
        assert_eq!(root.namespace.as_deref(), Some("http://x"));
        assert_eq!(root_of("<A>").unwrap().namespace, None);
        assert_eq!(root_of("<?xml version='1.0'?>"), Err(Error::Truncated));
    }

    #[test]
    fn refuses_dtds_and_unknown_entities() {
        assert_eq!(
            run("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"),
            Err(Error::DtdRefused)
        );
        assert_eq!(
            run("<!DOCTYPE a SYSTEM 'file:///etc/passwd'><a/>"),
            Err(Error::DtdRefused)
        );
        assert_eq!(run("<!DOCTYPE a [<!ENTITY x 'y'>"), Err(Error::DtdRefused));
        assert_eq!(root_of("<!DOCTYPE a><a/>"), Err(Error::DtdRefused));
        assert_eq!(run("<!ENTITY x 'y'><a/>"), Err(Error::DtdRefused));
        assert!(matches!(run("<a>&nbsp;</a>"), Err(Error::Malformed { .. })));
        assert!(matches!(run("<a>&#0;</a>"), Err(Error::Malformed { .. })));
        assert!(matches!(run("<a>&#x1;</a>"), Err(Error::Malformed { .. })));
    }

    #[test]
    fn refuses_deep_long_and_extra() {
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert!(
            matches!(run(&deep), Err(Error::Malformed { detail, .. }) if detail.contains("nested"))
        );
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(run(&ok).is_ok());
        let long = format!("<a>{}</a>", "x".repeat(MAX_TEXT + 1));
        assert!(
            matches!(run(&long), Err(Error::Malformed { detail, .. }) if detail.contains("KiB"))
        );
        // The whitespace between many children is not one long text.
        let many = format!("<a>{}</a>", "<b>1</b>\n      ".repeat(MAX_TEXT / 4));
        assert!(run(&many).is_ok());
        assert!(matches!(run("<a/><b/>"), Err(Error::Malformed { .. })));
        assert!(matches!(run("<a/>tail"), Err(Error::Malformed { .. })));
        assert!(matches!(run("<a></b>"), Err(Error::Malformed { .. })));
    }

    #[test]
    fn truncation_is_reported() {
        assert_eq!(run("<a><b>x</b>"), Err(Error::Truncated));
        assert_eq!(run("<a><b"), Err(Error::Truncated));
        assert_eq!(run("<a><b k='v"), Err(Error::Truncated));
        assert_eq!(run("<a><!-- x"), Err(Error::Truncated));
        assert_eq!(run(""), Err(Error::Truncated));
    }

    #[test]
    fn decodes_by_declaration() {
        let bytes = b"<?xml version=\"1.0\" encoding=\"windows-1257\"?><a>\xE2</a>";
        assert_eq!(
            decode(bytes).unwrap(),
            "<?xml version=\"1.0\" encoding=\"windows-1257\"?><a>ā</a>"
        );
        assert!(matches!(
            decode(b"<?xml version='1.0' encoding='klingon'?><a/>"),
            Err(Error::Encoding(_))
        ));
        assert!(matches!(decode(b"<a>\xE2</a>"), Err(Error::Encoding(_))));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("<a>ā</a>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert!(looks_like_xml(&utf16));
        assert_eq!(decode(&utf16).unwrap(), "<a>ā</a>");
    }
}
