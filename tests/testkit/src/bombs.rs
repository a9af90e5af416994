//! Tiny files whose headers claim huge images ("decompression bombs"), for the tests that check
//! nothing is allocated or stored before the dimensions are refused.

use crate::photo::{Rgb, encode};

/// A real 16×16 baseline JPEG whose frame header is rewritten to claim `width`×`height`.
pub fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut file = encode(&small(), 80, None);
    // The encoder writes one baseline frame header (SOF0): marker, length (2), precision (1),
    // then height and width.
    if let Some(sof) = file.windows(2).position(|w| w == [0xFF, 0xC0]) {
        file[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        file[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    }
    file
}

/// A PNG built by hand whose IHDR (with a valid CRC) claims `width`×`height` 8-bit gray
/// pixels, followed by a tiny IDAT and IEND: a few dozen bytes that would decode to gigabytes.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// A 16×16 light gray picture.
pub fn small() -> Rgb {
    Rgb {
        width: 16,
        height: 16,
        data: vec![200; 16 * 16 * 3],
    }
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The CRC-32 PNG chunks carry (IEEE 802.3 polynomial, reflected).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_png_specs_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn the_bombs_claim_what_they_are_asked_to() {
        let png = png_claiming(65_000, 1);
        assert_eq!(&png[16..20], &65_000u32.to_be_bytes());
        let jpeg = jpeg_claiming(65_000, 2);
        assert!(jpeg.windows(4).any(|w| w == [0, 2, 0xFD, 0xE8]));
    }
}
