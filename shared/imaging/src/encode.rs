use crate::{Channels, ImagingError, Pixels};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use sha2::{Digest, Sha256};

/// Baseline JPEG with optimized Huffman tables and nothing but the image: no EXIF, no ICC, no
/// comments (JFIF only).
pub(crate) fn jpeg(pixels: &Pixels, quality: u8) -> Result<Vec<u8>, ImagingError> {
    let (Ok(width), Ok(height)) = (u16::try_from(pixels.width), u16::try_from(pixels.height))
    else {
        return Err(ImagingError::Encode(format!(
            "{}×{} is too large for JPEG",
            pixels.width, pixels.height
        )));
    };
    let mut out = Vec::with_capacity(pixels.data.len() / 8);
    let mut encoder = Encoder::new(&mut out, quality);
    encoder.set_optimized_huffman_tables(true);
    let color = match pixels.channels {
        Channels::Gray => ColorType::Luma,
        Channels::Rgb => {
            encoder.set_sampling_factor(SamplingFactor::F_2_2);
            ColorType::Rgb
        }
    };
    encoder
        .encode(&pixels.data, width, height, color)
        .map_err(|e| ImagingError::Encode(e.to_string()))?;
    Ok(out)
}

/// Lower-case hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
