use crate::ImagingError;
use serde::Serialize;

/// The input formats the pipeline decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Jpeg,
    Png,
    Webp,
}

/// Tells the format from the first bytes; names the common formats it refuses.
pub(crate) fn sniff(input: &[u8]) -> Result<SourceFormat, ImagingError> {
    if input.is_empty() {
        return Err(ImagingError::Empty);
    }
    if input.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(SourceFormat::Jpeg);
    }
    if input.starts_with(&[0xFF, 0xD8]) {
        return Err(ImagingError::Corrupt(
            "the JPEG start marker is damaged".into(),
        ));
    }
    if input.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(SourceFormat::Png);
    }
    if input.len() >= 12 && &input[0..4] == b"RIFF" && &input[8..12] == b"WEBP" {
        return Ok(SourceFormat::Webp);
    }
    Err(ImagingError::Unsupported(refused_name(input)))
}

fn refused_name(input: &[u8]) -> &'static str {
    if input.len() >= 12 && &input[4..8] == b"ftyp" {
        return match &input[8..12] {
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" => "HEIC",
            b"avif" | b"avis" => "AVIF",
            _ => "ISO media (video or HEIF)",
        };
    }
    if input.starts_with(b"%PDF") {
        return "PDF";
    }
    if input.starts_with(b"GIF8") {
        return "GIF";
    }
    if input.starts_with(b"II*\0") || input.starts_with(b"MM\0*") {
        return "TIFF";
    }
    if input.starts_with(b"BM") {
        return "BMP";
    }
    let head = &input[..input.len().min(512)];
    let text = head
        .iter()
        .all(|&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7F).contains(&b) || b >= 0x80);
    if text { "Text" } else { "Unknown" }
}
